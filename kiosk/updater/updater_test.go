package updater_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/kiosk/session"
	"github.com/quartierhub/quartierhub/kiosk/updater"
	"github.com/quartierhub/quartierhub/kiosk/updater/handoff"
)

func mustRun(t *testing.T, u *updater.Updater) updater.Result {
	t.Helper()
	res, err := u.RunOnce(context.Background())
	if err != nil {
		t.Fatalf("RunOnce: %v", err)
	}
	return res
}

// A good release is installed beside the packaged version, started,
// watched for the trial and committed; the next one keeps the previous
// release and deletes older ones.
func TestGoodReleaseCommits(t *testing.T) {
	term := newTerminal(t, "1.0.0")
	term.repo.addRelease("1.1.0", makeRelease(t, "1.1.0", "good"))
	term.offer("1.1.0")
	start := term.clock.Now()
	res := mustRun(t, term.updater())
	if res.Outcome != "committed" || res.Version != "1.1.0" {
		t.Fatalf("result %+v", res)
	}
	if v := term.currentVersion(); v != "1.1.0" {
		t.Fatalf("current %q", v)
	}
	// Jitter (half of an hour from the fake Rand) and the trial passed.
	if elapsed := term.clock.Now().Sub(start); elapsed < 40*time.Minute {
		t.Fatalf("only %v passed: jitter or trial skipped", elapsed)
	}
	j := term.journal()
	if j.State != updater.StateIdle || j.Floor != "1.1.0" || j.From != "" {
		t.Fatalf("journal %+v", j)
	}
	st, err := handoff.ReadStatus(term.dir)
	if err != nil || st.State != updater.StateIdle || st.Running != "1.1.0" {
		t.Fatalf("status %+v %v", st, err)
	}
	if got := term.sys.restartLog(); !slices.Equal(got, []string{"good 1.1.0"}) {
		t.Fatalf("restarts %v", got)
	}

	term.repo.addRelease("1.2.0", makeRelease(t, "1.2.0", "good"))
	term.offer("1.2.0")
	if res := mustRun(t, term.updater()); res.Outcome != "committed" {
		t.Fatalf("result %+v", res)
	}
	if got := term.releases(); !slices.Equal(got, []string{"1.1.0", "1.2.0"}) {
		t.Fatalf("releases %v, want the previous kept", got)
	}
	term.repo.addRelease("1.3.0", makeRelease(t, "1.3.0", "good"))
	term.offer("1.3.0")
	mustRun(t, term.updater())
	if got := term.releases(); !slices.Equal(got, []string{"1.2.0", "1.3.0"}) {
		t.Fatalf("releases %v", got)
	}
	if res := mustRun(t, term.updater()); res.Outcome != "up-to-date" {
		t.Fatalf("result %+v", res)
	}
}

// A release whose units keep restarting fails its gate: the updater
// switches back, restarts the old version, and never tries it again.
func TestFailingHealthGateRollsBack(t *testing.T) {
	term := newTerminal(t, "1.0.0")
	term.repo.addRelease("1.1.0", makeRelease(t, "1.1.0", "good"))
	term.offer("1.1.0")
	mustRun(t, term.updater())
	term.repo.addRelease("1.2.0", makeRelease(t, "1.2.0", "crash"))
	term.offer("1.2.0")
	res, err := term.updater().RunOnce(context.Background())
	if err == nil || !strings.Contains(err.Error(), "restarted") || res.Outcome != "rolled-back" {
		t.Fatalf("RunOnce: %+v %v", res, err)
	}
	if v := term.currentVersion(); v != "1.1.0" {
		t.Fatalf("current %q after rollback", v)
	}
	if got := term.sys.restartLog(); !slices.Equal(got, []string{"good 1.1.0", "crash 1.2.0", "good 1.1.0"}) {
		t.Fatalf("restarts %v", got)
	}
	j := term.journal()
	if j.State != updater.StateIdle || !slices.Contains(j.Bad, "1.2.0") || j.Floor != "1.1.0" || j.LastError == "" {
		t.Fatalf("journal %+v", j)
	}
	if res := mustRun(t, term.updater()); res.Outcome != "up-to-date" || res.Version != "1.1.0" {
		t.Fatalf("bad version retried: %+v", res)
	}
	if got := term.releases(); slices.Contains(got, "1.2.0") {
		t.Fatalf("failed release left installed: %v", got)
	}
}

// A gate also fails when the agent never comes up with the new version
// and the hub, though the units stay active.
func TestAgentNotHealthyRollsBack(t *testing.T) {
	term := newTerminal(t, "1.0.0")
	// The manifest says 1.1.0 but the binary reports another version, as a
	// build with a wrong version stamp would.
	term.repo.addRelease("1.1.0", makeRelease(t, "1.1.0", "good 9.9.9 /"))
	term.offer("1.1.0")
	_, err := term.updater().RunOnce(context.Background())
	if err == nil || !strings.Contains(err.Error(), "agent runs") {
		t.Fatalf("RunOnce: %v", err)
	}
	if v := term.currentVersion(); v != "" {
		t.Fatalf("current %q, want the packaged version back", v)
	}
}

func assertNothingInstalled(t *testing.T, term *terminal) {
	t.Helper()
	if v := term.currentVersion(); v != "" {
		t.Fatalf("current %q", v)
	}
	if got := term.releases(); len(got) != 0 {
		t.Fatalf("releases %v", got)
	}
	if got := term.sys.restartLog(); len(got) != 0 {
		t.Fatalf("restarts %v", got)
	}
}

// An artifact changed on the server (or in transit) does not match the
// signed hashes and is not installed.
func TestTamperedArtifactRefused(t *testing.T) {
	term := newTerminal(t, "1.0.0")
	good := makeRelease(t, "1.1.0", "good")
	term.repo.addRelease("1.1.0", good)
	term.offer("1.1.0")
	evil := makeRelease(t, "1.1.0", "evil")
	// Same length, so only the hash can tell.
	evil = append(evil[:0:0], evil...)
	for len(evil) < len(good) {
		evil = append(evil, 0)
	}
	evil = evil[:len(good)]
	term.repo.setFile(term.repo.artifactPath("1.1.0"), evil)
	_, err := term.updater().RunOnce(context.Background())
	if !errors.Is(err, updater.ErrNotVerified) {
		t.Fatalf("RunOnce: %v, want ErrNotVerified", err)
	}
	assertNothingInstalled(t, term)
	if j := term.journal(); j.LastError == "" || j.State != updater.StateIdle {
		t.Fatalf("journal %+v", j)
	}
	// The hub repaired: the next round downloads afresh and installs.
	term.repo.setFile(term.repo.artifactPath("1.1.0"), good)
	if res := mustRun(t, term.updater()); res.Outcome != "committed" {
		t.Fatalf("%+v", res)
	}
}

// A timestamp older than the one already trusted (a replay by a mirror
// or a stolen hub) is refused.
func TestReplayedTimestampRefused(t *testing.T) {
	term := newTerminal(t, "1.0.0")
	old := term.repo.file("/metadata/timestamp.json")
	term.repo.mu.Lock()
	term.repo.publishTimestamp()
	term.repo.mu.Unlock()
	if res := mustRun(t, term.updater()); res.Outcome != "no-offer" {
		t.Fatalf("%+v", res)
	}
	term.repo.addRelease("1.1.0", makeRelease(t, "1.1.0", "good"))
	term.offer("1.1.0")
	term.repo.setFile("/metadata/timestamp.json", old)
	_, err := term.updater().RunOnce(context.Background())
	if err == nil || !strings.Contains(err.Error(), "tuf refresh") {
		t.Fatalf("RunOnce: %v, want a refresh error", err)
	}
	assertNothingInstalled(t, term)
}

// Metadata that stops being re-signed (a freeze attack, or a hub that
// keeps serving what it had) expires with its timestamp: after 24 h the
// updater refuses it, even to install a release it lists.
func TestFrozenMetadataRefused(t *testing.T) {
	term := newTerminal(t, "1.0.0")
	term.repo.addRelease("1.1.0", makeRelease(t, "1.1.0", "good"))
	term.offer("1.1.0")
	term.clock.advance(25 * time.Hour)
	_, err := term.updater().RunOnce(context.Background())
	if err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("RunOnce: %v, want expired", err)
	}
	assertNothingInstalled(t, term)
	// Re-signing the timestamp alone is not enough once the snapshot has
	// expired too.
	term.clock.advance(7 * 24 * time.Hour)
	term.repo.mu.Lock()
	term.repo.publishTimestamp()
	term.repo.mu.Unlock()
	if _, err := term.updater().RunOnce(context.Background()); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("RunOnce: %v, want snapshot expired", err)
	}
	assertNothingInstalled(t, term)
}

// A snapshot that names targets version N while the server hands out
// another targets file (mix and match) is refused.
func TestMixAndMatchRefused(t *testing.T) {
	term := newTerminal(t, "1.0.0")
	term.repo.addRelease("1.1.0", makeRelease(t, "1.1.0", "good"))
	term.offer("1.1.0")
	staleTargets := term.repo.file("/metadata/2.targets.json")
	term.repo.addRelease("1.2.0", makeRelease(t, "1.2.0", "good"))
	term.offer("1.2.0")
	term.repo.setFile("/metadata/3.targets.json", staleTargets)
	_, err := term.updater().RunOnce(context.Background())
	if err == nil || !strings.Contains(err.Error(), "tuf refresh") {
		t.Fatalf("RunOnce: %v, want refused", err)
	}
	assertNothingInstalled(t, term)
}

// Releases at or below the installed version are never installed, nor
// below the journal's floor when an older binary runs.
func TestOlderVersionRefused(t *testing.T) {
	term := newTerminal(t, "1.5.0")
	term.repo.addRelease("1.4.0", makeRelease(t, "1.4.0", "good"))
	term.offer("1.4.0")
	term.repo.addRelease("1.5.0", makeRelease(t, "1.5.0", "good"))
	term.offer("1.5.0")
	if res := mustRun(t, term.updater()); res.Outcome != "up-to-date" {
		t.Fatalf("%+v", res)
	}
	assertNothingInstalled(t, term)

	// The packaged binary is older (1.3.0), but 1.5.0 was committed here
	// once: the floor keeps 1.4.0 out.
	term2 := newTerminal(t, "1.3.0")
	j := updater.Journal{State: updater.StateIdle, Floor: "1.5.0"}
	data := []byte(`{"state":"idle","floor":"` + j.Floor + `"}`)
	if err := os.WriteFile(filepath.Join(term2.dir, "journal.json"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	term2.repo.addRelease("1.4.0", makeRelease(t, "1.4.0", "good"))
	term2.offer("1.4.0")
	if res := mustRun(t, term2.updater()); res.Outcome != "up-to-date" {
		t.Fatalf("%+v", res)
	}
	assertNothingInstalled(t, term2)
}

// Without a synchronised clock expiry cannot be judged: nothing is even
// fetched.
func TestRefusesUntilClockSynced(t *testing.T) {
	term := newTerminal(t, "1.0.0")
	term.repo.addRelease("1.1.0", makeRelease(t, "1.1.0", "good"))
	term.offer("1.1.0")
	term.cfg.ClockSynced = func(context.Context) (bool, error) { return false, nil }
	if _, err := term.updater().RunOnce(context.Background()); !errors.Is(err, updater.ErrClockNotSynced) {
		t.Fatalf("RunOnce: %v", err)
	}
	if got := term.repo.requestLog(); len(got) != 0 {
		t.Fatalf("requests before the clock was synchronised: %v", got)
	}
	assertNothingInstalled(t, term)
}

// An interrupted download resumes with a Range request.
func TestDownloadResumes(t *testing.T) {
	term := newTerminal(t, "1.0.0")
	art := makeRelease(t, "1.1.0", "good")
	art = append(art, make([]byte, 0)...)
	term.repo.addRelease("1.1.0", art)
	term.offer("1.1.0")
	var sum string
	for p := range term.repo.files {
		if strings.HasPrefix(p, "/targets/") {
			sum, _, _ = strings.Cut(filepath.Base(p), ".")
		}
	}
	half := len(art) / 2
	if err := os.MkdirAll(filepath.Join(term.dir, "downloads"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(term.dir, "downloads", sum+".tar.gz.partial"), art[:half], 0o600); err != nil {
		t.Fatal(err)
	}
	mustRun(t, term.updater())
	var ranged bool
	for _, r := range term.repo.requestLog() {
		if strings.HasPrefix(r, "GET /targets/") {
			if !strings.HasSuffix(r, " bytes="+itoa(half)+"-") {
				t.Fatalf("artifact request %q, want a range from %d", r, half)
			}
			ranged = true
		}
	}
	if !ranged || term.currentVersion() != "1.1.0" {
		t.Fatalf("not resumed or not installed")
	}
}

func itoa(n int) string { return strings.TrimSpace(strings.Repeat(" ", 0) + formatInt(n)) }

func formatInt(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}

// The switch waits for the maintenance window and for the resident's
// session (the window's shared lock) to end.
func TestWaitsForWindowAndSession(t *testing.T) {
	term := newTerminal(t, "1.0.0")
	term.clock.now = time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
	w, err := updater.ParseWindow("02:00-04:00")
	if err != nil {
		t.Fatal(err)
	}
	term.cfg.Window = w
	term.cfg.Jitter = 0
	term.repo.addRelease("1.1.0", makeRelease(t, "1.1.0", "good"))
	term.offer("1.1.0")
	// A session holds the lock, as the window does (the same code), until
	// 02:30; the agent created the file.
	if err := session.CreateLockFile(term.cfg.SessionLockPath); err != nil {
		t.Fatal(err)
	}
	m := session.NewManager(session.Opts{Now: term.clock.Now, Timeout: 24 * time.Hour, Lock: session.NewLock(term.cfg.SessionLockPath, nil)})
	m.Start("")
	sessionEnd := time.Date(2026, 12, 7, 2, 30, 0, 0, time.UTC)
	var switchedAt time.Time
	term.clock.onSleep = func(now time.Time) {
		if !now.Before(sessionEnd) {
			m.End(session.EndDone)
		}
	}
	updater.SetAfterStep(&term.cfg, func(step string) error {
		if step == "switched" {
			switchedAt = term.clock.Now()
		}
		return nil
	})
	mustRun(t, term.updater())
	if switchedAt.Before(sessionEnd) {
		t.Fatalf("switched at %v, during the session or before the window", switchedAt)
	}
	if term.currentVersion() != "1.1.0" {
		t.Fatal("not installed")
	}
}

var errKilled = errors.New("killed")

// A kill after any step leaves a current that starts a complete release,
// and the next updater finishes the job.
func TestCrashAtEachStep(t *testing.T) {
	for _, step := range []string{"download", "stage", "wait", "trying", "switched", "restarted", "committed"} {
		t.Run(step, func(t *testing.T) {
			term := newTerminal(t, "1.0.0")
			term.repo.addRelease("1.1.0", makeRelease(t, "1.1.0", "good"))
			term.offer("1.1.0")
			mustRun(t, term.updater())
			term.repo.addRelease("1.2.0", makeRelease(t, "1.2.0", "good"))
			term.offer("1.2.0")
			cfg := term.cfg
			updater.SetAfterStep(&cfg, func(s string) error {
				if s == step {
					return errKilled
				}
				return nil
			})
			u, err := updater.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := u.RunOnce(context.Background()); !errors.Is(err, errKilled) {
				t.Fatalf("RunOnce: %v", err)
			}
			// Power comes back: systemd starts whatever current is.
			if v := term.currentVersion(); v != "1.1.0" && v != "1.2.0" {
				t.Fatalf("current %q", v)
			}
			next := term.updater()
			if err := next.Recover(context.Background()); err != nil {
				t.Fatal(err)
			}
			v := term.currentVersion()
			want := "1.1.0"
			if step == "committed" {
				want = "1.2.0"
			}
			if v != want {
				t.Fatalf("after recovery current %q, want %q", v, want)
			}
			mustRun(t, next)
			if v := term.currentVersion(); v != "1.2.0" {
				t.Fatalf("finally current %q", v)
			}
			if j := term.journal(); j.State != updater.StateIdle || j.Floor != "1.2.0" {
				t.Fatalf("journal %+v", j)
			}
			if got := term.releases(); !slices.Equal(got, []string{"1.1.0", "1.2.0"}) {
				t.Fatalf("releases %v", got)
			}
		})
	}
	t.Run("rolling-back", func(t *testing.T) {
		term := newTerminal(t, "1.0.0")
		term.repo.addRelease("1.1.0", makeRelease(t, "1.1.0", "good"))
		term.offer("1.1.0")
		mustRun(t, term.updater())
		term.repo.addRelease("1.2.0", makeRelease(t, "1.2.0", "crash"))
		term.offer("1.2.0")
		cfg := term.cfg
		updater.SetAfterStep(&cfg, func(s string) error {
			if s == "rolling-back" {
				return errKilled
			}
			return nil
		})
		u, _ := updater.New(cfg)
		if _, err := u.RunOnce(context.Background()); !errors.Is(err, errKilled) {
			t.Fatalf("RunOnce: %v", err)
		}
		mustRun(t, term.updater())
		if v := term.currentVersion(); v != "1.1.0" {
			t.Fatalf("current %q", v)
		}
		if j := term.journal(); !slices.Contains(j.Bad, "1.2.0") {
			t.Fatalf("journal %+v", j)
		}
	})
}

// A release that kills the terminal during every trial (power cut, kernel
// panic) is given up after MaxTries interrupted trials.
func TestRepeatedlyInterruptedTrialMarkedBad(t *testing.T) {
	term := newTerminal(t, "1.0.0")
	term.repo.addRelease("1.1.0", makeRelease(t, "1.1.0", "good"))
	term.offer("1.1.0")
	cfg := term.cfg
	updater.SetAfterStep(&cfg, func(s string) error {
		if s == "restarted" {
			return errKilled
		}
		return nil
	})
	for range 2 {
		u, _ := updater.New(cfg)
		if _, err := u.RunOnce(context.Background()); !errors.Is(err, errKilled) {
			t.Fatalf("RunOnce: %v", err)
		}
	}
	if res := mustRun(t, term.updater()); res.Outcome != "up-to-date" {
		t.Fatalf("%+v", res)
	}
	if j := term.journal(); !slices.Contains(j.Bad, "1.1.0") || term.currentVersion() != "" {
		t.Fatalf("journal %+v, current %q", j, term.currentVersion())
	}
}
