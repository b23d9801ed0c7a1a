package agent_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/drivers/sim"
	"github.com/quartierhub/quartierhub/drivers/sim/mhz19sim"
	"github.com/quartierhub/quartierhub/drivers/sim/rdm6300sim"
	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/internal/fakehub"
	"github.com/quartierhub/quartierhub/internal/testutil"
	"github.com/quartierhub/quartierhub/kiosk/agent"
	"github.com/quartierhub/quartierhub/kiosk/aggregate"
	"github.com/quartierhub/quartierhub/kiosk/config"
	"github.com/quartierhub/quartierhub/kiosk/devices"
	"github.com/quartierhub/quartierhub/kiosk/hubsync"
	"github.com/quartierhub/quartierhub/kiosk/identity"
	"github.com/quartierhub/quartierhub/kiosk/localapi"
)

// startAgent runs an agent enrolled as T1 with a fake hub on the agent's
// clock.
func startAgent(t *testing.T, opts agent.Opts) (*localapi.Client, *fakehub.Hub) {
	t.Helper()
	dir := t.TempDir()
	h := fakehub.Start(t, fakehub.Opts{Now: opts.Now})
	if err := identity.Save(dir, identity.Identity{TerminalID: "T1", Name: "test", Quarter: "Johannstadt", HubURL: h.URL(), Key: h.NewTerminal("T1")}); err != nil {
		t.Fatal(err)
	}
	return runAgent(t, dir, opts), h
}

// runAgent runs an agent on dir until the test ends.
func runAgent(t *testing.T, dir string, opts agent.Opts) *localapi.Client {
	t.Helper()
	opts.DataDir = dir
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Sync.Interval == 0 {
		opts.Sync = hubsync.Opts{Interval: time.Hour, MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}
	}
	a := agent.New(opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("agent Run: %v", err)
		}
	})
	select {
	case <-a.Ready():
	case err := <-done:
		t.Fatalf("agent stopped: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("agent not ready")
	}
	return localapi.NewClient(dir)
}

func TestSubmitIsDurableAndSyncs(t *testing.T) {
	c, h := startAgent(t, agent.Opts{})
	ctx := context.Background()
	resp, err := c.Submit(ctx, localapi.SubmitRequest{Type: "problem_report", Payload: map[string]any{"category": "litter"}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Class != "resident" || len(resp.ID) != 26 {
		t.Fatalf("submit answer %+v", resp)
	}
	if _, err := c.Submit(ctx, localapi.SubmitRequest{Type: "problem_report", Payload: "not an object"}); err == nil {
		t.Fatal("a non-object payload was accepted")
	}
	if _, err := c.Submit(ctx, localapi.SubmitRequest{Type: "x", Class: "urgent", Payload: map[string]any{}}); err == nil {
		t.Fatal("an unknown class was accepted")
	}
	if _, err := c.SyncNow(ctx); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, "the report at the hub", func() bool { return len(h.RecordsOf("problem_report")) == 1 })
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Terminal.Enrolled || !st.Sync.HubReachable || st.Sync.LastSync.IsZero() || st.Outbox.Classes["resident"].Count != 0 {
		t.Fatalf("status after sync: %+v", st)
	}
}

// Devices on simulated ports feed the outbox: state changes as device
// events, CO2 readings as per-minute aggregates. The clock runs 120× fast
// so minutes pass in half a second.
func TestDevicesFeedTheOutbox(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	co2 := mhz19sim.New(mhz19sim.Opts{CO2: 612})
	co2Port, err := sim.Start(ctx, co2, sim.Opts{Link: filepath.Join(dir, "co2")})
	if err != nil {
		t.Fatal(err)
	}
	defer co2Port.Close()
	rfid := rdm6300sim.New(rdm6300sim.Opts{})
	rfidPort, err := sim.Start(ctx, rfid, sim.Opts{Link: filepath.Join(dir, "rfid")})
	if err != nil {
		t.Fatal(err)
	}
	defer rfidPort.Close()

	start := time.Now()
	fast := func() time.Time { return start.Add(time.Since(start) * 120) }
	cfg := config.Config{Devices: config.Devices{
		CardReader: &config.Device{Kind: "rdm6300", Port: rfidPort.Path()},
		Sensors:    []config.Device{{Kind: "mhz19", Port: co2Port.Path(), ID: "co2-1", Interval: config.Duration{Duration: 50 * time.Millisecond}}},
	}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	cards := make(chan devices.Card, 8)
	c, h := startAgent(t, agent.Opts{
		Config:    cfg,
		Now:       fast,
		Aggregate: aggregate.Opts{Tick: 20 * time.Millisecond, Grace: time.Second},
		Devices:   devices.Opts{OnCard: func(cd devices.Card) { cards <- cd }},
	})
	if err := rfid.Present("01004CA53B"); err != nil {
		t.Fatal(err)
	}
	select {
	case cd := <-cards:
		if !cd.Presented || cd.UID != "01004CA53B" {
			t.Fatalf("card %+v", cd)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no card")
	}
	ctxb := context.Background()
	testutil.Eventually(t, "device states in the status", func() bool {
		st, err := c.Status(ctxb)
		if err != nil || len(st.Devices) != 2 {
			return false
		}
		for _, d := range st.Devices {
			if d.State != "connected" {
				return false
			}
			if d.Name == "co2-1" && d.Detail["co2"] != float64(612) {
				return false
			}
		}
		return true
	})
	testutil.Eventually(t, "sensor minutes and device events at the hub", func() bool {
		if _, err := c.SyncNow(ctxb); err != nil {
			return false
		}
		return len(h.RecordsOf("sensor_minute")) >= 2 && len(h.RecordsOf("device_event")) >= 2
	})
	for _, r := range h.Records() {
		if r.Type == "device_event" && string(r.Payload) != "" && json.Valid(r.Payload) {
			var e devices.Event
			_ = json.Unmarshal(r.Payload, &e)
			if e.Device == "" || e.State == "" {
				t.Fatalf("device event %s", r.Payload)
			}
		}
		if r.Type == "sensor_minute" {
			var m aggregate.Aggregate
			if err := json.Unmarshal(r.Payload, &m); err != nil || m.Sensor != "co2-1" || m.Quantity != "co2" {
				t.Fatalf("sensor minute %s", r.Payload)
			}
			if m.Count > 0 && (m.Mean != 612 || m.Min != 612 || m.Max != 612) {
				t.Fatalf("aggregate of a steady 612 ppm: %+v", m)
			}
		}
		if string(r.Payload) != "" && containsUID(r.Payload) {
			t.Fatalf("a card UID reached the hub: %s", r.Payload)
		}
	}
}

// TestSubmitRefusesWhatTheHubRefuses: the local API refuses, with the
// hub's reason, a record the hub would refuse, and stores nothing.
func TestSubmitRefusesWhatTheHubRefuses(t *testing.T) {
	c, _ := startAgent(t, agent.Opts{})
	ctx := context.Background()
	for _, req := range []localapi.SubmitRequest{
		{Type: "Bad Type!", Payload: map[string]any{}},
		{Type: "problem_report", Payload: map[string]any{"category": "litter", "text": strings.Repeat("x", 70<<10)}},
		{Type: "problem_report", Payload: map[string]any{"foo": 1}},
		{Type: "problem_report", Class: "event", Payload: map[string]any{"category": "litter"}},
		{Type: "survey_response", Payload: map[string]any{"survey": "s", "respondent": strings.Repeat("0", 64), "once": "card", "answers": map[string]any{"q": map[string]any{}}}},
	} {
		_, err := c.Submit(ctx, req)
		if !errors.Is(err, localapi.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", req.Type, err)
			continue
		}
		p, _ := json.Marshal(req.Payload)
		class := req.Class
		if class == "" {
			class = agent.ClassOf(req.Type).String()
		}
		if want := api.ValidatePayload(req.Type, class, p); want == nil || !strings.Contains(err.Error(), want.Error()) {
			t.Errorf("%s: %v does not give the hub's reason %v", req.Type, err, want)
		}
	}
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for class, q := range st.Outbox.Classes {
		if q.Count != 0 {
			t.Errorf("outbox holds %d %s records, want none", q.Count, class)
		}
	}
}
