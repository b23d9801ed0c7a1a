// Package kioskmachine is what the machine tests of the terminal share
// (tests/session/machine, tests/update/machine): the kiosk and session
// packages `make test-packages` built, their Debian dependencies for the
// machine's image (tests/internal/debroot), and the compositor drop-in
// that lets the packaged session run in a container.
package kioskmachine

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/quartierhub/quartierhub/provisioning/packaging"
	"github.com/quartierhub/quartierhub/tests/internal/debroot"
)

// DataDir is the kiosk's data directory on a terminal.
const DataDir = "/var/lib/quartierhub-kiosk"

// CompositorDropIn is the path, below the machine's root, of Headless.
const CompositorDropIn = "etc/systemd/system/quartierhub-compositor.service.d/headless.conf"

// Headless is the test's drop-in for the compositor: Weston's headless
// backend on a 1280×800 output named "headless" instead of the DRM
// backend on tty7, and no seat (the container has no VT, no GPU, no
// input). Everything else, the window's unit above all, is as packaged.
const Headless = `[Unit]
ConditionPathExists=
[Service]
TTYPath=
StandardInput=null
TTYReset=no
TTYVHangup=no
TTYVTDisallocate=no
ExecStartPre=
ExecStartPre=/usr/bin/kiosk session weston-ini --data /var/lib/quartierhub-kiosk --base /etc/quartierhub/weston.ini --out /run/quartierhub-compositor/weston.ini --output headless
ExecStart=
ExecStart=/usr/bin/weston --backend=headless-backend.so --use-pixman --width=1280 --height=800 --shell=kiosk-shell.so --xwayland --modules=systemd-notify.so --idle-time=0 --config=/run/quartierhub-compositor/weston.ini
`

// Debs returns the kiosk and session packages in QH_PACKAGES_DIR. It
// skips the test when QH_PACKAGES_DIR is unset, and when the machine's
// tools are missing, except under CI, where that fails it.
func Debs(t *testing.T) (kiosk, session string) {
	t.Helper()
	dir := os.Getenv("QH_PACKAGES_DIR")
	if dir == "" {
		t.Skip("QH_PACKAGES_DIR is not set (make test-packages sets it)")
	}
	missing := debroot.Missing()
	if _, err := exec.LookPath("dpkg-deb"); err != nil {
		missing = append(missing, "dpkg-deb")
	}
	if len(missing) > 0 {
		msg := "missing " + strings.Join(missing, ", ") + " (provisioning/dev/deps.sh packages installs them)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	find := func(name string) string {
		matches, _ := filepath.Glob(filepath.Join(dir, name+"_*.deb"))
		if len(matches) != 1 {
			t.Fatalf("want one %s package in %s, found %v", name, dir, matches)
		}
		return matches[0]
	}
	return find(packaging.Kiosk), find(packaging.KioskSession)
}

// Depends lists the packages' runtime dependencies (not our own), for
// the machine's image.
func Depends(t *testing.T, debs ...string) []string {
	t.Helper()
	var deps []string
	for _, deb := range debs {
		out, err := exec.Command("dpkg-deb", "-f", deb, "Depends").Output()
		if err != nil {
			t.Fatalf("dpkg-deb -f %s Depends: %v", deb, err)
		}
		for _, d := range strings.Split(string(out), ",") {
			name, _, _ := strings.Cut(strings.TrimSpace(d), " ")
			if name != "" && !strings.HasPrefix(name, "quartierhub-") && !slices.Contains(deps, name) {
				deps = append(deps, name)
			}
		}
	}
	slices.Sort(deps)
	return deps
}
