package escpos

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

// Errors a job or status request fails with. Test them with errors.Is; the
// messages are plain enough to show staff.
var (
	// ErrNotConnected: no session is running (port closed or reopening).
	ErrNotConnected = errors.New("escpos: printer not connected")
	// ErrOffline: the printer says it is offline for no reason it names
	// (e.g. starting up, self-test), or does not answer at all.
	ErrOffline = errors.New("escpos: printer is offline")
	// ErrNoReply: no answer to a status request; it is also an ErrOffline.
	ErrNoReply = fmt.Errorf("%w: it does not answer (switched off or unplugged?)", ErrOffline)
	// ErrPaperOut: the paper roll is empty.
	ErrPaperOut = errors.New("escpos: printer is out of paper")
	// ErrCoverOpen: the printer's cover is open.
	ErrCoverOpen = errors.New("escpos: printer cover is open")
	// ErrFault: the printer reports an error (cutter jam, mechanical,
	// overheating); the wrapping error names the cause.
	ErrFault = errors.New("escpos: printer reports an error")
)

// EventKind says what changed in the printer's status.
type EventKind int

const (
	// EventReady: the first status seen is printable with paper ok, or a
	// near-end warning cleared (roll replaced).
	EventReady EventKind = iota + 1
	// EventPaperNearEnd: printable, but the roll is nearly empty.
	EventPaperNearEnd
	// EventPaperOut: the roll is empty; jobs are refused.
	EventPaperOut
	// EventCoverOpen: the cover is open; jobs are refused.
	EventCoverOpen
	// EventFault: the printer reports an error; jobs are refused.
	EventFault
	// EventOffline: the printer is offline for no reason it names.
	EventOffline
	// EventUnreachable: the printer does not answer, or the session ended
	// because the port failed.
	EventUnreachable
	// EventRecovered: the printer is printable again after one of the above.
	EventRecovered
)

func (k EventKind) String() string {
	switch k {
	case EventReady:
		return "ready"
	case EventPaperNearEnd:
		return "paper_near_end"
	case EventPaperOut:
		return "paper_out"
	case EventCoverOpen:
		return "cover_open"
	case EventFault:
		return "fault"
	case EventOffline:
		return "offline"
	case EventUnreachable:
		return "unreachable"
	case EventRecovered:
		return "recovered"
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event is a change of the printer's status.
type Event struct {
	Kind EventKind
	// Status is the new status (the last known one for Unreachable).
	Status Status
	// Err says why, for Unreachable.
	Err  error
	Time time.Time
}

func (e Event) String() string {
	s := fmt.Sprintf("escpos %s at %s: %s", e.Kind, e.Time.Format(time.RFC3339Nano), e.Status)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Result describes a printed job.
type Result struct {
	// Bytes sent to the printer.
	Bytes int
	// CodePage the job's text was printed in.
	CodePage CodePage
	// Replaced and Unmapped: see Rendered.
	Replaced int
	Unmapped []rune
	// Status after the job; Paper may warn of a near end.
	Status Status
	Time   time.Time
}

func (r Result) String() string {
	return fmt.Sprintf("printed %d bytes, %d characters replaced; %s", r.Bytes, r.Replaced, r.Status)
}

// Opts configures a Printer. Zero values take the documented defaults.
type Opts struct {
	// CodePage for text; the zero value is CP858 (Epson table 19). Use
	// CodePage.WithTable for clones that number their tables differently.
	CodePage CodePage
	// CodePages are the code pages the printer has, in order of
	// preference: each receipt is printed in the first that has all its
	// letters (RenderBest), selected by ESC t at the job's start. nil:
	// DefaultCodePages(CodePage), which assumes Epson's table numbers; a
	// clone needs its own list, or just its CodePage.
	CodePages []CodePage
	// Columns is the paper's characters per line at normal size, used for
	// receipts that set none (Receipt.Columns). 0: the printer wraps.
	Columns int
	// StatusInterval is the period of status polls while idle. Default 2s.
	StatusInterval time.Duration
	// ReplyTimeout bounds the wait for one DLE EOT reply; a request is
	// sent twice before the printer counts as unreachable. Default 1s.
	ReplyTimeout time.Duration
	// ChunkSize is the most bytes handed to one Write. Chunks end between
	// commands where possible, so a cancelled job never leaves the printer
	// inside one. Default 128.
	ChunkSize int
	// Baud is the port's line rate, used to pace chunks no faster than the
	// line carries them (10 bits a byte): the port's buffer then holds at
	// most about one chunk, so an XOFF stops the job within a chunk instead
	// of after everything the operating system has already buffered.
	// Default DefaultBaud.
	Baud int
	// WriteTimeout: a Write blocked longer than this (the printer stopped
	// taking data and the port buffer is full) ends the session with an
	// error so the port is reopened. Default 10s.
	WriteTimeout time.Duration
	// XOFFTimeout: after an XOFF, sending resumes on XON, or after this
	// long if the printer still reports itself printable (a lost XON).
	// Default 10s.
	XOFFTimeout time.Duration
	// OnStatus receives status changes in order, from the session
	// goroutine. It must not block for long.
	OnStatus func(Event)
	// Now defaults to time.Now.
	Now func() time.Time
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

func (o *Opts) setDefaults() {
	o.CodePage = o.CodePage.orDefault()
	if len(o.CodePages) == 0 {
		o.CodePages = DefaultCodePages(o.CodePage)
	}
	// A copy: the caller's slice stays the caller's.
	pages := make([]CodePage, len(o.CodePages))
	for i, c := range o.CodePages {
		pages[i] = c.orDefault()
	}
	o.CodePages = pages
	if o.StatusInterval <= 0 {
		o.StatusInterval = 2 * time.Second
	}
	if o.ReplyTimeout <= 0 {
		o.ReplyTimeout = time.Second
	}
	if o.ChunkSize <= 0 {
		o.ChunkSize = 128
	}
	if o.Baud <= 0 {
		o.Baud = DefaultBaud
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 10 * time.Second
	}
	if o.XOFFTimeout <= 0 {
		o.XOFFTimeout = 10 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Printer drives an ESC/POS printer. Run owns the wire; Print and Status
// may be called from any goroutine while it runs. Create it with New.
type Printer struct {
	opts Opts

	box mailbox.Box[request, response]

	// Touched only by the session goroutine (one at a time).
	known       bool // some status was reported
	unreachable bool
	cond        Status

	lastMu sync.Mutex
	last   Status
	lastOK bool
}

// New returns a Printer with opts.
func New(opts Opts) *Printer {
	opts.setDefaults()
	return &Printer{opts: opts}
}

func (p *Printer) String() string {
	return fmt.Sprintf("escpos.Printer(%s)", p.opts.CodePage)
}

// CodePage is the code page jobs are rendered in when it has their
// characters.
func (p *Printer) CodePage() CodePage { return p.opts.CodePage }

// CodePages are the code pages a job may be rendered in, in order of
// preference.
func (p *Printer) CodePages() []CodePage { return append([]CodePage(nil), p.opts.CodePages...) }

// LastStatus returns the most recent status and whether there is one.
func (p *Printer) LastStatus() (Status, bool) {
	p.lastMu.Lock()
	defer p.lastMu.Unlock()
	return p.last, p.lastOK
}

type request struct {
	ctx context.Context
	job *Rendered // nil: status only
}

type response struct {
	res Result
	err error
}

// Print renders r and prints it. It is refused with ErrPaperOut,
// ErrCoverOpen, ErrFault or ErrOffline (ErrNoReply) when a fresh status
// says the printer cannot print, and fails with ErrNotConnected when no
// session runs. After the job it asks for the status again: if the paper
// ran out or the cover was opened meanwhile, the error says the receipt may
// be incomplete. An invalid receipt fails with ErrInvalid before anything
// is sent.
func (p *Printer) Print(ctx context.Context, r Receipt) (Result, error) {
	if r.Columns == 0 {
		r.Columns = p.opts.Columns
	}
	job, err := RenderBest(r, p.opts.CodePages)
	if err != nil {
		return Result{}, err
	}
	if job.lost > 0 {
		// Which script is missing, not which characters: the text may
		// name a person.
		p.opts.Logger.Warn("escpos: no code page of the printer has every character of the receipt; printing stand-ins",
			"code_page", job.CodePage.Name(), "letters_replaced", job.lost, "scripts", scriptsOf(job.Unmapped))
	}
	return p.PrintRendered(ctx, job)
}

// PrintRendered prints bytes made by Render, as Print does.
func (p *Printer) PrintRendered(ctx context.Context, job Rendered) (Result, error) {
	return p.do(ctx, &job)
}

// Status asks the printer for a fresh status.
func (p *Printer) Status(ctx context.Context) (Status, error) {
	res, err := p.do(ctx, nil)
	return res.Status, err
}

func (p *Printer) do(ctx context.Context, job *Rendered) (Result, error) {
	// The session honours ctx itself and never stops inside a command:
	// wait for it, so a cancelled Print returns only once the line is quiet.
	r, err := p.box.CallToEnd(ctx, request{ctx: ctx, job: job})
	switch {
	case errors.Is(err, mailbox.ErrNoSession):
		return Result{}, ErrNotConnected
	case errors.Is(err, mailbox.ErrSessionEnded):
		if job != nil {
			return Result{}, fmt.Errorf("%w: connection lost during the job, the receipt may be incomplete", ErrNotConnected)
		}
		return Result{}, ErrNotConnected
	case err != nil:
		return Result{}, fmt.Errorf("escpos: %w", err)
	}
	return r.res, r.err
}

type aliveMarker interface{ MarkAlive() }

// errStuck ends a session whose port stopped taking data.
var errStuck = errors.New("write blocked: the port stopped taking data")

// session is one Run: the wire and its state.
type session struct {
	p       *Printer
	rw      io.ReadWriter
	reqs    <-chan mailbox.Letter[request, response]
	msgs    chan Msg
	readErr chan error
	xoff    bool
	xoffAt  time.Time
	next    time.Time // earliest time for the next chunk (pacing)
}

// Run speaks to the printer over rw until ctx ends (nil) or the port fails
// (the error): it polls the status every Opts.StatusInterval, publishes
// changes through Opts.OnStatus and executes Print and Status requests.
// rw's Read must return now and then even without data, as serialport's
// does ((0, nil) after its read timeout). A printer that does not answer is
// reported Unreachable and polled on; it does not end the session.
func (p *Printer) Run(ctx context.Context, rw io.ReadWriter) error {
	s := &session{
		p: p, rw: rw,
		msgs:    make(chan Msg, 64),
		readErr: make(chan error, 1),
	}
	reqs, closeBox, err := p.box.Open()
	if err != nil {
		return fmt.Errorf("escpos: Run: %w", err)
	}
	s.reqs = reqs
	defer closeBox()

	rctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.readLoop(rctx)
	}()
	err = s.loop(ctx)
	cancel()
	wg.Wait()
	if err != nil && ctx.Err() == nil {
		p.update(Status{}, err)
		return err
	}
	return nil
}

func (s *session) readLoop(ctx context.Context) {
	var sc Scanner
	buf := make([]byte, 64)
	for ctx.Err() == nil {
		n, err := s.rw.Read(buf)
		if n > 0 {
			sc.Write(buf[:n])
			for {
				m, ok := sc.Next()
				if !ok {
					break
				}
				select {
				case s.msgs <- m:
				case <-ctx.Done():
					return
				}
			}
		}
		if err != nil {
			if ctx.Err() == nil {
				s.readErr <- fmt.Errorf("escpos: read: %w", err)
			}
			return
		}
	}
}

func (s *session) loop(ctx context.Context) error {
	p := s.p
	st, err := s.poll(ctx)
	if err = p.settle(ctx, st, err); err != nil {
		return err
	}
	t := time.NewTicker(p.opts.StatusInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-s.readErr:
			return err
		case m := <-s.msgs:
			s.handle(m)
		case <-t.C:
			st, err := s.poll(ctx)
			if err = p.settle(ctx, st, err); err != nil {
				return err
			}
		case l := <-s.reqs:
			res, err := s.serve(ctx, l.Req)
			l.Reply(response{res, err})
			if isTransport(err) {
				return err
			}
		}
	}
}

// transportError marks a failed read or write: the session must end.
type transportError struct{ err error }

func (e *transportError) Error() string { return e.err.Error() }
func (e *transportError) Unwrap() error { return e.err }

func isTransport(err error) bool {
	var t *transportError
	return errors.As(err, &t)
}

// settle publishes a poll's outcome and says whether the session must end.
func (p *Printer) settle(ctx context.Context, st Status, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	if isTransport(err) {
		return err
	}
	p.update(st, err)
	return nil
}

// handle digests a message that is not an awaited reply.
func (s *session) handle(m Msg) {
	switch m.Kind {
	case MsgXOFF:
		if !s.xoff {
			s.xoff, s.xoffAt = true, time.Now()
		}
	case MsgXON:
		s.xoff = false
	}
	// Replies nobody waits for (late, or noise of that shape) and
	// automatic status blocks are dropped.
}

// drain handles whatever arrived, without waiting.
func (s *session) drain() {
	for {
		select {
		case m := <-s.msgs:
			s.handle(m)
		default:
			return
		}
	}
}

// write hands b to the port, giving up when it blocks too long.
func (s *session) write(ctx context.Context, b []byte) error {
	done := make(chan error, 1)
	go func() {
		_, err := s.rw.Write(b)
		done <- err
	}()
	t := time.NewTimer(s.p.opts.WriteTimeout)
	defer t.Stop()
	select {
	case err := <-done:
		if err != nil {
			return &transportError{fmt.Errorf("escpos: write: %w", err)}
		}
		return nil
	case <-t.C:
		return &transportError{fmt.Errorf("escpos: %w for %s", errStuck, s.p.opts.WriteTimeout)}
	case <-ctx.Done():
		return ctx.Err()
	}
}

// request sends DLE EOT n and waits for the reply, asking twice. The
// read loop takes in everything the printer sends, so draining what it
// found is the input flush here (serialport's Flush would compete with it
// for the port).
func (s *session) request(ctx context.Context, n byte) (byte, error) {
	for attempt := range 2 {
		s.drain() // stale replies must not answer this request
		if err := s.write(ctx, StatusRequest(n)); err != nil {
			return 0, err
		}
		b, ok, err := s.reply(ctx)
		if err != nil {
			return 0, err
		}
		if ok {
			if a, ok := s.rw.(aliveMarker); ok {
				a.MarkAlive()
			}
			if attempt > 0 {
				// The first request's reply may still come (late, or held
				// back): it must not answer the next request.
				if _, _, err := s.reply(ctx); err != nil {
					return 0, err
				}
			}
			return b, nil
		}
	}
	return 0, ErrNoReply
}

// reply waits up to Opts.ReplyTimeout for a reply byte.
func (s *session) reply(ctx context.Context) (byte, bool, error) {
	t := time.NewTimer(s.p.opts.ReplyTimeout)
	defer t.Stop()
	for {
		select {
		case m := <-s.msgs:
			if m.Kind == MsgReply {
				return m.Bytes[0], true, nil
			}
			s.handle(m)
		case err := <-s.readErr:
			return 0, false, &transportError{err}
		case <-ctx.Done():
			return 0, false, ctx.Err()
		case <-t.C:
			return 0, false, nil
		}
	}
}

// poll asks for statuses 1, 2 and 4 (and 3 on an error), one at a time so
// that a lost reply can never be taken for the next one's.
func (s *session) poll(ctx context.Context) (Status, error) {
	st := Status{}
	for _, n := range []byte{StatusPrinter, StatusOffline, StatusPaper} {
		b, err := s.request(ctx, n)
		if err != nil {
			return st, err
		}
		_ = st.Apply(n, b) // b is a reply: Apply cannot fail
	}
	if st.Error {
		b, err := s.request(ctx, StatusErrorCause)
		if err != nil {
			return st, err
		}
		_ = st.Apply(StatusErrorCause, b)
	}
	st.Time = s.p.opts.Now()
	return st, nil
}

// refusal says why a printer in status st cannot print, or nil.
func refusal(st Status) error {
	switch {
	case st.Printable():
		return nil
	case st.CoverOpen:
		return ErrCoverOpen
	case st.Paper == PaperOut:
		return ErrPaperOut
	case st.Error:
		return fmt.Errorf("%w (%s)", ErrFault, st.Cause)
	}
	return ErrOffline
}

// serve executes one Print or Status request.
func (s *session) serve(ctx context.Context, req request) (Result, error) {
	p := s.p
	if err := req.ctx.Err(); err != nil {
		return Result{}, fmt.Errorf("escpos: %w", err)
	}
	st, err := s.poll(ctx)
	if err := p.settle(ctx, st, err); err != nil {
		return Result{}, err
	}
	if err != nil {
		if req.job != nil {
			return Result{}, fmt.Errorf("%w; the receipt was not sent", err)
		}
		return Result{Status: st}, err
	}
	if req.job == nil {
		return Result{Status: st, Time: st.Time}, nil
	}
	job := req.job
	if err := refusal(st); err != nil {
		return Result{Status: st}, fmt.Errorf("%w; the receipt was not sent", err)
	}
	sent, err := s.send(ctx, req.ctx, job)
	if err != nil {
		return Result{Bytes: sent, Status: st}, err
	}
	res := Result{Bytes: sent, CodePage: job.CodePage, Replaced: job.Replaced, Unmapped: job.Unmapped}
	after, err := s.poll(ctx)
	if err := p.settle(ctx, after, err); err != nil {
		return res, err
	}
	if err != nil {
		return res, fmt.Errorf("%w; the receipt may be incomplete", err)
	}
	res.Status, res.Time = after, after.Time
	if err := refusal(after); err != nil {
		return res, fmt.Errorf("%w; the receipt may be incomplete", err)
	}
	return res, nil
}

// send writes the job in chunks, honouring XON/XOFF; jctx (the caller's)
// may stop it between commands.
func (s *session) send(ctx, jctx context.Context, job *Rendered) (int, error) {
	b := job.Bytes
	pos, bi := 0, 0
	for pos < len(b) {
		for bi < len(job.breaks) && job.breaks[bi] <= pos {
			bi++
		}
		atBreak := pos == 0 || (bi > 0 && job.breaks[bi-1] == pos)
		if atBreak && jctx.Err() != nil {
			if pos == 0 {
				return 0, fmt.Errorf("escpos: job cancelled, the receipt was not sent: %w", jctx.Err())
			}
			return pos, fmt.Errorf("escpos: job cancelled after %d of %d bytes, the receipt is incomplete: %w", pos, len(b), jctx.Err())
		}
		if err := s.pace(ctx); err != nil {
			return pos, err
		}
		if err := s.waitXON(ctx, jctx, atBreak); err != nil {
			return pos, err
		}
		// End the chunk at the last command boundary that fits.
		limit := min(pos+s.p.opts.ChunkSize, len(b))
		end := pos
		for j := bi; j < len(job.breaks) && job.breaks[j] <= limit; j++ {
			end = job.breaks[j]
		}
		if end == pos {
			end = limit // one command longer than a chunk, e.g. QR data
		}
		if err := s.write(ctx, b[pos:end]); err != nil {
			return pos, err
		}
		s.next = time.Now().Add(time.Duration(end-pos) * 10 * time.Second / time.Duration(s.p.opts.Baud))
		pos = end
		s.drain()
	}
	return pos, nil
}

// pace waits until the previous chunk is on the wire, taking in what the
// printer sends meanwhile (an XOFF above all).
func (s *session) pace(ctx context.Context) error {
	d := time.Until(s.next)
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case err := <-s.readErr:
			return &transportError{err}
		case m := <-s.msgs:
			s.handle(m)
		}
	}
}

// waitXON waits while the printer has sent XOFF. Meanwhile it polls the
// status: a printer that turned unprintable ends the job.
func (s *session) waitXON(ctx, jctx context.Context, atBreak bool) error {
	p := s.p
	if !s.xoff {
		return nil
	}
	t := time.NewTicker(p.opts.StatusInterval)
	defer t.Stop()
	for s.xoff {
		var jdone <-chan struct{}
		if atBreak {
			jdone = jctx.Done()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-jdone:
			return fmt.Errorf("escpos: job cancelled while the printer was busy, the receipt is incomplete: %w", jctx.Err())
		case err := <-s.readErr:
			return &transportError{err}
		case m := <-s.msgs:
			s.handle(m)
		case <-t.C:
			st, err := s.poll(ctx)
			if err := p.settle(ctx, st, err); err != nil {
				return err
			}
			if err != nil {
				return fmt.Errorf("%w; the receipt may be incomplete", err)
			}
			if err := refusal(st); err != nil {
				return fmt.Errorf("%w; the receipt may be incomplete", err)
			}
			if time.Since(s.xoffAt) >= p.opts.XOFFTimeout {
				p.opts.Logger.Warn("escpos: no XON after XOFF, resuming", "after", p.opts.XOFFTimeout)
				s.xoff = false
			}
		}
	}
	return nil
}

// update records a poll's outcome and publishes a change. err is a
// non-transport failure (no reply) or the error that ended the session.
func (p *Printer) update(st Status, err error) {
	now := p.opts.Now()
	var ev Event
	if err != nil {
		if p.unreachable {
			return
		}
		p.known, p.unreachable = true, true
		last, _ := p.LastStatus()
		ev = Event{Kind: EventUnreachable, Status: last, Err: err, Time: now}
	} else {
		p.lastMu.Lock()
		p.last, p.lastOK = st, true
		p.lastMu.Unlock()
		c := st.condition()
		if p.known && !p.unreachable && c == p.cond {
			return
		}
		ev = Event{Kind: p.kind(st), Status: st, Time: now}
		p.known, p.unreachable, p.cond = true, false, c
	}
	attrs := []any{"event", ev.Kind.String(), "status", ev.Status.String()}
	if err != nil {
		attrs = append(attrs, "err", err)
	}
	if ev.Kind == EventReady || ev.Kind == EventRecovered || ev.Kind == EventPaperNearEnd {
		p.opts.Logger.Info("escpos: printer status", attrs...)
	} else {
		p.opts.Logger.Warn("escpos: printer status", attrs...)
	}
	if p.opts.OnStatus != nil {
		p.opts.OnStatus(ev)
	}
}

// kind names the change to st from the previously reported condition.
func (p *Printer) kind(st Status) EventKind {
	if err := refusal(st); err != nil {
		switch {
		case errors.Is(err, ErrCoverOpen):
			return EventCoverOpen
		case errors.Is(err, ErrPaperOut):
			return EventPaperOut
		case errors.Is(err, ErrFault):
			return EventFault
		}
		return EventOffline
	}
	wasBad := p.known && (p.unreachable || !p.cond.Printable())
	switch {
	case wasBad:
		return EventRecovered
	case st.Paper == PaperNearEnd:
		return EventPaperNearEnd
	}
	return EventReady
}
