package fault

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/kiosk/localapi"
	"github.com/quartierhub/quartierhub/tests/internal/harness"
)

// TestKillAgent kills `kiosk agent` with SIGKILL at random moments while
// several clients submit records through its local API and it syncs them
// to a real hub, restarts it each time, and finally checks that every
// record whose submit returned reached the hub exactly once.
func TestKillAgent(t *testing.T) {
	kills := envInt(t, "FAULT_KILLS", 5)
	rng := newRand(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute+time.Duration(kills)*5*time.Second)
	defer cancel()

	hub := startHub(t, ctx)
	agent := enrolledAgent(t, ctx, hub, "kill-test")
	if err := agent.Start(ctx); err != nil {
		t.Fatal(err)
	}

	led := newLedger()
	var acked atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Go(func() { submitLoop(ctx, t, agent.Client, w, led, &acked, stop) })
	}

	for k := range kills {
		// A random moment: after a random number of further confirmed
		// submits, then up to 20 ms later, so kills land in commits,
		// in HTTP answers and in sync rounds alike.
		target := acked.Load() + 1 + rng.Int64N(200)
		if err := harness.WaitFor(ctx, fmt.Sprintf("%d confirmed submits before kill %d", target, k+1), func() (bool, error) {
			return acked.Load() >= target, nil
		}); err != nil {
			t.Fatal(err)
		}
		if d := rng.IntN(20); d > 0 {
			time.Sleep(time.Duration(d) * time.Millisecond) // picks the moment; nothing waits on it
		}
		if err := agent.Kill(); err != nil {
			t.Fatal(err)
		}
		if err := agent.Start(ctx); err != nil {
			t.Fatalf("restart after kill %d: %v", k+1, err)
		}
	}
	close(stop)
	wg.Wait()

	if err := agent.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	st, err := agent.Client.Status(ctx)
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
	attempted, ok, failed := led.counts()
	t.Logf("kills %d; submits attempted %d, confirmed %d, failed %d; hub holds %d (%d of them from failed submits); duplicates acked since last restart %d",
		kills, attempted, ok, failed, out.hubRecords, out.arrivedUnacked, st.Sync.Duplicates)
	if ok == 0 {
		t.Fatal("no submit was ever confirmed")
	}
}

// submitLoop submits records until stop, recording each attempt and each
// confirmed id. Submits fail while the agent is dead or starting; the
// loop then tries again with a new record.
func submitLoop(ctx context.Context, t *testing.T, c *localapi.Client, w int, led *ledger, acked *atomic.Int64, stop <-chan struct{}) {
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		seq := fmt.Sprintf("w%d-%07d", w, i)
		typ := "sensor_minute"
		if i%5 == 0 {
			typ = "problem_report"
		}
		led.attempt(seq)
		resp, err := c.Submit(ctx, localapi.SubmitRequest{Type: typ, Payload: payload(typ, seq, 200)})
		if err == nil {
			led.ack(seq, resp.ID)
			acked.Add(1)
			continue
		}
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, localapi.ErrInvalid) || errors.Is(err, localapi.ErrFull) {
			t.Errorf("submit %s: %v", seq, err)
			return
		}
		led.fail()
		// The agent is down or starting: pace the retries.
		select {
		case <-stop:
			return
		case <-time.After(2 * time.Millisecond):
		}
	}
}
