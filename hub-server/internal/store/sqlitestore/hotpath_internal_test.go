package sqlitestore

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

func enrolForTest(t *testing.T, s *Store, name string, now time.Time) string {
	t.Helper()
	ctx := context.Background()
	tok := sha256.Sum256([]byte(name))
	if err := s.CreateEnrolToken(ctx, store.EnrolToken{Hash: tok, TerminalName: name, Quarter: "Q", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	seed := sha256.Sum256([]byte("key " + name))
	tm, err := s.Enroll(ctx, store.Enrolment{TokenHash: tok, TerminalID: "T-" + name,
		PublicKey: ed25519.NewKeyFromSeed(seed[:]).Public().(ed25519.PublicKey), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return tm.ID
}

var recAt = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

func testRecords(from, n int) []api.Record {
	recs := make([]api.Record, n)
	for i := range recs {
		recs[i] = api.Record{ID: fmt.Sprintf("01JX%022d", from+i), Type: "sensor_minute", Class: api.ClassSensor,
			CreatedAt: recAt, Payload: json.RawMessage(fmt.Sprintf(`{"n":%d}`, from+i))}
	}
	return recs
}

// One group transaction holds several terminals' batches: each is all or
// nothing on its own (a revoked terminal's or an unknown one's batch
// stores nothing and fails alone), duplicates within the group are
// counted as such, and what the group stored is there after the commit.
func TestIngestGroupSavepoints(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "hub.db"), Opts{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Now().UTC()
	a, b, r := enrolForTest(t, s, "a", now), enrolForTest(t, s, "b", now), enrolForTest(t, s, "r", now)
	if err := s.RevokeTerminal(ctx, r, now); err != nil {
		t.Fatal(err)
	}
	req := func(id string, recs []api.Record) *ingestReq {
		return &ingestReq{ctx: ctx, terminalID: id, recs: recs, receivedAt: now, done: make(chan struct{})}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	group := []*ingestReq{
		req(a, testRecords(0, 70)), // more than one INSERT chunk
		req(r, testRecords(0, 5)),
		req(b, testRecords(0, 3)),
		req("T-unknown", testRecords(0, 2)),
		req(a, testRecords(60, 20)), // 10 stored by the first batch
		{ctx: cancelled, terminalID: b, recs: testRecords(100, 4), receivedAt: now, done: make(chan struct{})},
	}
	s.ingestGroup(group)
	want := []struct {
		ack api.BatchAck
		err error
	}{
		{api.BatchAck{Stored: 70}, nil},
		{api.BatchAck{}, store.ErrRevoked},
		{api.BatchAck{Stored: 3}, nil},
		{api.BatchAck{}, store.ErrNotFound},
		{api.BatchAck{Stored: 10, Duplicates: 10}, nil},
		{api.BatchAck{}, context.Canceled},
	}
	for i, w := range want {
		if group[i].ack != w.ack || !errors.Is(group[i].err, w.err) || (w.err == nil) != (group[i].err == nil) {
			t.Errorf("batch %d: %+v %v, want %+v %v", i, group[i].ack, group[i].err, w.ack, w.err)
		}
	}
	counts := map[string]int{}
	if err := s.ExportRecords(ctx, store.ExportFilter{}, func(e *store.ExportedRecord) error { counts[e.Terminal]++; return nil }); err != nil {
		t.Fatal(err)
	}
	if counts["a"] != 80 || counts["b"] != 3 || counts["r"] != 0 || len(counts) != 2 {
		t.Errorf("stored per terminal: %v, want a 80, b 3", counts)
	}
	// Through IngestBatch, the group commit answers each caller.
	ack, err := s.IngestBatch(ctx, b, testRecords(0, 5), now)
	if err != nil || ack != (api.BatchAck{Stored: 2, Duplicates: 3}) {
		t.Errorf("IngestBatch: %+v %v", ack, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.IngestBatch(ctx, b, testRecords(200, 1), now); !errors.Is(err, errClosed) {
		t.Errorf("IngestBatch after Close: %v", err)
	}
}
