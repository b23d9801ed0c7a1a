package agent_test

import (
	"context"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/drivers/sim"
	"github.com/quartierhub/quartierhub/drivers/sim/mhz19sim"
	"github.com/quartierhub/quartierhub/drivers/sim/rdm6300sim"
	"github.com/quartierhub/quartierhub/internal/fakehub"
	"github.com/quartierhub/quartierhub/internal/testutil"
	"github.com/quartierhub/quartierhub/kiosk/agent"
	"github.com/quartierhub/quartierhub/kiosk/config"
	"github.com/quartierhub/quartierhub/kiosk/hubsync"
	"github.com/quartierhub/quartierhub/kiosk/identity"
	"github.com/quartierhub/quartierhub/kiosk/localapi"
)

// fleetRig is an enrolled data directory, its hub and simulated devices.
type fleetRig struct {
	dir        string
	hub        *fakehub.Hub
	cfg        config.Config
	co2A, co2B *mhz19sim.Device
	pathA      string
	pathB      string
}

func newFleetRig(t *testing.T) *fleetRig {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	simDir := t.TempDir()
	start := func(d sim.Device, name string) string {
		p, err := sim.Start(ctx, d, sim.Opts{Link: filepath.Join(simDir, name), Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		return p.Path()
	}
	r := &fleetRig{dir: t.TempDir(), hub: fakehub.Start(t, fakehub.Opts{}),
		co2A: mhz19sim.New(mhz19sim.Opts{CO2: 611}), co2B: mhz19sim.New(mhz19sim.Opts{CO2: 922})}
	if err := identity.Save(r.dir, identity.Identity{TerminalID: "T1", Name: "test", Quarter: "Johannstadt", HubURL: r.hub.URL(), Key: r.hub.NewTerminal("T1")}); err != nil {
		t.Fatal(err)
	}
	r.pathA, r.pathB = start(r.co2A, "co2-a"), start(r.co2B, "co2-b")
	r.cfg = config.Config{Devices: config.Devices{
		CardReader: &config.Device{Kind: "rdm6300", Port: start(rdm6300sim.New(rdm6300sim.Opts{}), "rfid")},
		Sensors:    []config.Device{{Kind: "mhz19", Port: r.pathA, ID: "co2-1", Interval: config.Duration{Duration: 50 * time.Millisecond}}},
	}}
	if err := r.cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return r
}

type fleetAgent struct {
	a    *agent.Agent
	c    *localapi.Client
	stop func()
}

// start runs an agent whose heartbeats happen only when kicked; mod, if
// given, changes its options first.
func (r *fleetRig) start(t *testing.T, mod ...func(*agent.Opts)) *fleetAgent {
	t.Helper()
	never := make(chan time.Time)
	opts := agent.Opts{DataDir: r.dir, Config: r.cfg, Logger: slog.New(slog.DiscardHandler),
		Sync:  hubsync.Opts{Interval: time.Hour, MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond},
		Fleet: agent.FleetOpts{After: func(time.Duration) <-chan time.Time { return never }}}
	for _, m := range mod {
		m(&opts)
	}
	a := agent.New(opts)
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
		if !stopped {
			stopped = true
			cancel()
			if err := <-done; err != nil {
				t.Errorf("agent Run: %v", err)
			}
		}
	}
	t.Cleanup(stop)
	return &fleetAgent{a: a, c: localapi.NewClient(r.dir), stop: stop}
}

// kickUntil sends heartbeats until cond holds.
func (fa *fleetAgent) kickUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testutil.Eventually(t, what, func() bool {
		if cond() {
			return true
		}
		fa.a.Heartbeat()
		return false
	})
}

// sensor returns the co2-1 sensor's path and last value from the status.
func (fa *fleetAgent) sensor(t *testing.T) (path string, co2 float64, since time.Time) {
	t.Helper()
	st, err := fa.c.Status(context.Background())
	if err != nil {
		return "", 0, time.Time{}
	}
	for _, d := range st.Devices {
		if d.Name == "co2-1" {
			v, _ := d.Detail["co2"].(float64)
			return d.Path, v, d.Since
		}
	}
	return "", 0, time.Time{}
}

func (fa *fleetAgent) device(t *testing.T, name string) localapi.Device {
	t.Helper()
	st, err := fa.c.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range st.Devices {
		if d.Name == name {
			return d
		}
	}
	t.Fatalf("no device %s in %+v", name, st.Devices)
	return localapi.Device{}
}

// The hub's settings reach a running agent: the sensor moves to another
// simulated port and reads from it, the sync interval changes, and the
// card reader, unchanged, is not touched; the agent never restarts. An
// invalid devices section is refused (logged reason, local API, a
// record at the hub) and the devices keep running; after a restart with
// the hub away, the cached settings apply from the start.
func TestHubSettingsApplyWithoutRestart(t *testing.T) {
	r := newFleetRig(t)
	ctx := context.Background()
	fa := r.start(t)
	testutil.Eventually(t, "readings from the local file's port", func() bool {
		p, v, _ := fa.sensor(t)
		return p == r.pathA && v == 611
	})
	rfid := fa.device(t, "card_reader")
	st0, _ := fa.c.Status(ctx)

	good := `{"settings":{"sync_interval":"7s","devices":{"sensors":[{"kind":"mhz19","port":"` + r.pathB + `","id":"co2-1","interval":"50ms"}]}}}`
	v1 := r.hub.SetConfig(good)
	fa.kickUntil(t, "the new port's readings", func() bool {
		p, v, _ := fa.sensor(t)
		return p == r.pathB && v == 922
	})
	if cr, _ := fa.c.RemoteConfig(ctx); cr.Version != v1 || cr.LastError != "" {
		t.Fatalf("configuration %s (error %q), want %s", cr.Version, cr.LastError, v1)
	}
	st, err := fa.c.Status(ctx)
	if err != nil || !st.Started.Equal(st0.Started) {
		t.Fatalf("the agent restarted: started %v, was %v (%v)", st.Started, st0.Started, err)
	}
	if d := fa.device(t, "card_reader"); d.State != "connected" || !d.Since.Equal(rfid.Since) {
		t.Fatalf("the unchanged card reader was touched: %+v, was %+v", d, rfid)
	}
	// The new sync interval governs the idle wait.
	if _, err := fa.c.SyncNow(ctx); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, "a 7 s idle wait", func() bool {
		st, err := fa.c.Status(ctx)
		if err != nil || st.Sync.NextAttempt.IsZero() {
			return false
		}
		wait := st.Sync.NextAttempt.Sub(st.Sync.LastAttempt)
		return wait >= 7*time.Second && wait < time.Minute
	})

	// Invalid sections: refused, reported, the sensor stays on port B.
	for i, bad := range []string{
		`{"settings":{"devices":{"sensors":[{"kind":"bme280","port":"` + r.pathA + `","id":"co2-1"}]}}}`,
		`{"settings":{"devices":{"sensors":[{"kind":"mhz19","port":"ttyUSB0","id":"co2-1"}]}}}`,
		`{"settings":{"devices":{"sensors":[{"kind":"mhz19","port":"` + r.pathA + `","id":"co2-1","interval":"-1s"}]}}}`,
		// Only the card reader replaced: it would share port A with the local file's sensor.
		`{"settings":{"devices":{"card_reader":{"kind":"pn532","port":"` + r.pathA + `"}}}}`,
	} {
		vBad := r.hub.SetConfig(bad)
		fa.kickUntil(t, "the refusal", func() bool {
			cr, _ := fa.c.RemoteConfig(ctx)
			return strings.Contains(cr.LastError, vBad)
		})
		if cr, _ := fa.c.RemoteConfig(ctx); cr.Version != v1 {
			t.Fatalf("bad section %d: running %s, want %s", i, cr.Version, v1)
		}
		testutil.Eventually(t, "the refusal at the hub", func() bool {
			_, _ = fa.c.SyncNow(ctx)
			for _, rec := range r.hub.RecordsOf(agent.ConfigRefusedRecord) {
				if strings.Contains(string(rec.Payload), vBad) && strings.Contains(string(rec.Payload), `"running":"`+v1+`"`) {
					return true
				}
			}
			return false
		})
		// More heartbeats: the hub keeps seeing the version that runs, and
		// the refused one is not fetched again.
		n0 := len(r.hub.Heartbeats())
		fa.kickUntil(t, "three more heartbeats", func() bool { return len(r.hub.Heartbeats()) >= n0+3 })
		hbs := r.hub.Heartbeats()
		if hb := hbs[len(hbs)-1]; hb.ConfigVersion != v1 {
			t.Fatalf("heartbeat reports configuration %s, want the running %s", hb.ConfigVersion, v1)
		}
	}
	for v, n := range r.hub.ConfigVersionsServed() {
		if n != 1 {
			t.Errorf("version %s fetched %d times", v, n)
		}
	}
	readsB := r.co2B.Reads()
	testutil.Eventually(t, "the sensor still on port B", func() bool {
		p, v, _ := fa.sensor(t)
		return p == r.pathB && v == 922 && r.co2B.Reads() > readsB+2
	})
	if d := fa.device(t, "card_reader"); d.Kind != "rdm6300" || !d.Since.Equal(rfid.Since) {
		t.Fatalf("a refused section touched the card reader: %+v", d)
	}

	// Restart with the hub away: the cached version's devices from the start.
	fa.stop()
	r.hub.Inject("", fakehub.Always, fakehub.Fault{Status: http.StatusServiceUnavailable}) // the hub away
	readsA := r.co2A.Reads()
	fa = r.start(t)
	if cr, err := fa.c.RemoteConfig(ctx); err != nil || cr.Version != v1 || cr.Source != "cache" {
		t.Fatalf("configuration with the hub away: %+v, %v", cr, err)
	}
	if p, _, _ := fa.sensor(t); p != r.pathB {
		t.Fatalf("after a restart the sensor runs on %s, want the cached %s", p, r.pathB)
	}
	testutil.Eventually(t, "readings from the cached port", func() bool {
		_, v, _ := fa.sensor(t)
		return v == 922
	})
	// At most a request left in the pty's buffer by the stopped agent.
	if n := r.co2A.Reads(); n > readsA+1 {
		t.Fatalf("the local file's port was read %d times after a restart on the cached configuration", n-readsA)
	}

	// The hub drops the devices section: back to the local file's port.
	r.hub.ClearFaults()
	r.hub.SetConfig(`{"settings":{"heartbeat_interval":"30s"}}`)
	fa.kickUntil(t, "the local file's port again", func() bool {
		p, v, _ := fa.sensor(t)
		return p == r.pathA && v == 611
	})
}

// A cached devices section that no longer fits the local file (edited
// since) is not applied at start: the local file's devices run and the
// local API says why.
func TestCachedDevicesThatNoLongerFit(t *testing.T) {
	r := newFleetRig(t)
	fa := r.start(t)
	v1 := r.hub.SetConfig(`{"settings":{"devices":{"sensors":[{"kind":"mhz19","port":"` + r.pathB + `","id":"co2-1","interval":"50ms"}]}}}`)
	fa.kickUntil(t, "the hub's configuration", func() bool {
		p, _, _ := fa.sensor(t)
		return p == r.pathB
	})
	fa.stop()

	r.hub.Inject("", fakehub.Always, fakehub.Fault{Status: http.StatusServiceUnavailable}) // the hub away
	cr := *r.cfg.Devices.CardReader
	cr.Port = r.pathB // the local file now puts the card reader on B
	r.cfg.Devices.CardReader = &cr
	fa = r.start(t)
	got, err := fa.c.RemoteConfig(context.Background())
	if err != nil || got.Version != v1 || !strings.Contains(got.LastError, "already used by") {
		t.Fatalf("configuration %+v, %v", got, err)
	}
	testutil.Eventually(t, "the local file's sensor port", func() bool {
		p, v, _ := fa.sensor(t)
		return p == r.pathA && v == 611
	})
}
