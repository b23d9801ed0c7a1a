package provisioning

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/drivers/sim"
	"github.com/quartierhub/quartierhub/drivers/sim/escpossim"
	"github.com/quartierhub/quartierhub/kiosk/localapi"
)

// TestAgentStaysInItsSandbox runs the real agent under strace with a
// simulated receipt printer on a pseudo-terminal (a serial port to it),
// prints a receipt and stores a report through its local API, stops it,
// and checks its system calls against its unit's SystemCallFilter= and
// that it wrote only below its data directory and to its device.
func TestAgentStaysInItsSandbox(t *testing.T) {
	straceBin, allowed := sandboxOf(t, "kiosk/quartierhub-agent.service", "the agent")

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	bin := binary(t, dir, "kiosk", "../kiosk/cmd/kiosk")
	printer := escpossim.New(escpossim.Opts{Out: io.Discard})
	port, err := sim.Start(ctx, printer, sim.Opts{Link: filepath.Join(dir, "printer")})
	if err != nil {
		t.Fatal(err)
	}
	defer port.Close()
	data := filepath.Join(dir, "state")
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	asUser, _ := unprivileged(t, dir, data)
	if asUser != nil {
		// dialout's part: the device is the service user's to open.
		if err := os.Chown(port.TTY(), 65534, 65534); err != nil {
			t.Fatal(err)
		}
	}
	cfg, _ := json.Marshal(map[string]any{"devices": map[string]any{"printer": map[string]any{"kind": "escpos", "port": port.Path()}}})
	cfgPath := filepath.Join(dir, "kiosk.json")
	if err := os.WriteFile(cfgPath, cfg, 0o644); err != nil {
		t.Fatal(err)
	}

	trace := filepath.Join(dir, "strace.log")
	agent := exec.CommandContext(ctx, straceBin, append(append([]string{"-f", "-qq", "-s", "256", "-o", trace}, asUser...),
		bin, "agent", "--data", data, "--config", cfgPath)...)
	stderr, err := agent.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	lines := bufio.NewScanner(stderr)
	for !strings.Contains(log.String(), `"agent started"`) && lines.Scan() {
		log.WriteString(lines.Text() + "\n")
	}
	if !strings.Contains(log.String(), `"agent started"`) {
		t.Fatalf("the agent did not start:\n%s", log.String())
	}
	go io.Copy(io.Discard, stderr)

	c := localapi.NewClient(data)
	events, err := c.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !printerConnected(ctx, t, c) {
		for e := range events {
			if e.Type == localapi.EventDevice && e.Device.Device == "printer" && e.Device.State == "connected" {
				break
			}
		}
	}
	if _, err := c.Print(ctx, localapi.Receipt{Blocks: []localapi.ReceiptBlock{{Kind: localapi.BlockText, Text: "Grüße"}, {Kind: localapi.BlockCut}}}); err != nil {
		t.Fatalf("print: %v", err)
	}
	if err := printer.WaitCuts(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Submit(ctx, localapi.SubmitRequest{Type: "problem_report", Payload: map[string]any{"category": "litter", "text": "Glas"}}); err != nil {
		t.Fatalf("submit: %v", err)
	}
	stopTraced(t, agent)

	calls, writes := readTrace(t, trace)
	var refused []string
	for _, c := range calls {
		if !allowed[c] {
			refused = append(refused, c)
		}
	}
	if len(refused) > 0 {
		t.Errorf("the agent makes system calls its unit's SystemCallFilter= refuses: %v", refused)
	}
	for _, w := range writes {
		if !strings.HasPrefix(w, data+"/") && w != data && w != port.Path() && w != port.TTY() && w != "/dev/null" {
			t.Errorf("the agent writes %s, outside its state directory and its devices", w)
		}
	}
	t.Logf("%d distinct system calls, paths written: %v", len(calls), writes)
}

func printerConnected(ctx context.Context, t *testing.T, c *localapi.Client) bool {
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range st.Devices {
		if d.Name == "printer" && d.State == "connected" {
			return true
		}
	}
	return false
}
