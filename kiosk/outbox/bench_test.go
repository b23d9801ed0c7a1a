package outbox

import (
	"context"
	"testing"
)

// benchSubmit runs 64 concurrent submitters (32 per P on 2 cores) of
// 200-byte payloads; outboxbench reports the same as NAME VALUE UNIT lines.
func benchSubmit(b *testing.B, opts Opts, parallelism int) {
	o := open(b, dbPath(b), opts)
	p := payload(0, 200)
	ctx := context.Background()
	b.SetBytes(int64(len(p)))
	b.SetParallelism(parallelism)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := o.Submit(ctx, "bench", ClassSensor, p); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

func BenchmarkSubmitGroupCommit64(b *testing.B) { benchSubmit(b, Opts{}, 32) }

func BenchmarkSubmitSingleTx64(b *testing.B) { benchSubmit(b, Opts{MaxBatchRecords: 1}, 32) }

func BenchmarkSubmitNoFreelistSync64(b *testing.B) { benchSubmit(b, Opts{NoFreelistSync: true}, 32) }

func BenchmarkSubmitOneSubmitter(b *testing.B) {
	o := open(b, dbPath(b), Opts{})
	p := payload(0, 200)
	for b.Loop() {
		if _, err := o.Submit(context.Background(), "bench", ClassSensor, p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPeekAck drains 100-record batches, as the sync client will.
func BenchmarkPeekAck(b *testing.B) {
	o := open(b, dbPath(b), Opts{})
	ctx := context.Background()
	p := payload(0, 200)
	fill := func() {
		done := make(chan error, 64)
		for range 64 {
			go func() {
				var err error
				for range 100 {
					if _, err = o.Submit(ctx, "bench", ClassSensor, p); err != nil {
						break
					}
				}
				done <- err
			}()
		}
		for range 64 {
			if err := <-done; err != nil {
				b.Fatal(err)
			}
		}
	}
	fill()
	for b.Loop() {
		rs, err := o.Peek(ctx, 100, 1<<20)
		if err != nil {
			b.Fatal(err)
		}
		if len(rs) == 0 {
			b.StopTimer()
			fill()
			b.StartTimer()
			continue
		}
		if err := o.Ack(ctx, ids(rs)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStats(b *testing.B) {
	o := open(b, dbPath(b), Opts{})
	for i := range 1000 {
		submit(b, o, Classes[i%3], i)
	}
	for b.Loop() {
		if _, err := o.Stats(); err != nil {
			b.Fatal(err)
		}
	}
}
