// Package escpossim simulates an ESC/POS receipt printer (Epson TM and
// compatibles) byte-accurately: it decodes everything it receives into a
// Transcript (text lines decoded from the selected code table with their
// style, QR codes, feeds, cuts, code table changes, initialize) and answers
// real-time status requests DLE EOT n from its scriptable state. It reads
// every command of Commands whole, as common client libraries send them,
// so no parameter byte is printed as text; those it does not interpret are
// marked in the transcript (docs/protocols.md has the table).
//
// Real-time requests are acted on wherever they appear in the stream — in
// text, inside other commands' parameters and inside QR data — and taken
// out of the stream, as a printer's real-time handler does; only n = 1–4
// counts, any other DLE EOT x is decoded as an ordinary command. The reply
// bytes follow docs/protocols.md: all clear 12 for every n; out of paper
// 1A/32/7E for n = 1/2/4; cover open 1A/16; an error 1A/52 and its cause
// for n = 3.
//
// When the paper is out, the cover open, an error set or the printer set
// offline, it goes offline and stops taking print data: what arrives is
// lost and recorded as a Rejected entry, so a test can tell a refused job
// (nothing arrived) from a lost one. It still answers status requests.
// With Opts.XONXOFF it also sends XOFF when going offline and XON when
// back.
//
// Script commands: paper ok|near_end|out, cover open|closed,
// error off|mechanical|cutter|unrecoverable|auto, offline on|off,
// runout N, transcript, clear. Each cut logs the receipt at Info level.
package escpossim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/quartierhub/quartierhub/drivers/escpos"
	"github.com/quartierhub/quartierhub/drivers/sim"
)

// Opts configures the simulated printer. Zero values take the defaults.
type Opts struct {
	// Tables maps ESC t numbers to code pages, for clones that renumber
	// them; nil means Epson's numbering (EpsonTables).
	Tables map[byte]escpos.CodePage
	// XONXOFF makes the printer send XOFF when it goes offline and XON
	// when it comes back, as with DIP switch "XON/XOFF" handshaking.
	XONXOFF bool
	// Out is where the transcript script command prints. Default os.Stdout.
	Out io.Writer
	// Logger receives each printed receipt at Info. Default slog.Default().
	Logger *slog.Logger
}

// Device is a simulated ESC/POS printer. Safe for concurrent use.
type Device struct {
	opts Opts

	mu         sync.Mutex
	paper      escpos.Paper
	cover      bool
	cause      escpos.ErrorCause
	offline    bool
	runout     int // lines until the paper runs out; 0: never
	decoder    *Decoder
	transcript Transcript
	sinceCut   int // index of the first entry after the last cut
	changed    chan struct{}
}

// New returns a printer with paper, cover closed, no error.
func New(opts Opts) *Device {
	if opts.Out == nil {
		opts.Out = os.Stdout
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	d := &Device{opts: opts, changed: make(chan struct{})}
	d.decoder = NewDecoder(opts.Tables, d.emit)
	return d
}

// Name implements sim.Device.
func (d *Device) Name() string { return "escpos" }

func (d *Device) String() string { return "escpossim(" + d.Status().String() + ")" }

// emit records an entry; d.mu is held.
func (d *Device) emit(e Entry) {
	d.transcript = append(d.transcript, e)
	switch e.Kind {
	case Line:
		if d.runout > 0 {
			d.runout--
			if d.runout == 0 {
				d.paper = escpos.PaperOut
			}
		}
	case Cut:
		receipt := d.transcript[d.sinceCut:].Receipt()
		d.sinceCut = len(d.transcript)
		d.opts.Logger.Info("escpos simulator printed a receipt", "receipt", "\n"+receipt)
	}
	d.notify()
}

// notify wakes Wait; d.mu is held.
func (d *Device) notify() {
	close(d.changed)
	d.changed = make(chan struct{})
}

// statusLocked is the printer's state as DLE EOT reports it.
func (d *Device) statusLocked() escpos.Status {
	st := escpos.Status{Paper: d.paper, CoverOpen: d.cover, Error: d.cause != 0, Cause: d.cause}
	st.Online = !(d.offline || d.cover || d.paper == escpos.PaperOut || st.Error)
	return st
}

// Status returns the state the printer reports.
func (d *Device) Status() escpos.Status {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.statusLocked()
}

// SetPaper sets the paper sensors.
func (d *Device) SetPaper(p escpos.Paper) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.paper = p
}

// SetCover opens or closes the cover.
func (d *Device) SetCover(open bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.cover = open
}

// SetError sets the error cause; 0 clears the error.
func (d *Device) SetError(c escpos.ErrorCause) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.cause = c
}

// SetOffline takes the printer offline without a reported cause (as during
// start-up or a self-test), or back.
func (d *Device) SetOffline(on bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.offline = on
}

// RunOutAfter makes the paper run out after n more printed lines (n > 0);
// 0 cancels.
func (d *Device) RunOutAfter(n int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.runout = max(n, 0)
}

// Transcript returns a copy of everything decoded so far.
func (d *Device) Transcript() Transcript {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append(Transcript(nil), d.transcript...)
}

// Clear forgets the transcript (not the printer's state).
func (d *Device) Clear() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.transcript, d.sinceCut = nil, 0
}

// Wait blocks until cond holds for the transcript or ctx ends.
func (d *Device) Wait(ctx context.Context, cond func(Transcript) bool) error {
	for {
		d.mu.Lock()
		ok, ch := cond(d.transcript), d.changed
		d.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("escpossim: %w", ctx.Err())
		case <-ch:
		}
	}
}

// WaitCuts blocks until the transcript holds at least n cuts.
func (d *Device) WaitCuts(ctx context.Context, n int) error {
	return d.Wait(ctx, func(t Transcript) bool { return t.Count(Cut) >= n })
}

// Do implements sim.Device; "transcript" prints to Opts.Out.
func (d *Device) Do(args []string) error { return d.DoTo(args, d.opts.Out) }

// DoTo implements sim.Answerer: "transcript" prints to w.
func (d *Device) DoTo(args []string, w io.Writer) error {
	arg := func() (string, error) {
		if len(args) != 2 {
			return "", fmt.Errorf("usage: %s", usage[args[0]])
		}
		return strings.ToLower(args[1]), nil
	}
	switch args[0] {
	case "paper":
		a, err := arg()
		if err != nil {
			return err
		}
		switch strings.ReplaceAll(strings.ReplaceAll(a, "-", "_"), "nearend", "near_end") {
		case "ok":
			d.SetPaper(escpos.PaperOK)
		case "near_end":
			d.SetPaper(escpos.PaperNearEnd)
		case "out":
			d.SetPaper(escpos.PaperOut)
		default:
			return fmt.Errorf("usage: %s", usage["paper"])
		}
	case "cover":
		a, err := arg()
		if err != nil {
			return err
		}
		switch a {
		case "open":
			d.SetCover(true)
		case "closed", "close":
			d.SetCover(false)
		default:
			return fmt.Errorf("usage: %s", usage["cover"])
		}
	case "error":
		a, err := arg()
		if err != nil {
			return err
		}
		c, ok := map[string]escpos.ErrorCause{"off": 0, "mechanical": escpos.ErrMechanical, "cutter": escpos.ErrAutocutter,
			"unrecoverable": escpos.ErrUnrecoverable, "auto": escpos.ErrAutoRecoverable}[a]
		if !ok {
			return fmt.Errorf("usage: %s", usage["error"])
		}
		d.SetError(c)
	case "offline":
		a, err := arg()
		if err != nil {
			return err
		}
		if a != "on" && a != "off" {
			return fmt.Errorf("usage: %s", usage["offline"])
		}
		d.SetOffline(a == "on")
	case "runout":
		a, err := arg()
		if err != nil {
			return err
		}
		n, err := strconv.Atoi(a)
		if err != nil || n < 0 {
			return fmt.Errorf("usage: %s", usage["runout"])
		}
		d.RunOutAfter(n)
	case "transcript":
		t := d.Transcript()
		_, err := fmt.Fprintf(w, "escpos transcript, %d entries:\n%s", len(t), t)
		return err
	case "clear":
		d.Clear()
	default:
		return fmt.Errorf("unknown command %q", args[0])
	}
	return nil
}

var usage = map[string]string{
	"paper":      "paper ok|near_end|out",
	"cover":      "cover open|closed",
	"error":      "error off|mechanical|cutter|unrecoverable|auto",
	"offline":    "offline on|off",
	"runout":     "runout N",
	"transcript": "transcript",
	"clear":      "clear",
}

// Help implements sim.Device.
func (d *Device) Help() string {
	return `paper ok|near_end|out  paper sensors (out: offline, print data lost)
cover open|closed      cover (open: offline, print data lost)
error off|mechanical|cutter|unrecoverable|auto   error state (offline)
offline on|off         offline without a reported cause
runout N               paper runs out after N more printed lines (0: never)
transcript             print what the printer decoded so far
clear                  forget the transcript
`
}

// Serve implements sim.Device: it reads what the host sends, answers
// status requests and decodes the rest.
func (d *Device) Serve(ctx context.Context, l *sim.Line) error {
	var rt RealTime
	buf := make([]byte, 1024)
	online := true // an offline printer says XOFF as soon as it is attached
	for ctx.Err() == nil {
		if d.opts.XONXOFF {
			if now := d.Status().Online; now != online {
				online = now
				flow := []byte{0x11} // XON
				if !now {
					flow = []byte{0x13} // XOFF
				}
				if err := l.SendRaw(flow); err != nil {
					return unplugged(err)
				}
			}
		}
		if err := l.SetReadDeadline(time.Now().Add(100 * time.Millisecond)); err != nil {
			return unplugged(err)
		}
		n, err := l.Read(buf)
		replies := d.receive(&rt, buf[:n])
		for _, r := range replies {
			if err := l.Send([]byte{r}, corrupt); err != nil {
				return unplugged(err)
			}
		}
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			return unplugged(err)
		}
	}
	return nil
}

// receive processes bytes from the host in order and returns the status
// replies due.
func (d *Device) receive(rt *RealTime, p []byte) []byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	var replies []byte
	for _, b := range p {
		rt.Feed(b, d.data, func(n byte) {
			replies = append(replies, d.statusLocked().Reply(n))
		})
	}
	return replies
}

// data takes one print data byte; d.mu is held.
func (d *Device) data(b byte) {
	st := d.statusLocked()
	if st.Online {
		d.decoder.WriteByte(b)
		return
	}
	why := "offline"
	switch {
	case st.CoverOpen:
		why = "cover open"
	case st.Paper == escpos.PaperOut:
		why = "paper out"
	case st.Error:
		why = "error: " + st.Cause.String()
	}
	if n := len(d.transcript); n > 0 && d.transcript[n-1].Kind == Rejected && d.transcript[n-1].Text == why {
		d.transcript[n-1].Count++
		d.notify()
		return
	}
	d.emit(Entry{Kind: Rejected, Text: why, Count: 1})
}

func unplugged(err error) error {
	if errors.Is(err, sim.ErrUnplugged) {
		return nil
	}
	return err
}

// corrupt sets bit 7 of a reply, so it no longer has the 0xx1xx10 form.
func corrupt(f []byte) []byte {
	out := append([]byte(nil), f...)
	for i := range out {
		out[i] |= 0x80
	}
	return out
}
