package fleet_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/fleet"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/internal/testutil"
)

// trendFleet enrols five terminals in the states a sample counts: one
// online and one offline (each with a heartbeat and a backlog), one never
// seen, one revoked (its backlog will not arrive: not counted), and one
// online whose heartbeat has no outbox; two open alerts (one
// acknowledged) and a resolved one.
func trendFleet(t *testing.T, st store.Store, now time.Time) {
	t.Helper()
	ctx := context.Background()
	on, off := enrol(t, st, "on"), enrol(t, st, "off")
	enrol(t, st, "never")
	gone, quiet := enrol(t, st, "gone"), enrol(t, st, "quiet")
	beat := func(term store.Terminal, at time.Time, outbox map[string]api.Backlog) {
		hb := healthy()
		hb.Outbox = outbox
		b, err := json.Marshal(hb)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.SaveHeartbeats(ctx, []store.HeartbeatWrite{{TerminalID: term.ID, At: at, Digest: "d", State: b}}, time.Hour); err != nil {
			t.Fatal(err)
		}
		if err := st.TouchTerminal(ctx, term.ID, at); err != nil {
			t.Fatal(err)
		}
	}
	beat(on, now.Add(-30*time.Second), map[string]api.Backlog{"sensor": {Count: 10}, "resident": {Count: 2}})
	beat(off, now.Add(-2*time.Hour), map[string]api.Backlog{"sensor": {Count: 500}})
	beat(gone, now.Add(-time.Minute), map[string]api.Backlog{"sensor": {Count: 7000}})
	beat(quiet, now.Add(-time.Minute), nil)
	if err := st.RevokeTerminal(ctx, gone.ID, now); err != nil {
		t.Fatal(err)
	}
	for _, al := range []store.Alert{{ID: "A1", TerminalID: on.ID, Kind: "paper_out"}, {ID: "A2", TerminalID: off.ID, Kind: "offline"},
		{ID: "A3", TerminalID: on.ID, Kind: "disk_low"}} {
		al.FirstSeen, al.LastSeen = now.Add(-time.Hour), now.Add(-time.Hour)
		if _, err := st.OpenAlert(ctx, al); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.AckAlert(ctx, off.ID, "A2", store.AlertAck{At: now, By: "anna"}, store.Audit{At: now, Actor: "anna", Action: "alert.ack", Subject: off.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ResolveAlert(ctx, on.ID, "disk_low", now); err != nil {
		t.Fatal(err)
	}
}

// A tick stores the fleet's counts on the period's grid, as the
// console's fleet page counts them.
func TestSamplerTick(t *testing.T) {
	st := openStore(t)
	now := t0.Add(3*time.Hour + 7*time.Minute + 12*time.Second)
	trendFleet(t, st, now)
	s := fleet.NewSampler(st, fleet.SamplerOpts{Now: func() time.Time { return now }})
	got, err := s.Tick(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := store.FleetTrend{SampledAt: t0.Add(3*time.Hour + 5*time.Minute), Terminals: 5, Online: 2, Offline: 1, Never: 1, Revoked: 1,
		Unsent: 512, OpenAlerts: 2, UnackedAlerts: 1}
	if got != want {
		t.Fatalf("Tick = %+v\nwant   %+v", got, want)
	}
	stored, err := st.FleetTrendsBetween(context.Background(), t0, now)
	if err != nil || len(stored) != 1 || stored[0] != want {
		t.Fatalf("stored %+v, %v; want [%+v]", stored, err, want)
	}
}

// fakeTimer is After for a test: each call is reported with its duration
// and fires when the test says.
type fakeTimer struct {
	mu    sync.Mutex
	waits []time.Duration
	fire  chan time.Time
}

func (f *fakeTimer) After(d time.Duration) <-chan time.Time {
	f.mu.Lock()
	f.waits = append(f.waits, d)
	f.mu.Unlock()
	return f.fire
}

func (f *fakeTimer) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.waits)
}

// Run samples at once, then at each point of the 5-minute grid, and
// prunes what is older than the retention.
func TestSamplerRunAndRetention(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	var mu sync.Mutex
	now := t0.Add(time.Minute + 30*time.Second)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	set := func(at time.Time) { mu.Lock(); now = at; mu.Unlock() }
	// A sample older than the retention, and one just inside it.
	old, kept := t0.Add(-48*time.Hour), t0.Add(-46*time.Hour)
	for _, at := range []time.Time{old, kept} {
		if err := st.AddFleetTrend(ctx, store.FleetTrend{SampledAt: at, Terminals: 1, Online: 1}); err != nil {
			t.Fatal(err)
		}
	}
	enrol(t, st, "only")
	timer := &fakeTimer{fire: make(chan time.Time)}
	s := fleet.NewSampler(st, fleet.SamplerOpts{Retention: 47 * time.Hour, Now: clock, After: timer.After})
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Run(runCtx) }()
	testutil.Eventually(t, "the first sample", func() bool { return timer.calls() == 1 })
	set(t0.Add(5*time.Minute + 2*time.Second))
	timer.fire <- now
	testutil.Eventually(t, "the second sample", func() bool { return timer.calls() == 2 })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	timer.mu.Lock()
	waits := timer.waits
	timer.mu.Unlock()
	if waits[0] != 3*time.Minute+30*time.Second || waits[1] != 5*time.Minute-2*time.Second {
		t.Errorf("waits %v: want to the next 5-minute point each time (3m30s, 4m58s)", waits)
	}
	got, err := st.FleetTrendsBetween(ctx, time.Time{}, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var at []time.Time
	for _, g := range got {
		at = append(at, g.SampledAt)
	}
	if len(got) != 3 || !at[0].Equal(kept) || !at[1].Equal(t0) || !at[2].Equal(t0.Add(5*time.Minute)) ||
		got[1].Never != 1 || got[1].Terminals != 1 {
		t.Errorf("samples %+v: want the kept old one, then t0 and t0+5m with the never-seen terminal", got)
	}
}
