package display

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// Panel switches the screen's backlights (/sys/class/backlight/*: the
// panels of all-in-one terminals and laptops) off and on through their
// bl_power attribute. The window's user may write it because a udev rule
// of the session package gives it to the video group
// (provisioning/session/60-quartierhub-backlight.rules).
//
// A monitor on HDMI or DisplayPort has no backlight the kernel can reach:
// there Panel finds nothing and does nothing, the window shows black and
// the monitor stays on, lit, with a black picture (an LCD's backlight
// shines through it; nothing but the picture is saved). Weston 10 offers
// clients no way to put an output into DPMS standby, and DDC/CI (which
// some monitors honour) is not attempted.
type Panel struct {
	// Dir is /sys/class/backlight outside tests.
	Dir string

	mu      sync.Mutex
	want    bool
	applied *bool
}

// Present tells whether there is any backlight to switch.
func (p *Panel) Present() bool {
	entries, _ := os.ReadDir(p.Dir)
	return len(entries) > 0
}

// Set switches the backlights on or off, without waiting: the write runs
// on its own goroutine, and of several calls the last one wins.
func (p *Panel) Set(on bool, done func(error)) {
	p.mu.Lock()
	p.want = on
	p.mu.Unlock()
	go func() {
		err := p.apply()
		if done != nil {
			done(err)
		}
	}()
}

func (p *Panel) apply() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.applied != nil && *p.applied == p.want {
		return nil
	}
	entries, err := os.ReadDir(p.Dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("display: backlight: %w", err)
	}
	// FB_BLANK_UNBLANK and FB_BLANK_POWERDOWN.
	value := "4\n"
	if p.want {
		value = "0\n"
	}
	var errs []error
	for _, e := range entries {
		if err := os.WriteFile(filepath.Join(p.Dir, e.Name(), "bl_power"), []byte(value), 0); err != nil {
			errs = append(errs, fmt.Errorf("display: backlight %s: %w", e.Name(), err))
		}
	}
	if len(errs) == 0 {
		on := p.want
		p.applied = &on
	}
	return errors.Join(errs...)
}
