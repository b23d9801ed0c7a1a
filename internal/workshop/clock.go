package workshop

import (
	"math"
	"sync"
	"time"
)

// MaxClockSkew is how far ahead of the local clock a reading Observe
// adopts. A device whose clock runs further ahead (or that lies) would
// otherwise drag every clock it talks to into the future, and ideas
// written afterwards would all count as late.
const MaxClockSkew = 10 * time.Minute

// Clock is a hybrid logical clock: readings follow the wall clock but
// never go backwards and always increase, and after observing another
// device's reading they come after it. Safe for concurrent use.
type Clock struct {
	now  func() time.Time
	mu   sync.Mutex
	last HLC
}

// NewClock returns a clock reading now (time.Now if nil).
func NewClock(now func() time.Time) *Clock {
	if now == nil {
		now = time.Now
	}
	return &Clock{now: now}
}

// Now returns a reading after every earlier one of this clock and every
// reading it observed.
func (c *Clock) Now() HLC {
	pt := c.now().UnixMilli()
	c.mu.Lock()
	defer c.mu.Unlock()
	if pt > c.last.Wall {
		c.last = HLC{Wall: pt}
	} else {
		c.tick()
	}
	return c.last
}

// Observe moves the clock past h, a reading from another device, unless
// h is more than MaxClockSkew ahead of the local wall clock.
func (c *Clock) Observe(h HLC) {
	pt := c.now().UnixMilli()
	if h.Wall > pt+MaxClockSkew.Milliseconds() {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if h.Compare(c.last) > 0 {
		c.last = h
	}
}

// Last returns the latest reading handed out or observed.
func (c *Clock) Last() HLC {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}

// tick advances the logical counter; at its end the reading moves one
// millisecond ahead of the wall clock rather than wrapping.
func (c *Clock) tick() {
	if c.last.Logical == math.MaxUint32 {
		c.last = HLC{Wall: c.last.Wall + 1}
		return
	}
	c.last.Logical++
}
