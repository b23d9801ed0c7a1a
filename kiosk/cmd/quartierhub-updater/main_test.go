package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/internal/testutil"
	"github.com/quartierhub/quartierhub/kiosk/updater/handoff"
)

// At start the journal is recovered, even on a terminal not enrolled and
// without a pinned root; a stop signal ends the service cleanly.
func TestRecoversAtStartAndStops(t *testing.T) {
	dir, kiosk := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "journal.json"), []byte(`{"state":"downloading","to":"1.1.0"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--dir", dir, "--kiosk-data", kiosk, "--root", filepath.Join(t.TempDir(), "none.json"), "--log-level", "error"})
	}()
	testutil.Eventually(t, "the interrupted download recovered", func() bool {
		st, err := handoff.ReadStatus(dir)
		return err == nil && st.State == handoff.StateIdle
	})
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("did not stop")
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{{"--window", "25:00-26:00"}, {"--rate-limit", "-1"}, {"--log-level", "loud"}} {
		if err := run(context.Background(), args); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}

// --once recovers, runs one round and returns its failure instead of
// waiting for the next: here the terminal is not enrolled.
func TestOnce(t *testing.T) {
	dir, kiosk := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "journal.json"), []byte(`{"state":"downloading","to":"1.1.0"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := run(ctx, []string{"--once", "--dir", dir, "--kiosk-data", kiosk, "--root", filepath.Join(t.TempDir(), "none.json"), "--log-level", "error"})
	if err == nil || ctx.Err() != nil || !strings.Contains(err.Error(), "identity") {
		t.Fatalf("run --once, not enrolled: %v (ctx %v)", err, ctx.Err())
	}
	if st, err := handoff.ReadStatus(dir); err != nil || st.State != handoff.StateIdle {
		t.Fatalf("not recovered: %+v, %v", st, err)
	}
}
