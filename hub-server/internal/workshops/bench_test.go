package workshops_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/store/teststores"
	"github.com/quartierhub/quartierhub/hub-server/internal/workshops"
	"github.com/quartierhub/quartierhub/internal/workshop"
)

// BenchmarkActIdeas: phones adding ideas to a workshop of 400 phones
// whose log already holds about 1,200 events, on SQLite; parallel
// callers share groups. ns/op is per idea.
func BenchmarkActIdeas(b *testing.B) {
	st := teststores.Open(b, teststores.SQLite)
	svc := workshops.New(st, workshops.Opts{})
	ctx := context.Background()
	w, err := svc.Create(ctx, spec(), "anna")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := svc.GoToPhase(ctx, w.ID, mod, 0); err != nil {
		b.Fatal(err)
	}
	voters := make([]string, 400)
	for i := range voters {
		if voters[i], _, err = svc.JoinPhone(ctx, w.JoinCode, fmt.Sprintf("bench-guest-key-%08d", i)); err != nil {
			b.Fatal(err)
		}
		for j := range 2 {
			if _, err := svc.Act(ctx, w.ID, voters[i], workshop.TypeIdea, workshop.Idea{Text: fmt.Sprintf("Idee %d.%d", i, j)}); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ResetTimer()
	start := time.Now()
	var mu sync.Mutex
	n := 0
	b.SetParallelism(50) // many phones at once
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			mu.Lock()
			v := voters[n%len(voters)]
			n++
			mu.Unlock()
			if _, err := svc.Act(ctx, w.ID, v, workshop.TypeIdea, workshop.Idea{Text: "noch eine"}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "ideas/s")
}
