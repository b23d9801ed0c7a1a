package escpos

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/drivers/internal/conntest"
	"github.com/quartierhub/quartierhub/internal/testutil"
)

// isRequest reports the n of a DLE EOT n write.
func isRequest(w []byte) (byte, bool) {
	if len(w) == 3 && w[0] == 0x10 && w[1] == 0x04 {
		return w[2], true
	}
	return 0, false
}

// printer is a scripted printer on the other side of the transport: every
// write is recorded and answered by reply, under the playback's lock (see
// Playback.Locked).
func printer(t *testing.T, reply func(w []byte) []byte) *conntest.Playback {
	return &conntest.Playback{T: t, Respond: reply}
}

// start runs p on f until the test ends.
func start(t *testing.T, p *Printer, f *conntest.Playback) {
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
	testutil.Eventually(t, "a session that polled once", func() bool {
		_, ok := p.LastStatus()
		return ok
	})
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
	f := printer(t, func(w []byte) []byte {
		if n, ok := isRequest(w); ok {
			r := byte(0x12)
			if jobDone && n == 4 {
				r = 0x1E
			}
			return []byte{r}
		}
		if bytes.HasSuffix(w, []byte{0x1D, 0x56, 0x42, 0x00}) {
			jobDone = true
		}
		return nil
	})
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
	if written := f.Written(); !bytes.Equal(written, want) {
		t.Fatalf("written\n% X\nwant\n% X", written, want)
	}
	// Chunks of at most 10 bytes, each ending between commands.
	writes := f.Writes()
	for _, w := range writes {
		if len(w) > 10 {
			t.Fatalf("chunk of %d bytes: % X", len(w), w)
		}
	}
	for _, w := range [][]byte{hexBytes(t, "1B 40 1B 74 13 1B 61 01"), hexBytes(t, "1B 45 01 1D 21 11")} {
		found := false
		for _, got := range writes {
			found = found || bytes.Equal(got, w)
		}
		if !found {
			t.Errorf("no chunk % X in %X", w, writes)
		}
	}
	if f.Alive() != 9 {
		t.Fatalf("MarkAlive called %d times, want 9", f.Alive())
	}
}

func TestPlaybackErrorCauseAsked(t *testing.T) {
	f := printer(t, func(w []byte) []byte {
		if n, ok := isRequest(w); ok {
			return []byte{map[byte]byte{1: 0x1A, 2: 0x52, 3: 0x36, 4: 0x12}[n]}
		}
		return nil
	})
	events := make(chan Event, 10)
	p := New(Opts{StatusInterval: time.Hour, OnStatus: func(e Event) { events <- e }})
	start(t, p, f)
	e := waitEvent(t, events, EventFault)
	if e.Status.Cause != ErrMechanical|ErrUnrecoverable || e.Status.Online {
		t.Fatalf("event %s", e)
	}
	if want, written := hexBytes(t, "10 04 01 10 04 02 10 04 04 10 04 03"), f.Written(); !bytes.Equal(written, want) {
		t.Fatalf("written % X", written)
	}
}

func TestPlaybackNoReplyRetriesThenUnreachable(t *testing.T) {
	answer := false
	f := printer(t, func(w []byte) []byte {
		if _, ok := isRequest(w); ok && answer {
			return []byte{0x12}
		}
		return nil
	})
	events := make(chan Event, 10)
	p := New(Opts{StatusInterval: 20 * time.Millisecond, ReplyTimeout: 20 * time.Millisecond, OnStatus: func(e Event) { events <- e }})
	start(t, p, f)
	e := waitEvent(t, events, EventUnreachable)
	if !errors.Is(e.Err, ErrNoReply) {
		t.Fatalf("event %s", e)
	}
	// The first request went out twice.
	if writes := f.Writes(); len(writes) < 2 || !bytes.Equal(writes[1], []byte{0x10, 0x04, 0x01}) {
		t.Fatalf("writes %X", writes)
	}
	f.Locked(func() { answer = true })
	waitEvent(t, events, EventRecovered)
}

func TestPlaybackHonoursXOFF(t *testing.T) {
	// The printer sends XOFF after the first 16 bytes of data and XON after
	// the host has asked for its status twice while paused; at most one
	// chunk in flight may arrive after the XOFF.
	const chunk = 8
	var data []byte
	paused, polls, afterXOFF, pausedPolls := false, 0, 0, 0
	f := printer(t, func(w []byte) []byte {
		if _, ok := isRequest(w); ok {
			if paused {
				polls++
				if polls == 6 { // two full polls of three requests
					paused = false
					pausedPolls = polls
					return []byte{0x12, xon}
				}
			}
			return []byte{0x12}
		}
		data = append(data, w...)
		if paused {
			afterXOFF += len(w)
		}
		if !paused && polls == 0 && len(data) >= 16 {
			paused = true
			return []byte{xoff}
		}
		return nil
	})
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
	f.Locked(func() {
		if !bytes.Equal(data, job.Bytes) {
			t.Errorf("data\n% X\nwant\n% X", data, job.Bytes)
		}
		if pausedPolls != 6 || afterXOFF > chunk {
			t.Errorf("%d bytes sent while paused, %d polls", afterXOFF, pausedPolls)
		}
	})
}

func TestPlaybackCancelStopsBetweenCommands(t *testing.T) {
	// The caller gives up while the printer holds XOFF inside a long QR
	// store: the command is finished first (it has no break inside), so
	// the printer is never left expecting data.
	ctx, cancel := context.WithCancel(context.Background())
	var data []byte
	f := printer(t, func(w []byte) []byte {
		if _, ok := isRequest(w); ok {
			return []byte{0x12}
		}
		data = append(data, w...)
		if len(data) > 30 && ctx.Err() == nil { // inside the QR store
			cancel()
			return []byte{xoff}
		}
		return nil
	})
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
	// 1B 40 1B 74 13, three settings (9, 8, 8 bytes), the store (108).
	f.Locked(func() {
		if storeEnd := 5 + 9 + 8 + 8 + 108; len(data) != storeEnd || !bytes.Equal(data, job.Bytes[:storeEnd]) {
			t.Errorf("stopped after %d of %d bytes, want the end of the QR store", len(data), len(job.Bytes))
		}
	})
}

func TestPlaybackLateReplyIsNotTakenForTheNext(t *testing.T) {
	// The first DLE EOT 1 is answered only together with the second (a
	// reply held back); the extra reply must not answer DLE EOT 2.
	ones := 0
	f := printer(t, func(w []byte) []byte {
		n, ok := isRequest(w)
		if !ok {
			return nil
		}
		switch {
		case n == 1:
			ones++
			if ones == 2 {
				return []byte{0x12, 0x12}
			}
			return nil
		case n == 2:
			return []byte{0x16} // cover open
		default:
			return []byte{0x12}
		}
	})
	events := make(chan Event, 10)
	p := New(Opts{StatusInterval: time.Hour, ReplyTimeout: 30 * time.Millisecond, OnStatus: func(e Event) { events <- e }})
	start(t, p, f)
	if e := waitEvent(t, events, EventCoverOpen); !e.Status.CoverOpen {
		t.Fatalf("event %s", e)
	}
}
