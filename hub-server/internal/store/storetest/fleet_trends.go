package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// Registered here so this file stands alone (package variables are set
// before init runs).
func init() {
	fleetTests = append(fleetTests, struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{"FleetTrends", testFleetTrends})
}

// Samples come back in time order within [from, to), every field as
// stored; a repeated sample time keeps the first; pruning removes only
// the older ones.
func testFleetTrends(t *testing.T, s store.Store) {
	ctx := context.Background()
	sample := func(i int) store.FleetTrend {
		return store.FleetTrend{SampledAt: t0.Add(time.Duration(i) * 5 * time.Minute), Terminals: 10 + i, Online: 5 + i,
			Offline: 3, Never: 1, Revoked: 1 + i%2, Unsent: 1_000_000_000_000 + int64(i), OpenAlerts: 7 * i, UnackedAlerts: 3 * i}
	}
	// Stored out of order: the order is the store's.
	for _, i := range []int{3, 0, 2, 1, 4} {
		if err := s.AddFleetTrend(ctx, sample(i)); err != nil {
			t.Fatalf("AddFleetTrend(%d): %v", i, err)
		}
	}
	again := sample(2)
	again.Online = 99
	if err := s.AddFleetTrend(ctx, again); err != nil {
		t.Fatalf("AddFleetTrend of a repeated time: %v", err)
	}
	got, err := s.FleetTrendsBetween(ctx, sample(1).SampledAt, sample(4).SampledAt)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("FleetTrendsBetween(1, 4) = %d samples, want 3: %+v", len(got), got)
	}
	for k, g := range got {
		want := sample(k + 1)
		if !g.SampledAt.Equal(want.SampledAt) || g.SampledAt.Location() != time.UTC {
			t.Errorf("sample %d at %v, want %v UTC", k, g.SampledAt, want.SampledAt)
		}
		g.SampledAt = want.SampledAt
		if g != want {
			t.Errorf("sample %d = %+v, want %+v", k, g, want)
		}
	}
	n, err := s.PruneFleetTrends(ctx, sample(2).SampledAt)
	if err != nil || n != 2 {
		t.Fatalf("PruneFleetTrends = %d, %v; want 2 removed", n, err)
	}
	left, err := s.FleetTrendsBetween(ctx, time.Time{}, sample(10).SampledAt)
	if err != nil || len(left) != 3 || !left[0].SampledAt.Equal(sample(2).SampledAt) {
		t.Fatalf("after pruning: %+v, %v; want samples 2-4", left, err)
	}
}
