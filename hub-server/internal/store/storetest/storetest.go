// Package storetest is the conformance suite every store.Store
// implementation must pass: call Run from the implementation's tests.
package storetest

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// Run runs the suite; open returns a new, empty store for each subtest and
// arranges its cleanup.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"EnrolHappyPath", testEnrol},
		{"EnrolTokenErrors", testEnrolTokenErrors},
		{"NameTaken", testNameTaken},
		{"RevokeAndTouch", testRevokeAndTouch},
		{"IngestIdempotent", testIngestIdempotent},
		{"IngestPerTerminal", testIngestPerTerminal},
		{"IngestBatchSizes", testIngestBatchSizes},
		{"IngestUnknownOrRevoked", testIngestUnknownOrRevoked},
		{"IngestCanceledStoresNothing", testIngestCanceled},
		{"ExportRoundTripAndFilter", testExport},
		{"ExportStopsOnError", testExportStops},
	}
	tests = append(tests, fleetTests...)
	tests = append(tests, consoleTests...)
	tests = append(tests, alertAckTests...)
	tests = append(tests, tufTests...)
	tests = append(tests, rolloutTests...)
	tests = append(tests, workshopTests...)
	tests = append(tests, openDataTests...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

var t0 = time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC)

// key returns a deterministic ed25519 key pair.
func key(seed byte) ed25519.PrivateKey {
	s := make([]byte, ed25519.SeedSize)
	s[0] = seed
	return ed25519.NewKeyFromSeed(s)
}

func hash(tok string) [32]byte { return sha256.Sum256([]byte(tok)) }

func mustToken(t *testing.T, s store.Store, tok, name string, expires time.Time) {
	t.Helper()
	if err := s.CreateEnrolToken(context.Background(), store.EnrolToken{Hash: hash(tok), TerminalName: name, Quarter: "Johannstadt",
		CreatedAt: t0, ExpiresAt: expires}); err != nil {
		t.Fatalf("CreateEnrolToken(%s): %v", name, err)
	}
}

func enrol(t *testing.T, s store.Store, name string, seed byte) store.Terminal {
	t.Helper()
	tok := "tok-" + name
	mustToken(t, s, tok, name, t0.Add(time.Hour))
	term, err := s.Enroll(context.Background(), store.Enrolment{TokenHash: hash(tok), TerminalID: "T-" + name,
		PublicKey: key(seed).Public().(ed25519.PublicKey), SoftwareVersion: "1.0.0", Now: t0.Add(time.Minute)})
	if err != nil {
		t.Fatalf("Enroll(%s): %v", name, err)
	}
	return term
}

// ulid returns a valid record ID that encodes n.
func ulid(n int) string {
	const digits = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	b := []byte("01JX0000000000000000000000")
	for i := len(b) - 1; n > 0; i-- {
		b[i] = digits[n%32]
		n /= 32
	}
	return string(b)
}

func records(from, n int) []api.Record {
	recs := make([]api.Record, n)
	for i := range recs {
		k := from + i
		typ := "sensor.sds011"
		if k%2 == 1 {
			typ = "sensor.mhz19"
		}
		recs[i] = api.Record{ID: ulid(k), Type: typ, Class: api.ClassSensor,
			CreatedAt: t0.Add(time.Duration(k)*time.Second + 123456789), Payload: json.RawMessage(fmt.Sprintf(`{"k":%d,"s":"ä\"\n"}`, k))}
	}
	return recs
}

func exportAll(t *testing.T, s store.Store, f store.ExportFilter) []store.ExportedRecord {
	t.Helper()
	var out []store.ExportedRecord
	err := s.ExportRecords(context.Background(), f, func(r *store.ExportedRecord) error {
		c := *r
		c.Payload = append([]byte(nil), r.Payload...)
		out = append(out, c)
		return nil
	})
	if err != nil {
		t.Fatalf("ExportRecords: %v", err)
	}
	return out
}

func ingest(t *testing.T, s store.Store, id string, recs []api.Record) api.BatchAck {
	t.Helper()
	ack, err := s.IngestBatch(context.Background(), id, recs, t0.Add(time.Hour))
	if err != nil {
		t.Fatalf("IngestBatch: %v", err)
	}
	if ack.Stored+ack.Duplicates != len(recs) {
		t.Fatalf("ack %+v does not add up to %d records", ack, len(recs))
	}
	return ack
}

func testEnrol(t *testing.T, s store.Store) {
	ctx := context.Background()
	got := enrol(t, s, "fs-bibliothek", 1)
	want := store.Terminal{ID: "T-fs-bibliothek", Name: "fs-bibliothek", Quarter: "Johannstadt",
		PublicKey: key(1).Public().(ed25519.PublicKey), SoftwareVersion: "1.0.0", EnrolledAt: t0.Add(time.Minute)}
	check := func(what string, got store.Terminal) {
		t.Helper()
		if got.ID != want.ID || got.Name != want.Name || got.Quarter != want.Quarter || !got.PublicKey.Equal(want.PublicKey) ||
			got.SoftwareVersion != want.SoftwareVersion || !got.EnrolledAt.Equal(want.EnrolledAt) || got.Revoked() || !got.LastSeenAt.IsZero() {
			t.Errorf("%s = %+v, want %+v", what, got, want)
		}
	}
	check("Enroll", got)
	byID, err := s.Terminal(ctx, want.ID)
	if err != nil {
		t.Fatal(err)
	}
	check("Terminal", byID)
	enrol(t, s, "aa-first", 2)
	all, err := s.Terminals(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].Name != "aa-first" || all[1].Name != "fs-bibliothek" {
		t.Errorf("Terminals = %+v, want aa-first, fs-bibliothek", all)
	}
	if _, err := s.Terminal(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Terminal(unknown) err = %v, want ErrNotFound", err)
	}
}

func testEnrolTokenErrors(t *testing.T, s store.Store) {
	ctx := context.Background()
	pub := key(1).Public().(ed25519.PublicKey)
	try := func(tok, id string, now time.Time) error {
		_, err := s.Enroll(ctx, store.Enrolment{TokenHash: hash(tok), TerminalID: id, PublicKey: pub, Now: now})
		return err
	}
	mustToken(t, s, "good", "t1", t0.Add(time.Hour))
	mustToken(t, s, "short", "t2", t0.Add(time.Minute))
	if err := try("unknown", "X1", t0); !errors.Is(err, store.ErrTokenUnknown) {
		t.Errorf("unknown token: err = %v", err)
	}
	if err := try("short", "X2", t0.Add(time.Minute)); !errors.Is(err, store.ErrTokenExpired) {
		t.Errorf("expired token: err = %v", err)
	}
	if err := try("good", "X3", t0); err != nil {
		t.Fatalf("good token: %v", err)
	}
	if err := try("good", "X4", t0); !errors.Is(err, store.ErrTokenUsed) {
		t.Errorf("reused token: err = %v", err)
	}
	if _, err := s.Terminal(ctx, "X4"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("reused token created a terminal: %v", err)
	}
}

func testNameTaken(t *testing.T, s store.Store) {
	ctx := context.Background()
	mustToken(t, s, "a", "same", t0.Add(time.Hour))
	mustToken(t, s, "b", "same", t0.Add(time.Hour))
	pub := key(1).Public().(ed25519.PublicKey)
	if _, err := s.Enroll(ctx, store.Enrolment{TokenHash: hash("a"), TerminalID: "A", PublicKey: pub, Now: t0}); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the failed attempt leaves the token unused
		if _, err := s.Enroll(ctx, store.Enrolment{TokenHash: hash("b"), TerminalID: "B", PublicKey: pub, Now: t0}); !errors.Is(err, store.ErrNameTaken) {
			t.Errorf("second enrolment of the name: err = %v, want ErrNameTaken", err)
		}
	}
	err := s.CreateEnrolToken(ctx, store.EnrolToken{Hash: hash("c"), TerminalName: "same", Quarter: "q", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)})
	if !errors.Is(err, store.ErrNameTaken) {
		t.Errorf("token for an enrolled name: err = %v, want ErrNameTaken", err)
	}
}

func testRevokeAndTouch(t *testing.T, s store.Store) {
	ctx := context.Background()
	term := enrol(t, s, "t", 1)
	seen := t0.Add(2 * time.Hour)
	if err := s.TouchTerminal(ctx, term.ID, seen); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeTerminal(ctx, term.ID, t0.Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeTerminal(ctx, term.ID, t0.Add(4*time.Hour)); err != nil {
		t.Fatal(err)
	}
	got, err := s.Terminal(ctx, term.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.LastSeenAt.Equal(seen) || !got.RevokedAt.Equal(t0.Add(3*time.Hour)) {
		t.Errorf("after touch+revoke×2: last seen %v revoked %v", got.LastSeenAt, got.RevokedAt)
	}
	if err := s.RevokeTerminal(ctx, "nope", t0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("revoke unknown: %v", err)
	}
	if err := s.TouchTerminal(ctx, "nope", t0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("touch unknown: %v", err)
	}
}

func testIngestIdempotent(t *testing.T, s store.Store) {
	term := enrol(t, s, "t", 1)
	if ack := ingest(t, s, term.ID, records(0, 100)); ack != (api.BatchAck{Stored: 100}) {
		t.Errorf("first ingest ack = %+v", ack)
	}
	if ack := ingest(t, s, term.ID, records(0, 100)); ack != (api.BatchAck{Duplicates: 100}) {
		t.Errorf("replayed batch ack = %+v", ack)
	}
	if ack := ingest(t, s, term.ID, records(50, 100)); ack != (api.BatchAck{Stored: 50, Duplicates: 50}) {
		t.Errorf("overlapping batch ack = %+v", ack)
	}
	dup := append(records(500, 3), records(500, 3)...)
	if ack := ingest(t, s, term.ID, dup); ack != (api.BatchAck{Stored: 3, Duplicates: 3}) {
		t.Errorf("batch repeating its own records: ack = %+v", ack)
	}
	if n := len(exportAll(t, s, store.ExportFilter{})); n != 153 {
		t.Errorf("exported %d records, want 153", n)
	}
	got, err := s.Terminal(context.Background(), term.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.LastSeenAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("last seen after ingest = %v", got.LastSeenAt)
	}
}

func testIngestPerTerminal(t *testing.T, s store.Store) {
	a, b := enrol(t, s, "a", 1), enrol(t, s, "b", 2)
	ingest(t, s, a.ID, records(0, 10))
	if ack := ingest(t, s, b.ID, records(0, 10)); ack != (api.BatchAck{Stored: 10}) {
		t.Errorf("same IDs from another terminal: ack = %+v, want all stored", ack)
	}
	perTerminal := map[string]int{}
	for _, r := range exportAll(t, s, store.ExportFilter{}) {
		perTerminal[r.Terminal]++
	}
	if perTerminal["a"] != 10 || perTerminal["b"] != 10 {
		t.Errorf("records per terminal = %v", perTerminal)
	}
}

func testIngestBatchSizes(t *testing.T, s store.Store) {
	term := enrol(t, s, "t", 1)
	from := 0
	for _, n := range []int{1, 2, 63, 64, 65, 127, 129, 1000, api.MaxBatchRecords} {
		if ack := ingest(t, s, term.ID, records(from, n)); ack.Stored != n {
			t.Errorf("batch of %d: ack = %+v", n, ack)
		}
		from += n
	}
	if got := len(exportAll(t, s, store.ExportFilter{})); got != from {
		t.Errorf("exported %d, want %d", got, from)
	}
}

func testIngestUnknownOrRevoked(t *testing.T, s store.Store) {
	ctx := context.Background()
	if _, err := s.IngestBatch(ctx, "nope", records(0, 1), t0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown terminal: err = %v", err)
	}
	term := enrol(t, s, "t", 1)
	if err := s.RevokeTerminal(ctx, term.ID, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.IngestBatch(ctx, term.ID, records(0, 1), t0); !errors.Is(err, store.ErrRevoked) {
		t.Errorf("revoked terminal: err = %v", err)
	}
	if n := len(exportAll(t, s, store.ExportFilter{})); n != 0 {
		t.Errorf("%d records stored for refused terminals", n)
	}
}

func testIngestCanceled(t *testing.T, s store.Store) {
	term := enrol(t, s, "t", 1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.IngestBatch(ctx, term.ID, records(0, 500), t0); err == nil {
		t.Error("IngestBatch with a canceled context succeeded")
	}
	if n := len(exportAll(t, s, store.ExportFilter{})); n != 0 {
		t.Errorf("canceled ingest stored %d records", n)
	}
	if ack := ingest(t, s, term.ID, records(0, 500)); ack.Stored != 500 {
		t.Errorf("ingest after a canceled one: %+v", ack)
	}
}

func testExport(t *testing.T, s store.Store) {
	term := enrol(t, s, "fs-bibliothek", 1)
	in := records(0, 6)
	ingest(t, s, term.ID, in)
	got := exportAll(t, s, store.ExportFilter{Type: "sensor.mhz19"})
	if len(got) != 3 {
		t.Fatalf("filtered export: %d records, want 3", len(got))
	}
	byID := map[string]api.Record{}
	for _, r := range in {
		byID[r.ID] = r
	}
	for _, r := range got {
		want, ok := byID[r.ID]
		if !ok || r.Type != "sensor.mhz19" || r.Type != want.Type || r.Class != want.Class || r.Terminal != "fs-bibliothek" ||
			!r.CreatedAt.Equal(want.CreatedAt) || !r.ReceivedAt.Equal(t0.Add(time.Hour)) || string(r.Payload) != string(want.Payload) {
			t.Errorf("exported %+v (payload %s), stored %+v", r, r.Payload, want)
		}
	}
	if n := len(exportAll(t, s, store.ExportFilter{Type: "nothing"})); n != 0 {
		t.Errorf("export of an absent type: %d records", n)
	}
}

func testExportStops(t *testing.T, s store.Store) {
	term := enrol(t, s, "t", 1)
	ingest(t, s, term.ID, records(0, 10))
	stop := errors.New("stop")
	calls := 0
	err := s.ExportRecords(context.Background(), store.ExportFilter{}, func(*store.ExportedRecord) error {
		calls++
		return stop
	})
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("ExportRecords = %v after %d calls, want stop after 1", err, calls)
	}
}
