// Package pn532sim simulates an NXP PN532 NFC controller on its HSU
// interface, byte-accurate to the frames in docs/protocols.md.
//
// Model: after power-on (every Serve, i.e. every plug) the chip sleeps and
// ignores everything until it sees the wake-up byte 0x55. Awake, it parses
// host frames with pn532.Scanner, acknowledges every valid command with an
// ACK and then answers it: GetFirmwareVersion (IC 32, firmware 1.6,
// support 07), SAMConfiguration, RFConfiguration (item 05 sets
// MxRtyPassiveActivation), InListPassiveTarget (106 kbps type A) and
// InRelease; anything else gets the application error frame. Frames with a
// bad LCS or DCS are ignored, as by the chip. A host NACK makes it send its
// last response again; a host ACK aborts a command still waiting.
//
// InListPassiveTarget answers at once when a card is in the field. With an
// empty field it answers "0 targets" when MxRtyPassiveActivation is not FF;
// with FF (the power-on default, i.e. RFConfiguration was not sent) it waits
// until a card comes, as the chip does.
//
// Script commands: present UID, remove, tap UID [DURATION], noack [N],
// error [N], reset.
package pn532sim

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/quartierhub/quartierhub/drivers/pn532"
	"github.com/quartierhub/quartierhub/drivers/sim"
)

// Firmware is what the simulated chip reports: PN532, 1.6, types A, B and
// ISO 18092.
var Firmware = pn532.Firmware{IC: 0x32, Version: 1, Revision: 6, Support: 0x07}

// Opts configures the simulated PN532. There is nothing to configure yet;
// the struct keeps New's signature stable.
type Opts struct{}

// Device is a simulated PN532. Safe for concurrent use.
type Device struct {
	mu       sync.Mutex
	card     []byte    // UID in the field, nil if none
	until    time.Time // zero: until removed
	noACK    int       // commands to lose (no ACK, no answer)
	errNext  int       // commands to answer with the error frame
	reset    bool      // power cycle requested
	awake    bool
	retries  byte // MxRtyPassiveActivation
	commands []byte
	counts   [256]int
	nacks    int
	aborts   int
	wake     chan struct{}
}

// New returns a PN532 with no card in the field.
func New(Opts) *Device {
	return &Device{wake: make(chan struct{}, 1), retries: 0xFF}
}

// Name implements sim.Device.
func (d *Device) Name() string { return "pn532" }

func (d *Device) String() string { return "pn532sim.Device" }

// Present puts a card (4, 7 or 10 bytes in hex, e.g. "DEADBEEF") in the
// field until Remove.
func (d *Device) Present(uid string) error { return d.present(uid, 0) }

// Tap presents a card for duration, then takes it away.
func (d *Device) Tap(uid string, duration time.Duration) error { return d.present(uid, duration) }

func (d *Device) present(s string, dur time.Duration) error {
	uid, err := pn532.ParseUID(s)
	if err != nil {
		return err
	}
	d.mu.Lock()
	d.card, d.until = uid, time.Time{}
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

// DropACK makes the next n commands get lost on the way in: no ACK and no
// answer, so the host has to resend.
func (d *Device) DropACK(n int) {
	d.mu.Lock()
	d.noACK += n
	d.mu.Unlock()
}

// ErrorNext makes the next n commands answered (after their ACK) with the
// application error frame 00 00 FF 01 FF 7F 81 00.
func (d *Device) ErrorNext(n int) {
	d.mu.Lock()
	d.errNext += n
	d.mu.Unlock()
}

// PowerCycle makes the chip forget its configuration and sleep until the
// next wake-up, as after a brown-out.
func (d *Device) PowerCycle() {
	d.mu.Lock()
	d.reset = true
	d.mu.Unlock()
	d.poke()
}

// Awake reports whether the chip has seen a wake-up since power-on.
func (d *Device) Awake() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.awake
}

// PassiveRetries returns the MxRtyPassiveActivation in effect (FF: wait
// for a card forever).
func (d *Device) PassiveRetries() byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.retries
}

// Commands returns the codes of the last (up to 256) valid commands
// received, oldest first, including ones lost by DropACK.
func (d *Device) Commands() []byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]byte(nil), d.commands...)
}

// Received counts the valid commands with code cmd received since New,
// including ones lost by DropACK.
func (d *Device) Received(cmd byte) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.counts[cmd]
}

// Aborts counts host ACKs that aborted a command waiting for a card.
func (d *Device) Aborts() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.aborts
}

// NACKs counts NACK frames received from the host and answered.
func (d *Device) NACKs() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.nacks
}

func (d *Device) poke() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Do implements sim.Device.
func (d *Device) Do(args []string) error {
	count := func() (int, error) {
		if len(args) == 1 {
			return 1, nil
		}
		n, err := strconv.Atoi(args[1])
		if len(args) > 2 || err != nil || n < 1 {
			return 0, fmt.Errorf("usage: %s [N]", args[0])
		}
		return n, nil
	}
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
			if dur, err = time.ParseDuration(args[2]); err != nil || dur <= 0 {
				return fmt.Errorf("tap: bad duration %q", args[2])
			}
		}
		return d.Tap(args[1], dur)
	case "remove":
		if len(args) != 1 {
			return errors.New("usage: remove")
		}
		d.Remove()
		return nil
	case "noack":
		n, err := count()
		if err != nil {
			return err
		}
		d.DropACK(n)
		return nil
	case "error":
		n, err := count()
		if err != nil {
			return err
		}
		d.ErrorNext(n)
		return nil
	case "reset":
		if len(args) != 1 {
			return errors.New("usage: reset")
		}
		d.PowerCycle()
		return nil
	}
	return fmt.Errorf("unknown command %q", args[0])
}

// Help implements sim.Device.
func (d *Device) Help() string {
	return `present UID          card (4, 7 or 10 bytes hex, e.g. DEADBEEF) enters the field and stays
tap UID [DURATION]   card held in the field for DURATION (default 1s)
remove               card leaves the field
noack [N]            next N commands are lost: no ACK, no answer
error [N]            next N commands answered with the error frame
reset                power cycle: sleep until the next wake-up, forget RFConfiguration
`
}

// Serve implements sim.Device. Every Serve is a power-on.
func (d *Device) Serve(ctx context.Context, l *sim.Line) error {
	d.powerOn()
	chunks := make(chan []byte)
	readErr := make(chan error, 1)
	go func() {
		buf := make([]byte, 512)
		for {
			n, err := l.Read(buf)
			if n > 0 {
				select {
				case chunks <- append([]byte(nil), buf[:n]...):
				case <-ctx.Done():
					return
				}
			}
			if err != nil {
				readErr <- err
				return
			}
		}
	}()
	c := &chip{d: d, l: l}
	for {
		if d.takeReset() {
			d.powerOn()
			c = &chip{d: d, l: l}
		}
		expiry, stop := d.expiry()
		if err := c.cardChanged(); err != nil {
			stop()
			return quiet(err)
		}
		var err error
		select {
		case <-ctx.Done():
			stop()
			return nil
		case err = <-readErr:
		case b := <-chunks:
			err = c.received(b)
		case <-d.wake:
		case <-expiry:
		}
		stop()
		if err != nil {
			return quiet(err)
		}
	}
}

func (d *Device) takeReset() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	r := d.reset
	d.reset = false
	return r
}

// expiry takes a tapped card away when its time is up and returns a
// channel that fires when the card in the field should leave.
func (d *Device) expiry() (<-chan time.Time, func()) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.card == nil || d.until.IsZero() {
		return nil, func() {}
	}
	left := time.Until(d.until)
	if left <= 0 {
		d.card = nil
		return nil, func() {}
	}
	t := time.NewTimer(left)
	return t.C, func() { t.Stop() }
}

// quiet turns the end of the line into a normal end of Serve.
func quiet(err error) error {
	if errors.Is(err, sim.ErrUnplugged) {
		return nil
	}
	return err
}

func (d *Device) powerOn() {
	d.mu.Lock()
	d.awake, d.retries = false, 0xFF
	d.mu.Unlock()
}

// chip is the protocol state of one power-on.
type chip struct {
	d       *Device
	l       *sim.Line
	sc      pn532.Scanner
	last    []byte // last response frame, resent on NACK
	waiting bool   // InListPassiveTarget waits for a card
}

func (c *chip) received(b []byte) error {
	d := c.d
	d.mu.Lock()
	if !d.awake {
		// Asleep: only the falling edge of 0x55 wakes the chip; the bytes
		// before it are lost, the zeros after it are preamble noise.
		i := indexByte(b, 0x55)
		if i < 0 {
			d.mu.Unlock()
			return nil
		}
		d.awake = true
		b = b[i+1:]
	}
	d.mu.Unlock()
	c.sc.Write(b)
	for {
		f, ok := c.sc.Next()
		if !ok {
			return nil
		}
		if err := c.frame(f); err != nil {
			return err
		}
	}
}

func (c *chip) frame(f pn532.Frame) error {
	switch f.Kind {
	case pn532.FrameACK:
		if c.waiting { // abort (UM0701 §6.2.1.3)
			c.waiting = false
			c.d.mu.Lock()
			c.d.aborts++
			c.d.mu.Unlock()
		}
		return nil
	case pn532.FrameNACK:
		if c.last == nil {
			return nil
		}
		c.d.mu.Lock()
		c.d.nacks++
		c.d.mu.Unlock()
		return c.l.Send(c.last, corrupt)
	case pn532.FrameInfo:
	default:
		return nil
	}
	if f.TFI != pn532.HostToPN532 || len(f.Data) == 0 {
		return nil
	}
	cmd, params := f.Data[0], f.Data[1:]
	d := c.d
	d.mu.Lock()
	d.commands = append(d.commands, cmd)
	d.counts[cmd]++
	if len(d.commands) > 256 {
		d.commands = d.commands[len(d.commands)-256:]
	}
	lost := d.noACK > 0
	if lost {
		d.noACK--
	}
	fail := !lost && d.errNext > 0
	if fail {
		d.errNext--
	}
	d.mu.Unlock()
	if lost {
		return nil
	}
	// A new command replaces one still waiting for a card.
	c.waiting = false
	if err := c.l.Send(pn532.ACK(), corrupt); err != nil {
		return err
	}
	if fail {
		return c.respond(pn532.ErrorFrame())
	}
	switch cmd {
	case pn532.CmdGetFirmwareVersion:
		fw := Firmware
		return c.reply(cmd, fw.IC, fw.Version, fw.Revision, fw.Support)
	case pn532.CmdSAMConfiguration:
		if len(params) < 1 || params[0] < 1 || params[0] > 4 {
			return c.respond(pn532.ErrorFrame())
		}
		return c.reply(cmd)
	case pn532.CmdRFConfiguration:
		if len(params) < 1 {
			return c.respond(pn532.ErrorFrame())
		}
		if params[0] == 0x05 {
			if len(params) != 4 {
				return c.respond(pn532.ErrorFrame())
			}
			d.mu.Lock()
			d.retries = params[3]
			d.mu.Unlock()
		}
		return c.reply(cmd)
	case pn532.CmdInListPassiveTarget:
		if len(params) < 2 || params[0] < 1 || params[0] > 2 {
			return c.respond(pn532.ErrorFrame())
		}
		if params[1] != 0x00 {
			// Only 106 kbps type A cards live in this field.
			return c.reply(cmd, 0x00)
		}
		c.waiting = true
		return c.cardChanged()
	case pn532.CmdInRelease:
		return c.reply(cmd, 0x00)
	}
	return c.respond(pn532.ErrorFrame())
}

// cardChanged answers a pending InListPassiveTarget if it can now.
func (c *chip) cardChanged() error {
	if !c.waiting {
		return nil
	}
	c.d.mu.Lock()
	uid, retries := c.d.card, c.d.retries
	c.d.mu.Unlock()
	switch {
	case uid != nil:
		c.waiting = false
		return c.reply(pn532.CmdInListPassiveTarget, append([]byte{0x01}, pn532.TargetData(1, uid)...)...)
	case retries != 0xFF:
		c.waiting = false
		return c.reply(pn532.CmdInListPassiveTarget, 0x00)
	}
	return nil // MxRtyPassiveActivation FF: wait for a card
}

func (c *chip) reply(cmd byte, data ...byte) error {
	return c.respond(pn532.Encode(pn532.PN532ToHost, append([]byte{cmd + 1}, data...)))
}

func (c *chip) respond(frame []byte) error {
	c.last = frame
	return c.l.Send(frame, corrupt)
}

// corrupt breaks the check a receiver applies: DCS for information frames,
// the LEN/LCS pair for ACK and NACK.
func corrupt(f []byte) []byte {
	out := append([]byte(nil), f...)
	switch {
	case len(out) == 6: // ACK or NACK
		out[4]++
	case len(out) >= 2:
		out[len(out)-2]++
	}
	return out
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}
