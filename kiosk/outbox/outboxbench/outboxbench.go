// Package outboxbench measures the outbox's submit throughput for `make
// bench`: group commit against one transaction per record, under the same
// load (64 concurrent submitters of 200-byte payloads) on the same disk.
package outboxbench

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quartierhub/quartierhub/kiosk/outbox"
)

// Opts configures Run. Zero values select the defaults.
type Opts struct {
	Dir         string        // where the bbolt files go; required, on the disk to measure
	Duration    time.Duration // per measurement; default 3 s
	Submitters  int           // concurrent submitters; default 64
	PayloadSize int           // bytes of JSON payload; default 200
}

// Result holds the measured rates in records per second.
type Result struct {
	SubmitPerS               float64 // group commit (the default outbox)
	SingleTxPerS             float64 // MaxBatchRecords=1: one transaction per record
	SubmitNoFreelistSyncPerS float64 // group commit with bbolt NoFreelistSync
}

// Ratio is SubmitPerS / SingleTxPerS.
func (r Result) Ratio() float64 {
	if r.SingleTxPerS == 0 {
		return 0
	}
	return r.SubmitPerS / r.SingleTxPerS
}

// Lines returns the figures as "NAME VALUE UNIT" lines.
func (r Result) Lines() []string {
	return []string{
		fmt.Sprintf("outbox_submit_per_s %.0f records/s", r.SubmitPerS),
		fmt.Sprintf("outbox_submit_single_tx_per_s %.0f records/s", r.SingleTxPerS),
		fmt.Sprintf("outbox_submit_nofreelistsync_per_s %.0f records/s", r.SubmitNoFreelistSyncPerS),
		fmt.Sprintf("outbox_group_commit_ratio %.1f x", r.Ratio()),
	}
}

func (r Result) String() string { return strings.Join(r.Lines(), "\n") }

// Run measures the three configurations one after the other, each in a
// fresh file under opts.Dir.
func Run(ctx context.Context, opts Opts) (Result, error) {
	if opts.Dir == "" {
		return Result{}, fmt.Errorf("outboxbench: Dir is required")
	}
	if opts.Duration <= 0 {
		opts.Duration = 3 * time.Second
	}
	if opts.Submitters <= 0 {
		opts.Submitters = 64
	}
	if opts.PayloadSize < 16 {
		opts.PayloadSize = 200
	}
	var r Result
	var err error
	if r.SubmitPerS, err = Measure(ctx, filepath.Join(opts.Dir, "group.db"), outbox.Opts{}, opts); err != nil {
		return r, err
	}
	if r.SingleTxPerS, err = Measure(ctx, filepath.Join(opts.Dir, "single.db"), outbox.Opts{MaxBatchRecords: 1}, opts); err != nil {
		return r, err
	}
	if r.SubmitNoFreelistSyncPerS, err = Measure(ctx, filepath.Join(opts.Dir, "nofreelistsync.db"), outbox.Opts{NoFreelistSync: true}, opts); err != nil {
		return r, err
	}
	return r, nil
}

// Measure opens an outbox at path with oo and returns the records per
// second that opts.Submitters concurrent submitters achieve for
// opts.Duration.
func Measure(ctx context.Context, path string, oo outbox.Opts, opts Opts) (float64, error) {
	ob, err := outbox.Open(path, oo)
	if err != nil {
		return 0, err
	}
	defer ob.Close()
	payload := Payload(opts.PayloadSize)
	ctx, cancel := context.WithTimeout(ctx, opts.Duration)
	defer cancel()
	var n atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	classes := outbox.Classes
	for w := range opts.Submitters {
		wg.Go(func() {
			for ctx.Err() == nil {
				_, err := ob.Submit(ctx, "bench", classes[w%len(classes)], payload)
				if err != nil {
					if ctx.Err() == nil {
						once.Do(func() { firstErr = err })
					}
					return
				}
				n.Add(1)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if firstErr != nil {
		return 0, fmt.Errorf("outboxbench: submit: %w", firstErr)
	}
	if err := ob.Close(); err != nil {
		return 0, err
	}
	return float64(n.Load()) / elapsed.Seconds(), nil
}

// Payload returns a JSON object of exactly size bytes (at least 16).
func Payload(size int) []byte {
	head := `{"pad":"`
	return []byte(head + strings.Repeat("x", max(size-len(head)-2, 0)) + `"}`)
}
