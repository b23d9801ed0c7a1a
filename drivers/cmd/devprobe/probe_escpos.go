package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/quartierhub/quartierhub/drivers/escpos"
)

// probeESCPOS asks a receipt printer for its status (--status: one object,
// or --count objects every --interval) and/or prints --print TEXT and a
// --qr code in --codepage (ESC t number --table), then cuts. A refused job
// (paper out, cover open, error) is an error; so is a printer that does not
// answer within --timeout.
func probeESCPOS(ctx context.Context, a probeArgs, out *json.Encoder) error {
	job, err := planESCPOS(a)
	if err != nil {
		return err // before touching the port
	}
	interval := a.interval
	if interval <= 0 {
		interval = 2 * time.Second
	}
	events := make(chan escpos.Event, 16)
	s := &escposSession{a: a, out: out, job: job, interval: interval, events: events,
		printer: escpos.New(escpos.Opts{
			CodePage:       job.cp,
			StatusInterval: interval,
			OnStatus:       func(e escpos.Event) { events <- e },
		})}
	return onPort(ctx, a, escpos.DefaultBaud, s.run)
}

// escposJob is what the flags ask of the printer.
type escposJob struct {
	status   bool // report the status
	printing bool // print rendered
	cp       escpos.CodePage
	rendered escpos.Rendered
}

// planESCPOS checks the flags and renders the receipt (--print, --qr, a
// feed and a cut), so that a bad flag fails before the port is opened.
func planESCPOS(a probeArgs) (escposJob, error) {
	job := escposJob{status: a.status, printing: a.print != "" || a.qr != ""}
	if !job.status && !job.printing {
		return job, errors.New("escpos: give --status, or --print TEXT and/or --qr DATA")
	}
	cp, err := escpos.ParseCodePage(a.codepage)
	if err != nil {
		return job, err
	}
	if a.table > 255 {
		return job, fmt.Errorf("escpos: --table %d: must be 0–255", a.table)
	}
	if a.table >= 0 {
		cp = cp.WithTable(byte(a.table))
	}
	var receipt escpos.Receipt
	if a.print != "" {
		receipt.Add(escpos.Text{Text: strings.ReplaceAll(a.print, `\n`, "\n")})
	}
	if a.qr != "" {
		receipt.Add(escpos.QR{Data: a.qr, Align: escpos.AlignCentre})
	}
	receipt.Add(escpos.Feed{Lines: 3}, escpos.Cut{Partial: true}) // clear the cutter first
	job.cp = cp
	job.rendered, err = escpos.Render(receipt, cp)
	return job, err
}

// escposSession is one probe on an open port.
type escposSession struct {
	a        probeArgs
	out      *json.Encoder
	job      escposJob
	interval time.Duration
	printer  *escpos.Printer
	events   <-chan escpos.Event // the driver's status events
}

// errInterrupted ends a probe that was interrupted while it waited,
// without an error.
var errInterrupted = errors.New("interrupted")

// run drives the printer on rw: once it has answered, the status is
// reported and the receipt printed, as asked; then the driver stops.
func (s *escposSession) run(ctx context.Context, rw io.ReadWriter) error {
	drv := startDriver(ctx, s.printer, rw)
	defer drv.stop()
	first, ok, err := s.awaitPrinter(drv)
	if ok {
		err = s.work(drv.ctx, first)
	}
	if errors.Is(err, errInterrupted) {
		return nil
	}
	return err
}

// driverRun is the printer's driver running on the port.
type driverRun struct {
	ctx    context.Context // ends when the driver is stopped
	cancel context.CancelFunc
	done   chan struct{}
	err    error // the driver's own, once done is closed
}

func startDriver(ctx context.Context, p *escpos.Printer, rw io.ReadWriter) *driverRun {
	d := &driverRun{done: make(chan struct{})}
	d.ctx, d.cancel = context.WithCancel(ctx)
	go func() {
		defer close(d.done)
		d.err = p.Run(d.ctx, rw)
	}()
	return d
}

// stop ends the driver and waits until it has.
func (d *driverRun) stop() {
	d.cancel()
	<-d.done
}

// awaitPrinter waits for the driver's first poll, which tells whether a
// printer is there, for at most --timeout. ok is false if the probe ends
// here: err is the timeout, or the error (maybe nil) of a driver that
// ended first.
func (s *escposSession) awaitPrinter(drv *driverRun) (first escpos.Status, ok bool, err error) {
	var timeout <-chan time.Time
	if s.a.timeout > 0 {
		t := time.NewTimer(s.a.timeout)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-drv.done:
		return escpos.Status{}, false, drv.err
	case <-timeout:
		return escpos.Status{}, false, timeoutError(s.a)
	case e := <-s.events:
		if e.Kind == escpos.EventUnreachable {
			return escpos.Status{}, false, timeoutError(s.a)
		}
		return e.Status, true, nil
	}
}

// work reports and prints what the flags ask, given the first status;
// errDone when all of it is done.
func (s *escposSession) work(ctx context.Context, first escpos.Status) error {
	if s.job.status {
		if err := s.reportStatus(ctx, first); err != nil {
			return err
		}
	}
	if s.job.printing {
		if err := s.print(ctx); err != nil {
			return err
		}
	}
	return errDone
}

// reportStatus prints first, then polls until --count lines are out.
func (s *escposSession) reportStatus(ctx context.Context, first escpos.Status) error {
	if err := s.out.Encode(escposStatusLine(first)); err != nil {
		return err
	}
	for n := 1; n < s.a.count; n++ {
		select {
		case <-ctx.Done():
			return errInterrupted
		case <-time.After(s.interval):
		}
		st, err := s.printer.Status(ctx)
		if errors.Is(err, escpos.ErrNoReply) {
			return timeoutError(s.a)
		}
		if err != nil {
			return err
		}
		if err := s.out.Encode(escposStatusLine(st)); err != nil {
			return err
		}
	}
	return nil
}

// print prints the rendered receipt and what the printer made of it.
func (s *escposSession) print(ctx context.Context) error {
	res, err := s.printer.PrintRendered(ctx, s.job.rendered)
	if errors.Is(err, escpos.ErrNoReply) {
		return timeoutError(s.a)
	}
	if err != nil {
		return err
	}
	cp := s.job.cp
	return s.out.Encode(escposPrinted{Device: "escpos", Printed: true, Bytes: res.Bytes, Replaced: res.Replaced, Unmapped: string(res.Unmapped),
		CodePage: cp.Name(), Table: int(cp.Table()), Paper: res.Status.Paper.String(), Time: res.Time})
}

// escposStatus is one printed status.
type escposStatus struct {
	Device    string    `json:"device"`
	Online    bool      `json:"online"`
	Paper     string    `json:"paper"`
	CoverOpen bool      `json:"cover_open"`
	Error     bool      `json:"error"`
	Cause     string    `json:"error_cause,omitempty"`
	Time      time.Time `json:"time"`
}

func escposStatusLine(s escpos.Status) escposStatus {
	l := escposStatus{Device: "escpos", Online: s.Online, Paper: s.Paper.String(), CoverOpen: s.CoverOpen, Error: s.Error, Time: s.Time}
	if s.Error {
		l.Cause = s.Cause.String()
	}
	return l
}

// escposPrinted is the line for a printed receipt.
type escposPrinted struct {
	Device   string    `json:"device"`
	Printed  bool      `json:"printed"`
	Bytes    int       `json:"bytes"`
	Replaced int       `json:"replaced"`
	Unmapped string    `json:"unmapped,omitempty"`
	CodePage string    `json:"codepage"`
	Table    int       `json:"table"`
	Paper    string    `json:"paper"`
	Time     time.Time `json:"time"`
}
