package mhz19_test

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/drivers/mhz19"
)

// playback is a transport that expects exact writes and returns canned
// reads in order (periph's conntest idea). A read with nothing queued
// returns (0, nil), as serialport's does on its read timeout.
type playback struct {
	t *testing.T

	mu      sync.Mutex
	ops     []op
	flushes int
	alive   int
}

type op struct {
	write []byte // expected write, or
	read  []byte // bytes returned by one Read
}

func w(f mhz19.Frame) op  { return op{write: f[:]} }
func r(b ...byte) op      { return op{read: b} }
func rf(f mhz19.Frame) op { return op{read: f[:]} }

func (p *playback) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.ops) == 0 || p.ops[0].write == nil {
		p.t.Errorf("unexpected write % X", b)
		return 0, errors.New("playback: unexpected write")
	}
	if !bytes.Equal(b, p.ops[0].write) {
		p.t.Errorf("write % X, want % X", b, p.ops[0].write)
		return 0, errors.New("playback: wrong write")
	}
	p.ops = p.ops[1:]
	return len(b), nil
}

func (p *playback) Read(b []byte) (int, error) {
	p.mu.Lock()
	if len(p.ops) == 0 || p.ops[0].read == nil {
		p.mu.Unlock()
		time.Sleep(time.Millisecond)
		return 0, nil
	}
	n := copy(b, p.ops[0].read)
	p.ops[0].read = p.ops[0].read[n:]
	if len(p.ops[0].read) == 0 {
		p.ops = p.ops[1:]
	}
	p.mu.Unlock()
	return n, nil
}

func (p *playback) Flush() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.flushes++
	return nil
}

func (p *playback) MarkAlive() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.alive++
}

func (p *playback) done() {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.ops) != 0 {
		p.t.Errorf("%d exchanges not used, next %+v", len(p.ops), p.ops[0])
	}
}

func TestPlaybackSessionStartAndRead(t *testing.T) {
	r5000, _ := mhz19.RangeCommand(5000)
	p := &playback{t: t, ops: []op{
		w(r5000),
		w(mhz19.ABCCommand(false)),
		w(mhz19.ReadCommand()),
		r(0x00, 0xFF, 0x86, 0x02), // noise with a false header
		r(0xFF, 0x86, 0x02, 0x20), // the datasheet's 544 ppm, split
		r(0x00, 0x00, 0x00, 0x00, 0x58),
	}}
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
	p.done()
	if p.flushes != 3 || p.alive != 1 {
		t.Fatalf("flushes %d (want one per command, 3), alive %d (want 1)", p.flushes, p.alive)
	}
}

func TestPlaybackCommandThenVerifyingRead(t *testing.T) {
	r5000, _ := mhz19.RangeCommand(5000)
	r2000, _ := mhz19.RangeCommand(2000)
	p := &playback{t: t, ops: []op{
		w(r5000),
		w(mhz19.ReadCommand()),
		rf(mhz19.ReadResponse(2500, 25, 0)),
		w(r2000),
		w(mhz19.ReadCommand()),
		rf(mhz19.ReadResponse(2000, 25, 0)),
		w(mhz19.ReadCommand()),
		rf(mhz19.ReadResponse(2100, 25, 0)),
	}}
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
	p.done()
}

func TestPlaybackSilentSensorEndsSession(t *testing.T) {
	r5000, _ := mhz19.RangeCommand(5000)
	p := &playback{t: t, ops: []op{
		w(r5000),
		w(mhz19.ReadCommand()),
		r(0xFF, 0x86, 0x02, 0x20), // cut short: no valid reply
		w(mhz19.ReadCommand()),
		w(mhz19.ReadCommand()),
	}}
	s, _ := mhz19.New(mhz19.Opts{PollInterval: time.Millisecond, ReplyTimeout: 20 * time.Millisecond})
	err := s.Run(context.Background(), p)
	if !errors.Is(err, mhz19.ErrNoReply) {
		t.Fatalf("Run = %v, want ErrNoReply", err)
	}
	p.done()
	if _, err := s.Read(context.Background()); !errors.Is(err, mhz19.ErrNotConnected) {
		t.Fatalf("Read after Run = %v, want ErrNotConnected", err)
	}
}
