package terminalapi_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/fleet"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/sqlitestore"
	"github.com/quartierhub/quartierhub/hub-server/internal/terminalapi"
)

// BenchmarkHeartbeat measures heartbeats through the real handler
// (signature check, decode, digest, config version, open commands) into
// SQLite through the group-committing batcher, from many terminals in
// parallel. Requests are signed beforehand: the figure is the hub's cost.
func BenchmarkHeartbeat(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := sqlitestore.Open(ctx, filepath.Join(b.TempDir(), "hub.db"), sqlitestore.Opts{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	log := slog.New(slog.DiscardHandler)
	batcher := fleet.NewBatcher(st, fleet.BatcherOpts{Logger: log})
	go batcher.Run(ctx)
	eval := fleet.NewEvaluator(st, fleet.EvaluatorOpts{Logger: log})
	h := terminalapi.New(st, terminalapi.Opts{Logger: log, Fleet: terminalapi.FleetOpts{Heartbeats: batcher,
		OnHeartbeat: func(t store.Terminal, hb *api.Heartbeat, at time.Time) { _ = eval.Heartbeat(ctx, t, hb, at) }}})
	if _, err := st.PutConfigLayer(ctx, "global", []byte(`{"settings":{"heartbeat_interval":"30s"}}`), store.Audit{At: time.Now(), Actor: "bench"}); err != nil {
		b.Fatal(err)
	}
	const terminals = 2000
	type signed struct {
		auth string
		body []byte
	}
	reqs := make([]signed, terminals)
	now := time.Now()
	for i := range reqs {
		name := fmt.Sprintf("t-%05d", i)
		tok := sha256.Sum256([]byte(name))
		if err := st.CreateEnrolToken(ctx, store.EnrolToken{Hash: tok, TerminalName: name, Quarter: "Q", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			b.Fatal(err)
		}
		seed := sha256.Sum256([]byte("key" + name))
		priv := ed25519.NewKeyFromSeed(seed[:])
		tm, err := st.Enroll(ctx, store.Enrolment{TokenHash: tok, TerminalID: "T" + name, PublicKey: priv.Public().(ed25519.PublicKey), Now: now})
		if err != nil {
			b.Fatal(err)
		}
		body, _ := json.Marshal(heartbeatBody("ok"))
		reqs[i] = signed{api.Sign(priv, tm.ID, "POST", api.PathHeartbeat, now, body), body}
	}
	var next atomic.Int64
	b.SetParallelism(8) // many terminals at once, as on a busy hub
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			s := reqs[next.Add(1)%terminals]
			req := httptest.NewRequest("POST", api.PathHeartbeat, bytes.NewReader(s.body))
			req.Header.Set("Authorization", s.auth)
			req.Header.Set("Content-Type", "application/json")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				b.Fatalf("status %d: %s", w.Code, w.Body)
			}
		}
	})
	elapsed := time.Since(start)
	b.StopTimer()
	rate := float64(b.N) / elapsed.Seconds()
	b.ReportMetric(rate, "heartbeats/s")
	if b.N > 1000 {
		fmt.Printf("hub_heartbeats_per_second %.0f heartbeats/s\n", rate)
	}
}
