package sqlitestore_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/sqlitestore"
)

// The hub and a CLI process (hub-server workshop phase) appending to one
// workshop in one file at once share one gapless sequence: each append
// reads and raises last_seq in a BEGIN IMMEDIATE transaction.
func TestWorkshopAppendTwoStoresOneFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hub.db")
	hub, cli := open(t, path), open(t, path)
	t0 := time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC)
	if err := hub.CreateWorkshop(ctx, store.Workshop{ID: "W1", Title: "W1", JoinCode: "CODE", Status: store.WorkshopOpen, Spec: []byte(`{}`),
		CreatedAt: t0, UpdatedAt: t0}, store.Audit{At: t0, Actor: "anna", Action: "workshop.create", Subject: "W1"}); err != nil {
		t.Fatal(err)
	}
	const each = 30
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for i, s := range []*sqlitestore.Store{hub, cli} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range each {
				// Both send the event of the other's round too.
				evs := []store.WorkshopEvent{{Body: fmt.Appendf(nil, `{"id":"E%d-%d","workshop":"W1","device":"hub"}`, i, k)},
					{Body: fmt.Appendf(nil, `{"id":"E%d-%d","workshop":"W1","device":"hub"}`, 1-i, k)}}
				if _, err := s.AppendWorkshopEvents(ctx, "W1", evs, store.Audit{}); err != nil {
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
	evs, err := cli.WorkshopEvents(ctx, "W1", 0, 0)
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
	if len(evs) != 2*each {
		t.Errorf("%d events, want %d", len(evs), 2*each)
	}
}
