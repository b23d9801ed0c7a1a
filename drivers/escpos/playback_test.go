package escpos

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// fakePort is a scripted printer on the other side of an io.ReadWriter:
// every Write is recorded and answered by reply; Read returns what reply
// queued, or (0, nil) after a short wait, as serialport's conn does.
type fakePort struct {
	mu       sync.Mutex
	written  []byte
	writes   [][]byte
	readable []byte
	alive    int
	reply    func(f *fakePort, w []byte) // called with mu held
}

func (f *fakePort) Read(b []byte) (int, error) {
	f.mu.Lock()
	if len(f.readable) > 0 {
		n := copy(b, f.readable)
		f.readable = f.readable[n:]
		f.mu.Unlock()
		return n, nil
	}
	f.mu.Unlock()
	time.Sleep(2 * time.Millisecond)
	return 0, nil
}

func (f *fakePort) Write(b []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w := append([]byte(nil), b...)
	f.written = append(f.written, w...)
	f.writes = append(f.writes, w)
	if f.reply != nil {
		f.reply(f, w)
	}
	return len(b), nil
}

func (f *fakePort) MarkAlive() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.alive++
}

// isRequest reports the n of a DLE EOT n write.
func isRequest(w []byte) (byte, bool) {
	if len(w) == 3 && w[0] == 0x10 && w[1] == 0x04 {
		return w[2], true
	}
	return 0, false
}

// start runs p on f until the test ends.
func start(t *testing.T, p *Printer, f *fakePort) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, f) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
}

// waitSession waits until p's session has polled once.
func waitSession(t *testing.T, p *Printer) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(time.Millisecond) {
		if _, ok := p.LastStatus(); ok {
			return
		}
	}
	t.Fatal("no session")
}

func waitEvent(t *testing.T, events chan Event, kind EventKind) Event {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case e := <-events:
			if e.Kind == kind {
				return e
			}
		case <-timeout:
			t.Fatalf("no %s event", kind)
		}
	}
}

func TestPlaybackPrintExactBytes(t *testing.T) {
	// Poll at start, poll before the job, the job, poll after it (the
	// paper is near its end by then). Nothing else may be written.
	jobDone := false
	f := &fakePort{reply: func(f *fakePort, w []byte) {
		if n, ok := isRequest(w); ok {
			r := byte(0x12)
			if jobDone && n == 4 {
				r = 0x1E
			}
			f.readable = append(f.readable, r)
			return
		}
		if bytes.HasSuffix(w, []byte{0x1D, 0x56, 0x42, 0x00}) {
			jobDone = true
		}
	}}
	events := make(chan Event, 10)
	p := New(Opts{StatusInterval: time.Hour, ChunkSize: 10, OnStatus: func(e Event) { events <- e }})
	start(t, p, f)
	waitEvent(t, events, EventReady)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := p.Print(ctx, workedExample())
	if err != nil {
		t.Fatal(err)
	}
	if res.Status.Paper != PaperNearEnd || res.Bytes != 43 {
		t.Fatalf("result %s", res)
	}
	waitEvent(t, events, EventPaperNearEnd)

	poll := hexBytes(t, "10 04 01 10 04 02 10 04 04")
	var want []byte
	want = append(want, poll...)
	want = append(want, poll...)
	want = append(want, hexBytes(t, workedReceipt)...)
	want = append(want, poll...)
	f.mu.Lock()
	defer f.mu.Unlock()
	if !bytes.Equal(f.written, want) {
		t.Fatalf("written\n% X\nwant\n% X", f.written, want)
	}
	// Chunks of at most 10 bytes, each ending between commands.
	for _, w := range f.writes {
		if len(w) > 10 {
			t.Fatalf("chunk of %d bytes: % X", len(w), w)
		}
	}
	for _, w := range [][]byte{hexBytes(t, "1B 40 1B 74 13 1B 61 01"), hexBytes(t, "1B 45 01 1D 21 11")} {
		found := false
		for _, got := range f.writes {
			found = found || bytes.Equal(got, w)
		}
		if !found {
			t.Errorf("no chunk % X in %X", w, f.writes)
		}
	}
	if f.alive != 9 {
		t.Fatalf("MarkAlive called %d times, want 9", f.alive)
	}
}

func TestPlaybackErrorCauseAsked(t *testing.T) {
	f := &fakePort{reply: func(f *fakePort, w []byte) {
		if n, ok := isRequest(w); ok {
			f.readable = append(f.readable, map[byte]byte{1: 0x1A, 2: 0x52, 3: 0x36, 4: 0x12}[n])
		}
	}}
	events := make(chan Event, 10)
	p := New(Opts{StatusInterval: time.Hour, OnStatus: func(e Event) { events <- e }})
	start(t, p, f)
	e := waitEvent(t, events, EventFault)
	if e.Status.Cause != ErrMechanical|ErrUnrecoverable || e.Status.Online {
		t.Fatalf("event %s", e)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if want := hexBytes(t, "10 04 01 10 04 02 10 04 04 10 04 03"); !bytes.Equal(f.written, want) {
		t.Fatalf("written % X", f.written)
	}
}

func TestPlaybackNoReplyRetriesThenUnreachable(t *testing.T) {
	answer := false
	f := &fakePort{reply: func(f *fakePort, w []byte) {
		if _, ok := isRequest(w); ok && answer {
			f.readable = append(f.readable, 0x12)
		}
	}}
	events := make(chan Event, 10)
	p := New(Opts{StatusInterval: 20 * time.Millisecond, ReplyTimeout: 20 * time.Millisecond, OnStatus: func(e Event) { events <- e }})
	start(t, p, f)
	e := waitEvent(t, events, EventUnreachable)
	if !errors.Is(e.Err, ErrNoReply) {
		t.Fatalf("event %s", e)
	}
	f.mu.Lock()
	// The first request went out twice.
	if len(f.writes) < 2 || !bytes.Equal(f.writes[1], []byte{0x10, 0x04, 0x01}) {
		t.Fatalf("writes %X", f.writes)
	}
	answer = true
	f.mu.Unlock()
	waitEvent(t, events, EventRecovered)
}

func TestPlaybackHonoursXOFF(t *testing.T) {
	// The printer sends XOFF after the first 16 bytes of data and XON after
	// the host has asked for its status twice while paused; at most one
	// chunk in flight may arrive after the XOFF.
	const chunk = 8
	var data []byte
	paused, polls, afterXOFF, pausedPolls := false, 0, 0, 0
	f := &fakePort{reply: func(f *fakePort, w []byte) {
		if _, ok := isRequest(w); ok {
			f.readable = append(f.readable, 0x12)
			if paused {
				polls++
				if polls == 6 { // two full polls of three requests
					paused = false
					pausedPolls = polls
					f.readable = append(f.readable, xon)
				}
			}
			return
		}
		data = append(data, w...)
		if paused {
			afterXOFF += len(w)
		}
		if !paused && polls == 0 && len(data) >= 16 {
			paused = true
			f.readable = append(f.readable, xoff)
		}
	}}
	p := New(Opts{StatusInterval: 20 * time.Millisecond, ChunkSize: chunk, Baud: 1200, XOFFTimeout: time.Hour})
	start(t, p, f)
	waitSession(t, p)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r := workedExample()
	r.Blocks = append([]Block{Text{Text: "a long line that needs many chunks"}}, r.Blocks...)
	job, _ := Render(r, CP858)
	if _, err := p.Print(ctx, r); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !bytes.Equal(data, job.Bytes) {
		t.Fatalf("data\n% X\nwant\n% X", data, job.Bytes)
	}
	if pausedPolls != 6 || afterXOFF > chunk {
		t.Fatalf("%d bytes sent while paused, %d polls", afterXOFF, pausedPolls)
	}
}

func TestPlaybackCancelStopsBetweenCommands(t *testing.T) {
	// The caller gives up while the printer holds XOFF inside a long QR
	// store: the command is finished first (it has no break inside), so
	// the printer is never left expecting data.
	ctx, cancel := context.WithCancel(context.Background())
	var data []byte
	f := &fakePort{reply: func(f *fakePort, w []byte) {
		if _, ok := isRequest(w); ok {
			f.readable = append(f.readable, 0x12)
			return
		}
		data = append(data, w...)
		if len(data) > 30 && ctx.Err() == nil { // inside the QR store
			f.readable = append(f.readable, xoff)
			cancel()
		}
	}}
	p := New(Opts{StatusInterval: 20 * time.Millisecond, ChunkSize: 16, XOFFTimeout: 60 * time.Millisecond})
	start(t, p, f)
	r := Receipt{Blocks: []Block{QR{Data: string(bytes.Repeat([]byte("x"), 100))}, Cut{}}}
	job, _ := Render(r, CP858)
	ctx2, cancel2 := context.WithTimeout(ctx, 5*time.Second)
	defer cancel2()
	waitSession(t, p)
	_, err := p.Print(ctx2, r)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Print = %v", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	// 1B 40 1B 74 13, three settings (9, 8, 8 bytes), the store (108).
	if storeEnd := 5 + 9 + 8 + 8 + 108; len(data) != storeEnd || !bytes.Equal(data, job.Bytes[:storeEnd]) {
		t.Fatalf("stopped after %d of %d bytes, want the end of the QR store", len(data), len(job.Bytes))
	}
}

func TestPlaybackLateReplyIsNotTakenForTheNext(t *testing.T) {
	// The first DLE EOT 1 is answered only together with the second (a
	// reply held back); the extra reply must not answer DLE EOT 2.
	ones := 0
	f := &fakePort{reply: func(f *fakePort, w []byte) {
		n, ok := isRequest(w)
		if !ok {
			return
		}
		switch {
		case n == 1:
			ones++
			if ones == 2 {
				f.readable = append(f.readable, 0x12, 0x12)
			}
		case n == 2:
			f.readable = append(f.readable, 0x16) // cover open
		default:
			f.readable = append(f.readable, 0x12)
		}
	}}
	events := make(chan Event, 10)
	p := New(Opts{StatusInterval: time.Hour, ReplyTimeout: 30 * time.Millisecond, OnStatus: func(e Event) { events <- e }})
	start(t, p, f)
	if e := waitEvent(t, events, EventCoverOpen); !e.Status.CoverOpen {
		t.Fatalf("event %s", e)
	}
}
