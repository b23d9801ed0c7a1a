package tufrepo_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/theupdateframework/go-tuf/v2/metadata"
	"github.com/theupdateframework/go-tuf/v2/metadata/config"
	"github.com/theupdateframework/go-tuf/v2/metadata/updater"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/sqlitestore"
	"github.com/quartierhub/quartierhub/hub-server/internal/tufrepo"
	"github.com/quartierhub/quartierhub/hub-server/internal/tufrepo/tufhttp"
)

var t0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

// fixture is a hub's repository after the ceremony and release init, on
// a real SQLite store, served over HTTP.
type fixture struct {
	dir        string // the ceremony's output
	root       []byte
	st         store.Store
	repo       *tufrepo.Repo
	online     tufrepo.OnlineKeys
	targets    ed25519.PrivateKey
	targetKeys []ed25519.PrivateKey // all the root trusts for targets
	srv        *httptest.Server
	tamper     func(path string, body []byte) []byte // if set, rewrites responses
}

func newFixture(t testing.TB) *fixture { return newFixtureWith(t, 1) }

// newFixtureWith makes a repository whose root trusts targetKeys targets
// keys with that threshold: 1 is the ceremony's root as it is; more
// re-sign a root with the ceremony's root keys 1 and 2 (two of three).
func newFixtureWith(t testing.TB, targetKeys int) *fixture {
	t.Helper()
	f := &fixture{dir: filepath.Join(t.TempDir(), "keys")}
	if err := tufrepo.Ceremony(f.dir, t0, nil); err != nil {
		t.Fatal(err)
	}
	var err error
	if f.root, err = os.ReadFile(filepath.Join(f.dir, tufrepo.RootFile)); err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	if err := tufrepo.InstallOnlineKeys(data, filepath.Join(f.dir, tufrepo.SnapshotKeyFile), filepath.Join(f.dir, tufrepo.TimestampKeyFile)); err != nil {
		t.Fatal(err)
	}
	if f.online, err = tufrepo.LoadOnlineKeys(data); err != nil {
		t.Fatal(err)
	}
	if f.targets, err = tufrepo.ReadKey(filepath.Join(f.dir, tufrepo.TargetsKeyFile)); err != nil {
		t.Fatal(err)
	}
	f.targetKeys = []ed25519.PrivateKey{f.targets}
	first, err := os.ReadFile(filepath.Join(f.dir, tufrepo.FirstTargetsFile))
	if err != nil {
		t.Fatal(err)
	}
	if targetKeys > 1 {
		root, err := tufrepo.ParseRoot(f.root)
		if err != nil {
			t.Fatal(err)
		}
		root.ClearSignatures()
		for len(f.targetKeys) < targetKeys {
			_, k, _ := ed25519.GenerateKey(nil)
			key, _ := metadata.KeyFromPublicKey(k.Public())
			if err := root.Signed.AddKey(key, "targets"); err != nil {
				t.Fatal(err)
			}
			f.targetKeys = append(f.targetKeys, k)
		}
		root.Signed.Roles["targets"].Threshold = targetKeys
		for i := 1; i <= 2; i++ {
			k, err := tufrepo.ReadKey(filepath.Join(f.dir, tufrepo.RootKeyFile(i)))
			if err != nil {
				t.Fatal(err)
			}
			if err := signWithKey(root, k); err != nil {
				t.Fatal(err)
			}
		}
		if f.root, err = root.ToBytes(false); err != nil {
			t.Fatal(err)
		}
		tg := metadata.Targets(t0.Add(tufrepo.TargetsLifetime))
		for _, k := range f.targetKeys {
			if err := signWithKey(tg, k); err != nil {
				t.Fatal(err)
			}
		}
		if first, err = tg.ToBytes(false); err != nil {
			t.Fatal(err)
		}
	}
	f.st, err = sqlitestore.Open(context.Background(), filepath.Join(data, "hub.db"), sqlitestore.Opts{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.st.Close() })
	f.repo = tufrepo.New(f.st, f.online)
	if err := f.repo.Init(context.Background(), f.root, first, t0); err != nil {
		t.Fatal(err)
	}
	h := tufhttp.New(f.st, tufhttp.Opts{Now: func() time.Time { return t0 }})
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f.tamper == nil {
			h.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		for k, v := range rec.Header() {
			if k != "Content-Length" {
				w.Header()[k] = v
			}
		}
		w.WriteHeader(rec.Code)
		w.Write(f.tamper(r.URL.Path, rec.Body.Bytes()))
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// artifact is a release tarball's stand-in: every byte value, seeded.
func artifact(seed byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i) + seed
	}
	return b
}

// release signs (offline) and adds (on the hub) version v.
func (f *fixture) release(t *testing.T, v string, art, previous []byte, now time.Time) []byte {
	t.Helper()
	tj, err := tufrepo.SignTargets(tufrepo.SignRequest{Root: f.root, Previous: previous, TargetsKey: f.targets, Artifact: art,
		Custom: tufrepo.Custom{Version: v}, Expires: now.Add(tufrepo.TargetsLifetime)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.repo.AddTarget(context.Background(), art, tj, now); err != nil {
		t.Fatal(err)
	}
	return tj
}

// client is a real go-tuf updater with the pinned root, at time at, and
// a metadata directory of its own.
func (f *fixture) client(t *testing.T, at time.Time) *updater.Updater {
	t.Helper()
	return f.clientIn(t, t.TempDir(), at)
}

// clientIn is a go-tuf updater whose trusted metadata is in dir, as a
// terminal's is between refreshes. An updater refreshes once; the next
// refresh is a new updater on the same directory.
func (f *fixture) clientIn(t *testing.T, dir string, at time.Time) *updater.Updater {
	t.Helper()
	cfg, err := config.New(f.srv.URL+tufhttp.Prefix+"metadata", f.root)
	if err != nil {
		t.Fatal(err)
	}
	cfg.RemoteTargetsURL = f.srv.URL + tufhttp.Prefix + "targets"
	cfg.LocalMetadataDir = filepath.Join(dir, "metadata")
	cfg.LocalTargetsDir = filepath.Join(dir, "targets")
	if err := cfg.EnsurePathsExist(); err != nil {
		t.Fatal(err)
	}
	u, err := updater.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	u.UnsafeSetRefTime(at)
	return u
}

// download refreshes u and downloads version v's target.
func download(u *updater.Updater, v string) ([]byte, *metadata.TargetFiles, error) {
	if err := u.Refresh(); err != nil {
		return nil, nil, fmt.Errorf("refresh: %w", err)
	}
	name, _ := tufrepo.TargetName(v)
	tf, err := u.GetTargetInfo(name)
	if err != nil {
		return nil, nil, fmt.Errorf("target info: %w", err)
	}
	_, b, err := u.DownloadTarget(tf, "", "")
	return b, tf, err
}

// A conforming TUF client accepts the repository, finds each release
// with its custom metadata and downloads it byte for byte, also after a
// second release was added on top of the first.
func TestClientDownloadsRelease(t *testing.T) {
	f := newFixture(t)
	a1, a2 := artifact(1, 300_000), artifact(2, 200_000)
	tj := f.release(t, "1.0.0", a1, nil, t0.Add(time.Minute))
	dir := t.TempDir()
	got, tf, err := download(f.clientIn(t, dir, t0.Add(time.Hour)), "1.0.0")
	if err != nil || !bytes.Equal(got, a1) {
		t.Fatalf("1.0.0: %d bytes, %v", len(got), err)
	}
	var c tufrepo.Custom
	if err := json.Unmarshal(*tf.Custom, &c); err != nil || c.Version != "1.0.0" {
		t.Errorf("custom %s: %v", *tf.Custom, err)
	}
	f.release(t, "1.1.0", a2, tj, t0.Add(2*time.Minute))
	// The terminal that knew 1.0.0 and a new one both find both.
	for _, d := range []string{dir, t.TempDir()} {
		for v, want := range map[string][]byte{"1.0.0": a1, "1.1.0": a2} {
			if got, _, err := download(f.clientIn(t, d, t0.Add(time.Hour)), v); err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s: %d bytes, %v", v, len(got), err)
			}
		}
	}
}

// A tampered artifact on the way is refused by the client.
func TestClientRefusesTamperedArtifact(t *testing.T) {
	f := newFixture(t)
	f.release(t, "1.0.0", artifact(1, 5000), nil, t0.Add(time.Minute))
	f.tamper = func(path string, b []byte) []byte {
		if bytes.HasPrefix([]byte(path), []byte(tufhttp.Prefix+"targets/")) && len(b) > 0 {
			b = bytes.Clone(b)
			b[len(b)/2] ^= 1
		}
		return b
	}
	if _, _, err := download(f.client(t, t0.Add(time.Hour)), "1.0.0"); err == nil {
		t.Fatal("tampered artifact accepted")
	}
}

// Without re-signing, the timestamp expires after 24 h and the client
// refuses the repository (a freeze); RefreshTimestamp run hourly keeps it
// fresh.
func TestTimestampExpiresUnlessRefreshed(t *testing.T) {
	f := newFixture(t)
	f.release(t, "1.0.0", artifact(1, 5000), nil, t0)
	later := t0.Add(25 * time.Hour)
	_, _, err := download(f.client(t, later), "1.0.0")
	var expired *metadata.ErrExpiredMetadata
	if !errors.As(err, &expired) {
		t.Fatalf("expired timestamp: %v, want ErrExpiredMetadata", err)
	}
	for at := t0; !at.After(later); at = at.Add(time.Hour) {
		if _, err := f.repo.RefreshTimestamp(context.Background(), at); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := download(f.client(t, later), "1.0.0"); err != nil {
		t.Fatalf("after hourly refresh: %v", err)
	}
}

// RefreshTimestamp re-signs only when less than half the lifetime is
// left, and re-signs the snapshot before it expires too.
func TestRefreshTimestamp(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, c := range []struct {
		at              time.Duration
		published       bool
		stamp, snapshot int64
	}{
		{11 * time.Hour, false, 1, 1},
		{12*time.Hour + time.Second, true, 2, 1},
		{13 * time.Hour, false, 2, 1},
		{25 * time.Hour, true, 3, 1},
		{3*24*time.Hour + 12*time.Hour + time.Second, true, 4, 2},
	} {
		published, err := f.repo.RefreshTimestamp(ctx, t0.Add(c.at))
		if err != nil {
			t.Fatal(err)
		}
		ts, _ := f.st.TUFMetadata(ctx, "timestamp", 0)
		sn, _ := f.st.TUFMetadata(ctx, "snapshot", 0)
		if published != c.published || ts.Version != c.stamp || sn.Version != c.snapshot {
			t.Errorf("at +%v: published %v, timestamp %d, snapshot %d; want %v, %d, %d", c.at, published, ts.Version, sn.Version,
				c.published, c.stamp, c.snapshot)
		}
	}
	// The re-signed snapshot and timestamp are accepted.
	if err := f.client(t, t0.Add(3*24*time.Hour+13*time.Hour)).Refresh(); err != nil {
		t.Fatalf("after re-signing: %v", err)
	}
}

// signTargets signs a targets.json listing art as version v with the
// given keys, bypassing SignTargets' own key check (as an attacker would).
func signTargets(t testing.TB, version int64, v string, art []byte, keys ...ed25519.PrivateKey) []byte {
	t.Helper()
	tg := metadata.Targets(t0.Add(tufrepo.TargetsLifetime))
	tg.Signed.Version = version
	name, _ := tufrepo.TargetName(v)
	sum := sha256.Sum256(art)
	tg.Signed.Targets[name] = &metadata.TargetFiles{Length: int64(len(art)), Hashes: metadata.Hashes{"sha256": sum[:]}, Path: name}
	for _, k := range keys {
		if err := signWithKey(tg, k); err != nil {
			t.Fatal(err)
		}
	}
	b, err := tg.ToBytes(false)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The hub publishes only a targets.json signed by the root's targets key:
// not one signed by another key, an online key, no key, nor an older
// version, nor one whose artifact differs; and nothing is stored then.
func TestAddTargetRefusals(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	art := artifact(3, 4000)
	_, stranger, _ := ed25519.GenerateKey(nil)
	for name, c := range map[string]struct {
		tj  []byte
		art []byte
	}{
		"stranger's key":           {signTargets(t, 2, "1.0.0", art, stranger), art},
		"snapshot key (online)":    {signTargets(t, 2, "1.0.0", art, f.online.Snapshot), art},
		"timestamp key (online)":   {signTargets(t, 2, "1.0.0", art, f.online.Timestamp), art},
		"unsigned":                 {signTargets(t, 2, "1.0.0", art), art},
		"version not above":        {signTargets(t, 1, "1.0.0", art, f.targets), art},
		"other artifact":           {signTargets(t, 2, "1.0.0", art, f.targets), artifact(4, 4000)},
		"no artifact for a target": {signTargets(t, 2, "1.0.0", art, f.targets), nil},
		"not JSON":                 {[]byte("{\"signed\":"), art},
		"oversized":                {bytes.Repeat([]byte(" "), tufrepo.MaxMetadataBytes+1), art},
	} {
		if _, err := f.repo.AddTarget(ctx, c.art, c.tj, t0.Add(time.Minute)); !errors.Is(err, tufrepo.ErrRejected) {
			t.Errorf("%s: %v, want ErrRejected", name, err)
		}
	}
	if m, _ := f.st.TUFMetadata(ctx, "targets", 0); m.Version != 1 {
		t.Errorf("targets version %d stored, want 1", m.Version)
	}
	if l, _ := f.st.TUFTargets(ctx); len(l) != 0 {
		t.Errorf("artifacts stored: %+v", l)
	}
	if _, err := f.repo.AddTarget(ctx, art, signTargets(t, 2, "1.0.0", art, f.targets), t0.Add(time.Minute)); err != nil {
		t.Fatalf("the targets key's: %v", err)
	}
}

// A stolen hub holds the online keys and the store, yet cannot make a
// client install its code: a targets.json it signs (with any key but the
// offline one) and publishes past AddTarget's checks, under a snapshot and
// timestamp correctly signed by the online keys, is refused by the client.
func TestClientRefusesTargetsFromStolenHub(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	evil := artifact(9, 3000)
	for i, k := range []ed25519.PrivateKey{f.online.Snapshot, f.online.Timestamp} {
		v := int64(i + 2)
		tj := signTargets(t, v, "6.6.6", evil, k)
		sum := sha256.Sum256(evil)
		name, _ := tufrepo.TargetName("6.6.6")
		var tgt *store.TUFTarget
		if i == 0 {
			tgt = &store.TUFTarget{TUFTargetInfo: store.TUFTargetInfo{Name: name, SHA256: hex.EncodeToString(sum[:]), Length: int64(len(evil))}, Body: evil}
		}
		metas := append([]store.TUFMetadata{{Role: "targets", Version: v, Body: tj}}, forgeSnapshot(t, f, v, v, v)...)
		if err := f.st.PublishTUF(ctx, metas, tgt); err != nil {
			t.Fatal(err)
		}
		_, _, err := download(f.client(t, t0.Add(time.Hour)), "6.6.6")
		var unsigned *metadata.ErrUnsignedMetadata
		if !errors.As(err, &unsigned) {
			t.Errorf("targets signed by online key %d: %v, want ErrUnsignedMetadata", i, err)
		}
	}
}

// forgeSnapshot signs, with the online keys, a snapshot naming targets
// version tv and a timestamp naming it (what a stolen hub can do).
func forgeSnapshot(t *testing.T, f *fixture, tv, sv, tsv int64) []store.TUFMetadata {
	t.Helper()
	snap := metadata.Snapshot(t0.Add(tufrepo.SnapshotLifetime))
	snap.Signed.Version = sv
	snap.Signed.Meta["targets.json"] = metadata.MetaFile(tv)
	if err := signWithKey(snap, f.online.Snapshot); err != nil {
		t.Fatal(err)
	}
	sb, _ := snap.ToBytes(false)
	ts := metadata.Timestamp(t0.Add(tufrepo.TimestampLifetime))
	ts.Signed.Version = tsv
	ts.Signed.Meta["snapshot.json"] = metadata.MetaFile(sv)
	if err := signWithKey(ts, f.online.Timestamp); err != nil {
		t.Fatal(err)
	}
	tb, _ := ts.ToBytes(false)
	return []store.TUFMetadata{{Role: "snapshot", Version: sv, Body: sb}, {Role: "timestamp", Version: tsv, Body: tb}}
}

// With a targets threshold of 2, one targets key's signature is not
// enough: the hub refuses it, and a client refuses it when a stolen hub
// publishes it anyway; two signatures are accepted.
func TestTargetsBelowThreshold(t *testing.T) {
	f := newFixtureWith(t, 2)
	ctx := context.Background()
	art := artifact(5, 6000)
	one := signTargets(t, 2, "1.0.0", art, f.targetKeys[0])
	if _, err := f.repo.AddTarget(ctx, art, one, t0.Add(time.Minute)); !errors.Is(err, tufrepo.ErrRejected) {
		t.Fatalf("one of two signatures: %v, want ErrRejected", err)
	}
	sum := sha256.Sum256(art)
	name, _ := tufrepo.TargetName("1.0.0")
	metas := append([]store.TUFMetadata{{Role: "targets", Version: 2, Body: one}}, forgeSnapshot(t, f, 2, 2, 2)...)
	if err := f.st.PublishTUF(ctx, metas, &store.TUFTarget{TUFTargetInfo: store.TUFTargetInfo{Name: name,
		SHA256: hex.EncodeToString(sum[:]), Length: int64(len(art))}, Body: art}); err != nil {
		t.Fatal(err)
	}
	_, _, err := download(f.client(t, t0.Add(time.Hour)), "1.0.0")
	var unsigned *metadata.ErrUnsignedMetadata
	if !errors.As(err, &unsigned) {
		t.Fatalf("client, one of two signatures: %v, want ErrUnsignedMetadata", err)
	}
	// The forged publication stored the artifact already: the properly
	// signed targets.json names it without bringing it again.
	if _, err := f.repo.AddTarget(ctx, nil, signTargets(t, 3, "1.0.0", art, f.targetKeys...), t0.Add(time.Minute)); err != nil {
		t.Fatalf("two of two: %v", err)
	}
	if got, _, err := download(f.client(t, t0.Add(time.Hour)), "1.0.0"); err != nil || !bytes.Equal(got, art) {
		t.Fatalf("client, two of two: %d bytes, %v", len(got), err)
	}
}

func signWithKey[T metadata.Roles](m *metadata.Metadata[T], k ed25519.PrivateKey) error {
	s, err := signature.LoadSigner(k, crypto.Hash(0))
	if err != nil {
		return err
	}
	_, err = m.Sign(s)
	return err
}
