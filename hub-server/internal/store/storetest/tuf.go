package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

var tufTests = []struct {
	name string
	fn   func(t *testing.T, s store.Store)
}{
	{"TUFPublishAndRead", testTUFPublish},
	{"TUFVersionsOnlyRise", testTUFVersionsRise},
	{"TUFTimestampsPruned", testTUFTimestampsPruned},
}

func tufMeta(role string, v int64) store.TUFMetadata {
	return store.TUFMetadata{Role: role, Version: v, Body: []byte(fmt.Sprintf(`{"signed":{"_type":%q,"version":%d}}`, role, v)), AddedAt: t0}
}

// Metadata and artifacts come back byte for byte; version 0 is the newest.
func testTUFPublish(t *testing.T, s store.Store) {
	ctx := context.Background()
	if _, err := s.TUFMetadata(ctx, "timestamp", 0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("empty repository: %v, want ErrNotFound", err)
	}
	body := make([]byte, 70000)
	for i := range body {
		body[i] = byte(i)
	}
	art := &store.TUFTarget{TUFTargetInfo: store.TUFTargetInfo{Name: "k/1/k_1.tar.gz", SHA256: "aa", Length: int64(len(body)), AddedAt: t0}, Body: body}
	if err := s.PublishTUF(ctx, []store.TUFMetadata{tufMeta("root", 1), tufMeta("targets", 1), tufMeta("snapshot", 1), tufMeta("timestamp", 1)}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.PublishTUF(ctx, []store.TUFMetadata{tufMeta("targets", 2), tufMeta("snapshot", 2), tufMeta("timestamp", 2)}, art); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		role      string
		ask, want int64
	}{{"root", 0, 1}, {"root", 1, 1}, {"targets", 1, 1}, {"targets", 0, 2}, {"snapshot", 2, 2}, {"timestamp", 0, 2}} {
		m, err := s.TUFMetadata(ctx, c.role, c.ask)
		if err != nil {
			t.Fatalf("%s %d: %v", c.role, c.ask, err)
		}
		if m.Version != c.want || !bytes.Equal(m.Body, tufMeta(c.role, c.want).Body) || !m.AddedAt.Equal(t0) {
			t.Errorf("%s %d: got %+v", c.role, c.ask, m)
		}
	}
	if _, err := s.TUFMetadata(ctx, "targets", 3); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("targets 3: %v, want ErrNotFound", err)
	}
	got, err := s.TUFTarget(ctx, art.Name)
	if err != nil || !bytes.Equal(got.Body, body) || got.TUFTargetInfo != art.TUFTargetInfo {
		t.Fatalf("target: %+v, %v", got.TUFTargetInfo, err)
	}
	if _, err := s.TUFTarget(ctx, "k/2/k_2.tar.gz"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown target: %v", err)
	}
	list, err := s.TUFTargets(ctx)
	if err != nil || len(list) != 1 || list[0] != art.TUFTargetInfo {
		t.Fatalf("targets: %+v, %v", list, err)
	}
}

// A version at or below the newest, or a target name stored with other
// bytes, stores nothing of the publication.
func testTUFVersionsRise(t *testing.T, s store.Store) {
	ctx := context.Background()
	if err := s.PublishTUF(ctx, []store.TUFMetadata{tufMeta("snapshot", 3), tufMeta("timestamp", 3)},
		&store.TUFTarget{TUFTargetInfo: store.TUFTargetInfo{Name: "a", SHA256: "11", Length: 1}, Body: []byte{1}}); err != nil {
		t.Fatal(err)
	}
	for name, p := range map[string]struct {
		metas []store.TUFMetadata
		tgt   *store.TUFTarget
	}{
		"same version":  {[]store.TUFMetadata{tufMeta("snapshot", 4), tufMeta("timestamp", 3)}, nil},
		"older version": {[]store.TUFMetadata{tufMeta("snapshot", 4), tufMeta("timestamp", 2)}, nil},
		"other bytes under a stored name": {[]store.TUFMetadata{tufMeta("snapshot", 4), tufMeta("timestamp", 4)},
			&store.TUFTarget{TUFTargetInfo: store.TUFTargetInfo{Name: "a", SHA256: "22", Length: 1}, Body: []byte{2}}},
	} {
		if err := s.PublishTUF(ctx, p.metas, p.tgt); !errors.Is(err, store.ErrVersionConflict) {
			t.Errorf("%s: %v, want ErrVersionConflict", name, err)
		}
		if m, _ := s.TUFMetadata(ctx, "snapshot", 0); m.Version != 3 {
			t.Errorf("%s: snapshot %d stored, want 3", name, m.Version)
		}
		if tg, _ := s.TUFTarget(ctx, "a"); tg.SHA256 != "11" {
			t.Errorf("%s: target now %q", name, tg.SHA256)
		}
	}
}

// Old timestamps are pruned; the newest and the other roles stay.
func testTUFTimestampsPruned(t *testing.T, s store.Store) {
	ctx := context.Background()
	if err := s.PublishTUF(ctx, []store.TUFMetadata{tufMeta("snapshot", 1)}, nil); err != nil {
		t.Fatal(err)
	}
	n := int64(store.TUFTimestampsKept + 5)
	for v := int64(1); v <= n; v++ {
		m := tufMeta("timestamp", v)
		m.AddedAt = t0.Add(time.Duration(v) * time.Hour)
		if err := s.PublishTUF(ctx, []store.TUFMetadata{m}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.TUFMetadata(ctx, "timestamp", n-store.TUFTimestampsKept); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("old timestamp kept: %v", err)
	}
	if _, err := s.TUFMetadata(ctx, "timestamp", n-store.TUFTimestampsKept+1); err != nil {
		t.Errorf("recent timestamp pruned: %v", err)
	}
	if m, err := s.TUFMetadata(ctx, "snapshot", 1); err != nil || m.Version != 1 {
		t.Errorf("snapshot pruned: %v", err)
	}
}
