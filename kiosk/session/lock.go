package session

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// LockFile is the session lock's name in the agent's data directory. The
// window holds it shared while a resident's session is open; the updater
// (kiosk/updater.SessionLock) takes it exclusively, without waiting, to
// switch releases and restart the kiosk, so it never does so during a
// session. The agent creates it at start (CreateLockFile): the window's
// sandbox cannot create files there, and flock needs only a read-only
// descriptor.
const LockFile = "session.lock"

// CreateLockFile creates the lock file at path if it is missing,
// readable by all (the window and the updater open it read-only).
func CreateLockFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("session lock: %w", err)
	}
	return f.Close()
}

// Lock is the window's side of the session lock. A session must never
// wait for it: if it cannot be held (the updater is restarting the kiosk
// right now, or the file is missing), the session goes on and the
// failure is logged.
type Lock struct {
	path string
	log  *slog.Logger

	mu sync.Mutex
	f  *os.File
}

// NewLock returns the lock on the file at path; log may be nil.
func NewLock(path string, log *slog.Logger) *Lock {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Lock{path: path, log: log}
}

// Hold takes the lock shared, without waiting; a held lock is kept.
func (l *Lock) Hold() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f != nil {
		return
	}
	f, err := os.Open(l.path)
	if errors.Is(err, os.ErrNotExist) {
		// Outside systemd (make run) the window may create it itself.
		f, err = os.OpenFile(l.path, os.O_RDONLY|os.O_CREATE, 0o644)
	}
	if err != nil {
		l.log.Warn("session lock not held; an update could interrupt this session", "err", err)
		return
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB); err != nil {
		f.Close()
		l.log.Warn("session lock not held; an update could interrupt this session", "err", err)
		return
	}
	l.f = f
}

// Release lets the lock go (closing the descriptor releases the flock).
func (l *Lock) Release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f != nil {
		l.f.Close()
		l.f = nil
	}
}

// Held reports whether the lock is held.
func (l *Lock) Held() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.f != nil
}
