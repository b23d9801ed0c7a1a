// Package mhz19sim simulates a Winsen MH-Z19B CO2 sensor: it answers read
// commands (FF 01 86 …) with the CO2 of its simulated air as calibrated,
// clipped to its detection range, and acts on ABC, zero, span and range
// commands, which — as on the real sensor — get no reply. Host bytes are
// parsed with mhz19.Scanner, so split writes and noise are handled.
//
// Calibration is a two-point line: the sensor reads
// 400 + (air − zeroAir) × gain, with zeroAir 400 and gain 1 from the
// factory. Zero calibration sets zeroAir to the current air (it now reads
// 400); span calibration to P sets gain so the current air reads P.
//
// Script commands: co2 PPM, temp C, glitch PPM, preheat DURATION.
package mhz19sim

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/quartierhub/quartierhub/drivers/mhz19"
	"github.com/quartierhub/quartierhub/drivers/sim"
)

// Opts configures the simulated sensor. Zero values take the defaults.
type Opts struct {
	// CO2 is the simulated air's true CO2 in ppm. Default 600.
	CO2 int
	// TempC is the internal temperature reported in byte 4. Default 24;
	// use SetTemp for 0 °C.
	TempC int
	// Preheat is how long after each plug reads are answered with
	// PreheatPPM, as some units do while warming up. Zero: no preheat.
	Preheat time.Duration
	// PreheatPPM is the value sent while preheating. Default 500.
	PreheatPPM int
	// Range is the initial detection range. Default 5000.
	Range int
	// ABCOff starts with automatic baseline correction off (factory: on).
	ABCOff bool
	// MaxCommands bounds the command log. Default 256.
	MaxCommands int
}

// Device is a simulated MH-Z19B. Safe for concurrent use.
type Device struct {
	opts Opts

	mu           sync.Mutex
	air          int
	temp         int
	zeroAir      int
	gain         float64
	rangePPM     int
	abc          bool
	preheatUntil time.Time
	glitch       []int // one-shot raw values for the next reads
	commands     []mhz19.Frame
	reads        int
}

// New returns a sensor with opts.
func New(opts Opts) *Device {
	if opts.CO2 == 0 {
		opts.CO2 = 600
	}
	if opts.TempC == 0 {
		opts.TempC = 24
	}
	if opts.PreheatPPM == 0 {
		opts.PreheatPPM = 500
	}
	if opts.Range == 0 {
		opts.Range = 5000
	}
	if opts.MaxCommands <= 0 {
		opts.MaxCommands = 256
	}
	return &Device{
		opts:     opts,
		air:      opts.CO2,
		temp:     opts.TempC,
		zeroAir:  400,
		gain:     1,
		rangePPM: opts.Range,
		abc:      !opts.ABCOff,
	}
}

// Name implements sim.Device.
func (d *Device) Name() string { return "mhz19" }

func (d *Device) String() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return fmt.Sprintf("mhz19sim(air %d ppm, reads %d ppm, range %d, ABC %v)", d.air, d.value(), d.rangePPM, d.abc)
}

// SetCO2 sets the simulated air's true CO2 in ppm.
func (d *Device) SetCO2(ppm int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.air = ppm
}

// SetTemp sets the internal temperature the sensor reports.
func (d *Device) SetTemp(c int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.temp = c
}

// Glitch answers the next read with ppm as is, unclipped and uncalibrated,
// like a unit sending a bogus value (0, 65535, above its range).
func (d *Device) Glitch(ppm int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.glitch = append(d.glitch, ppm)
}

// Preheat makes the sensor act as just powered: for dur, reads are
// answered with Opts.PreheatPPM.
func (d *Device) Preheat(dur time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.preheatUntil = time.Now().Add(dur)
}

// Value is what a read would answer now, ignoring preheat and glitches.
func (d *Device) Value() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.value()
}

func (d *Device) value() int {
	v := 400 + int(math.Round(float64(d.air-d.zeroAir)*d.gain))
	return max(0, min(v, d.rangePPM))
}

// ABC reports whether automatic baseline correction is on.
func (d *Device) ABC() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.abc
}

// Range returns the detection range in ppm.
func (d *Device) Range() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.rangePPM
}

// Reads counts the read commands answered (or dropped by silence).
func (d *Device) Reads() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.reads
}

// Commands returns the valid command frames received, oldest first (at
// most Opts.MaxCommands; reads included).
func (d *Device) Commands() []mhz19.Frame {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]mhz19.Frame(nil), d.commands...)
}

// Do implements sim.Device.
func (d *Device) Do(args []string) error {
	intArg := func(usage string) (int, error) {
		if len(args) != 2 {
			return 0, errors.New("usage: " + usage)
		}
		v, err := strconv.Atoi(args[1])
		if err != nil {
			return 0, fmt.Errorf("%s: %q is not a number", args[0], args[1])
		}
		return v, nil
	}
	switch args[0] {
	case "co2":
		v, err := intArg("co2 PPM")
		if err != nil {
			return err
		}
		if v < 0 || v > 100000 {
			return fmt.Errorf("co2: %d ppm: want 0…100000", v)
		}
		d.SetCO2(v)
		return nil
	case "temp":
		v, err := intArg("temp C")
		if err != nil {
			return err
		}
		if v < -40 || v > 215 {
			return fmt.Errorf("temp: %d °C: want -40…215", v)
		}
		d.SetTemp(v)
		return nil
	case "glitch":
		v, err := intArg("glitch PPM")
		if err != nil {
			return err
		}
		if v < 0 || v > 0xFFFF {
			return fmt.Errorf("glitch: %d: want 0…65535", v)
		}
		d.Glitch(v)
		return nil
	case "preheat":
		if len(args) != 2 {
			return errors.New("usage: preheat DURATION")
		}
		dur, err := time.ParseDuration(args[1])
		if err != nil {
			return fmt.Errorf("preheat: %w", err)
		}
		d.Preheat(dur)
		return nil
	}
	return fmt.Errorf("unknown command %q", args[0])
}

// Help implements sim.Device.
func (d *Device) Help() string {
	return `co2 PPM              true CO2 of the air around the sensor
temp C               internal temperature reported (byte 4 - 40)
glitch PPM           answer the next read with PPM, unclipped (bogus value)
preheat DURATION     act as just powered: answer the preheat value (500 ppm)
`
}

// Serve implements sim.Device: it answers the host's commands.
func (d *Device) Serve(ctx context.Context, l *sim.Line) error {
	if d.opts.Preheat > 0 {
		d.Preheat(d.opts.Preheat)
	}
	sc := mhz19.Scanner{Want: mhz19.SensorNumber}
	buf := make([]byte, 64)
	for ctx.Err() == nil {
		// A deadline lets Serve notice ctx even when the host is quiet.
		if err := l.SetReadDeadline(time.Now().Add(200 * time.Millisecond)); err != nil {
			return ended(ctx, err)
		}
		n, err := l.Read(buf)
		sc.Write(buf[:n])
		for {
			f, ok := sc.Next()
			if !ok {
				break
			}
			reply, ok := d.handle(f)
			if !ok {
				continue
			}
			if err := l.Send(reply[:], corrupt); err != nil {
				return ended(ctx, err)
			}
		}
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			return ended(ctx, err)
		}
	}
	return nil
}

func ended(ctx context.Context, err error) error {
	if ctx.Err() != nil || errors.Is(err, sim.ErrUnplugged) {
		return nil
	}
	return err
}

// handle acts on one command and returns the reply, if the command has one.
func (d *Device) handle(f mhz19.Frame) (mhz19.Frame, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.commands) >= d.opts.MaxCommands {
		d.commands = append(d.commands[:0], d.commands[1:]...)
	}
	d.commands = append(d.commands, f)
	switch f[2] {
	case mhz19.CmdRead:
		d.reads++
		v := d.value()
		switch {
		case len(d.glitch) > 0:
			v, d.glitch = d.glitch[0], d.glitch[1:]
		case time.Now().Before(d.preheatUntil):
			v = d.opts.PreheatPPM
		}
		return mhz19.ReadResponse(v, d.temp, 0), true
	case mhz19.CmdABC:
		switch f[3] {
		case 0xA0:
			d.abc = true
		case 0x00:
			d.abc = false
		}
	case mhz19.CmdZero:
		d.zeroAir = d.air
	case mhz19.CmdSpan:
		p := int(f[3])<<8 | int(f[4])
		// Span needs a point away from zero; a real unit's result is
		// undefined there, this one ignores it.
		if d.air != d.zeroAir {
			d.gain = float64(p-400) / float64(d.air-d.zeroAir)
		}
	case mhz19.CmdRange:
		if p := int(f[6])<<8 | int(f[7]); mhz19.ValidRange(p) {
			d.rangePPM = p
		}
	}
	return mhz19.Frame{}, false
}

// corrupt changes the checksum byte, so the frame fails the sum check.
func corrupt(f []byte) []byte {
	out := append([]byte(nil), f...)
	out[len(out)-1]++
	return out
}
