package api

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// States of a terminal's updater, as its heartbeat reports them
// ([UpdaterStatus].State).
const (
	UpdaterIdle             = "idle"               // nothing to do: running the newest version it may install
	UpdaterPending          = "pending"            // told of a target, not started
	UpdaterDownloading      = "downloading"        // fetching and verifying the target
	UpdaterWaitingForWindow = "waiting_for_window" // installed side by side; waits for the window and no session
	UpdaterInstalling       = "installing"         // switching to the target, restarting the kiosk
	UpdaterTrial            = "trial"              // running the target under the health gate
	UpdaterDone             = "done"               // the target passed its health gate
	UpdaterRolledBack       = "rolled_back"        // the target failed its gate; back on the previous version
	UpdaterFailed           = "failed"             // the update could not be done (download, verification, disk)
)

// UpdaterStates lists every updater state.
var UpdaterStates = []string{UpdaterIdle, UpdaterPending, UpdaterDownloading, UpdaterWaitingForWindow, UpdaterInstalling,
	UpdaterTrial, UpdaterDone, UpdaterRolledBack, UpdaterFailed}

// Updater limits.
const (
	MaxUpdaterVersion   = 64   // bytes of a version string
	MaxUpdaterError     = 1000 // bytes of UpdaterStatus.LastError
	MaxUpdaterBadLength = 16   // entries of UpdaterStatus.BadVersions
)

// UpdaterStatus is the terminal's updater in a [Heartbeat].
type UpdaterStatus struct {
	State string `json:"state"` // one of UpdaterStates
	// Version is the release the terminal runs; Target the one it is
	// working towards ("" when idle).
	Version string `json:"version,omitempty"`
	Target  string `json:"target,omitempty"`
	// ProgressBytes of TotalBytes of the target are downloaded.
	ProgressBytes int64 `json:"progress_bytes,omitempty"`
	TotalBytes    int64 `json:"total_bytes,omitempty"`
	// LastError says why the last attempt failed or rolled back (no
	// personal data).
	LastError string `json:"last_error,omitempty"`
	// BadVersions failed their health gate on this terminal and are never
	// tried again.
	BadVersions []string `json:"bad_versions,omitempty"`
}

// Validate checks the state and the sizes of the strings and lists.
func (u *UpdaterStatus) Validate() error {
	if u == nil {
		return nil
	}
	if !slices.Contains(UpdaterStates, u.State) {
		return fmt.Errorf("updater: state %.32q is not one of %s", u.State, strings.Join(UpdaterStates, ", "))
	}
	if len(u.Version) > MaxUpdaterVersion || len(u.Target) > MaxUpdaterVersion || len(u.LastError) > MaxUpdaterError {
		return errors.New("updater: version, target or last_error too long")
	}
	if u.ProgressBytes < 0 || u.TotalBytes < 0 || u.ProgressBytes > 1<<40 || u.TotalBytes > 1<<40 {
		return errors.New("updater: progress_bytes and total_bytes must be between 0 and 1 TiB")
	}
	if len(u.BadVersions) > MaxUpdaterBadLength {
		return fmt.Errorf("updater: more than %d bad_versions", MaxUpdaterBadLength)
	}
	for _, v := range u.BadVersions {
		if v == "" || len(v) > MaxUpdaterVersion {
			return errors.New("updater: a bad version is empty or too long")
		}
	}
	return nil
}

// UpdateOffer, in a [HeartbeatResponse], is the release the terminal may
// install now: its stage of a running rollout has opened. Absent when
// there is nothing to install, or the rollout is paused, halted or
// stopped (an updater that has not started installing then waits). The
// terminal verifies the target through TUF (/tuf/v1/) before it trusts
// any of it.
type UpdateOffer struct {
	RolloutID string `json:"rollout_id"`
	Version   string `json:"version"`
	// Target is the TUF target name of the release artifact.
	Target string `json:"target"`
	// Window is when the terminal's quarter allows installing; absent:
	// any time no resident is using the terminal.
	Window *MaintenanceWindow `json:"window,omitempty"`
}

// Weekdays as MaintenanceWindow.Days names them.
var Weekdays = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// MaxWindowMinutes is the longest maintenance window.
const MaxWindowMinutes = 24 * 60

// MaintenanceWindow is when terminals of a quarter may install an update:
// on each of Days, from Start for DurationMinutes, in TimeZone's local
// time (a window may run past midnight into the next day).
type MaintenanceWindow struct {
	Days            []string `json:"days"`  // of Weekdays, e.g. ["mon","tue"]
	Start           string   `json:"start"` // "HH:MM"
	DurationMinutes int      `json:"duration_minutes"`
	TimeZone        string   `json:"time_zone"` // IANA, e.g. Europe/Berlin
}

// Validate checks the days, start, duration and time zone.
func (w *MaintenanceWindow) Validate() error {
	_, err := w.location()
	return err
}

func (w *MaintenanceWindow) location() (*time.Location, error) {
	if len(w.Days) == 0 || len(w.Days) > 7 {
		return nil, errors.New("window: days must name 1 to 7 weekdays")
	}
	for _, d := range w.Days {
		if !slices.Contains(Weekdays, d) {
			return nil, fmt.Errorf("window: day %.8q is not one of %s", d, strings.Join(Weekdays, ", "))
		}
	}
	if _, err := clockTime("start", w.Start); err != nil {
		return nil, fmt.Errorf("window: start %.8q must be HH:MM", w.Start)
	}
	if w.DurationMinutes < 1 || w.DurationMinutes > MaxWindowMinutes {
		return nil, fmt.Errorf("window: duration_minutes must be between 1 and %d", MaxWindowMinutes)
	}
	if w.TimeZone == "" || len(w.TimeZone) > 64 {
		return nil, errors.New("window: time_zone must be an IANA name such as Europe/Berlin")
	}
	loc, err := time.LoadLocation(w.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("window: time_zone %.64q: %w", w.TimeZone, err)
	}
	return loc, nil
}

// Open reports whether t falls in the window. An invalid window is never
// open.
func (w *MaintenanceWindow) Open(t time.Time) bool {
	loc, err := w.location()
	if err != nil {
		return false
	}
	start, _ := clockTime("start", w.Start)
	local := t.In(loc)
	// The window that holds t began today or, running past midnight, yesterday.
	for back := range 2 {
		day := time.Date(local.Year(), local.Month(), local.Day()-back, 0, 0, 0, 0, loc)
		if !slices.Contains(w.Days, Weekdays[day.Weekday()]) {
			continue
		}
		from := time.Date(day.Year(), day.Month(), day.Day(), int(start/time.Hour), int(start%time.Hour/time.Minute), 0, 0, loc)
		if !t.Before(from) && t.Before(from.Add(time.Duration(w.DurationMinutes)*time.Minute)) {
			return true
		}
	}
	return false
}
