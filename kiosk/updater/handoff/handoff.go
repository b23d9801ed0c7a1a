// Package handoff holds the two small files the terminal's agent and its
// updater hand each other, and nothing else, so that the agent reads them
// without linking the updater (and go-tuf):
//
//   - the offer, DATA/update-offer.json (OfferFile): the hub's heartbeat
//     answer's `update` (api.UpdateOffer) as JSON, written by the agent
//     with internal/atomicfile and removed when the hub offers nothing;
//     the updater reads it bounded (kiosk/updater.ParseOffer);
//   - the status, /var/lib/quartierhub-updater/status.json (StatusFile),
//     written by the updater, read bounded by the agent (ReadStatus) and
//     reported in its heartbeat as api.UpdaterStatus (Status.API).
package handoff

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
)

// File names.
const (
	OfferFile  = "update-offer.json" // in the agent's data directory
	StatusFile = "status.json"       // in the updater's directory
)

// DefaultUpdaterDir is the updater's state directory on a terminal.
const DefaultUpdaterDir = "/var/lib/quartierhub-updater"

// States of the updater's journal, as its status reports them. Each is
// written before the step it names is taken.
const (
	StateIdle        = "idle"         // nothing in progress
	StateDownloading = "downloading"  // fetching the target into downloads/
	StateStaging     = "staging"      // extracting the target beside the running release
	StateWaiting     = "waiting"      // installed; waiting for the window and no session
	StateTrying      = "trying"       // current switched (or about to be); units restarted; health gate
	StateCommitted   = "committed"    // passed the gate; older releases may go
	StateRollingBack = "rolling-back" // failed; current goes back to the previous release
)

// Outcomes of the updater's last attempt (Status.Last).
const (
	LastCommitted  = "committed"   // the target passed its gate
	LastRolledBack = "rolled-back" // the target failed its gate, or its trial was cut short
	LastFailed     = "failed"      // the offer, the artifact or its unpacking was wrong
)

// Status is what the agent reports of the updater in its heartbeat.
type Status struct {
	State   string `json:"state"` // the journal's state
	Running string `json:"running,omitempty"`
	// Target is the version being worked on; when idle, the version of
	// the last attempt Last names.
	Target   string  `json:"target,omitempty"`
	Progress float64 `json:"progress"`
	// TotalBytes is the target's signed length, DoneBytes how much of it
	// was on disk when the status was written.
	TotalBytes int64 `json:"total_bytes,omitempty"`
	DoneBytes  int64 `json:"done_bytes,omitempty"`
	// Gate: in StateTrying, the units run the target and its health gate
	// is being held (before that, the switch and restart are under way).
	Gate bool `json:"gate,omitempty"`
	// Last is the outcome of the last attempt (LastCommitted, …).
	Last      string    `json:"last,omitempty"`
	Bad       []string  `json:"bad,omitempty"`
	LastError string    `json:"last_error,omitempty"`
	Updated   time.Time `json:"updated"`
}

// MaxStatusSize bounds the status file.
const MaxStatusSize = 64 << 10

// ReadStatus reads the status file in dir, bounded. A missing file (no
// updater installed, or it never ran) is an error satisfying
// errors.Is(err, os.ErrNotExist).
func ReadStatus(dir string) (Status, error) {
	f, err := os.Open(filepath.Join(dir, StatusFile))
	if err != nil {
		return Status{}, fmt.Errorf("updater status: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxStatusSize+1))
	if err != nil {
		return Status{}, fmt.Errorf("updater status: %w", err)
	}
	return ParseStatus(data)
}

// ParseStatus decodes a status file, bounded: it comes from another
// process (root's, but the agent trusts nothing it did not write).
func ParseStatus(data []byte) (Status, error) {
	var st Status
	if len(data) > MaxStatusSize {
		return st, fmt.Errorf("updater status: %d bytes, more than %d", len(data), MaxStatusSize)
	}
	if err := json.Unmarshal(data, &st); err != nil {
		return Status{}, fmt.Errorf("updater status: %w", err)
	}
	switch st.State {
	case StateIdle, StateDownloading, StateStaging, StateWaiting, StateTrying, StateCommitted, StateRollingBack:
	default:
		return Status{}, fmt.Errorf("updater status: unknown state %.32q", st.State)
	}
	switch st.Last {
	case "", LastCommitted, LastRolledBack, LastFailed:
	default:
		return Status{}, fmt.Errorf("updater status: unknown outcome %.32q", st.Last)
	}
	return st, nil
}

// API maps the status onto the heartbeat's updater field, cut to the
// API's limits (a longer field would cost the whole heartbeat):
//
//	downloading, staging      → downloading
//	waiting                   → waiting_for_window
//	trying before the gate    → installing
//	trying, gate held         → trial
//	committed                 → done
//	rolling-back              → rolled_back
//	idle after LastCommitted  → done
//	idle after LastRolledBack → rolled_back
//	idle after LastFailed     → failed
//	idle                      → idle
//
// (pending is the hub's: offered, not yet reported started.)
func (s Status) API() *api.UpdaterStatus {
	u := &api.UpdaterStatus{Version: cut(s.Running, api.MaxUpdaterVersion), Target: cut(s.Target, api.MaxUpdaterVersion),
		LastError: cut(s.LastError, api.MaxUpdaterError)}
	switch s.State {
	case StateDownloading, StateStaging:
		u.State = api.UpdaterDownloading
		if s.TotalBytes > 0 && s.TotalBytes <= 1<<40 && s.DoneBytes >= 0 && s.DoneBytes <= s.TotalBytes {
			u.ProgressBytes, u.TotalBytes = s.DoneBytes, s.TotalBytes
		}
	case StateWaiting:
		u.State = api.UpdaterWaitingForWindow
	case StateTrying:
		u.State = api.UpdaterInstalling
		if s.Gate {
			u.State = api.UpdaterTrial
		}
	case StateCommitted:
		u.State = api.UpdaterDone
	case StateRollingBack:
		// An interrupted trial (a kill, a power cut) is undone and the
		// version tried again until it was interrupted too often: it
		// is a failure for the rollout only once it is marked bad.
		u.State = api.UpdaterRolledBack
		if s.Target != "" && !slices.Contains(s.Bad, s.Target) {
			u.State = api.UpdaterInstalling
		}
	default:
		switch s.Last {
		case LastCommitted:
			u.State = api.UpdaterDone
		case LastRolledBack:
			u.State = api.UpdaterRolledBack
			if s.Target != "" && !slices.Contains(s.Bad, s.Target) {
				u.State = api.UpdaterPending
			}
		case LastFailed:
			u.State = api.UpdaterFailed
		default:
			u.State = api.UpdaterIdle
			u.Target = ""
		}
	}
	// The newest bad versions, which matter to the rollout running now.
	bad := s.Bad
	if len(bad) > api.MaxUpdaterBadLength {
		bad = bad[len(bad)-api.MaxUpdaterBadLength:]
	}
	for _, v := range bad {
		if v != "" && len(v) <= api.MaxUpdaterVersion {
			u.BadVersions = append(u.BadVersions, v)
		}
	}
	return u
}

// cut shortens s to at most n bytes without splitting a UTF-8 sequence.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
