package update

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/quartierhub/quartierhub/kiosk/session"
	"github.com/quartierhub/quartierhub/kiosk/updater/handoff"
)

// A kill -9 of the updater at each step it stays in long enough to be
// seen from outside (downloading, with a rate limit; staging, when the
// poll catches it; waiting for the window, held by a resident's session;
// the health gate's trial) leaves a terminal that starts a working
// version, as after a power cut: the agent's unit started again runs the
// release current names, complete, or the package. The updater started
// again then recovers from its journal and commits the release. (Every
// step, the instants between them included, is killed at engine level in
// kiosk/updater's TestCrashAtEveryStep.)
func TestKillAtEveryStep(t *testing.T) {
	w := newWorld(t)
	w.publish(good, bins.kiosk[good])
	w.startAgent(packaged)
	w.startRollout(good)

	for _, step := range []string{handoff.StateDownloading, handoff.StateStaging, handoff.StateWaiting, "gate"} {
		t.Run(step, func(t *testing.T) {
			// A terminal as packaged, nothing installed.
			if err := w.units.Stop(agentUnit); err != nil {
				t.Fatal(err)
			}
			if err := os.RemoveAll(w.updDir); err != nil {
				t.Fatal(err)
			}
			w.startAgent(packaged)

			extra := []string{"--log-level", "debug"}
			if step == handoff.StateDownloading {
				extra = []string{"--rate-limit", "4194304"} // about 3 s for the release
			}
			unlock := func() {}
			if step == handoff.StateWaiting {
				unlock = holdSession(t, filepath.Join(w.kioskData, session.LockFile))
			}
			killedIn := w.killUpdaterAt(step, extra...)
			unlock() // the session ends
			t.Logf("killed in %s", killedIn)

			// The power comes back: the kiosk starts what current names.
			want := packaged
			if v := w.current(); v != "" {
				if fi, err := os.Stat(filepath.Join(w.updDir, "releases", v, "bin", "kiosk")); err != nil || fi.Mode()&0o111 == 0 {
					t.Fatalf("current names %s, which is not a complete release: %v", v, err)
				}
				want = v
			}
			if err := w.units.Stop(agentUnit); err != nil {
				t.Fatal(err)
			}
			w.startAgent(want)

			// The updater's service starts again (and resumes a download).
			var ranged atomic.Bool
			see := func(_ http.ResponseWriter, r *http.Request) bool {
				if strings.HasPrefix(r.URL.Path, "/tuf/v1/targets/") && strings.HasPrefix(r.Header.Get("Range"), "bytes=") {
					ranged.Store(true)
				}
				return false
			}
			w.attack.Store(&see)
			out, err := w.updaterOnce()
			w.attack.Store(nil)
			if step == handoff.StateDownloading && !ranged.Load() {
				t.Fatal("the interrupted download was not resumed with a range request")
			}
			if err != nil || !strings.Contains(out, `"outcome":"committed"`) {
				t.Fatalf("after the kill in %s: %v\n%s", killedIn, err, out)
			}
			if w.current() != good {
				t.Fatalf("current is %q", w.current())
			}
			w.agentRuns(good)
		})
	}
}

// killUpdaterAt runs the updater and kills it with SIGKILL once its
// journal (or, for "gate", its status) shows step; it returns the state
// the journal was in after the kill.
func (w *world) killUpdaterAt(step string, extra ...string) string {
	w.t.Helper()
	args := append([]string{"--once", "--kiosk-data", w.kioskData, "--dir", w.updDir, "--root", w.signer.RootFile(),
		"--units", agentUnit, "--trial", trial, "--window", "always", "--jitter", "0", "--rate-limit", "0"}, extra...)
	cmd, ok := w.units.Updater(w.ctx, bins.updater, args...)
	if !ok {
		w.t.Skip("the host's clock is not synchronised and the test cannot give the updater a namespace where it is (not root)")
	}
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	// Polled, not waited on: the updater is another process whose files
	// are the only events; staging lasts a fraction of a second.
	deadline := time.Now().Add(time.Minute)
	for !w.reached(step) {
		select {
		case err := <-exited:
			w.t.Fatalf("the updater ended before %s: %v\n%s", step, err, out.String())
		default:
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			w.t.Fatalf("the updater never reached %s\n%s", step, out.String())
		}
		time.Sleep(200 * time.Microsecond)
	}
	if err := cmd.Process.Kill(); err != nil {
		w.t.Fatal(err)
	}
	<-exited
	var j struct {
		State string `json:"state"`
	}
	b, err := os.ReadFile(filepath.Join(w.updDir, "journal.json"))
	if err != nil || json.Unmarshal(b, &j) != nil {
		w.t.Fatalf("journal after the kill: %v %s", err, b)
	}
	return j.State
}

// reached reports whether the updater is at step (see killUpdaterAt).
func (w *world) reached(step string) bool {
	if step == "gate" {
		st, err := handoff.ReadStatus(w.updDir)
		return err == nil && st.State == handoff.StateTrying && st.Gate
	}
	var j struct {
		State string `json:"state"`
	}
	b, err := os.ReadFile(filepath.Join(w.updDir, "journal.json"))
	if err != nil || json.Unmarshal(b, &j) != nil {
		return false
	}
	if step == handoff.StateDownloading && j.State == step {
		// Halfway through, so that the next round resumes it.
		parts, _ := filepath.Glob(filepath.Join(w.updDir, "downloads", "*.partial"))
		return len(parts) == 1 && size(parts[0]) > 1<<20
	}
	if step == handoff.StateStaging && j.State != handoff.StateIdle && j.State != handoff.StateDownloading {
		return true // staging, or past it if the poll missed it (reported)
	}
	return j.State == step
}

func size(p string) int64 {
	fi, err := os.Stat(p)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// holdSession holds the session lock shared as the window does during
// a resident's session.
func holdSession(t *testing.T, path string) func() {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("the agent made no session lock: %v", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_SH); err != nil {
		t.Fatal(err)
	}
	return func() { f.Close() }
}
