package rollout_test

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/fleet"
	"github.com/quartierhub/quartierhub/hub-server/internal/rollout"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/sqlitestore"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/teststores"
	"github.com/quartierhub/quartierhub/internal/userr"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

const version = "1.4.0"

// rig is an engine on a real SQLite store with enrolled terminals, a
// release, a clock the test moves and the fleet's real alert evaluator.
type rig struct {
	t     testing.TB
	ctx   context.Context
	st    store.Store
	e     *rollout.Engine
	ev    *fleet.Evaluator
	mu    sync.Mutex
	now   time.Time
	terms []string
}

func (g *rig) clock() time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.now
}

func (g *rig) advance(d time.Duration) {
	g.mu.Lock()
	g.now = g.now.Add(d)
	g.mu.Unlock()
}

func newRig(t testing.TB, terminals int) *rig {
	t.Helper()
	st, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "hub.db"), sqlitestore.Opts{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return rigOn(t, st, terminals)
}

// eachStore runs fn on a rig of each kind of store (teststores).
func eachStore(t *testing.T, terminals int, fn func(t *testing.T, g *rig)) {
	teststores.Each(t, func(t *testing.T, st store.Store) { fn(t, rigOn(t, st, terminals)) })
}

func rigOn(t testing.TB, st store.Store, terminals int) *rig {
	t.Helper()
	g := &rig{t: t, ctx: context.Background(), st: st, now: t0}
	for i := range terminals {
		name := fmt.Sprintf("term-%02d", i)
		h := sha256.Sum256([]byte(name))
		if err := st.CreateEnrolToken(g.ctx, store.EnrolToken{Hash: h, TerminalName: name, Quarter: "Pieschen", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Enroll(g.ctx, store.Enrolment{TokenHash: h, TerminalID: "T" + name, PublicKey: ed25519.PublicKey(h[:]), Now: t0}); err != nil {
			t.Fatal(err)
		}
		g.terms = append(g.terms, "T"+name)
	}
	if err := st.AddRelease(g.ctx, store.Release{Version: version, Target: "quartierhub-kiosk/" + version + "/quartierhub-kiosk_" + version + "_amd64.tar.gz",
		AddedAt: t0, AddedBy: "ops"}, store.Audit{At: t0, Actor: "ops", Action: "release.add", Subject: version}); err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.DiscardHandler)
	g.ev = fleet.NewEvaluator(st, fleet.EvaluatorOpts{Now: g.clock, Logger: quiet})
	g.e = rollout.New(st, rollout.Opts{Alerts: g.ev, Now: g.clock, Logger: quiet, CacheFor: time.Nanosecond})
	return g
}

func (g *rig) start(p rollout.Plan) store.Rollout {
	g.t.Helper()
	r, err := g.e.Start(g.ctx, p, "ops")
	if err != nil {
		g.t.Fatalf("Start: %v", err)
	}
	return r
}

func (g *rig) rollout(id string) store.Rollout {
	g.t.Helper()
	r, err := g.st.Rollout(g.ctx, id)
	if err != nil {
		g.t.Fatal(err)
	}
	return r
}

func (g *rig) members(id string) map[string]store.RolloutMember {
	g.t.Helper()
	ms, err := g.st.RolloutMembers(g.ctx, id)
	if err != nil {
		g.t.Fatal(err)
	}
	out := map[string]store.RolloutMember{}
	for _, m := range ms {
		out[m.TerminalID] = m
	}
	return out
}

// alive is every terminal's heartbeat (as far as silence goes) now.
func (g *rig) alive() {
	g.t.Helper()
	for _, id := range g.terms {
		if err := g.st.TouchTerminal(g.ctx, id, g.clock()); err != nil {
			g.t.Fatal(err)
		}
	}
}

func (g *rig) tick() {
	g.t.Helper()
	if err := g.e.Tick(g.ctx); err != nil {
		g.t.Fatalf("Tick: %v", err)
	}
}

// beat is a heartbeat of term with st: it touches the terminal, as the
// terminal API does, and returns the offer.
func (g *rig) beat(term string, st *api.UpdaterStatus) *api.UpdateOffer {
	g.t.Helper()
	now := g.clock()
	if err := g.st.TouchTerminal(g.ctx, term, now); err != nil {
		g.t.Fatal(err)
	}
	o, err := g.e.Observe(g.ctx, term, "Pieschen", st, now)
	if err != nil {
		g.t.Fatalf("Observe(%s): %v", term, err)
	}
	return o
}

func (g *rig) audits(prefix string) []store.Audit {
	g.t.Helper()
	au, err := g.st.AuditEntries(g.ctx, store.AuditFilter{Action: prefix})
	if err != nil {
		g.t.Fatal(err)
	}
	return au
}

func (g *rig) openAlerts() []store.Alert {
	g.t.Helper()
	als, err := g.st.Alerts(g.ctx, store.AlertFilter{State: store.AlertOpen, Kind: fleet.AlertRolloutHalted})
	if err != nil {
		g.t.Fatal(err)
	}
	return als
}

func plan(canary ...string) rollout.Plan {
	return rollout.Plan{Version: version, Canary: canary}
}

func running(v string) *api.UpdaterStatus {
	return &api.UpdaterStatus{State: api.UpdaterIdle, Version: v}
}

// Start places the canary terminals in stage 0 and the others by the
// default shares (ceil of 5 %, 25 %, 100 % of the rest), the same for the
// same rollout ID; revoked terminals are left out.
func TestMain(m *testing.M) { teststores.Main(m) }

func TestStartAssignsStages(t *testing.T) {
	g := newRig(t, 42)
	if err := g.st.RevokeTerminal(g.ctx, g.terms[41], t0); err != nil {
		t.Fatal(err)
	}
	r := g.start(plan(g.terms[0], g.terms[1]))
	if r.State != store.RolloutRunning || r.Stage != 0 || r.Seq != 1 || len(r.Stages) != 4 || r.SuccessPercent != rollout.DefaultSuccessPercent ||
		r.FailPercent != rollout.DefaultFailPercent || r.Stages[1].Soak() != time.Hour || r.Target == "" {
		t.Fatalf("rollout %+v", r)
	}
	ms := g.members(r.ID)
	if len(ms) != 41 {
		t.Fatalf("%d members, want 41 (one revoked)", len(ms))
	}
	per := map[int]int{}
	for id, m := range ms {
		per[m.Stage]++
		if (m.Stage == 0) != (id == g.terms[0] || id == g.terms[1]) {
			t.Errorf("%s in stage %d", id, m.Stage)
		}
		if m.State != store.MemberPending || (m.Stage == 0) == m.OfferedAt.IsZero() {
			t.Errorf("member %+v", m)
		}
	}
	// 39 others: ceil(5 % of 39) = 2, ceil(25 %) = 10 → 8 more, 29 in the last.
	if per[0] != 2 || per[1] != 2 || per[2] != 8 || per[3] != 29 {
		t.Errorf("stage sizes %v", per)
	}
	if au := g.audits(rollout.ActionStart); len(au) != 1 || au[0].Actor != "ops" || au[0].Subject != r.ID {
		t.Errorf("start audits %+v", au)
	}
	// Stopped, a new rollout has another ID and another order.
	if err := g.e.Stop(g.ctx, r.ID, "ops", ""); err != nil {
		t.Fatal(err)
	}
	r2 := g.start(plan(g.terms[0], g.terms[1]))
	same := 0
	for id, m := range g.members(r2.ID) {
		if m.Stage == 3 && ms[id].Stage == 3 {
			same++
		}
	}
	if same == 29 {
		t.Error("two rollouts chose the same terminals for every stage")
	}
}

// A bad plan, an unknown version or canary, or a second rollout, is
// refused with a message a person may read, and stores nothing.
func TestStartRefuses(t *testing.T) {
	g := newRig(t, 3)
	for name, c := range map[string]struct {
		p    rollout.Plan
		is   error
		what string
	}{
		"no canary":       {plan(), nil, "canary"},
		"unknown canary":  {plan("T-nope"), store.ErrNotFound, "not an enrolled"},
		"unknown version": {rollout.Plan{Version: "9.9.9", Canary: g.terms[:1]}, store.ErrNotFound, "not a published release"},
		"shrinking":       {rollout.Plan{Version: version, Stages: []store.Stage{{Name: "a", Percent: 50}, {Name: "b", Percent: 20}}}, nil, "grow"},
		"not to 100":      {rollout.Plan{Version: version, Stages: []store.Stage{{Name: "a", Percent: 50}}}, nil, "100"},
		"late canary":     {rollout.Plan{Version: version, Stages: []store.Stage{{Name: "a", Percent: 50}, {Name: "c", Percent: 0}}}, nil, "first stage"},
		"canary no stage": {rollout.Plan{Version: version, Stages: []store.Stage{{Name: "all", Percent: 100}}, Canary: g.terms[:1]}, nil, "0 %"},
		"bad percent":     {rollout.Plan{Version: version, Canary: g.terms[:1], FailPercent: 101}, nil, "between 1 and 100"},
		"unnamed stage":   {rollout.Plan{Version: version, Stages: []store.Stage{{Name: " ", Percent: 100}}}, nil, "name"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := g.e.Start(g.ctx, c.p, "ops")
			var ue *userr.Error
			if !errors.As(err, &ue) || !strings.Contains(ue.Msg, c.what) || (c.is != nil && !errors.Is(err, c.is)) {
				t.Fatalf("err %v, want a person's message with %q (is %v)", err, c.what, c.is)
			}
		})
	}
	if rs, _ := g.st.Rollouts(g.ctx, 0); len(rs) != 0 {
		t.Fatalf("stored %d rollouts", len(rs))
	}
	g.start(plan(g.terms[0]))
	_, err := g.e.Start(g.ctx, plan(g.terms[1]), "ops")
	if !errors.Is(err, store.ErrRolloutActive) || userr.Message(err, "") == "" {
		t.Fatalf("second rollout: %v", err)
	}
}

// Pause, resume and stop move the rollout only from the states they
// apply to, each audited with its actor; an ended rollout stays ended.
func TestStaffActions(t *testing.T) {
	g := newRig(t, 4)
	r := g.start(plan(g.terms[0]))
	wrong := func(err error) {
		t.Helper()
		if !errors.Is(err, rollout.ErrWrongState) || userr.Message(err, "") == "" {
			t.Fatalf("err %v, want ErrWrongState with a message", err)
		}
	}
	wrong(g.e.Resume(g.ctx, r.ID, "ops"))
	if err := g.e.Pause(g.ctx, r.ID, "ana", "waiting for the market day to end"); err != nil {
		t.Fatal(err)
	}
	if got := g.rollout(r.ID); got.State != store.RolloutPaused || got.Reason != "waiting for the market day to end" || got.Seq != 2 {
		t.Fatalf("paused: %+v", got)
	}
	wrong(g.e.Pause(g.ctx, r.ID, "ana", ""))
	if err := g.e.Pause(g.ctx, r.ID, "ana", "bad\x00reason"); userr.Message(err, "") == "" {
		t.Fatalf("control character in reason: %v", err)
	}
	if err := g.e.Resume(g.ctx, r.ID, "ben"); err != nil {
		t.Fatal(err)
	}
	if got := g.rollout(r.ID); got.State != store.RolloutRunning || got.Reason != "" {
		t.Fatalf("resumed: %+v", got)
	}
	if err := g.e.Stop(g.ctx, r.ID, "cem", "wrong build"); err != nil {
		t.Fatal(err)
	}
	wrong(g.e.Stop(g.ctx, r.ID, "cem", ""))
	wrong(g.e.Resume(g.ctx, r.ID, "cem"))
	if err := g.e.Pause(g.ctx, "nope", "cem", ""); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown rollout: %v", err)
	}
	var got []string
	for _, a := range g.audits("rollout.") {
		got = append([]string{a.Action + " " + a.Actor + " " + a.Detail}, got...)
	}
	want := []string{got[0], "rollout.pause ana waiting for the market day to end", "rollout.resume ben from paused", "rollout.stop cem wrong build"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("audits\n%q\nwant\n%q", got, want)
	}
	if o := g.beat(g.terms[0], nil); o != nil {
		t.Errorf("stopped rollout offered %+v", o)
	}
}

// Observe offers the release to members of opened stages while the
// rollout runs, with the quarter's window; it writes a member only when
// its state changes.
func TestObserveOffers(t *testing.T) {
	g := newRig(t, 10)
	win := store.MaintenanceWindow{MaintenanceWindow: api.MaintenanceWindow{Days: []string{"tue"}, Start: "02:00", DurationMinutes: 120,
		TimeZone: "Europe/Berlin"}, UpdatedAt: t0, UpdatedBy: "ops"}
	if err := g.st.PutMaintenanceWindow(g.ctx, win, store.Audit{At: t0, Actor: "ops", Action: "window.set"}); err != nil {
		t.Fatal(err)
	}
	r := g.start(plan(g.terms[0]))
	if o := g.beat(g.terms[0], nil); o == nil || o.RolloutID != r.ID || o.Version != version || o.Target != r.Target ||
		o.Window == nil || o.Window.Start != "02:00" || o.Window.Days[0] != "tue" {
		t.Fatalf("canary offer %+v", o)
	}
	for _, id := range g.terms[1:] {
		if o := g.beat(id, running("1.3.0")); o != nil {
			t.Fatalf("%s, stage not open, offered %+v", id, o)
		}
	}
	g.advance(time.Second)
	g.beat(g.terms[0], &api.UpdaterStatus{State: api.UpdaterDownloading, Version: "1.3.0", Target: version, ProgressBytes: 10})
	m := g.members(r.ID)[g.terms[0]]
	if m.State != store.MemberDownloading || !m.Since.Equal(t0.Add(time.Second)) {
		t.Fatalf("member after downloading: %+v", m)
	}
	g.advance(time.Second)
	g.beat(g.terms[0], &api.UpdaterStatus{State: api.UpdaterDownloading, Version: "1.3.0", Target: version, ProgressBytes: 20})
	if m2 := g.members(r.ID)[g.terms[0]]; !m2.Since.Equal(m.Since) {
		t.Errorf("progress alone was written: %+v", m2)
	}
	for _, c := range []struct {
		st   *api.UpdaterStatus
		want string
	}{
		{&api.UpdaterStatus{State: api.UpdaterTrial, Version: version, Target: version}, store.MemberTrial},
		{&api.UpdaterStatus{State: api.UpdaterDownloading, Version: "1.3.0", Target: "1.5.0"}, store.MemberTrial}, // another version: no news
		{&api.UpdaterStatus{State: api.UpdaterIdle, Version: version}, store.MemberDone},
		{&api.UpdaterStatus{State: api.UpdaterIdle, Version: "1.3.0", BadVersions: []string{version}, LastError: "watchdog"}, store.MemberRolledBack},
		{&api.UpdaterStatus{State: api.UpdaterFailed, Version: "1.3.0", Target: version, LastError: "disk full"}, store.MemberFailed},
		{&api.UpdaterStatus{State: api.UpdaterIdle, Version: "1.3.0"}, store.MemberPending},
	} {
		g.advance(time.Second)
		g.beat(g.terms[0], c.st)
		if got := g.members(r.ID)[g.terms[0]]; got.State != c.want || got.Detail != c.st.LastError && c.want != store.MemberTrial {
			t.Errorf("after %+v: %s (%q), want %s", c.st, got.State, got.Detail, c.want)
		}
	}
	if err := g.e.Pause(g.ctx, r.ID, "ops", ""); err != nil {
		t.Fatal(err)
	}
	if o := g.beat(g.terms[0], nil); o != nil {
		t.Errorf("paused rollout offered %+v", o)
	}
}

// The reason a terminal rolled back stays on its row after the
// updater's next round, whose status no longer carries it (seen on a
// trial run: the page showed "Rolled back" with an empty detail 10 s
// later); a later reason replaces it.
func TestRolledBackKeepsReason(t *testing.T) {
	g := newRig(t, 3)
	r := g.start(plan(g.terms[0]))
	bad := func(lastError string) *api.UpdaterStatus {
		return &api.UpdaterStatus{State: api.UpdaterIdle, Version: "1.3.0", BadVersions: []string{version}, LastError: lastError}
	}
	for _, c := range []struct{ lastError, want string }{
		{"updater: health gate: quartierhub-agent.service failed", "updater: health gate: quartierhub-agent.service failed"},
		{"", "updater: health gate: quartierhub-agent.service failed"},
		{"trial interrupted", "trial interrupted"},
	} {
		g.advance(time.Second)
		g.beat(g.terms[0], bad(c.lastError))
		if m := g.members(r.ID)[g.terms[0]]; m.State != store.MemberRolledBack || m.Detail != c.want {
			t.Errorf("after a heartbeat with last error %q: %s (%q), want rolled back (%q)", c.lastError, m.State, m.Detail, c.want)
		}
	}
}

// A heartbeat costs no store access while the engine's copy is fresh.
func TestObserveCaches(t *testing.T) {
	g := newRig(t, 3)
	cs := &countingStore{Store: g.st}
	e := rollout.New(cs, rollout.Opts{Now: g.clock, CacheFor: time.Minute, Logger: slog.New(slog.DiscardHandler)})
	if _, err := e.Start(g.ctx, plan(g.terms[0]), "ops"); err != nil {
		t.Fatal(err)
	}
	cs.reads.Store(0)
	for range 100 {
		if o, err := e.Observe(g.ctx, g.terms[0], "Pieschen", running("1.3.0"), g.clock()); err != nil || o == nil {
			t.Fatal(o, err)
		}
	}
	if n := cs.reads.Load(); n != 3 {
		t.Errorf("%d store reads for 100 heartbeats, want 3 (rollout, members, windows once)", n)
	}
}

type countingStore struct {
	store.Store
	reads atomic.Int64
}

func (c *countingStore) ActiveRollout(ctx context.Context) (store.Rollout, error) {
	c.reads.Add(1)
	return c.Store.ActiveRollout(ctx)
}

func (c *countingStore) RolloutMembers(ctx context.Context, id string) ([]store.RolloutMember, error) {
	c.reads.Add(1)
	return c.Store.RolloutMembers(ctx, id)
}

func (c *countingStore) MaintenanceWindows(ctx context.Context) ([]store.MaintenanceWindow, error) {
	c.reads.Add(1)
	return c.Store.MaintenanceWindows(ctx)
}

// Stages open one after the other once SuccessPercent of the open stage
// is done and it soaked; the last done ends the rollout. Each step is
// audited as the system.
func TestStagesAdvance(t *testing.T) {
	eachStore(t, 21, func(t *testing.T, g *rig) {
		r := g.start(plan(g.terms[0]))
		stageOf := func() map[int][]string {
			out := map[int][]string{}
			for id, m := range g.members(r.ID) {
				out[m.Stage] = append(out[m.Stage], id)
			}
			return out
		}
		stages := stageOf()
		g.tick()
		if got := g.rollout(r.ID); got.Stage != 0 {
			t.Fatalf("opened stage %d with nothing done", got.Stage)
		}
		g.advance(time.Minute)
		g.beat(g.terms[0], running(version))
		g.tick()
		if got := g.rollout(r.ID); got.Stage != 0 {
			t.Fatal("next stage opened before the soak time")
		}
		for s := 1; s < 4; s++ {
			g.advance(time.Hour)
			g.alive()
			g.tick()
			got := g.rollout(r.ID)
			if got.Stage != s || !got.StageStartedAt.Equal(g.clock()) || got.State != store.RolloutRunning {
				t.Fatalf("after soak: %+v, want stage %d open", got, s)
			}
			ms := g.members(r.ID)
			for _, id := range stages[s] {
				if !ms[id].OfferedAt.Equal(g.clock()) {
					t.Errorf("stage %d member %+v not offered", s, ms[id])
				}
				if o := g.beat(id, running("1.3.0")); o == nil {
					t.Errorf("stage %d member %s got no offer", s, id)
				}
			}
			for _, id := range stages[s+1] {
				if o := g.beat(id, running("1.3.0")); o != nil {
					t.Errorf("stage %d member %s offered while stage %d is open", s+1, id, s)
				}
			}
			// One short of SuccessPercent (95 %): the stage waits.
			done := len(stages[s]) * rollout.DefaultSuccessPercent / 100
			if done*100 >= rollout.DefaultSuccessPercent*len(stages[s]) {
				done--
			}
			for _, id := range stages[s][:done] {
				g.beat(id, running(version))
			}
			g.advance(2 * time.Hour)
			g.alive()
			g.tick()
			if got := g.rollout(r.ID); got.Stage != s {
				t.Fatalf("stage %d left with %d of %d done", s, done, len(stages[s]))
			}
			for _, id := range stages[s][done:] {
				g.beat(id, running(version))
			}
		}
		g.tick()
		if got := g.rollout(r.ID); got.State != store.RolloutDone {
			t.Fatalf("after the last stage: %+v", got)
		}
		if _, err := g.st.ActiveRollout(g.ctx); !errors.Is(err, store.ErrNotFound) {
			t.Fatal("a done rollout is still active")
		}
		var acts []string
		for _, a := range g.audits("rollout.") {
			if a.Actor == rollout.SystemActor {
				acts = append([]string{a.Action}, acts...)
			}
		}
		if fmt.Sprint(acts) != "[rollout.stage rollout.stage rollout.stage rollout.done]" {
			t.Errorf("system audits %v", acts)
		}
	})
}

// The canary rolling back halts the rollout with a reason and an alert
// on the canary terminal; no later stage is offered. Resuming accepts
// that failure and resolves the alert; a new failure halts again, and
// stopping resolves that alert.
func TestHaltOnCanaryRollback(t *testing.T) {
	eachStore(t, 20, func(t *testing.T, g *rig) {
		r := g.start(plan(g.terms[0], g.terms[1]))
		g.beat(g.terms[0], &api.UpdaterStatus{State: api.UpdaterRolledBack, Version: "1.3.0", Target: version, BadVersions: []string{version},
			LastError: "health gate: watchdog not fed"})
		g.advance(2 * time.Hour)
		g.alive()
		g.tick()
		got := g.rollout(r.ID)
		if got.State != store.RolloutHalted || got.AlertTerminal != g.terms[0] || !strings.Contains(got.Reason, "1 of 2 terminals") ||
			!strings.Contains(got.Reason, "rolled back 1") || got.Stage != 0 {
			t.Fatalf("after the canary rolled back: %+v", got)
		}
		als := g.openAlerts()
		if len(als) != 1 || als[0].TerminalID != g.terms[0] || !strings.Contains(als[0].Detail, r.ID) {
			t.Fatalf("alerts %+v", als)
		}
		if au := g.audits(rollout.ActionHalt); len(au) != 1 || au[0].Actor != rollout.SystemActor || au[0].Detail != got.Reason {
			t.Errorf("halt audits %+v", au)
		}
		for _, id := range g.terms[1:] {
			if o := g.beat(id, running("1.3.0")); o != nil {
				t.Fatalf("%s offered by a halted rollout", id)
			}
		}
		g.tick() // halted stays halted, one alert
		if got := g.rollout(r.ID); got.State != store.RolloutHalted || len(g.openAlerts()) != 1 {
			t.Fatalf("second tick: %+v", got)
		}

		if err := g.e.Resume(g.ctx, r.ID, "ops"); err != nil {
			t.Fatal(err)
		}
		if len(g.openAlerts()) != 0 {
			t.Fatal("alert still open after resume")
		}
		g.advance(time.Minute)
		g.beat(g.terms[1], running(version))
		g.tick()
		if got := g.rollout(r.ID); got.State != store.RolloutRunning || got.Stage != 1 || got.AlertTerminal != "" {
			t.Fatalf("resumed: %+v, want stage 1 open (the accepted failure does not halt again)", got)
		}
		var stage1 []string
		for id, m := range g.members(r.ID) {
			if m.Stage == 1 {
				stage1 = append(stage1, id)
			}
		}
		g.advance(time.Minute)
		g.beat(stage1[0], &api.UpdaterStatus{State: api.UpdaterFailed, Target: version, Version: "1.3.0", LastError: "no space"})
		g.tick()
		// 1 new failure of the 3 opened (2 canary + 1 of 18 at 5 %): 33 % ≥ 10 %.
		if got := g.rollout(r.ID); got.State != store.RolloutHalted || got.AlertTerminal != stage1[0] {
			t.Fatalf("new failure: %+v", got)
		}
		if err := g.e.Stop(g.ctx, r.ID, "ops", "build broken"); err != nil {
			t.Fatal(err)
		}
		if len(g.openAlerts()) != 0 {
			t.Fatal("alert still open after stop")
		}
		if got := g.rollout(r.ID); got.State != store.RolloutStopped || got.Reason != "build broken" || got.AlertTerminal != "" {
			t.Fatalf("stopped: %+v", got)
		}
	})
}

// A member that heard the offer and then fell silent for the offline
// threshold is silent and counts as failing; one already unheard when
// offered, or revoked, is not; a heartbeat ends silence. FailCount halts.
func TestSilentMembers(t *testing.T) {
	eachStore(t, 6, func(t *testing.T, g *rig) {
		r := g.start(rollout.Plan{Version: version, Canary: g.terms[:4], FailCount: 2, FailPercent: 100})
		g.advance(time.Minute)
		g.beat(g.terms[0], &api.UpdaterStatus{State: api.UpdaterInstalling, Version: "1.3.0", Target: version})
		g.beat(g.terms[1], nil) // heard the offer, said nothing of it
		g.beat(g.terms[3], &api.UpdaterStatus{State: api.UpdaterDownloading, Version: "1.3.0", Target: version})
		if err := g.st.RevokeTerminal(g.ctx, g.terms[3], g.clock()); err != nil {
			t.Fatal(err)
		}
		// terms[2] was never heard after enrolment (before the offer).
		g.advance(10 * time.Minute)
		g.tick()
		for _, id := range g.terms[:3] {
			if m := g.members(r.ID)[id]; m.State == store.MemberSilent {
				t.Fatalf("%s silent at the threshold", id)
			}
		}
		g.advance(time.Second)
		g.tick()
		ms := g.members(r.ID)
		if ms[g.terms[0]].State != store.MemberSilent || ms[g.terms[1]].State != store.MemberSilent || ms[g.terms[2]].State != store.MemberPending ||
			ms[g.terms[3]].State != store.MemberDownloading {
			t.Fatalf("members %+v", ms)
		}
		got := g.rollout(r.ID)
		if got.State != store.RolloutHalted || !strings.Contains(got.Reason, "silent 2") {
			t.Fatalf("two silent, FailCount 2: %+v", got)
		}
		g.beat(g.terms[1], running("1.3.0"))
		if m := g.members(r.ID)[g.terms[1]]; m.State != store.MemberPending {
			t.Errorf("heard again: %+v", m)
		}
	})
}

// hookStore runs before once, just before the next UpdateRollout.
type hookStore struct {
	store.Store
	before func()
}

func (h *hookStore) UpdateRollout(ctx context.Context, r store.Rollout, a store.Audit) (store.Rollout, error) {
	if f := h.before; f != nil {
		h.before = nil
		f()
	}
	return h.Store.UpdateRollout(ctx, r, a)
}

// Staff and engine change a rollout by compare-and-swap: a tick that
// lost to a pause leaves it paused and its stage closed; a pause that
// lost to a tick is applied to the tick's result.
func TestStaffAndTickCompareAndSwap(t *testing.T) {
	eachStore(t, 5, func(t *testing.T, g *rig) {
		hs := &hookStore{Store: g.st}
		e := rollout.New(hs, rollout.Opts{Now: g.clock, CacheFor: time.Nanosecond, Logger: slog.New(slog.DiscardHandler)})
		r, err := e.Start(g.ctx, plan(g.terms[0]), "ops")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Observe(g.ctx, g.terms[0], "", running(version), g.clock()); err != nil {
			t.Fatal(err)
		}
		g.advance(2 * time.Hour)
		hs.before = func() {
			if err := g.e.Pause(g.ctx, r.ID, "ops", "hold on"); err != nil {
				t.Fatal(err)
			}
		}
		if err := e.Tick(g.ctx); err != nil {
			t.Fatal(err)
		}
		if got := g.rollout(r.ID); got.State != store.RolloutPaused || got.Stage != 0 {
			t.Fatalf("tick lost to pause: %+v", got)
		}
		if err := g.e.Resume(g.ctx, r.ID, "ops"); err != nil {
			t.Fatal(err)
		}
		hs.before = func() { g.tick() } // opens stage 1 between the pause's read and write
		if err := e.Pause(g.ctx, r.ID, "ops", "again"); err != nil {
			t.Fatal(err)
		}
		if got := g.rollout(r.ID); got.State != store.RolloutPaused || got.Stage != 1 || got.Reason != "again" {
			t.Fatalf("pause after a tick meanwhile: %+v", got)
		}
	})
}
