package netlimit_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/netlimit"
)

var t0 = time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC)

// attempt begins an attempt by network at now and ends it at once.
func attempt(l *netlimit.Limiter, network string, now time.Time, failed bool) (bool, time.Duration) {
	done, ok, wait := l.Begin(network, now)
	if ok {
		done(failed, now)
	}
	return ok, wait
}

func TestFailuresLimited(t *testing.T) {
	l := netlimit.New(netlimit.Limits{Every: 10 * time.Second, Burst: 3})
	for i := range 3 {
		if ok, _ := attempt(l, "a", t0, true); !ok {
			t.Fatalf("failure %d of the burst refused", i+1)
		}
	}
	ok, wait := attempt(l, "a", t0, false)
	if ok || wait != 10*time.Second {
		t.Fatalf("after the burst: %v, wait %v", ok, wait)
	}
	if ok, _ := attempt(l, "b", t0, true); !ok {
		t.Error("another network is refused")
	}
	if ok, _ := attempt(l, "a", t0.Add(9*time.Second), true); ok {
		t.Error("allowed before the next one is earned")
	}
	if ok, _ := attempt(l, "a", t0.Add(10*time.Second), true); !ok {
		t.Error("refused once the next one is earned")
	}
	if ok, wait := attempt(l, "a", t0.Add(10*time.Second+300*time.Millisecond), true); ok || wait != 9700*time.Millisecond {
		t.Errorf("wait %v", wait)
	}
	if got := netlimit.RetryAfter(9700 * time.Millisecond); got != "10" {
		t.Errorf("Retry-After %q", got)
	}
}

// Allow charges every attempt, whatever its outcome.
func TestAllowChargesEveryAttempt(t *testing.T) {
	l := netlimit.New(netlimit.Limits{Every: 3 * time.Second, Burst: 2})
	for i := range 2 {
		if ok, _ := l.Allow("a", t0); !ok {
			t.Fatalf("lookup %d of the burst refused", i+1)
		}
	}
	if ok, wait := l.Allow("a", t0); ok || wait != 3*time.Second {
		t.Fatalf("after the burst: %v, wait %v", ok, wait)
	}
	if ok, _ := l.Allow("a", t0.Add(3*time.Second)); !ok {
		t.Error("refused once the next one is earned")
	}
}

// Successes take nothing: a fleet enrolled from one network is never
// slowed.
func TestSuccessesFree(t *testing.T) {
	l := netlimit.New(netlimit.Limits{Every: time.Hour, Burst: 2})
	for i := range 1000 {
		if ok, _ := attempt(l, "a", t0, false); !ok {
			t.Fatalf("success %d refused", i)
		}
	}
}

// Attempts in progress hold their token: many concurrent guesses get no
// more than the bucket holds.
func TestConcurrentAttemptsBounded(t *testing.T) {
	l := netlimit.New(netlimit.Limits{Every: time.Minute, Burst: 3, InFlight: 5})
	var dones []func(bool, time.Time)
	for range 10 {
		if done, ok, _ := l.Begin("a", t0); ok {
			dones = append(dones, done)
		}
	}
	if len(dones) != 5 {
		t.Fatalf("%d concurrent attempts admitted, want 5", len(dones))
	}
	dones[0](false, t0) // a success gives its place back and costs nothing
	done, ok, _ := l.Begin("a", t0)
	if !ok {
		t.Fatal("the place a success gave back is not free")
	}
	dones = append(dones[1:], done)
	for _, done := range dones {
		done(true, t0) // five failures on a bucket of three: a debt of two
	}
	// Paying the debt back takes two intervals before the first token.
	if ok, wait := attempt(l, "a", t0.Add(2*time.Minute), true); ok || wait != time.Minute {
		t.Errorf("with the debt half paid: %v, wait %v; want a refusal for another minute", ok, wait)
	}
	if ok, _ := attempt(l, "a", t0.Add(3*time.Minute), true); !ok {
		t.Error("refused after the debt was paid and a token earned")
	}
}

// A fleet enrolled from one office, many at a time with good tokens, is
// never refused.
func TestManyHonestAttemptsAtOnce(t *testing.T) {
	l := netlimit.New(netlimit.Limits{Every: 10 * time.Second, Burst: 20})
	var dones []func(bool, time.Time)
	for i := range 32 {
		done, ok, _ := l.Begin("office", t0)
		if !ok {
			t.Fatalf("attempt %d of 32 at once refused", i+1)
		}
		dones = append(dones, done)
	}
	for _, done := range dones {
		done(false, t0)
	}
}

// The table never holds more than Clients buckets: quiet networks are
// dropped when it is full, and beyond it networks share one bucket.
func TestTableBounded(t *testing.T) {
	l := netlimit.New(netlimit.Limits{Every: time.Second, Burst: 2, Clients: 3})
	for i := range 3 {
		attempt(l, fmt.Sprint("busy", i), t0, true)
	}
	// A flood from many networks shares the overflow bucket's burst.
	allowed := 0
	for i := range 100 {
		if ok, _ := attempt(l, fmt.Sprint("flood", i), t0, true); ok {
			allowed++
		}
	}
	if allowed != 2 || l.Len() != 3 {
		t.Errorf("flood: %d allowed, %d buckets", allowed, l.Len())
	}
	// Once the busy networks are quiet, their buckets make room.
	if ok, _ := attempt(l, "late", t0.Add(time.Minute), true); !ok || l.Len() != 1 {
		t.Errorf("after a quiet minute: %v, %d buckets", ok, l.Len())
	}
}

func TestClientNetwork(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.7:4711":                 "192.0.2.7",
		"[::ffff:192.0.2.7]:4711":        "192.0.2.7",
		"[2001:db8:1:2:3:4:5:6]:443":     "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff::1%eth0]:80": "2001:db8:1:2::/64",
		"not an address":                 "not an address",
	} {
		if got := netlimit.ClientNetwork(in); got != want {
			t.Errorf("ClientNetwork(%q) = %q, want %q", in, got, want)
		}
	}
}
