// Package provisioning holds what puts hubs and terminals into service;
// its tests check the systemd units against systemd itself (verify, the
// security score) and the hub's system calls and writes against its
// unit's sandbox.
package provisioning

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// maxExposure is the highest `systemd-analyze security` exposure each unit
// may score (0 is locked down, 10 wide open). The agent needs the serial
// ports and its supplementary group, so it may score a little higher.
var maxExposure = map[string]float64{
	"hub/quartierhub-hub.service":     2.0,
	"kiosk/quartierhub-agent.service": 3.5,
	// Root, to restart the kiosk's units, with CAP_DAC_OVERRIDE only
	// (the agent's private directory), and adjtimex for the clock check.
	"kiosk/quartierhub-updater.service": 2.5,
	// The compositor needs its devices from logind, netlink for input
	// hot-plug and the real /tmp for Xwayland's sockets; the window
	// writes the backlight in /sys and may need executable memory for
	// Mesa's software renderer.
	"session/quartierhub-compositor.service":         2.5,
	"session/quartierhub-window.service":             2.0,
	"session/quartierhub-compositor-restart.service": 1.5,
}

// TestSystemdUnitsSecurity scores every unit with systemd-analyze
// security and fails above its limit, listing what still counts.
func TestSystemdUnitsSecurity(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		missingTool(t, "systemd-analyze is not installed (package systemd; provisioning/dev/deps.sh test installs it)")
	}
	units, _ := filepath.Glob("*/*.service")
	if len(units) != len(maxExposure) {
		t.Fatalf("units %v, limits for %d: give every unit a limit", units, len(maxExposure))
	}
	overall := regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+)`)
	for _, u := range units {
		limit, ok := maxExposure[u]
		if !ok {
			t.Errorf("%s has no exposure limit", u)
			continue
		}
		out, _ := exec.Command(analyze, "security", "--offline=true", "--no-pager", u).CombinedOutput()
		m := overall.FindSubmatch(out)
		if m == nil {
			t.Errorf("systemd-analyze security %s: no overall exposure level:\n%s", u, out)
			continue
		}
		score, _ := strconv.ParseFloat(string(m[1]), 64)
		t.Logf("%s: exposure %.1f (limit %.1f)", u, score, limit)
		if score > limit {
			var open []string
			for _, l := range strings.Split(string(out), "\n") {
				if strings.HasPrefix(l, "✗") {
					open = append(open, l)
				}
			}
			t.Errorf("%s scores %.1f, above %.1f; still open:\n%s", u, score, limit, strings.Join(open, "\n"))
		}
	}
}

// TestSystemdUnitsVerify runs systemd-analyze verify on every unit, with
// ExecStart pointed at a stand-in binary (verify checks that it exists).
func TestSystemdUnitsVerify(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		missingTool(t, "systemd-analyze is not installed (package systemd; provisioning/dev/deps.sh test installs it)")
	}
	units, _ := filepath.Glob("*/*.service")
	if len(units) < 2 {
		t.Fatalf("found %d units, want the hub's and the agent's", len(units))
	}
	bin := t.TempDir()
	for _, name := range []string{"hub-server", "kiosk", "kiosk-current", "quartierhub-updater"} {
		if err := os.WriteFile(filepath.Join(bin, name), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// Only our binaries are stand-ins; others (weston) are the host's.
	standIns := strings.NewReplacer("/usr/bin/kiosk", bin+"/kiosk", "/usr/bin/hub-server", bin+"/hub-server",
		"/usr/bin/quartierhub-updater", bin+"/quartierhub-updater", "/usr/lib/quartierhub/kiosk", bin+"/kiosk-current")
	dir := t.TempDir()
	for _, u := range units {
		b, err := os.ReadFile(u)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), "ExecStart=/usr/bin/") && !strings.Contains(string(b), "ExecStart=/usr/lib/quartierhub/kiosk ") {
			t.Errorf("%s: ExecStart should run the packaged binary in /usr/bin (or the kiosk through /usr/lib/quartierhub/kiosk)", u)
		}
		out := filepath.Join(dir, filepath.Base(u))
		if err := os.WriteFile(out, []byte(standIns.Replace(string(b))), 0o644); err != nil {
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

// The kiosk's units start the updater's current release when there is
// one and the packaged kiosk otherwise, through provisioning/kiosk's
// kiosk-current (installed as /usr/lib/quartierhub/kiosk); the updater
// rolls back to the package by removing the link.
func TestKioskCurrentWrapper(t *testing.T) {
	b, err := os.ReadFile("kiosk/kiosk-current")
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	current := filepath.Join(root, "var/lib/quartierhub-updater/current")
	packaged := filepath.Join(root, "usr/bin/kiosk")
	script := strings.NewReplacer("/var/lib/quartierhub-updater/current", current, "/usr/bin/kiosk", packaged).Replace(string(b))
	wrapper := filepath.Join(root, "kiosk-current")
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	mk := func(path, says string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		// Prints what it is, its arguments and its PID (exec keeps it).
		if err := os.WriteFile(path, []byte("#!/bin/sh\necho "+says+" \"$@\" $$\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	mk(packaged, "packaged")
	runIt := func() string {
		t.Helper()
		out, err := exec.Command("sh", "-c", "echo $$; exec "+wrapper+" agent --data 'a b'").Output()
		if err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if len(lines) != 2 || !strings.HasSuffix(lines[1], " "+lines[0]) {
			t.Fatalf("output %q: not exec'd in the same process", out)
		}
		return strings.TrimSuffix(lines[1], " "+lines[0])
	}
	if got := runIt(); got != "packaged agent --data a b" {
		t.Fatalf("without current: %q", got)
	}
	release := filepath.Join(root, "var/lib/quartierhub-updater/releases/1.1.0")
	mk(filepath.Join(release, "bin/kiosk"), "release")
	if err := os.Symlink("releases/1.1.0", current); err != nil {
		t.Fatal(err)
	}
	if got := runIt(); got != "release agent --data a b" {
		t.Fatalf("with current: %q", got)
	}
	// A release whose binary is not executable is not started.
	if err := os.Chmod(filepath.Join(release, "bin/kiosk"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := runIt(); got != "packaged agent --data a b" {
		t.Fatalf("with a broken current: %q", got)
	}
}
