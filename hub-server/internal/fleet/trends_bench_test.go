package fleet_test

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/fleet"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/sqlitestore"
)

// BenchmarkSamplerMeasure10k is one sample of a fleet of 10,000
// terminals, each with a stored heartbeat, 500 of them with an open
// alert: what the fleet singleton spends every 5 minutes.
func BenchmarkSamplerMeasure10k(b *testing.B) {
	const n = 10_000
	ctx := context.Background()
	st, err := sqlitestore.Open(ctx, filepath.Join(b.TempDir(), "hub.db"), sqlitestore.Opts{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	hb := healthy()
	state, err := json.Marshal(hb)
	if err != nil {
		b.Fatal(err)
	}
	var ws []store.HeartbeatWrite
	for i := range n {
		name := fmt.Sprintf("t-%05d", i)
		h := sha256.Sum256([]byte(name))
		if err := st.CreateEnrolToken(ctx, store.EnrolToken{Hash: h, TerminalName: name, Quarter: "Prohlis", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
			b.Fatal(err)
		}
		term, err := st.Enroll(ctx, store.Enrolment{TokenHash: h, TerminalID: "T-" + name, PublicKey: make(ed25519.PublicKey, 32), Now: t0})
		if err != nil {
			b.Fatal(err)
		}
		ws = append(ws, store.HeartbeatWrite{TerminalID: term.ID, At: t0, Digest: "d", State: state})
		if i%20 == 0 {
			if _, err := st.OpenAlert(ctx, store.Alert{ID: "A-" + name, TerminalID: term.ID, Kind: "paper_out", FirstSeen: t0, LastSeen: t0}); err != nil {
				b.Fatal(err)
			}
		}
	}
	for i := 0; i < len(ws); i += 500 {
		if _, err := st.SaveHeartbeats(ctx, ws[i:min(i+500, len(ws))], time.Hour); err != nil {
			b.Fatal(err)
		}
	}
	s := fleet.NewSampler(st, fleet.SamplerOpts{})
	b.ResetTimer()
	var tr store.FleetTrend
	for b.Loop() {
		if tr, err = s.Measure(ctx, t0.Add(time.Minute)); err != nil {
			b.Fatal(err)
		}
	}
	if tr.Terminals != n || tr.OpenAlerts != n/20 || tr.Unsent != n*backlogOf(hb) {
		b.Fatalf("sample %+v", tr)
	}
}

func backlogOf(hb *api.Heartbeat) int64 {
	var t int64
	for _, b := range hb.Outbox {
		t += b.Count
	}
	return t
}
