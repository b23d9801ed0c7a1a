package update

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/quartierhub/quartierhub/kiosk/localapi"
	"github.com/quartierhub/quartierhub/kiosk/updater"
	"github.com/quartierhub/quartierhub/kiosk/updater/handoff"
	"github.com/quartierhub/quartierhub/provisioning/release"
	"github.com/quartierhub/quartierhub/tests/internal/fakeunits"
	"github.com/quartierhub/quartierhub/tests/internal/harness"
)

// The packaged kiosk's version, which the updater's build carries too
// (make packages stamps both), and the releases the tests publish.
const (
	packaged     = "1.0.0"
	good         = "1.1.0"
	agentUnit    = "quartierhub-agent.service"
	terminalName = "jst-1"
	trial        = "2s"
)

var bins struct {
	hub, updater string
	kiosk        map[string]string // by the version stamped into it
}

func TestMain(m *testing.M) {
	fakeunits.Main()
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "qh-update-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := build(ctx, dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// build takes hub-server from $QH_BIN when set; the kiosk and the updater
// are built here because their versions must be stamped (the updater's
// floor is the package's version, and the health gate checks the version
// the restarted agent reports), as make packages and make release do.
func build(ctx context.Context, dir string) error {
	var err error
	if bins.hub, err = harness.BuildHub(ctx, dir); err != nil {
		return err
	}
	root, err := harness.ModuleRoot(ctx)
	if err != nil {
		return err
	}
	gobuild := func(out, pkg, ldflags string) error {
		cmd := exec.CommandContext(ctx, "go", "build", "-ldflags", ldflags, "-o", out, pkg)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if msg, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s: %w\n%s", pkg, err, msg)
		}
		return nil
	}
	bins.updater = filepath.Join(dir, "quartierhub-updater")
	if err := gobuild(bins.updater, "./kiosk/cmd/quartierhub-updater", "-X main.version="+packaged); err != nil {
		return err
	}
	bins.kiosk = map[string]string{}
	for _, v := range []string{packaged, good} {
		bins.kiosk[v] = filepath.Join(dir, "kiosk-"+v)
		if err := gobuild(bins.kiosk[v], "./kiosk/cmd/kiosk", "-X github.com/quartierhub/quartierhub/kiosk/cli.Version="+v); err != nil {
			return err
		}
	}
	return nil
}

// world is a hub, the signer's keys, an admin in the console, a proxy in
// front of the hub and one enrolled terminal (its agent unit defined,
// not started).
type world struct {
	t         *testing.T
	ctx       context.Context
	dir       string
	hub       *harness.Hub
	signer    *harness.Signer
	con       *harness.Console
	proxy     *httptest.Server
	attack    atomic.Pointer[func(http.ResponseWriter, *http.Request) bool]
	hits      atomic.Int32 // requests the attack answered
	units     fakeunits.Units
	kioskData string
	updDir    string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	start := time.Now()
	defer func() { t.Logf("world ready after %s", time.Since(start).Round(time.Millisecond)) }()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	w := &world{t: t, ctx: ctx, dir: t.TempDir()}
	w.kioskData, w.updDir = filepath.Join(w.dir, "kiosk"), filepath.Join(w.dir, "updater")
	var err error
	if w.hub, err = harness.NewHub(harness.Bins{Hub: bins.hub}, filepath.Join(w.dir, "hub")); err != nil {
		t.Fatal(err)
	}
	if err := w.hub.StartFresh(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.hub.Stop() })
	if w.signer, err = w.hub.InitReleases(ctx, filepath.Join(w.dir, "keys")); err != nil {
		t.Fatal(err)
	}
	layer := filepath.Join(w.dir, "global.json")
	if err := os.WriteFile(layer, []byte(`{"settings":{"heartbeat_interval":"5s"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := w.hub.CLI(ctx, "config", "set", "--scope", "global", "--file", layer); err != nil {
		t.Fatal(err)
	}
	if w.con, err = w.hub.NewConsole(ctx, "it"); err != nil {
		t.Fatal(err)
	}
	hubURL, _ := url.Parse(w.hub.URL())
	rp := httputil.NewSingleHostReverseProxy(hubURL)
	w.proxy = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if a := w.attack.Load(); a != nil && (*a)(rw, r) {
			w.hits.Add(1)
			return
		}
		rp.ServeHTTP(rw, r)
	}))
	t.Cleanup(w.proxy.Close)

	tok, err := w.hub.Token(ctx, terminalName, "Johannstadt")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(w.kioskData, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.CommandContext(ctx, bins.kiosk[packaged], "enroll", "--hub", w.proxy.URL, "--token", tok, "--data", w.kioskData).CombinedOutput(); err != nil {
		t.Fatalf("kiosk enroll: %v: %s", err, out)
	}
	if w.units, err = fakeunits.New(filepath.Join(w.dir, "units")); err != nil {
		t.Fatal(err)
	}
	// The agent's unit as packaged: through kiosk-current, which runs the
	// updater's current release or the packaged kiosk.
	root, err := harness.ModuleRoot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	script, err := os.ReadFile(filepath.Join(root, "provisioning", "kiosk", "kiosk-current"))
	if err != nil {
		t.Fatal(err)
	}
	wrapper := strings.NewReplacer("/var/lib/quartierhub-updater/current", filepath.Join(w.updDir, "current"), "/usr/bin/kiosk", bins.kiosk[packaged]).Replace(string(script))
	if wrapper == string(script) {
		t.Fatal("kiosk-current no longer names the paths this test replaces")
	}
	wrapperPath := filepath.Join(w.dir, "kiosk-current")
	if err := os.WriteFile(wrapperPath, []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := w.units.Define(agentUnit, "/bin/sh", wrapperPath, "agent", "--data", w.kioskData, "--updater-dir", w.updDir, "--log-level", "warn"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.units.Stop(agentUnit) })
	return w
}

// startAgent starts (or restarts) the agent's unit and waits until it
// answers, running want.
func (w *world) startAgent(want string) {
	w.t.Helper()
	if _, err := w.units.Systemctl("restart", "--", agentUnit); err != nil {
		w.t.Fatal(err)
	}
	w.agentRuns(want)
}

// agentRuns waits until the agent answers its local API, running want.
func (w *world) agentRuns(want string) {
	w.t.Helper()
	c := localapi.NewClient(w.kioskData)
	err := harness.WaitFor(w.ctx, "the agent running "+want, func() (bool, error) {
		st, err := c.Status(w.ctx)
		if err != nil {
			return false, err
		}
		return st.Version == want, fmt.Errorf("runs %q", st.Version)
	})
	if err != nil {
		w.t.Fatalf("%v\nagent log:\n%s", err, tail(w.units.Log(agentUnit)))
	}
}

// publish packs kiosk as release v, signs it offline and adds it on
// the hub, all through the hub's command line.
func (w *world) publish(v, kiosk string) string {
	w.t.Helper()
	return w.publishWith(v, kiosk)
}

func (w *world) publishWith(v, kiosk string, extra ...release.File) string {
	w.t.Helper()
	dir := filepath.Join(w.dir, "release-"+v)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		w.t.Fatal(err)
	}
	art, err := release.WriteFile(dir, v, "amd64", kiosk, extra...)
	if err != nil {
		w.t.Fatal(err)
	}
	if err := w.signer.Publish(w.ctx, w.hub, v, art); err != nil {
		w.t.Fatal(err)
	}
	return art
}

// startRollout starts a rollout of v from the console with the terminal
// as its canary, and waits until the agent holds the hub's offer. It
// returns the rollout's page.
func (w *world) startRollout(v string) string {
	w.t.Helper()
	form := url.Values{"version": {v}, "success_percent": {"95"}, "fail_count": {"0"}, "fail_percent": {"100"}, "canary": {terminalName},
		"stage_name": {"canary", "all"}, "stage_percent": {"0", "100"}, "stage_soak": {"60", "0"}}
	code, page, loc, err := w.con.Post(w.ctx, "/console/rollouts", form)
	if err != nil || code != http.StatusSeeOther || !strings.HasPrefix(loc, "/console/rollouts/") {
		w.t.Fatalf("start rollout of %s: %d %v\n%s", v, code, err, page)
	}
	loc, _, _ = strings.Cut(loc, "?")
	// The offer comes with the terminal's next heartbeat; an agent sends
	// its first at start, so a restart brings it now instead of within a
	// heartbeat interval.
	running := w.current()
	if running == "" {
		running = packaged
	}
	w.startAgent(running)
	start := time.Now()
	defer func() { w.t.Logf("offer of %s at the agent after %s", v, time.Since(start).Round(time.Millisecond)) }()
	err = harness.WaitFor(w.ctx, "the offer of "+v+" at the agent", func() (bool, error) {
		o, err := updater.ReadOffer(filepath.Join(w.kioskData, updater.OfferFile), "amd64")
		return err == nil && o.Version == v, err
	})
	if err != nil {
		w.t.Fatalf("%v\nagent log:\n%s", err, tail(w.units.Log(agentUnit)))
	}
	return loc
}

func (w *world) stopRollout(loc string) {
	w.t.Helper()
	code, page, _, err := w.con.Post(w.ctx, loc+"/stop", url.Values{"reason": {"next test"}})
	if err != nil || code != http.StatusSeeOther {
		w.t.Fatalf("stop %s: %d %v\n%s", loc, code, err, page)
	}
}

// memberState waits until the rollout's page shows the terminal in state.
func (w *world) memberState(loc, state string) {
	w.t.Helper()
	row := regexp.MustCompile(`>` + terminalName + `</a></th>.*?class="badge s-([a-z_]+)"`)
	var last string
	start := time.Now()
	err := harness.WaitFor(w.ctx, "the rollout's page to show "+terminalName+" "+state, func() (bool, error) {
		code, page, err := w.con.Get(w.ctx, loc)
		if err != nil || code != http.StatusOK {
			return false, fmt.Errorf("%d %v", code, err)
		}
		if m := row.FindStringSubmatch(page); m != nil {
			last = m[1]
		}
		return last == state, fmt.Errorf("shows %q", last)
	})
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Logf("hub shows %s after %s", state, time.Since(start).Round(time.Millisecond))
}

// updaterOnce runs one round of the real updater binary; it returns its
// output (the JSON log and the error line) and its failure.
func (w *world) updaterOnce(extra ...string) (string, error) {
	w.t.Helper()
	args := append([]string{"--once", "--kiosk-data", w.kioskData, "--dir", w.updDir, "--root", w.signer.RootFile(),
		"--units", agentUnit, "--trial", trial, "--window", "always", "--jitter", "0", "--rate-limit", "0", "--log-level", "debug"}, extra...)
	cmd, ok := w.units.Updater(w.ctx, bins.updater, args...)
	if !ok {
		w.t.Skip("the host's clock is not synchronised and the test cannot give the updater a namespace where it is (not root)")
	}
	start := time.Now()
	out, err := cmd.CombinedOutput()
	w.t.Logf("updater round: %s", time.Since(start).Round(time.Millisecond))
	return string(out), err
}

func (w *world) status() handoff.Status {
	w.t.Helper()
	st, err := handoff.ReadStatus(w.updDir)
	if err != nil {
		w.t.Fatal(err)
	}
	return st
}

// current is the release the current link names, "" without one.
func (w *world) current() string {
	dest, err := os.Readlink(filepath.Join(w.updDir, "current"))
	if errors.Is(err, os.ErrNotExist) {
		return ""
	}
	if err != nil {
		w.t.Fatal(err)
	}
	return filepath.Base(dest)
}

// installed lists releases/ and downloads/ (complete artifacts only).
func (w *world) installed() (releases, downloads []string) {
	rs, _ := os.ReadDir(filepath.Join(w.updDir, "releases"))
	for _, e := range rs {
		releases = append(releases, e.Name())
	}
	ds, _ := os.ReadDir(filepath.Join(w.updDir, "downloads"))
	for _, e := range ds {
		if !strings.HasSuffix(e.Name(), ".partial") {
			downloads = append(downloads, e.Name())
		}
	}
	return releases, downloads
}

// nothingInstalled checks the terminal still runs the package and holds
// no release or verified download.
func (w *world) nothingInstalled() {
	w.t.Helper()
	if r, d := w.installed(); len(r) > 0 || len(d) > 0 || w.current() != "" {
		w.t.Fatalf("installed: releases %v, downloads %v, current %q", r, d, w.current())
	}
	w.agentRuns(packaged)
}

func tail(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-20):], "\n")
}

// A good release commits: the hub offers it in a rollout started from the
// console, the updater installs it, the agent restarted from it passes
// the health gate, the hub sees the terminal done. An older release
// offered afterwards is not even downloaded: the floor is the committed
// version.
func TestGoodReleaseCommits(t *testing.T) {
	w := newWorld(t)
	w.publish(good, bins.kiosk[good])
	w.startAgent(packaged)
	loc := w.startRollout(good)
	pid := w.units.PID(agentUnit)

	out, err := w.updaterOnce()
	if err != nil || !strings.Contains(out, `"outcome":"committed"`) {
		t.Fatalf("updater: %v\n%s", err, out)
	}
	if w.current() != good {
		t.Fatalf("current is %q, want %s", w.current(), good)
	}
	w.agentRuns(good)
	if w.units.PID(agentUnit) == pid {
		t.Fatal("the agent was not restarted into the release")
	}
	if st := w.status(); st.State != handoff.StateIdle || st.Last != handoff.LastCommitted || st.Running != good {
		t.Fatalf("status: %+v", st)
	}
	w.memberState(loc, "done")

	// An older release, signed and offered, is refused below the floor.
	const older = "1.0.5"
	w.stopRollout(loc)
	w.publish(older, bins.kiosk[packaged])
	w.startRollout(older)
	_, before := w.installed()
	out, err = w.updaterOnce()
	if err != nil || !strings.Contains(out, `"outcome":"up-to-date"`) {
		t.Fatalf("updater offered %s: %v\n%s", older, err, out)
	}
	if _, after := w.installed(); !slices.Equal(before, after) || w.current() != good {
		t.Fatalf("offered %s: downloads %v -> %v, current %q", older, before, after, w.current())
	}
	w.agentRuns(good)
}

// A release whose kiosk does not come up fails its health gate and is
// rolled back by the updater itself: the terminal runs the package again,
// the hub sees it rolled back, and the release is never tried again.
func TestBrokenReleaseRollsBack(t *testing.T) {
	w := newWorld(t)
	broken := filepath.Join(w.dir, "broken-kiosk")
	if err := os.WriteFile(broken, []byte("#!/bin/sh\necho 'kiosk 1.2.0: cannot start' >&2\nexit 70\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	const bad = "1.2.0"
	w.publish(bad, broken)
	w.startAgent(packaged)
	loc := w.startRollout(bad)

	out, err := w.updaterOnce()
	if err == nil || !strings.Contains(out, "release rolled back") || !strings.Contains(out, "health gate") {
		t.Fatalf("updater: %v\n%s", err, out)
	}
	if w.current() != "" {
		t.Fatalf("current is %q after the rollback, want the package", w.current())
	}
	w.agentRuns(packaged)
	st := w.status()
	if st.State != handoff.StateIdle || st.Last != handoff.LastRolledBack || !slices.Contains(st.Bad, bad) || st.LastError == "" {
		t.Fatalf("status: %+v", st)
	}
	if !strings.Contains(w.units.Log(agentUnit), "cannot start") {
		t.Fatal("the broken release never ran")
	}
	w.memberState(loc, "rolled_back")

	out, err = w.updaterOnce()
	if err != nil || !strings.Contains(out, `"outcome":"up-to-date"`) {
		t.Fatalf("the bad release again: %v\n%s", err, out)
	}
	if r, _ := w.installed(); len(r) > 0 {
		t.Fatalf("releases after the second round: %v", r)
	}
}

// Attacks on the updater's TUF client through the network in front of a
// real hub (the proxy serves the attacker's files). Each is refused with
// its own error and leaves nothing installed; the honest hub's answers
// right before and after are accepted, so the refusals are the attacks'.
func TestTUFAttacks(t *testing.T) {
	w := newWorld(t)
	meta := func(name string) []byte {
		t.Helper()
		res, err := http.Get(w.hub.URL() + "/tuf/v1/metadata/" + name)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %v", name, res.StatusCode, err)
		}
		return b
	}
	// What release init published, for the replay and the mix.
	oldStamp, oldTargets := meta("timestamp.json"), meta("1.targets.json")
	w.publish(good, bins.kiosk[good])
	w.startAgent(packaged)

	serve := func(path string, body []byte) {
		f := func(rw http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path != path {
				return false
			}
			rw.Write(body)
			return true
		}
		w.attack.Store(&f)
	}
	refused := func(name, want string) {
		t.Helper()
		w.hits.Store(0)
		out, err := w.updaterOnce()
		w.attack.Store(nil)
		if w.hits.Load() == 0 {
			t.Fatalf("%s: the updater never asked for the attacker's file\n%s", name, out)
		}
		if err == nil || !strings.Contains(out, want) {
			t.Fatalf("%s: updater %v, want an error with %q\n%s", name, err, want, out)
		}
		if st := w.status(); !strings.Contains(st.LastError, want) {
			t.Fatalf("%s: the status the hub hears says %q", name, st.LastError)
		}
		w.nothingInstalled()
		t.Logf("%s refused: %s", name, w.status().LastError)
	}

	// Freeze: metadata that stopped being re-signed. The hub's own
	// timestamp as it would be a day and an hour after signing: the test
	// cannot wait out its 24 h, so it moves the dates back and signs it
	// again with the hub's timestamp key (what the hub signed, not what
	// an attacker could make).
	serve("/tuf/v1/metadata/timestamp.json", frozen(t, meta("timestamp.json"), filepath.Join(w.signer.Keys, "timestamp.key")))
	refused("freeze", "timestamp.json is expired")

	// Mix and match: the snapshot names targets version 2; the attacker
	// answers with the genuine, signed version 1 (without the release).
	serve("/tuf/v1/metadata/2.targets.json", oldTargets)
	refused("mix-and-match", "expected targets version 2, got 1")

	// The honest hub: the terminal trusts timestamp 2 now (no offer yet).
	if out, err := w.updaterOnce(); err != nil || !strings.Contains(out, `"outcome":"no-offer"`) {
		t.Fatalf("honest round: %v\n%s", err, out)
	}

	// Replay: the old timestamp (version 1), validly signed and unexpired.
	serve("/tuf/v1/metadata/timestamp.json", oldStamp)
	refused("replayed timestamp", "new timestamp version 1 must be >= 2")

	// Tampered artifact: the release offered, its bytes changed on the way.
	w.startRollout(good)
	tamper := func(rw http.ResponseWriter, r *http.Request) bool {
		if !strings.HasPrefix(r.URL.Path, "/tuf/v1/targets/") {
			return false
		}
		rec := httptest.NewRecorder()
		hubURL, _ := url.Parse(w.hub.URL())
		httputil.NewSingleHostReverseProxy(hubURL).ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		if len(body) > 1000 {
			body[len(body)/2] ^= 0xff
		}
		rw.WriteHeader(rec.Code)
		rw.Write(body)
		return true
	}
	w.attack.Store(&tamper)
	refused("tampered artifact", "does not match its signed length and hashes")

	// And the same offer through the honest network installs: the setup
	// was not what refused the attacks.
	if out, err := w.updaterOnce(); err != nil || !strings.Contains(out, `"outcome":"committed"`) {
		t.Fatalf("honest round with the offer: %v\n%s", err, out)
	}
	w.agentRuns(good)
}

// frozen returns the timestamp stamp with its expiry moved an hour into
// the past, signed again with the key in keyFile.
func frozen(t *testing.T, stamp []byte, keyFile string) []byte {
	t.Helper()
	pemBytes, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(pemBytes)
	if blk == nil {
		t.Fatal("timestamp.key: no PEM")
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	md, err := metadata.Timestamp().FromBytes(stamp)
	if err != nil {
		t.Fatal(err)
	}
	md.Signed.Expires = time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	md.ClearSignatures()
	s, err := signature.LoadSigner(k.(ed25519.PrivateKey), crypto.Hash(0))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := md.Sign(s); err != nil {
		t.Fatal(err)
	}
	out, err := md.ToBytes(false)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
