package sdnotify

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// notifySocket listens on a unix datagram socket and points NOTIFY_SOCKET
// at it, as systemd does for a Type=notify service.
func notifySocket(t *testing.T) *net.UnixConn {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	t.Setenv("NOTIFY_SOCKET", path)
	return c
}

func next(t *testing.T, c *net.UnixConn) string {
	t.Helper()
	buf := make([]byte, 256)
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("no datagram on NOTIFY_SOCKET: %v", err)
	}
	return string(buf[:n])
}

// send writes a datagram of the test's own to the socket: whatever the
// feeder sent before it is read first, so the test sees the order.
func send(t *testing.T, msg string) {
	t.Helper()
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: os.Getenv("NOTIFY_SOCKET"), Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
}

func TestReady(t *testing.T) {
	c := notifySocket(t)
	if err := Ready(); err != nil {
		t.Fatal(err)
	}
	if got := next(t, c); got != "READY=1" {
		t.Fatalf("got %q, want READY=1", got)
	}
}

// A UI thread that runs its callbacks feeds the watchdog once per tick;
// one that hangs gets no second callback and feeds nothing until it runs
// again.
func TestFeederFeedsOnlyWhileTheUIRuns(t *testing.T) {
	c := notifySocket(t)
	ticks := make(chan time.Time) // unbuffered: a send returns once Run has the tick
	ui := make(chan func(), 10)
	f := &Feeder{OnUIThread: func(cb func()) { ui <- cb }, Ticks: ticks}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx, time.Second) }()

	// A live UI: tick, the callback runs, WATCHDOG=1.
	for range 3 {
		ticks <- time.Time{}
		(<-ui)()
		if got := next(t, c); got != "WATCHDOG=1" {
			t.Fatalf("got %q, want WATCHDOG=1", got)
		}
	}

	// A hung UI: the callback of this tick does not run.
	ticks <- time.Time{}
	stuck := <-ui
	ticks <- time.Time{}
	ticks <- time.Time{} // Run has handled the tick before this one
	if len(ui) != 0 {
		t.Fatalf("%d callbacks queued on a UI thread that has not run the last one", len(ui))
	}
	send(t, "MARK")
	if got := next(t, c); got != "MARK" {
		t.Fatalf("got %q while the UI thread hung, want nothing before MARK", got)
	}
	// The UI comes back: the feeding resumes.
	stuck()
	if got := next(t, c); got != "WATCHDOG=1" {
		t.Fatalf("got %q after the UI ran again, want WATCHDOG=1", got)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// Half of WATCHDOG_USEC, for this process only; nothing without it.
func TestWatchdogInterval(t *testing.T) {
	t.Setenv("WATCHDOG_USEC", "4000000")
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))
	if d, err := WatchdogInterval(); err != nil || d != 2*time.Second {
		t.Fatalf("interval %v, %v; want 2s", d, err)
	}
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()+1))
	if d, err := WatchdogInterval(); err != nil || d != 0 {
		t.Fatalf("another process's watchdog: interval %v, %v; want 0", d, err)
	}
	os.Unsetenv("WATCHDOG_USEC")
	if d, err := WatchdogInterval(); err != nil || d != 0 {
		t.Fatalf("no watchdog: interval %v, %v; want 0", d, err)
	}
}

// Outside systemd nothing is sent and nothing fails.
func TestOutsideSystemd(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	os.Unsetenv("NOTIFY_SOCKET")
	if err := Ready(); err != nil {
		t.Fatal(err)
	}
	f := &Feeder{OnUIThread: func(func()) { t.Error("a callback queued without a watchdog") }}
	if err := f.Run(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
}
