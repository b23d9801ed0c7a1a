package sds011_test

import (
	"context"
	"encoding/hex"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/drivers/internal/conntest"
	"github.com/quartierhub/quartierhub/drivers/sds011"
)

// step is one expected write and the bytes the sensor answers with.
type step struct{ write, read string }

func bytesOf(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Command frames spelled out byte by byte (docs/protocols.md's table, id FF FF).
const (
	cmdWork       = "AA B4 06 01 01 00 00 00 00 00 00 00 00 00 00 FF FF 06 AB"
	cmdSetActive  = "AA B4 02 01 00 00 00 00 00 00 00 00 00 00 00 FF FF 01 AB"
	cmdSetQuery   = "AA B4 02 01 01 00 00 00 00 00 00 00 00 00 00 FF FF 02 AB"
	cmdPeriod0    = "AA B4 08 01 00 00 00 00 00 00 00 00 00 00 00 FF FF 07 AB"
	cmdQueryData  = "AA B4 04 00 00 00 00 00 00 00 00 00 00 00 00 FF FF 02 AB"
	cmdFirmware   = "AA B4 07 00 00 00 00 00 00 00 00 00 00 00 00 FF FF 05 AB"
	cmdSleep      = "AA B4 06 01 00 00 00 00 00 00 00 00 00 00 00 FF FF 05 AB"
	data123456    = "AA C0 7B 00 C8 01 A1 60 45 AB"
	replyWork     = "AA C5 06 01 01 00 A1 60 09 AB"
	replySleep    = "AA C5 06 01 00 00 A1 60 08 AB"
	replyActive   = "AA C5 02 01 00 00 A1 60 04 AB"
	replyQuery    = "AA C5 02 01 01 00 A1 60 05 AB"
	replyPeriod0  = "AA C5 08 01 00 00 A1 60 0A AB"
	replyFirmware = "AA C5 07 0F 07 0A A1 60 28 AB"
	noise         = "AA 00 AA AB"
)

// runPlayback expects exactly the listed writes, in order, and answers each
// in chunks of 3 bytes.
func runPlayback(t *testing.T, opts sds011.Opts, steps []step, api func(ctx context.Context, s *sds011.Sensor)) *conntest.Playback {
	t.Helper()
	p := &conntest.Playback{T: t, MaxRead: 3}
	for _, s := range steps {
		p.Steps = append(p.Steps, conntest.Step{W: bytesOf(t, s.write), R: [][]byte{bytesOf(t, s.read)}})
	}
	readings := make(chan sds011.Reading, 100)
	opts.OnReading = func(r sds011.Reading) { readings <- r }
	opts.Logger = slog.New(slog.NewTextHandler(t.Output(), nil))
	s := sds011.New(opts)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, p) }()
	select {
	case r := <-readings:
		if r.PM25 != 12.3 || r.PM10 != 45.6 || r.DeviceID != 0xA160 {
			t.Errorf("reading %v", r)
		}
	case <-time.After(wait):
		t.Fatal("no reading")
	}
	api(ctx, s)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if left := p.Left(); left != 0 {
		t.Fatalf("%d expected exchanges not used", left)
	}
	return p
}

func TestPlaybackActiveSession(t *testing.T) {
	p := runPlayback(t, sds011.Opts{}, []step{
		{cmdWork, noise + data123456 + replyWork},
		{cmdSetActive, data123456 + data123456 + replyActive},
		{cmdPeriod0, replyPeriod0},
		{cmdFirmware, data123456 + replyFirmware},
		{cmdSleep, replySleep},
	}, func(ctx context.Context, s *sds011.Sensor) {
		v, err := s.Firmware(ctx)
		if err != nil || v.String() != "2015-07-10" {
			t.Errorf("Firmware = %v, %v", v, err)
		}
		if err := s.Sleep(ctx); err != nil {
			t.Error(err)
		}
	})
	if alive := p.Alive(); alive != 9 {
		t.Fatalf("MarkAlive called %d times, want 9 (one per valid frame)", alive)
	}
}

func TestPlaybackQuerySession(t *testing.T) {
	runPlayback(t, sds011.Opts{Mode: sds011.Query}, []step{
		{cmdWork, replyWork},
		{cmdSetQuery, replyQuery},
		{cmdPeriod0, replyPeriod0},
		{cmdQueryData, data123456},
	}, func(context.Context, *sds011.Sensor) {})
}
