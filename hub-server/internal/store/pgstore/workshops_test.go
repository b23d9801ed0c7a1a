package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/pgstore"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/teststores"
)

func wsBody(id, workshop, device string, seq uint64) []byte {
	return fmt.Appendf(nil, `{"id":%q,"workshop":%q,"device":%q,"seq":%d,"type":"idea"}`, id, workshop, device, seq)
}

// Every transaction that appends to a workshop's log — a hub's own
// append or a terminal's upload, in any process — tells every listener
// the workshop's ID at commit; a refused append tells nobody.
func TestWorkshopAppendNotifies(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	url := teststores.PostgresURL(t)
	a, b := open(t, url), open(t, url)
	listener, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer listener.Close(context.Background())
	if _, err := listener.Exec(ctx, "LISTEN "+pgstore.NotifyChannel); err != nil {
		t.Fatal(err)
	}
	next := func() string {
		t.Helper()
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		n, err := listener.WaitForNotification(wctx)
		if err != nil {
			t.Fatalf("no notification: %v", err)
		}
		return n.Payload
	}
	for _, w := range []string{"W1", "W2"} {
		if err := a.CreateWorkshop(ctx, store.Workshop{ID: w, Title: w, JoinCode: "CODE" + w, Status: store.WorkshopOpen, Spec: []byte(`{}`),
			CreatedAt: t0, UpdatedAt: t0}, store.Audit{At: t0, Actor: "anna", Action: "workshop.create", Subject: w}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.AppendWorkshopEvents(ctx, "W1", []store.WorkshopEvent{{Body: wsBody("E1", "W1", "hub", 0)}}, store.Audit{}); err != nil {
		t.Fatal(err)
	}
	if got := next(); got != "W1" {
		t.Errorf("after the append: %q, want W1", got)
	}
	// Refused inside the transaction (E1's ID is W1's), after W2's good
	// event was written: rolled back, nothing told.
	if _, err := a.AppendWorkshopEvents(ctx, "W2", []store.WorkshopEvent{{Body: wsBody("E2", "W2", "hub", 0)},
		{Body: wsBody("E1", "W2", "hub", 0)}}, store.Audit{}); !errors.Is(err, store.ErrWorkshopEvent) {
		t.Fatalf("append of W1's event ID to W2: %v", err)
	}
	// Another process's terminal upload.
	term := enrolPG(t, b, "a")
	recs := []api.Record{{ID: "01JX0000000000000000000001", Type: api.RecordWorkshopEvent, Class: api.ClassResident, CreatedAt: t0,
		Payload: wsBody("E3", "W1", "t:"+term.ID, 1)}}
	if _, err := b.IngestBatch(ctx, term.ID, recs, t0); err != nil {
		t.Fatal(err)
	}
	if got := next(); got != "W1" {
		t.Errorf("after the upload: %q, want W1 (and nothing for the refused append to W2)", got)
	}
	// The same upload again stores nothing and tells nobody: the next
	// notification is the append after it.
	if _, err := b.IngestBatch(ctx, term.ID, recs, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := a.AppendWorkshopEvents(ctx, "W2", []store.WorkshopEvent{{Body: wsBody("E4", "W2", "hub", 0)}}, store.Audit{}); err != nil {
		t.Fatal(err)
	}
	if got := next(); got != "W2" {
		t.Errorf("after the repeated upload and an append: %q, want W2", got)
	}
}

func enrolPG(t *testing.T, s *pgstore.Store, name string) store.Terminal {
	t.Helper()
	ctx := context.Background()
	h := [32]byte{1, 2, byte(len(name))}
	if err := s.CreateEnrolToken(ctx, store.EnrolToken{Hash: h, TerminalName: name, Quarter: "q", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	term, err := s.Enroll(ctx, store.Enrolment{TokenHash: h, TerminalID: "T-" + name, PublicKey: make([]byte, 32), SoftwareVersion: "1.0.0", Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	return term
}

// Hub processes appending to one workshop at once share one gapless
// sequence.
func TestWorkshopAppendAcrossProcesses(t *testing.T) {
	ctx := context.Background()
	hs := hubs(t, 3)
	if err := hs[0].CreateWorkshop(ctx, store.Workshop{ID: "W1", Title: "W1", JoinCode: "CODE", Status: store.WorkshopOpen, Spec: []byte(`{}`),
		CreatedAt: t0, UpdatedAt: t0}, store.Audit{At: t0, Actor: "anna", Action: "workshop.create", Subject: "W1"}); err != nil {
		t.Fatal(err)
	}
	const each = 20
	var wg sync.WaitGroup
	errs := make(chan error, len(hs))
	for i, h := range hs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range each {
				// Every process also sends the next process's event: the
				// same event arriving at two processes.
				evs := []store.WorkshopEvent{{Body: wsBody(fmt.Sprintf("E%d-%d", i, k), "W1", "hub", 0)},
					{Body: wsBody(fmt.Sprintf("E%d-%d", (i+1)%len(hs), k), "W1", "hub", 0)}}
				if _, err := h.AppendWorkshopEvents(ctx, "W1", evs, store.Audit{}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	evs, err := hs[1].WorkshopEvents(ctx, "W1", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for i, e := range evs {
		if e.HubSeq != uint64(i+1) || seen[e.ID] || e.Seq != e.HubSeq {
			t.Fatalf("event %d: %+v (seen before: %v)", i, e, seen[e.ID])
		}
		seen[e.ID] = true
	}
	if len(evs) != len(hs)*each {
		t.Errorf("%d events, want %d", len(evs), len(hs)*each)
	}
}
