package hubsync_test

import (
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/internal/fakehub"
	"github.com/quartierhub/quartierhub/internal/testutil"
	"github.com/quartierhub/quartierhub/kiosk/hubsync"
	"github.com/quartierhub/quartierhub/kiosk/outbox"
)

// A resident's record stored while sensor readings drain goes out with
// the next batch, not after the rest of the backlog: once the batches in
// flight have landed, the round starts over from the top.
func TestNewRecordOutranksTheDrain(t *testing.T) {
	never := make(chan time.Time)
	r := newRig(t, hubsync.Opts{MaxBatchRecords: 10, InFlight: 1, After: func(time.Duration) <-chan time.Time { return never }})
	r.submit(t, outbox.ClassSensor, 30)
	select {
	case <-r.ob.Notify(): // the backlog's wake-up: the round is what starts it
	default:
	}

	// The hub holds the first batch until the resident's record is stored.
	release := make(chan struct{})
	r.hub.Inject(api.PathRecords, 1, fakehub.Fault{Hold: release})
	r.start(t)
	testutil.Eventually(t, "the first batch held at the hub", func() bool { return r.hub.Count(api.PathRecords) == 1 })
	resident := r.submit(t, outbox.ClassResident, 1)[0]
	close(release)
	testutil.Eventually(t, "a second batch", func() bool { return len(r.hub.Batches()) >= 2 })
	if second := r.hub.Batches()[1]; len(second) == 0 || second[0] != resident {
		t.Fatalf("the second batch is %d records starting %v; want it to start with the resident's record %s", len(second), second[:min(1, len(second))], resident)
	}
}
