package workshop

import (
	"math"
	"sync"
	"testing"
	"time"
)

// manualTime is a wall clock the test sets.
type manualTime struct {
	mu sync.Mutex
	t  time.Time
}

func (m *manualTime) now() time.Time  { m.mu.Lock(); defer m.mu.Unlock(); return m.t }
func (m *manualTime) set(t time.Time) { m.mu.Lock(); m.t = t; m.mu.Unlock() }

func TestClockFollowsWallAndNeverGoesBack(t *testing.T) {
	base := time.UnixMilli(1_790_000_000_000)
	mt := &manualTime{t: base}
	c := NewClock(mt.now)
	a := c.Now()
	if a.Wall != base.UnixMilli() || a.Logical != 0 {
		t.Fatalf("first reading %+v", a)
	}
	b := c.Now() // same millisecond
	if b.Compare(a) <= 0 || b.Wall != a.Wall {
		t.Fatalf("same-ms reading %+v not after %+v", b, a)
	}
	mt.set(base.Add(-time.Second)) // the wall clock steps back
	d := c.Now()
	if d.Compare(b) <= 0 {
		t.Fatalf("reading %+v after a backward step is not after %+v", d, b)
	}
	mt.set(base.Add(time.Second))
	e := c.Now()
	if e.Wall != base.Add(time.Second).UnixMilli() || e.Logical != 0 {
		t.Fatalf("reading %+v does not follow the wall clock", e)
	}
}

func TestClockObserve(t *testing.T) {
	base := time.UnixMilli(1_790_000_000_000)
	mt := &manualTime{t: base}
	c := NewClock(mt.now)
	remote := HLC{Wall: base.Add(3 * time.Second).UnixMilli(), Logical: 5}
	c.Observe(remote)
	if got := c.Now(); got.Compare(remote) <= 0 {
		t.Fatalf("reading %+v not after observed %+v", got, remote)
	}
	// An older reading changes nothing.
	last := c.Last()
	c.Observe(HLC{Wall: base.UnixMilli()})
	if c.Last() != last {
		t.Fatalf("an older observation moved the clock to %+v", c.Last())
	}
	// A reading too far ahead is not adopted.
	far := HLC{Wall: base.Add(MaxClockSkew + time.Minute).UnixMilli()}
	c.Observe(far)
	if got := c.Now(); got.Compare(far) >= 0 {
		t.Fatalf("clock adopted a reading %v ahead", MaxClockSkew+time.Minute)
	}
}

func TestClockLogicalOverflow(t *testing.T) {
	mt := &manualTime{t: time.UnixMilli(1000)}
	c := NewClock(mt.now)
	c.Observe(HLC{Wall: 1000, Logical: math.MaxUint32})
	got := c.Now()
	if got.Compare(HLC{Wall: 1000, Logical: math.MaxUint32}) <= 0 {
		t.Fatalf("reading %+v did not move past the counter's end", got)
	}
}

func TestClockConcurrentReadingsDistinct(t *testing.T) {
	mt := &manualTime{t: time.UnixMilli(5000)}
	c := NewClock(mt.now)
	const workers, each = 8, 500
	out := make(chan HLC, workers*each)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				out <- c.Now()
			}
		})
	}
	wg.Wait()
	close(out)
	seen := map[HLC]bool{}
	for h := range out {
		if seen[h] {
			t.Fatalf("reading %+v handed out twice", h)
		}
		seen[h] = true
	}
}
