package sds011

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

// Unit is the unit of every reading.
const Unit = "µg/m³"

// MaxValue is the top of the sensor's measuring range in µg/m³ (the wire
// can carry up to 6553.5).
const MaxValue = 999.9

// KeepWorkingPeriod as Opts.WorkingPeriod leaves the sensor's stored working
// period alone (the driver asks for it instead).
const KeepWorkingPeriod = -1

// MaxWorkingPeriod is the longest working period in minutes.
const MaxWorkingPeriod = 30

// minQueryInterval is Nova's "no faster than every 3 s"; a variable only so
// tests can poll faster.
var minQueryInterval = 3 * time.Second

var (
	// ErrNotConnected: an API call was made while no session runs.
	ErrNotConnected = errors.New("no session running")
	// ErrNoReply: the sensor did not answer a command in time.
	ErrNoReply = errors.New("no reply")
	// ErrSilent: the awake sensor sent no valid frame for Opts.Silence.
	ErrSilent = errors.New("no valid frame from sensor")
	// ErrOutOfRange: a value beyond the sensor's 0.0–999.9 µg/m³.
	ErrOutOfRange = errors.New("value outside the sensor's range")
	// ErrImplausible: PM2.5 above PM10, which real air cannot produce.
	ErrImplausible = errors.New("pm2.5 above pm10")
)

// Mode is the sensor's reporting mode.
type Mode int

const (
	// Active: the sensor sends a data frame about every second (factory
	// default).
	Active Mode = iota
	// Query: the sensor sends a data frame only when asked.
	Query
)

func (m Mode) String() string {
	switch m {
	case Active:
		return "active"
	case Query:
		return "query"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// Reading is one measurement.
type Reading struct {
	PM25, PM10 float64 // µg/m³
	Unit       string  // always Unit
	DeviceID   uint16  // e.g. 0xA160
	Time       time.Time
	// WarmingUp: taken within Opts.WarmUp of the sensor waking; the value
	// may not have settled yet.
	WarmingUp bool
}

func (r Reading) String() string {
	s := fmt.Sprintf("sds011 %04X pm2.5 %.1f %s pm10 %.1f %s at %s", r.DeviceID, r.PM25, r.Unit, r.PM10, r.Unit, r.Time.Format(time.RFC3339Nano))
	if r.WarmingUp {
		s += " (warming up)"
	}
	return s
}

// Rejection is a data frame that arrived intact (checksum right) but whose
// values cannot be real.
type Rejection struct {
	// Reading holds the values as sent.
	Reading Reading
	// Err says why; it wraps ErrOutOfRange or ErrImplausible.
	Err error
}

func (r Rejection) String() string {
	return fmt.Sprintf("sds011 rejected pm2.5 %.1f pm10 %.1f at %s: %v", r.Reading.PM25, r.Reading.PM10, r.Reading.Time.Format(time.RFC3339Nano), r.Err)
}

// Version is the firmware date the sensor reports.
type Version struct{ Year, Month, Day int }

func (v Version) String() string { return fmt.Sprintf("%04d-%02d-%02d", v.Year, v.Month, v.Day) }

// Opts configures a Sensor. Zero values take the documented defaults.
type Opts struct {
	// Mode is the reporting mode set at every session start. Default
	// Active (see the package documentation for why the kiosk uses Query).
	Mode Mode
	// QueryInterval is the polling period in query mode. Default and
	// minimum 3s: Nova asks not to poll faster.
	QueryInterval time.Duration
	// WorkingPeriod in minutes (0–30) is set at every session start:
	// 0 (default) means continuous measuring, n means the sensor sleeps and
	// reports once every n minutes. KeepWorkingPeriod leaves it alone.
	WorkingPeriod int
	// WarmUp: readings within this time after a session start or a Wake
	// are marked WarmingUp. Default 30s; negative: never marked.
	WarmUp time.Duration
	// ReplyTimeout bounds the wait for a command's reply. Default 1.5s.
	ReplyTimeout time.Duration
	// Silence: Run fails with ErrSilent when the awake sensor sends no valid
	// frame this long. Default 5s in active mode and three missed queries
	// (3 × QueryInterval + ReplyTimeout) in query mode, plus the working
	// period when one is set.
	Silence time.Duration
	// OnReading receives every accepted reading, on the session goroutine:
	// it must not block for long.
	OnReading func(Reading)
	// OnReject receives every rejected data frame, on the session
	// goroutine. When nil, rejections are logged as warnings.
	OnReject func(Rejection)
	// Now stamps readings and measures warm-up. Default time.Now. Wire
	// timeouts use the real clock, since they pace real I/O.
	Now func() time.Time
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Sensor speaks to one SDS011. Create it with New; Run is its session.
// The API methods may be called from any goroutine while Run runs.
type Sensor struct {
	opts Opts

	mu         sync.Mutex
	mode       Mode // wanted reporting mode: Opts.Mode, then SetMode
	wantPeriod int  // set at session start: Opts.WorkingPeriod, then SetWorkingPeriod
	period     int  // minutes, as last set or reported; KeepWorkingPeriod: unknown
	awake      bool // false after Sleep, until Wake
	wokeAt     time.Time
	id         uint16
	last       Reading
	haveLast   bool
	rejected   int
	bad        int
	box        mailbox.Box[request, result]
}

// New returns a Sensor with opts.
func New(opts Opts) *Sensor {
	if opts.QueryInterval < minQueryInterval {
		opts.QueryInterval = minQueryInterval
	}
	if opts.WorkingPeriod > MaxWorkingPeriod {
		opts.WorkingPeriod = MaxWorkingPeriod
	}
	if opts.WorkingPeriod < 0 {
		opts.WorkingPeriod = KeepWorkingPeriod
	}
	if opts.WarmUp == 0 {
		opts.WarmUp = 30 * time.Second
	}
	if opts.ReplyTimeout <= 0 {
		opts.ReplyTimeout = 1500 * time.Millisecond
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Sensor{opts: opts, mode: opts.Mode, wantPeriod: opts.WorkingPeriod, period: opts.WorkingPeriod, awake: true}
}

func (s *Sensor) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	state := "awake"
	if !s.awake {
		state = "asleep"
	}
	return fmt.Sprintf("sds011.Sensor(%s mode, %s)", s.mode, state)
}

// Last returns the latest accepted reading, if any.
func (s *Sensor) Last() (Reading, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last, s.haveLast
}

// Rejected counts data frames rejected for their values.
func (s *Sensor) Rejected() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rejected
}

// BadFrames counts frames rejected on the wire (wrong tail or checksum).
func (s *Sensor) BadFrames() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bad
}

// Awake reports whether the driver considers the sensor awake.
func (s *Sensor) Awake() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.awake
}

type request struct {
	cmd   Command
	match func(Frame) bool
}

type result struct {
	f   Frame
	err error
}

func matchReply(cmd byte) func(Frame) bool {
	return func(f Frame) bool { return f.IsReplyTo(cmd) }
}

// matchSet matches the reply to a "set" command (d1 = 1) with value v.
func matchSet(cmd, v byte) func(Frame) bool {
	return func(f Frame) bool { return f.IsReplyTo(cmd) && f.Payload[1] == 1 && f.Payload[2] == v }
}

// matchGet matches the reply to a "get" command (d1 = 0).
func matchGet(cmd byte) func(Frame) bool {
	return func(f Frame) bool { return f.IsReplyTo(cmd) && f.Payload[1] == 0 }
}

// do passes a command to the running session and waits for its reply.
func (s *Sensor) do(ctx context.Context, cmd Command, match func(Frame) bool) (Frame, error) {
	res, err := s.box.Call(ctx, request{cmd: cmd, match: match})
	switch {
	case errors.Is(err, mailbox.ErrNoSession):
		return Frame{}, fmt.Errorf("sds011: %w", ErrNotConnected)
	case errors.Is(err, mailbox.ErrSessionEnded):
		return Frame{}, fmt.Errorf("sds011: %s: session ended: %w", cmdName(cmd.Cmd), ErrNotConnected)
	case err != nil:
		return Frame{}, fmt.Errorf("sds011: %s: %w", cmdName(cmd.Cmd), err)
	}
	return res.f, res.err
}

// Sleep stops fan and laser. The driver then stops polling and expects no
// frames until Wake; later sessions keep the sensor asleep.
func (s *Sensor) Sleep(ctx context.Context) error {
	_, err := s.do(ctx, NewCommand(CmdSleepWork, 1, 0), matchSet(CmdSleepWork, 0))
	return err
}

// Wake starts fan and laser; readings in the next Opts.WarmUp are marked
// warming up. A sleeping sensor may not answer, so Wake does not depend on
// the reply: silence detection tells whether the sensor really works.
func (s *Sensor) Wake(ctx context.Context) error {
	_, err := s.do(ctx, NewCommand(CmdSleepWork, 1, 1), matchSet(CmdSleepWork, 1))
	if errors.Is(err, ErrNoReply) {
		return nil
	}
	return err
}

// SetMode sets the reporting mode, for this and later sessions.
func (s *Sensor) SetMode(ctx context.Context, m Mode) error {
	if m != Active && m != Query {
		return fmt.Errorf("sds011: set mode: unknown %s", m)
	}
	_, err := s.do(ctx, NewCommand(CmdReportingMode, 1, byte(m)), matchSet(CmdReportingMode, byte(m)))
	return err
}

// ReportingMode asks the sensor for its reporting mode.
func (s *Sensor) ReportingMode(ctx context.Context) (Mode, error) {
	f, err := s.do(ctx, NewCommand(CmdReportingMode, 0, 0), matchGet(CmdReportingMode))
	if err != nil {
		return 0, err
	}
	if f.Payload[2] == 0 {
		return Active, nil
	}
	return Query, nil
}

// SetWorkingPeriod sets the working period in minutes (0 = continuous,
// 1–30 = report once every n minutes, sleeping in between), for this and
// later sessions.
func (s *Sensor) SetWorkingPeriod(ctx context.Context, minutes int) error {
	if minutes < 0 || minutes > MaxWorkingPeriod {
		return fmt.Errorf("sds011: working period %d min: want 0–%d", minutes, MaxWorkingPeriod)
	}
	_, err := s.do(ctx, NewCommand(CmdWorkingPeriod, 1, byte(minutes)), matchSet(CmdWorkingPeriod, byte(minutes)))
	return err
}

// WorkingPeriod asks the sensor for its working period in minutes.
func (s *Sensor) WorkingPeriod(ctx context.Context) (int, error) {
	f, err := s.do(ctx, NewCommand(CmdWorkingPeriod, 0, 0), matchGet(CmdWorkingPeriod))
	if err != nil {
		return 0, err
	}
	return int(f.Payload[2]), nil
}

// Firmware asks the sensor for its firmware date.
func (s *Sensor) Firmware(ctx context.Context) (Version, error) {
	f, err := s.do(ctx, NewCommand(CmdFirmware, 0, 0), matchReply(CmdFirmware))
	if err != nil {
		return Version{}, err
	}
	return Version{Year: 2000 + int(f.Payload[1]), Month: int(f.Payload[2]), Day: int(f.Payload[3])}, nil
}

type aliveMarker interface{ MarkAlive() }

// Run is the session: it wakes the sensor, sets reporting mode and working
// period, then reads (active mode) or polls (query mode) until ctx ends
// (nil) or the transport fails or the sensor falls silent (an error). rw's
// Read may return (0, nil) when no data is waiting, as serialport's does
// every read timeout; Run relies on reads returning that way to serve API
// calls and notice timeouts.
func (s *Sensor) Run(ctx context.Context, rw io.ReadWriter) error {
	reqs, closeBox, err := s.box.Open()
	if err != nil {
		return fmt.Errorf("sds011: Run: %w", err)
	}
	defer closeBox()

	ss := &session{s: s, rw: rw, buf: make([]byte, 128), lastValid: time.Now()}
	ss.alive, _ = rw.(aliveMarker)
	err = ss.run(ctx, reqs)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// session is one Run: it alone touches the wire.
type session struct {
	s         *Sensor
	rw        io.ReadWriter
	alive     aliveMarker
	sc        Scanner
	buf       []byte
	lastValid time.Time // real clock
	nextPoll  time.Time
	polling   bool
}

func (ss *session) run(ctx context.Context, reqs <-chan mailbox.Letter[request, result]) error {
	if err := ss.start(ctx); err != nil {
		return err
	}
	for ctx.Err() == nil {
		mode, awake := ss.state()
		if awake {
			if quiet, limit := time.Since(ss.lastValid), ss.silence(); quiet > limit {
				return fmt.Errorf("sds011: %w for %s", ErrSilent, limit.Round(time.Millisecond))
			}
		}
		select {
		case l := <-reqs:
			if err := ss.serve(ctx, l); err != nil {
				return err
			}
			continue
		default:
		}
		if mode == Query && awake {
			if !ss.polling {
				ss.polling, ss.nextPoll = true, time.Now()
			}
			if !time.Now().Before(ss.nextPoll) {
				ss.nextPoll = time.Now().Add(ss.s.opts.QueryInterval)
				if _, _, err := ss.exchange(ctx, NewCommand(CmdQueryData, 0, 0), Frame.IsData); err != nil {
					return err
				}
				continue
			}
		} else {
			ss.polling = false
		}
		f, ok, err := ss.next()
		if err != nil {
			return err
		}
		if ok {
			if f.IsData() {
				ss.deliver(f)
			} else {
				ss.s.opts.Logger.Debug("sds011: unsolicited reply", "reply", f.String())
			}
		}
	}
	return nil
}

// start states what the driver wants, whatever the sensor remembers.
func (ss *session) start(ctx context.Context) error {
	s := ss.s
	log := s.opts.Logger
	s.mu.Lock()
	awake, mode, period := s.awake, s.mode, s.wantPeriod
	s.mu.Unlock()

	if awake {
		// Waking: the reply is disputed for a sleeping sensor, so a data
		// frame will do as well, and nothing is fine too.
		s.mu.Lock()
		s.wokeAt = s.opts.Now()
		s.mu.Unlock()
		working := matchSet(CmdSleepWork, 1)
		if _, _, err := ss.exchange(ctx, NewCommand(CmdSleepWork, 1, 1), func(f Frame) bool { return f.IsData() || working(f) }); err != nil {
			return err
		}
	} else if err := ss.command(ctx, NewCommand(CmdSleepWork, 1, 0), matchSet(CmdSleepWork, 0)); err != nil {
		return err
	}
	if err := ss.command(ctx, NewCommand(CmdReportingMode, 1, byte(mode)), matchSet(CmdReportingMode, byte(mode))); err != nil {
		return err
	}
	if period == KeepWorkingPeriod {
		if err := ss.command(ctx, NewCommand(CmdWorkingPeriod, 0, 0), matchGet(CmdWorkingPeriod)); err != nil {
			return err
		}
	} else if err := ss.command(ctx, NewCommand(CmdWorkingPeriod, 1, byte(period)), matchSet(CmdWorkingPeriod, byte(period))); err != nil {
		return err
	}
	s.mu.Lock()
	log.Info("sds011: session started", "mode", s.mode.String(), "working_period_min", s.period, "awake", s.awake)
	s.mu.Unlock()
	return nil
}

// command is a start-up exchange: a missing reply is logged, not fatal —
// silence detection decides whether the sensor is there at all.
func (ss *session) command(ctx context.Context, cmd Command, match func(Frame) bool) error {
	_, ok, err := ss.exchange(ctx, cmd, match)
	if err == nil && !ok && ctx.Err() == nil {
		ss.s.opts.Logger.Warn("sds011: no reply at session start", "command", cmdName(cmd.Cmd), "timeout", ss.s.opts.ReplyTimeout)
	}
	return err
}

// serve runs one API request on the wire.
func (ss *session) serve(ctx context.Context, l mailbox.Letter[request, result]) error {
	r := l.Req
	f, ok, err := ss.exchange(ctx, r.cmd, r.match)
	switch {
	case err != nil:
		l.Reply(result{err: err})
		return err
	case !ok && ctx.Err() != nil:
		l.Reply(result{err: fmt.Errorf("sds011: %s: %w", cmdName(r.cmd.Cmd), ctx.Err())})
	case !ok:
		if r.cmd.Cmd == CmdSleepWork && r.cmd.Data[0] == 1 && r.cmd.Data[1] == 1 {
			ss.woke() // "work" counts even unanswered
		}
		l.Reply(result{err: fmt.Errorf("sds011: %s: %w within %s", cmdName(r.cmd.Cmd), ErrNoReply, ss.s.opts.ReplyTimeout)})
	default:
		l.Reply(result{f: f})
	}
	return nil
}

// exchange sends cmd and reads until a frame matching match arrives (ok),
// delivering data frames on the way, or until the reply timeout (!ok).
// err is a transport failure.
func (ss *session) exchange(ctx context.Context, cmd Command, match func(Frame) bool) (Frame, bool, error) {
	if _, err := ss.rw.Write(cmd.Bytes()); err != nil {
		return Frame{}, false, fmt.Errorf("sds011: write %s: %w", cmdName(cmd.Cmd), err)
	}
	deadline := time.Now().Add(ss.s.opts.ReplyTimeout)
	for ctx.Err() == nil && time.Now().Before(deadline) {
		f, ok, err := ss.next()
		if err != nil {
			return Frame{}, false, err
		}
		if !ok {
			continue
		}
		if f.IsData() {
			ss.deliver(f)
		}
		if match(f) {
			ss.apply(f)
			return f, true, nil
		}
		if !f.IsData() {
			ss.s.opts.Logger.Debug("sds011: unexpected reply", "waiting_for", cmdName(cmd.Cmd), "reply", f.String())
		}
	}
	return Frame{}, false, nil
}

// next returns the next valid frame, reading at most once; !ok means the
// read brought no whole frame.
func (ss *session) next() (Frame, bool, error) {
	if f, ok := ss.sc.Next(); ok {
		ss.seen(f)
		return f, true, nil
	}
	n, err := ss.rw.Read(ss.buf)
	if n > 0 {
		ss.sc.Write(ss.buf[:n])
	}
	if err != nil {
		return Frame{}, false, fmt.Errorf("sds011: read: %w", err)
	}
	f, ok := ss.sc.Next()
	if ok {
		ss.seen(f)
	}
	ss.s.mu.Lock()
	ss.s.bad = ss.sc.Bad()
	ss.s.mu.Unlock()
	return f, ok, nil
}

func (ss *session) seen(f Frame) {
	ss.lastValid = time.Now()
	if ss.alive != nil {
		ss.alive.MarkAlive()
	}
	ss.s.mu.Lock()
	ss.s.id = f.ID
	ss.s.mu.Unlock()
}

// apply records what a matched reply says about the sensor's state.
func (ss *session) apply(f Frame) {
	if f.Kind != KindReply {
		return
	}
	s := ss.s
	set, v := f.Payload[1] == 1, f.Payload[2]
	switch f.Payload[0] {
	case CmdReportingMode:
		if set {
			s.mu.Lock()
			s.mode = Active
			if v != 0 {
				s.mode = Query
			}
			s.mu.Unlock()
		}
	case CmdSleepWork:
		if set && v == 0 {
			s.mu.Lock()
			changed := s.awake
			s.awake = false
			s.mu.Unlock()
			if changed {
				s.opts.Logger.Info("sds011: sensor asleep")
			}
		} else if set {
			ss.woke()
		}
	case CmdWorkingPeriod:
		s.mu.Lock()
		s.period = int(v)
		if set {
			s.wantPeriod = int(v)
		}
		s.mu.Unlock()
	}
}

// woke marks the sensor awake; coming from sleep, warm-up and the silence
// clock start over.
func (ss *session) woke() {
	s := ss.s
	s.mu.Lock()
	was := s.awake
	s.awake = true
	if !was {
		s.wokeAt = s.opts.Now()
	}
	s.mu.Unlock()
	if !was {
		ss.lastValid = time.Now()
		ss.polling = false
		s.opts.Logger.Info("sds011: sensor awake")
	}
}

func (ss *session) state() (Mode, bool) {
	ss.s.mu.Lock()
	defer ss.s.mu.Unlock()
	return ss.s.mode, ss.s.awake
}

func (ss *session) silence() time.Duration {
	o := ss.s.opts
	if o.Silence > 0 {
		return o.Silence
	}
	ss.s.mu.Lock()
	mode, period := ss.s.mode, ss.s.period
	ss.s.mu.Unlock()
	d := 5 * time.Second
	if mode == Query {
		d = 3*o.QueryInterval + o.ReplyTimeout
	}
	if period > 0 {
		d += time.Duration(period) * time.Minute
	}
	return d
}

// deliver checks a data frame's values and hands it on as a reading or a
// rejection.
func (ss *session) deliver(f Frame) {
	s := ss.s
	now := s.opts.Now()
	s.mu.Lock()
	warming := s.opts.WarmUp > 0 && now.Sub(s.wokeAt) < s.opts.WarmUp
	s.mu.Unlock()
	r := Reading{
		PM25:      float64(f.PM25x10()) / 10,
		PM10:      float64(f.PM10x10()) / 10,
		Unit:      Unit,
		DeviceID:  f.ID,
		Time:      now,
		WarmingUp: warming,
	}
	if err := check(f); err != nil {
		rej := Rejection{Reading: r, Err: err}
		s.mu.Lock()
		s.rejected++
		s.mu.Unlock()
		if s.opts.OnReject != nil {
			s.opts.OnReject(rej)
		} else {
			s.opts.Logger.Warn("sds011: reading rejected", "pm25", r.PM25, "pm10", r.PM10, "err", err)
		}
		return
	}
	s.mu.Lock()
	s.last, s.haveLast = r, true
	s.mu.Unlock()
	if s.opts.OnReading != nil {
		s.opts.OnReading(r)
	}
}

// check rejects values the sensor cannot measure.
func check(f Frame) error {
	const limit = MaxValue * 10
	pm25, pm10 := f.PM25x10(), f.PM10x10()
	if pm25 > limit {
		return fmt.Errorf("sds011: pm2.5 %d.%d %s: %w (0.0–%.1f)", pm25/10, pm25%10, Unit, ErrOutOfRange, MaxValue)
	}
	if pm10 > limit {
		return fmt.Errorf("sds011: pm10 %d.%d %s: %w (0.0–%.1f)", pm10/10, pm10%10, Unit, ErrOutOfRange, MaxValue)
	}
	if pm25 > pm10 {
		return fmt.Errorf("sds011: %w (%d.%d > %d.%d %s)", ErrImplausible, pm25/10, pm25%10, pm10/10, pm10%10, Unit)
	}
	return nil
}
