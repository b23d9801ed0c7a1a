package outboxbench

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"
)

func TestPayload(t *testing.T) {
	p := Payload(200)
	var m map[string]any
	if len(p) != 200 || json.Unmarshal(p, &m) != nil {
		t.Fatalf("Payload(200) = %d bytes, valid %v", len(p), json.Valid(p))
	}
}

// TestRunSmoke checks Run works end to end; it asserts nothing about speed.
func TestRunSmoke(t *testing.T) {
	r, err := Run(context.Background(), Opts{Dir: t.TempDir(), Duration: 100 * time.Millisecond, Submitters: 4})
	if err != nil {
		t.Fatal(err)
	}
	if r.SubmitPerS <= 0 || r.SingleTxPerS <= 0 || r.SubmitNoFreelistSyncPerS <= 0 {
		t.Fatalf("no records measured: %+v", r)
	}
}

// BenchmarkOutboxReport runs the full measurement once and prints the
// figures as NAME VALUE UNIT lines (and as benchmark metrics). Set
// OUTBOX_BENCH_DIR to measure a disk other than the temp dir.
func BenchmarkOutboxReport(b *testing.B) {
	dir := os.Getenv("OUTBOX_BENCH_DIR")
	if dir == "" {
		dir = b.TempDir()
	} else if d, err := os.MkdirTemp(dir, "outboxbench"); err != nil {
		b.Fatal(err)
	} else {
		dir = d
		b.Cleanup(func() { os.RemoveAll(d) })
	}
	var r Result
	for b.Loop() {
		var err error
		r, err = Run(context.Background(), Opts{Dir: dir})
		if err != nil {
			b.Fatal(err)
		}
	}
	for _, l := range r.Lines() {
		b.Log(l)
	}
	b.ReportMetric(r.SubmitPerS, "outbox_submit_per_s")
	b.ReportMetric(r.SingleTxPerS, "outbox_submit_single_tx_per_s")
	b.ReportMetric(r.SubmitNoFreelistSyncPerS, "outbox_submit_nofreelistsync_per_s")
	b.ReportMetric(r.Ratio(), "group_commit_ratio")
}
