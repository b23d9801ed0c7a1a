package pgstore_test

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/pgstore"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/pgtest"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/teststores"
)

var t0 = time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC)

// hubs opens n stores (n connection pools: n hub processes) on one new
// database.
func hubs(t *testing.T, n int) []*pgstore.Store {
	url := teststores.PostgresURL(t)
	out := make([]*pgstore.Store, n)
	for i := range out {
		out[i] = open(t, url)
	}
	return out
}

// Processes starting together on an empty database migrate it once.
func TestMigrateTogether(t *testing.T) {
	url := pgtest.NewDatabase(t)
	out := make([]*pgstore.Store, 4)
	errs := make([]error, 4)
	var wg sync.WaitGroup
	for i := range out {
		wg.Go(func() { out[i], errs[i] = pgstore.Open(context.Background(), url, pgstore.Opts{}) })
	}
	wg.Wait()
	for i, s := range out {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		defer s.Close()
		if err := s.Ready(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

// race runs fn(i, store) for i in [0, n) concurrently, spreading the calls
// over the stores, and returns the errors.
func race(hs []*pgstore.Store, n int, fn func(i int, s *pgstore.Store) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn(i, hs[i%len(hs)])
		})
	}
	close(start)
	wg.Wait()
	return errs
}

func noErrors(t *testing.T, errs []error) {
	t.Helper()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
}

func pub() ed25519.PublicKey { return make(ed25519.PublicKey, ed25519.PublicKeySize) }

func enrolOne(t *testing.T, s store.Store, name string) store.Terminal {
	t.Helper()
	h := sha256.Sum256([]byte(name))
	if err := s.CreateEnrolToken(context.Background(), store.EnrolToken{Hash: h, TerminalName: name, Quarter: "q", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	term, err := s.Enroll(context.Background(), store.Enrolment{TokenHash: h, TerminalID: "T-" + name, PublicKey: pub(), Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	return term
}

// Many enrolments at once through three processes: every terminal gets a
// distinct number (records of one never show under another).
func TestConcurrentEnrolment(t *testing.T) {
	hs := hubs(t, 3)
	ctx := context.Background()
	const n = 30
	for i := range n {
		h := sha256.Sum256(fmt.Appendf(nil, "tok%d", i))
		if err := hs[0].CreateEnrolToken(ctx, store.EnrolToken{Hash: h, TerminalName: fmt.Sprint("t", i), Quarter: "q", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	noErrors(t, race(hs, n, func(i int, s *pgstore.Store) error {
		_, err := s.Enroll(ctx, store.Enrolment{TokenHash: sha256.Sum256(fmt.Appendf(nil, "tok%d", i)), TerminalID: fmt.Sprint("T", i), PublicKey: pub(), Now: t0})
		return err
	}))
	// One record each; the export must name each record's own terminal.
	noErrors(t, race(hs, n, func(i int, s *pgstore.Store) error {
		_, err := s.IngestBatch(ctx, fmt.Sprint("T", i), []api.Record{{ID: "01JX00000000000000000000" + fmt.Sprintf("%02d", i), Type: "x", Class: api.ClassEvent,
			CreatedAt: t0, Payload: json.RawMessage(fmt.Sprintf(`{"i":%d}`, i))}}, t0)
		return err
	}))
	seen := map[string]bool{}
	err := hs[1].ExportRecords(ctx, store.ExportFilter{}, func(r *store.ExportedRecord) error {
		var p struct{ I int }
		if err := json.Unmarshal(r.Payload, &p); err != nil {
			return err
		}
		if r.Terminal != fmt.Sprint("t", p.I) {
			t.Errorf("record of t%d exported under %s", p.I, r.Terminal)
		}
		seen[r.Terminal] = true
		return nil
	})
	if err != nil || len(seen) != n {
		t.Errorf("export: %v, %d terminals", err, len(seen))
	}
}

// One token presented to three processes at the same moment enrols once.
func TestTokenSingleUseAcrossProcesses(t *testing.T) {
	hs := hubs(t, 3)
	ctx := context.Background()
	h := sha256.Sum256([]byte("tok"))
	if err := hs[0].CreateEnrolToken(ctx, store.EnrolToken{Hash: h, TerminalName: "t", Quarter: "q", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	errs := race(hs, 12, func(i int, s *pgstore.Store) error {
		_, err := s.Enroll(ctx, store.Enrolment{TokenHash: h, TerminalID: fmt.Sprint("T", i), PublicKey: pub(), Now: t0})
		return err
	})
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, store.ErrTokenUsed):
			t.Errorf("enrol: %v, want ErrTokenUsed", err)
		}
	}
	if ok != 1 {
		t.Errorf("%d enrolments succeeded with one token", ok)
	}
	if ts, _ := hs[2].Terminals(ctx); len(ts) != 1 {
		t.Errorf("%d terminals", len(ts))
	}
}

func batch(from, n int, reverse bool) []api.Record {
	recs := make([]api.Record, n)
	for i := range recs {
		recs[i] = api.Record{ID: fmt.Sprintf("01JX%022d", from+i), Type: "sensor.x", Class: api.ClassSensor, CreatedAt: t0, Payload: json.RawMessage(`{}`)}
	}
	if reverse {
		slices.Reverse(recs)
	}
	return recs
}

// Overlapping batches of one terminal, some in reverse order, replayed
// through three processes at once: no deadlock, each record stored once,
// and the acks add up to exactly what is stored.
func TestIngestOverlappingAcrossProcesses(t *testing.T) {
	hs := hubs(t, 3)
	ctx := context.Background()
	term := enrolOne(t, hs[0], "t")
	var mu sync.Mutex
	stored := 0
	noErrors(t, race(hs, 24, func(i int, s *pgstore.Store) error {
		ack, err := s.IngestBatch(ctx, term.ID, batch(i%4*100, 300, i%2 == 1), t0)
		mu.Lock()
		stored += ack.Stored
		mu.Unlock()
		return err
	}))
	n := 0
	if err := hs[0].ExportRecords(ctx, store.ExportFilter{}, func(*store.ExportedRecord) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != 600 || stored != 600 {
		t.Errorf("stored %d records, acks say %d; want 600", n, stored)
	}
}

// Heartbeat groups naming the same terminals in opposite orders, from
// three processes at once, neither deadlock nor lose the latest state.
func TestHeartbeatsAcrossProcesses(t *testing.T) {
	hs := hubs(t, 3)
	ctx := context.Background()
	var ids []string
	for i := range 8 {
		ids = append(ids, enrolOne(t, hs[0], fmt.Sprint("t", i)).ID)
	}
	noErrors(t, race(hs, 30, func(i int, s *pgstore.Store) error {
		order := slices.Clone(ids)
		if i%2 == 1 {
			slices.Reverse(order)
		}
		var ws []store.HeartbeatWrite
		for _, id := range order {
			ws = append(ws, store.HeartbeatWrite{TerminalID: id, At: t0.Add(time.Duration(i) * time.Second), Digest: fmt.Sprint(i % 3), State: []byte(`{}`)})
		}
		_, err := s.SaveHeartbeats(ctx, ws, time.Minute)
		return err
	}))
	hl, err := hs[1].Healths(ctx)
	if err != nil || len(hl) != len(ids) {
		t.Fatalf("healths: %d, %v", len(hl), err)
	}
}

// Every process opens the same alert at once: one open alert, one opener.
func TestOpenAlertAcrossProcesses(t *testing.T) {
	hs := hubs(t, 3)
	ctx := context.Background()
	var mu sync.Mutex
	opened := 0
	noErrors(t, race(hs, 12, func(i int, s *pgstore.Store) error {
		o, err := s.OpenAlert(ctx, store.Alert{ID: fmt.Sprint("A", i), TerminalID: "T", Kind: "paper_out", FirstSeen: t0, LastSeen: t0})
		if o {
			mu.Lock()
			opened++
			mu.Unlock()
		}
		return err
	}))
	als, _ := hs[0].Alerts(ctx, store.AlertFilter{State: store.AlertOpen})
	if opened != 1 || len(als) != 1 {
		t.Errorf("opened %d times, %d open alerts; want 1, 1", opened, len(als))
	}
}

// Config layers, tags and commands written from three processes at once
// get distinct versions and audit entries.
func TestNumberingAcrossProcesses(t *testing.T) {
	hs := hubs(t, 3)
	ctx := context.Background()
	term := enrolOne(t, hs[0], "t")
	a := store.Audit{At: t0, Actor: "x", Action: "y"}
	errs := race(hs, 30, func(i int, s *pgstore.Store) error {
		switch i % 3 {
		case 0:
			_, err := s.PutConfigLayer(ctx, "global", []byte(`{}`), a)
			return err
		case 1:
			return s.SetTerminalTags(ctx, term.ID, []string{fmt.Sprint("x", i)}, a)
		default:
			return s.CreateCommands(ctx, []store.Command{{ID: fmt.Sprint("C", i), TerminalID: term.ID, Kind: api.CommandSyncNow, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}}, a)
		}
	})
	noErrors(t, errs)
	layers, _ := hs[0].ConfigLayers(ctx)
	if len(layers) != 1 || layers[0].Version != 10 {
		t.Errorf("config layers %+v, want global version 10", layers)
	}
	log, _ := hs[0].AuditLog(ctx, 0)
	if len(log) != 30 {
		t.Errorf("%d audit entries, want 30", len(log))
	}
}

// A command acknowledged and finished by racing requests through several
// processes ends in one consistent state.
func TestCommandAckFinishAcrossProcesses(t *testing.T) {
	hs := hubs(t, 3)
	ctx := context.Background()
	term := enrolOne(t, hs[0], "t")
	if err := hs[0].CreateCommands(ctx, []store.Command{{ID: "C", TerminalID: term.ID, Kind: api.CommandSyncNow, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}},
		store.Audit{At: t0}); err != nil {
		t.Fatal(err)
	}
	errs := race(hs, 12, func(i int, s *pgstore.Store) error {
		if i%2 == 0 {
			_, err := s.AckCommand(ctx, term.ID, "C", t0.Add(time.Minute))
			return err
		}
		_, err := s.FinishCommand(ctx, term.ID, "C", true, "ok", t0.Add(2*time.Minute))
		return err
	})
	for _, err := range errs {
		if err != nil && !errors.Is(err, store.ErrCommandClosed) {
			t.Errorf("ack/finish: %v", err)
		}
	}
	cs, _ := hs[1].Commands(ctx, store.CommandFilter{})
	if len(cs) != 1 || cs[0].State != api.CommandDone || cs[0].DeliveredAt.IsZero() {
		t.Errorf("command after the race: %+v", cs)
	}
}
