package hub_test

import (
	"context"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/hub"
	"github.com/quartierhub/quartierhub/internal/testutil"
)

// The fleet trend sampler runs among the singletons: a running hub has
// a sample of the current period from its start.
func TestHubSamplesFleetHealth(t *testing.T) {
	h := start(t, hub.Config{})
	now := time.Now()
	testutil.Eventually(t, "a fleet health sample", func() bool {
		s, err := h.Store.FleetTrendsBetween(context.Background(), now.Add(-10*time.Minute), now.Add(10*time.Minute))
		return err == nil && len(s) == 1 && s[0].Terminals == 0 && s[0].SampledAt.Equal(s[0].SampledAt.Truncate(5*time.Minute))
	})
}
