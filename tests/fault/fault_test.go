package fault

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/kiosk/hubsync"
	"github.com/quartierhub/quartierhub/tests/internal/harness"
)

var bins harness.Bins

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "qh-fault-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	bins, err = harness.Build(ctx, dir)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func envInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		t.Fatalf("%s=%q: want a non-negative integer", name, v)
	}
	return n
}

// newRand returns a seeded source and logs the seed so a failure can be
// repeated with FAULT_SEED.
func newRand(t *testing.T) *rand.Rand {
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("FAULT_SEED"); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("FAULT_SEED=%q: %v", v, err)
		}
		seed = s
	}
	t.Logf("seed %d (FAULT_SEED=%d repeats this run)", seed, seed)
	return rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// startHub starts a fresh hub process in the test's temp dir.
func startHub(t *testing.T, ctx context.Context) *harness.Hub {
	t.Helper()
	hub, err := harness.NewHub(bins, filepath.Join(t.TempDir(), "hub"))
	if err != nil {
		t.Fatal(err)
	}
	if err := hub.StartFresh(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = hub.Kill()
		if t.Failed() {
			t.Logf("hub log tail:\n%s", harness.Tail(hub.Log, 30))
		}
	})
	return hub
}

// enrolledAgent returns a stopped agent enrolled with hub through the CLI.
func enrolledAgent(t *testing.T, ctx context.Context, hub *harness.Hub, name string) *harness.Agent {
	t.Helper()
	a, err := harness.NewAgent(bins, filepath.Join(t.TempDir(), "terminal"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := hub.Token(ctx, name, "Johannstadt")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Enroll(ctx, hub.URL(), tok); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if a.PID() != 0 {
			_ = a.Kill()
		}
		if t.Failed() {
			t.Logf("agent log tail:\n%s", harness.Tail(a.Log, 30))
		}
	})
	return a
}

// enrolInProcess enrols a terminal with the hub the way `kiosk enroll`
// does and returns credentials for an in-process Syncer that talks to
// syncURL (the hub itself, or a proxy in front of it).
func enrolInProcess(t *testing.T, ctx context.Context, hub *harness.Hub, name, syncURL string) hubsync.Credentials {
	t.Helper()
	tok, err := hub.Token(ctx, name, "Prohlis")
	if err != nil {
		t.Fatal(err)
	}
	id, err := hubsync.Enroll(ctx, hub.URL(), tok, hubsync.EnrollOpts{SoftwareVersion: "fault-test"})
	if err != nil {
		t.Fatal(err)
	}
	return func() (string, string, ed25519.PrivateKey, error) { return syncURL, id.TerminalID, id.Key, nil }
}

// ledger remembers what the submitters tried and what was confirmed. Each
// attempt carries a unique seq in its payload, so a record at the hub can
// be traced back to the attempt that made it.
type ledger struct {
	mu        sync.Mutex
	attempted map[string]bool
	acked     map[string]string // seq → record id the submit returned
	failed    int
}

func newLedger() *ledger {
	return &ledger{attempted: map[string]bool{}, acked: map[string]string{}}
}

func (l *ledger) attempt(seq string) {
	l.mu.Lock()
	l.attempted[seq] = true
	l.mu.Unlock()
}

func (l *ledger) ack(seq, id string) {
	l.mu.Lock()
	l.acked[seq] = id
	l.mu.Unlock()
}

func (l *ledger) fail() {
	l.mu.Lock()
	l.failed++
	l.mu.Unlock()
}

func (l *ledger) counts() (attempted, acked, failed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.attempted), len(l.acked), l.failed
}

// payload is a body of about size bytes for a record of type typ that
// carries seq: a problem report as residents make them (the hub and the
// terminal take its known fields only, so seq leads its text), any other
// type a sensor reading with a seq field.
func payload(typ, seq string, size int) map[string]any {
	pad := strings.Repeat("x", max(0, size-40))
	if typ == api.RecordProblemReport {
		return map[string]any{"category": "litter", "text": seq + " " + pad}
	}
	return map[string]any{"seq": seq, "pm25": 12.5, "pad": pad}
}

func payloadJSON(typ, seq string, size int) []byte {
	b, _ := json.Marshal(payload(typ, seq, size))
	return b
}

// seqOf is the seq a payload made by payload carries ("" if none).
func seqOf(raw json.RawMessage) string {
	var p struct {
		Seq  string `json:"seq"`
		Text string `json:"text"`
	}
	if json.Unmarshal(raw, &p) != nil {
		return ""
	}
	if p.Seq != "" {
		return p.Seq
	}
	seq, _, _ := strings.Cut(p.Text, " ")
	return seq
}

// outcome summarises a check.
type outcome struct {
	hubRecords     int
	arrivedUnacked int // attempts whose submit failed but whose record was stored anyway
}

// checkExactlyOnce compares the hub's export with the ledger: every
// acknowledged record is there exactly once under the id Submit returned,
// no id or seq is there twice, and everything there was attempted.
func checkExactlyOnce(t *testing.T, l *ledger, recs []harness.Exported) outcome {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	ids := map[string]int{}
	seqs := map[string][]string{}
	for _, r := range recs {
		ids[r.ID]++
		seq := seqOf(r.Payload)
		if seq == "" {
			t.Errorf("hub record %s has no seq in its payload: %s", r.ID, r.Payload)
			continue
		}
		seqs[seq] = append(seqs[seq], r.ID)
	}
	errs := 0
	report := func(format string, args ...any) {
		if errs++; errs <= 20 {
			t.Errorf(format, args...)
		}
	}
	for id, n := range ids {
		if n > 1 {
			report("record id %s is at the hub %d times", id, n)
		}
	}
	for seq, got := range seqs {
		if !l.attempted[seq] {
			report("hub holds %s (seq %s), which no submitter attempted", got[0], seq)
		}
		if len(got) > 1 {
			report("attempt %s is at the hub %d times: %v", seq, len(got), got)
		}
	}
	unacked := 0
	for seq := range seqs {
		if _, ok := l.acked[seq]; !ok {
			unacked++
		}
	}
	for seq, id := range l.acked {
		got := seqs[seq]
		switch {
		case len(got) == 0:
			report("acknowledged record %s (seq %s) never reached the hub", id, seq)
		case got[0] != id:
			report("acknowledged record seq %s has id %s at the hub, submit returned %s", seq, got[0], id)
		}
	}
	if errs > 20 {
		t.Errorf("... and %d more", errs-20)
	}
	return outcome{hubRecords: len(recs), arrivedUnacked: unacked}
}
