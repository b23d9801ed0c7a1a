// Package machine runs the terminal's updater under systemd against a
// real hub: the kiosk and session packages installed in a booted Debian
// 12 machine (tests/internal/debroot; Weston's headless backend through a
// test drop-in, as tests/session/machine has it), the root of a key
// ceremony pinned, quartierhub-updater.service as packaged (a drop-in
// only shortens its interval, jitter, trial and restart delay), and the
// real hub-server on the host's loopback with its repository made through
// its command line and rollouts started from its console. The health gate
// is the real one: the window's READY and watchdog, restarts counted by
// systemd, the agent's answer. It runs only when QH_PACKAGES_DIR names the
// built packages, as `make test-packages` does.
package machine

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/kiosk/updater/handoff"
	"github.com/quartierhub/quartierhub/provisioning/release"
	"github.com/quartierhub/quartierhub/tests/internal/debroot"
	"github.com/quartierhub/quartierhub/tests/internal/harness"
	"github.com/quartierhub/quartierhub/tests/internal/kioskmachine"
)

// fast is the test's drop-in for the updater: rounds every second, no
// jitter, a 5 s trial, restarted 1 s after a kill (packaged: 5 min, 15
// min, 10 min, 30 s); everything else as packaged.
const fast = `[Service]
ExecStart=
ExecStart=/usr/bin/quartierhub-updater --interval 1s --jitter 0 --trial 5s --rate-limit %d
RestartSec=1s
`

const (
	dataDir      = kioskmachine.DataDir
	updDir       = "/var/lib/quartierhub-updater"
	terminalName = "machine-1"
	updaterUnit  = "quartierhub-updater.service"
	windowUnit   = "quartierhub-window.service"
	agentUnit    = "quartierhub-agent.service"
)

type rig struct {
	t      *testing.T
	ctx    context.Context
	m      *debroot.Machine
	hub    *harness.Hub
	signer *harness.Signer
	con    *harness.Console
	dir    string
}

func (r *rig) do(args ...string) string {
	r.t.Helper()
	out, err := r.m.Exec(r.ctx, args...)
	if err != nil {
		r.t.Fatalf("%v\n%s", err, out)
	}
	return strings.TrimSpace(out)
}

func (r *rig) prop(unit, name string) string {
	out, _ := r.m.Exec(r.ctx, "systemctl", "show", "-P", name, unit)
	return strings.TrimSpace(out)
}

// exe is what the unit's main process runs.
func (r *rig) exe(unit string) string {
	out, _ := r.m.Exec(r.ctx, "readlink", "/proc/"+r.prop(unit, "MainPID")+"/exe")
	return strings.TrimSpace(out)
}

func (r *rig) status() handoff.Status {
	st, _ := handoff.ReadStatus(filepath.Join(r.m.Root, updDir))
	return st
}

// waitFor polls cond every 50 ms for at most limit.
func (r *rig) waitFor(what string, limit time.Duration, cond func() (bool, string)) {
	r.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		ok, last := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			// The rounds that found nothing to do say nothing; the rest
			// (and the window's and agent's last words) do.
			log, _ := r.m.Exec(r.ctx, "sh", "-c", "journalctl --no-pager -o cat -u "+updaterUnit+" | grep -v '\"outcome\":\"no-offer\"' | tail -n 40")
			units, _ := r.m.Exec(r.ctx, "journalctl", "--no-pager", "-o", "short-monotonic", "-n", "30", "-u", windowUnit, "-u", agentUnit)
			r.t.Fatalf("waiting %v for %s: last %s\nupdater's journal:\n%s\nwindow and agent:\n%s", limit, what, last, log, units)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// runs waits until the agent and the window run release v's kiosk, the
// window active (READY).
func (r *rig) runs(v string) {
	r.t.Helper()
	want := updDir + "/releases/" + v + "/bin/kiosk"
	r.waitFor("agent and window running "+v, 2*time.Minute, func() (bool, string) {
		a, w, st := r.exe(agentUnit), r.exe(windowUnit), r.prop(windowUnit, "ActiveState")
		return a == want && w == want && st == "active", fmt.Sprintf("agent %s, window %s %s", a, w, st)
	})
}

func (r *rig) publish(v, kiosk string) {
	r.t.Helper()
	dir := filepath.Join(r.dir, "release-"+v)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		r.t.Fatal(err)
	}
	art, err := release.WriteFile(dir, v, "amd64", kiosk)
	if err != nil {
		r.t.Fatal(err)
	}
	if err := r.signer.Publish(r.ctx, r.hub, v, art); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rig) startRollout(v string) string {
	r.t.Helper()
	form := url.Values{"version": {v}, "success_percent": {"95"}, "fail_count": {"0"}, "fail_percent": {"100"}, "canary": {terminalName},
		"stage_name": {"canary", "all"}, "stage_percent": {"0", "100"}, "stage_soak": {"60", "0"}}
	code, page, loc, err := r.con.Post(r.ctx, "/console/rollouts", form)
	if err != nil || code != http.StatusSeeOther || !strings.HasPrefix(loc, "/console/rollouts/") {
		r.t.Fatalf("start rollout of %s: %d %v\n%s", v, code, err, page)
	}
	loc, _, _ = strings.Cut(loc, "?")
	// The offer comes with the next heartbeat; the agent sends its first
	// at start.
	r.do("systemctl", "restart", agentUnit)
	return loc
}

func size(p string) int64 {
	fi, err := os.Stat(p)
	if err != nil {
		return 0
	}
	return fi.Size()
}

func (r *rig) stopRollout(loc string) {
	r.t.Helper()
	if code, page, _, err := r.con.Post(r.ctx, loc+"/stop", url.Values{"reason": {"next release"}}); err != nil || code != http.StatusSeeOther {
		r.t.Fatalf("stop %s: %d %v\n%s", loc, code, err, page)
	}
}

func (r *rig) memberState(loc, state string) {
	r.t.Helper()
	row := regexp.MustCompile(`>` + terminalName + `</a></th>.*?class="badge s-([a-z_]+)"`)
	r.waitFor("the console to show "+terminalName+" "+state, time.Minute, func() (bool, string) {
		_, page, _ := r.con.Get(r.ctx, loc)
		m := row.FindStringSubmatch(page)
		return m != nil && m[1] == state, fmt.Sprint(m)
	})
}

func buildKiosk(ctx context.Context, t *testing.T, out, v string) {
	t.Helper()
	root, err := harness.ModuleRoot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// With cgo, as the packaged kiosk (its window needs it).
	cmd := exec.CommandContext(ctx, "go", "build", "-ldflags", "-X github.com/quartierhub/quartierhub/kiosk/cli.Version="+v, "-o", out, "./kiosk/cmd/kiosk")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build kiosk %s: %v\n%s", v, err, msg)
	}
}

// A good release commits under systemd with the window's READY in its
// gate; a release whose window cannot start is rolled back by the
// updater itself to the release before; the updater killed with SIGKILL
// while downloading, in a trial and while a resident's session makes it
// wait is restarted by systemd, recovers from its journal and commits,
// the window running a working version throughout and never restarted
// during the session.
func TestUpdaterUnderSystemd(t *testing.T) {
	kioskDeb, sessionDeb := kioskmachine.Debs(t)
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	defer cancel()
	r := &rig{t: t, ctx: ctx, dir: t.TempDir()}

	// The hub, on the host's loopback (the machine shares its network).
	hubBin, err := harness.BuildHub(ctx, r.dir)
	if err != nil {
		t.Fatal(err)
	}
	if r.hub, err = harness.NewHub(harness.Bins{Hub: hubBin}, filepath.Join(r.dir, "hub")); err != nil {
		t.Fatal(err)
	}
	if err := r.hub.StartFresh(ctx); err != nil {
		t.Fatal(err)
	}
	defer r.hub.Stop()
	if r.signer, err = r.hub.InitReleases(ctx, filepath.Join(r.dir, "keys")); err != nil {
		t.Fatal(err)
	}
	layer := filepath.Join(r.dir, "global.json")
	if err := os.WriteFile(layer, []byte(`{"settings":{"heartbeat_interval":"5s"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := r.hub.CLI(ctx, "config", "set", "--scope", "global", "--file", layer); err != nil {
		t.Fatal(err)
	}
	if r.con, err = r.hub.NewConsole(ctx, "it"); err != nil {
		t.Fatal(err)
	}
	kiosks := map[string]string{}
	for _, v := range []string{"1.1.0", "1.3.0", "1.4.0"} {
		kiosks[v] = filepath.Join(r.dir, "kiosk-"+v)
		buildKiosk(ctx, t, kiosks[v], v)
	}

	// The terminal.
	start := time.Now()
	image, err := debroot.Image(ctx, debroot.Cache(), kioskmachine.Depends(t, kioskDeb, sessionDeb)...)
	if err != nil {
		t.Fatal(err)
	}
	if r.m, err = debroot.Boot(ctx, image, debroot.Options{Dir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := r.m.Stop(); err != nil {
			t.Error(err)
		}
	}()
	if out, err := r.m.Install(ctx, kioskDeb, sessionDeb); err != nil {
		t.Fatalf("dpkg -i: %v\n%s", err, out)
	}
	put := func(path, body string) {
		t.Helper()
		p := filepath.Join(r.m.Root, path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	put(kioskmachine.CompositorDropIn, kioskmachine.Headless)
	put("etc/systemd/system/quartierhub-updater.service.d/fast.conf", fmt.Sprintf(fast, 0))
	root, err := os.ReadFile(r.signer.RootFile())
	if err != nil {
		t.Fatal(err)
	}
	put("usr/share/quartierhub/tuf-root.json", string(root))
	// timesyncd's flag: a container runs no timesyncd and may not ask
	// adjtimex (tests/packages does the same).
	r.do("sh", "-c", "mkdir -p /run/systemd/timesync && touch /run/systemd/timesync/synchronized")
	r.do("systemctl", "daemon-reload")

	tok, err := r.hub.Token(ctx, terminalName, "Johannstadt")
	if err != nil {
		t.Fatal(err)
	}
	r.do("runuser", "-u", "quartierhub-kiosk", "--", "/usr/bin/kiosk", "enroll", "--hub", r.hub.URL(), "--token", tok, "--data", dataDir)
	r.do("systemctl", "restart", agentUnit)
	r.do("systemctl", "start", "--no-block", "quartierhub-compositor.service")
	r.waitFor("the packaged window active", 2*time.Minute, func() (bool, string) {
		st := r.prop(windowUnit, "ActiveState")
		return st == "active", st
	})
	r.do("systemctl", "restart", updaterUnit)
	t.Logf("terminal ready: %.1fs", time.Since(start).Seconds())

	// A good release commits.
	r.publish("1.1.0", kiosks["1.1.0"])
	loc := r.startRollout("1.1.0")
	start = time.Now()
	r.waitFor("1.1.0 committed", 3*time.Minute, func() (bool, string) {
		st := r.status()
		return st.Last == handoff.LastCommitted && st.Running == "1.1.0" && st.State == handoff.StateIdle, fmt.Sprintf("%+v", st)
	})
	t.Logf("1.1.0 committed %.1fs after the rollout started", time.Since(start).Seconds())
	r.runs("1.1.0")
	r.memberState(loc, "done")

	// A release whose window cannot start rolls back to 1.1.0 by itself.
	r.stopRollout(loc)
	broken := filepath.Join(r.dir, "broken-kiosk")
	if err := os.WriteFile(broken, []byte("#!/bin/sh\nif [ \"$1\" = run ]; then echo 'window 1.2.0: cannot open the display' >&2; exit 1; fi\nexec /usr/bin/kiosk \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	r.publish("1.2.0", broken)
	loc = r.startRollout("1.2.0")
	start = time.Now()
	r.waitFor("1.2.0 rolled back", 3*time.Minute, func() (bool, string) {
		st := r.status()
		return st.Last == handoff.LastRolledBack && st.State == handoff.StateIdle && slices.Contains(st.Bad, "1.2.0"), fmt.Sprintf("%+v", st)
	})
	t.Logf("1.2.0 rolled back %.1fs after the rollout started: %s", time.Since(start).Seconds(), r.status().LastError)
	r.runs("1.1.0")
	if log := r.do("journalctl", "--no-pager", "-o", "cat", "-u", windowUnit); !strings.Contains(log, "cannot open the display") {
		t.Error("the broken window never ran")
	}
	r.memberState(loc, "rolled_back")

	// Killed (SIGKILL) while downloading and in the trial: systemd starts
	// the updater again, it recovers and commits 1.3.0.
	r.stopRollout(loc)
	r.publish("1.3.0", kiosks["1.3.0"])
	put("etc/systemd/system/quartierhub-updater.service.d/fast.conf", fmt.Sprintf(fast, 4<<20))
	r.do("systemctl", "daemon-reload")
	r.do("systemctl", "restart", updaterUnit)
	loc = r.startRollout("1.3.0")
	kill := func(what string, at func(handoff.Status) bool) {
		t.Helper()
		r.waitFor("the updater "+what, 3*time.Minute, func() (bool, string) {
			st := r.status()
			return at(st), fmt.Sprintf("%+v", st)
		})
		pid := r.prop(updaterUnit, "MainPID")
		// The updater's process, as kill -9 would: killing the whole unit
		// (--kill-whom=all) fails here with "Failed to send signal SIGKILL
		// to auxiliary processes: Input/output error" under nspawn.
		r.do("systemctl", "kill", "--kill-whom=main", "-s", "KILL", updaterUnit)
		t.Logf("updater (PID %s) killed %s", pid, what)
		r.waitFor("the updater started again", time.Minute, func() (bool, string) {
			p := r.prop(updaterUnit, "MainPID")
			return p != pid && p != "0", p
		})
	}
	kill("downloading", func(st handoff.Status) bool {
		parts, _ := filepath.Glob(filepath.Join(r.m.Root, updDir, "downloads", "*.partial"))
		return st.State == handoff.StateDownloading && len(parts) == 1 && size(parts[0]) > 1<<20
	})
	kill("in the trial", func(st handoff.Status) bool { return st.State == handoff.StateTrying && st.Gate })
	// Right after the kill, before the recovery's restarts: the window
	// runs a working version (the trial's, or 1.1.0 again).
	r.waitFor("the window active", time.Minute, func() (bool, string) {
		st := r.prop(windowUnit, "ActiveState")
		return st == "active", st
	})
	r.waitFor("1.3.0 committed", 3*time.Minute, func() (bool, string) {
		st := r.status()
		return st.Last == handoff.LastCommitted && st.Running == "1.3.0" && st.State == handoff.StateIdle, fmt.Sprintf("%+v", st)
	})
	r.runs("1.3.0")
	r.memberState(loc, "done")
	var j struct {
		Floor string `json:"floor"`
	}
	b, _ := os.ReadFile(filepath.Join(r.m.Root, updDir, "journal.json"))
	if json.Unmarshal(b, &j) != nil || j.Floor != "1.3.0" {
		t.Errorf("journal after the commit: %s", b)
	}
	log := r.do("journalctl", "--no-pager", "-o", "cat", "-u", updaterUnit)
	if !strings.Contains(log, "trial interrupted; rolling back") {
		t.Errorf("the killed trial was not recovered from the journal:\n%s", log)
	}

	// A resident's session (the session lock held shared, as the window
	// holds it): the updater waits, killed there and started again it
	// still waits, the window is not restarted; once the session ends,
	// 1.4.0 goes in.
	r.stopRollout(loc)
	r.publish("1.4.0", kiosks["1.4.0"])
	r.do("systemd-run", "--unit=resident-session", "flock", "-s", dataDir+"/session.lock", "sleep", "infinity")
	loc = r.startRollout("1.4.0")
	window := r.prop(windowUnit, "MainPID")
	kill("waiting for the session", func(st handoff.Status) bool { return st.State == handoff.StateWaiting && st.Target == "1.4.0" })
	r.waitFor("the updater waiting again", time.Minute, func() (bool, string) {
		st := r.status()
		return st.State == handoff.StateWaiting && r.prop(updaterUnit, "ActiveState") == "active", fmt.Sprintf("%+v", st)
	})
	if got := r.prop(windowUnit, "MainPID"); got != window {
		t.Fatalf("the window was restarted during the session (PID %s, was %s)", got, window)
	}
	r.do("systemctl", "stop", "resident-session")
	r.waitFor("1.4.0 committed", 3*time.Minute, func() (bool, string) {
		st := r.status()
		return st.Last == handoff.LastCommitted && st.Running == "1.4.0" && st.State == handoff.StateIdle, fmt.Sprintf("%+v", st)
	})
	r.runs("1.4.0")
	r.memberState(loc, "done")
}
