package agenthub

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/drivers/sim"
	"github.com/quartierhub/quartierhub/drivers/sim/escpossim"
	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/internal/testutil"
	"github.com/quartierhub/quartierhub/kiosk/agent"
	"github.com/quartierhub/quartierhub/kiosk/config"
	"github.com/quartierhub/quartierhub/kiosk/hubsync"
	"github.com/quartierhub/quartierhub/kiosk/identity"
	"github.com/quartierhub/quartierhub/kiosk/localapi"
	"github.com/quartierhub/quartierhub/tests/internal/harness"
)

// hubBin is built once in TestMain, or taken from $QH_BIN (make test).
var hubBin string

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "qh-agenthub-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if hubBin, err = harness.BuildHub(ctx, dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

const (
	terminalName  = "jst-1"
	validContent  = `{"quarter":{"de":"Johannstadt"},"services":[{"id":"air","kind":"air","title":{"de":"Luft","en":"Air"}}]}`
	hubCLITimeout = time.Minute
)

type e2e struct {
	t       *testing.T
	hub     *harness.Hub
	dir     string
	cfg     config.Config
	printer *escpossim.Device
	termID  string
}

// newE2E starts a hub, enrols a terminal named jst-1 with the kiosk's own
// enrolment and puts a simulated printer on a pty.
func newE2E(t *testing.T) *e2e {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	hub, err := harness.NewHub(harness.Bins{Hub: hubBin}, filepath.Join(t.TempDir(), "hub"))
	if err != nil {
		t.Fatal(err)
	}
	if err := hub.StartFresh(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = hub.Kill()
		if t.Failed() {
			t.Logf("hub log tail:\n%s", harness.Tail(hub.Log, 30))
		}
	})
	e := &e2e{t: t, hub: hub, dir: t.TempDir()}
	tok, err := hub.Token(ctx, terminalName, "Johannstadt")
	if err != nil {
		t.Fatal(err)
	}
	id, err := hubsync.Enroll(ctx, hub.URL(), tok, hubsync.EnrollOpts{SoftwareVersion: "test"})
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

// stopsForRestart waits for the agent to stop with ErrRestart.
func (r *runningAgent) stopsForRestart(t *testing.T) {
	t.Helper()
	select {
	case err := <-r.done:
		if !errors.Is(err, agent.ErrRestart) {
			t.Fatalf("agent stopped with %v, want ErrRestart", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("agent did not stop for the restart command")
	}
}

// until kicks heartbeats until cond holds.
func until(t *testing.T, r *runningAgent, what string, cond func() bool) {
	t.Helper()
	testutil.Eventually(t, what, func() bool {
		if cond() {
			return true
		}
		r.a.Heartbeat()
		return false
	}, testutil.Every(20*time.Millisecond))
}

// cli runs the hub's CLI on its data directory.
func (e *e2e) cli(args ...string) []byte {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hubCLITimeout)
	defer cancel()
	out, err := e.hub.CLI(ctx, args...)
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

// put sets the configuration layer of scope, as IT staff do.
func (e *e2e) put(scope, doc string) {
	e.t.Helper()
	f := filepath.Join(e.t.TempDir(), "layer.json")
	if err := os.WriteFile(f, []byte(doc), 0o600); err != nil {
		e.t.Fatal(err)
	}
	e.cli("config", "set", "--scope", scope, "--file", f)
}

// effectiveVersion is the version of the terminal's effective
// configuration (`config show --effective`: "# effective for NAME (Q), version V").
func (e *e2e) effectiveVersion() string {
	e.t.Helper()
	out := e.cli("config", "show", "--effective", terminalName)
	head, _, _ := strings.Cut(string(out), "\n")
	_, v, ok := strings.Cut(head, ", version ")
	if !ok || v == "" {
		e.t.Fatalf("config show --effective: %q", head)
	}
	return v
}

// health is the terminal's current health at the hub (its last
// heartbeat) from `terminal show`; nil before the first.
func (e *e2e) health() json.RawMessage {
	e.t.Helper()
	var shown struct{ Health json.RawMessage }
	if out := e.cli("terminal", "show", "--terminal", terminalName); json.Unmarshal(out, &shown) != nil {
		e.t.Fatalf("terminal show: %s", out)
	}
	return shown.Health
}

// send queues a command for the terminal that expires after ttl.
func (e *e2e) send(kind, msg string, ttl time.Duration) string {
	e.t.Helper()
	out := e.cli("command", "send", "--terminal", terminalName, "--kind", kind, "--message", msg, "--ttl", ttl.String())
	id, _, ok := strings.Cut(string(out), "\t")
	if !ok {
		e.t.Fatalf("command send printed %q", out)
	}
	return id
}

// command is a command as `command list` shows it.
type command struct{ State, Result string }

func (e *e2e) command(id string) command {
	e.t.Helper()
	out := e.cli("command", "list", "--terminal", terminalName)
	// ID TERMINAL KIND STATE TARGET CREATED BY EXPIRES RESULT; only
	// RESULT may hold spaces.
	for line := range strings.Lines(string(out)) {
		if f := strings.Fields(line); len(f) >= 8 && f[0] == id {
			return command{State: f[3], Result: strings.Join(f[8:], " ")}
		}
	}
	e.t.Fatalf("no command %s in:\n%s", id, out)
	return command{}
}

// diagnostics returns the bundle id as the hub stored it.
func (e *e2e) diagnostics(id string) api.Diagnostics {
	e.t.Helper()
	out := e.cli("diagnostics", "show", "--id", id)
	_, bundle, _ := bytes.Cut(out, []byte("\n")) // after "# terminal …, received …, command …"
	var d api.Diagnostics
	if err := json.Unmarshal(bundle, &d); err != nil {
		e.t.Fatalf("diagnostics show: %v in %s", err, out)
	}
	return d
}

func TestAgentFleetEndToEnd(t *testing.T) {
	e := newE2E(t)
	ctx := context.Background()
	e.put("global", `{"settings":{"heartbeat_interval":"30s"},"content":`+validContent+`}`)
	e.put("quarter:Johannstadt", `{"content":{"languages":["de","en"]}}`)
	want := e.effectiveVersion()

	r := e.start()
	// Heartbeat → current state at the hub; configuration applied and cached.
	until(t, r, "health and configuration", func() bool {
		cr, err := r.c.RemoteConfig(ctx)
		return err == nil && cr.Version == want && e.health() != nil
	})
	var hb api.Heartbeat
	if state := e.health(); json.Unmarshal(state, &hb) != nil || hb.SoftwareVersion != "9.9.9" || len(hb.Devices) != 1 || hb.Devices[0].Name != "printer" ||
		hb.Outbox == nil || (hb.DiskTotalBytes == 0 && hb.DiskFreeBytes == 0) {
		t.Errorf("stored heartbeat %s", state)
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
		var hb api.Heartbeat
		return json.Unmarshal(e.health(), &hb) == nil && hb.Screen == "attract"
	})

	// A configuration the terminal cannot run is refused; the agent keeps
	// the last good one. (The hub refuses invalid content itself, so what
	// reaches a terminal invalid is a devices section: a sensor of an
	// unknown kind.)
	e.put("terminal:"+terminalName, `{"settings":{"devices":{"sensors":[{"kind":"bme280","port":"/dev/null","id":"co2-1"}]}}}`)
	until(t, r, "refusal of the invalid configuration", func() bool {
		cr, _ := r.c.RemoteConfig(ctx)
		return cr.LastError != ""
	})
	if cr, _ := r.c.RemoteConfig(ctx); cr.Version != want {
		t.Errorf("after an invalid configuration the agent runs %s, want %s", cr.Version, want)
	}
	e.put("terminal:"+terminalName, `{}`)

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
	bundle := e.diagnostics(strings.TrimSuffix(res[i+len("(diagnostics "):], ")"))
	if len(bundle.Logs) == 0 || !strings.Contains(string(bundle.Status), `"version"`) {
		t.Errorf("diagnostics bundle: %d log lines, status %.100s", len(bundle.Logs), bundle.Status)
	}
	r.stop(t)

	// Offline: a command queued while the agent is away is delivered when
	// it returns. restart: the agent stops with ErrRestart after acking and
	// reports done after it comes back.
	restart := e.send(api.CommandRestart, "", time.Hour)
	// Expires a millisecond after it is queued: long past by the time the
	// agent is back (the CLI takes no shorter a TTL).
	expired := e.send(api.CommandSyncNow, "", time.Millisecond)
	if c := e.command(restart); c.State != api.CommandQueued {
		t.Fatalf("restart command %s while the terminal is away", c.State)
	}
	r = e.start()
	r.a.Heartbeat()
	r.stopsForRestart(t)
	if c := e.command(restart); c.State != api.CommandDelivered {
		t.Errorf("restart command after the agent stopped: %s", c.State)
	}

	// Hub away: the restarted agent works on its cached configuration
	// and keeps maintenance on.
	if err := e.hub.Stop(); err != nil {
		t.Fatal(err)
	}
	r = e.start()
	cr, err := r.c.RemoteConfig(ctx)
	if err != nil || cr.Version != want || cr.Source != "cache" {
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
	r.stopsForRestart(t)
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
