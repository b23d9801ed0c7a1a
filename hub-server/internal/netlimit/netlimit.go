// Package netlimit limits how often one client network may do something
// where guessing pays: a token bucket (golang.org/x/time/rate) per
// network, in a table of bounded size. Two kinds of attempt:
//
//   - Begin, for attempts that cost only when they fail (guessing an
//     enrolment token): an attempt goes ahead while its network's bucket
//     holds a token and fewer than Limits.InFlight of its attempts are
//     in progress, and takes a token only if it fails, so honest work (a
//     fleet enrolled with good tokens, many at a time from one office)
//     is never slowed. Concurrent failures may take the bucket below
//     zero; the network then waits until the debt is paid, so a burst of
//     concurrent guesses overshoots by at most InFlight and gains no
//     rate;
//   - Allow, for attempts that cost whatever their outcome (looking up a
//     public report reference): each takes a token.
//
// Memory is bounded: at most Limits.Clients buckets. When the table is
// full, buckets that are full again and idle (their network has been
// quiet long enough) are dropped, since a new bucket for that network
// would be the same; if none is, networks beyond the table share one
// overflow bucket, so a flood from very many addresses is limited as
// one client and cannot grow the table.
package netlimit

import (
	"math"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limits configure a Limiter. Zero values are the defaults.
type Limits struct {
	// Every is the time one more failure is allowed after the burst.
	// Default 1s.
	Every time.Duration
	// Burst is how many failures a quiet network may have at once.
	// Default 10.
	Burst int
	// Clients is the most networks with a bucket of their own. Default
	// 10000.
	Clients int
	// InFlight is how many attempts begun with Begin one network may
	// have in progress at once. Default 64.
	InFlight int
}

// Limiter is a table of token buckets keyed by client network.
type Limiter struct {
	limit    rate.Limit
	burst    int
	max      int
	inFlight int
	mu       sync.Mutex
	buckets  map[string]*bucket
	overflow *bucket // shared by the networks that find the table full
	// swept is when the table was last searched for full buckets: at
	// most once a second, so a full table of busy networks costs one
	// sweep a second, not one per request.
	swept time.Time
}

type bucket struct {
	tokens   *rate.Limiter
	inflight int // attempts begun and not done
}

// New returns a Limiter with limits l.
func New(l Limits) *Limiter {
	if l.Every <= 0 {
		l.Every = time.Second
	}
	if l.Burst <= 0 {
		l.Burst = 10
	}
	if l.Clients <= 0 {
		l.Clients = 10000
	}
	if l.InFlight <= 0 {
		l.InFlight = 64
	}
	lim := rate.Every(l.Every)
	return &Limiter{limit: lim, burst: l.Burst, max: l.Clients, inFlight: l.InFlight, buckets: map[string]*bucket{},
		overflow: &bucket{tokens: rate.NewLimiter(lim, l.Burst)}}
}

// Begin starts an attempt by network at now. If the network may not
// try now, ok is false and wait says how long until it may (at least a
// second, for Retry-After). Otherwise done must be called once the
// attempt is over, with whether it failed: a failure takes a token.
func (l *Limiter) Begin(network string, now time.Time) (done func(failed bool, at time.Time), ok bool, wait time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucket(network, now)
	if b.inflight >= l.inFlight {
		return nil, false, time.Second
	}
	if ok, wait := l.hasToken(b, now); !ok {
		return nil, false, wait
	}
	b.inflight++
	return func(failed bool, at time.Time) {
		l.mu.Lock()
		defer l.mu.Unlock()
		b.inflight--
		if failed {
			// A reservation is never refused for one token: failures
			// beyond the bucket leave a debt that later attempts wait out.
			b.tokens.ReserveN(at, 1)
		}
	}, true, 0
}

// bucket is network's bucket, made if there is room (l.mu held).
func (l *Limiter) bucket(network string, now time.Time) *bucket {
	if b, ok := l.buckets[network]; ok {
		return b
	}
	if len(l.buckets) >= l.max && now.Sub(l.swept) >= time.Second {
		l.swept = now
		for k, b := range l.buckets {
			if b.inflight == 0 && b.tokens.TokensAt(now) >= float64(l.burst)-1e-9 {
				delete(l.buckets, k)
			}
		}
	}
	if len(l.buckets) >= l.max {
		return l.overflow
	}
	b := &bucket{tokens: rate.NewLimiter(l.limit, l.burst)}
	l.buckets[network] = b
	return b
}

// Allow takes a token from network's bucket at now. When there is none,
// ok is false and wait says how long until there is (at least a second,
// for Retry-After).
func (l *Limiter) Allow(network string, now time.Time) (ok bool, wait time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucket(network, now)
	if ok, wait := l.hasToken(b, now); !ok {
		return false, wait
	}
	b.tokens.AllowN(now, 1)
	return true, 0
}

// hasToken reports whether b holds a whole token at now, and if not how
// long until it does (at least a second, for Retry-After). l.mu held.
func (l *Limiter) hasToken(b *bucket, now time.Time) (bool, time.Duration) {
	short := 1 - b.tokens.TokensAt(now)
	if short <= 1e-9 {
		return true, 0
	}
	return false, max(time.Duration(short/float64(l.limit)*float64(time.Second)), time.Second)
}

// Len is how many networks have a bucket of their own.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// ClientNetwork is the network of a request's RemoteAddr ("host:port";
// behind trusted proxies the hub server has put the real client there):
// the address for IPv4, its /64 for IPv6, which one subscriber usually
// holds whole. Anything unparsable is its own network.
func ClientNetwork(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return a.String()
	}
	p, _ := a.Prefix(64)
	return p.String()
}

// RetryAfter is a Retry-After header value for d: whole seconds,
// rounded up.
func RetryAfter(d time.Duration) string {
	return strconv.Itoa(int(math.Ceil(d.Seconds())))
}
