// Package debroot gives tests a real Debian 12 machine to install
// Quartierhub's packages into: a root file system made by mmdebstrap
// (built once per set of packages and cached), booted with systemd as its
// PID 1 in a systemd-nspawn container, so units, maintainer scripts,
// restarts and watchdogs behave as on a terminal. Each machine is an
// overlay on the cached image, so a test changes nothing another sees.
//
// It needs root, mmdebstrap, systemd-nspawn (systemd-container) and
// nsenter; Missing names what is absent.
package debroot

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Suite is the Debian release the images are made of.
const Suite = "bookworm"

// base is what every image has: systemd as init and D-Bus for it.
var base = []string{"systemd", "systemd-sysv", "dbus"}

// Missing names the programs this package needs that are not on PATH,
// or "root" when not running as root.
func Missing() []string {
	var missing []string
	for _, p := range []string{"mmdebstrap", "systemd-nspawn", "nsenter", "mount", "umount"} {
		if _, err := exec.LookPath(p); err != nil {
			missing = append(missing, p)
		}
	}
	if os.Geteuid() != 0 {
		missing = append(missing, "root")
	}
	return missing
}

// Image returns a Debian root with the base packages and include,
// building it with mmdebstrap into cacheDir the first time. Images are
// keyed by their package list and only ever read afterwards; a lock file
// lets parallel test processes share one build.
func Image(ctx context.Context, cacheDir string, include ...string) (string, error) {
	pkgs := append(append([]string(nil), base...), include...)
	sort.Strings(pkgs)
	sum := sha256.Sum256([]byte(Suite + "\n" + strings.Join(pkgs, "\n")))
	key := Suite + "-" + hex.EncodeToString(sum[:6])
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return "", fmt.Errorf("debroot: %w", err)
	}
	dir := filepath.Join(cacheDir, key)
	done := filepath.Join(dir, ".quartierhub-image-complete")

	lock, err := os.OpenFile(dir+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", fmt.Errorf("debroot: %w", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", fmt.Errorf("debroot: lock %s: %w", lock.Name(), err)
	}
	if _, err := os.Stat(done); err == nil {
		return dir, nil
	}
	tmp := dir + ".building"
	_ = os.RemoveAll(tmp)
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, "mmdebstrap", "--variant=minbase",
		"--include="+strings.Join(pkgs, ","), Suite, tmp)
	// mmdebstrap reads a sources list from standard input when it is
	// not a terminal; an empty one would mean no mirror at all.
	cmd.Stdin = nil
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		_ = os.RemoveAll(tmp)
		return "", fmt.Errorf("debroot: mmdebstrap %s: %w\n%s", strings.Join(pkgs, ","), err, tail(out.String(), 4000))
	}
	if err := os.WriteFile(filepath.Join(tmp, filepath.Base(done)), []byte(strings.Join(pkgs, "\n")+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("debroot: %w", err)
	}
	_ = os.RemoveAll(dir)
	if err := os.Rename(tmp, dir); err != nil {
		return "", fmt.Errorf("debroot: %w", err)
	}
	return dir, nil
}

// Options adjust a machine.
type Options struct {
	// Dir holds the overlay's upper layer and mount point; a test passes
	// t.TempDir().
	Dir string
	// Args are further systemd-nspawn arguments (--bind-ro=…, --setenv=…).
	Args []string
	// Console receives the container's console (systemd's boot messages);
	// nil discards it.
	Console io.Writer
}

// Machine is a booted container.
type Machine struct {
	// Root is the machine's file system as seen from the host: files
	// written there appear inside at once.
	Root string

	name   string
	leader int
	nspawn *exec.Cmd
	exited chan error
	upper  string
}

// Mount lays a writable overlay over image under dir and returns its
// root without booting it (for a chroot, or to prepare files first).
func Mount(image, dir string) (root string, unmount func() error, err error) {
	upper, work, root := filepath.Join(dir, "upper"), filepath.Join(dir, "work"), filepath.Join(dir, "root")
	for _, d := range []string{upper, work, root} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return "", nil, fmt.Errorf("debroot: %w", err)
		}
	}
	opts := "lowerdir=" + image + ",upperdir=" + upper + ",workdir=" + work
	if out, err := exec.Command("mount", "-t", "overlay", "overlay", "-o", opts, root).CombinedOutput(); err != nil {
		return "", nil, fmt.Errorf("debroot: overlay on %s: %w: %s", image, err, out)
	}
	return root, func() error {
		if out, err := exec.Command("umount", root).CombinedOutput(); err != nil {
			return fmt.Errorf("debroot: unmount %s: %w: %s", root, err, out)
		}
		return nil
	}, nil
}

// Boot starts a machine from image and waits until systemd has finished
// starting it (running or degraded). The machine shares the host's
// network, so a hub on the host's loopback is reachable from inside.
func Boot(ctx context.Context, image string, opt Options) (*Machine, error) {
	root, unmount, err := Mount(image, opt.Dir)
	if err != nil {
		return nil, err
	}
	name := "qh-" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatInt(time.Now().UnixNano()%1e6, 10)
	args := append([]string{"-D", root, "--boot", "--register=no", "--keep-unit", "-q",
		"--machine=" + name}, opt.Args...)
	cmd := exec.Command("systemd-nspawn", args...)
	console := opt.Console
	if console == nil {
		console = io.Discard
	}
	cmd.Stdout, cmd.Stderr = console, console
	// Its own process group, so a stop signal reaches nspawn only.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		_ = unmount()
		return nil, fmt.Errorf("debroot: systemd-nspawn: %w", err)
	}
	m := &Machine{Root: root, name: name, nspawn: cmd, exited: make(chan error, 1), upper: filepath.Join(opt.Dir, "upper")}
	go func() { m.exited <- cmd.Wait() }()
	stopOnErr := func(err error) (*Machine, error) {
		m.kill()
		_ = unmount()
		return nil, err
	}
	leader, err := m.findLeader(ctx)
	if err != nil {
		return stopOnErr(err)
	}
	m.leader = leader
	// "offline", or no bus to connect to, until systemd's private socket is up, a moment after exec.
	var state string
	for deadline := time.Now().Add(time.Minute); ; {
		state, err = m.Exec(ctx, "systemctl", "is-system-running", "--wait")
		state = strings.TrimSpace(state)
		if (state != "offline" && !strings.Contains(fmt.Sprint(err), "connect to bus")) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if state != "running" && state != "degraded" {
		failed, _ := m.Exec(ctx, "systemctl", "list-units", "--failed", "--no-legend")
		return stopOnErr(fmt.Errorf("debroot: machine did not start (%q, %v); failed units:\n%s", state, err, failed))
	}
	return m, nil
}

// kill ends the machine at once. SIGKILL to its PID 1 ends every process
// in its PID namespace; killing only nspawn would leave the container's
// systemd running, orphaned, with the overlay busy.
func (m *Machine) kill() {
	pid := m.leader
	if pid == 0 {
		pid = childOf(m.nspawn.Process.Pid)
	}
	if pid > 0 {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	_ = syscall.Kill(-m.nspawn.Process.Pid, syscall.SIGKILL)
	<-m.exited
}

// findLeader waits for the container's PID 1 (systemd, the child of
// nspawn) and returns its PID on the host.
func (m *Machine) findLeader(ctx context.Context) (int, error) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		// The child is nspawn's own until it executes systemd.
		if pid := childOf(m.nspawn.Process.Pid); pid > 0 && comm(pid) == "systemd" {
			return pid, nil
		}
		select {
		case err := <-m.exited:
			m.exited <- err
			return 0, fmt.Errorf("debroot: systemd-nspawn ended before the machine started: %v", err)
		case <-ctx.Done():
			return 0, fmt.Errorf("debroot: %w", ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return 0, errors.New("debroot: no systemd inside the container after 30 s")
		}
	}
}

func comm(pid int) string {
	b, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "comm"))
	return strings.TrimSpace(string(b))
}

func childOf(ppid int) int {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid …; comm may hold spaces and parentheses.
		rest := string(stat[bytes.LastIndexByte(stat, ')')+1:])
		f := strings.Fields(rest)
		if len(f) > 1 && f[1] == strconv.Itoa(ppid) {
			return pid
		}
	}
	return 0
}

// Leader is the host PID of the machine's systemd.
func (m *Machine) Leader() int { return m.leader }

// Exec runs a command inside the machine (all its namespaces, as root)
// and returns its standard output; a failure carries standard error.
func (m *Machine) Exec(ctx context.Context, args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "nsenter", append([]string{"-t", strconv.Itoa(m.leader), "-a", "--"}, args...)...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// Inside, PATH is Debian's, whatever the test's is.
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8", "SYSTEMD_PAGER=", "SYSTEMD_COLORS=0"}
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("debroot: %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// Install copies the package files into the machine and installs them
// with dpkg -i, as an administrator would.
func (m *Machine) Install(ctx context.Context, debs ...string) (string, error) {
	dir := filepath.Join(m.Root, "root", "debs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("debroot: %w", err)
	}
	inside := []string{"dpkg", "-i"}
	for _, deb := range debs {
		data, err := os.ReadFile(deb)
		if err != nil {
			return "", fmt.Errorf("debroot: %w", err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(deb)), data, 0o644); err != nil {
			return "", fmt.Errorf("debroot: %w", err)
		}
		inside = append(inside, "/root/debs/"+filepath.Base(deb))
	}
	return m.Exec(ctx, inside...)
}

// Stop powers the machine off, waits for it (killing it after 30 s) and
// removes its overlay.
func (m *Machine) Stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	_, _ = m.Exec(ctx, "systemctl", "poweroff", "--no-block")
	cancel()
	select {
	case <-m.exited:
	case <-time.After(30 * time.Second):
		m.kill()
	}
	var err error
	for i := 0; i < 50; i++ {
		out, uerr := exec.Command("umount", m.Root).CombinedOutput()
		if uerr == nil {
			return nil
		}
		err = fmt.Errorf("debroot: unmount %s: %w: %s", m.Root, uerr, out)
		time.Sleep(100 * time.Millisecond)
	}
	return err
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// Cache is where images are kept between test runs: $QH_DEBROOT_CACHE,
// or /var/cache/quartierhub-tests/debroot (outside the repository, so a
// fresh clone reuses them and git never sees them).
func Cache() string {
	if d := os.Getenv("QH_DEBROOT_CACHE"); d != "" {
		return d
	}
	return "/var/cache/quartierhub-tests/debroot"
}
