// Package sds011sim simulates an SDS011 particulate matter sensor, byte for
// byte as docs/protocols.md describes it: active mode (a data frame every
// Opts.Interval) and query mode (a data frame per query-data command),
// sleep and work, working period, firmware 2015-07-10, device id A1 60.
//
// Reporting mode and working period survive power-off, as on the real
// sensor: they are kept across Unplug and Replug. Sleep does not: every
// plug-in starts awake. What a sleeping sensor answers is disputed by the
// sources, so it is configurable (Opts.SleepReplies); by default it answers
// commands but sends no data. In active mode a command's reply comes after
// Opts.DataBeforeReply data frames, as real sensors sometimes do.
//
// With a working period of n minutes the sensor reports in active mode once
// every n × Opts.Minute (it would sleep in between); query-data commands
// are answered regardless.
package sds011sim

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/quartierhub/quartierhub/drivers/sds011"
	"github.com/quartierhub/quartierhub/drivers/sim"
)

// SleepReplies says what a sleeping sensor answers.
type SleepReplies int

const (
	// RepliesAll: a sleeping sensor answers every command except query
	// data (it has nothing measured).
	RepliesAll SleepReplies = iota
	// RepliesNone: a sleeping sensor answers nothing; "work" wakes it
	// without a reply.
	RepliesNone
)

func (r SleepReplies) String() string {
	switch r {
	case RepliesAll:
		return "all"
	case RepliesNone:
		return "none"
	}
	return fmt.Sprintf("SleepReplies(%d)", int(r))
}

// Firmware is the firmware date the simulated sensor reports: 2015-07-10.
var Firmware = [3]byte{0x0F, 0x07, 0x0A}

// Opts configures the simulated sensor. Zero values take the defaults.
type Opts struct {
	// ID is the device id. Default 0xA160.
	ID uint16
	// Interval between data frames in active mode. Default 1s.
	Interval time.Duration
	// Minute is how long one working-period minute lasts. Default
	// time.Minute; tests shorten it.
	Minute time.Duration
	// DataBeforeReply is how many data frames precede each command reply
	// in active mode. Default 2; negative: none.
	DataBeforeReply int
	// SleepReplies: what a sleeping sensor answers. Default RepliesAll.
	SleepReplies SleepReplies
	// PM25 and PM10 are the initial values in µg/m³. Both zero: 12.3 and
	// 45.6, the protocol example (use Set for a clean-air 0.0).
	PM25, PM10 float64
}

// Device is a simulated SDS011. Safe for concurrent use.
type Device struct {
	mu       sync.Mutex
	opts     Opts
	pm25     uint16 // × 10
	pm10     uint16 // × 10
	query    bool   // reporting mode; survives power-off
	period   int    // working period in minutes; survives power-off
	asleep   bool   // does not survive power-off
	received []sds011.Command
}

// New returns a sensor in active mode, continuous, awake.
func New(opts Opts) *Device {
	if opts.ID == 0 {
		opts.ID = 0xA160
	}
	if opts.Interval <= 0 {
		opts.Interval = time.Second
	}
	if opts.Minute <= 0 {
		opts.Minute = time.Minute
	}
	if opts.DataBeforeReply == 0 {
		opts.DataBeforeReply = 2
	}
	if opts.DataBeforeReply < 0 {
		opts.DataBeforeReply = 0
	}
	if opts.PM25 == 0 && opts.PM10 == 0 {
		opts.PM25, opts.PM10 = 12.3, 45.6
	}
	d := &Device{opts: opts}
	if err := d.Set(opts.PM25, opts.PM10); err != nil {
		d.pm25, d.pm10 = 123, 456
	}
	return d
}

// Name implements sim.Device.
func (d *Device) Name() string { return "sds011" }

func (d *Device) String() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return fmt.Sprintf("sds011sim(%04X %s period=%d asleep=%v pm2.5=%d.%d pm10=%d.%d)",
		d.opts.ID, d.modeLocked(), d.period, d.asleep, d.pm25/10, d.pm25%10, d.pm10/10, d.pm10%10)
}

func (d *Device) modeLocked() sds011.Mode {
	if d.query {
		return sds011.Query
	}
	return sds011.Active
}

// encode turns µg/m³ into the wire's tenths; anything the wire can carry
// (0–6553.5) is allowed, so drivers can be tested against values beyond
// the sensor's 999.9.
func encode(v float64) (uint16, error) {
	x := math.Round(v * 10)
	if math.IsNaN(x) || x < 0 || x > math.MaxUint16 {
		return 0, fmt.Errorf("value %v µg/m³: want 0–6553.5", v)
	}
	return uint16(x), nil
}

// Set sets the values reported from now on, in µg/m³.
func (d *Device) Set(pm25, pm10 float64) error {
	a, err := encode(pm25)
	if err != nil {
		return err
	}
	b, err := encode(pm10)
	if err != nil {
		return err
	}
	d.mu.Lock()
	d.pm25, d.pm10 = a, b
	d.mu.Unlock()
	return nil
}

// SetMode sets the reporting mode as a host command would.
func (d *Device) SetMode(m sds011.Mode) {
	d.mu.Lock()
	d.query = m == sds011.Query
	d.mu.Unlock()
}

// Mode is the current reporting mode.
func (d *Device) Mode() sds011.Mode {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.modeLocked()
}

// SetAsleep puts the sensor to sleep (true) or wakes it (false).
func (d *Device) SetAsleep(on bool) {
	d.mu.Lock()
	d.asleep = on
	d.mu.Unlock()
}

// Asleep reports whether the sensor sleeps.
func (d *Device) Asleep() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.asleep
}

// SetWorkingPeriod sets the working period in minutes (0–30).
func (d *Device) SetWorkingPeriod(n int) error {
	if n < 0 || n > sds011.MaxWorkingPeriod {
		return fmt.Errorf("working period %d: want 0–%d", n, sds011.MaxWorkingPeriod)
	}
	d.mu.Lock()
	d.period = n
	d.mu.Unlock()
	return nil
}

// WorkingPeriod is the working period in minutes.
func (d *Device) WorkingPeriod() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.period
}

// SetSleepReplies chooses what a sleeping sensor answers.
func (d *Device) SetSleepReplies(r SleepReplies) {
	d.mu.Lock()
	d.opts.SleepReplies = r
	d.mu.Unlock()
}

// SetDataBeforeReply sets how many data frames precede a reply in active
// mode (0: none).
func (d *Device) SetDataBeforeReply(n int) {
	d.mu.Lock()
	d.opts.DataBeforeReply = max(n, 0)
	d.mu.Unlock()
}

// SetInterval sets the active-mode data interval.
func (d *Device) SetInterval(iv time.Duration) error {
	if iv <= 0 {
		return fmt.Errorf("interval %s: want > 0", iv)
	}
	d.mu.Lock()
	d.opts.Interval = iv
	d.mu.Unlock()
	return nil
}

// SetID sets the device id.
func (d *Device) SetID(id uint16) {
	d.mu.Lock()
	d.opts.ID = id
	d.mu.Unlock()
}

// Received returns the valid commands received so far (the last 256).
func (d *Device) Received() []sds011.Command {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]sds011.Command(nil), d.received...)
}

// Do implements sim.Device.
func (d *Device) Do(args []string) error {
	switch args[0] {
	case "set":
		if len(args) != 3 {
			return errors.New("usage: set PM25 PM10")
		}
		a, err1 := strconv.ParseFloat(args[1], 64)
		b, err2 := strconv.ParseFloat(args[2], 64)
		if err := errors.Join(err1, err2); err != nil {
			return fmt.Errorf("set: %w", err)
		}
		return d.Set(a, b)
	case "mode":
		if len(args) != 2 || (args[1] != "active" && args[1] != "query") {
			return errors.New("usage: mode active|query")
		}
		m := sds011.Active
		if args[1] == "query" {
			m = sds011.Query
		}
		d.SetMode(m)
		return nil
	case "sleep", "wake":
		if len(args) != 1 {
			return fmt.Errorf("usage: %s", args[0])
		}
		d.SetAsleep(args[0] == "sleep")
		return nil
	case "period":
		if len(args) != 2 {
			return errors.New("usage: period MINUTES")
		}
		n, err := strconv.Atoi(args[1])
		if err != nil {
			return fmt.Errorf("period: %w", err)
		}
		return d.SetWorkingPeriod(n)
	case "sleepreplies":
		if len(args) != 2 || (args[1] != "all" && args[1] != "none") {
			return errors.New("usage: sleepreplies all|none")
		}
		d.SetSleepReplies(map[string]SleepReplies{"all": RepliesAll, "none": RepliesNone}[args[1]])
		return nil
	case "replydelay":
		if len(args) != 2 {
			return errors.New("usage: replydelay N")
		}
		n, err := strconv.Atoi(args[1])
		if err != nil || n < 0 {
			return fmt.Errorf("replydelay: %q is not a count", args[1])
		}
		d.SetDataBeforeReply(n)
		return nil
	case "interval":
		if len(args) != 2 {
			return errors.New("usage: interval DURATION")
		}
		iv, err := time.ParseDuration(args[1])
		if err != nil {
			return fmt.Errorf("interval: %w", err)
		}
		return d.SetInterval(iv)
	case "id":
		if len(args) != 2 {
			return errors.New("usage: id HHHH")
		}
		id, err := strconv.ParseUint(args[1], 16, 16)
		if err != nil {
			return fmt.Errorf("id: %w", err)
		}
		d.SetID(uint16(id))
		return nil
	}
	return fmt.Errorf("unknown command %q", args[0])
}

// Help implements sim.Device.
func (d *Device) Help() string {
	return `set PM25 PM10         values in µg/m³ (wire allows 0–6553.5; above 999.9 is out of range)
mode active|query     reporting mode, as a host command would set it (survives replug)
sleep | wake          sensor sleeps (no data) / works; replug wakes it
period N              working period in minutes, 0 continuous (survives replug)
sleepreplies all|none while asleep: answer commands, or nothing ("work" still wakes)
replydelay N          data frames before each command reply in active mode (default 2)
interval DURATION     data interval in active mode (default 1s)
id HHHH               device id in hex (default A160)
`
}

// corrupt breaks the checksum the way the driver checks it.
func corrupt(f []byte) []byte {
	out := append([]byte(nil), f...)
	out[len(out)-2]++
	return out
}

// Serve implements sim.Device: it answers commands and, in active mode,
// sends data frames.
func (d *Device) Serve(ctx context.Context, l *sim.Line) error {
	defer func() {
		// Power-off (Serve ends on Unplug): sleep does not survive it.
		d.mu.Lock()
		d.asleep = false
		d.mu.Unlock()
	}()
	var sc sds011.CommandScanner
	buf := make([]byte, 64)
	next := time.Now().Add(d.interval())
	for ctx.Err() == nil {
		wait := min(time.Until(next), 50*time.Millisecond)
		if err := l.SetReadDeadline(time.Now().Add(max(wait, time.Millisecond))); err != nil {
			return quiet(ctx, err)
		}
		n, err := l.Read(buf)
		if n > 0 {
			sc.Write(buf[:n])
			for {
				c, ok := sc.Next()
				if !ok {
					break
				}
				if err := d.handle(l, c); err != nil {
					return quiet(ctx, err)
				}
			}
		}
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			return quiet(ctx, err)
		}
		if !time.Now().Before(next) {
			if f, ok := d.activeFrame(); ok {
				if err := l.Send(f, corrupt); err != nil {
					return quiet(ctx, err)
				}
			}
			next = time.Now().Add(d.interval())
		}
	}
	return nil
}

// quiet turns the end of the line into a normal end of Serve.
func quiet(ctx context.Context, err error) error {
	if ctx.Err() != nil || errors.Is(err, sim.ErrUnplugged) || errors.Is(err, os.ErrClosed) {
		return nil
	}
	return err
}

func (d *Device) interval() time.Duration {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.period > 0 {
		return time.Duration(d.period) * d.opts.Minute
	}
	return d.opts.Interval
}

func (d *Device) dataLocked() []byte {
	return sds011.DataFrame(d.pm25, d.pm10, d.opts.ID).Bytes()
}

// activeFrame is the periodic data frame, if the sensor sends one now.
func (d *Device) activeFrame() ([]byte, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.query || d.asleep {
		return nil, false
	}
	return d.dataLocked(), true
}

// handle executes one command and sends what the sensor would send.
func (d *Device) handle(l *sim.Line, c sds011.Command) error {
	d.mu.Lock()
	if len(d.received) >= 256 {
		d.received = d.received[1:]
	}
	d.received = append(d.received, c)
	out, err := d.answerLocked(c)
	d.mu.Unlock()
	if err != nil {
		return err
	}
	for _, f := range out {
		if err := l.Send(f, corrupt); err != nil {
			return err
		}
	}
	return nil
}

// answerLocked applies c and returns the frames to send, in order.
func (d *Device) answerLocked(c sds011.Command) ([][]byte, error) {
	id := d.opts.ID
	if c.ID != sds011.AnyID && c.ID != id {
		return nil, nil // addressed to another sensor
	}
	d1, d2 := c.Data[0], c.Data[1]
	isWork := c.Cmd == sds011.CmdSleepWork && d1 == 1 && d2 == 1
	if d.asleep && d.opts.SleepReplies == RepliesNone {
		if isWork {
			d.asleep = false
		}
		return nil, nil
	}
	var reply sds011.Frame
	switch c.Cmd {
	case sds011.CmdReportingMode:
		if d1 == 1 {
			d.query = d2 != 0
		}
		reply = sds011.ReplyFrame(c.Cmd, d1, b2u(d.query), 0, id)
	case sds011.CmdQueryData:
		if d.asleep {
			return nil, nil
		}
		return [][]byte{d.dataLocked()}, nil
	case sds011.CmdDeviceID:
		d.opts.ID = uint16(c.Data[10])<<8 | uint16(c.Data[11])
		reply = sds011.ReplyFrame(c.Cmd, 0, 0, 0, d.opts.ID)
	case sds011.CmdSleepWork:
		if d1 == 1 {
			d.asleep = d2 == 0
		}
		reply = sds011.ReplyFrame(c.Cmd, d1, b2u(!d.asleep), 0, id)
	case sds011.CmdFirmware:
		reply = sds011.ReplyFrame(c.Cmd, Firmware[0], Firmware[1], Firmware[2], id)
	case sds011.CmdWorkingPeriod:
		if d1 == 1 && int(d2) <= sds011.MaxWorkingPeriod {
			d.period = int(d2)
		}
		reply = sds011.ReplyFrame(c.Cmd, d1, byte(d.period), 0, id)
	default:
		return nil, nil // unknown commands go unanswered
	}
	var out [][]byte
	if !d.query && !d.asleep {
		for range d.opts.DataBeforeReply {
			out = append(out, d.dataLocked())
		}
	}
	return append(out, reply.Bytes()), nil
}

func b2u(b bool) byte {
	if b {
		return 1
	}
	return 0
}
