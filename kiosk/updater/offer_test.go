package updater_test

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/kiosk/updater"
	"github.com/quartierhub/quartierhub/kiosk/updater/handoff"
)

// Without an offer nothing is installed, however new the signed releases.
func TestNoOfferInstallsNothing(t *testing.T) {
	term := newTerminal(t, "1.0.0")
	term.repo.addRelease("1.1.0", makeRelease(t, "1.1.0", "good"))
	res := mustRun(t, term.updater())
	if res.Outcome != "no-offer" || res.Version != "1.0.0" {
		t.Fatalf("result %+v", res)
	}
	assertNothingInstalled(t, term)
	st, err := handoff.ReadStatus(term.dir)
	if err != nil || st.State != updater.StateIdle || st.Target != "" || st.Last != "" {
		t.Fatalf("status %+v %v", st, err)
	}
}

// The offered version is installed, not the newest signed one: the hub's
// rollout decides what each terminal runs.
func TestInstallsOnlyTheOfferedVersion(t *testing.T) {
	term := newTerminal(t, "1.0.0")
	for _, v := range []string{"1.1.0", "1.2.0", "1.3.0"} {
		term.repo.addRelease(v, makeRelease(t, v, "good"))
	}
	term.offer("1.2.0")
	if res := mustRun(t, term.updater()); res.Outcome != "committed" || res.Version != "1.2.0" {
		t.Fatalf("result %+v", res)
	}
	if v := term.currentVersion(); v != "1.2.0" {
		t.Fatalf("current %q", v)
	}
	for _, r := range term.repo.requestLog() {
		if strings.Contains(r, "/targets/") && !strings.Contains(r, "/1.2.0/") {
			t.Fatalf("fetched a target not offered: %s", r)
		}
	}
	st, err := handoff.ReadStatus(term.dir)
	if err != nil || st.State != updater.StateIdle || st.Last != updater.LastCommitted || st.Target != "1.2.0" || st.Running != "1.2.0" {
		t.Fatalf("status %+v %v", st, err)
	}
}

// An offer of a version that TUF does not sign (a stolen hub offering
// what it cannot sign) downloads nothing and is reported as a failure.
func TestOfferOfUnsignedVersionRefused(t *testing.T) {
	term := newTerminal(t, "1.0.0")
	term.repo.addRelease("1.1.0", makeRelease(t, "1.1.0", "good"))
	term.offer("1.4.0")
	_, err := term.updater().RunOnce(context.Background())
	if err == nil || !strings.Contains(err.Error(), "not a signed target") {
		t.Fatalf("RunOnce: %v", err)
	}
	assertNothingInstalled(t, term)
	for _, r := range term.repo.requestLog() {
		if strings.Contains(r, "/targets/") {
			t.Fatalf("downloaded for an unsigned offer: %s", r)
		}
	}
	if j := term.journal(); j.Last != updater.LastFailed || j.LastError == "" || j.State != updater.StateIdle {
		t.Fatalf("journal %+v", j)
	}
}

// A damaged or hostile offer file installs nothing and says why.
func TestInvalidOfferRefused(t *testing.T) {
	for name, body := range map[string]string{
		"not json":       `{"version":`,
		"unknown field":  `{"rollout_id":"r","version":"1.1.0","target":"quartierhub-kiosk/1.1.0/quartierhub-kiosk_1.1.0_amd64.tar.gz","x":1}`,
		"other target":   `{"rollout_id":"r","version":"1.1.0","target":"quartierhub-kiosk/1.2.0/quartierhub-kiosk_1.2.0_amd64.tar.gz"}`,
		"other arch":     `{"rollout_id":"r","version":"1.1.0","target":"quartierhub-kiosk/1.1.0/quartierhub-kiosk_1.1.0_arm64.tar.gz"}`,
		"path version":   `{"rollout_id":"r","version":"../1.1.0","target":"quartierhub-kiosk/../1.1.0/quartierhub-kiosk_../1.1.0_amd64.tar.gz"}`,
		"bad window":     `{"rollout_id":"r","version":"1.1.0","target":"quartierhub-kiosk/1.1.0/quartierhub-kiosk_1.1.0_amd64.tar.gz","window":{"days":["xyz"],"start":"02:00","duration_minutes":60,"time_zone":"UTC"}}`,
		"trailing data":  `{"rollout_id":"r","version":"1.1.0","target":"quartierhub-kiosk/1.1.0/quartierhub-kiosk_1.1.0_amd64.tar.gz"} {}`,
		"too large":      `{"rollout_id":"` + strings.Repeat("r", updater.MaxOfferSize) + `"}`,
		"control in id":  `{"rollout_id":"r\u0000","version":"1.1.0","target":"quartierhub-kiosk/1.1.0/quartierhub-kiosk_1.1.0_amd64.tar.gz"}`,
		"empty document": ``,
	} {
		t.Run(name, func(t *testing.T) {
			term := newTerminal(t, "1.0.0")
			term.repo.addRelease("1.1.0", makeRelease(t, "1.1.0", "good"))
			if err := os.WriteFile(term.cfg.OfferPath, []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := term.updater().RunOnce(context.Background())
			if err == nil || !strings.Contains(err.Error(), "offer") {
				t.Fatalf("RunOnce: %v", err)
			}
			assertNothingInstalled(t, term)
			if j := term.journal(); j.Last != updater.LastFailed || !strings.Contains(j.LastError, "offer") {
				t.Fatalf("journal %+v", j)
			}
		})
	}
}

// The offer's maintenance window (the quarter's) holds the switch back
// as the terminal's own does.
func TestWaitsForTheOffersWindow(t *testing.T) {
	term := newTerminal(t, "1.0.0")
	// Monday 7 December 2026, 01:00 UTC = 02:00 in Berlin.
	term.clock.now = time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
	term.cfg.Jitter = 0
	term.repo.addRelease("1.1.0", makeRelease(t, "1.1.0", "good"))
	w := &api.MaintenanceWindow{Days: []string{"tue"}, Start: "03:30", DurationMinutes: 60, TimeZone: "Europe/Berlin"}
	term.offerWindow("1.1.0", w)
	var switchedAt time.Time
	updater.SetAfterStep(&term.cfg, func(step string) error {
		if step == "switched" {
			switchedAt = term.clock.Now()
		}
		return nil
	})
	mustRun(t, term.updater())
	opens := time.Date(2026, 12, 8, 2, 30, 0, 0, time.UTC) // Tuesday 03:30 in Berlin
	if switchedAt.Before(opens) || !w.Open(switchedAt) {
		t.Fatalf("switched at %v, outside the offer's window", switchedAt)
	}
	if term.currentVersion() != "1.1.0" {
		t.Fatal("not installed")
	}
}

// A rollout paused or stopped while the terminal waits for its window
// withdraws the offer: nothing is switched; the staged release is used
// without a new download when the offer returns.
func TestOfferWithdrawnWhileWaiting(t *testing.T) {
	term := newTerminal(t, "1.0.0")
	term.clock.now = time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
	term.cfg.Jitter = 0
	term.repo.addRelease("1.1.0", makeRelease(t, "1.1.0", "good"))
	closed := &api.MaintenanceWindow{Days: []string{"sun"}, Start: "02:00", DurationMinutes: 60, TimeZone: "UTC"}
	term.offerWindow("1.1.0", closed)
	sleeps := 0
	term.clock.onSleep = func(time.Time) {
		if sleeps++; sleeps == 3 {
			term.withdraw()
		}
	}
	res := mustRun(t, term.updater())
	if res.Outcome != "no-offer" {
		t.Fatalf("result %+v", res)
	}
	if v := term.currentVersion(); v != "" || len(term.sys.restartLog()) != 0 {
		t.Fatalf("switched to %q after the offer was withdrawn", v)
	}
	if j := term.journal(); j.State != updater.StateIdle {
		t.Fatalf("journal %+v", j)
	}
	term.clock.onSleep = nil
	term.offer("1.1.0")
	if res := mustRun(t, term.updater()); res.Outcome != "committed" {
		t.Fatalf("result %+v", res)
	}
	var downloads int
	for _, r := range term.repo.requestLog() {
		if strings.HasPrefix(r, "GET /targets/") {
			downloads++
		}
	}
	if downloads != 1 {
		t.Fatalf("%d downloads of the artifact, want 1", downloads)
	}
}

// A journal interrupted mid-update is finished without an offer, and a
// commit interrupted after the gate is not undone by the offer's absence.
func TestRecoveryWithoutOffer(t *testing.T) {
	term := newTerminal(t, "1.0.0")
	term.repo.addRelease("1.1.0", makeRelease(t, "1.1.0", "good"))
	term.offer("1.1.0")
	cfg := term.cfg
	updater.SetAfterStep(&cfg, func(s string) error {
		if s == "committed" {
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
	term.withdraw()
	if res := mustRun(t, term.updater()); res.Outcome != "no-offer" || res.Version != "1.1.0" {
		t.Fatalf("result %+v", res)
	}
	if j := term.journal(); j.State != updater.StateIdle || j.Floor != "1.1.0" || j.Last != updater.LastCommitted {
		t.Fatalf("journal %+v", j)
	}

	// An interrupted trial is rolled back without an offer too.
	term.repo.addRelease("1.2.0", makeRelease(t, "1.2.0", "good"))
	term.offer("1.2.0")
	updater.SetAfterStep(&cfg, func(s string) error {
		if s == "restarted" {
			return errKilled
		}
		return nil
	})
	u, _ = updater.New(cfg)
	if _, err := u.RunOnce(context.Background()); !errors.Is(err, errKilled) {
		t.Fatalf("RunOnce: %v", err)
	}
	term.withdraw()
	mustRun(t, term.updater())
	if v := term.currentVersion(); v != "1.1.0" {
		t.Fatalf("current %q after an interrupted trial without offer", v)
	}
	st, err := handoff.ReadStatus(term.dir)
	if err != nil || st.Last != updater.LastRolledBack || st.Target != "1.2.0" {
		t.Fatalf("status %+v %v", st, err)
	}
}

// The status carries what the agent reports: the outcome of the last
// attempt, the bad versions, and the gate once the target runs.
func TestStatusThroughAnUpdate(t *testing.T) {
	term := newTerminal(t, "1.0.0")
	term.repo.addRelease("1.1.0", makeRelease(t, "1.1.0", "crash"))
	term.offer("1.1.0")
	var seen []string
	updater.SetAfterStep(&term.cfg, func(step string) error {
		st, err := handoff.ReadStatus(term.dir)
		if err != nil {
			return err
		}
		seen = append(seen, step+":"+st.State+":"+map[bool]string{true: "gate", false: "-"}[st.Gate])
		if st.State == updater.StateDownloading && st.TotalBytes == 0 {
			t.Errorf("downloading without total bytes: %+v", st)
		}
		return nil
	})
	if _, err := term.updater().RunOnce(context.Background()); err == nil {
		t.Fatal("a crashing release passed its gate")
	}
	want := []string{"download:downloading:-", "stage:staging:-", "wait:waiting:-", "trying:trying:-",
		"switched:trying:-", "restarted:trying:gate", "rolling-back:rolling-back:-"}
	if !slices.Equal(seen, want) {
		t.Fatalf("statuses\n%v\nwant\n%v", seen, want)
	}
	st, err := handoff.ReadStatus(term.dir)
	if err != nil || st.State != updater.StateIdle || st.Last != updater.LastRolledBack || !slices.Equal(st.Bad, []string{"1.1.0"}) || st.LastError == "" {
		t.Fatalf("status %+v %v", st, err)
	}
}

func FuzzParseOffer(f *testing.F) {
	f.Add([]byte(`{"rollout_id":"r-1","version":"1.1.0","target":"quartierhub-kiosk/1.1.0/quartierhub-kiosk_1.1.0_amd64.tar.gz"}`))
	f.Add([]byte(`{"rollout_id":"r","version":"2.0.0-rc.1","target":"quartierhub-kiosk/2.0.0-rc.1/quartierhub-kiosk_2.0.0-rc.1_amd64.tar.gz","window":{"days":["mon","sun"],"start":"23:30","duration_minutes":120,"time_zone":"Europe/Berlin"}}`))
	f.Add([]byte(`{"version":"../../etc","target":"x"}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		o, err := updater.ParseOffer(data, "amd64")
		if err != nil {
			return
		}
		// What passes names a safe version and exactly its target.
		if !updater.ValidVersion(o.Version) || o.Target != updater.TargetName(o.Version, "amd64") || strings.Contains(o.Version, "/") {
			t.Fatalf("accepted %+v", o)
		}
		if o.Window != nil && o.Window.Validate() != nil {
			t.Fatalf("accepted an invalid window %+v", o.Window)
		}
	})
}

// A package upgrade to a version at least as new as the updater's
// release hands the terminal back to the package; an older package does
// not.
func TestPreferPackaged(t *testing.T) {
	term := newTerminal(t, "1.0.0")
	term.repo.addRelease("1.1.0", makeRelease(t, "1.1.0", "good"))
	term.offer("1.1.0")
	mustRun(t, term.updater())
	if ok, err := term.updater().PreferPackaged(context.Background()); ok || err != nil {
		t.Fatalf("an older package preferred: %v %v", ok, err)
	}
	term.cfg.InstalledVersion, term.sys.packaged = "1.2.0", "1.2.0"
	if ok, err := term.updater().PreferPackaged(context.Background()); !ok || err != nil {
		t.Fatalf("PreferPackaged: %v %v", ok, err)
	}
	if v := term.currentVersion(); v != "" {
		t.Fatalf("current %q, want the package", v)
	}
	if got := term.sys.restartLog(); got[len(got)-1] != "good 1.2.0" {
		t.Fatalf("restarts %v", got)
	}
	if j := term.journal(); j.Floor != "1.1.0" || j.State != updater.StateIdle {
		t.Fatalf("journal %+v", j)
	}
}

func TestPackageVersion(t *testing.T) {
	for deb, want := range map[string]string{
		"1.2.3":                           "1.2.3",
		"1.3.0~rc1":                       "1.3.0-rc1",
		"1.2.3+git20261207053318.abc1234": "1.2.3",
		"1.2.3+dirty":                     "1.2.3",
		"0.0~git20261207053318.a7ea3f9":   "",
		"dev":                             "",
	} {
		if got := updater.PackageVersion(deb); got != want {
			t.Errorf("PackageVersion(%q) = %q, want %q", deb, got, want)
		}
	}
}
