package hubsync_test

import (
	"compress/gzip"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/internal/testutil"
	"github.com/quartierhub/quartierhub/kiosk/hubsync"
	"github.com/quartierhub/quartierhub/kiosk/outbox"
)

// A resident's record stored while sensor readings drain goes out with
// the next batch, not after the rest of the backlog: once the batches in
// flight have landed, the round starts over from the top.
func TestNewRecordOutranksTheDrain(t *testing.T) {
	ob, err := outbox.Open(filepath.Join(t.TempDir(), "outbox.db"), outbox.Opts{})
	if err != nil {
		t.Fatal(err)
	}
	defer ob.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	submit := func(class outbox.Class, i int) string {
		rec, err := ob.Submit(ctx, "t_"+class.String(), class, fmt.Appendf(nil, `{"i":%d}`, i))
		if err != nil {
			t.Fatal(err)
		}
		return rec.ID
	}
	for i := range 30 {
		submit(outbox.ClassSensor, i)
	}
	select {
	case <-ob.Notify(): // the backlog's wake-up: the round is what starts it
	default:
	}

	// The hub holds the first batch until the resident's record is stored.
	firstHeld := make(chan struct{})
	release := make(chan struct{})
	var mu sync.Mutex
	var batches [][]string
	hub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != api.PathRecords {
			http.NotFound(w, r)
			return
		}
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var b api.Batch
		if err := json.NewDecoder(zr).Decode(&b); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		var ids []string
		for _, rec := range b.Records {
			ids = append(ids, rec.ID)
		}
		batches = append(batches, ids)
		first := len(batches) == 1
		mu.Unlock()
		if first {
			close(firstHeld)
			<-release
		}
		_ = json.NewEncoder(w).Encode(api.BatchAck{Stored: len(b.Records)})
	}))
	defer hub.Close()
	_, key, _ := ed25519.GenerateKey(nil)
	creds := func() (string, string, ed25519.PrivateKey, error) { return hub.URL, "T1", key, nil }
	never := make(chan time.Time)
	s := hubsync.New(ob, creds, hubsync.Opts{MaxBatchRecords: 10, InFlight: 1, Interval: 2 * time.Hour,
		Rand: rand.New(rand.NewPCG(1, 2)), Logger: slog.New(slog.DiscardHandler),
		After: func(time.Duration) <-chan time.Time { return never }})
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() { cancel(); <-done }()

	<-firstHeld
	resident := submit(outbox.ClassResident, 0)
	close(release)
	testutil.Eventually(t, "a second batch", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(batches) >= 2
	})
	mu.Lock()
	defer mu.Unlock()
	if second := batches[1]; len(second) == 0 || second[0] != resident {
		t.Fatalf("the second batch is %d records starting %v; want it to start with the resident's record %s", len(second), second[:min(1, len(second))], resident)
	}
}
