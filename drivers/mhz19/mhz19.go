package mhz19

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/quartierhub/quartierhub/drivers/internal/mailbox"
)

// Unit is the unit of Reading.CO2.
const Unit = "ppm"

// MinPlausiblePPM is the physical floor: outdoor air holds about 420 ppm
// CO2 and occupied rooms more, never less, so a reading below 300 ppm is a
// fault or a badly drifted baseline, not air. (The sensor's own lower
// bound is 0 ppm; 0 is what some units send while broken or preheating.)
const MinPlausiblePPM = 300

var (
	// ErrNotConnected: an API call came while no session was running.
	ErrNotConnected = errors.New("mhz19: not connected")
	// ErrNoReply: the sensor did not answer a read in time.
	ErrNoReply = errors.New("no reply")
	// ErrOutOfRange marks a reading outside the physical range.
	ErrOutOfRange = errors.New("outside the physical range")
)

// ABC is what Sensor does about automatic baseline correction at the start
// of every session.
type ABC int

const (
	// ABCUnchanged leaves the sensor's setting as it is (factory: on).
	ABCUnchanged ABC = iota
	// ABCOn switches it on: right for rooms that are aired to outdoor
	// level at least once a day, as the sensor then takes the lowest value
	// of each 24 h as 400 ppm.
	ABCOn
	// ABCOff switches it off: right for rooms that are never aired fully.
	ABCOff
)

func (a ABC) String() string {
	switch a {
	case ABCUnchanged:
		return "unchanged"
	case ABCOn:
		return "on"
	case ABCOff:
		return "off"
	}
	return fmt.Sprintf("ABC(%d)", int(a))
}

// Reading is one CO2 measurement.
type Reading struct {
	// CO2 is the concentration in Unit (ppm).
	CO2  int
	Unit string
	// TempC is the sensor's internal temperature (byte 4 − 40): coarse and
	// undocumented, for diagnostics only, not room temperature.
	TempC int
	// Status is byte 5 of the reply, undocumented; kept for diagnostics.
	Status byte
	Time   time.Time
	// WarmingUp marks readings taken within Opts.WarmUp of the session
	// start: the sensor may still be preheating and its value is not
	// trustworthy (some units send a fixed 410 or 500 ppm meanwhile).
	WarmingUp bool
}

func (r Reading) String() string {
	s := fmt.Sprintf("mhz19 %d %s (sensor %d °C, status %02X) at %s", r.CO2, r.Unit, r.TempC, r.Status, r.Time.Format(time.RFC3339Nano))
	if r.WarmingUp {
		s += ", warming up"
	}
	return s
}

// Opts configures a Sensor. Zero values take the documented defaults.
type Opts struct {
	// PollInterval is the time between reads. Default 5s: the kiosk
	// aggregates per minute, and the sensor updates about every 5 s.
	PollInterval time.Duration
	// Range is the detection range in ppm, set at every session start:
	// 2000, 5000 or 10000. Default 5000, the factory setting of most units,
	// which covers badly aired rooms (> 2000) at the accuracy of ±(50 ppm
	// + 5 %). Readings above it are rejected.
	Range int
	// ABC is applied at every session start. Default ABCUnchanged.
	ABC ABC
	// WarmUp is how long after each session start readings are marked
	// WarmingUp. Default 3 min, the manual's preheat time; a new session
	// usually follows a power cycle (replug). Negative: no warm-up.
	WarmUp time.Duration
	// ReplyTimeout bounds the wait for the answer to a read. Default
	// 500ms: the answer takes 10 ms on the wire at 9600 baud.
	ReplyTimeout time.Duration
	// MaxMissed consecutive unanswered reads end the session with
	// ErrNoReply, so the port owner reports a fault and reopens. Default 3.
	MaxMissed int
	// OnReading receives every polled reading that passed the plausibility
	// check. It runs on the session goroutine: it must not block for long.
	OnReading func(Reading)
	// OnReject receives polled readings outside the physical range, with
	// the reason (wrapping ErrOutOfRange). Same rules as OnReading.
	OnReject func(Reading, error)
	// Now defaults to time.Now. It stamps readings and times the warm-up.
	Now func() time.Time
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Sensor speaks to an MH-Z19B. Create it with New, run sessions with Run and
// call its methods from any goroutine while a session runs.
type Sensor struct {
	opts Opts

	mu       sync.Mutex
	box      mailbox.Box[request, result]
	start    time.Time // of the current session
	rangePPM int
	missed   int // consecutive unanswered reads
	bad      int // frames rejected by the framer, all sessions
	rejected int // readings rejected as implausible
}

type request struct {
	cmd Frame // ReadCommand or a command without reply
}

type result struct {
	r   Reading
	err error
}

// New returns a Sensor for opts, or an error if opts.Range is not a valid
// detection range.
func New(opts Opts) (*Sensor, error) {
	if opts.PollInterval <= 0 {
		opts.PollInterval = 5 * time.Second
	}
	if opts.Range == 0 {
		opts.Range = 5000
	}
	if !ValidRange(opts.Range) {
		return nil, fmt.Errorf("mhz19: Opts.Range %d ppm: want 2000, 5000 or 10000", opts.Range)
	}
	if opts.WarmUp == 0 {
		opts.WarmUp = 3 * time.Minute
	}
	if opts.ReplyTimeout <= 0 {
		opts.ReplyTimeout = 500 * time.Millisecond
	}
	if opts.MaxMissed <= 0 {
		opts.MaxMissed = 3
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Sensor{opts: opts, rangePPM: opts.Range}, nil
}

func (s *Sensor) String() string {
	state := "idle"
	if s.box.IsOpen() {
		state = "running"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return fmt.Sprintf("mhz19.Sensor(%s, range %d ppm, ABC %s)", state, s.rangePPM, s.opts.ABC)
}

// Range returns the detection range in ppm the sensor was last set to.
func (s *Sensor) Range() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rangePPM
}

// BadFrames counts candidate frames whose checksum failed, over all sessions.
func (s *Sensor) BadFrames() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bad
}

// Rejected counts readings rejected as outside the physical range.
func (s *Sensor) Rejected() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rejected
}

// Read asks the sensor for a reading now. A reading outside the physical
// range is returned together with an error wrapping ErrOutOfRange. Read's
// readings are not passed to OnReading.
func (s *Sensor) Read(ctx context.Context) (Reading, error) {
	res := s.do(ctx, ReadCommand())
	return res.r, res.err
}

// SetABC switches automatic baseline correction on or off. The sensor
// stores the setting.
func (s *Sensor) SetABC(ctx context.Context, on bool) error {
	return s.do(ctx, ABCCommand(on)).err
}

// CalibrateZero takes the air around the sensor as 400 ppm. Use it only in
// fresh outdoor air (about 400 ppm) after the sensor ran there for at least
// 20 minutes: anything else shifts every later reading.
func (s *Sensor) CalibrateZero(ctx context.Context) error {
	return s.do(ctx, ZeroCommand()).err
}

// CalibrateSpan takes the air around the sensor as ppm (MinSpanPPM…
// MaxSpanPPM; 2000 recommended). Only after CalibrateZero, in a reference
// gas of that concentration, after at least 20 minutes.
func (s *Sensor) CalibrateSpan(ctx context.Context, ppm int) error {
	f, err := SpanCommand(ppm)
	if err != nil {
		return err
	}
	return s.do(ctx, f).err
}

// SetRange sets the detection range to 2000, 5000 or 10000 ppm for this
// session; the next session applies Opts.Range again.
func (s *Sensor) SetRange(ctx context.Context, ppm int) error {
	f, err := RangeCommand(ppm)
	if err != nil {
		return err
	}
	return s.do(ctx, f).err
}

// do hands cmd to the running session and waits for the outcome.
func (s *Sensor) do(ctx context.Context, cmd Frame) result {
	res, err := s.box.Call(ctx, request{cmd: cmd})
	switch {
	case errors.Is(err, mailbox.ErrNoSession), errors.Is(err, mailbox.ErrSessionEnded):
		return result{err: ErrNotConnected}
	case err != nil:
		return result{err: fmt.Errorf("mhz19: %w", err)}
	}
	return res
}

type aliveMarker interface{ MarkAlive() }
type flusher interface{ Flush() error }

// Run speaks to the sensor over rw until ctx ends (nil), the transport
// fails or the sensor stays silent for Opts.MaxMissed reads (a wrapped
// error). rw's Read must return within a short time even when no data
// waits, as serialport's does ((0, nil) every ~100 ms). At the start it
// sets the detection range and, if asked, ABC; then it reads every
// PollInterval and serves API calls in between.
func (s *Sensor) Run(ctx context.Context, rw io.ReadWriter) error {
	reqs, closeBox, err := s.box.Open()
	if err != nil {
		return fmt.Errorf("mhz19: Run: %w", err)
	}
	defer closeBox()
	s.mu.Lock()
	s.start = s.opts.Now()
	s.missed = 0
	s.rangePPM = s.opts.Range
	s.mu.Unlock()

	w := &wire{rw: rw, timeout: s.opts.ReplyTimeout, buf: make([]byte, 64)}
	w.alive, _ = rw.(aliveMarker)
	w.flush, _ = rw.(flusher)

	setup := []Frame{}
	if f, err := RangeCommand(s.opts.Range); err == nil {
		setup = append(setup, f)
	}
	switch s.opts.ABC {
	case ABCOn:
		setup = append(setup, ABCCommand(true))
	case ABCOff:
		setup = append(setup, ABCCommand(false))
	}
	for _, f := range setup {
		if err := w.command(ctx, f); err != nil {
			return s.end(ctx, err)
		}
	}
	s.opts.Logger.Info("mhz19 session started", "range_ppm", s.opts.Range, "abc", s.opts.ABC.String(), "poll", s.opts.PollInterval)

	t := time.NewTicker(s.opts.PollInterval)
	defer t.Stop()
	poll := true // read right away, then every PollInterval
	for {
		if poll {
			r, err := s.read(ctx, w)
			switch {
			case err == nil:
				if s.opts.OnReading != nil {
					s.opts.OnReading(r)
				}
			case errors.Is(err, ErrOutOfRange):
				if s.opts.OnReject != nil {
					s.opts.OnReject(r, err)
				}
			case errors.Is(err, ErrNoReply) && !s.hopeless():
			default:
				return s.end(ctx, err)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			poll = true
		case l := <-reqs:
			poll = false
			res := s.serve(ctx, w, l.Req)
			l.Reply(res)
			if res.err != nil && !errors.Is(res.err, ErrOutOfRange) && (!errors.Is(res.err, ErrNoReply) || s.hopeless()) {
				return s.end(ctx, res.err)
			}
		}
	}
}

// end turns a session error into Run's result: nil once ctx has ended.
func (s *Sensor) end(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	if errors.Is(err, ErrNoReply) {
		s.opts.Logger.Warn("mhz19 sensor silent", "missed", s.opts.MaxMissed)
	}
	return err
}

// hopeless reports whether MaxMissed reads in a row went unanswered.
func (s *Sensor) hopeless() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.missed >= s.opts.MaxMissed
}

// serve executes one API request on the wire.
func (s *Sensor) serve(ctx context.Context, w *wire, req request) result {
	if req.cmd[2] == CmdRead {
		r, err := s.read(ctx, w)
		return result{r, err}
	}
	if err := w.command(ctx, req.cmd); err != nil {
		return result{err: err}
	}
	switch req.cmd[2] {
	case CmdRange:
		s.mu.Lock()
		s.rangePPM = int(req.cmd[6])<<8 | int(req.cmd[7])
		s.mu.Unlock()
		s.opts.Logger.Info("mhz19 detection range set", "range_ppm", s.Range())
	case CmdZero, CmdSpan, CmdABC:
		s.opts.Logger.Info("mhz19 command sent", "command", fmt.Sprintf("%02X", req.cmd[2]))
	}
	// No reply is documented: a read shows the sensor is still alive.
	r, err := s.read(ctx, w)
	if errors.Is(err, ErrOutOfRange) {
		err = nil // alive; the value may well be odd right after calibrating
	}
	return result{r: r, err: err}
}

// read sends a read command and evaluates the reply.
func (s *Sensor) read(ctx context.Context, w *wire) (Reading, error) {
	if err := w.send(ReadCommand()); err != nil {
		return Reading{}, err
	}
	f, err := w.reply(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bad += w.sc.Bad
	w.sc.Bad = 0
	if err != nil {
		if errors.Is(err, ErrNoReply) {
			s.missed++
			err = fmt.Errorf("mhz19: read: %w (%d in a row)", err, s.missed)
		}
		return Reading{}, err
	}
	s.missed = 0
	co2, temp, status, _ := ParseReadResponse(f)
	now := s.opts.Now()
	r := Reading{
		CO2:       co2,
		Unit:      Unit,
		TempC:     temp,
		Status:    status,
		Time:      now,
		WarmingUp: now.Sub(s.start) < s.opts.WarmUp,
	}
	if reason := s.implausible(co2); reason != "" {
		s.rejected++
		return r, fmt.Errorf("mhz19: %d ppm %w: %s", co2, ErrOutOfRange, reason)
	}
	return r, nil
}

// implausible says why co2 cannot be real air, or "". Caller holds s.mu.
func (s *Sensor) implausible(co2 int) string {
	switch {
	case co2 > s.rangePPM:
		return fmt.Sprintf("above the %d ppm detection range", s.rangePPM)
	case co2 < MinPlausiblePPM:
		return fmt.Sprintf("below %d ppm, while outdoor air holds about 420 ppm", MinPlausiblePPM)
	}
	return ""
}

// wire is the session's side of the transport.
type wire struct {
	rw      io.ReadWriter
	alive   aliveMarker
	flush   flusher
	timeout time.Duration
	sc      Scanner
	buf     []byte
}

// send discards stale input and writes f.
func (w *wire) send(f Frame) error {
	if w.flush != nil {
		if err := w.flush.Flush(); err != nil {
			return fmt.Errorf("mhz19: flush: %w", err)
		}
	}
	w.sc.Reset()
	if _, err := w.rw.Write(f[:]); err != nil {
		return fmt.Errorf("mhz19: write: %w", err)
	}
	return nil
}

// commandGap is how long a command without reply is given before the next
// command. It must be on the wire before that command's flush: tarm/serial's
// Flush is TCIOFLUSH and also discards output not yet sent (9 bytes take
// 9.4 ms at 9600 baud). It also gives the sensor time to act on it.
const commandGap = 100 * time.Millisecond

// command sends f, which gets no reply, and waits commandGap.
func (w *wire) command(ctx context.Context, f Frame) error {
	if err := w.send(f); err != nil {
		return err
	}
	t := time.NewTimer(commandGap)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return fmt.Errorf("mhz19: %w", ctx.Err())
	case <-t.C:
		return nil
	}
}

// reply waits up to the reply timeout for a read response.
func (w *wire) reply(ctx context.Context) (Frame, error) {
	deadline := time.Now().Add(w.timeout)
	for {
		if f, ok := w.sc.Next(); ok {
			if w.alive != nil {
				w.alive.MarkAlive()
			}
			return f, nil
		}
		if err := ctx.Err(); err != nil {
			return Frame{}, fmt.Errorf("mhz19: %w", err)
		}
		if !time.Now().Before(deadline) {
			return Frame{}, ErrNoReply
		}
		n, err := w.rw.Read(w.buf)
		w.sc.Write(w.buf[:n])
		// A zero-byte read, with or without io.EOF, means no data yet
		// (tarm/serial's read timeout): keep waiting until the deadline.
		if err != nil && !errors.Is(err, io.EOF) {
			return Frame{}, fmt.Errorf("mhz19: read: %w", err)
		}
	}
}
