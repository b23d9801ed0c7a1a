package updater

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// UnitStatus is what the health gate reads of a systemd unit.
type UnitStatus struct {
	// ActiveState is "active" for a Type=notify unit only after it sent
	// READY=1, so "active" is the window's READY.
	ActiveState string
	NRestarts   int
}

// ServiceManager restarts and inspects the kiosk's units.
type ServiceManager interface {
	Restart(ctx context.Context, units []string) error
	Status(ctx context.Context, unit string) (UnitStatus, error)
}

// Health reports whether the agent answers and syncs with the hub,
// running version want.
type Health interface {
	AgentHealthy(ctx context.Context, want string) error
}

// Systemctl is the ServiceManager of a real terminal.
type Systemctl struct {
	// Path of systemctl; "" means "systemctl" on PATH.
	Path string
}

func (s Systemctl) bin() string {
	if s.Path == "" {
		return "systemctl"
	}
	return s.Path
}

// Restart restarts the units and waits for the start jobs to finish.
func (s Systemctl) Restart(ctx context.Context, units []string) error {
	out, err := exec.CommandContext(ctx, s.bin(), append([]string{"restart", "--"}, units...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("updater: systemctl restart: %w: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Status reads ActiveState and NRestarts with systemctl show.
func (s Systemctl) Status(ctx context.Context, unit string) (UnitStatus, error) {
	out, err := exec.CommandContext(ctx, s.bin(), "show", "-p", "ActiveState,NRestarts", "--", unit).Output()
	if err != nil {
		return UnitStatus{}, fmt.Errorf("updater: systemctl show %s: %w", unit, err)
	}
	return parseShow(string(out))
}

func parseShow(out string) (UnitStatus, error) {
	var st UnitStatus
	for line := range strings.Lines(out) {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok {
			continue
		}
		switch k {
		case "ActiveState":
			st.ActiveState = v
		case "NRestarts":
			n, err := strconv.Atoi(v)
			if err != nil {
				return st, fmt.Errorf("updater: NRestarts %q: %w", v, err)
			}
			st.NRestarts = n
		}
	}
	if st.ActiveState == "" {
		return st, errors.New("updater: systemctl show: no ActiveState")
	}
	return st, nil
}

// TimesyncFlag is the file systemd-timesyncd creates once it has
// synchronised the clock (and removes when it loses sync); its existence
// is what timedatectl shows as "System clock synchronized: yes" on a
// Debian terminal using timesyncd. (The same fact is NTPSynchronized on
// org.freedesktop.timedate1, which asks the kernel through adjtimex.)
const TimesyncFlag = "/run/systemd/timesync/synchronized"

// ClockSynced reports whether the kernel considers the clock synchronised,
// as adjtimex's return value says (TIME_ERROR means not synchronised).
// This covers chrony and ntpd as well as timesyncd; the flag file is
// consulted too so that a terminal whose timesyncd is the source
// needs only one of them.
func ClockSynced(context.Context) (bool, error) {
	if _, err := os.Stat(TimesyncFlag); err == nil {
		return true, nil
	}
	var tx unix.Timex
	state, err := unix.Adjtimex(&tx)
	if err != nil {
		return false, fmt.Errorf("updater: adjtimex: %w", err)
	}
	return state != unix.TIME_ERROR, nil
}

// SessionLock is the file the window holds with LOCK_SH during a
// resident's session (kiosk/session.Lock; the agent creates it in its
// data directory at start).
type SessionLock struct{ Path string }

// TryExclusive takes the lock exclusively without waiting. It returns
// ok false while a session holds it; release frees it. A missing file
// is held by no one: the agent creates it before any window can attach.
// The file is opened read-only (flock needs no more), so the updater
// needs no right to write the agent's directory.
func (l SessionLock) TryExclusive() (release func(), ok bool, err error) {
	f, err := os.Open(l.Path)
	if errors.Is(err, os.ErrNotExist) {
		return func() {}, true, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("updater: session lock: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("updater: session lock: %w", err)
	}
	return func() { f.Close() }, true, nil
}

// Window is a daily maintenance window in the terminal's local time, such
// as 02:00-05:00; one that ends before it starts runs over midnight.
type Window struct {
	Start, End time.Duration // since local midnight
	Always     bool
}

// ParseWindow reads "HH:MM-HH:MM", or "always".
func ParseWindow(s string) (Window, error) {
	if s == "always" {
		return Window{Always: true}, nil
	}
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return Window{}, fmt.Errorf("updater: window %q: want HH:MM-HH:MM", s)
	}
	start, err1 := time.Parse("15:04", a)
	end, err2 := time.Parse("15:04", b)
	if err1 != nil || err2 != nil || a == b {
		return Window{}, fmt.Errorf("updater: window %q: want HH:MM-HH:MM", s)
	}
	day := func(t time.Time) time.Duration {
		return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute
	}
	return Window{Start: day(start), End: day(end)}, nil
}

// Open reports whether t lies in the window.
func (w Window) Open(t time.Time) bool {
	if w.Always {
		return true
	}
	y, m, d := t.Date()
	since := t.Sub(time.Date(y, m, d, 0, 0, 0, 0, t.Location()))
	if w.Start < w.End {
		return since >= w.Start && since < w.End
	}
	return since >= w.Start || since < w.End
}
