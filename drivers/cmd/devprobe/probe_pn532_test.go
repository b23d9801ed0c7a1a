package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/drivers/sim"
	"github.com/quartierhub/quartierhub/drivers/sim/pn532sim"
	"github.com/quartierhub/quartierhub/drivers/sim/rdm6300sim"
)

func startPN532Sim(t *testing.T, dev sim.Device) *sim.Port {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p, err := sim.Start(ctx, dev, sim.Opts{Link: filepath.Join(t.TempDir(), "dev")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		p.Close()
	})
	return p
}

// pn532Output is stdout shared between run and the test goroutine.
type pn532Output struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (o *pn532Output) Write(b []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.Write(b)
}

func (o *pn532Output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

func TestProbePN532PrintsPresentationsAndRemovals(t *testing.T) {
	dev := pn532sim.New(pn532sim.Opts{})
	p := startPN532Sim(t, dev)
	if err := dev.Tap("DEADBEEF", 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	var out pn532Output
	var errb bytes.Buffer
	// Once the first card is gone, the second comes.
	go func() {
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(out.String(), `"removed"`) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		dev.Present("04112233445566")
	}()
	err := run([]string{"--device", "pn532", "--port", p.Path(), "--count", "2", "--interval", "30ms"}, &out, &errb)
	if err != nil {
		t.Fatalf("run: %v (stderr %q)", err, errb.String())
	}
	type line struct {
		Device, Event, UID string
		Time               time.Time
	}
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var v line
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		if v.Device != "pn532" || v.Time.IsZero() {
			t.Fatalf("line %q", l)
		}
		got = append(got, v.Event+" "+v.UID)
	}
	want := "presented DEADBEEF|removed DEADBEEF|presented 04112233445566"
	if strings.Join(got, "|") != want {
		t.Fatalf("printed %v, want %s", got, want)
	}
}

func TestProbePN532SilentChipTimesOut(t *testing.T) {
	p := startPN532Sim(t, pn532sim.New(pn532sim.Opts{}))
	p.Line().SetSilent(true)
	var out, errb bytes.Buffer
	err := run([]string{"--device", "pn532", "--port", p.Path(), "--timeout", "700ms"}, &out, &errb)
	if err == nil || !strings.HasPrefix(err.Error(), "timeout: no valid pn532 reply") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("run = %v, want a one-line timeout error", err)
	}
	if out.Len() != 0 {
		t.Fatalf("printed %q", out.String())
	}
}

func TestProbePN532WrongDevice(t *testing.T) {
	// An RDM6300 chattering at 9600 baud where a PN532 should be.
	rdm := rdm6300sim.New(rdm6300sim.Opts{})
	p := startPN532Sim(t, rdm)
	if err := rdm.Present("01004CA53B"); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	err := run([]string{"--device", "pn532", "--port", p.Path(), "--timeout", "700ms"}, &out, &errb)
	if err == nil || !strings.HasPrefix(err.Error(), "timeout: ") {
		t.Fatalf("run = %v, want a timeout", err)
	}
}
