package hubsync_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/internal/fakehub"
	"github.com/quartierhub/quartierhub/internal/testutil"
	"github.com/quartierhub/quartierhub/kiosk/hubsync"
	"github.com/quartierhub/quartierhub/kiosk/outbox"
)

type rig struct {
	ob     *outbox.Outbox
	hub    *fakehub.Hub
	syncer *hubsync.Syncer
	waits  chan time.Duration
	cancel context.CancelFunc
	done   chan error
}

// newRig wires an outbox, a fake hub and a Syncer whose waits are recorded
// and pass instantly, so hours of backoff take no time.
func newRig(t *testing.T, opts hubsync.Opts) *rig {
	t.Helper()
	r := &rig{hub: fakehub.Start(t, fakehub.Opts{}), waits: make(chan time.Duration, 1000)}
	priv := r.hub.NewTerminal("T1")
	t.Cleanup(func() { onlyGzippedBatchesAndPings(t, r.hub) })
	var err error
	r.ob, err = outbox.Open(filepath.Join(t.TempDir(), "outbox.db"), outbox.Opts{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.ob.Close() })
	url := r.hub.URL()
	creds := func() (string, string, ed25519.PrivateKey, error) { return url, "T1", priv, nil }
	if opts.Rand == nil {
		opts.Rand = rand.New(rand.NewPCG(1, 2))
	}
	if opts.After == nil {
		opts.After = func(d time.Duration) <-chan time.Time {
			select {
			case r.waits <- d:
			default:
			}
			c := make(chan time.Time, 1)
			if d < time.Hour { // the idle interval of tests is an hour: block
				c <- time.Now()
			}
			return c
		}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Interval == 0 {
		opts.Interval = 2 * time.Hour
	}
	r.syncer = hubsync.New(r.ob, creds, opts)
	return r
}

// onlyGzippedBatchesAndPings checks that the Syncer asked the hub for
// nothing else and compressed every batch.
func onlyGzippedBatchesAndPings(t *testing.T, hub *fakehub.Hub) {
	for _, req := range hub.Requests() {
		switch {
		case req.Method == http.MethodGet && req.Path == api.PathPing:
		case req.Method == http.MethodPost && req.Path == api.PathRecords:
			if req.ContentEncoding != "gzip" {
				t.Errorf("batch not gzipped")
			}
		default:
			t.Errorf("unexpected request %s %s", req.Method, req.Path)
		}
	}
}

// snapshot is what the hub holds: record IDs in order of first arrival,
// duplicates acknowledged, batches posted.
func (r *rig) snapshot() (order []string, dups, requests int) {
	for _, rec := range r.hub.Records() {
		order = append(order, rec.ID)
	}
	return order, r.hub.Duplicates(), r.hub.Count(api.PathRecords)
}

func (r *rig) start(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel, r.done = cancel, make(chan error, 1)
	go func() { r.done <- r.syncer.Run(ctx) }()
	t.Cleanup(r.stop)
}

func (r *rig) stop() {
	if r.cancel != nil {
		r.cancel()
		<-r.done
		r.cancel = nil
	}
}

func (r *rig) submit(t *testing.T, class outbox.Class, n int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		rec, err := r.ob.Submit(context.Background(), "t_"+class.String(), class, fmt.Appendf(nil, `{"i":%d}`, i))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, rec.ID)
	}
	return ids
}

func (r *rig) waitEmpty(t *testing.T) {
	t.Helper()
	testutil.Eventually(t, "the outbox drained", func() bool {
		st, err := r.ob.Stats()
		if err != nil {
			t.Fatal(err)
		}
		return st.Resident.Count+st.Event.Count+st.Sensor.Count == 0
	})
}

func TestDrainsInPriorityOrderInBoundedBatches(t *testing.T) {
	r := newRig(t, hubsync.Opts{MaxBatchRecords: 7, InFlight: 1}) // strict arrival order
	sensor := r.submit(t, outbox.ClassSensor, 20)
	event := r.submit(t, outbox.ClassEvent, 5)
	resident := r.submit(t, outbox.ClassResident, 9)
	r.start(t)
	r.waitEmpty(t)
	order, dups, requests := r.snapshot()
	want := append(append(resident, event...), sensor...)
	if strings.Join(order, ",") != strings.Join(want, ",") {
		t.Fatalf("hub got records out of priority order")
	}
	if dups != 0 {
		t.Fatalf("%d duplicates without any fault", dups)
	}
	if requests != 5 { // ceil(34/7)
		t.Fatalf("%d requests, want 5 batches of at most 7", requests)
	}
	if st := r.syncer.Status(); st.SentRecords != 34 || st.LastSuccess.IsZero() {
		t.Fatalf("status: %+v", st)
	}
}

// syncerRound runs one round through SyncNow with the loop running.
func (r *rig) syncerRound(t *testing.T) hubsync.RoundResult {
	t.Helper()
	if r.cancel == nil {
		r.start(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return r.syncer.SyncNow(ctx)
}

func TestRetryAfterIsHonoured(t *testing.T) {
	r := newRig(t, hubsync.Opts{QuickRetries: -1})
	r.hub.Inject(api.PathRecords, 2, fakehub.Fault{Status: http.StatusServiceUnavailable, RetryAfter: 42 * time.Second})
	ids := r.submit(t, outbox.ClassResident, 3)
	r.start(t)
	var got []time.Duration
	for len(got) < 2 {
		select {
		case d := <-r.waits:
			if d < time.Hour {
				got = append(got, d)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("waits so far %v", got)
		}
	}
	for _, d := range got {
		if d != 42*time.Second {
			t.Fatalf("waited %v after Retry-After: 42", got)
		}
	}
	r.waitEmpty(t)
	order, _, _ := r.snapshot()
	if len(order) != len(ids) {
		t.Fatalf("hub has %d records, want %d", len(order), len(ids))
	}
}

func TestBackoffGrowsWithJitterAndStaysBounded(t *testing.T) {
	r := newRig(t, hubsync.Opts{QuickRetries: -1, MinBackoff: time.Second, MaxBackoff: time.Minute})
	r.hub.Inject(api.PathRecords, fakehub.Always, fakehub.Fault{Status: http.StatusInternalServerError})
	r.submit(t, outbox.ClassSensor, 10)
	r.start(t)
	var waits []time.Duration
	for len(waits) < 12 {
		d := <-r.waits
		if d < time.Hour {
			waits = append(waits, d)
		}
	}
	for i, d := range waits {
		base := min(time.Second<<i, time.Minute)
		if d < base/2 || d > base {
			t.Fatalf("wait %d = %v, want within [%v, %v]", i, d, base/2, base)
		}
	}
	if st := r.syncer.Status(); st.Failures < 12 || st.LastError == "" || !st.Reachable {
		t.Fatalf("status after failures: %+v", st)
	}
	st, _ := r.ob.Stats()
	if st.Sensor.Count != 10 {
		t.Fatalf("records lost while the hub failed: %d left", st.Sensor.Count)
	}
	r.hub.ClearFaults()
	r.waitEmpty(t)
}

// A batch that the hub stored but whose answer was lost is sent again and
// acknowledged as duplicates: each record is at the hub exactly once.
func TestConnectionCutAfterStoreIsNotCountedTwice(t *testing.T) {
	r := newRig(t, hubsync.Opts{MaxBatchRecords: 10, QuickRetries: -1})
	r.hub.Inject(api.PathRecords, 2, fakehub.Fault{CutBody: true}) // stored, but the terminal never hears of it
	ids := r.submit(t, outbox.ClassResident, 25)
	r.start(t)
	r.waitEmpty(t)
	order, dups, _ := r.snapshot()
	if len(order) != len(ids) {
		t.Fatalf("hub stored %d records, want %d", len(order), len(ids))
	}
	seen := map[string]bool{}
	for _, id := range order {
		if seen[id] {
			t.Fatalf("record %s stored twice", id)
		}
		seen[id] = true
	}
	if dups == 0 {
		t.Fatal("no batch was re-sent after the cut; the test did not cut")
	}
	if st := r.syncer.Status(); st.Duplicates == 0 {
		t.Fatal("duplicates not reported in status")
	}
}

func TestHubUnreachableKeepsRecordsThenDelivers(t *testing.T) {
	r := newRig(t, hubsync.Opts{QuickRetries: -1})
	r.hub.Stop() // the hub is away
	ids := r.submit(t, outbox.ClassResident, 5)
	res := r.syncerRound(t)
	if res.Err == nil {
		t.Fatal("round succeeded without a hub")
	}
	if st := r.syncer.Status(); st.Reachable || st.LastError == "" {
		t.Fatalf("status while away: %+v", st)
	}
	if st, _ := r.ob.Stats(); st.Resident.Count != 5 {
		t.Fatalf("outbox has %d records, want 5", st.Resident.Count)
	}
	r.hub.Restart() // at the same address
	r.waitEmpty(t)
	if order, _, _ := r.snapshot(); len(order) != len(ids) {
		t.Fatalf("hub has %d records after its return, want %d", len(order), len(ids))
	}
	if st := r.syncer.Status(); !st.Reachable || st.LastSuccess.IsZero() {
		t.Fatalf("status after return: %+v", st)
	}
}

func TestRevokedTerminalKeepsRecords(t *testing.T) {
	r := newRig(t, hubsync.Opts{QuickRetries: -1})
	r.hub.Revoke("T1")
	r.submit(t, outbox.ClassResident, 2)
	res := r.syncerRound(t)
	if res.Err == nil {
		t.Fatal("round succeeded for an unknown terminal")
	}
	st := r.syncer.Status()
	if !st.Unauthorized {
		t.Fatalf("status: %+v", st)
	}
	if ost, _ := r.ob.Stats(); ost.Resident.Count != 2 {
		t.Fatal("records lost after 401")
	}
}

func TestNotEnrolled(t *testing.T) {
	ob, err := outbox.Open(filepath.Join(t.TempDir(), "o.db"), outbox.Opts{})
	if err != nil {
		t.Fatal(err)
	}
	defer ob.Close()
	s := hubsync.New(ob, func() (string, string, ed25519.PrivateKey, error) {
		return "", "", nil, errors.New("no identity")
	}, hubsync.Opts{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	res := s.SyncNow(context.Background())
	if !errors.Is(res.Err, hubsync.ErrNotEnrolled) {
		t.Fatalf("err = %v, want ErrNotEnrolled", res.Err)
	}
	if s.Status().Enrolled {
		t.Fatal("status says enrolled")
	}
	cancel()
	<-done
}

// A record the hub refuses for good is set aside; the rest still arrive.
func TestPermanentlyRefusedRecordIsSetAside(t *testing.T) {
	r := newRig(t, hubsync.Opts{MaxBatchRecords: 8, QuickRetries: -1})
	ids := r.submit(t, outbox.ClassResident, 20)
	poison := ids[11]
	r.hub.RefuseRecord(poison, "payload too strange")
	r.start(t)
	r.waitEmpty(t)
	order, _, _ := r.snapshot()
	if len(order) != 19 {
		t.Fatalf("hub has %d records, want 19", len(order))
	}
	rej, total, err := r.ob.Rejected(context.Background(), 10)
	if err != nil || total != 1 || rej[0].ID != poison || !strings.Contains(rej[0].Reason, "too strange") {
		t.Fatalf("rejected: %v %d %+v", err, total, rej)
	}
	if st := r.syncer.Status(); st.SetAside != 1 {
		t.Fatalf("status set aside = %d", st.SetAside)
	}
}

// An idle terminal checks that its hub is there instead of assuming it.
func TestIdleRoundPingsTheHub(t *testing.T) {
	r := newRig(t, hubsync.Opts{QuickRetries: -1})
	res := r.syncerRound(t)
	if res.Err != nil {
		t.Fatalf("idle round with the hub up: %v", res.Err)
	}
	if r.hub.Count(api.PathPing) == 0 {
		t.Fatal("idle round did not ping the hub")
	}
	if st := r.syncer.Status(); !st.Reachable || st.LastSuccess.IsZero() {
		t.Fatalf("status after a ping: %+v", st)
	}
}

func TestIdleRoundWithHubAwayIsNotReachable(t *testing.T) {
	r := newRig(t, hubsync.Opts{QuickRetries: -1})
	r.hub.Stop()
	res := r.syncerRound(t)
	if res.Err == nil {
		t.Fatal("idle round succeeded without a hub")
	}
	if st := r.syncer.Status(); st.Reachable || !st.LastSuccess.IsZero() {
		t.Fatalf("status with the hub away: %+v", st)
	}
}
