package agent_test

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/assets"
	"github.com/quartierhub/quartierhub/drivers/escpos"
	"github.com/quartierhub/quartierhub/drivers/sim"
	"github.com/quartierhub/quartierhub/drivers/sim/escpossim"
	"github.com/quartierhub/quartierhub/drivers/sim/mhz19sim"
	"github.com/quartierhub/quartierhub/drivers/sim/rdm6300sim"
	"github.com/quartierhub/quartierhub/internal/testutil"
	"github.com/quartierhub/quartierhub/kiosk/agent"
	"github.com/quartierhub/quartierhub/kiosk/aggregate"
	"github.com/quartierhub/quartierhub/kiosk/config"
	"github.com/quartierhub/quartierhub/kiosk/localapi"
	"github.com/quartierhub/quartierhub/kiosk/session"
	"github.com/quartierhub/quartierhub/kiosk/ui/backend"
)

const testCardKey = "00112233445566778899aabbccddeeff"

type rig struct {
	dir     string
	cfg     config.Config
	rfid    *rdm6300sim.Device
	printer *escpossim.Device
}

func newRig(t *testing.T) *rig {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	dir := t.TempDir()
	start := func(d sim.Device, name string) string {
		p, err := sim.Start(ctx, d, sim.Opts{Link: filepath.Join(dir, name)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		return p.Path()
	}
	r := &rig{dir: filepath.Join(dir, "data"), rfid: rdm6300sim.New(rdm6300sim.Opts{}),
		printer: escpossim.New(escpossim.Opts{Logger: slog.New(slog.DiscardHandler)})}
	r.cfg = config.Config{CardHashKey: testCardKey, Devices: config.Devices{
		CardReader: &config.Device{Kind: "rdm6300", Port: start(r.rfid, "rfid")},
		Printer:    &config.Device{Kind: "escpos", Port: start(r.printer, "printer")},
		Sensors:    []config.Device{{Kind: "mhz19", Port: start(mhz19sim.New(mhz19sim.Opts{CO2: 700}), "co2"), ID: "co2-1", Interval: config.Duration{Duration: 50 * time.Millisecond}}},
	}}
	if err := r.cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return r
}

// run starts an agent on the rig's data directory until stop is called.
func (r *rig) run(t *testing.T, now func() time.Time) (*localapi.Client, func()) {
	t.Helper()
	a := agent.New(agent.Opts{DataDir: r.dir, Config: r.cfg, Now: now, Logger: slog.New(slog.DiscardHandler),
		Aggregate: aggregate.Opts{Tick: 20 * time.Millisecond, Grace: time.Second}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	select {
	case <-a.Ready():
	case err := <-done:
		t.Fatalf("agent stopped: %v", err)
	}
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("agent: %v", err)
		}
	}
	t.Cleanup(stop)
	c := localapi.NewClient(r.dir)
	testutil.Eventually(t, "the printer ready", func() bool {
		st, err := c.Status(context.Background())
		if err != nil {
			return false
		}
		ok, _ := backend.PrinterState(st.Devices)
		return ok
	})
	return c, stop
}

// The event stream carries the card's keyed hash and never its UID.
func TestEventsCarryOnlyCardHashes(t *testing.T) {
	r := newRig(t)
	c, _ := r.run(t, nil)
	// Read the raw stream to check what crosses the socket.
	conn, err := net.Dial("unix", filepath.Join(r.dir, localapi.SocketName))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("GET /v1/events HTTP/1.1\r\nHost: agent\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	evs, err := c.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.rfid.Present("01004CA53B"); err != nil {
		t.Fatal(err)
	}
	key, _ := hex.DecodeString(testCardKey)
	want := session.HashCard(key, "01004CA53B")
	for e := range evs {
		if e.Type == localapi.EventCard {
			if !e.Card.Presented || e.Card.Hash != want {
				t.Fatalf("card event %+v, want hash %s", e.Card, want)
			}
			break
		}
	}
	r.rfid.Remove()
	deadline := time.After(10 * time.Second)
	sawCard := false
	for !sawCard {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("stream ended")
			}
			if strings.Contains(strings.ToUpper(l), "01004CA53B") {
				t.Fatalf("the raw UID crossed the socket: %s", l)
			}
			sawCard = strings.Contains(l, want)
		case <-deadline:
			t.Fatal("no card on the raw stream")
		}
	}
}

// Tickets are unique per terminal and day, across restarts; a new day
// starts at 1. Each ticket is printed with its number.
func TestTicketsPersistAndPrint(t *testing.T) {
	r := newRig(t)
	day := time.Date(2025, 3, 3, 10, 0, 0, 0, time.Local)
	now := func() time.Time { return day }
	ctx := context.Background()
	req := localapi.TicketRequest{Receipt: localapi.Receipt{Blocks: []localapi.ReceiptBlock{
		{Kind: "text", Text: "Nummer {number}", Align: "centre", Size: 2}, {Kind: "cut"}}}}
	c, stop := r.run(t, now)
	for want := 1; want <= 2; want++ {
		tk, err := c.Ticket(ctx, req)
		if err != nil || tk.Number != want || tk.Day != "2025-03-03" || tk.RecordID == "" {
			t.Fatalf("ticket %d: %+v %v", want, tk, err)
		}
	}
	stop()
	c, stop = r.run(t, now)
	if tk, err := c.Ticket(ctx, req); err != nil || tk.Number != 3 {
		t.Fatalf("after a restart: %+v %v", tk, err)
	}
	stop()
	day = day.Add(24 * time.Hour)
	c, _ = r.run(t, now)
	if tk, err := c.Ticket(ctx, req); err != nil || tk.Number != 1 {
		t.Fatalf("next day: %+v %v", tk, err)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := r.printer.WaitCuts(wctx, 4); err != nil {
		t.Fatal(err)
	}
	got := r.printer.Transcript().Of(escpossim.Line).String()
	for _, want := range []string{"Nummer 1", "Nummer 2", "Nummer 3"} {
		if !strings.Contains(got, want) {
			t.Fatalf("transcript lacks %q:\n%s", want, got)
		}
	}
}

func TestPrintAndPrinterProblems(t *testing.T) {
	r := newRig(t)
	c, _ := r.run(t, nil)
	ctx := context.Background()
	rec := backend.Receipt(session.ReportReceipt(func(k string, a ...any) string { return k }, "Friedrichstadt", "7B5C-9D01", "Müll", "Yenidze", "http://hub/status/7B5C-9D01", time.Now()))
	if _, err := c.Print(ctx, rec); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := r.printer.WaitCuts(wctx, 1); err != nil {
		t.Fatal(err)
	}
	tr := r.printer.Transcript()
	if !strings.Contains(tr.Of(escpossim.Line).String(), "7B5C-9D01") || !strings.Contains(tr.Of(escpossim.QR).String(), "http://hub/status/7B5C-9D01") {
		t.Fatalf("receipt transcript:\n%s", tr)
	}
	if _, err := c.Print(ctx, localapi.Receipt{Blocks: []localapi.ReceiptBlock{{Kind: "sparkle"}}}); !errors.Is(err, localapi.ErrInvalid) {
		t.Fatalf("bad block: %v", err)
	}
	r.printer.SetPaper(escpos.PaperOut)
	if _, err := c.Print(ctx, rec); !errors.Is(err, localapi.ErrPrinter) {
		t.Fatalf("print without paper: %v", err)
	}
}

func TestSurveyOncePerRespondent(t *testing.T) {
	r := newRig(t)
	c, stop := r.run(t, nil)
	ctx := context.Background()
	resp := localapi.SurveyResponse{Survey: "friedrichstrasse", Respondent: strings.Repeat("a", 64), Once: "card", Language: "de",
		Answers: map[string]localapi.Answer{"comment": {Text: "Bänke"}}}
	if _, err := c.Respond(ctx, resp); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Respond(ctx, resp); !errors.Is(err, localapi.ErrAlreadyAnswered) {
		t.Fatalf("second response: %v", err)
	}
	stop()
	c, _ = r.run(t, nil)
	if _, err := c.Respond(ctx, resp); !errors.Is(err, localapi.ErrAlreadyAnswered) {
		t.Fatalf("second response after a restart: %v", err)
	}
	resp.Respondent = strings.Repeat("b", 64)
	if _, err := c.Respond(ctx, resp); err != nil {
		t.Fatal(err)
	}
}

func TestContentAndSensors(t *testing.T) {
	r := newRig(t)
	start := time.Now()
	fast := func() time.Time { return start.Add(time.Since(start) * 120) }
	c, _ := r.run(t, fast)
	ctx := context.Background()
	got, err := c.Content(ctx)
	demo, _ := assets.DemoContent()
	if err != nil || got.Version != demo.Version {
		t.Fatalf("content %q %v, want the demo", got.Version, err)
	}
	demo.Version = "local-1"
	b, _ := jsonMarshal(demo)
	if err := os.WriteFile(filepath.Join(r.dir, agent.ContentFile), b, 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err = c.Content(ctx); err != nil || got.Version != "local-1" {
		t.Fatalf("content file not used: %q %v", got.Version, err)
	}
	testutil.Eventually(t, "sensor minutes in the history", func() bool {
		h, err := c.Sensors(ctx)
		if err != nil || len(h.Minutes) < 2 || len(h.Latest) == 0 {
			return false
		}
		return h.Minutes[0].Quantity == "co2" && h.Minutes[0].Mean == 700 && h.Latest[0].Value == 700
	})
}

// Out of order: the file (and the hub's maintenance) reach the window as
// a mode event.
func TestOutOfOrderEvent(t *testing.T) {
	r := newRig(t)
	c, _ := r.run(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	evs, err := c.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(r.dir, agent.OutOfOrderFile), []byte("screen broken"), 0o600); err != nil {
		t.Fatal(err)
	}
	for e := range evs {
		if e.Type == localapi.EventMode && e.Mode.OutOfOrder {
			return
		}
	}
	t.Fatal("no out-of-order event")
}
