// Package rdm6300sim simulates an RDM6300 card reader: while a card is in
// the field it repeats the card's frame every Opts.Repeat, as the module
// does. Script commands: present UID, remove, tap UID [DURATION], noise.
package rdm6300sim

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/quartierhub/quartierhub/drivers/rdm6300"
	"github.com/quartierhub/quartierhub/drivers/sim"
)

// Opts configures the simulated reader.
type Opts struct {
	// Repeat is the interval between frames while a card is present.
	// Default 100ms.
	Repeat time.Duration
}

// Device is a simulated RDM6300. Safe for concurrent use.
type Device struct {
	opts Opts

	mu      sync.Mutex
	card    []byte    // frame of the card in the field, nil if none
	until   time.Time // zero: until removed
	wake    chan struct{}
	powerUp bool
}

// New returns a reader with no card in the field.
func New(opts Opts) *Device {
	if opts.Repeat == 0 {
		opts.Repeat = 100 * time.Millisecond
	}
	return &Device{opts: opts, wake: make(chan struct{}, 1)}
}

// Name implements sim.Device.
func (d *Device) Name() string { return "rdm6300" }

// Present puts a card (10 hex characters, e.g. "01004CA53B") in the field
// until Remove.
func (d *Device) Present(uid string) error { return d.present(uid, 0) }

// Tap presents a card for duration, then takes it away.
func (d *Device) Tap(uid string, duration time.Duration) error { return d.present(uid, duration) }

func (d *Device) present(uid string, dur time.Duration) error {
	id, err := rdm6300.ParseUID(uid)
	if err != nil {
		return err
	}
	d.mu.Lock()
	d.card = rdm6300.Encode(id)
	d.until = time.Time{}
	if dur > 0 {
		d.until = time.Now().Add(dur)
	}
	d.mu.Unlock()
	d.poke()
	return nil
}

// Remove takes the card out of the field.
func (d *Device) Remove() {
	d.mu.Lock()
	d.card = nil
	d.mu.Unlock()
	d.poke()
}

// Noise sends a burst of power-up noise (bytes that are no frame) next.
func (d *Device) Noise() {
	d.mu.Lock()
	d.powerUp = true
	d.mu.Unlock()
	d.poke()
}

func (d *Device) poke() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Do implements sim.Device.
func (d *Device) Do(args []string) error {
	switch args[0] {
	case "present":
		if len(args) != 2 {
			return errors.New("usage: present UID")
		}
		return d.Present(args[1])
	case "tap":
		if len(args) < 2 || len(args) > 3 {
			return errors.New("usage: tap UID [DURATION]")
		}
		dur := time.Second
		if len(args) == 3 {
			var err error
			if dur, err = time.ParseDuration(args[2]); err != nil {
				return fmt.Errorf("tap: %w", err)
			}
		}
		return d.Tap(args[1], dur)
	case "remove":
		d.Remove()
		return nil
	case "noise":
		d.Noise()
		return nil
	}
	return fmt.Errorf("unknown command %q", args[0])
}

// Help implements sim.Device.
func (d *Device) Help() string {
	return `present UID          card (10 hex chars) enters the field and stays
tap UID [DURATION]   card held in the field for DURATION (default 1s)
remove               card leaves the field
noise                power-up noise before the next frame
`
}

// Serve implements sim.Device: it repeats the present card's frame.
func (d *Device) Serve(ctx context.Context, l *sim.Line) error {
	t := time.NewTicker(d.opts.Repeat)
	defer t.Stop()
	for {
		d.mu.Lock()
		if d.card != nil && !d.until.IsZero() && time.Now().After(d.until) {
			d.card = nil
		}
		frame, noise := d.card, d.powerUp
		d.powerUp = false
		d.mu.Unlock()
		if noise {
			if err := l.SendRaw([]byte{0x00, 0xFF, 0x02, 0x30, 0x7F, 0x03, 0x80}); err != nil {
				return err
			}
		}
		if frame != nil {
			if err := l.Send(frame, corrupt); err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-d.wake:
		}
	}
}

// corrupt changes one checksum digit to another hex digit, so the frame
// still looks well-formed but fails the XOR check.
func corrupt(f []byte) []byte {
	out := append([]byte(nil), f...)
	if out[12] == '0' {
		out[12] = '1'
	} else {
		out[12] = '0'
	}
	return out
}
