package console

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// The public status page is open to anyone and references are short, so
// lookups are limited per client network (the address the login
// throttle uses: clientNet, behind trusted proxies the real client's).
// Each network has a token bucket (golang.org/x/time/rate): a burst of
// lookups, then one every few seconds. A resident opening a receipt's QR
// code, or typing a number a few times, never notices; guessing
// references from one network goes at a few per minute.
//
// Memory is bounded: at most lookupClients buckets. When the table is
// full, buckets that are full again (their network has been quiet long
// enough) are dropped — a new bucket for that network would be the same.
// If none is, networks beyond the table share one overflow bucket, so a
// flood from very many addresses is limited as one client and cannot
// grow the table.

// lookupLimits configure the limiter; zero values are the defaults.
type lookupLimits struct {
	Every   time.Duration // one lookup per Every after the burst; default 3s
	Burst   int           // default 20
	Clients int           // most networks with a bucket of their own; default 10000
}

type lookupLimiter struct {
	limit   rate.Limit
	burst   int
	max     int
	mu      sync.Mutex
	buckets map[string]*rate.Limiter
	// overflow is shared by networks that find the table full.
	overflow *rate.Limiter
	// swept is when the table was last searched for full buckets: at
	// most once a second, so a full table of busy networks costs a sweep
	// per second, not one per request.
	swept time.Time
}

func newLookupLimiter(l lookupLimits) *lookupLimiter {
	if l.Every <= 0 {
		l.Every = 3 * time.Second
	}
	if l.Burst <= 0 {
		l.Burst = 20
	}
	if l.Clients <= 0 {
		l.Clients = 10000
	}
	lim := rate.Every(l.Every)
	return &lookupLimiter{limit: lim, burst: l.Burst, max: l.Clients, buckets: map[string]*rate.Limiter{},
		overflow: rate.NewLimiter(lim, l.Burst)}
}

// allow takes a lookup from network's bucket at now; when it is empty,
// it says how long until the next lookup may go.
func (l *lookupLimiter) allow(network string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucket(network, now)
	if b.AllowN(now, 1) {
		return true, 0
	}
	wait := time.Duration((1 - b.TokensAt(now)) / float64(l.limit) * float64(time.Second))
	return false, max(wait, time.Second)
}

// bucket is network's bucket, made if there is room (l.mu held).
func (l *lookupLimiter) bucket(network string, now time.Time) *rate.Limiter {
	if b, ok := l.buckets[network]; ok {
		return b
	}
	if len(l.buckets) >= l.max && now.Sub(l.swept) >= time.Second {
		l.swept = now
		for k, b := range l.buckets {
			if b.TokensAt(now) >= float64(l.burst)-1e-9 {
				delete(l.buckets, k)
			}
		}
	}
	if len(l.buckets) >= l.max {
		return l.overflow
	}
	b := rate.NewLimiter(l.limit, l.burst)
	l.buckets[network] = b
	return b
}

// size is how many networks have a bucket of their own.
func (l *lookupLimiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// retryAfter is a Retry-After header value: whole seconds, rounded up.
func retryAfter(d time.Duration) string {
	return itoa(int(math.Ceil(d.Seconds())))
}
