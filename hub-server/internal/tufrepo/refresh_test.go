package tufrepo_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/store/sqlitestore"
	"github.com/quartierhub/quartierhub/hub-server/internal/tufrepo"
)

type check struct {
	published bool
	expires   time.Time
	err       error
}

// The refresher checks at once and then at each period, re-signing only
// when the timestamp is past half its life, and reports the expiry; it
// stops when its context ends.
func TestRefresherRun(t *testing.T) {
	f := newFixture(t)
	var now atomic.Int64
	now.Store(t0.Add(13 * time.Hour).UnixNano())
	ticks := make(chan time.Time)
	checks := make(chan check, 1)
	r := tufrepo.NewRefresher(f.st, func() (tufrepo.OnlineKeys, error) { return f.online, nil }, tufrepo.RefresherOpts{
		Every: time.Hour, Now: func() time.Time { return time.Unix(0, now.Load()) },
		After: func(d time.Duration) <-chan time.Time {
			if d != time.Hour {
				t.Errorf("period %v, want 1h", d)
			}
			return ticks
		},
		OnCheck: func(p bool, e time.Time, err error) { checks <- check{p, e, err} }})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	want := []check{
		{true, t0.Add(13*time.Hour + tufrepo.TimestampLifetime), nil},  // at +13h: past half of 24h
		{false, t0.Add(13*time.Hour + tufrepo.TimestampLifetime), nil}, // at +14h: fresh
	}
	for i, w := range want {
		got := <-checks
		if got.published != w.published || !got.expires.Equal(w.expires) || got.err != nil {
			t.Errorf("check %d: %+v, want %+v", i, got, w)
		}
		now.Add(int64(time.Hour))
		ticks <- time.Time{}
	}
	<-checks // the check the last tick started
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if ts, _ := f.st.TUFMetadata(context.Background(), "timestamp", 0); ts.Version != 2 {
		t.Errorf("timestamp version %d, want 2", ts.Version)
	}
}

// Before release init there is nothing to keep fresh and no keys: not an
// error. Once a timestamp is published, missing keys are one (it will
// expire); keys installed later are picked up without a restart.
func TestRefresherKeys(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	keys := func() (tufrepo.OnlineKeys, error) { return tufrepo.LoadOnlineKeys(data) }
	empty, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "hub.db"), sqlitestore.Opts{})
	if err != nil {
		t.Fatal(err)
	}
	defer empty.Close()
	at := func() time.Time { return t0.Add(20 * time.Hour) }
	if p, err := tufrepo.NewRefresher(empty, keys, tufrepo.RefresherOpts{Now: at}).Check(ctx); p || err != nil {
		t.Fatalf("uninitialised: %v %v, want false nil", p, err)
	}
	f := newFixture(t)
	r := tufrepo.NewRefresher(f.st, keys, tufrepo.RefresherOpts{Now: at})
	if _, err := r.Check(ctx); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("published timestamp, no keys: %v, want ErrNotExist", err)
	}
	if err := tufrepo.InstallOnlineKeys(data, filepath.Join(f.dir, tufrepo.SnapshotKeyFile), filepath.Join(f.dir, tufrepo.TimestampKeyFile)); err != nil {
		t.Fatal(err)
	}
	if p, err := r.Check(ctx); !p || err != nil {
		t.Fatalf("keys installed: %v %v, want a re-signed timestamp", p, err)
	}
}

// Installing the online keys again is harmless with the same keys and
// refused with others.
func TestInstallOnlineKeysAgain(t *testing.T) {
	f := newFixture(t)
	data := t.TempDir()
	snap, stamp := filepath.Join(f.dir, tufrepo.SnapshotKeyFile), filepath.Join(f.dir, tufrepo.TimestampKeyFile)
	for i := range 2 {
		if err := tufrepo.InstallOnlineKeys(data, snap, stamp); err != nil {
			t.Fatalf("install %d: %v", i, err)
		}
	}
	other := filepath.Join(t.TempDir(), "keys")
	if err := tufrepo.Ceremony(other, t0, nil); err != nil {
		t.Fatal(err)
	}
	err := tufrepo.InstallOnlineKeys(data, filepath.Join(other, tufrepo.SnapshotKeyFile), filepath.Join(other, tufrepo.TimestampKeyFile))
	if err == nil {
		t.Fatal("another ceremony's keys replaced the installed ones")
	}
	if k, _ := tufrepo.LoadOnlineKeys(data); !k.Snapshot.Equal(f.online.Snapshot) {
		t.Error(fmt.Errorf("installed snapshot key changed"))
	}
}

// A targets.json expires (90 days by default) and a client then refuses
// the repository although the hub keeps timestamp and snapshot fresh;
// RenewTargets re-signs the same releases offline, AddTarget publishes it
// without an artifact, and the client installs again.
func TestRenewTargets(t *testing.T) {
	ctx := context.Background()
	late := t0.Add(tufrepo.TargetsLifetime + 24*time.Hour)
	for _, renew := range []bool{false, true} {
		f := newFixture(t)
		art := artifact(1, 4000)
		tj := f.release(t, "1.0.0", art, nil, t0)
		if renew {
			at := t0.Add(tufrepo.TargetsLifetime - 24*time.Hour)
			renewed, err := tufrepo.RenewTargets(f.root, tj, f.targets, at.Add(tufrepo.TargetsLifetime))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tufrepo.RenewTargets(f.root, tj, f.online.Snapshot, at.Add(tufrepo.TargetsLifetime)); !errors.Is(err, tufrepo.ErrNoKey) {
				t.Errorf("renewal with the online key: %v, want ErrNoKey", err)
			}
			if _, err := f.repo.AddTarget(ctx, nil, renewed, at); err != nil {
				t.Fatalf("publish the renewed targets.json: %v", err)
			}
		}
		if _, err := f.repo.RefreshTimestamp(ctx, late); err != nil {
			t.Fatal(err)
		}
		got, _, err := download(f.client(t, late), "1.0.0")
		switch {
		case renew && (err != nil || !bytes.Equal(got, art)):
			t.Errorf("renewed: %d bytes, %v", len(got), err)
		case !renew && err == nil:
			t.Error("an expired targets.json was accepted")
		}
	}
}

// A root expires after a year and a client refuses an expired final
// root; RenewRoot (two of the three root keys, offline) makes version 2,
// AddRoot publishes it, and a client that pinned version 1 walks to it
// and installs again. One root key is not enough, and the hub refuses a
// root signed by the online keys or skipping a version.
func TestRenewRoot(t *testing.T) {
	ctx := context.Background()
	late := t0.Add(tufrepo.RootLifetime + 24*time.Hour)
	for _, renew := range []bool{false, true} {
		f := newFixture(t)
		art := artifact(1, 4000)
		tj := f.release(t, "1.0.0", art, nil, t0)
		at := late.Add(-30 * 24 * time.Hour)
		renewed, err := tufrepo.RenewTargets(f.root, tj, f.targets, late.Add(tufrepo.TargetsLifetime))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.repo.AddTarget(ctx, nil, renewed, at); err != nil {
			t.Fatal(err)
		}
		if renew {
			var keys []ed25519.PrivateKey
			for i := 1; i <= 3; i++ {
				k, err := tufrepo.ReadKey(filepath.Join(f.dir, tufrepo.RootKeyFile(i)))
				if err != nil {
					t.Fatal(err)
				}
				keys = append(keys, k)
			}
			if _, err := tufrepo.RenewRoot(f.root, keys[2:], at.Add(tufrepo.RootLifetime)); err == nil {
				t.Error("one root key renewed the root")
			}
			if _, err := tufrepo.RenewRoot(f.root, []ed25519.PrivateKey{f.online.Snapshot, keys[0]}, at.Add(tufrepo.RootLifetime)); !errors.Is(err, tufrepo.ErrNoKey) {
				t.Errorf("an online key signing the root: %v, want ErrNoKey", err)
			}
			root2, err := tufrepo.RenewRoot(f.root, keys[1:], at.Add(tufrepo.RootLifetime))
			if err != nil {
				t.Fatal(err)
			}
			root3, err := tufrepo.RenewRoot(root2, keys[:2], at.Add(tufrepo.RootLifetime))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.repo.AddRoot(ctx, root3, at); !errors.Is(err, tufrepo.ErrRejected) {
				t.Errorf("root version 3 over 1: %v, want ErrRejected", err)
			}
			if v, err := f.repo.AddRoot(ctx, root2, at); err != nil || v != 2 {
				t.Fatalf("AddRoot: %d %v", v, err)
			}
		}
		if _, err := f.repo.RefreshTimestamp(ctx, late); err != nil {
			t.Fatal(err)
		}
		got, _, err := download(f.client(t, late), "1.0.0")
		switch {
		case renew && (err != nil || !bytes.Equal(got, art)):
			t.Errorf("renewed root: %d bytes, %v", len(got), err)
		case !renew && err == nil:
			t.Error("an expired root was accepted")
		}
	}
}

// shortKeyRoot is root with one key's ed25519 public key cut to 2 bytes,
// signatures kept: go-tuf v2.4.2 panics verifying with it.
func shortKeyRoot(t testing.TB, root []byte) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(root, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range m["signed"].(map[string]any)["keys"].(map[string]any) {
		k.(map[string]any)["keyval"].(map[string]any)["public"] = "abcd"
		break
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A root.json with a malformed key is refused wherever a root is read,
// never a panic (FuzzAddRoot found one in AddRoot; Init, SignTargets,
// RenewTargets and RenewRoot read roots the same way).
func TestRootWithShortKey(t *testing.T) {
	f := newFixture(t)
	bad := shortKeyRoot(t, f.root)
	if _, err := tufrepo.ParseRoot(bad); !errors.Is(err, tufrepo.ErrRejected) {
		t.Errorf("ParseRoot: %v, want ErrRejected", err)
	}
	if _, err := f.repo.AddRoot(context.Background(), bad, t0); !errors.Is(err, tufrepo.ErrRejected) {
		t.Errorf("AddRoot: %v, want ErrRejected", err)
	}
	if _, err := tufrepo.SignTargets(tufrepo.SignRequest{Root: bad, TargetsKey: f.targets, Artifact: []byte("x"),
		Custom: tufrepo.Custom{Version: "1.0.0"}, Expires: t0.Add(time.Hour)}); !errors.Is(err, tufrepo.ErrRejected) {
		t.Errorf("SignTargets: %v, want ErrRejected", err)
	}
}
