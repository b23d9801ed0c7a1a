// Package serialport owns serial ports: it opens a port by its configured path
// (typically a udev symlink such as /dev/quartierhub/printer), hands it to a
// driver session, detects loss, reopens with exponential backoff and publishes
// state changes as timestamped events.
//
// Drivers never see this package's types: a session receives an io.ReadWriter.
// The ReadWriter it receives additionally has MarkAlive (the driver saw a
// valid frame) and Flush (discard pending input), which drivers use through
// small interfaces of their own when present.
//
// Loss on Linux is subtle (tarm/serial issues #100, #116, #128): a read timeout
// returns (0, io.EOF), and an unplugged USB adapter keeps returning that
// instead of failing. So loss is detected three ways: a failed write or read,
// the device node disappearing or changing under the configured path, and
// silence (no valid frame for Opts.SilenceTimeout), which is reported as a
// fault because the port itself may still be fine.
package serialport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tarm/serial"
)

// State is the health of a port as its owner sees it.
type State int

const (
	// StateClosed: not opened yet.
	StateClosed State = iota
	// StateConnected: opened for the first time.
	StateConnected
	// StateLost: the port failed or vanished; the owner is reopening it.
	StateLost
	// StateRecovered: the port was reopened after a loss, or the device sent
	// valid frames again after a fault.
	StateRecovered
	// StateFault: the port is open but the device is silent or misbehaving.
	StateFault
)

func (s State) String() string {
	switch s {
	case StateClosed:
		return "closed"
	case StateConnected:
		return "connected"
	case StateLost:
		return "lost"
	case StateRecovered:
		return "recovered"
	case StateFault:
		return "fault"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// Healthy reports whether the device is usable in this state.
func (s State) Healthy() bool { return s == StateConnected || s == StateRecovered }

// Event is one state change of a port.
type Event struct {
	Time  time.Time
	Path  string
	State State
	// Err says why, for StateLost and StateFault.
	Err error
}

func (e Event) String() string {
	if e.Err != nil {
		return fmt.Sprintf("%s %s %s: %v", e.Time.Format(time.RFC3339Nano), e.Path, e.State, e.Err)
	}
	return fmt.Sprintf("%s %s %s", e.Time.Format(time.RFC3339Nano), e.Path, e.State)
}

// ErrSilent is the cause of a fault when no valid frame arrived in time.
var ErrSilent = errors.New("no valid frame from device")

// ErrNodeGone is the cause of a loss when the device node disappeared or now
// points to another device.
var ErrNodeGone = errors.New("device node vanished")

// Opener opens the port at path. The default opens it with tarm/serial, 8N1.
type Opener func(path string, baud int, readTimeout time.Duration) (io.ReadWriteCloser, error)

// Opts configures a Port. Zero values take the documented defaults.
type Opts struct {
	// Path is the configured device path. Required.
	Path string
	// Baud defaults to 9600.
	Baud int
	// ReadTimeout bounds one read so sessions can notice cancellation.
	// Default 100ms, which is also tarm/serial's granularity (VTIME).
	ReadTimeout time.Duration
	// SilenceTimeout: with no MarkAlive for this long while open, the port
	// is reported as faulty (ErrSilent). Zero disables it, as for
	// transmit-only card readers that are legitimately quiet.
	SilenceTimeout time.Duration
	// MinBackoff and MaxBackoff bound the exponential reopen backoff.
	// Defaults 100ms and 2s, so a replugged device is back within seconds.
	MinBackoff, MaxBackoff time.Duration
	// WatchPeriod is how often the device node is checked. Default 250ms.
	WatchPeriod time.Duration
	// OnEvent receives every state change, in order, from the goroutine
	// that caused it. It must not block. Optional.
	OnEvent func(Event)
	// Now defaults to time.Now.
	Now func() time.Time
	// Open defaults to tarm/serial.
	Open Opener
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

func (o *Opts) setDefaults() {
	if o.Baud == 0 {
		o.Baud = 9600
	}
	if o.ReadTimeout == 0 {
		o.ReadTimeout = 100 * time.Millisecond
	}
	if o.MinBackoff == 0 {
		o.MinBackoff = 100 * time.Millisecond
	}
	if o.MaxBackoff == 0 {
		o.MaxBackoff = 2 * time.Second
	}
	if o.WatchPeriod == 0 {
		o.WatchPeriod = 250 * time.Millisecond
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Open == nil {
		o.Open = OpenTarm
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// OpenTarm opens path with tarm/serial at baud, 8N1.
func OpenTarm(path string, baud int, readTimeout time.Duration) (io.ReadWriteCloser, error) {
	p, err := serial.OpenPort(&serial.Config{Name: path, Baud: baud, ReadTimeout: readTimeout})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// Session speaks a device protocol over rw until ctx ends or it fails.
// A driver's Run method is a Session.
type Session func(ctx context.Context, rw io.ReadWriter) error

// Port owns one serial port. Create it with New, then call Run.
type Port struct {
	opts Opts

	mu    sync.Mutex // serialises state changes and OnEvent calls
	state State
	err   error
}

// New returns a Port for opts. It does not open anything yet.
func New(opts Opts) *Port {
	opts.setDefaults()
	return &Port{opts: opts}
}

// State returns the current state and, for lost and fault, its cause.
func (p *Port) State() (State, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.state, p.err
}

// Path returns the configured path.
func (p *Port) Path() string { return p.opts.Path }

func (p *Port) String() string {
	s, _ := p.State()
	return fmt.Sprintf("serialport(%s, %d baud, %s)", p.opts.Path, p.opts.Baud, s)
}

// set changes state and publishes the change; same-state calls are ignored.
func (p *Port) set(s State, cause error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state == s {
		return
	}
	p.state, p.err = s, cause
	ev := Event{Time: p.opts.Now(), Path: p.opts.Path, State: s, Err: cause}
	if cause != nil {
		p.opts.Logger.Warn("serial port state", "path", p.opts.Path, "state", s.String(), "err", cause)
	} else {
		p.opts.Logger.Info("serial port state", "path", p.opts.Path, "state", s.String())
	}
	if p.opts.OnEvent != nil {
		p.opts.OnEvent(ev)
	}
}

// Run opens the port and runs session on it, again and again: after a loss
// or fault it closes the port, waits with exponential backoff and reopens.
// It returns nil when ctx ends, and an error only for an unusable
// configuration.
func (p *Port) Run(ctx context.Context, session Session) error {
	if p.opts.Path == "" {
		return errors.New("serialport: no path configured")
	}
	backoff := p.opts.MinBackoff
	opened := false
	for ctx.Err() == nil {
		start := p.opts.Now()
		p.runOnce(ctx, session, &opened)
		if ctx.Err() != nil {
			return nil
		}
		if p.opts.Now().Sub(start) > 2*p.opts.MaxBackoff {
			backoff = p.opts.MinBackoff // it worked for a while: start over
		}
		if !sleepCtx(ctx, backoff) {
			return nil
		}
		backoff = min(backoff*2, p.opts.MaxBackoff)
	}
	return nil
}

// runOnce opens the port, runs one session and publishes how it ended.
func (p *Port) runOnce(ctx context.Context, session Session, opened *bool) {
	rwc, err := p.opts.Open(p.opts.Path, p.opts.Baud, p.opts.ReadTimeout)
	if err != nil {
		err = fmt.Errorf("serialport: open %s: %w", p.opts.Path, err)
		p.set(StateLost, err)
		return
	}
	node, _ := statNode(p.opts.Path)
	// Whatever queued up while nobody listened (a card shown to a reader
	// that was not being read, power-up noise) is stale: drop it.
	if f, ok := rwc.(interface{ Flush() error }); ok {
		_ = f.Flush()
	}

	c := &conn{rwc: rwc, readTimeout: p.opts.ReadTimeout, now: p.opts.Now}
	c.lastAlive.Store(p.opts.Now().UnixNano())
	c.onAlive = func() {
		if s, _ := p.State(); s == StateFault {
			p.set(StateRecovered, nil)
		}
	}
	if !*opened {
		*opened = true
		p.set(StateConnected, nil)
	} else if s, _ := p.State(); s == StateLost {
		p.set(StateRecovered, nil)
	}

	sessCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		p.watch(sessCtx, cancel, c, node)
	}()
	serr := session(sessCtx, c)
	cancel()
	wg.Wait()
	if cerr := rwc.Close(); cerr != nil && c.lost() == nil {
		c.lose(fmt.Errorf("serialport: close %s: %w", p.opts.Path, cerr))
	}

	switch {
	case ctx.Err() != nil:
	case c.lost() != nil:
		p.set(StateLost, c.lost())
	case serr != nil:
		p.set(StateFault, fmt.Errorf("serialport: %s: %w", p.opts.Path, serr))
	default:
		p.set(StateFault, fmt.Errorf("serialport: %s: session ended", p.opts.Path))
	}
}

// watch ends the session when the node vanishes, and reports silence.
func (p *Port) watch(ctx context.Context, cancel context.CancelFunc, c *conn, node nodeID) {
	t := time.NewTicker(p.opts.WatchPeriod)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if now, err := statNode(p.opts.Path); err != nil || (node.valid && now != node) {
			c.lose(fmt.Errorf("serialport: %s: %w", p.opts.Path, ErrNodeGone))
			cancel()
			return
		}
		if p.opts.SilenceTimeout > 0 {
			last := time.Unix(0, c.lastAlive.Load())
			if p.opts.Now().Sub(last) > p.opts.SilenceTimeout {
				p.set(StateFault, fmt.Errorf("serialport: %s: %w for %s", p.opts.Path, ErrSilent, p.opts.SilenceTimeout))
			}
		}
	}
}

// conn is what a session sees: the open port with loss tracking.
type conn struct {
	rwc         io.ReadWriteCloser
	readTimeout time.Duration
	now         func() time.Time
	onAlive     func()
	lastAlive   atomic.Int64

	mu      sync.Mutex
	lostErr error
}

func (c *conn) lose(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lostErr == nil {
		c.lostErr = err
	}
}

func (c *conn) lost() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lostErr
}

// Read returns (0, nil) when no data arrived within the read timeout.
func (c *conn) Read(b []byte) (int, error) {
	if err := c.lost(); err != nil {
		return 0, err
	}
	start := time.Now()
	n, err := c.rwc.Read(b)
	if n == 0 && (err == nil || errors.Is(err, io.EOF)) {
		// tarm/serial's timeout, or an unplugged USB adapter answering
		// instantly: pace it so a caller's loop never spins.
		if rest := c.readTimeout - time.Since(start); rest > 0 {
			time.Sleep(rest)
		}
		return 0, nil
	}
	if err != nil && !errors.Is(err, io.EOF) {
		err = fmt.Errorf("serialport: read: %w", err)
		c.lose(err)
		return n, err
	}
	return n, nil
}

func (c *conn) Write(b []byte) (int, error) {
	if err := c.lost(); err != nil {
		return 0, err
	}
	n, err := c.rwc.Write(b)
	if err != nil {
		err = fmt.Errorf("serialport: write: %w", err)
		c.lose(err)
	}
	return n, err
}

// MarkAlive records that the device just sent a valid frame.
func (c *conn) MarkAlive() {
	c.lastAlive.Store(c.now().UnixNano())
	c.onAlive()
}

// Flush discards input not yet read. It drains by reading rather than
// with tarm/serial's Flush, which is TCIOFLUSH and would also discard
// output not yet sent (a command just written). Draining costs one read
// timeout when the line is quiet.
func (c *conn) Flush() error {
	buf := make([]byte, 256)
	for range 64 {
		n, err := c.Read(buf)
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
	}
	return nil
}

type nodeID struct {
	valid    bool
	dev, ino uint64
	rdev     uint64
}

func statNode(path string) (nodeID, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nodeID{}, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nodeID{}, nil
	}
	return nodeID{valid: true, dev: uint64(st.Dev), ino: uint64(st.Ino), rdev: uint64(st.Rdev)}, nil
}

// sleepCtx waits d or until ctx ends; it reports whether the wait completed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
