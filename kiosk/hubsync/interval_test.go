package hubsync_test

import (
	"sync"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/kiosk/hubsync"
)

// manualClock is a clock tests move by hand, with timers they fire.
type manualClock struct {
	mu     sync.Mutex
	now    time.Time
	timers chan manualTimer
}

type manualTimer struct {
	d  time.Duration
	ch chan time.Time
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func (c *manualClock) After(d time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	c.timers <- manualTimer{d, ch}
	return ch
}

func (c *manualClock) next(t *testing.T) manualTimer {
	t.Helper()
	select {
	case tm := <-c.timers:
		return tm
	case <-time.After(20 * time.Second):
		t.Fatal("the syncer did not start a wait")
		return manualTimer{}
	}
}

// A new idle interval takes effect in the wait under way: it ends at its
// start plus the new interval, at once if that has passed, and 0
// restores the configured interval.
func TestSetIntervalRetimesTheIdleWait(t *testing.T) {
	clk := &manualClock{now: time.Now(), timers: make(chan manualTimer, 16)}
	r := newRig(t, hubsync.Opts{Interval: 2 * time.Hour, Now: clk.Now, After: clk.After, PingInterval: 1000 * time.Hour})
	r.start(t)

	if tm := clk.next(t); tm.d != 2*time.Hour {
		t.Fatalf("first idle wait %v, want the configured 2h", tm.d)
	}
	rounds := func() time.Time { return r.syncer.Status().LastAttempt }
	first := rounds()

	clk.advance(time.Minute)
	r.syncer.SetInterval(10 * time.Minute)
	tm := clk.next(t)
	if tm.d != 9*time.Minute {
		t.Fatalf("wait after SetInterval(10m) one minute in: %v, want 9m", tm.d)
	}
	if r.syncer.Interval() != 10*time.Minute || !r.syncer.Status().NextAttempt.Equal(first.Add(10*time.Minute)) {
		t.Fatalf("interval %v, next attempt %v", r.syncer.Interval(), r.syncer.Status().NextAttempt)
	}
	clk.advance(9 * time.Minute)
	tm.ch <- clk.Now()
	if tm := clk.next(t); tm.d != 10*time.Minute {
		t.Fatalf("idle wait after the round %v, want the new 10m", tm.d)
	}
	if got := rounds(); !got.Equal(first.Add(10 * time.Minute)) {
		t.Fatalf("round at %v, want %v", got, first.Add(10*time.Minute))
	}

	// Shortened below what has already passed: a round at once.
	clk.advance(5 * time.Minute)
	r.syncer.SetInterval(time.Minute)
	if tm := clk.next(t); tm.d != time.Minute {
		t.Fatalf("wait after the immediate round %v, want 1m", tm.d)
	}
	if got := rounds(); !got.Equal(first.Add(15 * time.Minute)) {
		t.Fatalf("no immediate round: last attempt %v", got)
	}

	// Back to the configured interval.
	r.syncer.SetInterval(0)
	if tm := clk.next(t); tm.d != 2*time.Hour || r.syncer.Interval() != 2*time.Hour {
		t.Fatalf("wait after SetInterval(0) %v (interval %v), want 2h", tm.d, r.syncer.Interval())
	}
	// The same interval again changes nothing.
	r.syncer.SetInterval(2 * time.Hour)
	select {
	case tm := <-clk.timers:
		t.Fatalf("an unchanged interval restarted the wait (%v)", tm.d)
	default:
	}
}
