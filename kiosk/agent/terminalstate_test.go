package agent

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/kiosk/hubsync"
)

// Only the changes the window shows are published: reachability,
// authorisation and the last sync, not every failed attempt; any change
// of mode. The newest state is kept either way.
func TestTerminalStateChanges(t *testing.T) {
	var ts terminalState
	at := time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC)
	steps := []struct {
		sync       hubsync.Status
		mode       Mode
		syncChange bool
		modeChange bool
	}{
		{hubsync.Status{}, Mode{}, false, false},
		{hubsync.Status{Failures: 3, LastAttempt: at}, Mode{}, false, false},
		{hubsync.Status{Reachable: true, LastSuccess: at}, Mode{}, true, false},
		{hubsync.Status{Reachable: true, LastSuccess: at.In(time.Local)}, Mode{}, false, false},
		{hubsync.Status{Reachable: true, LastSuccess: at.Add(time.Minute)}, Mode{}, true, false},
		{hubsync.Status{Reachable: true, Unauthorized: true, LastSuccess: at.Add(time.Minute)}, Mode{}, true, false},
		{hubsync.Status{Reachable: true, Unauthorized: true, LastSuccess: at.Add(time.Minute)}, Mode{OutOfOrder: true, Reason: "a"}, false, true},
		{hubsync.Status{Reachable: true, Unauthorized: true, LastSuccess: at.Add(time.Minute)}, Mode{OutOfOrder: true, Reason: "b"}, false, true},
	}
	for i, s := range steps {
		sc, mc := ts.update(s.sync, s.mode)
		if sc != s.syncChange || mc != s.modeChange {
			t.Fatalf("step %d: changed sync %v mode %v, want %v %v", i, sc, mc, s.syncChange, s.modeChange)
		}
		if gs, gm := ts.current(); gs != s.sync || gm != s.mode {
			t.Fatalf("step %d: current %+v %+v", i, gs, gm)
		}
	}
}

// The hub's maintenance comes before the local file.
func TestModeOf(t *testing.T) {
	dir := t.TempDir()
	if m := modeOf(false, "", dir); m != (Mode{}) {
		t.Fatalf("no file, no maintenance: %+v", m)
	}
	if err := os.WriteFile(filepath.Join(dir, OutOfOrderFile), []byte("screen broken\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if m := modeOf(false, "", dir); m != (Mode{OutOfOrder: true, Reason: "screen broken"}) {
		t.Fatalf("file: %+v", m)
	}
	if m := modeOf(true, "new card reader", dir); m != (Mode{OutOfOrder: true, Reason: "maintenance: new card reader"}) {
		t.Fatalf("maintenance: %+v", m)
	}
}
