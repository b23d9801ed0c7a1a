package updater_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/internal/fakehub"
	"github.com/quartierhub/quartierhub/internal/testutil"
	"github.com/quartierhub/quartierhub/kiosk/agent"
	"github.com/quartierhub/quartierhub/kiosk/identity"
	"github.com/quartierhub/quartierhub/kiosk/localapi"
	"github.com/quartierhub/quartierhub/kiosk/updater"
)

func writeIdentity(t *testing.T, dir, hubURL string) {
	t.Helper()
	key, err := identity.NewKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := identity.Save(dir, identity.Identity{TerminalID: "T1", Name: "t", Quarter: "q", HubURL: hubURL, Key: key}); err != nil {
		t.Fatal(err)
	}
}

func TestHubURL(t *testing.T) {
	dir := t.TempDir()
	if _, err := updater.HubURL(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("not enrolled: %v", err)
	}
	writeIdentity(t, dir, "https://hub.example.org/")
	if got, err := updater.HubURL(dir); err != nil || got != "https://hub.example.org" {
		t.Fatalf("%q %v", got, err)
	}
	for _, bad := range []string{`{"hub_url":"file:///etc/passwd"}`, `{"hub_url":"https://"}`, `{"hub_url":"https://h/?x=1"}`, `{"hub_url":`} {
		if err := os.WriteFile(filepath.Join(dir, "identity.json"), []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		if got, err := updater.HubURL(dir); err == nil {
			t.Fatalf("%s accepted as %q", bad, got)
		}
	}
}

// The daemon repairs an interrupted trial at start even before the
// terminal is enrolled, then, once enrolled, installs the offered
// release from the hub's /tuf/v1 (the address from the identity).
func TestDaemonRecoversThenInstalls(t *testing.T) {
	term := newTerminal(t, "1.0.0")
	kioskDir := t.TempDir()
	term.cfg.OfferPath = filepath.Join(kioskDir, updater.OfferFile)
	term.cfg.SessionLockPath = ""
	term.repo.addRelease("1.1.0", makeRelease(t, "1.1.0", "good"))
	term.offer("1.1.0")
	cfg := term.cfg
	updater.SetAfterStep(&cfg, func(s string) error {
		if s == "restarted" {
			return errKilled
		}
		return nil
	})
	u, _ := updater.New(cfg)
	if _, err := u.RunOnce(context.Background()); !errors.Is(err, errKilled) {
		t.Fatalf("RunOnce: %v", err)
	}
	if term.currentVersion() != "1.1.0" {
		t.Fatal("the crash left no trial to recover")
	}

	// Not enrolled: recovery only; the first sleep ends the run.
	before := len(term.repo.requestLog())
	ctx, cancel := context.WithCancel(context.Background())
	term.clock.onSleep = func(time.Time) { cancel() }
	d := updater.Daemon{Config: term.cfg, KioskDataDir: kioskDir, Interval: time.Hour}
	if err := d.Run(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v", err)
	}
	if v := term.currentVersion(); v != "" {
		t.Fatalf("current %q: the interrupted trial was not rolled back", v)
	}
	if got := term.repo.requestLog()[before:]; len(got) != 0 {
		t.Fatalf("requests without a hub address: %v", got)
	}

	writeIdentity(t, kioskDir, term.repo.srv.URL)
	ctx, cancel = context.WithCancel(context.Background())
	term.clock.onSleep = func(time.Time) {
		if data, err := os.ReadFile(filepath.Join(term.dir, "journal.json")); err == nil && strings.Contains(string(data), `"floor": "1.1.0"`) {
			cancel()
		}
	}
	if err := d.Run(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v", err)
	}
	if v := term.currentVersion(); v != "1.1.0" {
		t.Fatalf("current %q", v)
	}
	for _, r := range term.repo.requestLog() {
		if !strings.HasPrefix(r, "GET /metadata/") && !strings.HasPrefix(r, "GET /targets/") {
			t.Fatalf("request %q", r)
		}
	}
}

// The gate's agent check asks the real agent over its socket.
func TestAgentCheck(t *testing.T) {
	dir := t.TempDir()
	check := updater.AgentCheck{DataDir: dir}
	if err := check.AgentHealthy(context.Background(), "1.1.0"); !errors.Is(err, localapi.ErrNoAgent) {
		t.Fatalf("no agent: %v", err)
	}
	hub := fakehub.Start(t, fakehub.Opts{})
	if err := identity.Save(dir, identity.Identity{TerminalID: "T1", Name: "t", Quarter: "q", HubURL: hub.URL(), Key: hub.NewTerminal("T1")}); err != nil {
		t.Fatal(err)
	}
	a := agent.New(agent.Opts{DataDir: dir, Version: "1.1.0", Logger: slog.New(slog.DiscardHandler)})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	<-a.Ready()
	testutil.EventuallyOK(t, "a healthy agent", func() error { return check.AgentHealthy(context.Background(), "1.1.0") })
	if err := check.AgentHealthy(context.Background(), "1.2.0"); err == nil || !strings.Contains(err.Error(), "agent runs") {
		t.Fatalf("wrong version: %v", err)
	}
	hub.Stop()
	testutil.Eventually(t, "the hub's absence noticed", func() bool {
		a.Heartbeat()
		err := check.AgentHealthy(context.Background(), "1.1.0")
		return err != nil && strings.Contains(err.Error(), "heartbeat failing")
	})
}

// --check names what the updater needs and what is missing, against a
// real agent.
func TestCheck(t *testing.T) {
	dir := t.TempDir()
	hub := fakehub.Start(t, fakehub.Opts{})
	if err := identity.Save(dir, identity.Identity{TerminalID: "T1", Name: "t", Quarter: "q", HubURL: hub.URL(), Key: hub.NewTerminal("T1")}); err != nil {
		t.Fatal(err)
	}
	a := agent.New(agent.Opts{DataDir: dir, Version: "1.1.0", Logger: slog.New(slog.DiscardHandler)})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	<-a.Ready()
	root := filepath.Join(t.TempDir(), "root.json")
	if err := os.WriteFile(root, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	d := updater.Daemon{KioskDataDir: dir, Config: updater.Config{Dir: t.TempDir(), RootPath: root, InstalledVersion: "1.1.0",
		Units: []string{"quartierhub-agent.service"}, Services: &fakeSystem{},
		ClockSynced: func(context.Context) (bool, error) { return true, nil }}}
	failed := func() []string {
		var out []string
		for _, it := range d.Check(context.Background()) {
			if it.Err != nil {
				out = append(out, it.What+": "+it.Err.Error())
			}
		}
		return out
	}
	testutil.Eventually(t, "every check passing", func() bool { return len(failed()) == 0 })
	// Without a current release the agent must run the package's own
	// version string.
	d.PackageVersion = "1.1.0+git20261207"
	if got := failed(); len(got) != 1 || !strings.Contains(got[0], `agent runs "1.1.0", want 1.1.0+git20261207`) {
		t.Fatalf("failed checks %q", got)
	}
	d.PackageVersion = ""
	os.Remove(root)
	d.Config.ClockSynced = func(context.Context) (bool, error) { return false, nil }
	got := failed()
	if len(got) != 2 || !strings.Contains(got[0], "pinned TUF root") || !strings.Contains(got[1], "clock") {
		t.Fatalf("failed checks %q", got)
	}
}
