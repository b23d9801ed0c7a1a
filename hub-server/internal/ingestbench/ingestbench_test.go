package ingestbench

import (
	"context"
	"io"
	"os"
	"strconv"
	"testing"
)

// TestIngestBench is `make bench`: QH_BENCH=1 go test -run TestIngestBench
// -v ./hub-server/internal/ingestbench. QH_BENCH_RECORDS overrides the
// default 1,000,000.
func TestIngestBench(t *testing.T) {
	if os.Getenv("QH_BENCH") == "" {
		t.Skip("set QH_BENCH=1 to run (make bench)")
	}
	o := Opts{}
	if n, err := strconv.Atoi(os.Getenv("QH_BENCH_RECORDS")); err == nil {
		o.Records = n
	}
	if err := Run(context.Background(), t.TempDir(), o, os.Stdout); err != nil {
		t.Fatal(err)
	}
}

// TestSmall keeps the measuring code working in the ordinary test run.
func TestSmall(t *testing.T) {
	if err := Run(context.Background(), t.TempDir(), Opts{Records: 2500, BatchSize: 1000}, io.Discard); err != nil {
		t.Fatal(err)
	}
}
