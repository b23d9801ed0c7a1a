// Package testutil holds what the tests of every part of the module share:
// waiting for a condition with a deadline, and pictures for the screenshot
// paths (PNG, PNGClaiming). It imports only the standard
// library, so drivers, kiosk, hub-server and tests may all use it.
package testutil

import (
	"testing"
	"time"
)

// Defaults of Eventually and EventuallyOK. The deadline is generous: a
// test waits this long only when it is about to fail, and the machine
// that runs the tests may be loaded.
const (
	DefaultWithin = 20 * time.Second
	DefaultEvery  = 10 * time.Millisecond
)

// Option changes how Eventually waits.
type Option func(*waiting)

type waiting struct {
	within, every time.Duration
}

// Within sets the deadline (DefaultWithin otherwise).
func Within(d time.Duration) Option { return func(w *waiting) { w.within = d } }

// Every sets the poll interval (DefaultEvery otherwise).
func Every(d time.Duration) Option { return func(w *waiting) { w.every = d } }

// Eventually polls cond until it reports true, and fails the test with
// "timed out after D waiting for WHAT" if it does not by the deadline.
// cond runs on the test's goroutine, so it may call t.Fatal itself, and
// it may do work on each poll (send a heartbeat, run a sync round).
func Eventually(t testing.TB, what string, cond func() bool, opts ...Option) {
	t.Helper()
	EventuallyOK(t, what, func() error {
		if cond() {
			return nil
		}
		return errNotYet
	}, opts...)
}

// EventuallyOK polls check until it returns nil; the failure message
// carries the last error check returned, so it can say what was seen.
func EventuallyOK(t testing.TB, what string, check func() error, opts ...Option) {
	t.Helper()
	w := waiting{within: DefaultWithin, every: DefaultEvery}
	for _, o := range opts {
		o(&w)
	}
	deadline := time.Now().Add(w.within)
	for {
		err := check()
		if err == nil {
			return
		}
		if !time.Now().Before(deadline) {
			if err == errNotYet {
				t.Fatalf("timed out after %v waiting for %s", w.within, what)
			} else {
				t.Fatalf("timed out after %v waiting for %s: %v", w.within, what, err)
			}
			return
		}
		time.Sleep(w.every)
	}
}

type notYet struct{}

func (notYet) Error() string { return "not yet" }

// errNotYet is what a false cond of Eventually becomes; it is left out of
// the failure message, which has nothing more to say.
var errNotYet error = notYet{}
