package console

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/teststores"
)

// diagnostics uploads a bundle as the terminal and returns its ID; the
// hub takes one only for a collect_diagnostics command, so without a
// CommandID one is queued first, as the console's command form would.
func (tm *terminal) diagnostics(d api.Diagnostics) string {
	tm.t.Helper()
	if d.CommandID == "" {
		diagSeq++
		now := tm.h.clock.Now()
		d.CommandID = fmt.Sprintf("DIAG-%s-%d", tm.name, diagSeq)
		if err := tm.h.st.CreateCommands(context.Background(), []store.Command{{ID: d.CommandID, GroupID: d.CommandID, TerminalID: tm.id,
			Kind: api.CommandCollectDiagnostics, Target: "terminal:" + tm.name, CreatedAt: now, CreatedBy: "test", ExpiresAt: now.Add(time.Hour)}},
			store.Audit{At: now, Actor: "test", Action: "command.send"}); err != nil {
			tm.t.Fatal(err)
		}
	}
	var ack api.DiagnosticsAck
	if st, b := tm.call(http.MethodPost, api.PathDiagnostics, d, &ack); st != 200 {
		tm.t.Fatalf("diagnostics: %d %s", st, b)
	}
	return ack.ID
}

var diagSeq int

var unackedRe = regexp.MustCompile(`id="count-unacked"><strong>(\d+)</strong>`)

func unackedCount(t *testing.T, b *browser) string {
	t.Helper()
	m := unackedRe.FindStringSubmatch(b.get("/console/").body)
	if m == nil {
		t.Fatal("fleet page shows no count of unacknowledged alerts")
	}
	return m[1]
}

func auditHas(t *testing.T, h *hub, action, actor, detailPart string) {
	t.Helper()
	es, err := h.st.AuditEntries(context.Background(), store.AuditFilter{Action: action})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		if e.Actor == actor && strings.Contains(e.Detail, detailPart) {
			return
		}
	}
	t.Errorf("no audit entry %s by %s with %q: %+v", action, actor, detailPart, es)
}

// TestAlertAckAndMute: an admin acknowledges an open alert (it stays open,
// the overview stops counting it as unacknowledged) and mutes a terminal's
// alerts (shown as muted, in the store for the notifier), then lifts it.
func TestAlertAckAndMute(t *testing.T) { teststores.EachKind(t, testAlertAckAndMute) }

func testAlertAckAndMute(t *testing.T, kind string) {
	h := newHubOn(t, kind, nil)
	h.addUser("anna", store.RoleAdmin)
	h.addUser("vera", store.RoleViewer)
	term := h.enrolTerminal("jst-1", "Johannstadt")
	ctx, now := context.Background(), h.clock.Now()
	for id, k := range map[string]string{"A1": "paper_out", "A2": "disk_low"} {
		if _, err := h.st.OpenAlert(ctx, store.Alert{ID: id, TerminalID: term.id, Kind: k, Detail: "detail " + id, FirstSeen: now, LastSeen: now}); err != nil {
			t.Fatal(err)
		}
	}
	b := h.browser()
	b.mustLogin("anna")
	if n := unackedCount(t, b); n != "1" {
		t.Errorf("terminals with unacknowledged alerts = %s, want 1", n)
	}
	page := b.get("/console/terminals/jst-1")
	if !strings.Contains(page.body, `action="/console/terminals/jst-1/alerts/A1/ack"`) {
		t.Fatalf("terminal page has no acknowledge form:\n%s", page.body)
	}
	if p := b.post("/console/terminals/jst-1/alerts/A1/ack", url.Values{"note": {"new roll on the way"}}); p.status != http.StatusSeeOther {
		t.Fatalf("ack: %d %s", p.status, p.body)
	}
	page = b.get("/console/terminals/jst-1")
	if !strings.Contains(page.body, "by anna") || !strings.Contains(page.body, "new roll on the way") {
		t.Errorf("terminal page does not show who acknowledged and the note")
	}
	if n := unackedCount(t, b); n != "1" {
		t.Errorf("after one of two acknowledged: %s, want 1 (A2 is not)", n)
	}
	if p := b.post("/console/terminals/jst-1/alerts/A2/ack", url.Values{"back": {"alerts"}}); p.status != http.StatusSeeOther || p.header.Get("Location") != "/console/alerts?done=alert_ack" {
		t.Fatalf("ack from the alerts page: %d %s", p.status, p.header.Get("Location"))
	}
	if n := unackedCount(t, b); n != "0" {
		t.Errorf("after both acknowledged: %s, want 0", n)
	}
	if fl := b.get("/console/?status=unacked").body; strings.Contains(fl, `href="/console/terminals/jst-1"`) {
		t.Error("the unacknowledged filter still lists the terminal")
	}
	if fl := b.get("/console/?status=alert").body; !strings.Contains(fl, `href="/console/terminals/jst-1"`) {
		t.Error("the open-alerts filter lost the terminal: acknowledged alerts are still open")
	}
	es, _ := h.st.AlertEntries(ctx, store.AlertFilter{TerminalID: term.id}, now)
	for _, e := range es {
		if e.State != store.AlertOpen || !e.Acked() || e.Ack.By != "anna" {
			t.Errorf("stored alert after ack = %+v", e)
		}
	}
	auditHas(t, h, "alert.ack", "anna", "paper_out A1: new roll on the way")
	if al := b.get("/console/alerts").body; !strings.Contains(al, "new roll on the way") {
		t.Error("alerts page does not show the note")
	}
	// Resolved alerts cannot be acknowledged; unknown ones are not found.
	if _, err := h.st.ResolveAlert(ctx, term.id, "disk_low", now); err != nil {
		t.Fatal(err)
	}
	if p := b.post("/console/terminals/jst-1/alerts/A2/ack", nil); p.status != http.StatusConflict {
		t.Errorf("ack of a resolved alert: %d, want 409", p.status)
	}
	if p := b.post("/console/terminals/jst-1/alerts/NOPE/ack", nil); p.status != http.StatusNotFound {
		t.Errorf("ack of an unknown alert: %d, want 404", p.status)
	}

	// Mute: refused without a reason or with a date in the past.
	for _, form := range []url.Values{
		{"kind": {"paper_out"}, "period": {"1h"}},
		{"kind": {"paper_out"}, "period": {"until"}, "until": {now.Add(-time.Hour).Local().Format(dateTimeLocal)}, "reason": {"x"}},
		{"kind": {"no_such_kind"}, "period": {"1h"}, "reason": {"x"}},
		{"kind": {""}, "period": {"forever"}, "reason": {"x"}},
	} {
		if p := b.post("/console/terminals/jst-1/mutes", form); p.status != http.StatusBadRequest {
			t.Errorf("mute %v: %d, want 400", form, p.status)
		}
	}
	until := now.Add(48 * time.Hour).Truncate(time.Minute)
	if p := b.post("/console/terminals/jst-1/mutes", url.Values{"kind": {"paper_out"}, "period": {"until"},
		"until": {until.Local().Format(dateTimeLocal)}, "reason": {"roll ordered"}}); p.status != http.StatusSeeOther {
		t.Fatalf("mute: %d %s", p.status, p.body)
	}
	ms, err := h.st.AlertMutes(ctx, store.MuteFilter{TerminalID: term.id, ActiveAt: h.clock.Now()})
	if err != nil || len(ms) != 1 || ms[0].Kind != "paper_out" || !ms[0].Until.Equal(until) || ms[0].CreatedBy != "anna" || ms[0].Reason != "roll ordered" {
		t.Fatalf("stored mutes = %+v, %v", ms, err)
	}
	page = b.get("/console/terminals/jst-1")
	if !strings.Contains(page.body, "roll ordered") || !strings.Contains(page.body, `<span class="badge s-never">muted</span>`) {
		t.Errorf("terminal page does not show the mute")
	}
	auditHas(t, h, "alert.mute", "anna", "paper_out until")
	v := h.browser()
	v.mustLogin("vera")
	if p := v.get("/console/terminals/jst-1"); strings.Contains(p.body, "/mutes") || strings.Contains(p.body, "/ack") {
		t.Error("a viewer is offered mute or acknowledge forms")
	}
	if p := v.post("/console/terminals/jst-1/mutes/"+ms[0].ID+"/lift", nil); p.status != http.StatusForbidden {
		t.Errorf("viewer lifts a mute: %d, want 403", p.status)
	}
	if p := b.post("/console/terminals/jst-1/mutes/"+ms[0].ID+"/lift", nil); p.status != http.StatusSeeOther {
		t.Fatalf("lift: %d %s", p.status, p.body)
	}
	if p := b.post("/console/terminals/jst-1/mutes/"+ms[0].ID+"/lift", nil); p.status != http.StatusNotFound {
		t.Errorf("lift twice: %d, want 404", p.status)
	}
	if ms, _ := h.st.AlertMutes(ctx, store.MuteFilter{TerminalID: term.id, ActiveAt: h.clock.Now()}); len(ms) != 0 {
		t.Errorf("still muted after lifting: %+v", ms)
	}
	auditHas(t, h, "alert.unmute", "anna", ms0ID(ms))
}

func ms0ID(ms []store.AlertMute) string {
	if len(ms) > 0 {
		return ms[0].ID
	}
	return ""
}

// TestDiagnosticsViewer: a viewer lists a terminal's bundles, reads one
// (log lines as a table, status pretty-printed) and downloads the raw
// JSON, which is audited; a moderator may not; bundles stay per terminal.
func TestDiagnosticsViewer(t *testing.T) {
	h := newHub(t, nil)
	h.addUser("vera", store.RoleViewer)
	h.addUser("mo", store.RoleModerator)
	term := h.enrolTerminal("jst-1", "Johannstadt")
	other := h.enrolTerminal("jst-2", "Johannstadt")
	t1 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	id := term.diagnostics(api.Diagnostics{Status: json.RawMessage(`{"version":"1.2.3","sync":{"hub_reachable":false}}`), Logs: []api.LogLine{
		{Time: t1, Level: "INFO", Message: "agent started", Attrs: map[string]string{"version": "1.2.3", "data_dir": "/var/lib/kiosk"}},
		{Time: t1.Add(time.Minute), Level: "WARN", Message: "sync failed", Attrs: map[string]string{"failures": "3", "component": "sync"}},
	}})
	otherID := other.diagnostics(api.Diagnostics{Status: json.RawMessage(`{}`)})

	v := h.browser()
	v.mustLogin("vera")
	page := v.get("/console/terminals/jst-1")
	if !strings.Contains(page.body, "/console/terminals/jst-1/diagnostics/"+id) || strings.Contains(page.body, otherID) {
		t.Fatalf("terminal page does not list exactly its bundle")
	}
	show := v.get("/console/terminals/jst-1/diagnostics/" + id)
	if show.status != 200 {
		t.Fatalf("show: %d %s", show.status, show.body)
	}
	for _, want := range []string{"agent started", "sync failed", "component=sync  failures=3", "data_dir=/var/lib/kiosk  version=1.2.3",
		"&#34;hub_reachable&#34;: false"} {
		if !strings.Contains(show.body, want) {
			t.Errorf("bundle page lacks %q", want)
		}
	}
	if strings.Index(show.body, "sync failed") > strings.Index(show.body, "agent started") {
		t.Error("log lines are not newest first")
	}
	if warn := v.get("/console/terminals/jst-1/diagnostics/" + id + "?level=warn").body; strings.Contains(warn, "agent started") || !strings.Contains(warn, "sync failed") {
		t.Error("the warnings filter does not filter")
	}
	raw := v.get("/console/terminals/jst-1/diagnostics/" + id + "/raw")
	d, _ := h.st.Diagnostics(context.Background(), id)
	if raw.status != 200 || raw.body != string(d.Bundle) || !strings.HasPrefix(raw.header.Get("Content-Disposition"), "attachment") ||
		raw.header.Get("Content-Type") != "application/json" {
		t.Errorf("download: %d %q %v", raw.status, raw.body, raw.header)
	}
	auditHas(t, h, "diagnostics.download", "vera", id)
	if p := v.get("/console/terminals/jst-1/diagnostics/" + otherID); p.status != http.StatusNotFound {
		t.Errorf("another terminal's bundle through this terminal: %d, want 404", p.status)
	}
	if p := v.get("/console/terminals/jst-1/diagnostics/" + otherID + "/raw"); p.status != http.StatusNotFound {
		t.Errorf("another terminal's raw bundle through this terminal: %d, want 404", p.status)
	}
	m := h.browser()
	m.mustLogin("mo")
	if p := m.get("/console/terminals/jst-1"); strings.Contains(p.body, "/diagnostics/") {
		t.Error("a moderator sees the diagnostics list")
	}
	if p := m.get("/console/terminals/jst-1/diagnostics/" + id); p.status != http.StatusForbidden {
		t.Errorf("moderator reads a bundle: %d, want 403", p.status)
	}
}

// loginFrom posts the login form as a browser at addr would.
func (h *hub) loginFrom(addr, name, pw string) int {
	form := url.Values{"name": {name}, "password": {pw}, "csrf": {"tok"}}
	req := httptest.NewRequest(http.MethodPost, "/console/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: loginCookieName, Value: "tok"})
	req.RemoteAddr = addr
	rec := httptest.NewRecorder()
	h.con.ServeHTTP(rec, req)
	return rec.Code
}

// TestLoginThrottlePerName: failures of one user name spread over many
// addresses make every address wait, but the real user at a clean
// address gets in once the wait shown has passed, however the attacker
// goes on.
func TestLoginThrottlePerName(t *testing.T) {
	h := newHub(t, nil)
	h.addUser("anna", store.RoleAdmin)
	const bad = "wrong password"
	for i := range nameFreeAttempts {
		if st := h.loginFrom("10.0.0."+strconv.Itoa(i+1)+":5000", "anna", bad); st != http.StatusUnauthorized {
			t.Fatalf("failure %d from a fresh address: %d, want 401", i+1, st)
		}
	}
	// The name is throttled now: a fresh address waits too, so does one
	// that failed, even with the right password, and so does the real user.
	if st := h.loginFrom("10.0.1.1:5000", "anna", bad); st != http.StatusTooManyRequests {
		t.Errorf("fresh address after %d failures of the name: %d, want 429", nameFreeAttempts, st)
	}
	if st := h.loginFrom("10.0.0.1:5000", "anna", testPassword); st != http.StatusTooManyRequests {
		t.Errorf("address that failed, right password: %d, want 429", st)
	}
	if st := h.loginFrom("192.0.2.7:5000", "anna", testPassword); st != http.StatusTooManyRequests {
		t.Errorf("real user during the wait: %d, want 429", st)
	}
	// Another name is not affected.
	h.addUser("ben", store.RoleViewer)
	if st := h.loginFrom("10.0.0.1:5000", "ben", testPassword); st != http.StatusSeeOther {
		t.Errorf("another user name: %d, want 303", st)
	}
	// The wait (1 s) passes; the attacker fails again at once from a fresh
	// address, which restarts the name's wait (2 s) ...
	h.clock.Advance(1100 * time.Millisecond)
	if st := h.loginFrom("10.0.2.1:5000", "anna", bad); st != http.StatusUnauthorized {
		t.Fatalf("attacker after the wait: %d, want 401", st)
	}
	if st := h.loginFrom("10.0.2.2:5000", "anna", bad); st != http.StatusTooManyRequests {
		t.Errorf("the attacker's next fresh address: %d, want 429", st)
	}
	// ... but the real user, who was told to wait 1 s, gets in.
	if st := h.loginFrom("192.0.2.7:5000", "anna", testPassword); st != http.StatusSeeOther {
		t.Errorf("real user after the wait shown: %d, want 303 (locked out by the attacker)", st)
	}
	// A pass is one attempt: the attacker address that got one and
	// fails with it waits like the others afterwards.
	if st := h.loginFrom("10.0.1.1:5000", "anna", bad); st != http.StatusUnauthorized {
		t.Errorf("attacker's pass: %d, want 401 (one checked attempt)", st)
	}
	if st := h.loginFrom("10.0.1.1:5000", "anna", bad); st != http.StatusTooManyRequests {
		t.Errorf("attacker after spending the pass: %d, want 429", st)
	}
	// IPv6 counts per /64: a failure from one address of it makes the
	// whole /64 wait without a pass.
	if st := h.loginFrom("[2001:db8:0:1::1]:5000", "anna", bad); st != http.StatusTooManyRequests {
		t.Fatalf("IPv6 first attempt: %d, want 429 (and a pass)", st)
	}
	h.clock.Advance(20 * time.Second)
	if st := h.loginFrom("[2001:db8:0:1::1]:5000", "anna", bad); st != http.StatusUnauthorized {
		t.Errorf("IPv6 with its pass: %d, want 401", st)
	}
	if st := h.loginFrom("[2001:db8:0:1::2]:5000", "anna", testPassword); st != http.StatusTooManyRequests {
		t.Errorf("another address of the same /64: %d, want 429", st)
	}
	// Had it a pass (as a clean network would), the attacker's next
	// failure could not take it away; it has none.
	h.clock.Advance(9 * time.Second)
	if st := h.loginFrom("10.0.3.1:5000", "anna", bad); st != http.StatusUnauthorized {
		t.Fatalf("attacker after the wait: %d, want 401", st)
	}
	if st := h.loginFrom("[2001:db8:0:1::2]:5000", "anna", testPassword); st != http.StatusTooManyRequests {
		t.Errorf("another address of the same /64 after new failures: %d, want 429 (no pass for a network that failed)", st)
	}
}
