package updater_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/internal/atomicfile"
	"github.com/quartierhub/quartierhub/kiosk/updater"
)

// testRepo is a TUF repository with consistent snapshots, signed with
// keys made for the test and served by httptest like the hub serves
// /tuf/v1/.
type testRepo struct {
	t         *testing.T
	mu        sync.Mutex
	keys      map[string]ed25519.PrivateKey
	root      *metadata.Metadata[metadata.RootType]
	targets   *metadata.Metadata[metadata.TargetsType]
	snapshot  *metadata.Metadata[metadata.SnapshotType]
	timestamp *metadata.Metadata[metadata.TimestampType]
	files     map[string][]byte // URL path under the server root
	requests  []string          // "METHOD path range"
	srv       *httptest.Server
	now       func() time.Time
}

func newTestRepo(t *testing.T, now func() time.Time) *testRepo {
	t.Helper()
	r := &testRepo{t: t, keys: map[string]ed25519.PrivateKey{}, files: map[string][]byte{}, now: now}
	start := now()
	r.root = metadata.Root(start.Add(365 * 24 * time.Hour))
	r.targets = metadata.Targets(start.Add(90 * 24 * time.Hour))
	r.snapshot = metadata.Snapshot(start.Add(7 * 24 * time.Hour))
	r.timestamp = metadata.Timestamp(start.Add(24 * time.Hour))
	for _, role := range []string{metadata.ROOT, metadata.TARGETS, metadata.SNAPSHOT, metadata.TIMESTAMP} {
		_, priv, err := ed25519.GenerateKey(nil)
		if err != nil {
			t.Fatal(err)
		}
		r.keys[role] = priv
		key, err := metadata.KeyFromPublicKey(priv.Public())
		if err != nil {
			t.Fatal(err)
		}
		if err := r.root.Signed.AddKey(key, role); err != nil {
			t.Fatal(err)
		}
	}
	r.files["/metadata/1.root.json"] = signBytes(t, r.root, r.keys[metadata.ROOT])
	r.targets.Signed.Version = 0
	r.snapshot.Signed.Version = 0
	r.timestamp.Signed.Version = 0
	r.publish()
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func signBytes[T metadata.Roles](t *testing.T, m *metadata.Metadata[T], key ed25519.PrivateKey) []byte {
	t.Helper()
	m.ClearSignatures()
	signer, err := signature.LoadSigner(key, crypto.Hash(0))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Sign(signer); err != nil {
		t.Fatal(err)
	}
	data, err := m.ToBytes(false)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func (r *testRepo) rootJSON() []byte { return r.files["/metadata/1.root.json"] }

// publish signs new targets, snapshot and timestamp, as the signer and
// then the hub would after `release add`.
func (r *testRepo) publish() {
	r.targets.Signed.Version++
	r.targets.Signed.Expires = r.now().Add(90 * 24 * time.Hour)
	r.files[fmt.Sprintf("/metadata/%d.targets.json", r.targets.Signed.Version)] = signBytes(r.t, r.targets, r.keys[metadata.TARGETS])
	r.snapshot.Signed.Meta["targets.json"] = metadata.MetaFile(r.targets.Signed.Version)
	r.publishSnapshot()
}

func (r *testRepo) publishSnapshot() {
	r.snapshot.Signed.Version++
	r.snapshot.Signed.Expires = r.now().Add(7 * 24 * time.Hour)
	r.files[fmt.Sprintf("/metadata/%d.snapshot.json", r.snapshot.Signed.Version)] = signBytes(r.t, r.snapshot, r.keys[metadata.SNAPSHOT])
	r.timestamp.Signed.Meta["snapshot.json"] = metadata.MetaFile(r.snapshot.Signed.Version)
	r.publishTimestamp()
}

// publishTimestamp re-signs the timestamp, as the hub does hourly.
func (r *testRepo) publishTimestamp() {
	r.timestamp.Signed.Version++
	r.timestamp.Signed.Expires = r.now().Add(24 * time.Hour)
	r.files["/metadata/timestamp.json"] = signBytes(r.t, r.timestamp, r.keys[metadata.TIMESTAMP])
}

// addRelease publishes artifact as the release version.
func (r *testRepo) addRelease(version string, artifact []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	name := updater.TargetName(version, "amd64")
	tf, err := metadata.TargetFile().FromBytes(name, artifact, "sha256")
	if err != nil {
		r.t.Fatal(err)
	}
	custom := json.RawMessage(fmt.Sprintf(`{"version":%q}`, version))
	tf.Custom = &custom
	r.targets.Signed.Targets[name] = tf
	dir, base := filepath.Split(name)
	r.files["/targets/"+dir+hex.EncodeToString(tf.Hashes["sha256"])+"."+base] = artifact
	r.publish()
}

// setFile replaces what the server answers for path.
func (r *testRepo) setFile(path string, data []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.files[path] = data
}

func (r *testRepo) file(path string) []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.files[path]
}

func (r *testRepo) artifactPath(version string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	for p := range r.files {
		if strings.HasPrefix(p, "/targets/quartierhub-kiosk/"+version+"/") {
			return p
		}
	}
	r.t.Fatalf("no artifact for %s", version)
	return ""
}

func (r *testRepo) requestLog() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.requests...)
}

func (r *testRepo) serve(w http.ResponseWriter, req *http.Request) {
	// Served at the root and, as a hub serves it, under /tuf/v1.
	p := strings.TrimPrefix(req.URL.Path, updater.RepoPath)
	r.mu.Lock()
	r.requests = append(r.requests, req.Method+" "+p+" "+req.Header.Get("Range"))
	data, ok := r.files[p]
	r.mu.Unlock()
	if !ok {
		http.NotFound(w, req)
		return
	}
	// ServeContent answers Range requests, as the hub's file serving does.
	http.ServeContent(w, req, "", time.Time{}, bytes.NewReader(data))
}

type tarEntry struct {
	name     string
	body     string
	mode     int64
	typeflag byte
	linkname string
}

func makeTarGz(t testing.TB, entries []tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Mode: e.mode, Typeflag: e.typeflag, Linkname: e.linkname, Size: int64(len(e.body))}
		if hdr.Typeflag == 0 {
			hdr.Typeflag = tar.TypeReg
		}
		if hdr.Typeflag != tar.TypeReg {
			hdr.Size = 0
		}
		if hdr.Mode == 0 {
			hdr.Mode = 0o644
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if hdr.Typeflag == tar.TypeReg {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// makeRelease builds a release tarball; a binary whose text says "crash"
// is one the fake system fails to keep running.
func makeRelease(t testing.TB, version, binary string) []byte {
	return makeTarGz(t, []tarEntry{
		{name: "bin/", typeflag: tar.TypeDir, mode: 0o755},
		{name: "bin/kiosk", body: binary + " " + version + "\n", mode: 0o755},
		{name: "manifest.json", body: fmt.Sprintf(`{"version":%q}`, version)},
	})
}

// fakeClock advances when slept on, so waits cost no real time.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	onSleep func(now time.Time)
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	c.now = c.now.Add(d)
	now, hook := c.now, c.onSleep
	c.mu.Unlock()
	if hook != nil {
		hook(now)
	}
	return nil
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// fakeSystem is the service manager and health source of a terminal:
// on Restart it "starts" whatever current/bin/kiosk is; a binary that
// says "crash" keeps being restarted by systemd (NRestarts grows) and
// the agent never reports it.
type fakeSystem struct {
	mu        sync.Mutex
	dir       string // the updater's directory
	packaged  string // version of the packaged binary
	running   string // binary text of what runs
	restarts  []string
	nrestarts int
}

func (s *fakeSystem) Restart(_ context.Context, units []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	data, err := os.ReadFile(filepath.Join(s.dir, "current", "bin", "kiosk"))
	if os.IsNotExist(err) {
		data, err = []byte("good "+s.packaged+"\n"), nil
	}
	if err != nil {
		return err
	}
	s.running = strings.TrimSpace(string(data))
	s.restarts = append(s.restarts, s.running)
	return nil
}

func (s *fakeSystem) crashing() bool { return strings.HasPrefix(s.running, "crash") }

func (s *fakeSystem) Status(_ context.Context, unit string) (updater.UnitStatus, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.crashing() {
		s.nrestarts++
		return updater.UnitStatus{ActiveState: "activating", NRestarts: s.nrestarts}, nil
	}
	return updater.UnitStatus{ActiveState: "active", NRestarts: s.nrestarts}, nil
}

func (s *fakeSystem) AgentHealthy(_ context.Context, want string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.crashing() || s.running != "good "+want {
		return fmt.Errorf("agent runs %q, want %s", s.running, want)
	}
	return nil
}

func (s *fakeSystem) restartLog() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.restarts...)
}

// terminal is one test terminal: a directory, clock, system and repo.
type terminal struct {
	t     *testing.T
	dir   string
	clock *fakeClock
	sys   *fakeSystem
	repo  *testRepo
	cfg   updater.Config
}

var t0 = time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)

func newTerminal(t *testing.T, installed string) *terminal {
	t.Helper()
	dir := t.TempDir()
	clock := &fakeClock{now: t0}
	repo := newTestRepo(t, clock.Now)
	rootPath := filepath.Join(t.TempDir(), "tuf-root.json")
	if err := os.WriteFile(rootPath, repo.rootJSON(), 0o644); err != nil {
		t.Fatal(err)
	}
	sys := &fakeSystem{dir: dir, packaged: installed}
	term := &terminal{t: t, dir: dir, clock: clock, sys: sys, repo: repo}
	term.cfg = updater.Config{
		Dir:              dir,
		RepoURL:          repo.srv.URL,
		RootPath:         rootPath,
		InstalledVersion: installed,
		Arch:             "amd64",
		Units:            []string{"quartierhub-agent.service", "quartierhub-window.service"},
		Window:           updater.Window{Always: true},
		SessionLockPath:  filepath.Join(dir, "session.lock"),
		OfferPath:        filepath.Join(t.TempDir(), updater.OfferFile),
		Trial:            10 * time.Minute,
		Poll:             15 * time.Second,
		Jitter:           time.Hour,
		Clock:            clock,
		Rand:             func(n int64) int64 { return n / 2 },
		ClockSynced:      func(context.Context) (bool, error) { return true, nil },
		Services:         sys,
		Health:           sys,
	}
	return term
}

func (term *terminal) updater() *updater.Updater {
	term.t.Helper()
	u, err := updater.New(term.cfg)
	if err != nil {
		term.t.Fatal(err)
	}
	return u
}

func (term *terminal) journal() updater.Journal {
	term.t.Helper()
	data, err := os.ReadFile(filepath.Join(term.dir, "journal.json"))
	if err != nil {
		term.t.Fatal(err)
	}
	j, err := updater.ParseJournal(data)
	if err != nil {
		term.t.Fatal(err)
	}
	return j
}

// currentVersion returns the version current starts, checking it is a
// complete release ("" = no link: the packaged binary).
func (term *terminal) currentVersion() string {
	term.t.Helper()
	link := filepath.Join(term.dir, "current")
	if _, err := os.Lstat(link); os.IsNotExist(err) {
		return ""
	}
	st, err := os.Stat(filepath.Join(link, "bin", "kiosk"))
	if err != nil || st.Mode().Perm()&0o100 == 0 {
		term.t.Fatalf("current has no executable bin/kiosk: %v", err)
	}
	data, err := os.ReadFile(filepath.Join(link, "manifest.json"))
	if err != nil {
		term.t.Fatal(err)
	}
	var m updater.Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		term.t.Fatal(err)
	}
	return m.Version
}

func (term *terminal) releases() []string {
	entries, err := os.ReadDir(filepath.Join(term.dir, "releases"))
	if err != nil {
		term.t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// offer makes the agent's offer file offer version, as the agent writes
// it from the hub's heartbeat answer.
func (term *terminal) offer(version string) {
	term.t.Helper()
	term.offerWindow(version, nil)
}

func (term *terminal) offerWindow(version string, w *api.MaintenanceWindow) {
	term.t.Helper()
	data, err := json.Marshal(api.UpdateOffer{RolloutID: "r-1", Version: version, Target: updater.TargetName(version, "amd64"), Window: w})
	if err != nil {
		term.t.Fatal(err)
	}
	if err := atomicfile.WriteFile(term.cfg.OfferPath, data, 0o600); err != nil {
		term.t.Fatal(err)
	}
}

// withdraw removes the offer, as the agent does when the hub's answer
// has none.
func (term *terminal) withdraw() {
	term.t.Helper()
	if err := os.Remove(term.cfg.OfferPath); err != nil && !os.IsNotExist(err) {
		term.t.Fatal(err)
	}
}
