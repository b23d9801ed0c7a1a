// Package sdnotify tells systemd how the kiosk window is doing: READY=1
// once the first screen is on the display, and WATCHDOG=1 while the UI
// thread still runs the work it is given. It has no Fyne: the window
// passes a function that runs a callback on its UI thread (fyne.Do).
// Outside systemd (no NOTIFY_SOCKET, no WATCHDOG_USEC) it does nothing.
package sdnotify

import (
	"context"
	"fmt"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
)

// Ready tells systemd that the service has started (Type=notify units
// become active only now). Outside systemd it does nothing.
func Ready() error {
	if _, err := daemon.SdNotify(false, daemon.SdNotifyReady); err != nil {
		return fmt.Errorf("sdnotify: ready: %w", err)
	}
	return nil
}

// WatchdogInterval is how often to feed systemd's watchdog: half of the
// unit's WatchdogSec= (as systemd recommends, so one late beat is not yet
// fatal), or 0 when the watchdog is off for this process.
func WatchdogInterval() (time.Duration, error) {
	d, err := daemon.SdWatchdogEnabled(false)
	if err != nil {
		return 0, fmt.Errorf("sdnotify: watchdog: %w", err)
	}
	return d / 2, nil
}

// Feeder feeds the watchdog only while the UI thread is alive: at every
// tick it hands OnUIThread a callback, and a WATCHDOG=1 goes out only
// once that callback has run. While a callback is outstanding no new one
// is queued, so a hung UI thread stops the feeding and systemd restarts
// the window, however long the hang.
type Feeder struct {
	// OnUIThread runs f on the UI thread, later (fyne.Do). Required.
	OnUIThread func(f func())
	// Ticks delivers the feeding times; nil uses a time.Ticker of
	// interval (Run's argument). Tests pass a channel they drive.
	Ticks <-chan time.Time
	// Notify sends one state to systemd; default daemon.SdNotify.
	Notify func(state string) error
}

// Run feeds the watchdog every interval until ctx ends. An interval of
// 0 (no watchdog) returns at once.
func (f *Feeder) Run(ctx context.Context, interval time.Duration) error {
	if interval <= 0 {
		return nil
	}
	ticks := f.Ticks
	if ticks == nil {
		t := time.NewTicker(interval)
		defer t.Stop()
		ticks = t.C
	}
	notify := f.Notify
	if notify == nil {
		notify = func(state string) error {
			_, err := daemon.SdNotify(false, state)
			return err
		}
	}
	// Buffered: the UI thread never waits on this goroutine, even after
	// Run has returned.
	alive := make(chan struct{}, 1)
	pending := false
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticks:
			if pending {
				continue // the last callback has not run: the UI is stuck
			}
			pending = true
			f.OnUIThread(func() {
				select {
				case alive <- struct{}{}:
				default:
				}
			})
		case <-alive:
			pending = false
			if err := notify(daemon.SdNotifyWatchdog); err != nil {
				return fmt.Errorf("sdnotify: watchdog: %w", err)
			}
		}
	}
}
