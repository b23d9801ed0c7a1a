package agenthub

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/internal/testutil"
	"github.com/quartierhub/quartierhub/kiosk/agent"
	"github.com/quartierhub/quartierhub/kiosk/cli"
	"github.com/quartierhub/quartierhub/kiosk/hubsync"
	"github.com/quartierhub/quartierhub/kiosk/localapi"
)

// On a packaged terminal the agent runs before anyone enrols it, and
// backs off while it has no identity. `kiosk enroll` from a shell then
// asks it for a sync round, so the console sees the terminal at once, not
// after the backoff (here an hour, so only the nudge can do it).
func TestEnrollNudgesTheRunningAgent(t *testing.T) {
	e := newE2E(t)
	dir := t.TempDir() // no identity yet
	never := make(chan time.Time)
	a := agent.New(agent.Opts{DataDir: dir, Version: "9.9.9", Logger: slog.New(slog.DiscardHandler),
		Sync:  hubsync.Opts{Interval: time.Hour, MinBackoff: time.Hour, MaxBackoff: time.Hour},
		Fleet: agent.FleetOpts{After: func(time.Duration) <-chan time.Time { return never }}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-a.Ready():
	case err := <-done:
		t.Fatalf("agent stopped: %v", err)
	}
	c := localapi.NewClient(dir)
	testutil.Eventually(t, "the unenrolled agent's first failed round", func() bool {
		st, err := c.Status(ctx)
		return err == nil && st.Sync.LastError != ""
	})

	tok, err := e.hub.Token(ctx, "jst-2", "Johannstadt")
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := cli.Main(ctx, []string{"enroll", "--hub", e.hub.URL(), "--token", tok, "--data", dir}, strings.NewReader(""), &stdout, &stderr); code != 0 {
		t.Fatalf("kiosk enroll: exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "the running agent has synchronised") {
		t.Errorf("kiosk enroll said %q", stdout.String())
	}
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Sync.LastSync.IsZero() || !st.Sync.HubReachable {
		t.Errorf("after kiosk enroll the agent has not synchronised: %+v", st.Sync)
	}
}
