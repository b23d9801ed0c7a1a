package serialport_test

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/drivers/rdm6300"
	"github.com/quartierhub/quartierhub/drivers/serialport"
	"github.com/quartierhub/quartierhub/drivers/sim"
	"github.com/quartierhub/quartierhub/drivers/sim/rdm6300sim"
)

type recorder struct {
	ch chan serialport.Event
}

func newRecorder() *recorder { return &recorder{ch: make(chan serialport.Event, 64)} }

func (r *recorder) on(e serialport.Event) { r.ch <- e }

func (r *recorder) expect(t *testing.T, want serialport.State, within time.Duration) serialport.Event {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case e := <-r.ch:
			if e.Time.IsZero() || e.Path == "" {
				t.Fatalf("event without time or path: %+v", e)
			}
			if e.State == want {
				return e
			}
			t.Logf("skipping %s", e)
		case <-deadline:
			t.Fatalf("no %s event within %s", want, within)
		}
	}
}

func startOwner(t *testing.T, opts serialport.Opts, session serialport.Session) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	p := serialport.New(opts)
	go func() { done <- p.Run(ctx, session) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
}

// The acceptance test of the port owner: the device's port vanishes and
// comes back, and the driver is reading cards again within 5 s.
func TestReconnectAfterUnplugWithin5s(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dev := rdm6300sim.New(rdm6300sim.Opts{})
	link := filepath.Join(t.TempDir(), "rfid")
	sp, err := sim.Start(ctx, dev, sim.Opts{Link: link})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()

	rec := newRecorder()
	cards := make(chan rdm6300.Event, 16)
	reader := rdm6300.New(rdm6300.Opts{OnEvent: func(e rdm6300.Event) { cards <- e }})
	startOwner(t, serialport.Opts{Path: link, OnEvent: rec.on}, reader.Run)
	rec.expect(t, serialport.StateConnected, 5*time.Second)

	if err := sp.Unplug(); err != nil {
		t.Fatal(err)
	}
	lost := rec.expect(t, serialport.StateLost, 5*time.Second)
	if lost.Err == nil {
		t.Fatal("lost event without a cause")
	}
	replugged := time.Now()
	if err := sp.Replug(); err != nil {
		t.Fatal(err)
	}
	rec.expect(t, serialport.StateRecovered, 5*time.Second)
	if err := dev.Present("01004CA53B"); err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-cards:
		if e.Kind != rdm6300.Presented || e.UID != "01004CA53B" {
			t.Fatalf("card event %v %s", e.Kind, e.UID)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no card read after replug")
	}
	if d := time.Since(replugged); d > 5*time.Second {
		t.Fatalf("recovered only after %s", d)
	}
	t.Logf("recovered and read a card %s after replug", time.Since(replugged).Round(time.Millisecond))
}

// A port that is missing at start is retried until it appears.
func TestMissingPortIsRetried(t *testing.T) {
	link := filepath.Join(t.TempDir(), "later")
	rec := newRecorder()
	reader := rdm6300.New(rdm6300.Opts{})
	startOwner(t, serialport.Opts{Path: link, OnEvent: rec.on}, reader.Run)
	if e := rec.expect(t, serialport.StateLost, 5*time.Second); e.Err == nil {
		t.Fatal("no cause for a missing port")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sp, err := sim.Start(ctx, rdm6300sim.New(rdm6300sim.Opts{}), sim.Opts{Link: link})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	rec.expect(t, serialport.StateConnected, 5*time.Second)
}

// Silence is a fault, not a loss, and valid frames recover from it.
func TestSilenceIsAFaultUntilFramesReturn(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dev := rdm6300sim.New(rdm6300sim.Opts{})
	link := filepath.Join(t.TempDir(), "rfid")
	sp, err := sim.Start(ctx, dev, sim.Opts{Link: link})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	rec := newRecorder()
	reader := rdm6300.New(rdm6300.Opts{})
	startOwner(t, serialport.Opts{Path: link, OnEvent: rec.on, SilenceTimeout: 300 * time.Millisecond}, reader.Run)
	rec.expect(t, serialport.StateConnected, 5*time.Second)
	e := rec.expect(t, serialport.StateFault, 5*time.Second)
	if !errors.Is(e.Err, serialport.ErrSilent) {
		t.Fatalf("fault cause %v, want ErrSilent", e.Err)
	}
	if err := dev.Present("01004CA53B"); err != nil {
		t.Fatal(err)
	}
	rec.expect(t, serialport.StateRecovered, 5*time.Second)
}

// fakePort lets a test decide how reads and writes behave.
type fakePort struct {
	mu       sync.Mutex
	writeErr error
	reads    int
	closed   bool
}

func (f *fakePort) Read(b []byte) (int, error) {
	f.mu.Lock()
	f.reads++
	f.mu.Unlock()
	return 0, io.EOF // what tarm/serial returns on a read timeout
}

func (f *fakePort) Write(b []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.writeErr != nil {
		return 0, f.writeErr
	}
	return len(b), nil
}

func (f *fakePort) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	return nil
}

// tarm/serial's (0, io.EOF) on timeout is "no data yet", and a write that
// fails means the port is lost (an unplugged USB adapter only fails writes).
func TestTimeoutIsNoDataAndFailedWriteIsLoss(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fake")
	if err := writeFile(path); err != nil {
		t.Fatal(err)
	}
	fp := &fakePort{writeErr: errors.New("input/output error")}
	rec := newRecorder()
	sawNoData := make(chan struct{}, 1)
	opts := serialport.Opts{
		Path:        path,
		OnEvent:     rec.on,
		ReadTimeout: 10 * time.Millisecond,
		Open: func(string, int, time.Duration) (io.ReadWriteCloser, error) {
			return fp, nil
		},
	}
	startOwner(t, opts, func(ctx context.Context, rw io.ReadWriter) error {
		n, err := rw.Read(make([]byte, 8))
		if n == 0 && err == nil {
			select {
			case sawNoData <- struct{}{}:
			default:
			}
		} else {
			return errors.New("timeout read was not (0, nil)")
		}
		_, err = rw.Write([]byte{1})
		return err
	})
	select {
	case <-sawNoData:
	case <-time.After(5 * time.Second):
		t.Fatal("read timeout not reported as (0, nil)")
	}
	rec.expect(t, serialport.StateConnected, 5*time.Second)
	if e := rec.expect(t, serialport.StateLost, 5*time.Second); e.Err == nil {
		t.Fatal("no cause")
	}
	fp.mu.Lock()
	fp.writeErr = nil
	fp.mu.Unlock()
}
