package pgstore_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/quartierhub/quartierhub/hub-server/internal/store/pgstore"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/pgtest"
	"github.com/quartierhub/quartierhub/internal/testutil"
)

// Of three processes one leads; when its session dies another takes
// over; when the leader stops, another takes over too.
func TestLeadFailover(t *testing.T) {
	url := pgtest.NewDatabase(t)
	hs := []*pgstore.Store{open(t, url), open(t, url), open(t, url)}
	var active, maxActive, starts atomic.Int32
	leading := make([]atomic.Bool, len(hs))
	ctx, cancel := context.WithCancel(context.Background())
	cancels := make([]context.CancelFunc, len(hs))
	var wg sync.WaitGroup
	for i, s := range hs {
		pctx, pcancel := context.WithCancel(ctx)
		cancels[i] = pcancel
		wg.Go(func() {
			err := s.Lead(pctx, "test", func(ctx context.Context) error {
				n := active.Add(1)
				starts.Add(1)
				for m := maxActive.Load(); n > m && !maxActive.CompareAndSwap(m, n); m = maxActive.Load() {
				}
				<-ctx.Done()
				active.Add(-1)
				return nil
			}, pgstore.LeadOpts{Retry: 20 * time.Millisecond, Check: 20 * time.Millisecond, OnChange: func(l bool) { leading[i].Store(l) }})
			if err != nil {
				t.Error(err)
			}
		})
	}
	defer func() { cancel(); wg.Wait() }()
	leader := func() int {
		for i := range leading {
			if leading[i].Load() {
				return i
			}
		}
		return -1
	}
	testutil.Eventually(t, "a leader", func() bool { return leader() >= 0 && active.Load() == 1 })
	time.Sleep(200 * time.Millisecond) // ten retries of the others
	if maxActive.Load() != 1 {
		t.Fatalf("%d processes ran the singleton at once", maxActive.Load())
	}
	first := leader()

	// The leader's session is killed (a network cut, a DBA): another leads.
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND classid = 20808 AND objsubid = 2`); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, "a new leader", func() bool { l := leader(); return starts.Load() >= 2 && l >= 0 && active.Load() == 1 })
	second := leader()

	// The leader stops (shutdown): another takes over.
	cancels[second]()
	testutil.Eventually(t, "a third leader", func() bool { l := leader(); return starts.Load() >= 3 && l >= 0 && l != second && active.Load() == 1 })
	t.Logf("leaders: %d, %d, %d", first, second, leader())
}
