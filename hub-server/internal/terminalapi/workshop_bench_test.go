package terminalapi_test

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/sqlitestore"
	"github.com/quartierhub/quartierhub/hub-server/internal/terminalapi"
	"github.com/quartierhub/quartierhub/hub-server/internal/workshops"
	"github.com/quartierhub/quartierhub/internal/workshop"
)

// BenchmarkWorkshopFanout measures one event the hub stores (a
// moderator's, through the workshop service) until every terminal's
// live socket has it: the service's notification, the one read and
// encoding per workshop, a write per socket, the terminals' reads, all
// over loopback through the real handler on SQLite. A workshop lists
// at most 64 terminals (workshop.Spec), so that is the most sockets one
// workshop has here; phones and consoles (their own sockets) are the
// lead's end-to-end bench. Figures: ns/op and the p50/p99 of all
// iterations, in milliseconds, from the append's start (p50_ms, p99_ms:
// the store's commit and the service's fold included) and from its
// return (fanout_*: what the live path adds).
func BenchmarkWorkshopFanout(b *testing.B) {
	for _, n := range []int{4, 40, 64} {
		b.Run(strconv.Itoa(n)+"-terminals", func(b *testing.B) { benchFanout(b, n) })
	}
}

func benchFanout(b *testing.B, terminals int) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := sqlitestore.Open(ctx, filepath.Join(b.TempDir(), "hub.db"), sqlitestore.Opts{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	log := slog.New(slog.DiscardHandler)
	svc := workshops.New(st, workshops.Opts{Logger: log})
	h := terminalapi.New(st, terminalapi.Opts{Logger: log, Workshops: terminalapi.WorkshopOpts{Service: svc}})
	go svc.Run(ctx)
	go h.Run(ctx)
	srv := httptest.NewServer(h)
	defer srv.Close()

	now := time.Now()
	type terminal struct {
		id   string
		priv ed25519.PrivateKey
	}
	terms := make([]terminal, terminals)
	spec := workshop.Spec{Title: "Bench", Question: "?"}
	for i := range terms {
		name := fmt.Sprintf("t-%03d", i)
		tok := sha256.Sum256([]byte(name))
		if err := st.CreateEnrolToken(ctx, store.EnrolToken{Hash: tok, TerminalName: name, Quarter: "Q", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			b.Fatal(err)
		}
		seed := sha256.Sum256([]byte("key" + name))
		priv := ed25519.NewKeyFromSeed(seed[:])
		tm, err := st.Enroll(ctx, store.Enrolment{TokenHash: tok, TerminalID: fmt.Sprintf("T%03d", i), PublicKey: priv.Public().(ed25519.PublicKey), Now: now})
		if err != nil {
			b.Fatal(err)
		}
		terms[i] = terminal{tm.ID, priv}
		spec.Terminals = append(spec.Terminals, tm.ID)
	}
	lead := workshops.ModeratorActor("lead")
	ws, err := svc.Create(ctx, spec, "lead")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := svc.GoToPhase(ctx, ws.ID, lead, 0); err != nil {
		b.Fatal(err)
	}

	// Each terminal reads its socket and reports the cursors it got.
	got := make(chan uint64, terminals*4)
	for _, tm := range terms {
		path := api.WorkshopLivePath(ws.ID) + "?after=1"
		hdr := http.Header{"Authorization": {api.Sign(tm.priv, tm.id, "GET", path, time.Now(), nil)}}
		conn, _, err := websocket.Dial(ctx, srv.URL+path, &websocket.DialOptions{HTTPHeader: hdr})
		if err != nil {
			b.Fatal(err)
		}
		defer conn.CloseNow()
		conn.SetReadLimit(api.MaxLivePushBytes)
		go func() {
			for {
				_, msg, err := conn.Read(ctx)
				if err != nil {
					return
				}
				m, err := api.DecodeHubLive(msg)
				if err == nil && m.Type == api.LiveEvents {
					got <- m.Cursor
				}
			}
		}()
	}

	var took, fanout []time.Duration // from the append's start; from its return
	cursor := uint64(1)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		ev, err := svc.Act(ctx, ws.ID, lead, workshop.TypeJoin, workshop.Join{Open: i%2 == 0})
		if err != nil {
			b.Fatal(err)
		}
		cursor = max(cursor, ev.HubSeq)
		stored := time.Now()
		for have := 0; have < terminals; {
			select {
			case c := <-got:
				if c >= cursor {
					have++
				}
			case <-time.After(10 * time.Second):
				b.Fatalf("event %d reached %d of %d terminals", cursor, have, terminals)
			}
		}
		took = append(took, time.Since(start))
		fanout = append(fanout, time.Since(stored))
	}
	b.StopTimer()
	slices.Sort(took)
	slices.Sort(fanout)
	ms := func(d []time.Duration, q float64) float64 {
		return float64(d[int(q*float64(len(d)-1))]) / float64(time.Millisecond)
	}
	b.ReportMetric(ms(took, 0.5), "p50_ms")
	b.ReportMetric(ms(took, 0.99), "p99_ms")
	b.ReportMetric(ms(fanout, 0.5), "fanout_p50_ms")
	b.ReportMetric(ms(fanout, 0.99), "fanout_p99_ms")
}
