package testutil_test

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/internal/testutil"
)

// recorder is a testing.TB whose Fatalf is recorded and ends the
// goroutine, as the real one does.
type recorder struct {
	testing.TB
	mu    sync.Mutex
	fatal string
}

func (r *recorder) Helper() {}

func (r *recorder) Fatalf(format string, args ...any) {
	r.mu.Lock()
	r.fatal = fmt.Sprintf(format, args...)
	r.mu.Unlock()
	runtime.Goexit()
}

// run calls f with a recorder on its own goroutine and returns the fatal
// message ("" if f returned normally).
func run(t *testing.T, f func(testing.TB)) string {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.fatal
}

func TestEventuallyReturnsOnceTheConditionHolds(t *testing.T) {
	calls := 0
	msg := run(t, func(tb testing.TB) {
		testutil.Eventually(tb, "the third call", func() bool { calls++; return calls == 3 }, testutil.Every(time.Millisecond))
	})
	if msg != "" || calls != 3 {
		t.Fatalf("failed with %q after %d calls, want success on the third", msg, calls)
	}
}

func TestEventuallyFailsAtTheDeadline(t *testing.T) {
	start := time.Now()
	calls := 0
	msg := run(t, func(tb testing.TB) {
		testutil.Eventually(tb, "the impossible", func() bool { calls++; return false },
			testutil.Within(100*time.Millisecond), testutil.Every(20*time.Millisecond))
	})
	took := time.Since(start)
	if msg != "timed out after 100ms waiting for the impossible" {
		t.Fatalf("message %q", msg)
	}
	if took < 100*time.Millisecond || took > 5*time.Second {
		t.Fatalf("gave up after %v, want about 100ms", took)
	}
	// One call at once, then one every 20ms: about six, never hundreds.
	if calls < 2 || calls > 8 {
		t.Fatalf("%d calls in 100ms at one per 20ms", calls)
	}
}

func TestEventuallyOKNamesTheLastError(t *testing.T) {
	n := 0
	msg := run(t, func(tb testing.TB) {
		testutil.EventuallyOK(tb, "three screens", func() error {
			n++
			return fmt.Errorf("saw %d screens", n)
		}, testutil.Within(30*time.Millisecond), testutil.Every(time.Millisecond))
	})
	want := fmt.Sprintf("timed out after 30ms waiting for three screens: saw %d screens", n)
	if n < 2 || msg != want {
		t.Fatalf("message %q after %d calls, want %q", msg, n, want)
	}
	if msg := run(t, func(tb testing.TB) {
		testutil.EventuallyOK(tb, "nil at once", func() error { return nil })
	}); msg != "" {
		t.Fatalf("a check that passes failed: %q", msg)
	}
}

// A condition may fail the test itself; the wait ends there.
func TestConditionMayFailTheTest(t *testing.T) {
	calls := 0
	msg := run(t, func(tb testing.TB) {
		testutil.Eventually(tb, "anything", func() bool {
			calls++
			tb.Fatalf("wrong screen %s", "attract")
			return false
		})
	})
	if msg != "wrong screen attract" || calls != 1 {
		t.Fatalf("message %q after %d calls", msg, calls)
	}
}

// A zero deadline still checks once.
func TestZeroDeadlineChecksOnce(t *testing.T) {
	err := errors.New("x")
	msg := run(t, func(tb testing.TB) {
		testutil.EventuallyOK(tb, "y", func() error { return err }, testutil.Within(0))
	})
	if !strings.HasSuffix(msg, "waiting for y: x") {
		t.Fatalf("a zero deadline: %q, want one check and its error", msg)
	}
}
