package console

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/rollout"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/teststores"
	"github.com/quartierhub/quartierhub/hub-server/internal/workshops"
	"github.com/quartierhub/quartierhub/internal/testutil"
	"github.com/quartierhub/quartierhub/internal/workshop"
)

// TestRoleTable states, independently of roles.go, what each role may do.
func TestRoleTable(t *testing.T) {
	const A, M, V = "admin", "moderator", "viewer"
	want := map[Action][]string{
		ViewFleet:      {A, M, V},
		ViewReports:    {A, M, V},
		ViewAudit:      {A, V},
		EditReports:    {A, M},
		EditContent:    {A, M},
		EditSettings:   {A},
		SendCommands:   {A},
		ManageTerms:    {A},
		ManageUsers:    {A},
		ChangeOwnPass:  {A, M, V},
		AckAlerts:      {A},
		MuteAlerts:     {A},
		ViewDiags:      {A, V},
		ViewScreens:    {A, V},
		ManageUpdates:  {A},
		RunWorkshops:   {A, M},
		ManageOpenData: {A},
	}
	for _, role := range append(Roles, "", "root") {
		for a, allowed := range want {
			exp := false
			for _, r := range allowed {
				exp = exp || r == role
			}
			if got := Can(role, a); got != exp {
				t.Errorf("Can(%q, %s) = %t, want %t", role, a, got, exp)
			}
		}
	}
	for role, acts := range permissions {
		for a := range acts {
			if _, ok := want[a]; !ok {
				t.Errorf("role %s has action %s that this test does not know", role, a)
			}
		}
	}
}

// fixture enrols a terminal with a report and a second user, so every
// route has something to act on.
type fixture struct {
	term   *terminal
	report string
	alert  string // an open alert of jst-1
	mute   string // an active mute of jst-1
	bundle string // a diagnostics bundle of jst-1
	shot   string // a screenshot of jst-1
	// rollout is a running rollout of release 1.0.0, when the hub has an
	// engine (Opts.Rollouts).
	rollout string
	// workshop is a draft workshop, when the hub has a workshop service.
	workshop string
}

// engineHub is a hub on a new store of kind whose console drives the
// real rollout engine.
func engineHub(t *testing.T, kind string) *hub {
	t.Helper()
	st := teststores.Open(t, kind)
	return newHubWith(t, st, func(o *Opts) {
		o.Rollouts = rollout.New(st, rollout.Opts{})
		o.Workshops = workshops.New(st, workshops.Opts{})
	})
}

func setupFixture(t *testing.T, h *hub) fixture {
	for _, r := range Roles {
		h.addUser(r, r)
	}
	h.addUser("other", store.RoleViewer)
	term := h.enrolTerminal("jst-1", "Johannstadt")
	h.enrolTerminal("jst-2", "Johannstadt")
	id := term.upload(api.RecordProblemReport, api.ProblemReport{Category: "litter", Text: "Müll"})
	f := fixture{term: term, report: id, alert: "ALERT-1", mute: "MUTE-1"}
	ctx, now := context.Background(), h.clock.Now()
	if _, err := h.st.OpenAlert(ctx, store.Alert{ID: f.alert, TerminalID: term.id, Kind: "paper_out", FirstSeen: now, LastSeen: now}); err != nil {
		t.Fatal(err)
	}
	if err := h.st.CreateAlertMute(ctx, store.AlertMute{ID: f.mute, TerminalID: term.id, Reason: "fixture", CreatedAt: now, CreatedBy: "test",
		Until: now.Add(time.Hour)}, store.Audit{At: now, Actor: "test", Action: "fixture.mute"}); err != nil {
		t.Fatal(err)
	}
	if eng, ok := h.con.o.Rollouts.(*rollout.Engine); ok {
		if err := h.st.AddRelease(ctx, store.Release{Version: "1.0.0", Target: "t", AddedAt: now, AddedBy: "test"}, store.Audit{At: now, Actor: "test", Action: "release.add"}); err != nil {
			t.Fatal(err)
		}
		ro, err := eng.Start(ctx, rollout.Plan{Version: "1.0.0", Canary: []string{term.id}}, "test")
		if err != nil {
			t.Fatal(err)
		}
		f.rollout = ro.ID
	}
	if svc, ok := h.con.o.Workshops.(*workshops.Service); ok {
		w, err := svc.Create(ctx, workshop.Spec{Title: "Fixture", Question: "Was fehlt?"}, "test")
		if err != nil {
			t.Fatal(err)
		}
		f.workshop = w.ID
	}
	if _, err := h.st.PutSite(ctx, store.Site{TerminalID: term.id, Latitude: 51.05, Longitude: 13.76, Place: "Bönischplatz"},
		store.Audit{At: now, Actor: "test", Action: "fixture.site"}); err != nil {
		t.Fatal(err)
	}
	f.bundle = term.diagnostics(api.Diagnostics{Status: json.RawMessage(`{"version":"1.2.3"}`)})
	f.shot = term.screenshot(testutil.PNG(t, 40, 30))
	return f
}

// requestFor builds a plausible request for a route.
func requestFor(rt route, f fixture) (method, path string, form url.Values) {
	method, path, _ = strings.Cut(rt.pattern, " ")
	if strings.HasPrefix(path, "/console/workshops/{id}") {
		path = strings.NewReplacer("{id}", f.workshop, "{format}", "csv").Replace(path)
	}
	path = strings.NewReplacer("{window}", "24h", "{file}", "online.svg", "{name}", "jst-1", "{terminal}", "jst-1", "{record}", f.report, "{$}", "",
		"{alert}", f.alert, "{mute}", f.mute, "{bundle}", f.bundle, "{shot}", f.shot, "{id}", f.rollout).Replace(path)
	if strings.HasPrefix(path, "/console/users/") {
		path = "/console/users/other"
	}
	form = url.Values{}
	switch path {
	case "/console/terminals/jst-1/revoke":
		path = "/console/terminals/jst-2/revoke" // jst-1 stays for the other routes
		form.Set("confirm", "jst-2")
	case "/console/terminals/jst-1/tags":
		form.Set("tags", "pilot")
	case "/console/terminals/jst-1/alerts/" + f.alert + "/ack":
		form.Set("note", "on it")
	case "/console/terminals/jst-1/mutes":
		form.Set("kind", "paper_out")
		form.Set("period", "1d")
		form.Set("reason", "roll ordered")
	case "/console/commands":
		form.Set("scope", "terminal")
		form.Set("target", "jst-1")
		form.Set("kind", api.CommandSyncNow)
	case "/console/enrol":
		form.Set("name", "jst-new")
		form.Set("quarter", "Johannstadt")
	case "/console/config/edit":
		if method == http.MethodGet {
			path += "?scope=global"
		}
		form.Set("scope", "quarter:Johannstadt")
		form.Set("document", `{"content": {"announcements": []}}`)
		form.Set("op", "preview")
	case "/console/users":
		form.Set("name", "newbie")
		form.Set("role", "viewer")
		form.Set("password", "a long enough password")
	case "/console/users/other":
		form.Set("role", "moderator")
		form.Set("version", "1")
	case "/console/account":
		form.Set("current", "wrong")
	case "/console/releases":
		form.Set("version", "1.0.0")
	case "/console/rollouts":
		form = startPost("1.0.0")
	case "/console/workshops":
		form = workshopFormValues("Rollentest")
	case "/console/workshops/" + f.workshop + "/edit":
		form = workshopFormValues("Fixture")
		form.Set("version", "1")
	case "/console/workshops/" + f.workshop + "/act":
		form.Set("op", "open") // the one event a draft takes
	case "/console/rollouts/" + f.rollout + "/pause", "/console/rollouts/" + f.rollout + "/stop":
		form.Set("reason", "role test")
	case "/console/terminals/jst-1/site":
		form = siteForm("1", "51.0504, 13.7373", "", "Bönischplatz", false, nil) // the fixture's site
	case "/console/terminals/jst-1/site/stop":
		form.Set("version", "1")
	case "/console/windows":
		form.Set("quarter", "")
		form.Set("updated", "0")
		form.Set("days", "mon")
		form.Set("start", "02:00")
		form.Set("duration", "60")
		form.Set("time_zone", "Europe/Berlin")
		form.Set("op", "save")
	}
	if strings.HasPrefix(path, "/console/reports/") {
		form.Set("status", store.ReportInProgress)
	}
	return method, path, form
}

// TestRoutesEnforceRoles tries every guarded route as every role: a role
// that may not do the route's action gets 403, one that may never does.
// Afterwards the audit log must hold only actions their actors may do.
func TestRoutesEnforceRoles(t *testing.T) { teststores.EachKind(t, testRoutesEnforceRoles) }

func testRoutesEnforceRoles(t *testing.T, kind string) {
	h := engineHub(t, kind)
	f := setupFixture(t, h)
	for _, role := range Roles {
		for _, rt := range guarded {
			b := h.browser()
			b.mustLogin(role)
			method, path, form := requestFor(rt, f)
			var p page
			switch {
			case method == http.MethodGet:
				p = b.get(path)
			case uploads[rt.pattern] > 0:
				var parts []part
				for k, vs := range form {
					parts = append(parts, part{name: k, body: []byte(vs[0])})
				}
				p = b.upload(path, parts...)
			default:
				p = b.post(path, form)
			}
			allowed := Can(role, rt.action)
			switch {
			case allowed && (p.status == http.StatusForbidden || p.status == http.StatusUnauthorized || p.status >= 500):
				t.Errorf("%s %s as %s: %d, want it allowed\n%s", method, path, role, p.status, p.body)
			case allowed && p.status == http.StatusSeeOther && strings.HasPrefix(p.header.Get("Location"), "/console/login") && path != "/console/logout":
				t.Errorf("%s %s as %s: sent to login", method, path, role)
			case !allowed && p.status != http.StatusForbidden:
				t.Errorf("%s %s as %s: %d, want 403", method, path, role, p.status)
			}
		}
	}
	// Nothing a role may not do left a trace.
	entries, err := h.st.AuditEntries(context.Background(), store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	need := map[string]Action{"terminal.revoke": ManageTerms, "terminal.rotate": ManageTerms, "terminal.tag": ManageTerms,
		"terminal.token": ManageTerms, "command.send": SendCommands, "config.set": EditContent, "report.status": EditReports,
		"user.create": ManageUsers, "user.update": ManageUsers, "reports.export": ViewReports, "surveys.export": ViewReports,
		"alert.ack": AckAlerts, "alert.mute": MuteAlerts, "alert.unmute": MuteAlerts, "diagnostics.download": ViewDiags,
		"screenshot.view": ViewScreens, "release.add": ManageUpdates, "window.set": ManageUpdates, "window.delete": ManageUpdates,
		"rollout.start": ManageUpdates, "rollout.pause": ManageUpdates, "rollout.resume": ManageUpdates, "rollout.stop": ManageUpdates,
		"workshop.create": RunWorkshops, "workshop.copy": RunWorkshops, "workshop.update": RunWorkshops, "workshop.event": RunWorkshops,
		"workshop.export": RunWorkshops, "workshop.conflict": RunWorkshops,
		"site.set": ManageOpenData, "site.delete": ManageOpenData, "site.conflict": ManageOpenData}
	seen := map[string]bool{}
	for _, e := range entries {
		seen[e.Action] = true
		if e.Actor == "test" || e.Actor == workshops.SystemActor {
			continue
		}
		u, err := h.st.UserByName(context.Background(), e.Actor)
		if err != nil {
			t.Errorf("audit actor %q is no user: %v", e.Actor, err)
			continue
		}
		if a, ok := need[e.Action]; ok && !Can(u.Role, a) {
			t.Errorf("audit: %s (%s) did %s", e.Actor, u.Role, e.Action)
		}
	}
	for _, a := range []string{"terminal.revoke", "terminal.rotate", "terminal.tag", "terminal.token", "command.send", "report.status", "user.create", "user.update", "reports.export", "user.login", "user.logout",
		"alert.ack", "alert.mute", "alert.unmute", "diagnostics.download", "screenshot.view", "window.set", "rollout.pause", "rollout.resume", "rollout.stop",
		"site.set"} {
		if !seen[a] {
			t.Errorf("no audit entry for %s", a)
		}
	}
}
