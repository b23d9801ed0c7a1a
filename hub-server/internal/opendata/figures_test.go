package opendata_test

import (
	"compress/gzip"
	"context"
	"io"
	"math/rand/v2"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/opendata"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/teststores"
)

// countingWriter counts what is written.
type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// BenchmarkDayFile makes the day file of 100 outdoor terminals measuring
// PM2.5, PM10 and CO2 every minute of the day (432,000 rows) on SQLite,
// seeded through IngestBatch; it reports the file's size and the peak
// heap growth while it is made. Run: go test -run XXX -bench DayFile
// -benchtime 3x ./hub-server/internal/opendata/
func BenchmarkDayFile(b *testing.B) {
	st := teststores.Open(b, teststores.SQLite)
	rng := rand.New(rand.NewPCG(1, 2))
	var fleet []terminal
	for i := range 100 {
		term := terminal{name: "t" + string(rune('a'+i/26)) + string(rune('a'+i%26)), quarter: "Striesen",
			site: &store.Site{Latitude: 51 + float64(i)/1000, Longitude: 13.7 + float64(i)/1000, Place: "Platz"}}
		for m := range 1440 {
			t := day.Add(time.Duration(m) * time.Minute)
			p25 := 5 + 10*rng.Float64()
			term.minutes = append(term.minutes, pm("pm25", t, p25, p25-1.5, p25+2.25, 60, 60, 0),
				pm("pm10", t, p25+4, p25+2, p25+7.5, 60, 60, 0), co2(t, 400+100*rng.Float64(), 395, 520))
		}
		fleet = append(fleet, term)
	}
	start := time.Now()
	for _, term := range fleet {
		// A batch holds at most api.MaxBatchRecords records.
		for i := 0; i < len(term.minutes); i += 2000 {
			part := term
			part.minutes = term.minutes[i:min(i+2000, len(term.minutes))]
			if i > 0 {
				part.site = nil
				part.name = ""
			}
			seedMore(b, st, term.name, part, i)
		}
	}
	b.Logf("seeded 432,000 minutes through IngestBatch in %v", time.Since(start).Round(time.Millisecond))
	f := newFiles(b, st, opendata.Opts{})
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	baseHeap, peak := ms.HeapAlloc, ms.HeapAlloc
	stop, sampled := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapAlloc)
			}
		}
	}()
	cpu := func() time.Duration {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			b.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	cpu0 := cpu()
	b.ResetTimer()
	var size int64
	for range b.N {
		var c countingWriter
		if err := f.WriteDay(context.Background(), &c, day); err != nil {
			b.Fatal(err)
		}
		size = c.n
	}
	b.StopTimer()
	b.ReportMetric((cpu()-cpu0).Seconds()/float64(b.N), "cpu-s/file")
	close(stop)
	<-sampled
	b.ReportMetric(float64(size), "bytes/file")
	// The plain CSV's size, for the docs.
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(f.WriteDay(context.Background(), pw, day)) }()
	zr, err := gzip.NewReader(pr)
	if err != nil {
		b.Fatal(err)
	}
	plain, err := io.Copy(io.Discard, zr)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(plain), "csv-bytes")
	// The documents made per request, at this fleet's size.
	for _, doc := range []struct {
		name  string
		write func(io.Writer) error
	}{
		{"catalog", func(w io.Writer) error { return f.WriteCatalog(context.Background(), w, base, nil) }},
		{"stations", func(w io.Writer) error { return f.WriteStations(context.Background(), w, base) }},
	} {
		var c countingWriter
		start := time.Now()
		if err := doc.write(&c); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(time.Since(start).Microseconds())/1000, doc.name+"-ms")
		b.ReportMetric(float64(c.n), doc.name+"-bytes")
	}
	b.ReportMetric(float64(peak-baseHeap)/(1<<20), "MiB-peak-heap-growth")
}

// seedMore enrols term on its first part (i == 0) and uploads part's
// minutes as its records i… .
func seedMore(b *testing.B, st store.Store, name string, part terminal, i int) {
	b.Helper()
	if i == 0 {
		minutes := part.minutes
		part.minutes = nil
		seed(b, st, []terminal{part})
		part.minutes = minutes
	}
	uploadMinutes(b, st, "T-"+name, part.minutes, i)
}
