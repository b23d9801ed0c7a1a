// Package fakeunits stands in for systemctl where the tests under tests/
// run the real quartierhub-updater without a booted systemd (make test;
// tests/session/machine and tests/packages have the real one under make
// test-packages). The updater runs `systemctl restart -- UNITS` and
// `systemctl show -p ActiveState,NRestarts -- UNIT`; this package answers
// both for units that are plain commands: restart ends a unit's process
// (SIGTERM, then SIGKILL) and starts its command again in a session of
// its own; show says active while the process lives, inactive after a
// stop and failed when it died by itself. It does not know READY,
// watchdogs or automatic restarts (NRestarts is always 0): a release
// that crashes at start is what it can show failing.
//
// A test binary (or the bench) calls Main first thing; Env gives a child
// process a PATH on which systemctl is a link to that same binary.
//
// The updater also refuses to work while the clock is not synchronised
// (updater.ClockSynced: the kernel's adjtimex state, or timesyncd's flag
// file). Where the host's clock is not (a container whose host runs no
// NTP client), Updater runs it in a mount namespace of its own whose
// /run has timesyncd's flag, so the host is left as it is.
package fakeunits

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/quartierhub/quartierhub/kiosk/updater"
)

// envDir names the units' directory for the systemctl personality;
// envSynced asks for the synchronised-clock personality.
const (
	envDir    = "QH_FAKEUNITS_DIR"
	envSynced = "QH_FAKEUNITS_SYNCED_EXEC"
)

// Units is a directory of unit definitions (UNIT.json: the command line)
// and their state (UNIT.pid, UNIT.stopped, UNIT.log).
type Units struct{ Dir string }

// New makes the directory and the systemctl link in Dir/bin.
func New(dir string) (Units, error) {
	if err := os.MkdirAll(filepath.Join(dir, "bin"), 0o755); err != nil {
		return Units{}, fmt.Errorf("fakeunits: %w", err)
	}
	self, err := os.Executable()
	if err != nil {
		return Units{}, fmt.Errorf("fakeunits: %w", err)
	}
	link := filepath.Join(dir, "bin", "systemctl")
	if err := os.Symlink(self, link); err != nil && !errors.Is(err, os.ErrExist) {
		return Units{}, fmt.Errorf("fakeunits: %w", err)
	}
	return Units{Dir: dir}, nil
}

// Define sets the command line of unit.
func (u Units) Define(unit string, argv ...string) error {
	data, err := json.Marshal(argv)
	if err != nil {
		return fmt.Errorf("fakeunits: %w", err)
	}
	return os.WriteFile(filepath.Join(u.Dir, unit+".json"), data, 0o644)
}

// Env is the environment for a process that should find this systemctl.
func (u Units) Env() []string {
	return append(os.Environ(), "PATH="+filepath.Join(u.Dir, "bin")+":"+os.Getenv("PATH"), envDir+"="+u.Dir)
}

// Systemctl runs this package's systemctl with args, as the updater would.
func (u Units) Systemctl(args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(u.Dir, "bin", "systemctl"), args...)
	cmd.Env = u.Env()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("fakeunits: systemctl %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// Stop ends every unit's process.
func (u Units) Stop(units ...string) error {
	for _, unit := range units {
		if err := stop(u.Dir, unit); err != nil {
			return err
		}
	}
	return nil
}

// PID is the unit's process, 0 when it does not run.
func (u Units) PID(unit string) int {
	pid := readPID(u.Dir, unit)
	if pid == 0 || !alive(pid) {
		return 0
	}
	return pid
}

// Log is the unit's output so far.
func (u Units) Log(unit string) string {
	b, _ := os.ReadFile(filepath.Join(u.Dir, unit+".log"))
	return string(b)
}

// Updater returns the command running the updater binary bin with args,
// finding this systemctl, with a synchronised clock as described above.
// ok is false when the host's clock is not synchronised and this process
// cannot make a mount namespace (not root).
func (u Units) Updater(ctx context.Context, bin string, args ...string) (cmd *exec.Cmd, ok bool) {
	if synced, err := updater.ClockSynced(ctx); err == nil && synced {
		cmd = exec.CommandContext(ctx, bin, args...)
		cmd.Env = u.Env()
		return cmd, true
	}
	if os.Geteuid() != 0 {
		return nil, false
	}
	self, err := os.Executable()
	if err != nil {
		return nil, false
	}
	cmd = exec.CommandContext(ctx, self, args...)
	cmd.Env = append(u.Env(), envSynced+"="+bin)
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS} // Go makes its mounts private
	return cmd, true
}

// Main turns this process into systemctl when it was started as one
// (through the link New made), or into the updater with a synchronised
// clock (Updater), and never returns then.
func Main() {
	if bin := os.Getenv(envSynced); bin != "" {
		os.Unsetenv(envSynced)
		if err := execSynced(bin); err != nil {
			fmt.Fprintln(os.Stderr, "fakeunits:", err)
			os.Exit(1)
		}
	}
	dir := os.Getenv(envDir)
	if filepath.Base(os.Args[0]) != "systemctl" || dir == "" {
		return
	}
	if err := systemctl(dir, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "systemctl (fakeunits):", err)
		os.Exit(1)
	}
	os.Exit(0)
}

func systemctl(dir string, args []string) error {
	if len(args) == 0 {
		return errors.New("no command")
	}
	cmd, rest := args[0], args[1:]
	var units []string
	for i := 0; i < len(rest); i++ {
		switch rest[i] {
		case "--":
		case "-p":
			i++ // the properties: always ActiveState and NRestarts
		default:
			units = append(units, rest[i])
		}
	}
	switch cmd {
	case "restart":
		for _, unit := range units {
			if err := stop(dir, unit); err != nil {
				return err
			}
			if err := start(dir, unit); err != nil {
				return err
			}
		}
		return nil
	case "stop":
		for _, unit := range units {
			if err := stop(dir, unit); err != nil {
				return err
			}
		}
		return nil
	case "show":
		for _, unit := range units {
			if _, err := os.Stat(filepath.Join(dir, unit+".json")); err != nil {
				return fmt.Errorf("unit %s not found", unit)
			}
			state := "failed"
			switch pid := readPID(dir, unit); {
			case pid != 0 && alive(pid):
				state = "active"
			case pid == 0 || exists(filepath.Join(dir, unit+".stopped")):
				state = "inactive"
			}
			fmt.Printf("ActiveState=%s\nNRestarts=0\n", state)
		}
		return nil
	}
	return fmt.Errorf("command %q not supported", cmd)
}

// execSynced, in its own mount namespace, puts a tmpfs with timesyncd's
// flag on /run and executes the updater.
func execSynced(bin string) error {
	if err := syscall.Mount("tmpfs", "/run", "tmpfs", 0, "mode=0755"); err != nil {
		return fmt.Errorf("mount /run: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(updater.TimesyncFlag), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(updater.TimesyncFlag, nil, 0o644); err != nil {
		return err
	}
	return syscall.Exec(bin, append([]string{bin}, os.Args[1:]...), os.Environ())
}

func start(dir, unit string) error {
	data, err := os.ReadFile(filepath.Join(dir, unit+".json"))
	if err != nil {
		return fmt.Errorf("unit %s not found", unit)
	}
	var argv []string
	if err := json.Unmarshal(data, &argv); err != nil || len(argv) == 0 {
		return fmt.Errorf("unit %s: bad definition", unit)
	}
	logf, err := os.OpenFile(filepath.Join(dir, unit+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = os.Environ()
	// Its own session: the unit outlives this systemctl and is not hit
	// by signals meant for whoever ran it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("unit %s: %w", unit, err)
	}
	os.Remove(filepath.Join(dir, unit+".stopped"))
	return os.WriteFile(filepath.Join(dir, unit+".pid"), []byte(strconv.Itoa(cmd.Process.Pid)), 0o644)
}

func stop(dir, unit string) error {
	if err := os.WriteFile(filepath.Join(dir, unit+".stopped"), nil, 0o644); err != nil {
		return err
	}
	pid := readPID(dir, unit)
	if pid == 0 || !alive(pid) {
		return nil
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	// systemd's default TimeoutStopSec is 90 s; the kiosk's parts stop in
	// well under a second, so 10 s before SIGKILL is generous.
	deadline := time.Now().Add(10 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			deadline = time.Now().Add(10 * time.Second)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return nil
}

func readPID(dir, unit string) int {
	b, err := os.ReadFile(filepath.Join(dir, unit+".pid"))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// alive reports whether pid runs; a zombie (dead, not yet reaped by
// whoever inherited it) does not.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] != 'Z' && s[i+2] != 'X'
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
