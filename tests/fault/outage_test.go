package fault

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/kiosk/hubsync"
	"github.com/quartierhub/quartierhub/kiosk/outbox"
	"github.com/quartierhub/quartierhub/tests/internal/harness"
)

// TestLongOutage keeps the hub unreachable (its process stopped, the port
// closed) for a simulated week while a terminal's outbox fills with
// records spread over that week, then brings the hub back. The outbox and
// the syncer run in-process on a fake clock so the week of backoff passes
// at once. Checks: the status said unreachable all along, no wait asked for
// exceeded MaxBackoff, and afterwards everything arrived exactly once.
func TestLongOutage(t *testing.T) {
	const (
		week       = 7 * 24 * time.Hour
		step       = time.Minute
		maxBackoff = 30 * time.Minute
	)
	rng := newRand(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	hub := startHub(t, ctx)
	creds := enrolInProcess(t, ctx, hub, "outage-test", hub.URL())
	if err := hub.Kill(); err != nil {
		t.Fatal(err)
	}

	// The fake week ends about now, so signatures made after it are
	// fresh for the hub's real clock.
	clk := newFakeClock(time.Now().Add(-week))
	ob, err := outbox.Open(filepath.Join(t.TempDir(), "outbox.db"), outbox.Opts{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer ob.Close()
	led := newLedger()
	submitSome(t, ctx, ob, rng, led, "o-start")

	syncer := hubsync.New(ob, creds, hubsync.Opts{
		MaxBackoff: maxBackoff, QuickRetries: -1, Now: clk.Now, After: clk.After, Logger: quietLogger(),
	})
	runCtx, stopSync := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- syncer.Run(runCtx) }()
	defer func() { stopSync(); <-done }()
	if err := harness.WaitFor(ctx, "first failed round", func() (bool, error) { return clk.Calls() > 0, nil }); err != nil {
		t.Fatal(err)
	}

	start := clk.Now()
	end := start.Add(week)
	attempts := []time.Time{syncer.Status().LastAttempt}
	nextRecord := start
	for i := 0; clk.Now().Before(end); i++ {
		calls := clk.Calls()
		if clk.Advance(step) {
			// The syncer's wait ended: let it fail its round and wait again.
			if err := harness.WaitFor(ctx, "syncer to back off again", func() (bool, error) { return clk.Calls() > calls, nil }); err != nil {
				t.Fatal(err)
			}
		}
		st := syncer.Status()
		if st.Reachable || st.LastError == "" || st.Failures == 0 {
			t.Fatalf("status at %s into the outage: reachable %v, failures %d, last error %q",
				clk.Now().Sub(start), st.Reachable, st.Failures, st.LastError)
		}
		if st.LastAttempt.After(attempts[len(attempts)-1]) {
			attempts = append(attempts, st.LastAttempt)
		}
		if !clk.Now().Before(nextRecord) {
			submitSome(t, ctx, ob, rng, led, fmt.Sprintf("o-%05d", i))
			nextRecord = clk.Now().Add(time.Duration(1+rng.IntN(29)) * time.Minute)
		}
	}
	attempts = append(attempts, clk.Now())
	var maxGap time.Duration
	for i := 1; i < len(attempts); i++ {
		maxGap = max(maxGap, attempts[i].Sub(attempts[i-1]))
	}
	stats, err := ob.Stats()
	if err != nil {
		t.Fatal(err)
	}
	_, stored, _ := led.counts()
	t.Logf("simulated outage %s: %d sync attempts, longest wait asked %s, longest gap between attempts %s, outbox %d records (%d resident)",
		week, len(attempts)-1, clk.Longest(), maxGap, stored, stats.Resident.Count)
	if got := clk.Longest(); got > maxBackoff {
		t.Errorf("syncer asked to wait %s, more than MaxBackoff %s", got, maxBackoff)
	}
	if maxGap > maxBackoff+step {
		t.Errorf("syncer went %s without an attempt (MaxBackoff %s): the backoff must stay bounded while records keep arriving", maxGap, maxBackoff)
	}

	// The hub comes back; its clock is the real one, so is ours from now.
	if err := hub.Start(ctx); err != nil {
		t.Fatal(err)
	}
	clk.Set(time.Now())
	err = harness.WaitFor(ctx, "outbox to drain after the outage", func() (bool, error) {
		res := syncer.SyncNow(ctx)
		s, err := ob.Stats()
		if err != nil {
			return false, err
		}
		left := s.Resident.Count + s.Event.Count + s.Sensor.Count
		return left == 0, fmt.Errorf("%d left, last round: %v", left, res.Err)
	})
	if err != nil {
		t.Fatal(err)
	}
	if st := syncer.Status(); !st.Reachable || st.LastError != "" {
		t.Errorf("after the drain: reachable %v, last error %q", st.Reachable, st.LastError)
	}
	stats, err = ob.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if lost := stats.Sensor.Thinned + stats.Sensor.Evicted + stats.Event.Evicted; lost != 0 {
		t.Errorf("outbox thinned or evicted %d records", lost)
	}
	recs, err := hub.Export(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := checkExactlyOnce(t, led, recs)
	if out.hubRecords != stored {
		t.Errorf("hub holds %d records, the outbox took %d", out.hubRecords, stored)
	}
	first, last := recs[0].CreatedAt, recs[0].CreatedAt
	for _, r := range recs {
		first, last = minTime(first, r.CreatedAt), maxTime(last, r.CreatedAt)
	}
	if span := last.Sub(first); span < week-time.Hour {
		t.Errorf("records at the hub span %s of created_at, want about %s", span, week)
	}
	t.Logf("hub holds %d records created over %s; duplicates acked %d", out.hubRecords, last.Sub(first).Round(time.Minute), syncer.Status().Duplicates)
}

// submitSome stores a few records at the clock's current time, together
// (one commit): sensor readings and, now and then, a resident's report.
func submitSome(t *testing.T, ctx context.Context, ob *outbox.Outbox, rng *rand.Rand, led *ledger, prefix string) {
	t.Helper()
	n := 1 + rng.IntN(3)
	var wg sync.WaitGroup
	for j := range n {
		seq := fmt.Sprintf("%s-%d", prefix, j)
		typ, class := "sensor_minute", outbox.ClassSensor
		if rng.IntN(10) == 0 {
			typ, class = "problem_report", outbox.ClassResident
		}
		led.attempt(seq)
		wg.Go(func() {
			rec, err := ob.Submit(ctx, typ, class, payloadJSON(typ, seq, 200))
			if err != nil {
				t.Errorf("submit during the outage: %v", err)
				return
			}
			led.ack(seq, rec.ID)
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
