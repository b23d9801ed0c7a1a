package agent_test

import (
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/internal/testutil"
	"github.com/quartierhub/quartierhub/kiosk/agent"
	"github.com/quartierhub/quartierhub/kiosk/localapi"
)

func hasMinute(ms []localapi.Minute, m localapi.Minute) bool {
	for _, x := range ms {
		if x.Sensor == m.Sensor && x.Quantity == m.Quantity && x.Minute.Equal(m.Minute) {
			return true
		}
	}
	return false
}

// The 24-hour chart's minutes survive a restart of the agent; a day later
// they are pruned, from the file too.
func TestSensorHistorySurvivesRestarts(t *testing.T) {
	r := newRig(t)
	start := time.Now()
	fast := func() time.Time { return start.Add(time.Since(start) * 120) }
	ctx := context.Background()
	c, stop := r.run(t, fast)
	var before []localapi.Minute
	testutil.Eventually(t, "three minutes of history", func() bool {
		h, err := c.Sensors(ctx)
		before = h.Minutes
		return err == nil && len(h.Minutes) >= 3
	})
	stop()

	c, stop = r.run(t, fast)
	h, err := c.Sensors(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range before {
		if !hasMinute(h.Minutes, m) {
			t.Fatalf("minute %s %s lost across a restart (%d minutes now)", m.Quantity, m.Minute, len(h.Minutes))
		}
		if m.Mean != 700 {
			t.Fatalf("minute %+v, want a mean of 700 ppm", m)
		}
	}
	stop()

	later := func() time.Time { return fast().Add(25 * time.Hour) }
	c, stop = r.run(t, later)
	if h, err = c.Sensors(ctx); err != nil {
		t.Fatal(err)
	}
	for _, m := range before {
		if hasMinute(h.Minutes, m) {
			t.Fatalf("minute %s older than 24 hours still served", m.Minute)
		}
	}
	stop()
	// Back on the earlier clock: gone from the file, not just hidden.
	c, _ = r.run(t, fast)
	if h, err = c.Sensors(ctx); err != nil {
		t.Fatal(err)
	}
	for _, m := range before {
		if hasMinute(h.Minutes, m) {
			t.Fatalf("minute %s pruned at the last start is back", m.Minute)
		}
	}
}

// An unreadable history file is moved aside; the agent starts with an
// empty chart and keeps the history in a new file.
func TestCorruptSensorHistoryStartsEmpty(t *testing.T) {
	r := newRig(t)
	if err := os.MkdirAll(r.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	junk := make([]byte, 64<<10)
	_, _ = rand.Read(junk)
	path := filepath.Join(r.dir, agent.HistoryFile)
	if err := os.WriteFile(path, junk, 0o600); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	fast := func() time.Time { return start.Add(time.Since(start) * 120) }
	ctx := context.Background()
	c, stop := r.run(t, fast)
	if _, err := os.Stat(path + ".corrupt"); err != nil {
		t.Fatalf("the unreadable file was not moved aside: %v", err)
	}
	var before []localapi.Minute
	testutil.Eventually(t, "new history", func() bool {
		h, err := c.Sensors(ctx)
		before = h.Minutes
		return err == nil && len(h.Minutes) >= 1
	})
	stop()
	c, _ = r.run(t, fast)
	h, err := c.Sensors(ctx)
	if err != nil || !hasMinute(h.Minutes, before[0]) {
		t.Fatalf("history in the new file lost across a restart: %v", err)
	}
}
