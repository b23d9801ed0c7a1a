package fault

import (
	"sync"
	"time"
)

// fakeClock is a manual clock for the outbox (Now) and the syncer (Now,
// After): time passes only when the test advances it, so a week of
// backoff takes no real time.
type fakeClock struct {
	mu       sync.Mutex
	now      time.Time
	timers   []fakeTimer
	calls    int           // After calls so far
	longest  time.Duration // longest wait ever asked for
	latestID int           // id of the most recent After
}

type fakeTimer struct {
	id  int
	at  time.Time
	sig chan time.Time
}

func newFakeClock(start time.Time) *fakeClock { return &fakeClock{now: start} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// After is time.After on the fake clock.
func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	c.latestID = c.calls
	c.longest = max(c.longest, d)
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.timers = append(c.timers, fakeTimer{id: c.calls, at: c.now.Add(d), sig: ch})
	return ch
}

// Calls is how many times After was called.
func (c *fakeClock) Calls() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls
}

// Longest is the longest wait After was asked for.
func (c *fakeClock) Longest() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.longest
}

// Set moves the clock forward to t (never back) and fires the timers due.
// It reports whether the most recently requested timer fired: the one the
// syncer is waiting on, unless it has dropped it.
func (c *fakeClock) Set(t time.Time) (latestFired bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.now) {
		c.now = t
	}
	keep := c.timers[:0]
	for _, tm := range c.timers {
		if tm.at.After(c.now) {
			keep = append(keep, tm)
			continue
		}
		tm.sig <- c.now
		if tm.id == c.latestID {
			latestFired = true
		}
	}
	c.timers = keep
	return latestFired
}

// Advance moves the clock forward by d; see Set.
func (c *fakeClock) Advance(d time.Duration) bool { return c.Set(c.Now().Add(d)) }
