// Package packages checks the built Debian packages for real: lintian,
// the kiosk's library dependencies, and install, upgrade, removal and
// purge in booted Debian 12 machines (tests/internal/debroot). It runs
// only when QH_PACKAGES_DIR names the directory of the .deb files, as
// `make test-packages` does after `make packages`.
package packages

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/provisioning/packaging"
	"github.com/quartierhub/quartierhub/tests/internal/debroot"
)

// built is what QH_PACKAGES_DIR holds: one .deb per package of the
// manifest, all of one version.
type built struct {
	dir     string
	version string
	deb     map[string]string // package name → file
}

// packages finds the packages or skips the test when QH_PACKAGES_DIR is
// unset; with it set, a missing tool fails under CI=true.
func packages(t *testing.T, tools ...string) built {
	t.Helper()
	dir := os.Getenv("QH_PACKAGES_DIR")
	if dir == "" {
		t.Skip("QH_PACKAGES_DIR is not set (make test-packages sets it)")
	}
	var missing []string
	for _, tool := range append([]string{"dpkg-deb"}, tools...) {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) > 0 {
		msg := "missing " + strings.Join(missing, ", ") + " (provisioning/dev/deps.sh packages installs them)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	b := built{dir: dir, deb: map[string]string{}}
	for _, p := range packaging.Manifest("0") {
		matches, _ := filepath.Glob(filepath.Join(dir, p.Name+"_*.deb"))
		if len(matches) != 1 {
			t.Fatalf("want one %s package in %s, found %v", p.Name, dir, matches)
		}
		b.deb[p.Name] = matches[0]
		v := field(t, matches[0], "Version")
		if b.version != "" && v != b.version {
			t.Fatalf("%s has version %s, the others %s", matches[0], v, b.version)
		}
		b.version = v
	}
	return b
}

// field is one control field of a package.
func field(t *testing.T, deb, name string) string {
	t.Helper()
	out, err := exec.Command("dpkg-deb", "-f", deb, name).Output()
	if err != nil {
		t.Fatalf("dpkg-deb -f %s %s: %v", deb, name, err)
	}
	return strings.TrimSpace(string(out))
}

// needMachine fails (CI) or skips without what a Debian machine needs.
func needMachine(t *testing.T) {
	t.Helper()
	if m := debroot.Missing(); len(m) > 0 {
		msg := "missing " + strings.Join(m, ", ") + " (provisioning/dev/deps.sh packages installs them)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
}

// allowedWarnings are lintian's warnings the packages keep, each with
// the reason (provisioning/README.md lists them). Any other warning, and
// any error, fails TestLintian.
var allowedWarnings = map[string]string{
	"shared-library-lacks-prerequisites [usr/bin/hub-server]":                                                                                   "hub-server is a static PIE built without cgo: it names no shared library, and lintian takes a PIE without DT_NEEDED for a library",
	"shared-library-lacks-prerequisites [usr/bin/quartierhub-updater]":                                                                          "the updater is a static PIE built without cgo, like hub-server",
	"systemd-service-file-refers-to-unusual-wantedby-target quartierhub-compositor.service [usr/lib/systemd/system/quartierhub-window.service]": "the window belongs to the compositor: enabling the compositor brings the window with it",
}

var lintianLine = regexp.MustCompile(`^([EWIPXOC]): (\S+?)(?: \S+)?: (.*)$`)

// TestLintian runs lintian on every package: no errors, and only the
// warnings explained above.
func TestLintian(t *testing.T) {
	b := packages(t, "lintian")
	t.Parallel()
	var debs []string
	for _, d := range b.deb {
		debs = append(debs, d)
	}
	slices.Sort(debs)
	start := time.Now()
	cmd := exec.Command("lintian", append([]string{"--info", "--display-info", "--pedantic"}, debs...)...)
	out, runErr := cmd.CombinedOutput()
	t.Logf("lintian %s: %.1fs, exit %v\n%s", b.version, time.Since(start).Seconds(), runErr, out)

	var errs, warns []string
	parsed := 0
	for _, l := range strings.Split(string(out), "\n") {
		m := lintianLine.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		parsed++
		switch m[1] {
		case "E":
			errs = append(errs, l)
		case "W":
			if _, ok := allowedWarnings[m[3]]; !ok {
				warns = append(warns, l)
			}
		}
	}
	if len(errs) > 0 {
		t.Errorf("lintian errors:\n%s", strings.Join(errs, "\n"))
	}
	if len(warns) > 0 {
		t.Errorf("lintian warnings not explained in allowedWarnings:\n%s", strings.Join(warns, "\n"))
	}
	// lintian exits non-zero on errors, and on failures of its own that
	// print no tags at all.
	if runErr != nil && len(errs) == 0 {
		t.Errorf("lintian failed without reporting an error tag (%d tag lines): %v", parsed, runErr)
	}
}

// TestKioskDepends checks the kiosk package's Depends against what
// dpkg-shlibdeps finds in its binary, as debhelper would compute them.
func TestKioskDepends(t *testing.T) {
	b := packages(t, "dpkg-shlibdeps")
	t.Parallel()
	dir := t.TempDir()
	if out, err := exec.Command("dpkg-deb", "-x", b.deb[packaging.Kiosk], filepath.Join(dir, "root")).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb -x: %v\n%s", err, out)
	}
	// dpkg-shlibdeps wants a source package around the binary.
	if err := os.MkdirAll(filepath.Join(dir, "debian"), 0o755); err != nil {
		t.Fatal(err)
	}
	control := "Source: quartierhub\n\nPackage: " + packaging.Kiosk + "\nArchitecture: any\n"
	if err := os.WriteFile(filepath.Join(dir, "debian", "control"), []byte(control), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("dpkg-shlibdeps", "-O", "-e"+filepath.Join(dir, "root", "usr", "bin", "kiosk"))
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("dpkg-shlibdeps: %v", err)
	}
	want := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(string(out)), "shlibs:Depends="))
	got := field(t, b.deb[packaging.Kiosk], "Depends")
	for _, dep := range strings.Split(want, ", ") {
		if !slices.Contains(strings.Split(got, ", "), dep) {
			t.Errorf("the kiosk binary needs %q (dpkg-shlibdeps: %s); the package depends on %s", dep, want, got)
		}
	}
	t.Logf("dpkg-shlibdeps: %s; Depends: %s", want, got)
}

// runtimeDepends are the packages' dependencies other than each other,
// without versions: what a machine needs before dpkg -i, so no network
// is needed inside it.
func runtimeDepends(t *testing.T, debs ...string) []string {
	t.Helper()
	var deps []string
	for _, deb := range debs {
		for _, d := range strings.Split(field(t, deb, "Depends"), ",") {
			name, _, _ := strings.Cut(strings.TrimSpace(d), " ")
			if name != "" && !strings.HasPrefix(name, "quartierhub-") && !slices.Contains(deps, name) {
				deps = append(deps, name)
			}
		}
	}
	slices.Sort(deps)
	return deps
}

// machine boots a Debian 12 machine with the packages' dependencies, on a
// private network (the hub's port is then its own).
func machine(ctx context.Context, t *testing.T, debs ...string) *debroot.Machine {
	t.Helper()
	start := time.Now()
	image, err := debroot.Image(ctx, debroot.Cache(), runtimeDepends(t, debs...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("image with %v: %.1fs", runtimeDepends(t, debs...), time.Since(start).Seconds())
	start = time.Now()
	m, err := debroot.Boot(ctx, image, debroot.Options{Dir: t.TempDir(), Args: []string{"--private-network"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("boot: %.1fs", time.Since(start).Seconds())
	t.Cleanup(func() {
		if err := m.Stop(); err != nil {
			t.Error(err)
		}
	})
	return m
}

// do runs a command in the machine and fails the test on error.
func do(ctx context.Context, t *testing.T, m *debroot.Machine, args ...string) string {
	t.Helper()
	out, err := m.Exec(ctx, args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return out
}

// waitFor polls cond (a state inside the machine) until it holds.
func waitFor(t *testing.T, what string, limit time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s (%s)", what, limit, state)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func active(ctx context.Context, t *testing.T, m *debroot.Machine, unit string) {
	t.Helper()
	waitFor(t, unit+" active", 30*time.Second, func() (bool, string) {
		out, _ := m.Exec(ctx, "systemctl", "is-active", unit)
		if strings.TrimSpace(out) == "active" {
			return true, ""
		}
		status, _ := m.Exec(ctx, "systemctl", "status", "--no-pager", "-n", "20", unit)
		return false, status
	})
	enabled, _ := m.Exec(ctx, "systemctl", "is-enabled", unit)
	if strings.TrimSpace(enabled) != "enabled" {
		t.Errorf("%s is %q, want enabled", unit, strings.TrimSpace(enabled))
	}
}

// verifyUnits runs systemd-analyze verify on the installed units inside
// the machine; only lines naming them count (the image's own units may
// draw remarks).
func verifyUnits(ctx context.Context, t *testing.T, m *debroot.Machine, units ...string) {
	t.Helper()
	// The machine has no man-db to look Documentation=man:… pages up.
	args := []string{"systemd-analyze", "verify", "--man=no"}
	for _, u := range units {
		args = append(args, "/usr/lib/systemd/system/"+u)
	}
	out, err := m.Exec(ctx, append([]string{"sh", "-c", `"$@" 2>&1`, "sh"}, args...)...)
	var ours []string
	for _, l := range strings.Split(out, "\n") {
		for _, u := range units {
			if strings.Contains(l, u) {
				ours = append(ours, l)
				break
			}
		}
	}
	if err != nil || len(ours) > 0 {
		t.Errorf("systemd-analyze verify %v: %v\n%s", units, err, strings.Join(ours, "\n"))
	}
}

// accounts returns the lines of /etc/passwd and /etc/group for name.
func accounts(t *testing.T, m *debroot.Machine, name string) (passwd, group []string) {
	t.Helper()
	for file, into := range map[string]*[]string{"/etc/passwd": &passwd, "/etc/group": &group} {
		b, err := os.ReadFile(filepath.Join(m.Root, file))
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, name+":") {
				*into = append(*into, l)
			}
		}
	}
	return passwd, group
}

func exists(m *debroot.Machine, path string) bool {
	_, err := os.Lstat(filepath.Join(m.Root, path))
	return err == nil
}

// upgradeBuild builds the kiosk and hub packages again, with the
// binaries of the packages under test and a version above theirs.
func upgradeBuild(ctx context.Context, t *testing.T, b built) map[string]string {
	t.Helper()
	bin := t.TempDir()
	for name, binaries := range map[string][]string{packaging.Kiosk: {"kiosk", "quartierhub-updater"}, packaging.Hub: {"hub-server"}} {
		x := t.TempDir()
		if out, err := exec.Command("dpkg-deb", "-x", b.deb[name], x).CombinedOutput(); err != nil {
			t.Fatalf("dpkg-deb -x: %v\n%s", err, out)
		}
		for _, binary := range binaries {
			if err := os.Rename(filepath.Join(x, "usr", "bin", binary), filepath.Join(bin, binary)); err != nil {
				t.Fatal(err)
			}
		}
	}
	v2 := b.version + "+upgrade"
	if err := exec.Command("dpkg", "--compare-versions", v2, "gt", b.version).Run(); err != nil {
		t.Fatalf("%s does not sort above %s", v2, b.version)
	}
	var pkgs []packaging.Package
	for _, p := range packaging.Manifest(v2) {
		if p.Name == packaging.Kiosk || p.Name == packaging.Hub {
			pkgs = append(pkgs, p)
		}
	}
	start := time.Now()
	out := t.TempDir()
	debs, err := packaging.Build(ctx, pkgs, packaging.Options{
		Root: "../..", BinDir: bin, OutDir: out, Version: v2, Time: time.Now(), Change: "Upgrade test.",
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("second build %s: %.1fs", v2, time.Since(start).Seconds())
	got := map[string]string{}
	for _, d := range debs {
		got[field(t, d, "Package")] = d
	}
	return got
}

// TestLifecycle installs the kiosk and hub packages into a booted Debian
// 12 machine and follows them through reinstall, upgrade, removal and
// purge.
func TestLifecycle(t *testing.T) {
	b := packages(t)
	needMachine(t)
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	kiosk, hub := b.deb[packaging.Kiosk], b.deb[packaging.Hub]
	m := machine(ctx, t, kiosk, hub)
	users := []string{"quartierhub-kiosk", "quartierhub-hub"}
	units := []string{"quartierhub-agent.service", "quartierhub-hub.service"}
	uids := map[string]string{}

	step := func(name string, f func(t *testing.T)) {
		start := time.Now()
		ok := t.Run(name, f)
		t.Logf("%s: %.1fs", name, time.Since(start).Seconds())
		if !ok {
			t.FailNow()
		}
	}

	step("install", func(t *testing.T) {
		out, err := m.Install(ctx, kiosk, hub)
		if err != nil {
			t.Fatalf("dpkg -i: %v\n%s", err, out)
		}
		for _, u := range users {
			passwd, group := accounts(t, m, u)
			if len(passwd) != 1 || len(group) != 1 {
				t.Fatalf("user %s: passwd %q, group %q; want one each", u, passwd, group)
			}
			f := strings.Split(passwd[0], ":")
			uids[u] = f[2]
			if f[5] != "/var/lib/"+u || f[6] != "/usr/sbin/nologin" {
				t.Errorf("user %s: home %s, shell %s", u, f[5], f[6])
			}
		}
		if groups := do(ctx, t, m, "id", "-nG", "quartierhub-kiosk"); !slices.Contains(strings.Fields(groups), "dialout") {
			t.Errorf("quartierhub-kiosk is in %q, not in dialout", groups)
		}
		for _, dir := range []string{"/var/lib/quartierhub-kiosk", "/var/lib/quartierhub-hub"} {
			owner := strings.TrimSpace(do(ctx, t, m, "stat", "-c", "%U %a", dir))
			want := map[string]string{"/var/lib/quartierhub-kiosk": "quartierhub-kiosk 700", "/var/lib/quartierhub-hub": "quartierhub-hub 750"}[dir]
			if owner != want {
				t.Errorf("%s: %s, want %s", dir, owner, want)
			}
		}
		conffiles := do(ctx, t, m, "sh", "-c", "cat /var/lib/dpkg/info/quartierhub-kiosk.conffiles /var/lib/dpkg/info/quartierhub-hub.conffiles")
		for _, c := range []string{"/etc/quartierhub/kiosk.json", "/etc/quartierhub/hub.env"} {
			if !strings.Contains(conffiles, c) {
				t.Errorf("%s is not a conffile (%q)", c, conffiles)
			}
		}
	})

	step("verify", func(t *testing.T) {
		verifyUnits(ctx, t, m, append(units, "quartierhub-updater.service")...)
	})

	step("running", func(t *testing.T) {
		for _, u := range units {
			active(ctx, t, m, u)
		}
		// The hub answers on its default address (the machine's own
		// loopback), and the agent opened its local API.
		waitFor(t, "hub on 127.0.0.1:8480", 30*time.Second, func() (bool, string) {
			out, err := m.Exec(ctx, "bash", "-c", `exec 3<>/dev/tcp/127.0.0.1/8480 && printf 'GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3 && cat <&3`)
			return err == nil && strings.HasPrefix(out, "HTTP/1.0 200"), fmt.Sprintf("%v %q", err, out)
		})
		waitFor(t, "agent socket", 30*time.Second, func() (bool, string) {
			_, err := m.Exec(ctx, "test", "-S", "/var/lib/quartierhub-kiosk/agent.sock")
			ls, _ := m.Exec(ctx, "ls", "-la", "/var/lib/quartierhub-kiosk")
			return err == nil, ls
		})
		if owner := strings.TrimSpace(do(ctx, t, m, "stat", "-c", "%U", "/var/lib/quartierhub-hub/hub.db")); owner != "quartierhub-hub" {
			t.Errorf("hub.db belongs to %s", owner)
		}
	})

	step("updater", func(t *testing.T) {
		updaterUnit(ctx, t, m)
	})

	step("reinstall", func(t *testing.T) {
		if out, err := m.Install(ctx, kiosk, hub); err != nil {
			t.Fatalf("dpkg -i again: %v\n%s", err, out)
		}
		for _, u := range users {
			passwd, group := accounts(t, m, u)
			if len(passwd) != 1 || len(group) != 1 || strings.Split(passwd[0], ":")[2] != uids[u] {
				t.Errorf("user %s after a second install: passwd %q, group %q (uid was %s)", u, passwd, group, uids[u])
			}
		}
		for _, u := range units {
			active(ctx, t, m, u)
		}
	})

	step("upgrade", func(t *testing.T) {
		next := upgradeBuild(ctx, t, b)
		edits := map[string]string{
			"/etc/quartierhub/kiosk.json": `{"outbox": {"max_bytes": 134217728}}` + "\n",
			"/etc/quartierhub/hub.env":    "# edited by the administrator\nHUB_LISTEN=127.0.0.1:8481\n",
		}
		for path, body := range edits {
			if err := os.WriteFile(filepath.Join(m.Root, path), []byte(body), 0o640); err != nil {
				t.Fatal(err)
			}
		}
		for _, f := range []string{"/var/lib/quartierhub-kiosk/kept", "/var/lib/quartierhub-hub/kept"} {
			do(ctx, t, m, "sh", "-c", "echo state > "+f)
		}
		before := strings.TrimSpace(do(ctx, t, m, "systemctl", "show", "-P", "MainPID", "quartierhub-agent.service"))
		if out, err := m.Install(ctx, next[packaging.Kiosk], next[packaging.Hub]); err != nil {
			t.Fatalf("dpkg -i (upgrade): %v\n%s", err, out)
		}
		for _, p := range []string{packaging.Kiosk, packaging.Hub} {
			if v := strings.TrimSpace(do(ctx, t, m, "dpkg-query", "-W", "-f", "${Version}", p)); v != field(t, next[p], "Version") {
				t.Errorf("%s is at %s after the upgrade", p, v)
			}
		}
		for path, body := range edits {
			if got, _ := os.ReadFile(filepath.Join(m.Root, path)); string(got) != body {
				t.Errorf("%s after the upgrade: %q, want the administrator's %q", path, got, body)
			}
		}
		for _, f := range []string{"/var/lib/quartierhub-kiosk/kept", "/var/lib/quartierhub-hub/kept", "/var/lib/quartierhub-hub/hub.db"} {
			if !exists(m, f) {
				t.Errorf("%s is gone after the upgrade", f)
			}
		}
		for _, u := range units {
			active(ctx, t, m, u)
		}
		after := strings.TrimSpace(do(ctx, t, m, "systemctl", "show", "-P", "MainPID", "quartierhub-agent.service"))
		if after == before {
			t.Errorf("the agent was not restarted by the upgrade (main PID %s)", after)
		}
		// The administrator's port holds after the restart.
		waitFor(t, "hub on the edited 127.0.0.1:8481", 30*time.Second, func() (bool, string) {
			out, err := m.Exec(ctx, "bash", "-c", `exec 3<>/dev/tcp/127.0.0.1/8481 && printf 'GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3 && cat <&3`)
			return err == nil && strings.HasPrefix(out, "HTTP/1.0 200"), fmt.Sprintf("%v %q", err, out)
		})
	})

	step("remove", func(t *testing.T) {
		do(ctx, t, m, "dpkg", "-r", packaging.Kiosk, packaging.Hub)
		for _, u := range units {
			if out, _ := m.Exec(ctx, "systemctl", "is-active", u); strings.TrimSpace(out) == "active" {
				t.Errorf("%s still runs after dpkg -r", u)
			}
		}
		for _, f := range []string{"/usr/bin/kiosk", "/usr/bin/hub-server", "/usr/lib/systemd/system/quartierhub-agent.service"} {
			if exists(m, f) {
				t.Errorf("%s is left after dpkg -r", f)
			}
		}
		for _, f := range []string{"/etc/quartierhub/kiosk.json", "/etc/quartierhub/hub.env", "/var/lib/quartierhub-kiosk/kept", "/var/lib/quartierhub-hub/hub.db"} {
			if !exists(m, f) {
				t.Errorf("%s is gone after dpkg -r; only purge removes it", f)
			}
		}
		for _, u := range users {
			if passwd, _ := accounts(t, m, u); len(passwd) != 1 {
				t.Errorf("user %s after dpkg -r: %q", u, passwd)
			}
		}
	})

	step("purge", func(t *testing.T) {
		do(ctx, t, m, "dpkg", "-P", packaging.Kiosk, packaging.Hub)
		for _, f := range []string{"/etc/quartierhub/kiosk.json", "/etc/quartierhub/hub.env", "/var/lib/quartierhub-kiosk", "/var/lib/quartierhub-hub", "/var/lib/quartierhub-updater"} {
			if exists(m, f) {
				t.Errorf("%s is left after dpkg -P", f)
			}
		}
		for _, u := range users {
			if passwd, group := accounts(t, m, u); len(passwd)+len(group) > 0 {
				t.Errorf("user %s after dpkg -P: passwd %q, group %q", u, passwd, group)
			}
		}
		if out, _ := m.Exec(ctx, "dpkg-query", "-W", "-f", "${Status}", packaging.Kiosk); strings.Contains(out, "installed") || strings.Contains(out, "config-files") {
			t.Errorf("%s: %q after purge", packaging.Kiosk, out)
		}
	})
}

// TestSessionInstall installs the kiosk and the session into a booted
// Debian 12 machine with Weston and Xwayland: the session's units pass
// systemd-analyze verify against the real weston, are enabled, and none
// fails (a container has no /dev/tty0, so the compositor's condition
// keeps it from starting); removal and purge take the session's files
// and leave the kiosk.
func TestSessionInstall(t *testing.T) {
	b := packages(t)
	needMachine(t)
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	kiosk, session := b.deb[packaging.Kiosk], b.deb[packaging.KioskSession]
	m := machine(ctx, t, kiosk, session)
	// units are enabled by postinst; installed are all its unit files.
	var units, installed []string
	for _, p := range packaging.Manifest(b.version) {
		if p.Name != packaging.KioskSession {
			continue
		}
		units = p.Units
		for _, f := range p.Files {
			if u, ok := strings.CutPrefix(f.Dest, "/usr/lib/systemd/system/"); ok {
				installed = append(installed, u)
			}
		}
	}
	start := time.Now()
	if out, err := m.Install(ctx, kiosk, session); err != nil {
		t.Fatalf("dpkg -i: %v\n%s", err, out)
	}
	t.Logf("install: %.1fs", time.Since(start).Seconds())
	verifyUnits(ctx, t, m, installed...)
	for _, u := range units {
		if out, _ := m.Exec(ctx, "systemctl", "is-enabled", u); strings.TrimSpace(out) != "enabled" {
			t.Errorf("%s is %q, want enabled", u, strings.TrimSpace(out))
		}
	}
	groups := strings.Fields(do(ctx, t, m, "id", "-nG", "quartierhub-kiosk"))
	if !slices.Contains(groups, "video") {
		t.Errorf("quartierhub-kiosk is in %q, not in video", groups)
	}
	// The window's speech: the sound card and the headphone jack.
	if !slices.Contains(groups, "audio") {
		t.Errorf("quartierhub-kiosk is in %q, not in audio", groups)
	}
	// Debian's systemd makes the render group; the window needs it for
	// the GPU.
	if _, err := m.Exec(ctx, "getent", "group", "render"); err == nil && !slices.Contains(groups, "render") {
		t.Errorf("quartierhub-kiosk is in %q, not in render", groups)
	}
	// Settle first: failures come from the jobs the install queued.
	do(ctx, t, m, "systemctl", "is-system-running", "--wait")
	if failed, _ := m.Exec(ctx, "systemctl", "list-units", "--failed", "--no-legend", "--plain"); strings.Contains(failed, "quartierhub") {
		t.Errorf("failed units after installing the session:\n%s", failed)
	}
	active(ctx, t, m, "quartierhub-agent.service")

	do(ctx, t, m, "dpkg", "-P", packaging.KioskSession)
	for _, u := range installed {
		if exists(m, "/usr/lib/systemd/system/"+u) {
			t.Errorf("%s is left after purging the session", u)
		}
	}
	if !exists(m, "/usr/bin/kiosk") || !exists(m, "/etc/quartierhub/kiosk.json") {
		t.Error("purging the session took the kiosk's files")
	}
}
