package agent

import (
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/quartierhub/quartierhub/kiosk/hubsync"
)

// Mode says whether the terminal serves residents.
type Mode struct {
	// OutOfOrder is set by the hub's maintenance or DATA/out-of-order.
	OutOfOrder bool
	// Reason is for staff (service menu, logs), not for residents.
	Reason string
}

// modeOf is the terminal's mode: out of order while the hub's maintenance
// is on (its message the reason), else while DATA/out-of-order exists
// (its content the reason).
func modeOf(maintenance bool, message, dataDir string) Mode {
	if maintenance {
		return Mode{OutOfOrder: true, Reason: "maintenance: " + message}
	}
	if b, err := os.ReadFile(filepath.Join(dataDir, OutOfOrderFile)); err == nil {
		return Mode{OutOfOrder: true, Reason: strings.TrimSpace(string(b))}
	}
	return Mode{}
}

// terminalState is the sync state and the mode as the window was last
// told them, so that only what the window cares about is published.
type terminalState struct {
	mu   sync.Mutex
	sync hubsync.Status
	mode Mode
}

// update keeps the newest state and reports what changed for the window:
// the sync state if the hub's reachability, the terminal's authorisation
// or the last sync did; the mode if anything in it did.
func (t *terminalState) update(s hubsync.Status, m Mode) (syncChanged, modeChanged bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	syncChanged = s.Reachable != t.sync.Reachable || s.Unauthorized != t.sync.Unauthorized || !s.LastSuccess.Equal(t.sync.LastSuccess)
	modeChanged = m != t.mode
	t.sync, t.mode = s, m
	return syncChanged, modeChanged
}

// current returns the newest state.
func (t *terminalState) current() (hubsync.Status, Mode) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.sync, t.mode
}
