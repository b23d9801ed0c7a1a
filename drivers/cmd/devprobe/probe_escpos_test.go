package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/drivers/escpos"
	"github.com/quartierhub/quartierhub/drivers/sim"
	"github.com/quartierhub/quartierhub/drivers/sim/escpossim"
)

func startPrinterSim(t *testing.T) (*escpossim.Device, *sim.Port) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	dev := escpossim.New(escpossim.Opts{})
	p, err := sim.Start(ctx, dev, sim.Opts{Link: filepath.Join(t.TempDir(), "printer")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		p.Close()
	})
	return dev, p
}

func TestProbeESCPOSStatus(t *testing.T) {
	dev, p := startPrinterSim(t)
	dev.SetPaper(escpos.PaperNearEnd)
	var out, errb bytes.Buffer
	if err := run([]string{"--device", "escpos", "--port", p.Path(), "--status", "--count", "2", "--interval", "50ms"}, &out, &errb); err != nil {
		t.Fatalf("run = %v, stderr %s", err, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 lines, got:\n%s", out.String())
	}
	for _, l := range lines {
		var got map[string]any
		if err := json.Unmarshal([]byte(l), &got); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		if got["device"] != "escpos" || got["online"] != true || got["paper"] != "near_end" || got["cover_open"] != false ||
			got["error"] != false || got["time"] == nil {
			t.Fatalf("line %q", l)
		}
	}
	if n := len(dev.Transcript()); n != 0 {
		t.Fatalf("a status probe printed something:\n%s", dev.Transcript())
	}
}

func TestProbeESCPOSPrint(t *testing.T) {
	dev, p := startPrinterSim(t)
	var out, errb bytes.Buffer
	err := run([]string{"--device", "escpos", "--port", p.Path(), "--print", `Grüße\n5,00 €`, "--codepage", "cp437",
		"--qr", "https://example.com"}, &out, &errb)
	if err != nil {
		t.Fatalf("run = %v, stderr %s", err, errb.String())
	}
	var got struct {
		Device   string    `json:"device"`
		Printed  bool      `json:"printed"`
		Bytes    int       `json:"bytes"`
		Replaced int       `json:"replaced"`
		Unmapped string    `json:"unmapped"`
		CodePage string    `json:"codepage"`
		Table    int       `json:"table"`
		Paper    string    `json:"paper"`
		Time     time.Time `json:"time"`
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("output %q: %v", out.String(), err)
	}
	if got.Device != "escpos" || !got.Printed || got.Bytes < 50 || got.Replaced != 1 || got.Unmapped != "€" ||
		got.CodePage != "cp437" || got.Table != 0 || got.Paper != "ok" || got.Time.IsZero() {
		t.Fatalf("output %q", out.String())
	}
	tr := dev.Transcript()
	want := `init
table 0 (cp437)
line left "Grüße"
line left "5,00 EUR"
qr centre model 2 module 6 ecc M "https://example.com"
feed 3
cut partial +0
`
	if tr.String() != want {
		t.Fatalf("transcript:\n%s\nwant:\n%s", tr, want)
	}
}

func TestProbeESCPOSTableOverride(t *testing.T) {
	dev, p := startPrinterSim(t)
	var out, errb bytes.Buffer
	if err := run([]string{"--device", "escpos", "--port", p.Path(), "--print", "x", "--table", "13"}, &out, &errb); err != nil {
		t.Fatalf("run = %v, stderr %s", err, errb.String())
	}
	if !strings.Contains(out.String(), `"codepage":"cp858","table":13`) {
		t.Fatalf("output %q", out.String())
	}
	if tr := dev.Transcript(); tr[1].Kind != escpossim.Table || tr[1].Table != 13 {
		t.Fatalf("transcript:\n%s", tr)
	}
}

func TestProbeESCPOSRefusesJob(t *testing.T) {
	for _, c := range []struct {
		setup func(*escpossim.Device)
		want  string
	}{
		{func(d *escpossim.Device) { d.SetPaper(escpos.PaperOut) }, "escpos: printer is out of paper; the receipt was not sent"},
		{func(d *escpossim.Device) { d.SetCover(true) }, "escpos: printer cover is open; the receipt was not sent"},
	} {
		dev, p := startPrinterSim(t)
		c.setup(dev)
		var out, errb bytes.Buffer
		err := run([]string{"--device", "escpos", "--port", p.Path(), "--print", "hello"}, &out, &errb)
		if err == nil || err.Error() != c.want {
			t.Fatalf("run = %v, want %q", err, c.want)
		}
		if out.Len() != 0 || len(dev.Transcript()) != 0 {
			t.Fatalf("output %q, transcript:\n%s", out.String(), dev.Transcript())
		}
	}
}

func TestProbeESCPOSErrors(t *testing.T) {
	_, p := startPrinterSim(t)
	p.Line().SetSilent(true)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--status", "--timeout", "500ms"}, "timeout: no valid escpos reply on " + p.Path() + " within 500ms"},
		{[]string{}, "escpos: give --status"},
		{[]string{"--print", "x", "--codepage", "cp866"}, `escpos: unknown code page "cp866"`},
		{[]string{"--print", "x", "--table", "256"}, "escpos: --table 256"},
		{[]string{"--qr", "a\x10b"}, "escpos: block 1 (qr"},
	} {
		var out, errb bytes.Buffer
		err := run(append([]string{"--device", "escpos", "--port", p.Path()}, c.args...), &out, &errb)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: run = %v, want a one-line %q", c.args, err, c.want)
		}
		if out.Len() != 0 {
			t.Errorf("%v: output %q", c.args, out.String())
		}
	}
}
