package agent

import (
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// Numbers count up through the day, continue with a new counter on the
// same file (a restart), start at 1 the next day, and are never handed
// out twice when drawn at once.
func TestTicketCounter(t *testing.T) {
	path := filepath.Join(t.TempDir(), TicketFile)
	day := time.Date(2025, 3, 3, 10, 0, 0, 0, time.Local)
	now := func() time.Time { return day }
	draw := func(c *ticketCounter, want int, wantDay string) {
		t.Helper()
		n, d, err := c.next()
		if err != nil || n != want || d != wantDay {
			t.Fatalf("drew %d %s %v, want %d %s", n, d, err, want, wantDay)
		}
	}
	c := &ticketCounter{path: path, now: now}
	draw(c, 1, "2025-03-03")
	draw(c, 2, "2025-03-03")
	draw(&ticketCounter{path: path, now: now}, 3, "2025-03-03")
	day = day.Add(24 * time.Hour)
	c = &ticketCounter{path: path, now: now}
	draw(c, 1, "2025-03-04")

	seen := make([]bool, 42)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 40 {
		wg.Go(func() {
			n, _, err := c.next()
			mu.Lock()
			defer mu.Unlock()
			if err != nil || n < 2 || n > 41 || seen[n] {
				t.Errorf("concurrent draw: %d %v", n, err)
				return
			}
			seen[n] = true
		})
	}
	wg.Wait()
	draw(c, 42, "2025-03-04")
}
