package hubsync_test

import (
	"compress/gzip"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/internal/testutil"
	"github.com/quartierhub/quartierhub/kiosk/hubsync"
	"github.com/quartierhub/quartierhub/kiosk/outbox"
)

// fakeHub is a terminal API that can misbehave on purpose. Its zero value
// accepts correctly signed batches from any key in keys and stores them
// idempotently.
type fakeHub struct {
	t    *testing.T
	keys map[string]ed25519.PublicKey

	mu       sync.Mutex
	stored   map[string]api.Record
	order    []string // record ids in arrival order (first time only)
	requests int
	dups     int
	pings    int
	// misbehave, if set, may answer instead of the hub; it returns true
	// when it did. It runs before the batch is stored.
	misbehave func(n int, w http.ResponseWriter, r *http.Request) bool
	// cutAfterStore drops the connection after storing, for the first n requests.
	cutAfterStore int
}

func (h *fakeHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && r.URL.Path == api.PathPing {
		auth, err := api.ParseAuth(r.Header.Get("Authorization"))
		if err != nil || !api.VerifySignature(h.keys[auth.TerminalID], auth, r.Method, r.URL.RequestURI(), nil) {
			writeErr(w, http.StatusUnauthorized, api.CodeBadSignature, "bad signature")
			return
		}
		h.mu.Lock()
		h.pings++
		h.mu.Unlock()
		_ = json.NewEncoder(w).Encode(api.PingResponse{TerminalID: auth.TerminalID, HubTime: time.Now()})
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != api.PathRecords {
		h.t.Errorf("unexpected request %s %s", r.Method, r.URL.Path)
		http.Error(w, "unexpected", http.StatusNotFound)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	r.Body = io.NopCloser(strings.NewReader(string(body)))
	auth, err := api.ParseAuth(r.Header.Get("Authorization"))
	if err != nil || !api.VerifySignature(h.keys[auth.TerminalID], auth, r.Method, r.URL.RequestURI(), body) {
		writeErr(w, http.StatusUnauthorized, api.CodeBadSignature, "bad signature")
		return
	}
	h.mu.Lock()
	h.requests++
	n := h.requests
	mis := h.misbehave
	h.mu.Unlock()
	if mis != nil && mis(n, w, r) {
		return
	}
	if r.Header.Get("Content-Encoding") != "gzip" {
		h.t.Errorf("batch not gzipped")
	}
	zr, err := gzip.NewReader(strings.NewReader(string(body)))
	if err != nil {
		writeErr(w, http.StatusBadRequest, api.CodeBadRequest, err.Error())
		return
	}
	var b api.Batch
	if err := json.NewDecoder(zr).Decode(&b); err != nil {
		writeErr(w, http.StatusBadRequest, api.CodeBadRequest, err.Error())
		return
	}
	var ack api.BatchAck
	h.mu.Lock()
	if h.stored == nil {
		h.stored = map[string]api.Record{}
	}
	for _, rec := range b.Records {
		if _, ok := h.stored[rec.ID]; ok {
			ack.Duplicates++
			h.dups++
			continue
		}
		h.stored[rec.ID] = rec
		h.order = append(h.order, rec.ID)
		ack.Stored++
	}
	cut := h.cutAfterStore > 0
	if cut {
		h.cutAfterStore--
	}
	h.mu.Unlock()
	if cut {
		// Stored, but the terminal never hears of it.
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(ack)
}

func writeErr(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(api.Error{Error: msg, Code: code})
}

func (h *fakeHub) snapshot() (order []string, dups, requests int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.order...), h.dups, h.requests
}

type rig struct {
	ob     *outbox.Outbox
	hub    *fakeHub
	srv    *httptest.Server
	syncer *hubsync.Syncer
	waits  chan time.Duration
	cancel context.CancelFunc
	done   chan error
}

// newRig wires an outbox, a fake hub and a Syncer whose waits are recorded
// and pass instantly, so hours of backoff take no time.
func newRig(t *testing.T, opts hubsync.Opts) *rig {
	t.Helper()
	pub, priv, _ := ed25519.GenerateKey(nil)
	r := &rig{hub: &fakeHub{t: t, keys: map[string]ed25519.PublicKey{"T1": pub}}, waits: make(chan time.Duration, 1000)}
	r.srv = httptest.NewServer(r.hub)
	t.Cleanup(r.srv.Close)
	var err error
	r.ob, err = outbox.Open(filepath.Join(t.TempDir(), "outbox.db"), outbox.Opts{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.ob.Close() })
	url := r.srv.URL
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
	order, dups, requests := r.hub.snapshot()
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
	r.hub.misbehave = func(n int, w http.ResponseWriter, _ *http.Request) bool {
		if n <= 2 {
			w.Header().Set("Retry-After", "42")
			writeErr(w, http.StatusServiceUnavailable, api.CodeOverloaded, "busy")
			return true
		}
		return false
	}
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
	order, _, _ := r.hub.snapshot()
	if len(order) != len(ids) {
		t.Fatalf("hub has %d records, want %d", len(order), len(ids))
	}
}

func TestBackoffGrowsWithJitterAndStaysBounded(t *testing.T) {
	r := newRig(t, hubsync.Opts{QuickRetries: -1, MinBackoff: time.Second, MaxBackoff: time.Minute})
	var failing sync.Mutex
	down := true
	r.hub.misbehave = func(n int, w http.ResponseWriter, _ *http.Request) bool {
		failing.Lock()
		defer failing.Unlock()
		if down {
			writeErr(w, http.StatusInternalServerError, api.CodeInternal, "broken")
		}
		return down
	}
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
	failing.Lock()
	down = false
	failing.Unlock()
	r.waitEmpty(t)
}

// A batch that the hub stored but whose answer was lost is sent again and
// acknowledged as duplicates: each record is at the hub exactly once.
func TestConnectionCutAfterStoreIsNotCountedTwice(t *testing.T) {
	r := newRig(t, hubsync.Opts{MaxBatchRecords: 10, QuickRetries: -1})
	r.hub.cutAfterStore = 2
	ids := r.submit(t, outbox.ClassResident, 25)
	r.start(t)
	r.waitEmpty(t)
	order, dups, _ := r.hub.snapshot()
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
	r.srv.Close() // the hub is away
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
	// The hub comes back at the same address.
	srv := httptest.NewUnstartedServer(r.hub)
	srv.Listener.Close()
	srv.Listener = mustListen(t, strings.TrimPrefix(r.srv.URL, "http://"))
	srv.Start()
	defer srv.Close()
	r.waitEmpty(t)
	if order, _, _ := r.hub.snapshot(); len(order) != len(ids) {
		t.Fatalf("hub has %d records after its return, want %d", len(order), len(ids))
	}
	if st := r.syncer.Status(); !st.Reachable || st.LastSuccess.IsZero() {
		t.Fatalf("status after return: %+v", st)
	}
}

func TestRevokedTerminalKeepsRecords(t *testing.T) {
	r := newRig(t, hubsync.Opts{QuickRetries: -1})
	r.hub.misbehave = func(int, http.ResponseWriter, *http.Request) bool { return false }
	r.hub.keys = map[string]ed25519.PublicKey{} // the hub no longer knows T1
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
	r.hub.misbehave = func(_ int, w http.ResponseWriter, req *http.Request) bool {
		body, _ := io.ReadAll(req.Body)
		zr, err := gzip.NewReader(strings.NewReader(string(body)))
		if err != nil {
			return false
		}
		raw, _ := io.ReadAll(zr)
		if strings.Contains(string(raw), poison) {
			writeErr(w, http.StatusBadRequest, api.CodeInvalidRecord, "record 3: payload too strange")
			return true
		}
		req.Body = io.NopCloser(strings.NewReader(string(body)))
		return false
	}
	r.start(t)
	r.waitEmpty(t)
	order, _, _ := r.hub.snapshot()
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
	r.hub.mu.Lock()
	pings := r.hub.pings
	r.hub.mu.Unlock()
	if pings == 0 {
		t.Fatal("idle round did not ping the hub")
	}
	if st := r.syncer.Status(); !st.Reachable || st.LastSuccess.IsZero() {
		t.Fatalf("status after a ping: %+v", st)
	}
}

func TestIdleRoundWithHubAwayIsNotReachable(t *testing.T) {
	r := newRig(t, hubsync.Opts{QuickRetries: -1})
	r.srv.Close()
	res := r.syncerRound(t)
	if res.Err == nil {
		t.Fatal("idle round succeeded without a hub")
	}
	if st := r.syncer.Status(); st.Reachable || !st.LastSuccess.IsZero() {
		t.Fatalf("status with the hub away: %+v", st)
	}
}
