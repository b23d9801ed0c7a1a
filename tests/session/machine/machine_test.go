// Package machine runs the terminal's locked-down session for real: the
// kiosk and session packages installed with dpkg into a booted Debian 12
// machine (tests/internal/debroot), Weston started by its unit with the
// headless backend (a test drop-in replaces the DRM backend, the VT and
// the logind seat the container lacks), the window started, killed and
// hung under systemd. It runs only when QH_PACKAGES_DIR names the built
// packages, as `make test-packages` does.
package machine

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/kiosk/display"
	"github.com/quartierhub/quartierhub/kiosk/identity"
	"github.com/quartierhub/quartierhub/tests/internal/debroot"
	"github.com/quartierhub/quartierhub/tests/internal/kioskmachine"
)

const dataDir = kioskmachine.DataDir

type rig struct {
	t   *testing.T
	ctx context.Context
	m   *debroot.Machine
}

func (r *rig) do(args ...string) string {
	r.t.Helper()
	out, err := r.m.Exec(r.ctx, args...)
	if err != nil {
		r.t.Fatalf("%v\n%s", err, out)
	}
	return strings.TrimSpace(out)
}

// prop is a unit property.
func (r *rig) prop(unit, name string) string {
	out, _ := r.m.Exec(r.ctx, "systemctl", "show", "-P", name, unit)
	return strings.TrimSpace(out)
}

// activeWith waits until unit is active with a main PID other than old,
// and returns that PID and when it was seen.
func (r *rig) activeWith(unit, old string, limit time.Duration) (string, time.Time) {
	r.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		pid, state := r.prop(unit, "MainPID"), r.prop(unit, "ActiveState")
		if state == "active" && pid != "0" && pid != old {
			return pid, time.Now()
		}
		if time.Now().After(deadline) {
			status, _ := r.m.Exec(r.ctx, "systemctl", "status", "--no-pager", "-n", "30", unit)
			log, _ := r.m.Exec(r.ctx, "journalctl", "--no-pager", "-n", "40", "-u", unit)
			r.t.Fatalf("%s not active with a new main PID (was %s) after %v: %s %s\n%s\n%s", unit, old, limit, state, pid, status, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// monotonic is a unit's …TimestampMonotonic property in microseconds.
func (r *rig) monotonic(unit, name string) int64 {
	v, _ := strconv.ParseInt(r.prop(unit, name), 10, 64)
	return v
}

// The session as the packages install it, under systemd: the compositor
// comes up (Weston's READY), the window becomes active only once its
// first screen is painted, a window killed with SIGKILL is back within 5
// seconds, a hung one (SIGSTOP) is restarted by the watchdog, a new
// rotation restarts the compositor with it and the window with that, and
// the units pass systemd-analyze verify.
func TestSessionUnderSystemd(t *testing.T) {
	kioskDeb, sessionDeb := kioskmachine.Debs(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	start := time.Now()
	image, err := debroot.Image(ctx, debroot.Cache(), kioskmachine.Depends(t, kioskDeb, sessionDeb)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("image: %.1fs", time.Since(start).Seconds())
	m, err := debroot.Boot(ctx, image, debroot.Options{Dir: t.TempDir(), Args: []string{"--private-network"}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := m.Stop(); err != nil {
			t.Error(err)
		}
	}()
	r := &rig{t: t, ctx: ctx, m: m}

	// The kiosk first, enrolled by hand (no hub here): its identity in
	// the agent's state directory, so the window shows the attract screen.
	if out, err := m.Install(ctx, kioskDeb); err != nil {
		t.Fatalf("dpkg -i kiosk: %v\n%s", err, out)
	}
	r.do("systemctl", "stop", "quartierhub-agent.service")
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(m.Root, dataDir)
	if err := identity.Save(state, identity.Identity{TerminalID: "T-machine", Name: "machine test", Quarter: "Johannstadt",
		HubURL: "http://127.0.0.1:9", EnrolledAt: time.Now(), Key: key}); err != nil {
		t.Fatal(err)
	}
	r.do("chown", "-R", "quartierhub-kiosk:quartierhub-kiosk", dataDir)
	r.do("systemctl", "start", "quartierhub-agent.service")

	dropIn := filepath.Join(m.Root, kioskmachine.CompositorDropIn)
	if err := os.MkdirAll(filepath.Dir(dropIn), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dropIn, []byte(kioskmachine.Headless), 0o644); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	if out, err := m.Install(ctx, sessionDeb); err != nil {
		t.Fatalf("dpkg -i session: %v\n%s", err, out)
	}
	t.Logf("session installed: %.1fs", time.Since(start).Seconds())
	if out, err := m.Exec(ctx, "sh", "-c", "systemd-analyze verify --man=no /usr/lib/systemd/system/quartierhub-compositor.service /usr/lib/systemd/system/quartierhub-window.service /usr/lib/systemd/system/quartierhub-compositor-settings.path /usr/lib/systemd/system/quartierhub-compositor-restart.service 2>&1"); err != nil || strings.Contains(out, "quartierhub") {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	// The compositor and the window start as at boot.
	r.do("systemctl", "start", "--no-block", "quartierhub-compositor.service")
	cpid, _ := r.activeWith("quartierhub-compositor.service", "", time.Minute)
	wpid, _ := r.activeWith("quartierhub-window.service", "", 2*time.Minute)
	t.Logf("compositor %s, window %s", cpid, wpid)

	// Active only after READY: a Type=notify unit is activating from exec
	// until READY=1, which the window sends after the first paint.
	execAt := r.monotonic("quartierhub-window.service", "ExecMainStartTimestampMonotonic")
	activeAt := r.monotonic("quartierhub-window.service", "ActiveEnterTimestampMonotonic")
	if activeAt <= execAt {
		t.Errorf("the window was active at %d µs, its process started at %d µs", activeAt, execAt)
	}
	// The window logs its first paint right after READY=1: the unit
	// became active then, not at exec (as Type=simple would).
	painted := int64(-1)
	log := r.do("journalctl", "--no-pager", "-o", "short-monotonic", "_PID="+wpid)
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, "first screen painted") {
			if s, _, ok := strings.Cut(strings.TrimPrefix(strings.TrimSpace(l), "["), "]"); ok {
				if f, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil {
					painted = int64(f * 1e6)
				}
			}
		}
	}
	if painted < 0 {
		t.Fatalf("the active window never logged its first paint:\n%s", log)
	}
	t.Logf("window: active %.3fs after exec, first paint logged %.3fs after exec", float64(activeAt-execAt)/1e6, float64(painted-execAt)/1e6)
	if d := painted - activeAt; d > 250_000 || d < -250_000 {
		t.Errorf("the window became active %.3fs before its first paint was logged: not on READY", float64(d)/1e6)
	}

	// Killed: back within 5 s (restarted and READY again).
	r.do("systemctl", "kill", "--kill-whom=main", "-s", "KILL", "quartierhub-window.service")
	killed := time.Now()
	wpid2, back := r.activeWith("quartierhub-window.service", wpid, 30*time.Second)
	t.Logf("window killed: active again after %.2fs", back.Sub(killed).Seconds())
	if d := back.Sub(killed); d > 5*time.Second {
		t.Errorf("a killed window took %v to come back, more than 5 s", d)
	}
	if got := r.prop("quartierhub-compositor.service", "MainPID"); got != cpid {
		t.Errorf("the compositor restarted with the window (PID %s, was %s)", got, cpid)
	}

	// Hung: the watchdog (WatchdogSec=8s) ends it, systemd restarts it.
	r.do("systemctl", "kill", "--kill-whom=main", "-s", "STOP", "quartierhub-window.service")
	stopped := time.Now()
	wpid3, back := r.activeWith("quartierhub-window.service", wpid2, time.Minute)
	t.Logf("window stopped (SIGSTOP): active again after %.2fs", back.Sub(stopped).Seconds())
	if log := r.do("journalctl", "--no-pager", "-u", "quartierhub-window.service"); !strings.Contains(log, "Watchdog timeout") {
		t.Errorf("the hung window was not ended by the watchdog:\n%s", log)
	}

	// A new rotation: the agent's compositor.json changes, the path unit
	// restarts the compositor, whose weston.ini has the transform, and
	// the window comes back with it.
	if _, err := display.WriteCompositor(state, display.Compositor{Rotation: 270}); err != nil {
		t.Fatal(err)
	}
	r.do("chown", "quartierhub-kiosk:quartierhub-kiosk", dataDir+"/"+display.CompositorFile)
	rotated := time.Now()
	cpid2, _ := r.activeWith("quartierhub-compositor.service", cpid, time.Minute)
	_, back = r.activeWith("quartierhub-window.service", wpid3, 2*time.Minute)
	t.Logf("rotation 270: compositor %s, window active again after %.2fs", cpid2, back.Sub(rotated).Seconds())
	if ini := r.do("cat", "/run/quartierhub-compositor/weston.ini"); !strings.Contains(ini, "name=headless\ntransform=rotate-270") {
		t.Errorf("the compositor's weston.ini has no rotated output:\n%s", ini)
	}
}
