package tufrepo_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/hub-server/internal/tufrepo"
)

// FuzzParseMetadata: root.json and targets.json as an operator uploads
// them (release init, release add, the console) never panic, and a
// refusal is ErrRejected.
func FuzzParseMetadata(f *testing.F) {
	dir := filepath.Join(f.TempDir(), "keys")
	if err := tufrepo.Ceremony(dir, t0, nil); err != nil {
		f.Fatal(err)
	}
	for _, name := range []string{tufrepo.RootFile, tufrepo.FirstTargetsFile} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"signed":{"_type":"targets","spec_version":"1.0.31","version":1,"expires":"2030-01-01T00:00:00Z","targets":{"a/../b":{"length":-1,"hashes":{}}}},"signatures":[{"keyid":"","sig":"zz"}]}`))
	f.Add([]byte(`{"signed":{"_type":"root"},"signatures":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := tufrepo.ParseRoot(b); err != nil && !errors.Is(err, tufrepo.ErrRejected) {
			t.Fatalf("ParseRoot: %v, want ErrRejected", err)
		}
		if _, err := tufrepo.ParseTargets(b); err != nil && !errors.Is(err, tufrepo.ErrRejected) {
			t.Fatalf("ParseTargets: %v, want ErrRejected", err)
		}
	})
}

// publishCounter counts what is published through the real store.
type publishCounter struct {
	tufrepo.Store
	published int
}

func (c *publishCounter) PublishTUF(ctx context.Context, metas []store.TUFMetadata, target *store.TUFTarget) error {
	err := c.Store.PublishTUF(ctx, metas, target)
	if err == nil {
		c.published++
	}
	return err
}

// FuzzAddTarget: whatever targets.json and artifact are uploaded to a
// real repository, AddTarget either publishes (only a targets.json the
// offline targets key signed, as the seed) or refuses with ErrRejected and
// stores nothing.
func FuzzAddTarget(f *testing.F) {
	fx := newFixture(f)
	counter := &publishCounter{Store: fx.st}
	repo := tufrepo.New(counter, fx.online)
	art := artifact(7, 3000)
	signed := signTargets(f, 2, "1.0.0", art, fx.targets)
	f.Add(signed, art)
	f.Add(signed, art[:100])
	f.Add(signTargets(f, 2, "1.0.0", art, fx.online.Snapshot), art)
	f.Add([]byte(`{"signed":{"_type":"targets","spec_version":"1.0.31","version":9,"expires":"2030-01-01T00:00:00Z","targets":{},"delegations":{"keys":{},"roles":[]}},"signatures":[]}`), []byte{})
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, tj, art []byte) {
		before := counter.published
		added, err := repo.AddTarget(ctx, art, tj, t0.Add(time.Minute))
		switch {
		case err == nil:
			after, _ := fx.st.TUFMetadata(ctx, "targets", 0)
			if parsed, perr := tufrepo.ParseTargets(tj); perr != nil || added.Targets != parsed.Signed.Version || after.Version != added.Targets {
				t.Fatalf("published %+v from targets.json %v (%v); stored version %d", added, parsed, perr, after.Version)
			}
		case !errors.Is(err, tufrepo.ErrRejected):
			t.Fatalf("AddTarget: %v, want ErrRejected", err)
		case counter.published != before:
			t.Fatalf("refused (%v), yet published", err)
		}
	})
}

// FuzzAddRoot: whatever root.json is uploaded, AddRoot publishes only one
// the root keys renewed (the seed) and otherwise refuses with
// ErrRejected and stores nothing.
func FuzzAddRoot(f *testing.F) {
	fx := newFixture(f)
	counter := &publishCounter{Store: fx.st}
	repo := tufrepo.New(counter, fx.online)
	var keys []ed25519.PrivateKey
	for i := 1; i <= 2; i++ {
		k, err := tufrepo.ReadKey(filepath.Join(fx.dir, tufrepo.RootKeyFile(i)))
		if err != nil {
			f.Fatal(err)
		}
		keys = append(keys, k)
	}
	root2, err := tufrepo.RenewRoot(fx.root, keys, t0.Add(tufrepo.RootLifetime))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(root2)
	f.Add(fx.root)
	f.Add(shortKeyRoot(f, root2))
	f.Add([]byte(`{"signed":{"_type":"root","version":2,"consistent_snapshot":true,"roles":{},"keys":{}},"signatures":[]}`))
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, root []byte) {
		before := counter.published
		v, err := repo.AddRoot(ctx, root, t0.Add(time.Minute))
		switch {
		case err == nil && v != 2:
			t.Fatalf("published root version %d", v)
		case err != nil && !errors.Is(err, tufrepo.ErrRejected):
			t.Fatalf("AddRoot: %v, want ErrRejected", err)
		case err != nil && counter.published != before:
			t.Fatalf("refused (%v), yet published", err)
		}
	})
}
