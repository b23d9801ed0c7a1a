package escpos_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/drivers/escpos"
	"github.com/quartierhub/quartierhub/drivers/serialport"
	"github.com/quartierhub/quartierhub/drivers/sim"
	"github.com/quartierhub/quartierhub/drivers/sim/escpossim"
	"github.com/quartierhub/quartierhub/internal/testutil"
)

const deadline = 10 * time.Second

// rig runs the driver against the simulator through a real pty.
type rig struct {
	dev     *escpossim.Device
	port    *sim.Port
	printer *escpos.Printer
	events  chan escpos.Event
}

func newRig(t *testing.T, dopts escpossim.Opts, popts escpos.Opts) *rig {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &rig{dev: escpossim.New(dopts), events: make(chan escpos.Event, 100)}
	var err error
	r.port, err = sim.Start(ctx, r.dev, sim.Opts{Link: filepath.Join(t.TempDir(), "printer")})
	if err != nil {
		t.Fatal(err)
	}
	if popts.StatusInterval == 0 {
		popts.StatusInterval = 50 * time.Millisecond
	}
	if popts.ReplyTimeout == 0 {
		popts.ReplyTimeout = 300 * time.Millisecond
	}
	if popts.XOFFTimeout == 0 {
		popts.XOFFTimeout = 300 * time.Millisecond
	}
	popts.OnStatus = func(e escpos.Event) { r.events <- e }
	r.printer = escpos.New(popts)
	owner := serialport.New(serialport.Opts{Path: r.port.Path(), Baud: escpos.DefaultBaud})
	done := make(chan error, 1)
	go func() { done <- owner.Run(ctx, r.printer.Run) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		r.port.Close()
	})
	return r
}

// expect waits for an event of kind, skipping others.
func (r *rig) expect(t *testing.T, kind escpos.EventKind) escpos.Event {
	t.Helper()
	timeout := time.After(deadline)
	for {
		select {
		case e := <-r.events:
			if e.Kind == kind {
				return e
			}
		case <-timeout:
			t.Fatalf("no %s event within %s", kind, deadline)
		}
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	t.Cleanup(cancel)
	return ctx
}

func workedReceipt() escpos.Receipt {
	return escpos.Receipt{Blocks: []escpos.Block{
		escpos.Text{Text: "Grüße", Align: escpos.AlignCentre, Bold: true, Width: 2, Height: 2},
		escpos.Text{Text: "5,00 €"},
		escpos.Feed{Lines: 3},
		escpos.Cut{Partial: true},
	}}
}

const workedTranscript = `init
table 19 (cp858)
line centre bold 2x2 "Grüße"
line left "5,00 €"
feed 3
cut partial +0
`

func TestPrintWorkedReceipt(t *testing.T) {
	r := newRig(t, escpossim.Opts{}, escpos.Opts{})
	e := r.expect(t, escpos.EventReady)
	if !e.Status.Printable() || e.Time.IsZero() {
		t.Fatalf("ready event %s", e)
	}
	res, err := r.printer.Print(ctxT(t), workedReceipt())
	if err != nil {
		t.Fatal(err)
	}
	if res.Bytes != 43 || res.Replaced != 0 || res.Status.Paper != escpos.PaperOK {
		t.Fatalf("result %s", res)
	}
	if err := r.dev.WaitCuts(ctxT(t), 1); err != nil {
		t.Fatal(err)
	}
	if got := r.dev.Transcript().String(); got != workedTranscript {
		t.Fatalf("transcript:\n%s\nwant:\n%s", got, workedTranscript)
	}
}

func TestPrintInOtherCodePagesAndQR(t *testing.T) {
	for _, cp := range []escpos.CodePage{escpos.CP437, escpos.CP850, escpos.CP1252, escpos.CP858.WithTable(13)} {
		t.Run(cp.Name()+fmt.Sprint(cp.Table()), func(t *testing.T) {
			tables := escpossim.EpsonTables()
			tables[cp.Table()] = cp
			r := newRig(t, escpossim.Opts{Tables: tables}, escpos.Opts{CodePage: cp})
			r.expect(t, escpos.EventReady)
			receipt := escpos.Receipt{}
			receipt.Add(
				escpos.Text{Text: "Grüße, 5 € „ok“", Align: escpos.AlignRight},
				escpos.QR{Data: "https://example.com/Grüße", ECC: escpos.ECCH, ModuleSize: 8},
				escpos.Cut{},
			)
			res, err := r.printer.Print(ctxT(t), receipt)
			if err != nil {
				t.Fatal(err)
			}
			if err := r.dev.WaitCuts(ctxT(t), 1); err != nil {
				t.Fatal(err)
			}
			tr := r.dev.Transcript()
			want := `Grüße, 5 € "ok"`
			replaced := 2
			switch cp.Name() {
			case "cp437", "cp850":
				want, replaced = `Grüße, 5 EUR "ok"`, 3
			case "cp1252":
				want, replaced = "Grüße, 5 € „ok“", 0
			}
			if lines := tr.Lines(); len(lines) != 1 || lines[0] != want || res.Replaced != replaced {
				t.Fatalf("lines %q, replaced %d (%q); transcript:\n%s", lines, res.Replaced, string(res.Unmapped), tr)
			}
			if tr[1].Table != cp.Table() || tr[2].Align != escpos.AlignRight {
				t.Fatalf("transcript:\n%s", tr)
			}
			qr := tr.Of(escpossim.QR)
			if len(qr) != 1 || qr[0].Text != "https://example.com/Grüße" || qr[0].ECC != escpos.ECCH || qr[0].ModuleSize != 8 || qr[0].Model != 2 {
				t.Fatalf("qr %+v", qr)
			}
		})
	}
}

// noJobArrived proves a refused job never reached the printer (rather than
// being lost there): no text and no rejected data in the transcript.
func noJobArrived(t *testing.T, r *rig) {
	t.Helper()
	tr := r.dev.Transcript()
	if tr.Count(escpossim.Rejected) != 0 || tr.Count(escpossim.Line) != 0 || tr.Count(escpossim.Init) != 0 {
		t.Fatalf("the job reached the printer:\n%s", tr)
	}
}

func TestRefusedWhilePaperOutThenRecovers(t *testing.T) {
	r := newRig(t, escpossim.Opts{}, escpos.Opts{})
	r.expect(t, escpos.EventReady)
	r.dev.SetPaper(escpos.PaperOut)
	e := r.expect(t, escpos.EventPaperOut)
	if e.Status.Online || e.Status.Paper != escpos.PaperOut {
		t.Fatalf("event %s", e)
	}
	_, err := r.printer.Print(ctxT(t), workedReceipt())
	if !errors.Is(err, escpos.ErrPaperOut) {
		t.Fatalf("Print = %v, want ErrPaperOut", err)
	}
	if !strings.Contains(err.Error(), "out of paper") || !strings.Contains(err.Error(), "not sent") {
		t.Fatalf("message %q", err)
	}
	noJobArrived(t, r)
	r.dev.SetPaper(escpos.PaperOK)
	r.expect(t, escpos.EventRecovered)
	if _, err := r.printer.Print(ctxT(t), workedReceipt()); err != nil {
		t.Fatal(err)
	}
	if err := r.dev.WaitCuts(ctxT(t), 1); err != nil {
		t.Fatal(err)
	}
}

func TestRefusedWhileCoverOpen(t *testing.T) {
	r := newRig(t, escpossim.Opts{}, escpos.Opts{})
	r.expect(t, escpos.EventReady)
	r.dev.SetCover(true)
	r.dev.SetPaper(escpos.PaperOut)
	if e := r.expect(t, escpos.EventCoverOpen); !e.Status.CoverOpen {
		t.Fatalf("event %s", e)
	}
	_, err := r.printer.Print(ctxT(t), workedReceipt())
	if !errors.Is(err, escpos.ErrCoverOpen) || !strings.Contains(err.Error(), "cover is open") {
		t.Fatalf("Print = %v, want ErrCoverOpen", err)
	}
	noJobArrived(t, r)
	r.dev.SetCover(false)
	if e := r.expect(t, escpos.EventPaperOut); e.Status.CoverOpen {
		t.Fatalf("event %s", e)
	}
	r.dev.SetPaper(escpos.PaperNearEnd)
	if e := r.expect(t, escpos.EventRecovered); e.Status.Paper != escpos.PaperNearEnd {
		t.Fatalf("event %s", e)
	}
}

func TestNearEndWarnsButPrints(t *testing.T) {
	r := newRig(t, escpossim.Opts{}, escpos.Opts{})
	r.expect(t, escpos.EventReady)
	r.dev.SetPaper(escpos.PaperNearEnd)
	r.expect(t, escpos.EventPaperNearEnd)
	res, err := r.printer.Print(ctxT(t), workedReceipt())
	if err != nil {
		t.Fatal(err)
	}
	if res.Status.Paper != escpos.PaperNearEnd {
		t.Fatalf("result %s", res)
	}
	r.dev.SetPaper(escpos.PaperOK)
	r.expect(t, escpos.EventReady)
}

func TestPaperRunsOutDuringJob(t *testing.T) {
	r := newRig(t, escpossim.Opts{}, escpos.Opts{})
	r.expect(t, escpos.EventReady)
	r.dev.RunOutAfter(2)
	job := escpos.Receipt{}
	job.Add(escpos.Text{Text: "1\n2\n3\n4\n5"}, escpos.Cut{Partial: true})
	_, err := r.printer.Print(ctxT(t), job)
	if !errors.Is(err, escpos.ErrPaperOut) || !strings.Contains(err.Error(), "may be incomplete") {
		t.Fatalf("Print = %v, want ErrPaperOut, may be incomplete", err)
	}
	tr := r.dev.Transcript()
	if lines := tr.Lines(); fmt.Sprint(lines) != "[1 2]" || tr.Count(escpossim.Rejected) != 1 || tr.Count(escpossim.Cut) != 0 {
		t.Fatalf("transcript:\n%s", tr)
	}
	if rej := tr.Of(escpossim.Rejected)[0]; rej.Text != "paper out" || rej.Count != 10 {
		t.Fatalf("rejected %s", rej)
	}
}

func TestFaultAndOffline(t *testing.T) {
	r := newRig(t, escpossim.Opts{}, escpos.Opts{})
	r.expect(t, escpos.EventReady)
	r.dev.SetError(escpos.ErrAutocutter)
	if e := r.expect(t, escpos.EventFault); e.Status.Cause != escpos.ErrAutocutter {
		t.Fatalf("event %s", e)
	}
	_, err := r.printer.Print(ctxT(t), workedReceipt())
	if !errors.Is(err, escpos.ErrFault) || !strings.Contains(err.Error(), "autocutter") {
		t.Fatalf("Print = %v, want ErrFault (autocutter)", err)
	}
	r.dev.SetError(0)
	r.expect(t, escpos.EventRecovered)
	r.dev.SetOffline(true)
	r.expect(t, escpos.EventOffline)
	_, err = r.printer.Print(ctxT(t), workedReceipt())
	if !errors.Is(err, escpos.ErrOffline) || errors.Is(err, escpos.ErrNoReply) {
		t.Fatalf("Print = %v, want ErrOffline", err)
	}
	noJobArrived(t, r)
	st, err := r.printer.Status(ctxT(t))
	if err != nil || st.Online {
		t.Fatalf("Status = %s, %v", st, err)
	}
	r.dev.SetOffline(false)
	r.expect(t, escpos.EventRecovered)
}

func TestSilentPrinterIsUnreachable(t *testing.T) {
	r := newRig(t, escpossim.Opts{}, escpos.Opts{ReplyTimeout: 100 * time.Millisecond})
	r.expect(t, escpos.EventReady)
	r.port.Line().SetSilent(true)
	if e := r.expect(t, escpos.EventUnreachable); !errors.Is(e.Err, escpos.ErrNoReply) {
		t.Fatalf("event %s", e)
	}
	_, err := r.printer.Print(ctxT(t), workedReceipt())
	if !errors.Is(err, escpos.ErrNoReply) || !errors.Is(err, escpos.ErrOffline) || !strings.Contains(err.Error(), "does not answer") {
		t.Fatalf("Print = %v, want ErrNoReply", err)
	}
	if _, err := r.printer.Status(ctxT(t)); !errors.Is(err, escpos.ErrNoReply) {
		t.Fatalf("Status = %v", err)
	}
	noJobArrived(t, r)
	r.port.Line().SetSilent(false)
	r.expect(t, escpos.EventRecovered)
}

func TestUnplugAndReplug(t *testing.T) {
	r := newRig(t, escpossim.Opts{}, escpos.Opts{})
	r.expect(t, escpos.EventReady)
	if err := r.port.Unplug(); err != nil {
		t.Fatal(err)
	}
	r.expect(t, escpos.EventUnreachable)
	// Between sessions, jobs fail fast.
	ctx := ctxT(t)
	testutil.EventuallyOK(t, "Print failing fast while unplugged", func() error {
		if _, err := r.printer.Print(ctx, workedReceipt()); !errors.Is(err, escpos.ErrNotConnected) {
			return fmt.Errorf("Print while unplugged = %v", err)
		}
		return nil
	})
	if err := r.port.Replug(); err != nil {
		t.Fatal(err)
	}
	r.expect(t, escpos.EventRecovered)
	if _, err := r.printer.Print(ctxT(t), workedReceipt()); err != nil {
		t.Fatal(err)
	}
	if err := r.dev.WaitCuts(ctxT(t), 1); err != nil {
		t.Fatal(err)
	}
}

func TestFaultsOnTheWire(t *testing.T) {
	r := newRig(t, escpossim.Opts{}, escpos.Opts{ReplyTimeout: 150 * time.Millisecond})
	r.expect(t, escpos.EventReady)
	r.dev.SetPaper(escpos.PaperNearEnd)
	r.expect(t, escpos.EventPaperNearEnd)
	l := r.port.Line()
	for _, f := range []sim.Fault{sim.FaultGarbage, sim.FaultSplit, sim.FaultBadChecksum, sim.FaultTruncate, sim.FaultDouble, sim.FaultGarbage} {
		l.Inject(f)
	}
	// Status stays right once the faults are spent (garbage shaped like a
	// reply can fool one poll: the protocol has no checksum).
	ctx := ctxT(t)
	sent := l.Sent()
	for {
		st, err := r.printer.Status(ctx)
		if ctx.Err() != nil {
			t.Fatalf("status never settled: %s, %v", st, err)
		}
		if err == nil && l.Sent() > sent+8 && st.Online && st.Paper == escpos.PaperNearEnd && !st.Error && !st.CoverOpen {
			break
		}
	}
	if _, err := r.printer.Print(ctxT(t), workedReceipt()); err != nil {
		t.Fatal(err)
	}
	if err := r.dev.WaitCuts(ctxT(t), 1); err != nil {
		t.Fatal(err)
	}
	if got := r.dev.Transcript().String(); got != workedTranscript {
		t.Fatalf("transcript:\n%s", got)
	}
}

func TestXONXOFFPrinterLosesNoRejectedJob(t *testing.T) {
	// A printer that sends XOFF when it goes offline: a job refused while
	// paper is out, printed fully once it is back.
	r := newRig(t, escpossim.Opts{XONXOFF: true}, escpos.Opts{})
	r.expect(t, escpos.EventReady)
	r.dev.SetPaper(escpos.PaperOut)
	r.expect(t, escpos.EventPaperOut)
	if _, err := r.printer.Print(ctxT(t), workedReceipt()); !errors.Is(err, escpos.ErrPaperOut) {
		t.Fatalf("Print = %v", err)
	}
	r.dev.SetPaper(escpos.PaperOK)
	r.expect(t, escpos.EventRecovered)
	if _, err := r.printer.Print(ctxT(t), workedReceipt()); err != nil {
		t.Fatal(err)
	}
	if got := r.dev.Transcript().String(); got != workedTranscript {
		t.Fatalf("transcript:\n%s", got)
	}
}

func TestWithoutSession(t *testing.T) {
	p := escpos.New(escpos.Opts{})
	if _, err := p.Print(context.Background(), workedReceipt()); !errors.Is(err, escpos.ErrNotConnected) {
		t.Fatalf("Print = %v", err)
	}
	if _, err := p.Status(context.Background()); !errors.Is(err, escpos.ErrNotConnected) {
		t.Fatalf("Status = %v", err)
	}
	bad := escpos.Receipt{Blocks: []escpos.Block{escpos.Text{Width: 9}}}
	if _, err := p.Print(context.Background(), bad); !errors.Is(err, escpos.ErrInvalid) {
		t.Fatalf("Print(invalid) = %v", err)
	}
	if _, ok := p.LastStatus(); ok {
		t.Fatal("status without a session")
	}
	if p.String() != "escpos.Printer(cp858 (table 19))" {
		t.Fatal(p.String())
	}
}

// A printer with Columns set wraps text between words, so a place name
// longer than the paper never breaks inside a word; double width holds
// half as many characters; a word longer than the line is cut.
func TestPrintWrapsBetweenWords(t *testing.T) {
	r := newRig(t, escpossim.Opts{}, escpos.Opts{Columns: 32})
	r.expect(t, escpos.EventReady)
	rec := escpos.Receipt{Blocks: []escpos.Block{
		escpos.Text{Text: "Ort: Hier am Terminal (Yenidze / Weißeritzstraße)"},
		escpos.Text{Text: "Meldung FDXX-6X49", Width: 2, Height: 2},
		escpos.Text{Text: "https://hub.example.org/status/FDXX6X49abcdefghijkl"},
		escpos.Cut{Partial: true},
	}}
	if _, err := r.printer.Print(ctxT(t), rec); err != nil {
		t.Fatal(err)
	}
	if err := r.dev.WaitCuts(ctxT(t), 1); err != nil {
		t.Fatal(err)
	}
	want := `init
table 19 (cp858)
line left "Ort: Hier am Terminal (Yenidze /"
line left "Weißeritzstraße)"
line left 2x2 "Meldung"
line left 2x2 "FDXX-6X49"
line left "https://hub.example.org/status/F"
line left "DXX6X49abcdefghijkl"
cut partial +0
`
	if got := r.dev.Transcript().String(); got != want {
		t.Fatalf("transcript:\n%s\nwant:\n%s", got, want)
	}
}

// lockedBuffer collects log output written from several goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestPrintChoosesCodePagePerReceipt: with the default pages, each receipt
// is printed in the first table that has its letters, selected by ESC t
// after ESC @, and reads back on the printer exactly; a German receipt
// keeps CP858 and its bytes. A receipt no table has is printed with
// stand-ins and logged once, naming the script, not the text.
func TestPrintChoosesCodePagePerReceipt(t *testing.T) {
	var logs lockedBuffer
	r := newRig(t, escpossim.Opts{}, escpos.Opts{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	r.expect(t, escpos.EventReady)
	cases := []struct {
		lines []string
		table byte
	}{
		{[]string{"Ваш номер", "Їжак"}, 46},
		{[]string{"Şikâyet ığ İ"}, 48},
		{[]string{"Tiếng Việt", "Số của bạn"}, 52},
		{[]string{"Grüße", "5,00 €"}, 19},
		{[]string{"Ihre Nummer: 5"}, 19},
	}
	for i, c := range cases {
		var receipt escpos.Receipt
		for _, l := range c.lines {
			receipt.Add(escpos.Text{Text: l})
		}
		receipt.Add(escpos.Cut{Partial: true})
		res, err := r.printer.Print(ctxT(t), receipt)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.dev.WaitCuts(ctxT(t), i+1); err != nil {
			t.Fatal(err)
		}
		tr := r.dev.Transcript()
		start := len(tr) - (len(c.lines) + 3) // init, table, lines, cut
		got := tr[start:]
		if got[0].Kind != escpossim.Init || got[1].Kind != escpossim.Table || got[1].Table != c.table ||
			fmt.Sprint(got[2:len(got)-1].Lines()) != fmt.Sprint(c.lines) || res.Replaced != 0 || res.CodePage.Table() != c.table {
			t.Fatalf("%q: printed in %s, transcript:\n%s", c.lines, res.CodePage, got)
		}
	}
	if strings.Contains(logs.String(), "stand-ins") {
		t.Fatalf("logged a replacement:\n%s", logs.String())
	}

	var receipt escpos.Receipt
	receipt.Add(escpos.Text{Text: "رقمك ٥"}, escpos.Text{Text: "مرحبا"}, escpos.Cut{})
	res, err := r.printer.Print(ctxT(t), receipt)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.dev.WaitCuts(ctxT(t), len(cases)+1); err != nil {
		t.Fatal(err)
	}
	if res.CodePage != escpos.CP858 || res.Replaced != 10 {
		t.Fatalf("arabic: %s in %s", res, res.CodePage)
	}
	log := logs.String()
	if n := strings.Count(log, "stand-ins"); n != 1 || !strings.Contains(log, "scripts=Arabic") || strings.Contains(log, "رقمك") {
		t.Fatalf("want one log line naming the script, not the text:\n%s", log)
	}
}

// TestOneConfiguredCodePage: a printer given one code page prints every
// receipt in it, as before there was a choice: a Ukrainian receipt as
// stand-ins in CP858.
func TestOneConfiguredCodePage(t *testing.T) {
	r := newRig(t, escpossim.Opts{}, escpos.Opts{CodePages: []escpos.CodePage{escpos.CP858}})
	r.expect(t, escpos.EventReady)
	var receipt escpos.Receipt
	receipt.Add(escpos.Text{Text: "Їжак 5 €"}, escpos.Cut{})
	res, err := r.printer.Print(ctxT(t), receipt)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.dev.WaitCuts(ctxT(t), 1); err != nil {
		t.Fatal(err)
	}
	tr := r.dev.Transcript()
	if lines := tr.Lines(); len(lines) != 1 || lines[0] != "???? 5 €" || tr[1].Table != 19 || res.Replaced != 4 {
		t.Fatalf("transcript:\n%s", tr)
	}
}
