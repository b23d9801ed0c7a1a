package fleetsim

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Histogram buckets grow by 2 % from 1 µs; the last one holds everything
// above ~100 s.
const (
	bucketGrowth = 1.02
	nBuckets     = 940
)

var logGrowth = math.Log(bucketGrowth)

func bucketOf(d time.Duration) int {
	us := float64(d) / float64(time.Microsecond)
	if us <= 1 {
		return 0
	}
	return min(int(math.Log(us)/logGrowth)+1, nBuckets-1)
}

// bucketUpper is the upper bound of bucket i.
func bucketUpper(i int) time.Duration {
	return time.Duration(math.Pow(bucketGrowth, float64(i)) * float64(time.Microsecond))
}

type kindRec struct {
	buckets    [nBuckets]atomic.Int64
	ok         atomic.Int64
	overloaded atomic.Int64
	failed     atomic.Int64
	maxNanos   atomic.Int64
}

func (k *kindRec) observe(d time.Duration) {
	k.buckets[bucketOf(d)].Add(1)
	for {
		m := k.maxNanos.Load()
		if int64(d) <= m || k.maxNanos.CompareAndSwap(m, int64(d)) {
			return
		}
	}
}

// recorder collects one measurement's latencies and failures.
type recorder struct {
	start time.Time
	kinds [6]kindRec
	mu    sync.Mutex
	errs  map[string]int64 // "kind: class" → count
	// lags: how late each scheduled action started.
	lags [nBuckets]atomic.Int64
	late atomic.Int64
}

// lag records how late a scheduled action started.
func (r *recorder) lag(d time.Duration) {
	r.lags[bucketOf(max(d, 0))].Add(1)
	if d > LateAfter {
		r.late.Add(1)
	}
}

func newRecorder() *recorder { return &recorder{start: time.Now(), errs: map[string]int64{}} }

func (r *recorder) ok(kind string, d time.Duration) {
	k := &r.kinds[kindIndex(kind)]
	k.ok.Add(1)
	k.observe(d)
}

// overloaded counts a 503: the hub answered, but shed the request.
func (r *recorder) overloaded(kind string, d time.Duration) {
	k := &r.kinds[kindIndex(kind)]
	k.overloaded.Add(1)
	k.observe(d)
}

func (r *recorder) fail(kind, class string) {
	r.kinds[kindIndex(kind)].failed.Add(1)
	r.mu.Lock()
	r.errs[kind+": "+class]++
	r.mu.Unlock()
}

// KindStats are the figures of one request kind (or of all).
type KindStats struct {
	Kind string
	// OK are answered as expected; Overloaded answered 503; Failed are
	// errors and unexpected answers. Latencies cover OK and Overloaded.
	OK, Overloaded, Failed int64
	P50, P90, P99, Max     time.Duration
}

// Requests is the number of requests that ended.
func (k KindStats) Requests() int64 { return k.OK + k.Overloaded + k.Failed }

// String is one line for logs.
func (k KindStats) String() string {
	return fmt.Sprintf("%-9s ok %8d  503 %6d  failed %6d  p50 %8s  p90 %8s  p99 %8s  max %8s", k.Kind, k.OK, k.Overloaded, k.Failed,
		round(k.P50), round(k.P90), round(k.P99), round(k.Max))
}

func round(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}

// Stats is one measurement.
type Stats struct {
	// Elapsed is the time since Reset.
	Elapsed time.Duration
	// All is over every request; Kinds per kind (in Kinds order).
	All   KindStats
	Kinds []KindStats
	// Errors counts failures by "kind: class", most frequent first.
	Errors []string
	// Actions is how many scheduled actions (heartbeat, upload, upload
	// retry, configuration poll) started; Late how many of them more than
	// LateAfter after they were due; LagP50 and LagP99 how late.
	Actions, Late  int64
	LagP50, LagP99 time.Duration
}

// LateRatio is the share of actions that started late.
func (s Stats) LateRatio() float64 {
	if s.Actions == 0 {
		return 0
	}
	return float64(s.Late) / float64(s.Actions)
}

// Kind returns the figures of one kind.
func (s Stats) Kind(kind string) KindStats { return s.Kinds[kindIndex(kind)] }

// PerSecond is the rate of answered requests.
func (s Stats) PerSecond() float64 {
	return float64(s.All.OK+s.All.Overloaded) / s.Elapsed.Seconds()
}

func (r *recorder) stats() Stats {
	s := Stats{Elapsed: time.Since(r.start), All: KindStats{Kind: "all"}}
	var all [nBuckets]int64
	for i, name := range Kinds {
		k := &r.kinds[i]
		var h [nBuckets]int64
		for b := range h {
			h[b] = k.buckets[b].Load()
			all[b] += h[b]
		}
		ks := KindStats{Kind: name, OK: k.ok.Load(), Overloaded: k.overloaded.Load(), Failed: k.failed.Load(), Max: time.Duration(k.maxNanos.Load())}
		ks.P50, ks.P90, ks.P99 = quantile(h[:], 0.50), quantile(h[:], 0.90), quantile(h[:], 0.99)
		s.Kinds = append(s.Kinds, ks)
		s.All.OK += ks.OK
		s.All.Overloaded += ks.Overloaded
		s.All.Failed += ks.Failed
		s.All.Max = max(s.All.Max, ks.Max)
	}
	s.All.P50, s.All.P90, s.All.P99 = quantile(all[:], 0.50), quantile(all[:], 0.90), quantile(all[:], 0.99)
	var lags [nBuckets]int64
	for b := range lags {
		lags[b] = r.lags[b].Load()
		s.Actions += lags[b]
	}
	s.Late = r.late.Load()
	s.LagP50, s.LagP99 = quantile(lags[:], 0.50), quantile(lags[:], 0.99)
	r.mu.Lock()
	for e, n := range r.errs {
		s.Errors = append(s.Errors, fmt.Sprintf("%d× %s", n, e))
	}
	r.mu.Unlock()
	sort.Slice(s.Errors, func(i, j int) bool { return countOf(s.Errors[i]) > countOf(s.Errors[j]) })
	return s
}

func countOf(e string) int64 {
	var n int64
	fmt.Sscanf(strings.SplitN(e, "×", 2)[0], "%d", &n)
	return n
}

// quantile is the upper bound of the bucket holding the q-quantile.
func quantile(h []int64, q float64) time.Duration {
	var total int64
	for _, n := range h {
		total += n
	}
	if total == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(total)))
	var seen int64
	for i, n := range h {
		seen += n
		if seen >= rank {
			return bucketUpper(i)
		}
	}
	return bucketUpper(len(h) - 1)
}
