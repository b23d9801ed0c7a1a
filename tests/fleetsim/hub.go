package fleetsim

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/quartierhub/quartierhub/tests/internal/harness"
)

// HubCLI runs `hub-server ARGS… --data HUBDIR` of a harness hub and
// returns its stdout.
func HubCLI(ctx context.Context, h *harness.Hub, args ...string) ([]byte, error) {
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, h.Bin, append(args, "--data", h.Dir)...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("fleetsim: hub-server %s: %w: %s", strings.Join(args[:min(2, len(args))], " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// EnrollFleet creates n enrolment tokens PREFIX-000000… in quarter with
// `hub-server token bulk` on the running hub h and enrols a terminal with
// its own key for each, workers at a time.
func EnrollFleet(ctx context.Context, h *harness.Hub, prefix, quarter string, n, workers int) ([]Identity, error) {
	out, err := HubCLI(ctx, h, "token", "bulk", "--prefix", prefix, "--quarter", quarter, "--count", strconv.Itoa(n))
	if err != nil {
		return nil, err
	}
	toks, err := ParseTokens(bytes.NewReader(out))
	if err != nil {
		return nil, err
	}
	if len(toks) != n {
		return nil, fmt.Errorf("fleetsim: token bulk printed %d tokens, want %d", len(toks), n)
	}
	return Enroll(ctx, h.URL(), toks, workers, nil)
}

// DemoConfig is the global configuration layer the simulations set, so
// heartbeats carry a configuration version and polls get an ETag.
const DemoConfig = `{"settings":{"heartbeat_interval":"30s","sync_interval":"60s"}}`

// SetConfig sets the global configuration layer doc on hub h.
func SetConfig(ctx context.Context, h *harness.Hub, doc string) error {
	f := filepath.Join(h.Dir, "fleetsim-config.json")
	if err := os.WriteFile(f, []byte(doc), 0o600); err != nil {
		return err
	}
	_, err := HubCLI(ctx, h, "config", "set", "--scope", "global", "--file", f)
	return err
}

// SendCommand queues a command of kind for the terminal named name.
func SendCommand(ctx context.Context, h *harness.Hub, name, kind string) error {
	_, err := HubCLI(ctx, h, "command", "send", "--terminal", name, "--kind", kind)
	return err
}

// Online counts the terminals `hub-server terminal list` shows online.
func Online(ctx context.Context, h *harness.Hub) (int, error) {
	out, err := HubCLI(ctx, h, "terminal", "list")
	if err != nil {
		return 0, err
	}
	n := 0
	for _, line := range strings.Split(string(out), "\n")[1:] {
		if slices.Contains(strings.Fields(line), "online") {
			n++
		}
	}
	return n, nil
}
