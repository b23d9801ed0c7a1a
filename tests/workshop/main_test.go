package workshop

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/tests/internal/harness"
)

// bins are taken from $QH_BIN (make test) or built once.
var bins harness.Bins

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	kiosk, err1 := harness.Prebuilt("kiosk")
	hub, err2 := harness.Prebuilt("hub-server")
	if err1 != nil || err2 != nil {
		fmt.Fprintln(os.Stderr, err1, err2)
		return 1
	}
	if kiosk != "" && hub != "" {
		bins = harness.Bins{Kiosk: kiosk, Hub: hub}
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "qh-workshop-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if bins, err = harness.Build(ctx, filepath.Join(dir, "bin")); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}
