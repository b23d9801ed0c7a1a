package terminalapi_test

// End to end: the real hub handler on SQLite and a real kiosk agent in
// the same process, a simulated ESC/POS printer on a pty. (A test may
// import the kiosk; the hub's code never does.)

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/drivers/sim"
	"github.com/quartierhub/quartierhub/drivers/sim/escpossim"
	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/fleet"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/sqlitestore"
	"github.com/quartierhub/quartierhub/hub-server/internal/terminalapi"
	"github.com/quartierhub/quartierhub/kiosk/agent"
	"github.com/quartierhub/quartierhub/kiosk/config"
	"github.com/quartierhub/quartierhub/kiosk/hubsync"
	"github.com/quartierhub/quartierhub/kiosk/identity"
	"github.com/quartierhub/quartierhub/kiosk/localapi"
)

const validContent = `{"quarter":{"de":"Johannstadt"},"services":[{"id":"air","kind":"air","title":{"de":"Luft","en":"Air"}}]}`

type e2e struct {
	t       *testing.T
	st      *sqlitestore.Store
	srv     *httptest.Server
	dir     string
	cfg     config.Config
	printer *escpossim.Device
	termID  string
}

func newE2E(t *testing.T) *e2e {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	st, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "hub.db"), sqlitestore.Opts{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h := terminalapi.New(st, terminalapi.Opts{Logger: slog.New(slog.DiscardHandler),
		Fleet: terminalapi.FleetOpts{Configs: fleet.NewConfigs(st, fleet.ConfigsOpts{CheckEvery: -1})}})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	e := &e2e{t: t, st: st, srv: srv, dir: t.TempDir()}
	tok := "tok-e2e"
	if err := st.CreateEnrolToken(ctx, store.EnrolToken{Hash: sha256.Sum256([]byte(tok)), TerminalName: "jst-1", Quarter: "Johannstadt",
		CreatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	id, err := hubsync.Enroll(ctx, srv.URL, tok, hubsync.EnrollOpts{SoftwareVersion: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if err := identity.Save(e.dir, id); err != nil {
		t.Fatal(err)
	}
	e.termID = id.TerminalID
	e.printer = escpossim.New(escpossim.Opts{Out: io.Discard, Logger: slog.New(slog.DiscardHandler)})
	port, err := sim.Start(ctx, e.printer, sim.Opts{Link: filepath.Join(t.TempDir(), "printer")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { port.Close() })
	e.cfg = config.Config{Devices: config.Devices{Printer: &config.Device{Kind: "escpos", Port: port.Path()}}}
	return e
}

type runningAgent struct {
	a      *agent.Agent
	c      *localapi.Client
	cancel context.CancelFunc
	done   chan error
}

// start runs an agent on e.dir; heartbeats happen only when kicked.
func (e *e2e) start() *runningAgent {
	e.t.Helper()
	never := make(chan time.Time)
	a := agent.New(agent.Opts{DataDir: e.dir, Version: "9.9.9", Config: e.cfg, Logger: slog.New(slog.DiscardHandler),
		Sync:  hubsync.Opts{Interval: time.Hour, MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond},
		Fleet: agent.FleetOpts{After: func(time.Duration) <-chan time.Time { return never }}})
	ctx, cancel := context.WithCancel(context.Background())
	r := &runningAgent{a: a, c: localapi.NewClient(e.dir), cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- a.Run(ctx) }()
	select {
	case <-a.Ready():
	case err := <-r.done:
		e.t.Fatalf("agent stopped: %v", err)
	case <-time.After(10 * time.Second):
		e.t.Fatal("agent not ready")
	}
	return r
}

func (r *runningAgent) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	if err := <-r.done; err != nil {
		t.Errorf("agent Run: %v", err)
	}
}

// until kicks heartbeats until cond holds.
func until(t *testing.T, r *runningAgent, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		r.a.Heartbeat()
		time.Sleep(20 * time.Millisecond)
	}
}

func (e *e2e) put(scope, doc string) {
	e.t.Helper()
	if _, err := e.st.PutConfigLayer(context.Background(), scope, []byte(doc), store.Audit{At: time.Now(), Actor: "test", Action: "config.set", Subject: scope}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *e2e) effective() api.ConfigDocument {
	e.t.Helper()
	d, err := fleet.NewConfigs(e.st, fleet.ConfigsOpts{}).For(context.Background(), "Johannstadt", "jst-1")
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

func (e *e2e) send(kind, msg string, ttl time.Duration) string {
	e.t.Helper()
	id := kind + "-" + time.Now().Format("150405.000000000")
	now := time.Now()
	if err := e.st.CreateCommands(context.Background(), []store.Command{{ID: id, GroupID: id, TerminalID: e.termID, Kind: kind, Message: msg,
		Target: "terminal:jst-1", CreatedAt: now, CreatedBy: "test", ExpiresAt: now.Add(ttl)}}, store.Audit{At: now, Actor: "test", Action: "command.send"}); err != nil {
		e.t.Fatal(err)
	}
	return id
}

func (e *e2e) command(id string) store.Command {
	e.t.Helper()
	cs, err := e.st.Commands(context.Background(), store.CommandFilter{TerminalID: e.termID})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, c := range cs {
		if c.ID == id {
			return c
		}
	}
	e.t.Fatalf("no command %s", id)
	return store.Command{}
}

func TestAgentFleetEndToEnd(t *testing.T) {
	e := newE2E(t)
	ctx := context.Background()
	e.put("global", `{"settings":{"heartbeat_interval":"30s"},"content":`+validContent+`}`)
	e.put("quarter:Johannstadt", `{"content":{"languages":["de","en"]}}`)
	want := e.effective()

	r := e.start()
	// Heartbeat → current state at the hub; configuration applied and cached.
	until(t, r, "health and configuration", func() bool {
		cr, err := r.c.RemoteConfig(ctx)
		_, herr := e.st.Health(ctx, e.termID)
		return err == nil && cr.Version == want.Version && herr == nil
	})
	h, _ := e.st.Health(ctx, e.termID)
	var hb api.Heartbeat
	if err := json.Unmarshal(h.State, &hb); err != nil || hb.SoftwareVersion != "9.9.9" || len(hb.Devices) != 1 || hb.Devices[0].Name != "printer" ||
		hb.Outbox == nil || (hb.DiskTotalBytes == 0 && hb.DiskFreeBytes == 0) {
		t.Errorf("stored heartbeat %s", h.State)
	}
	if c, ok := r.a.RemoteContent(); !ok || c.Quarter["de"] != "Johannstadt" || len(c.Languages) != 2 {
		t.Errorf("remote content %+v, %v", c, ok)
	}
	if _, err := os.Stat(filepath.Join(e.dir, agent.RemoteConfigFile)); err != nil {
		t.Errorf("configuration not cached: %v", err)
	}
	if err := r.c.SetScreen(ctx, "attract"); err != nil {
		t.Fatal(err)
	}
	until(t, r, "screen state at the hub", func() bool {
		h, _ := e.st.Health(ctx, e.termID)
		return strings.Contains(string(h.State), `"screen":"attract"`)
	})

	// An invalid configuration is refused; the agent keeps the last good one.
	e.put("terminal:jst-1", `{"content":{"services":[]}}`)
	until(t, r, "refusal of the invalid configuration", func() bool {
		cr, _ := r.c.RemoteConfig(ctx)
		return cr.LastError != ""
	})
	if cr, _ := r.c.RemoteConfig(ctx); cr.Version != want.Version {
		t.Errorf("after an invalid configuration the agent runs %s, want %s", cr.Version, want.Version)
	}
	e.put("terminal:jst-1", `{}`)

	// Commands: maintenance, sync now, test print, diagnostics.
	on := e.send(api.CommandMaintenanceOn, "Wartung bis 14 Uhr", time.Hour)
	syncID := e.send(api.CommandSyncNow, "", time.Hour)
	printID := e.send(api.CommandTestPrint, "", time.Hour)
	diagID := e.send(api.CommandCollectDiagnostics, "", time.Hour)
	until(t, r, "four commands done", func() bool {
		for _, id := range []string{on, syncID, printID, diagID} {
			if e.command(id).State != api.CommandDone {
				return false
			}
		}
		return true
	})
	st, err := r.c.Status(ctx)
	if err != nil || st.Fleet == nil || !st.Fleet.Maintenance || st.Fleet.MaintenanceMessage != "Wartung bis 14 Uhr" {
		t.Errorf("status after maintenance_on: %+v, %v", st.Fleet, err)
	}
	tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := e.printer.WaitCuts(tctx, 1); err != nil {
		t.Fatalf("no receipt cut: %v", err)
	}
	if tr := e.printer.Transcript(); !strings.Contains(tr.String(), "test print") {
		t.Errorf("printed %s", tr)
	}
	res := e.command(diagID).Result
	i := strings.Index(res, "(diagnostics ")
	if i < 0 {
		t.Fatalf("diagnostics result %q", res)
	}
	d, err := e.st.Diagnostics(ctx, strings.TrimSuffix(res[i+len("(diagnostics "):], ")"))
	if err != nil {
		t.Fatal(err)
	}
	var bundle api.Diagnostics
	if err := json.Unmarshal(d.Bundle, &bundle); err != nil || len(bundle.Logs) == 0 || !strings.Contains(string(bundle.Status), `"version"`) {
		t.Errorf("diagnostics bundle: %d log lines, status %.100s, %v", len(bundle.Logs), bundle.Status, err)
	}
	r.stop(t)

	// Offline: a command queued while the agent is away is delivered when
	// it returns. restart: the agent stops with ErrRestart after acking and
	// reports done after it comes back.
	restart := e.send(api.CommandRestart, "", time.Hour)
	expired := e.send(api.CommandSyncNow, "", -time.Minute) // already past its expiry
	if c := e.command(restart); c.State != api.CommandQueued {
		t.Fatalf("restart command %s while the terminal is away", c.State)
	}
	r = e.start()
	r.a.Heartbeat()
	select {
	case err := <-r.done:
		if !errors.Is(err, agent.ErrRestart) {
			t.Fatalf("agent stopped with %v, want ErrRestart", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("agent did not stop for the restart command")
	}
	if c := e.command(restart); c.State != api.CommandDelivered {
		t.Errorf("restart command after the agent stopped: %s", c.State)
	}

	// Hub away: the restarted agent works on its cached configuration
	// and keeps maintenance on.
	e.srv.Close()
	r = e.start()
	cr, err := r.c.RemoteConfig(ctx)
	if err != nil || cr.Version != want.Version || cr.Source != "cache" {
		t.Errorf("configuration with the hub away: %+v, %v", cr, err)
	}
	if st, _ := r.c.Status(ctx); st.Fleet == nil || !st.Fleet.Maintenance {
		t.Errorf("maintenance lost across a restart: %+v", st.Fleet)
	}
	r.stop(t)
	if c := e.command(expired); c.State == api.CommandDone || c.State == api.CommandDelivered {
		t.Errorf("an expired command was delivered: %s", c.State)
	}
}

func TestAgentReportsRestartAfterComingBack(t *testing.T) {
	e := newE2E(t)
	ctx := context.Background()
	id := e.send(api.CommandRestart, "", time.Hour)
	r := e.start()
	r.a.Heartbeat()
	select {
	case err := <-r.done:
		if !errors.Is(err, agent.ErrRestart) {
			t.Fatalf("agent stopped with %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no restart")
	}
	r = e.start()
	until(t, r, "restart reported done", func() bool { return e.command(id).State == api.CommandDone })
	// Maintenance off persists too.
	off := e.send(api.CommandMaintenanceOff, "", time.Hour)
	until(t, r, "maintenance off", func() bool { return e.command(off).State == api.CommandDone })
	if st, _ := r.c.Status(ctx); st.Fleet == nil || st.Fleet.Maintenance {
		t.Errorf("maintenance after off: %+v", st.Fleet)
	}
	r.stop(t)
}
