// Package provisioning holds what puts hubs and terminals into service;
// its test checks the systemd units against systemd itself.
package provisioning

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSystemdUnitsVerify runs systemd-analyze verify on every unit, with
// ExecStart pointed at a stand-in binary (verify checks that it exists).
func TestSystemdUnitsVerify(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed (package systemd)")
	}
	units, _ := filepath.Glob("*/*.service")
	if len(units) < 2 {
		t.Fatalf("found %d units, want the hub's and the agent's", len(units))
	}
	bin := t.TempDir()
	for _, name := range []string{"hub-server", "kiosk"} {
		if err := os.WriteFile(filepath.Join(bin, name), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	for _, u := range units {
		b, err := os.ReadFile(u)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), "ExecStart=/usr/local/bin/") {
			t.Errorf("%s: ExecStart should run the installed binary in /usr/local/bin", u)
		}
		out := filepath.Join(dir, filepath.Base(u))
		if err := os.WriteFile(out, []byte(strings.ReplaceAll(string(b), "/usr/local/bin/", bin+"/")), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(analyze, "verify", out)
		msg, err := cmd.CombinedOutput()
		// verify prints warnings about the host's other units too; only
		// lines naming ours count.
		var ours []string
		for _, l := range strings.Split(string(msg), "\n") {
			if strings.Contains(l, filepath.Base(u)) {
				ours = append(ours, l)
			}
		}
		if err != nil || len(ours) > 0 {
			t.Errorf("systemd-analyze verify %s: %v\n%s", u, err, strings.Join(ours, "\n"))
		}
	}
}
