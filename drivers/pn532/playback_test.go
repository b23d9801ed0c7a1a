package pn532_test

import (
	"context"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/drivers/internal/conntest"
	"github.com/quartierhub/quartierhub/drivers/pn532"
)

func h(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
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
	// Flush discards pending input, as serialport's does; the reader keeps
	// polling after the script.
	p := &conntest.Playback{T: t, FlushDiscards: true, AllowExtra: true, Steps: []conntest.Step{
		{W: h("55 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00")},
		{W: h("00 00 FF 05 FB D4 14 01 14 01 02 00"), R: [][]byte{h("00 00"), h("FF 00 FF 00 00 00 FF 02 FE D5"), h("15 16 00")}},
		{W: h("00 00 FF 02 FE D4 02 2A 00"), R: [][]byte{ack, h("00 00 FF 06 FA D5 03 32 01 06 07 E8 00")}},
		{W: h("00 00 FF 06 FA D4 32 05 FF 01 02 F3 00"), R: [][]byte{ack, h("00 00 FF 02 FE D5 33 F8 00")}},
		{W: inList, R: [][]byte{ack, cardReply[:7], cardReply[7:]}},
		{W: inList, R: [][]byte{ack, badReply}},
		{W: nack, R: [][]byte{cardReply}},
		{W: inList, R: [][]byte{ack, cardReply[:9]}},
		{W: nack, R: [][]byte{cardReply}},
		{W: inList, R: [][]byte{ack, noCard}},
		{W: inList, R: [][]byte{ack, noCard}},
		{W: inList}, // lost: no ACK
		{W: inList, R: [][]byte{ack, pn532.ErrorFrame()}},
		{W: inList, R: [][]byte{ack, card7}},
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
	<-p.Done()
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
	if p.Failed() || p.Alive() == 0 || p.Flushes() == 0 {
		t.Fatalf("failed %v, MarkAlive calls %d, flushes %d", p.Failed(), p.Alive(), p.Flushes())
	}
	// Never flushed right after the wake-up: it would be thrown away
	// before it left the UART.
	if ops := p.Ops(); ops[0] != conntest.OpWrite || ops[1] != conntest.OpWrite {
		t.Fatalf("operations start %v, want the wake-up and SAMConfiguration written back to back", ops[:2])
	}
}

// TestSilentChipEndsRun: no ACK to anything → Run returns ErrNoResponse
// after the bounded resends, so the port owner can report a fault.
func TestSilentChipEndsRun(t *testing.T) {
	p := &conntest.Playback{T: t, FlushDiscards: true, AllowExtra: true}
	r := pn532.New(pn532.Opts{AckTimeout: 10 * time.Millisecond})
	err := r.Run(context.Background(), p)
	if !errors.Is(err, pn532.ErrNoResponse) || !strings.HasPrefix(err.Error(), "pn532: SAMConfiguration") {
		t.Fatalf("Run = %v, want a SAMConfiguration ErrNoResponse", err)
	}
	if p.Extra() != 1+3 {
		t.Fatalf("%d writes, want the wake-up and 3 attempts", p.Extra())
	}
	if _, ok := r.Firmware(); ok {
		t.Fatal("firmware known without an answer")
	}
}
