package session_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/quartierhub/quartierhub/kiosk/session"
)

// exclusiveFromAnotherProcess tries, in a child process, what the
// updater does: take the lock exclusively without waiting. It reports
// whether the child got it.
func exclusiveFromAnotherProcess(t *testing.T, path string) bool {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperTryExclusive$")
	cmd.Env = append(os.Environ(), "SESSION_LOCK_HELPER="+path)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return true
	case errors.As(err, &exit) && exit.ExitCode() == 3:
		return false
	}
	t.Fatalf("helper: %v: %s", err, out)
	return false
}

// TestHelperTryExclusive is the child of exclusiveFromAnotherProcess.
func TestHelperTryExclusive(t *testing.T) {
	path := os.Getenv("SESSION_LOCK_HELPER")
	if path == "" {
		t.Skip("only as a child process")
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); errors.Is(err, unix.EWOULDBLOCK) {
		os.Exit(3)
	} else if err != nil {
		t.Fatal(err)
	}
}

// The window's session holds the lock shared from start to end, however
// the session ends; meanwhile another process cannot take it exclusively,
// before and after it can.
func TestSessionHoldsTheLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), session.LockFile)
	if err := session.CreateLockFile(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o444); err != nil { // as the window sees it: read-only
		t.Fatal(err)
	}
	lock := session.NewLock(path, nil)
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	m := session.NewManager(session.Opts{Now: func() time.Time { return now }, Lock: lock})
	if !exclusiveFromAnotherProcess(t, path) {
		t.Fatal("locked before any session")
	}
	m.Start("")
	if !lock.Held() || exclusiveFromAnotherProcess(t, path) {
		t.Fatal("the updater could take the lock during a session")
	}
	// A second descriptor in this process (as the updater's own open) is
	// refused as well: flock locks belong to the open file.
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); !errors.Is(err, unix.EWOULDBLOCK) {
		t.Fatalf("exclusive lock during a session: %v", err)
	}
	m.End(session.EndDone)
	if lock.Held() || !exclusiveFromAnotherProcess(t, path) {
		t.Fatal("lock kept after the session ended")
	}

	// A session that times out lets go too.
	m.Start("")
	if exclusiveFromAnotherProcess(t, path) {
		t.Fatal("not held in the second session")
	}
	now = now.Add(session.DefaultTimeout + session.DefaultWarning)
	if st, _ := m.Check(); st != session.Idle {
		t.Fatalf("state %v", st)
	}
	if !exclusiveFromAnotherProcess(t, path) {
		t.Fatal("lock kept after a timeout")
	}
}

// While the updater holds the lock (it is restarting the kiosk), a
// session starts anyway: a resident never waits for an update.
func TestSessionStartsWhileTheUpdaterHoldsTheLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), session.LockFile)
	if err := session.CreateLockFile(path); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	lock := session.NewLock(path, nil)
	m := session.NewManager(session.Opts{Lock: lock})
	if s := m.Start(""); s == nil || lock.Held() {
		t.Fatalf("session %v, held %v", s, lock.Held())
	}
	m.End(session.EndDone)
}
