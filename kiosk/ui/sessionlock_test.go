package ui_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/quartierhub/quartierhub/kiosk/session"
	"github.com/quartierhub/quartierhub/kiosk/ui"
)

// The window holds the session lock from the resident's first touch to
// the session's end, so the updater's exclusive lock fails meanwhile.
func TestWindowHoldsTheSessionLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), session.LockFile)
	if err := session.CreateLockFile(path); err != nil {
		t.Fatal(err)
	}
	lock := session.NewLock(path, nil)
	h := newHarnessWith(t, newFake(t), ui.WindowedSize, func(o *ui.Opts) { o.SessionLock = lock })
	updaterCanLock := func() bool {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err != nil && !errors.Is(err, unix.EWOULDBLOCK) {
			t.Fatal(err)
		}
		return err == nil
	}
	if !updaterCanLock() {
		t.Fatal("locked on the attract screen")
	}
	h.tapAttract()
	h.tap("Problem melden")
	if updaterCanLock() {
		t.Fatal("the updater could take the lock during a session")
	}
	h.clk.Add(session.DefaultTimeout + session.DefaultWarning)
	h.u.Tick()
	h.expectScreen(ui.ScreenAttract)
	if !updaterCanLock() {
		t.Fatal("lock kept after the session timed out")
	}
}
