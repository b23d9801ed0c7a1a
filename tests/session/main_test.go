// Package session tests the terminal's locked-down session: the kiosk
// window inside Weston's kiosk-shell. The fast tests (this file's
// TestMain and nested_test.go, in make test) nest Weston in an Xvfb with
// its x11 backend, as the terminal's units configure it
// (provisioning/session); the machine test (machine_test.go, behind
// make test-packages) runs the real units under systemd with Weston's
// headless backend.
package session

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/tests/internal/harness"
	"github.com/quartierhub/quartierhub/tests/internal/xvfb"
)

var (
	kioskBin string
	repoRoot string
	skipWhy  string
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

// missing names the programs the nested session needs.
func missing() []string {
	out := xvfb.Missing()
	for _, p := range []string{"weston", "Xwayland", "xev", "gcc"} {
		if _, err := exec.LookPath(p); err != nil {
			out = append(out, p)
		}
	}
	return out
}

func run(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	root, err := harness.ModuleRoot(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	repoRoot = root
	if miss := missing(); len(miss) > 0 {
		msg := "session: missing " + strings.Join(miss, ", ") + " (provisioning/dev/deps.sh test installs them)"
		if os.Getenv("CI") == "true" {
			fmt.Fprintln(os.Stderr, msg)
			return 1
		}
		skipWhy = msg
		return m.Run()
	}
	// The window needs cgo; make test has just built it.
	if p, err := harness.Prebuilt("kiosk"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	} else if p != "" {
		kioskBin = p
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "qh-session-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	kioskBin = filepath.Join(dir, "kiosk")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", kioskBin, "./kiosk/cmd/kiosk")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "session: go build ./kiosk/cmd/kiosk: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

func needSession(t *testing.T) {
	t.Helper()
	if skipWhy != "" {
		t.Skip(skipWhy)
	}
}
