package debroot_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/tests/internal/debroot"
)

// A booted machine runs systemd as PID 1, takes commands, restarts a
// unit that dies, and writes nothing into the shared image.
func TestBootRunsSystemd(t *testing.T) {
	if m := debroot.Missing(); len(m) > 0 {
		if os.Getenv("CI") == "true" {
			t.Fatalf("missing %s", strings.Join(m, ", "))
		}
		t.Skipf("missing %s", strings.Join(m, ", "))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	image, err := debroot.Image(ctx, debroot.Cache())
	if err != nil {
		t.Fatal(err)
	}
	m, err := debroot.Boot(ctx, image, debroot.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := m.Stop(); err != nil {
			t.Error(err)
		}
	}()
	if out, err := m.Exec(ctx, "cat", "/proc/1/comm"); err != nil || strings.TrimSpace(out) != "systemd" {
		t.Fatalf("PID 1 inside is %q (%v), want systemd", out, err)
	}
	unit := "[Service]\nExecStart=/bin/sleep infinity\nRestart=always\nRestartSec=100ms\n"
	if err := os.WriteFile(filepath.Join(m.Root, "etc/systemd/system/probe.service"), []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Exec(ctx, "systemctl", "start", "probe.service"); err != nil {
		t.Fatal(err)
	}
	first, _ := m.Exec(ctx, "systemctl", "show", "-P", "MainPID", "probe.service")
	if _, err := m.Exec(ctx, "systemctl", "kill", "-s", "KILL", "probe.service"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		pid, _ := m.Exec(ctx, "systemctl", "show", "-P", "MainPID", "probe.service")
		if pid = strings.TrimSpace(pid); pid != "0" && pid != strings.TrimSpace(first) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("probe.service not restarted after kill (main PID still %s)", first)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := os.Stat(filepath.Join(image, "etc/systemd/system/probe.service")); !os.IsNotExist(err) {
		t.Fatalf("the unit leaked into the shared image: %v", err)
	}
}
