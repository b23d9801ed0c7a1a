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

// TestHubRestartMidBatch gives the agent a backlog, and while it drains
// kills the hub with SIGKILL (batches in flight: the outbox has started
// shrinking but is not empty), starts it again on the same data and port,
// and finally checks exactly-once delivery.
func TestHubRestartMidBatch(t *testing.T) {
	backlog := envInt(t, "FAULT_BACKLOG", 30000)
	restarts := envInt(t, "FAULT_HUB_RESTARTS", 3)
	rng := newRand(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute+time.Duration(restarts)*5*time.Second)
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
		// Kill once some batch was acknowledged since the (re)start, plus
		// up to two more batches: then further batches are on the wire.
		target := before - 1 - rng.Int64N(4000)
		var left int64
		err = harness.WaitFor(ctx, fmt.Sprintf("outbox below %d before hub kill %d", target, r+1), func() (bool, error) {
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
		t.Logf("hub kill %d with %d records left in the outbox", r+1, left)
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
	if midBatch == 0 {
		t.Fatal("no hub kill landed while the outbox was draining; raise FAULT_BACKLOG")
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
	t.Logf("backlog %d; hub kills mid-drain %d; hub holds %d; duplicates acked %d",
		backlog, midBatch, out.hubRecords, st.Sync.Duplicates)
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
				rec, err := ob.Submit(ctx, "sensor_minute", outbox.ClassSensor, payloadJSON(seq, 200))
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
