package fault

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/kiosk/agent"
	"github.com/quartierhub/quartierhub/kiosk/outbox"
	"github.com/quartierhub/quartierhub/tests/internal/harness"
)

// agentBatch is how many records `kiosk agent` sends in one batch: the
// default MaxBatchRecords of hubsync.Opts, which the agent keeps, and far
// below its byte bound for the records fillOutbox makes. The outbox
// shrinks in steps of this size, as each batch is acknowledged.
const agentBatch = 2000

// batchesPerKill is what one hub kill may use up of the backlog: one or
// two acknowledged batches to wait for, plus up to two more that a busy
// machine drains before the test sees the count (measured: up to three).
const batchesPerKill = 4

// TestHubRestartMidBatch gives the agent a backlog, and while it drains
// kills the hub with SIGKILL (batches in flight: the outbox has started
// shrinking but is not empty), starts it again on the same data and port,
// and finally checks exactly-once delivery. Every planned kill must land
// while records are left.
func TestHubRestartMidBatch(t *testing.T) {
	restarts := envInt(t, "FAULT_HUB_RESTARTS", 3)
	backlog := envInt(t, "FAULT_BACKLOG", max(30000, (batchesPerKill*restarts+2)*agentBatch))
	// Each kill needs a batch acknowledged since the restart and another
	// still queued; fewer records cannot give every kill a mid-drain moment.
	if least := (restarts + 1) * agentBatch; backlog < least {
		t.Fatalf("FAULT_BACKLOG=%d is too small for %d hub kills: want at least %d (default %d)",
			backlog, restarts, least, (batchesPerKill*restarts+2)*agentBatch)
	}
	rng := newRand(t)
	ctx, cancel := context.WithTimeout(context.Background(),
		3*time.Minute+time.Duration(restarts)*10*time.Second+time.Duration(backlog)*time.Millisecond)
	defer cancel()

	hub := startHub(t, ctx)
	ag := enrolledAgent(t, ctx, hub, "restart-test")
	led := fillOutbox(t, ctx, filepath.Join(ag.Dir, agent.OutboxFile), backlog)
	if err := ag.Start(ctx); err != nil {
		t.Fatal(err)
	}

	midBatch := 0
	for r := range restarts {
		st, err := ag.Client.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		before := harness.OutboxCount(st)
		target := killTarget(before, restarts-r, rng.Int64N(2*agentBatch))
		if target < 0 {
			t.Fatalf("only %d records left before hub kill %d of %d: the drain outran the kills; raise FAULT_BACKLOG (now %d)",
				before, r+1, restarts, backlog)
		}
		var left int64
		err = harness.WaitFor(ctx, fmt.Sprintf("outbox at most %d (from %d) before hub kill %d", target, before, r+1), func() (bool, error) {
			st, err := ag.Client.Status(ctx)
			if err != nil {
				return false, err
			}
			left = harness.OutboxCount(st)
			return left <= target, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := hub.Kill(); err != nil {
			t.Fatal(err)
		}
		if left > 0 {
			midBatch++
		}
		t.Logf("hub kill %d with %d records left in the outbox (target %d)", r+1, left, target)
		if left == 0 {
			break
		}
		if err := hub.Start(ctx); err != nil {
			t.Fatal(err)
		}
		// The agent is backing off; ask for a round now, in the
		// background, as `kiosk sync-now` would.
		go func() { _, _ = ag.Client.SyncNow(ctx) }()
	}
	if hub.PID() == 0 {
		if err := hub.Start(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if midBatch < restarts {
		t.Errorf("%d of %d hub kills landed while the outbox was draining; raise FAULT_BACKLOG (now %d)", midBatch, restarts, backlog)
	}

	if err := ag.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	st, err := ag.Client.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := harness.OutboxLost(st); n != 0 {
		t.Errorf("outbox thinned or evicted %d records", n)
	}
	recs, err := hub.Export(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := checkExactlyOnce(t, led, recs)
	if out.hubRecords != backlog {
		t.Errorf("hub holds %d records, want the %d of the backlog", out.hubRecords, backlog)
	}
	t.Logf("backlog %d; hub kills mid-drain %d of %d; hub holds %d; duplicates acked since the last restart %d",
		backlog, midBatch, restarts, out.hubRecords, st.Sync.Duplicates)
}

// killTarget is the outbox count at which to kill the hub, given the
// count now (before), the kills still planned including this one, and a
// random extra in [0, 2*agentBatch): wait until one batch, or two, has
// been acknowledged since the restart (the agent has further batches on
// the wire by then), but never below one batch per planned kill, so each
// later kill still finds a batch to wait for and one to interrupt. When
// the count is already that low it waits for a single batch; -1 means no
// batch can be both acknowledged and left over.
func killTarget(before int64, killsLeft int, extra int64) int64 {
	if before <= agentBatch {
		return -1
	}
	floor := int64(killsLeft) * agentBatch
	target := max(before-1-extra, floor)
	if target >= before {
		target = before - 1
	}
	return target
}

// fillOutbox stores n sensor records in the outbox file at path (no agent
// running), as a terminal cut off from its hub would have them, and
// returns the ledger of their ids.
func fillOutbox(t *testing.T, ctx context.Context, path string, n int) *ledger {
	t.Helper()
	ob, err := outbox.Open(path, outbox.Opts{})
	if err != nil {
		t.Fatal(err)
	}
	led := newLedger()
	const workers = 32
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				seq := fmt.Sprintf("b-%07d", i)
				led.attempt(seq)
				rec, err := ob.Submit(ctx, "sensor_minute", outbox.ClassSensor, payloadJSON("sensor_minute", seq, 200))
				if err != nil {
					t.Errorf("fill outbox: %v", err)
					return
				}
				led.ack(seq, rec.ID)
			}
		})
	}
	wg.Wait()
	if err := ob.Close(); err != nil {
		t.Fatal(err)
	}
	if t.Failed() {
		t.FailNow()
	}
	return led
}

// TestKillTarget checks the kill targets over every count the outbox can
// show: each waits for at least one acknowledged batch, leaves at least
// one batch queued, and keeps a batch for each later kill while it can.
func TestKillTarget(t *testing.T) {
	for killsLeft := 1; killsLeft <= 10; killsLeft++ {
		for before := int64(0); before <= 30*agentBatch; before += agentBatch / 4 {
			for _, extra := range []int64{0, 1, agentBatch, 2*agentBatch - 1} {
				got := killTarget(before, killsLeft, extra)
				switch {
				case before <= agentBatch:
					if got != -1 {
						t.Errorf("killTarget(%d, %d, %d) = %d, want -1: no batch can be both acked and left", before, killsLeft, extra, got)
					}
				case got >= before || got < agentBatch:
					t.Errorf("killTarget(%d, %d, %d) = %d, want in [%d, %d)", before, killsLeft, extra, got, agentBatch, before)
				case before > int64(killsLeft)*agentBatch && got < int64(killsLeft)*agentBatch:
					t.Errorf("killTarget(%d, %d, %d) = %d, below the %d batches kept for the planned kills", before, killsLeft, extra, got, killsLeft)
				case got < before-2*agentBatch:
					t.Errorf("killTarget(%d, %d, %d) = %d, waits for more than two batches", before, killsLeft, extra, got)
				}
			}
		}
	}
}
