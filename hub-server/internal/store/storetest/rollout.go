package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

var rolloutTests = []struct {
	name string
	fn   func(t *testing.T, s store.Store)
}{
	{"RolloutReleases", testRolloutReleases},
	{"RolloutStartOneActive", testRolloutStartOneActive},
	{"RolloutUpdateCompareAndSwap", testRolloutUpdateCAS},
	{"RolloutMembers", testRolloutMembers},
	{"RolloutMaintenanceWindows", testRolloutWindows},
}

func auditsOf(t *testing.T, s store.Store, action string) []store.Audit {
	t.Helper()
	au, err := s.AuditEntries(context.Background(), store.AuditFilter{Action: action})
	if err != nil {
		t.Fatal(err)
	}
	return au
}

func release(v string) store.Release {
	return store.Release{Version: v, Target: "quartierhub-kiosk/" + v + "/quartierhub-kiosk_" + v + "_amd64.tar.gz", AddedAt: t0, AddedBy: "ops"}
}

func testRollout(id, version string) store.Rollout {
	return store.Rollout{ID: id, Version: version, Target: release(version).Target, State: store.RolloutRunning,
		Stages:         []store.Stage{{Name: "canary", Percent: 0, SoakSeconds: 3600}, {Name: "5%", Percent: 5, SoakSeconds: 60}, {Name: "100%", Percent: 100}},
		StageStartedAt: t0, SuccessPercent: 90, FailCount: 2, FailPercent: 10, FailuresSince: t0.Add(-time.Second), CreatedAt: t0, CreatedBy: "ops", UpdatedAt: t0}
}

// A release is known once; the same again changes nothing, another target
// for its version is a conflict. Every attempt that stores is audited.
func testRolloutReleases(t *testing.T, s store.Store) {
	ctx := context.Background()
	if rs, err := s.Releases(ctx); err != nil || len(rs) != 0 {
		t.Fatalf("empty: %v, %v", rs, err)
	}
	a := store.Audit{At: t0, Actor: "ops", Action: "release.add", Subject: "1.2.0"}
	if err := s.AddRelease(ctx, release("1.2.0"), a); err != nil {
		t.Fatal(err)
	}
	later := release("1.3.0")
	later.AddedAt = t0.Add(time.Hour)
	if err := s.AddRelease(ctx, later, store.Audit{At: later.AddedAt, Actor: "ops", Action: "release.add", Subject: "1.3.0"}); err != nil {
		t.Fatal(err)
	}
	again := release("1.2.0")
	again.AddedAt, again.AddedBy = t0.Add(2*time.Hour), "other"
	if err := s.AddRelease(ctx, again, a); err != nil {
		t.Fatalf("same release again: %v", err)
	}
	other := release("1.2.0")
	other.Target = "something/else.tar.gz"
	if err := s.AddRelease(ctx, other, a); !errors.Is(err, store.ErrVersionConflict) {
		t.Fatalf("other target: %v, want ErrVersionConflict", err)
	}
	rs, err := s.Releases(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := []store.Release{later, release("1.2.0")}; len(rs) != 2 || rs[0].Version != "1.3.0" || rs[1] != release("1.2.0") ||
		!rs[0].AddedAt.Equal(later.AddedAt) || rs[0].Target != later.Target {
		t.Fatalf("releases %+v, want %+v (the first one kept)", rs, want)
	}
	if au := auditsOf(t, s, "release.add"); len(au) != 3 {
		t.Errorf("%d audit entries, want 3 (the conflict stores nothing)", len(au))
	}
}

// Only a known version may start, and only while no other rollout is
// running, paused or halted; a done or stopped one lets the next start.
// Two starts at once: one wins.
func testRolloutStartOneActive(t *testing.T, s store.Store) {
	ctx := context.Background()
	start := func(r store.Rollout) error {
		return s.StartRollout(ctx, r, nil, store.Audit{At: t0, Actor: "ops", Action: "rollout.start", Subject: r.ID})
	}
	if err := start(testRollout("R1", "1.2.0")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown version: %v, want ErrNotFound", err)
	}
	if _, err := s.ActiveRollout(ctx); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("no active rollout: %v", err)
	}
	if _, err := s.Rollout(ctx, "R1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown rollout: %v", err)
	}
	for _, v := range []string{"1.2.0", "1.3.0"} {
		if err := s.AddRelease(ctx, release(v), store.Audit{At: t0, Actor: "ops", Action: "release.add", Subject: v}); err != nil {
			t.Fatal(err)
		}
	}
	r1 := testRollout("R1", "1.2.0")
	if err := start(r1); err != nil {
		t.Fatal(err)
	}
	got, err := s.Rollout(ctx, "R1")
	if err != nil {
		t.Fatal(err)
	}
	want := r1
	want.Seq = 1
	if !reflect.DeepEqual(normRollout(got), normRollout(want)) {
		t.Fatalf("stored\n%+v\nwant\n%+v", got, want)
	}
	for _, state := range []string{store.RolloutRunning, store.RolloutPaused, store.RolloutHalted} {
		cur, err := s.Rollout(ctx, "R1")
		if err != nil {
			t.Fatal(err)
		}
		cur.State = state
		if _, err := s.UpdateRollout(ctx, cur, store.Audit{}); err != nil {
			t.Fatal(err)
		}
		if err := start(testRollout("R2", "1.3.0")); !errors.Is(err, store.ErrRolloutActive) {
			t.Fatalf("R1 %s: second start %v, want ErrRolloutActive", state, err)
		}
		act, err := s.ActiveRollout(ctx)
		if err != nil || act.ID != "R1" || act.State != state {
			t.Fatalf("active with R1 %s: %+v, %v", state, act, err)
		}
	}
	cur, _ := s.Rollout(ctx, "R1")
	cur.State, cur.Reason, cur.UpdatedAt = store.RolloutStopped, "enough", t0.Add(time.Hour)
	if _, err := s.UpdateRollout(ctx, cur, store.Audit{At: t0, Actor: "ops", Action: "rollout.stop", Subject: "R1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ActiveRollout(ctx); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after stop: %v, want ErrNotFound", err)
	}

	// Two at once: exactly one starts.
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := testRollout(fmt.Sprintf("R%d", 3+i), "1.3.0")
			r.CreatedAt = t0.Add(2 * time.Hour)
			errs[i] = start(r)
		}()
	}
	wg.Wait()
	if (errs[0] == nil) == (errs[1] == nil) {
		t.Fatalf("two starts at once: %v, %v; want exactly one", errs[0], errs[1])
	}
	for _, err := range errs {
		if err != nil && !errors.Is(err, store.ErrRolloutActive) {
			t.Fatalf("loser: %v, want ErrRolloutActive", err)
		}
	}
	all, err := s.Rollouts(ctx, 0)
	if err != nil || len(all) != 2 || all[1].ID != "R1" {
		t.Fatalf("rollouts: %+v, %v", all, err)
	}
	if one, err := s.Rollouts(ctx, 1); err != nil || len(one) != 1 || one[0].ID != all[0].ID {
		t.Fatalf("rollouts limit 1: %+v, %v", one, err)
	}
	if au := auditsOf(t, s, "rollout.start"); len(au) != 2 {
		t.Errorf("%d start audits, want 2 (failed starts store nothing)", len(au))
	}
	if au := auditsOf(t, s, "rollout.stop"); len(au) != 1 || au[0].Subject != "R1" {
		t.Errorf("stop audits %+v", au)
	}
}

// normRollout makes times comparable with DeepEqual.
func normRollout(r store.Rollout) store.Rollout {
	r.StageStartedAt, r.CreatedAt, r.UpdatedAt = r.StageStartedAt.UTC(), r.CreatedAt.UTC(), r.UpdatedAt.UTC()
	r.FailuresSince = r.FailuresSince.UTC()
	return r
}

// UpdateRollout stores a change only on the Seq it was read at; an
// update without an action is not audited.
func testRolloutUpdateCAS(t *testing.T, s store.Store) {
	ctx := context.Background()
	if err := s.AddRelease(ctx, release("1.2.0"), store.Audit{At: t0, Actor: "ops", Action: "release.add"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateRollout(ctx, testRollout("nope", "1.2.0"), store.Audit{}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown: %v, want ErrNotFound", err)
	}
	if err := s.StartRollout(ctx, testRollout("R1", "1.2.0"), nil, store.Audit{At: t0, Actor: "ops", Action: "rollout.start"}); err != nil {
		t.Fatal(err)
	}
	a, _ := s.Rollout(ctx, "R1")
	b := a
	a.Stage, a.StageStartedAt, a.UpdatedAt = 1, t0.Add(time.Hour), t0.Add(time.Hour)
	a2, err := s.UpdateRollout(ctx, a, store.Audit{})
	if err != nil {
		t.Fatal(err)
	}
	if a2.Seq != 2 {
		t.Fatalf("seq after update %d, want 2", a2.Seq)
	}
	b.State, b.Reason = store.RolloutPaused, "staff"
	if _, err := s.UpdateRollout(ctx, b, store.Audit{At: t0, Actor: "ops", Action: "rollout.pause"}); !errors.Is(err, store.ErrVersionConflict) {
		t.Fatalf("stale update: %v, want ErrVersionConflict", err)
	}
	a2.State, a2.Reason, a2.AlertTerminal, a2.FailuresSince = store.RolloutHalted, "3 failing", "T-a", t0.Add(2*time.Hour)
	a3, err := s.UpdateRollout(ctx, a2, store.Audit{At: t0, Actor: "system", Action: "rollout.halt", Subject: "R1", Detail: "3 failing"})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := s.Rollout(ctx, "R1")
	if !reflect.DeepEqual(normRollout(got), normRollout(a3)) || got.Seq != 3 || got.Stage != 1 || got.Reason != "3 failing" ||
		got.AlertTerminal != "T-a" || !got.StageStartedAt.Equal(t0.Add(time.Hour)) || !got.FailuresSince.Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("stored %+v, want %+v", got, a3)
	}
	if au := auditsOf(t, s, "rollout."); len(au) != 2 || au[0].Action != "rollout.halt" || au[0].Actor != "system" {
		t.Errorf("audits %+v: want start and halt (the unaudited stage change and the conflict none)", au)
	}
}

// Members are stored with their rollout, replaced by terminal, and listed
// by stage and terminal; another rollout's members stay apart.
func testRolloutMembers(t *testing.T, s store.Store) {
	ctx := context.Background()
	if err := s.AddRelease(ctx, release("1.2.0"), store.Audit{At: t0, Actor: "ops", Action: "release.add"}); err != nil {
		t.Fatal(err)
	}
	m := func(rollout, term string, stage int, state string) store.RolloutMember {
		return store.RolloutMember{RolloutID: rollout, TerminalID: term, Stage: stage, State: state, Since: t0}
	}
	ms := []store.RolloutMember{m("R1", "T-c", 1, store.MemberPending), m("R1", "T-a", 0, store.MemberPending), m("R1", "T-b", 2, store.MemberPending)}
	ms[1].OfferedAt = t0
	if err := s.StartRollout(ctx, testRollout("R1", "1.2.0"), ms, store.Audit{At: t0, Actor: "ops", Action: "rollout.start"}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.RolloutMembers(ctx, "R2"); err != nil || len(got) != 0 {
		t.Fatalf("other rollout: %+v, %v", got, err)
	}
	if err := s.SaveRolloutMembers(ctx, nil); err != nil {
		t.Fatalf("saving none: %v", err)
	}
	upd := ms[1]
	upd.State, upd.Since, upd.Detail = store.MemberRolledBack, t0.Add(time.Minute), "health gate: watchdog"
	add := m("R1", "T-d", 1, store.MemberSilent)
	add.OfferedAt = t0.Add(time.Second)
	if err := s.SaveRolloutMembers(ctx, []store.RolloutMember{upd, add}); err != nil {
		t.Fatal(err)
	}
	got, err := s.RolloutMembers(ctx, "R1")
	if err != nil {
		t.Fatal(err)
	}
	want := []store.RolloutMember{upd, ms[0], add, ms[2]}
	if len(got) != len(want) {
		t.Fatalf("members %+v, want %+v", got, want)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.RolloutID != w.RolloutID || g.TerminalID != w.TerminalID || g.Stage != w.Stage || g.State != w.State || g.Detail != w.Detail ||
			!g.Since.Equal(w.Since) || !g.OfferedAt.Equal(w.OfferedAt) || g.OfferedAt.IsZero() != w.OfferedAt.IsZero() {
			t.Errorf("member %d: %+v, want %+v", i, g, w)
		}
	}
}

// Windows are set, replaced and removed per quarter (quarter "" is the
// default), each audited; an invalid window is refused.
func testRolloutWindows(t *testing.T, s store.Store) {
	ctx := context.Background()
	if ws, err := s.MaintenanceWindows(ctx); err != nil || len(ws) != 0 {
		t.Fatalf("empty: %+v, %v", ws, err)
	}
	w := func(q string, days ...string) store.MaintenanceWindow {
		return store.MaintenanceWindow{Quarter: q, MaintenanceWindow: api.MaintenanceWindow{Days: days, Start: "02:30", DurationMinutes: 90,
			TimeZone: "Europe/Berlin"}, UpdatedAt: t0, UpdatedBy: "ops"}
	}
	put := func(mw store.MaintenanceWindow) error {
		return s.PutMaintenanceWindow(ctx, mw, store.Audit{At: t0, Actor: "ops", Action: "window.set", Subject: mw.Quarter})
	}
	for _, mw := range []store.MaintenanceWindow{w("", "mon", "tue"), w("Johannstadt", "sun"), w("Johannstadt", "wed", "thu", "fri")} {
		if err := put(mw); err != nil {
			t.Fatal(err)
		}
	}
	bad := w("Pieschen", "mon")
	bad.TimeZone = "Mars/Olympus"
	if err := put(bad); err == nil {
		t.Fatal("invalid window stored")
	}
	ws, err := s.MaintenanceWindows(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ws) != 2 || ws[0].Quarter != "" || !reflect.DeepEqual(ws[1].Days, []string{"wed", "thu", "fri"}) || ws[1].Start != "02:30" ||
		ws[1].DurationMinutes != 90 || ws[1].TimeZone != "Europe/Berlin" || ws[1].UpdatedBy != "ops" || !ws[1].UpdatedAt.Equal(t0) {
		t.Fatalf("windows %+v", ws)
	}
	if got := store.WindowFor(ws, "Johannstadt"); got == nil || got.Days[0] != "wed" {
		t.Errorf("WindowFor(Johannstadt) = %+v", got)
	}
	if got := store.WindowFor(ws, "Pieschen"); got == nil || !reflect.DeepEqual(got.Days, []string{"mon", "tue"}) {
		t.Errorf("WindowFor(Pieschen) = %+v, want the default", got)
	}
	if err := s.DeleteMaintenanceWindow(ctx, "", store.Audit{At: t0, Actor: "ops", Action: "window.delete"}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteMaintenanceWindow(ctx, "", store.Audit{At: t0, Actor: "ops", Action: "window.delete"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleting again: %v, want ErrNotFound", err)
	}
	ws, _ = s.MaintenanceWindows(ctx)
	if store.WindowFor(ws, "Pieschen") != nil || len(ws) != 1 {
		t.Errorf("after delete: %+v", ws)
	}
	if n := len(auditsOf(t, s, "window.")); n != 4 {
		t.Errorf("%d window audits, want 4", n)
	}
}
