package e2e

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

// bins are built once in TestMain (the kiosk with cgo, for its window;
// hub-server and devsim without), or taken from $QH_BIN (make test).
var (
	bins      harness.Bins
	devsimBin string
	skipWhy   string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	missing := xvfb.Missing()
	if _, err := exec.LookPath("gcc"); err != nil {
		missing = append(missing, "gcc")
	}
	if len(missing) > 0 {
		msg := "e2e: missing " + strings.Join(missing, ", ") + " (provisioning/dev/deps.sh test installs them)"
		if os.Getenv("CI") == "true" {
			fmt.Fprintln(os.Stderr, msg)
			return 1
		}
		skipWhy = msg
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "qh-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := build(ctx, dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

func build(ctx context.Context, dir string) error {
	root, err := harness.ModuleRoot(ctx)
	if err != nil {
		return err
	}
	bins = harness.Bins{Kiosk: filepath.Join(dir, "kiosk"), Hub: filepath.Join(dir, "hub-server")}
	devsimBin = filepath.Join(dir, "devsim")
	for _, b := range []struct {
		out      *string
		name     string
		pkg, cgo string
	}{
		{&bins.Kiosk, "kiosk", "./kiosk/cmd/kiosk", "1"},
		{&bins.Hub, "hub-server", "./hub-server/cmd/hub-server", "0"},
		{&devsimBin, "devsim", "./drivers/cmd/devsim", "0"},
	} {
		// Linking the cgo window is most of this package's time on a
		// loaded machine; `make test` has just built it.
		if p, err := harness.Prebuilt(b.name); err != nil {
			return err
		} else if p != "" {
			*b.out = p
			continue
		}
		cmd := exec.CommandContext(ctx, "go", "build", "-o", *b.out, b.pkg)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED="+b.cgo)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("e2e: go build %s (CGO_ENABLED=%s): %w\n%s", b.pkg, b.cgo, err, out)
		}
	}
	return nil
}

func needDisplay(t *testing.T) {
	t.Helper()
	if skipWhy != "" {
		t.Skip(skipWhy)
	}
}
