package mhz19_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/drivers/internal/conntest"
	"github.com/quartierhub/quartierhub/drivers/mhz19"
)

// b is a frame as the bytes on the wire.
func b(f mhz19.Frame) []byte { return f[:] }

// newPlayback expects exactly steps. Flush only counts: an answer left
// unread when the driver writes again fails the write (Lockstep), which is
// stricter than discarding it as the real port would.
func newPlayback(t *testing.T, steps ...conntest.Step) *conntest.Playback {
	return &conntest.Playback{T: t, Lockstep: true, Steps: steps}
}

func TestPlaybackSessionStartAndRead(t *testing.T) {
	r5000, _ := mhz19.RangeCommand(5000)
	p := newPlayback(t,
		conntest.Step{W: b(r5000)},
		conntest.Step{W: b(mhz19.ABCCommand(false))},
		conntest.Step{W: b(mhz19.ReadCommand()), R: [][]byte{
			{0x00, 0xFF, 0x86, 0x02}, // noise with a false header
			{0xFF, 0x86, 0x02, 0x20}, // the datasheet's 544 ppm, split
			{0x00, 0x00, 0x00, 0x00, 0x58},
		}},
	)
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	got := make(chan mhz19.Reading, 1)
	s, err := mhz19.New(mhz19.Opts{
		ABC:          mhz19.ABCOff,
		PollInterval: time.Hour,
		Now:          func() time.Time { return at },
		OnReading:    func(r mhz19.Reading) { got <- r },
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, p) }()
	var rd mhz19.Reading
	select {
	case rd = <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("no reading")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v", err)
	}
	want := mhz19.Reading{CO2: 544, Unit: "ppm", TempC: -40, Time: at, WarmingUp: true}
	if rd != want {
		t.Fatalf("reading %v, want %v", rd, want)
	}
	p.CheckFinished()
	if p.Flushes() != 3 || p.Alive() != 1 {
		t.Fatalf("flushes %d (want one per command, 3), alive %d (want 1)", p.Flushes(), p.Alive())
	}
}

func TestPlaybackCommandThenVerifyingRead(t *testing.T) {
	r5000, _ := mhz19.RangeCommand(5000)
	r2000, _ := mhz19.RangeCommand(2000)
	p := newPlayback(t,
		conntest.Step{W: b(r5000)},
		conntest.Step{W: b(mhz19.ReadCommand()), R: [][]byte{b(mhz19.ReadResponse(2500, 25, 0))}},
		conntest.Step{W: b(r2000)},
		conntest.Step{W: b(mhz19.ReadCommand()), R: [][]byte{b(mhz19.ReadResponse(2000, 25, 0))}},
		conntest.Step{W: b(mhz19.ReadCommand()), R: [][]byte{b(mhz19.ReadResponse(2100, 25, 0))}},
	)
	first := make(chan mhz19.Reading, 1)
	s, _ := mhz19.New(mhz19.Opts{PollInterval: time.Hour, OnReading: func(r mhz19.Reading) { first <- r }})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, p) }()
	<-first
	if err := s.SetRange(ctx, 2000); err != nil {
		t.Fatal(err)
	}
	if s.Range() != 2000 {
		t.Fatalf("Range = %d", s.Range())
	}
	// 2100 ppm is now above the detection range: returned, with the reason.
	rd, err := s.Read(ctx)
	if !errors.Is(err, mhz19.ErrOutOfRange) || rd.CO2 != 2100 {
		t.Fatalf("Read = %v, %v; want 2100 ppm rejected", rd, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	p.CheckFinished()
}

func TestPlaybackSilentSensorEndsSession(t *testing.T) {
	r5000, _ := mhz19.RangeCommand(5000)
	p := newPlayback(t,
		conntest.Step{W: b(r5000)},
		conntest.Step{W: b(mhz19.ReadCommand()), R: [][]byte{{0xFF, 0x86, 0x02, 0x20}}}, // cut short: no valid reply
		conntest.Step{W: b(mhz19.ReadCommand())},
		conntest.Step{W: b(mhz19.ReadCommand())},
	)
	s, _ := mhz19.New(mhz19.Opts{PollInterval: time.Millisecond, ReplyTimeout: 20 * time.Millisecond})
	err := s.Run(context.Background(), p)
	if !errors.Is(err, mhz19.ErrNoReply) {
		t.Fatalf("Run = %v, want ErrNoReply", err)
	}
	p.CheckFinished()
	if _, err := s.Read(context.Background()); !errors.Is(err, mhz19.ErrNotConnected) {
		t.Fatalf("Read after Run = %v, want ErrNotConnected", err)
	}
}
