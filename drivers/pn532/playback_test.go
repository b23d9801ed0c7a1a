package pn532_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/drivers/pn532"
)

func h(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

// step is one expected write and the chunks the device returns for it.
type step struct {
	write []byte
	reads [][]byte
}

// playback is a transport that expects exact writes and answers with
// canned reads, in the manner of periph's conntest.
type playback struct {
	t *testing.T

	mu       sync.Mutex
	steps    []step
	pending  [][]byte
	done     chan struct{}
	failed   bool
	alive    int
	flushes  int
	overflow int
	ops      []string // "write" and "flush", in order
}

var errUnexpected = errors.New("unexpected write")

func (p *playback) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ops = append(p.ops, "write")
	if len(p.steps) == 0 || p.failed {
		p.overflow++
		return len(b), nil
	}
	s := p.steps[0]
	if !bytes.Equal(b, s.write) {
		p.t.Errorf("write % X, want % X (%d steps left)", b, s.write, len(p.steps))
		p.failed = true
		close(p.done)
		return 0, errUnexpected
	}
	p.steps = p.steps[1:]
	p.pending = append(p.pending, s.reads...)
	if len(p.steps) == 0 {
		close(p.done)
	}
	return len(b), nil
}

func (p *playback) Read(b []byte) (int, error) {
	p.mu.Lock()
	if len(p.pending) == 0 {
		p.mu.Unlock()
		time.Sleep(time.Millisecond) // like a serial read timeout, shorter
		return 0, nil
	}
	defer p.mu.Unlock()
	n := copy(b, p.pending[0])
	if n < len(p.pending[0]) {
		p.pending[0] = p.pending[0][n:]
	} else {
		p.pending = p.pending[1:]
	}
	return n, nil
}

func (p *playback) MarkAlive() {
	p.mu.Lock()
	p.alive++
	p.mu.Unlock()
}

// Flush discards unread input, as the real one does.
func (p *playback) Flush() error {
	p.mu.Lock()
	p.flushes++
	p.ops = append(p.ops, "flush")
	p.pending = nil
	p.mu.Unlock()
	return nil
}

// TestPlaybackExactBytes replays a whole session: start-up, a card, a
// damaged answer (NACK), a truncated answer (NACK after the timeout), two
// empty polls (removal), a lost command (resend), an error frame (resend)
// and a 7-byte card.
func TestPlaybackExactBytes(t *testing.T) {
	var (
		ack       = h("00 00 FF 00 FF 00")
		nack      = h("00 00 FF FF 00 00")
		inList    = h("00 00 FF 04 FC D4 4A 01 00 E1 00")
		cardReply = h("00 00 FF 0C F4 D5 4B 01 01 00 04 08 04 DE AD BE EF 96 00")
		badReply  = h("00 00 FF 0C F4 D5 4B 01 01 00 04 08 04 DE AD BE EF 97 00")
		noCard    = h("00 00 FF 03 FD D5 4B 00 E0 00")
		card7     = pn532.Encode(pn532.PN532ToHost, h("4B 01 01 00 44 00 07 04 11 22 33 44 55 66"))
	)
	p := &playback{t: t, done: make(chan struct{}), steps: []step{
		{h("55 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"), nil},
		{h("00 00 FF 05 FB D4 14 01 14 01 02 00"), [][]byte{h("00 00"), h("FF 00 FF 00 00 00 FF 02 FE D5"), h("15 16 00")}},
		{h("00 00 FF 02 FE D4 02 2A 00"), [][]byte{ack, h("00 00 FF 06 FA D5 03 32 01 06 07 E8 00")}},
		{h("00 00 FF 06 FA D4 32 05 FF 01 02 F3 00"), [][]byte{ack, h("00 00 FF 02 FE D5 33 F8 00")}},
		{inList, [][]byte{ack, cardReply[:7], cardReply[7:]}},
		{inList, [][]byte{ack, badReply}},
		{nack, [][]byte{cardReply}},
		{inList, [][]byte{ack, cardReply[:9]}},
		{nack, [][]byte{cardReply}},
		{inList, [][]byte{ack, noCard}},
		{inList, [][]byte{ack, noCard}},
		{inList, nil}, // lost: no ACK
		{inList, [][]byte{ack, pn532.ErrorFrame()}},
		{inList, [][]byte{ack, card7}},
	}}
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	events := make(chan pn532.Event, 16)
	r := pn532.New(pn532.Opts{
		PollInterval:    5 * time.Millisecond,
		AckTimeout:      30 * time.Millisecond,
		ResponseTimeout: 100 * time.Millisecond,
		OnEvent:         func(e pn532.Event) { events <- e },
		Now:             func() time.Time { return t0 },
	})
	if _, err := r.Exchange(context.Background(), pn532.CmdGetFirmwareVersion); !errors.Is(err, pn532.ErrNotConnected) {
		t.Fatalf("Exchange without a session: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	runErr := make(chan error, 1)
	go func() { runErr <- r.Run(ctx, p) }()

	want := []string{"presented DEADBEEF", "removed DEADBEEF", "presented 04112233445566"}
	for _, w := range want {
		select {
		case e := <-events:
			if got := e.Kind.String() + " " + e.UID; got != w || !e.Time.Equal(t0) {
				t.Fatalf("event %s at %s, want %s at %s", got, e.Time, w, t0)
			}
		case err := <-runErr:
			t.Fatalf("Run ended early: %v", err)
		case <-time.After(5 * time.Second):
			t.Fatalf("no event %q within 5s", w)
		}
	}
	<-p.done
	cancel()
	if err := <-runErr; err != nil {
		t.Fatalf("Run = %v, want nil after cancel", err)
	}
	if e := <-events; e.Kind != pn532.Removed || e.UID != "04112233445566" {
		t.Fatalf("at the end of Run: %s %s, want the card removed", e.Kind, e.UID)
	}
	fw, ok := r.Firmware()
	if !ok || fw.Version != 1 || fw.Revision != 6 || fw.IC != 0x32 {
		t.Fatalf("firmware %v, %v", fw, ok)
	}
	if r.BadFrames() < 1 || r.Retries() != 4 {
		t.Fatalf("bad frames %d, retries %d; want ≥1 and 4 (2 NACKs, 2 resends)", r.BadFrames(), r.Retries())
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.failed || p.alive == 0 || p.flushes == 0 {
		t.Fatalf("failed %v, MarkAlive calls %d, flushes %d", p.failed, p.alive, p.flushes)
	}
	// Never flushed right after the wake-up: it would be thrown away
	// before it left the UART.
	if p.ops[0] != "write" || p.ops[1] != "write" {
		t.Fatalf("operations start %v, want the wake-up and SAMConfiguration written back to back", p.ops[:2])
	}
}

// TestSilentChipEndsRun: no ACK to anything → Run returns ErrNoResponse
// after the bounded resends, so the port owner can report a fault.
func TestSilentChipEndsRun(t *testing.T) {
	p := &playback{t: t, done: make(chan struct{})}
	r := pn532.New(pn532.Opts{AckTimeout: 10 * time.Millisecond})
	err := r.Run(context.Background(), p)
	if !errors.Is(err, pn532.ErrNoResponse) || !strings.HasPrefix(err.Error(), "pn532: SAMConfiguration") {
		t.Fatalf("Run = %v, want a SAMConfiguration ErrNoResponse", err)
	}
	if p.overflow != 1+3 {
		t.Fatalf("%d writes, want the wake-up and 3 attempts", p.overflow)
	}
	if _, ok := r.Firmware(); ok {
		t.Fatal("firmware known without an answer")
	}
}
