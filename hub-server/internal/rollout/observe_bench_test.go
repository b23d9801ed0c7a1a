package rollout_test

import (
	"log/slog"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/rollout"
)

// BenchmarkObserve is a heartbeat's cost in a rollout of 2,000 terminals
// on SQLite: with the engine's copy fresh (the usual case) and when every
// heartbeat reads the rollout again (one in CacheFor).
func BenchmarkObserve(b *testing.B) {
	g := newRig(b, 2000)
	if _, err := g.e.Start(g.ctx, rollout.Plan{Version: version, Canary: g.terms[:20]}, "ops"); err != nil {
		b.Fatal(err)
	}
	st := &api.UpdaterStatus{State: api.UpdaterIdle, Version: "1.3.0"}
	for _, c := range []struct {
		name     string
		cacheFor time.Duration
	}{{"cached", time.Hour}, {"reload", time.Nanosecond}} {
		b.Run(c.name, func(b *testing.B) {
			e := rollout.New(g.st, rollout.Opts{Now: g.clock, CacheFor: c.cacheFor, Logger: slog.New(slog.DiscardHandler)})
			i := 0
			for b.Loop() {
				now := g.clock().Add(time.Duration(i) * time.Millisecond)
				if _, err := e.Observe(g.ctx, g.terms[i%len(g.terms)], "Pieschen", st, now); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
