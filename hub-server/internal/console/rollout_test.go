package console

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/rollout"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/teststores"
)

// rolloutHub is a hub whose console drives the real rollout engine on
// its store, with a published release 1.4.0 and six terminals, two of
// them tagged "pilot".
func rolloutHub(t *testing.T, kind string) (*hub, *rollout.Engine, []*terminal) {
	t.Helper()
	st := teststores.Open(t, kind)
	// Both on real time (the hub's clock is not advanced here); the
	// engine reads the store on every heartbeat.
	eng := rollout.New(st, rollout.Opts{CacheFor: time.Nanosecond})
	h := newHubWith(t, st, func(o *Opts) { o.Rollouts = eng })
	h.addUser("anna", store.RoleAdmin)
	h.addUser("vera", store.RoleViewer)
	ctx, now := context.Background(), time.Now()
	if err := st.AddRelease(ctx, store.Release{Version: "1.4.0", Target: "quartierhub-kiosk/1.4.0/quartierhub-kiosk_1.4.0_amd64.tar.gz",
		AddedAt: now, AddedBy: "test"}, store.Audit{At: now, Actor: "test", Action: "release.add", Subject: "release:1.4.0"}); err != nil {
		t.Fatal(err)
	}
	var ts []*terminal
	for i := range 6 {
		quarter := "Johannstadt"
		if i%2 == 1 {
			quarter = "Pieschen"
		}
		tm := h.enrolTerminal(fmt.Sprintf("t-%d", i), quarter)
		if i < 2 {
			if err := st.SetTerminalTags(ctx, tm.id, []string{"pilot"}, store.Audit{At: now, Actor: "test", Action: "terminal.tag"}); err != nil {
				t.Fatal(err)
			}
		}
		ts = append(ts, tm)
	}
	return h, eng, ts
}

// startPost is the start form as the page fills it in, with the canary
// chosen by tag.
func startPost(version string) url.Values {
	f := url.Values{"version": {version}, "success_percent": {"95"}, "fail_count": {"0"}, "fail_percent": {"10"}, "canary_tag": {"pilot"}}
	for _, s := range defaultStartForm().Stages {
		f.Add("stage_name", s.Name)
		f.Add("stage_percent", s.Percent)
		f.Add("stage_soak", s.Soak)
	}
	return f
}

var rolloutPathRe = regexp.MustCompile(`^/console/rollouts/([0-9A-Z]{26})\?done=rollout_start$`)

// TestRolloutFromTheConsole: an admin starts a rollout with the default
// stages and the "pilot" terminals as canaries, watches the terminals'
// states, pauses (a reason needed), resumes and stops it; each step is
// audited by the engine, and the page shows the stages, the counts per
// state and the member table.
func TestRolloutFromTheConsole(t *testing.T) { teststores.EachKind(t, testRolloutFromTheConsole) }

func testRolloutFromTheConsole(t *testing.T, kind string) {
	h, eng, ts := rolloutHub(t, kind)
	ctx := context.Background()
	a := h.browser()
	a.mustLogin("anna")
	p := a.get("/console/rollouts")
	for _, want := range []string{`<option value="1.4.0"`, `name="stage_name" maxlength="64" value="canary"`, `value="25"`, `name="stage_soak" type="number" min="0" max="43200" value="60"`, `name="canary_tag" value="pilot"`, `<option value="t-5"`} {
		if !strings.Contains(p.body, want) {
			t.Fatalf("start form lacks %s:\n%s", want, p.body)
		}
	}
	// No canary chosen: refused in place, the entries kept.
	f := startPost("1.4.0")
	f.Del("canary_tag")
	if p := a.post("/console/rollouts", f); p.status != http.StatusBadRequest || !strings.Contains(p.body, "choose its terminals by tag or name") || !strings.Contains(p.body, `<option value="1.4.0" selected>`) {
		t.Fatalf("start without canaries: %d\n%s", p.status, between(p.body, `role="alert"`, "</p>"))
	}
	// Shares that do not grow: the engine's word, shown.
	f = startPost("1.4.0")
	f["stage_percent"][2] = "5"
	if p := a.post("/console/rollouts", f); p.status != http.StatusBadRequest || !strings.Contains(p.body, "stage shares must grow") {
		t.Fatalf("shrinking shares: %d\n%s", p.status, between(p.body, `role="alert"`, "</p>"))
	}
	p = a.post("/console/rollouts", startPost("1.4.0"))
	m := rolloutPathRe.FindStringSubmatch(p.header.Get("Location"))
	if p.status != http.StatusSeeOther || m == nil {
		t.Fatalf("start: %d %s\n%s", p.status, p.header.Get("Location"), between(p.body, `role="alert"`, "</p>"))
	}
	id := m[1]
	ro, err := h.st.Rollout(ctx, id)
	if err != nil || ro.State != store.RolloutRunning || ro.CreatedBy != "anna" || len(ro.Stages) != 4 || ro.Stages[3].Percent != 100 || ro.Stages[0].SoakSeconds != 3600 {
		t.Fatalf("rollout: %+v, %v", ro, err)
	}
	members, err := h.st.RolloutMembers(ctx, id)
	if err != nil || len(members) != 6 {
		t.Fatalf("members: %d, %v", len(members), err)
	}
	for _, mb := range members {
		if canary := mb.TerminalID == ts[0].id || mb.TerminalID == ts[1].id; canary != (mb.Stage == 0) {
			t.Errorf("terminal %s in stage %d", mb.TerminalID, mb.Stage)
		}
	}
	// A second rollout while this one is active is refused.
	if p := a.post("/console/rollouts", startPost("1.4.0")); p.status != http.StatusConflict || !strings.Contains(p.body, "Another rollout is active") {
		t.Errorf("second start: %d", p.status)
	}
	// The canaries report through the engine, as heartbeats would.
	now := h.clock.Now()
	if _, err := eng.Observe(ctx, ts[0].id, "Johannstadt", &api.UpdaterStatus{State: api.UpdaterDownloading, Version: "1.3.0", Target: "1.4.0"}, now); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Observe(ctx, ts[1].id, "Pieschen", &api.UpdaterStatus{State: api.UpdaterRolledBack, Version: "1.3.0", Target: "1.4.0",
		LastError: "health gate: window not READY"}, now); err != nil {
		t.Fatal(err)
	}
	p = a.get("/console/rollouts/" + id)
	counts := between(p.body, `id="member-counts"`, "</ul>")
	for _, want := range []string{"<strong>4</strong> Pending", "<strong>1</strong> Downloading", "<strong>1</strong> Rolled back", "<strong>0</strong> Silent"} {
		if !strings.Contains(counts, want) {
			t.Errorf("counts lack %q: %s", want, counts)
		}
	}
	stages := between(p.body, `id="stages"`, "</table>")
	if !strings.Contains(stages, "<strong>Open</strong>") || !strings.Contains(stages, "60 of 60 min left") || strings.Count(stages, "Waiting") != 3 {
		t.Errorf("stages table:\n%s", stages)
	}
	// No count limit (0) is not shown as "or 0 failing", which read as
	// a halt at the first failure.
	if th := between(p.body, `id="thresholds">`, "</dd>"); th != "next stage at 95 % updated; halt at 10 % failing" {
		t.Errorf("thresholds without a count: %q", th)
	}
	table := between(p.body, `id="members"`, "</table>")
	if !strings.Contains(table, "health gate: window not READY") || !strings.Contains(table, `href="/console/terminals/t-1"`) || !strings.Contains(table, "stage not open yet") {
		t.Errorf("member table:\n%s", table)
	}
	// A viewer sees it all but cannot act.
	v := h.browser()
	v.mustLogin("vera")
	vp := v.get("/console/rollouts/" + id)
	if vp.status != 200 || strings.Contains(vp.body, "/pause") || !strings.Contains(vp.body, "health gate") {
		t.Errorf("viewer's rollout page: %d", vp.status)
	}
	if vp := v.get("/console/rollouts"); strings.Contains(vp.body, `action="/console/rollouts"`) {
		t.Error("the viewer gets the start form")
	}
	if p := v.post("/console/rollouts/"+id+"/pause", url.Values{"reason": {"curious"}}); p.status != http.StatusForbidden {
		t.Errorf("viewer pauses: %d, want 403", p.status)
	}
	if p := v.post("/console/rollouts", startPost("1.4.0")); p.status != http.StatusForbidden {
		t.Errorf("viewer starts: %d, want 403", p.status)
	}
	// Pausing needs a reason; another session's token is refused.
	if p := a.post("/console/rollouts/"+id+"/pause", url.Values{"reason": {"  "}}); p.status != http.StatusBadRequest || !strings.Contains(p.body, "Say why") {
		t.Errorf("pause without reason: %d", p.status)
	}
	if p := a.post("/console/rollouts/"+id+"/pause", url.Values{"reason": {"x"}, "csrf": {v.csrf}}); p.status != http.StatusForbidden {
		t.Errorf("pause with another session's token: %d, want 403", p.status)
	}
	if ro, _ := h.st.Rollout(ctx, id); ro.State != store.RolloutRunning {
		t.Fatalf("refused pauses paused it: %s", ro.State)
	}
	if p := a.post("/console/rollouts/"+id+"/pause", url.Values{"reason": {"canary t-1 rolled back"}}); p.status != http.StatusSeeOther {
		t.Fatalf("pause: %d\n%s", p.status, p.body)
	}
	p = a.get("/console/rollouts/" + id + "?done=rollout_pause")
	if !strings.Contains(p.body, "Rollout paused") || !strings.Contains(p.body, "canary t-1 rolled back") || !strings.Contains(p.body, "/resume") {
		t.Errorf("paused page:\n%s", between(p.body, "<main", `id="h-stages"`))
	}
	// Pausing again: the state changed, said plainly.
	if p := a.post("/console/rollouts/"+id+"/pause", url.Values{"reason": {"again"}}); p.status != http.StatusConflict || !strings.Contains(p.body, "state changed meanwhile") {
		t.Errorf("second pause: %d", p.status)
	}
	if p := a.post("/console/rollouts/"+id+"/resume", nil); p.status != http.StatusSeeOther {
		t.Fatalf("resume: %d\n%s", p.status, p.body)
	}
	if p := a.post("/console/rollouts/"+id+"/stop", url.Values{"reason": {""}}); p.status != http.StatusBadRequest {
		t.Errorf("stop without reason: %d", p.status)
	}
	if p := a.post("/console/rollouts/"+id+"/stop", url.Values{"reason": {"wrong build"}}); p.status != http.StatusSeeOther {
		t.Fatalf("stop: %d\n%s", p.status, p.body)
	}
	p = a.get("/console/rollouts/" + id)
	if !strings.Contains(p.body, "Stopped") || strings.Contains(p.body, `id="actions"`) || strings.Count(between(p.body, `id="stages"`, "</table>"), "Not reached") != 3 {
		t.Errorf("stopped page:\n%s", between(p.body, "<main", `id="h-counts"`))
	}
	if p := a.post("/console/rollouts/nosuch/stop", url.Values{"reason": {"x"}}); p.status != http.StatusNotFound {
		t.Errorf("stop of an unknown rollout: %d, want 404", p.status)
	}
	entries, err := h.st.AuditEntries(ctx, store.AuditFilter{Subject: id})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Actor+" "+e.Action+" "+e.Detail)
	}
	joined := strings.Join(got, "\n")
	for _, want := range []string{"anna rollout.stop wrong build", "anna rollout.resume from paused", "anna rollout.pause canary t-1 rolled back", "anna rollout.start version 1.4.0, 6 terminals"} {
		if !strings.Contains(joined, want) {
			t.Errorf("audit lacks %q:\n%s", want, joined)
		}
	}
	// Once stopped, a new rollout may start; its count limit is shown.
	f = startPost("1.4.0")
	f.Set("fail_count", "2")
	p = a.post("/console/rollouts", f)
	if p.status != http.StatusSeeOther {
		t.Fatalf("start after stop: %d", p.status)
	}
	p = a.get(p.header.Get("Location"))
	if th := between(p.body, `id="thresholds">`, "</dd>"); th != "next stage at 95 % updated; halt at 10 % failing or at 2 failing" {
		t.Errorf("thresholds with a count: %q", th)
	}
}

// TestRolloutActionsUnaudited: when the audit log cannot be written, no
// rollout starts and a paused one neither resumes nor stops (the generic
// test of unaudited actions cannot try start and resume: its fixture's
// rollout is running).
func TestRolloutActionsUnaudited(t *testing.T) { teststores.EachKind(t, testRolloutActionsUnaudited) }

func testRolloutActionsUnaudited(t *testing.T, kind string) {
	st, db := openWithDB(t, kind)
	eng := rollout.New(st, rollout.Opts{})
	h := newHubWith(t, st, func(o *Opts) { o.Rollouts = eng })
	h.addUser("anna", store.RoleAdmin)
	tm := h.enrolTerminal("t-0", "Johannstadt")
	ctx, now := context.Background(), time.Now()
	if err := st.SetTerminalTags(ctx, tm.id, []string{"pilot"}, store.Audit{At: now, Actor: "test", Action: "terminal.tag"}); err != nil {
		t.Fatal(err)
	}
	if err := st.AddRelease(ctx, store.Release{Version: "1.4.0", Target: "x", AddedAt: now, AddedBy: "test"}, store.Audit{At: now, Actor: "test", Action: "release.add"}); err != nil {
		t.Fatal(err)
	}
	a := h.browser()
	a.mustLogin("anna")
	allow := refuseAudit(t, kind, db)
	if p := a.post("/console/rollouts", startPost("1.4.0")); p.status != http.StatusInternalServerError {
		t.Errorf("start with the audit log refusing: %d, want 500", p.status)
	}
	if ros, _ := st.Rollouts(ctx, 0); len(ros) != 0 {
		t.Fatalf("an unaudited rollout started: %+v", ros)
	}
	allow()
	ro, err := eng.Start(ctx, rollout.Plan{Version: "1.4.0", Canary: []string{tm.id}}, "test")
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Pause(ctx, ro.ID, "test", "before the refusal"); err != nil {
		t.Fatal(err)
	}
	refuseAudit(t, kind, db)
	for _, action := range []string{"resume", "stop"} {
		if p := a.post("/console/rollouts/"+ro.ID+"/"+action, url.Values{"reason": {"x"}}); p.status != http.StatusInternalServerError {
			t.Errorf("%s with the audit log refusing: %d, want 500", action, p.status)
		}
	}
	if got, _ := st.Rollout(ctx, ro.ID); got.State != store.RolloutPaused {
		t.Errorf("unaudited actions changed the rollout: %s", got.State)
	}
}

// TestTerminalShowsUpdater: the terminal page shows what the updater
// said in the last heartbeat, and the fleet overview an update under way.
func TestTerminalShowsUpdater(t *testing.T) {
	h := newHub(t, nil)
	h.addUser("vera", store.RoleViewer)
	tm := h.enrolTerminal("jst-1", "Johannstadt")
	b := h.browser()
	b.mustLogin("vera")
	tm.heartbeat(api.Heartbeat{SoftwareVersion: "1.2.0"}) // a terminal without an updater
	if p := b.get("/console/terminals/jst-1"); !strings.Contains(between(p.body, `id="updater"`, "</div>"), "Not reported") {
		t.Errorf("no updater:\n%s", between(p.body, `id="updater"`, "</div>"))
	}
	tm.heartbeat(api.Heartbeat{SoftwareVersion: "1.3.0", Updater: &api.UpdaterStatus{State: api.UpdaterDownloading, Version: "1.3.0", Target: "1.4.0",
		ProgressBytes: 3 << 20, TotalBytes: 12 << 20, LastError: "connection reset", BadVersions: []string{"1.3.9"}}})
	got := between(b.get("/console/terminals/jst-1").body, `id="updater"`, "</div>")
	for _, want := range []string{"Downloading", "runs 1.3.0", "working towards 1.4.0", "25 % of 12.0 MiB", "connection reset", "1.3.9"} {
		if !strings.Contains(got, want) {
			t.Errorf("updater line lacks %q:\n%s", want, got)
		}
	}
	if p := b.get("/console/"); !strings.Contains(p.body, "Downloading</span> → 1.4.0") {
		t.Errorf("fleet overview does not show the update under way:\n%s", between(p.body, "<tbody>", "</tbody>"))
	}
}
