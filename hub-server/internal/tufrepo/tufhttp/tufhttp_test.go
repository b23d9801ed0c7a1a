package tufhttp_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/netlimit"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/sqlitestore"
	"github.com/quartierhub/quartierhub/hub-server/internal/tufrepo"
	"github.com/quartierhub/quartierhub/hub-server/internal/tufrepo/tufhttp"
)

var t0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

// repo is a repository after release init and one release, on a real
// SQLite store.
type repo struct {
	st       store.Store
	art      []byte
	target   string // the artifact's URL path below Prefix
	targets  []byte // the published targets.json
	empty    store.Store
	metadata []string // every metadata file's URL path below Prefix
}

func newRepo(t testing.TB) *repo {
	t.Helper()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "keys")
	if err := tufrepo.Ceremony(dir, t0, nil); err != nil {
		t.Fatal(err)
	}
	read := func(f string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	open := func() store.Store {
		st, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "hub.db"), sqlitestore.Opts{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	r := &repo{st: open(), empty: open(), art: bytes.Repeat([]byte("artifact "), 1000)}
	var keys tufrepo.OnlineKeys
	var err error
	if keys.Snapshot, err = tufrepo.ReadKey(filepath.Join(dir, tufrepo.SnapshotKeyFile)); err != nil {
		t.Fatal(err)
	}
	if keys.Timestamp, err = tufrepo.ReadKey(filepath.Join(dir, tufrepo.TimestampKeyFile)); err != nil {
		t.Fatal(err)
	}
	tk, err := tufrepo.ReadKey(filepath.Join(dir, tufrepo.TargetsKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	rp := tufrepo.New(r.st, keys)
	if err := rp.Init(ctx, read(tufrepo.RootFile), read(tufrepo.FirstTargetsFile), t0); err != nil {
		t.Fatal(err)
	}
	if r.targets, err = tufrepo.SignTargets(tufrepo.SignRequest{Root: read(tufrepo.RootFile), Previous: read(tufrepo.FirstTargetsFile),
		TargetsKey: tk, Artifact: r.art, Custom: tufrepo.Custom{Version: "1.0.0"}, Expires: t0.Add(tufrepo.TargetsLifetime)}); err != nil {
		t.Fatal(err)
	}
	added, err := rp.AddTarget(ctx, r.art, r.targets, t0)
	if err != nil {
		t.Fatal(err)
	}
	info, err := r.st.TUFTarget(ctx, added.Target)
	if err != nil {
		t.Fatal(err)
	}
	d, base := filepath.Split(added.Target)
	r.target = "targets/" + d + info.SHA256 + "." + base
	r.metadata = []string{"metadata/timestamp.json", "metadata/1.root.json", "metadata/1.targets.json", "metadata/2.targets.json",
		"metadata/1.snapshot.json", "metadata/2.snapshot.json"}
	return r
}

// unlimited is a handler whose rate limits a test does not reach.
func unlimited(st tufhttp.Store) *tufhttp.Handler {
	lots := netlimit.Limits{Every: time.Nanosecond, Burst: 1 << 30}
	return tufhttp.New(st, tufhttp.Opts{Now: func() time.Time { return t0 }, Metadata: lots, Targets: lots})
}

func serve(h http.Handler, method, path string, hdr ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "/", nil)
	req.URL.Path = path
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// Each file is served where the TUF specification puts it, the
// timestamp never cached and every other file cached for good; artifacts
// answer ranges (resumed downloads); everything else is 404 or 405.
func TestServes(t *testing.T) {
	r := newRepo(t)
	h := unlimited(r.st)
	for _, p := range r.metadata {
		rec := serve(h, "GET", tufhttp.Prefix+p)
		cache := "public, max-age=31536000, immutable"
		if p == "metadata/timestamp.json" {
			cache = "no-cache"
		}
		if rec.Code != 200 || rec.Header().Get("Cache-Control") != cache || !strings.Contains(rec.Body.String(), `"signed"`) {
			t.Errorf("%s: %d %q", p, rec.Code, rec.Header().Get("Cache-Control"))
		}
	}
	if rec := serve(h, "GET", tufhttp.Prefix+r.target); rec.Code != 200 || !bytes.Equal(rec.Body.Bytes(), r.art) {
		t.Errorf("artifact: %d, %d bytes", rec.Code, rec.Body.Len())
	}
	if rec := serve(h, "GET", tufhttp.Prefix+r.target, "Range", "bytes=100-"); rec.Code != 206 || !bytes.Equal(rec.Body.Bytes(), r.art[100:]) {
		t.Errorf("artifact from byte 100: %d, %d bytes", rec.Code, rec.Body.Len())
	}
	for _, p := range []string{"metadata/3.targets.json", "metadata/0.root.json", "metadata/01.root.json", "metadata/timestamp.json/",
		"metadata/../metadata/timestamp.json", "metadata/1.mirrors.json", "targets/" + strings.Repeat("0", 64) + ".x",
		strings.Replace(r.target, "/1.0.0/", "/1.0.0/../1.0.0/", 1), strings.Replace(r.target, "/1.0.0/", "/1.0.0//", 1), "targets/../metadata/1.root.json", "", "x"} {
		if rec := serve(h, "GET", tufhttp.Prefix+p); rec.Code != 404 {
			t.Errorf("%s: %d, want 404", p, rec.Code)
		}
	}
	if rec := serve(h, "POST", tufhttp.Prefix+"metadata/timestamp.json"); rec.Code != 405 {
		t.Errorf("POST: %d, want 405", rec.Code)
	}
	// Before release init: 404, not an error.
	if rec := serve(unlimited(r.empty), "GET", tufhttp.Prefix+"metadata/timestamp.json"); rec.Code != 404 {
		t.Errorf("uninitialised timestamp.json: %d, want 404", rec.Code)
	}
}

// A client network beyond its metadata burst is told to come back later.
func TestRateLimited(t *testing.T) {
	r := newRepo(t)
	h := tufhttp.New(r.st, tufhttp.Opts{Now: func() time.Time { return t0 }, Metadata: netlimit.Limits{Every: time.Hour, Burst: 3}})
	for i := range 4 {
		rec := serve(h, "GET", tufhttp.Prefix+"metadata/timestamp.json")
		if want := map[bool]int{true: 200, false: 429}[i < 3]; rec.Code != want {
			t.Errorf("request %d: %d, want %d", i+1, rec.Code, want)
		}
	}
}

// The release signer fetches the published targets.json from a hub.
func TestFetchTargets(t *testing.T) {
	r := newRepo(t)
	srv := httptest.NewServer(unlimited(r.st))
	defer srv.Close()
	got, err := tufhttp.FetchTargets(context.Background(), srv.Client(), srv.URL+"/")
	if err != nil || !bytes.Equal(got, r.targets) {
		t.Fatalf("FetchTargets: %d bytes, %v; want the published targets.json", len(got), err)
	}
	empty := httptest.NewServer(unlimited(r.empty))
	defer empty.Close()
	if _, err := tufhttp.FetchTargets(context.Background(), empty.Client(), empty.URL); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("FetchTargets from an uninitialised hub: %v, want a 404", err)
	}
}

// FuzzPath: whatever path a client asks for, the handler answers 200 or
// 206 only for the repository's real files, 404 (or 405, 416) otherwise,
// and never fails.
func FuzzPath(f *testing.F) {
	r := newRepo(f)
	h := unlimited(r.st)
	real := map[string]bool{tufhttp.Prefix + r.target: true}
	for _, p := range r.metadata {
		real[tufhttp.Prefix+p] = true
		f.Add(tufhttp.Prefix+p, "")
	}
	f.Add(tufhttp.Prefix+r.target, "bytes=5-9")
	f.Add(tufhttp.Prefix+"targets/a/../"+strings.Repeat("a", 64)+".b", "")
	f.Add(tufhttp.Prefix+"metadata/999999999999999999.root.json", "bytes=-1")
	f.Add("/tuf/v1//metadata/%2e%2e/1.root.json", "bytes=0-0,5-")
	f.Fuzz(func(t *testing.T, path, rng string) {
		for _, m := range []string{"GET", "HEAD"} {
			rec := serve(h, m, path, "Range", rng)
			switch rec.Code {
			case 200, 206:
				if !real[path] {
					t.Fatalf("%s %q: %d for a file that is not in the repository", m, path, rec.Code)
				}
			case 404, 416:
			default:
				t.Fatalf("%s %q (Range %q): %d", m, path, rng, rec.Code)
			}
		}
	})
}

// FuzzFetchTargets: whatever a hub answers for timestamp.json, the
// snapshot and targets.json, FetchTargets returns an error or a
// targets.json that parses, and never panics.
func FuzzFetchTargets(f *testing.F) {
	r := newRepo(f)
	ctx := context.Background()
	stamp, _ := r.st.TUFMetadata(ctx, "timestamp", 0)
	snap, _ := r.st.TUFMetadata(ctx, "snapshot", 0)
	f.Add(stamp.Body, snap.Body, r.targets)
	f.Add([]byte(`{"signed":{"meta":{"snapshot.json":{"version":-3}}}}`), snap.Body, r.targets)
	f.Add(stamp.Body, []byte(`{"signed":{"_type":"snapshot","meta":{"targets.json":{"version":99999999999999999999}}}}`), []byte("{}"))
	var (
		mu    sync.Mutex
		files [3][]byte
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch p := strings.TrimPrefix(req.URL.Path, tufhttp.Prefix+"metadata/"); {
		case p == "timestamp.json":
			w.Write(files[0])
		case strings.HasSuffix(p, ".snapshot.json"):
			w.Write(files[1])
		case strings.HasSuffix(p, ".targets.json"):
			w.Write(files[2])
		default:
			http.NotFound(w, req)
		}
	}))
	defer srv.Close()
	f.Fuzz(func(t *testing.T, stamp, snap, targets []byte) {
		mu.Lock()
		files = [3][]byte{stamp, snap, targets}
		mu.Unlock()
		got, err := tufhttp.FetchTargets(ctx, srv.Client(), srv.URL)
		if err != nil {
			return
		}
		if _, err := tufrepo.ParseTargets(got); err != nil || !bytes.Equal(got, targets) {
			t.Fatalf("FetchTargets returned %q (%v), served %q", got, err, targets)
		}
	})
}
