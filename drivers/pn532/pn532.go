package pn532

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/quartierhub/quartierhub/drivers/internal/mailbox"

	"github.com/quartierhub/quartierhub/drivers/card"
)

// Event, EventKind, Presented and Removed are the card reader events
// every reader driver shares (package card).
type (
	Event     = card.Event
	EventKind = card.Kind
)

const (
	Presented = card.Presented
	Removed   = card.Removed
)

var (
	// ErrNotConnected: Exchange was called while no session runs.
	ErrNotConnected = errors.New("pn532: no session running")
	// ErrNoResponse: the PN532 did not acknowledge or answer a command,
	// even after resending it.
	ErrNoResponse = errors.New("no response")
	// ErrRejected: the PN532 answered with its application error frame.
	ErrRejected = errors.New("error frame from PN532")

	errNoACK    = fmt.Errorf("%w: no ACK", ErrNoResponse)
	errNoAnswer = fmt.Errorf("%w: ACK but no answer", ErrNoResponse)
)

// Opts configures a Reader. Zero values take the documented defaults.
type Opts struct {
	// PollInterval is the time between InListPassiveTarget polls.
	// Default 200ms.
	PollInterval time.Duration
	// RemoveAfter is how many polls in a row must find no card before it
	// counts as removed, so one missed poll does not make it flap.
	// Default 2.
	RemoveAfter int
	// PassiveRetries is MxRtyPassiveActivation (RFConfiguration item 05):
	// how often InListPassiveTarget retries before answering "no card".
	// Default 2; at most 0xFE (0xFF would wait for a card forever).
	PassiveRetries int
	// AckTimeout bounds the wait for the ACK of a command. Default 100ms
	// (the chip acknowledges within a millisecond or two; serialport's
	// reads return every 100ms).
	AckTimeout time.Duration
	// ResponseTimeout bounds the wait for a response after the ACK, and
	// after a NACK. Default 1s.
	ResponseTimeout time.Duration
	// Attempts is how often a command is sent before the chip counts as
	// not answering; it also bounds the NACKs per command. Default 3.
	Attempts int
	// OnEvent receives presentations and removals in order. It must not
	// block for long: it runs on the session goroutine.
	OnEvent func(Event)
	// Now timestamps events. Default time.Now. Timeouts use the real clock.
	Now func() time.Time
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

func (o *Opts) setDefaults() {
	if o.PollInterval == 0 {
		o.PollInterval = 200 * time.Millisecond
	}
	if o.RemoveAfter == 0 {
		o.RemoveAfter = 2
	}
	if o.PassiveRetries == 0 {
		o.PassiveRetries = 2
	}
	o.PassiveRetries = min(max(o.PassiveRetries, 0), 0xFE)
	if o.AckTimeout == 0 {
		o.AckTimeout = 100 * time.Millisecond
	}
	if o.ResponseTimeout == 0 {
		o.ResponseTimeout = time.Second
	}
	if o.Attempts == 0 {
		o.Attempts = 3
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Reader polls a PN532 for ISO/IEC 14443 type A cards and reports
// presentations and removals. Its zero value is not usable; call New.
type Reader struct {
	opts Opts

	mu       sync.Mutex
	current  string // UID in the field, "" if none
	misses   int    // polls in a row without current
	firmware Firmware
	haveFW   bool
	bad      int
	retries  int
	box      mailbox.Box[request, result]
}

type request struct {
	cmd    byte
	params []byte
}

type result struct {
	data []byte
	err  error
}

// New returns a Reader with opts.
func New(opts Opts) *Reader {
	opts.setDefaults()
	return &Reader{opts: opts}
}

func (r *Reader) String() string { return "pn532.Reader" }

// Present returns the UID of the card in the field, or "".
func (r *Reader) Present() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.current
}

// Firmware returns what GetFirmwareVersion reported at the start of the
// current or last session, and whether any session got that far.
func (r *Reader) Firmware() (Firmware, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.firmware, r.haveFW
}

// BadFrames counts frames rejected so far (LCS, DCS, impossible length,
// nonsense content).
func (r *Reader) BadFrames() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.bad
}

// Retries counts commands sent again and NACKs sent so far.
func (r *Reader) Retries() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.retries
}

// Exchange sends command code cmd with params through the running session
// (between two polls) and returns the response after its code. It is for
// diagnostics; commands that change the chip's state can confuse polling.
// Without a session it fails at once with ErrNotConnected.
func (r *Reader) Exchange(ctx context.Context, cmd byte, params ...byte) ([]byte, error) {
	res, err := r.box.Call(ctx, request{cmd: cmd, params: params})
	switch {
	case errors.Is(err, mailbox.ErrNoSession), errors.Is(err, mailbox.ErrSessionEnded):
		return nil, fmt.Errorf("pn532: %s: %w", cmdName(cmd), ErrNotConnected)
	case err != nil:
		return nil, fmt.Errorf("pn532: %s: %w", cmdName(cmd), err)
	}
	return res.data, res.err
}

type (
	aliveMarker interface{ MarkAlive() }
	flusher     interface{ Flush() error }
)

// Run wakes the PN532 up, configures it and polls for cards until ctx ends
// (nil) or the transport fails or the chip stops answering (the error).
// rw's Read must return within a bounded time, possibly (0, nil) when no
// data is waiting, as serialport's does. A card still present when Run
// ends is reported removed.
func (r *Reader) Run(ctx context.Context, rw io.ReadWriter) error {
	reqs, closeBox, err := r.box.Open()
	if err != nil {
		return fmt.Errorf("pn532: Run: %w", err)
	}
	defer func() {
		closeBox()
		r.removeIfPresent()
	}()

	s := &session{r: r, rw: rw, buf: make([]byte, 256)}
	s.alive, _ = rw.(aliveMarker)
	s.flush, _ = rw.(flusher)
	err = s.run(ctx, reqs)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// session is one Run: the wire and the framer state.
type session struct {
	r     *Reader
	rw    io.ReadWriter
	alive aliveMarker
	flush flusher
	// dirty: the last exchange went wrong somehow (resend, NACK, abort,
	// damaged or foreign frames), so late frames may still be on the way.
	dirty   bool
	sc      Scanner
	seenBad int
	buf     []byte
}

func (s *session) run(ctx context.Context, reqs <-chan mailbox.Letter[request, result]) error {
	if err := s.start(ctx); err != nil {
		return err
	}
	t := time.NewTicker(s.r.opts.PollInterval)
	defer t.Stop()
	if err := s.poll(ctx); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case l := <-reqs:
			data, err := s.command(ctx, l.Req.cmd, l.Req.params...)
			l.Reply(result{data, err})
			if err != nil && !errors.Is(err, ErrRejected) {
				return err
			}
		case <-t.C:
			if err := s.poll(ctx); err != nil {
				return err
			}
		}
	}
}

// wakeUp is 0x55 and a run of 0x00 (libnfc's pn532_uart sends 16 bytes).
var wakeUp = []byte{0x55, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}

// start wakes the chip and configures it; every session does it, since a
// reopened port may mean a power-cycled chip.
func (s *session) start(ctx context.Context) error {
	s.discard()
	if err := s.write(wakeUp); err != nil {
		return err
	}
	// Normal mode, timeout 0x14 (only used in virtual card mode), use IRQ.
	if _, err := s.command(ctx, CmdSAMConfiguration, 0x01, 0x14, 0x01); err != nil {
		return err
	}
	data, err := s.command(ctx, CmdGetFirmwareVersion)
	if err != nil {
		return err
	}
	fw, err := ParseFirmware(data)
	if err != nil {
		return err
	}
	s.r.mu.Lock()
	s.r.firmware, s.r.haveFW = fw, true
	s.r.mu.Unlock()
	// MaxRetries: MxRtyATR FF (default), MxRtyPSL 01 (default),
	// MxRtyPassiveActivation small so that a poll answers "no card".
	if _, err := s.command(ctx, CmdRFConfiguration, 0x05, 0xFF, 0x01, byte(s.r.opts.PassiveRetries)); err != nil {
		return err
	}
	s.r.opts.Logger.Info("pn532 ready", "firmware", fw.String())
	return nil
}

// poll asks for one 106 kbps type A target and updates the card state.
func (s *session) poll(ctx context.Context) error {
	data, err := s.command(ctx, CmdInListPassiveTarget, 0x01, 0x00)
	if err != nil {
		return err
	}
	ts, err := ParseTargets(data)
	if err != nil {
		// Checksum-valid nonsense: count it and treat the poll as missed,
		// neither a card nor an empty field.
		s.r.mu.Lock()
		s.r.bad++
		s.r.mu.Unlock()
		return nil
	}
	uid := ""
	if len(ts) > 0 {
		uid = FormatUID(ts[0].UID)
	}
	s.r.observe(uid)
	return nil
}

// command sends cmd and returns the response data after the response
// code. It resends up to Opts.Attempts times when no ACK or no answer
// comes or the chip sends its error frame.
func (s *session) command(ctx context.Context, cmd byte, params ...byte) ([]byte, error) {
	frame := Command(cmd, params...)
	var last error
	for attempt := range s.r.opts.Attempts {
		if attempt > 0 {
			s.r.countRetry()
		}
		s.discard()
		if err := s.write(frame); err != nil {
			return nil, err
		}
		data, err := s.await(ctx, cmd)
		if err == nil {
			return data, nil
		}
		if !errors.Is(err, ErrNoResponse) && !errors.Is(err, ErrRejected) {
			return nil, err
		}
		last = err
	}
	return nil, fmt.Errorf("pn532: %s: %w (%d attempts)", cmdName(cmd), last, s.r.opts.Attempts)
}

// await waits for the ACK and then the response to cmd.
func (s *session) await(ctx context.Context, cmd byte) ([]byte, error) {
	o := &s.r.opts
	acked, nacks := false, 0
	deadline := time.Now().Add(o.AckTimeout)
	gotACK := func() {
		if !acked {
			acked = true
			deadline = time.Now().Add(o.ResponseTimeout)
		}
	}
	nack := func() error { // only after evTimeout or evBad: dirty already
		nacks++
		s.r.countRetry()
		s.sc.Reset()
		deadline = time.Now().Add(o.ResponseTimeout)
		return s.write(nackFrame)
	}
	for {
		f, ev, err := s.next(ctx, deadline)
		if err != nil {
			return nil, err
		}
		switch ev {
		case evTimeout:
			if !acked {
				// Nothing of ours is in flight (a late ACK and answer
				// would answer the resent command just as well), and a
				// flush on a chattering wrong device could drain for long.
				return nil, errNoACK
			}
			s.dirty = true
			if s.sc.Partial() && nacks < o.Attempts {
				// Part of a frame came and the rest never will: ask again.
				if err := nack(); err != nil {
					return nil, err
				}
				continue
			}
			// Abort the command so the chip listens again (§6.2.1.3).
			if err := s.write(ackFrame); err != nil {
				return nil, err
			}
			return nil, errNoAnswer
		case evBad:
			s.dirty = true
			if !acked {
				// Most likely the ACK itself, damaged: the answer follows.
				gotACK()
			} else if nacks < o.Attempts {
				if err := nack(); err != nil {
					return nil, err
				}
			}
			continue
		}
		if s.alive != nil {
			s.alive.MarkAlive()
		}
		switch f.Kind {
		case FrameACK:
			if acked {
				s.dirty = true // a second ACK: a resend crossed ours
			}
			gotACK()
		case FrameError:
			s.dirty = true
			return nil, ErrRejected
		case FrameInfo:
			if f.TFI == PN532ToHost && len(f.Data) > 0 && f.Data[0] == cmd+1 {
				return f.Data[1:], nil
			}
			// A late answer to an earlier command: not ours.
			s.dirty = true
		}
	}
}

type event int

const (
	evFrame event = iota
	evBad
	evTimeout
)

// next returns the next frame, a note that a bad frame was dropped, or a
// timeout at deadline.
func (s *session) next(ctx context.Context, deadline time.Time) (Frame, event, error) {
	for {
		if f, ok := s.sc.Next(); ok {
			return f, evFrame, nil
		}
		if s.countBad() {
			return Frame{}, evBad, nil
		}
		if err := ctx.Err(); err != nil {
			return Frame{}, 0, err
		}
		if !time.Now().Before(deadline) {
			return Frame{}, evTimeout, nil
		}
		n, err := s.rw.Read(s.buf)
		if n > 0 {
			s.sc.Write(s.buf[:n])
		}
		// io.EOF with no data is a raw tarm/serial read timeout.
		if err != nil && !(n == 0 && errors.Is(err, io.EOF)) {
			return Frame{}, 0, fmt.Errorf("pn532: read: %w", err)
		}
	}
}

// discard drops stale input before a new command: anything still buffered
// answers an earlier one (a resent or held-back answer), and taking it for
// the new command's answer would leave every later poll one answer behind.
// The framer is always reset; the port is flushed only after an exchange
// that went wrong, since serialport's Flush drains by reading and costs a
// read timeout on a quiet line.
func (s *session) discard() {
	s.countBad()
	s.sc.Reset()
	if s.dirty && s.flush != nil {
		_ = s.flush.Flush()
	}
	s.dirty = false
}

// countBad adds the frames the framer rejected since the last call to the
// reader's count and reports whether there were any.
func (s *session) countBad() bool {
	n := s.sc.Bad - s.seenBad
	if n == 0 {
		return false
	}
	s.seenBad = s.sc.Bad
	s.r.mu.Lock()
	s.r.bad += n
	s.r.mu.Unlock()
	return true
}

func (s *session) write(b []byte) error {
	if _, err := s.rw.Write(b); err != nil {
		return fmt.Errorf("pn532: write: %w", err)
	}
	return nil
}

func (r *Reader) countRetry() {
	r.mu.Lock()
	r.retries++
	r.mu.Unlock()
}

// observe updates the card state with one poll's result ("" = no card).
func (r *Reader) observe(uid string) {
	now := r.opts.Now()
	var evs []Event
	r.mu.Lock()
	prev := r.current
	switch {
	case uid == "" && prev == "":
	case uid == "":
		r.misses++
		if r.misses >= r.opts.RemoveAfter {
			r.current, r.misses = "", 0
			evs = append(evs, Event{Kind: Removed, UID: prev, Time: now})
		}
	case uid == prev:
		r.misses = 0
	default:
		r.current, r.misses = uid, 0
		if prev != "" {
			evs = append(evs, Event{Kind: Removed, UID: prev, Time: now})
		}
		evs = append(evs, Event{Kind: Presented, UID: uid, Time: now})
	}
	r.mu.Unlock()
	for _, e := range evs {
		r.emit(e)
	}
}

func (r *Reader) removeIfPresent() {
	r.mu.Lock()
	uid := r.current
	r.current, r.misses = "", 0
	r.mu.Unlock()
	if uid != "" {
		r.emit(Event{Kind: Removed, UID: uid, Time: r.opts.Now()})
	}
}

func (r *Reader) emit(e Event) {
	if r.opts.OnEvent != nil {
		r.opts.OnEvent(e)
	}
}

func cmdName(cmd byte) string {
	switch cmd {
	case CmdGetFirmwareVersion:
		return "GetFirmwareVersion"
	case CmdSAMConfiguration:
		return "SAMConfiguration"
	case CmdRFConfiguration:
		return "RFConfiguration"
	case CmdInListPassiveTarget:
		return "InListPassiveTarget"
	case CmdInRelease:
		return "InRelease"
	}
	return fmt.Sprintf("command %02X", cmd)
}
