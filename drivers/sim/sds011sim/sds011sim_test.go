package sds011sim

import (
	"bytes"
	"context"
	"encoding/hex"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/drivers/sds011"
	"github.com/quartierhub/quartierhub/drivers/sim"
)

func unhexs(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// host is the driver's side of the pty, read raw.
type host struct {
	t    *testing.T
	port *sim.Port
	f    *os.File
}

func start(t *testing.T, dev *Device) *host {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p, err := sim.Start(ctx, dev, sim.Opts{})
	if err != nil {
		t.Fatal(err)
	}
	h := &host{t: t, port: p}
	h.open()
	t.Cleanup(func() {
		cancel()
		if h.f != nil {
			h.f.Close()
		}
		p.Close()
	})
	return h
}

func (h *host) open() {
	h.t.Helper()
	f, err := os.OpenFile(h.port.TTY(), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		h.t.Fatal(err)
	}
	h.f = f
}

func (h *host) send(c sds011.Command) {
	h.t.Helper()
	if _, err := h.f.Write(c.Bytes()); err != nil {
		h.t.Fatal(err)
	}
}

// expect reads exactly len(want) bytes and compares them.
func (h *host) expect(want []byte) {
	h.t.Helper()
	got := make([]byte, len(want))
	if err := h.f.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		h.t.Fatal(err)
	}
	if _, err := io.ReadFull(h.f, got); err != nil {
		h.t.Fatalf("reading % X: %v", want, err)
	}
	if !bytes.Equal(got, want) {
		h.t.Fatalf("got % X, want % X", got, want)
	}
}

// quietDevice sends no unasked data, so replies can be compared byte by byte.
func quietDevice() *Device {
	d := New(Opts{DataBeforeReply: -1})
	d.SetMode(sds011.Query)
	return d
}

func TestProtocolExamples(t *testing.T) {
	d := quietDevice()
	h := start(t, d)
	h.send(sds011.NewCommand(sds011.CmdFirmware, 0, 0))
	h.expect(unhexs(t, "AA C5 07 0F 07 0A A1 60 28 AB"))
	h.send(sds011.NewCommand(sds011.CmdQueryData, 0, 0))
	h.expect(unhexs(t, "AA C0 7B 00 C8 01 A1 60 45 AB"))
	h.send(sds011.NewCommand(sds011.CmdSleepWork, 1, 0))
	h.expect(unhexs(t, "AA C5 06 01 00 00 A1 60 08 AB"))
	if !d.Asleep() {
		t.Fatal("not asleep after the sleep command")
	}
	// Asleep: the query goes unanswered, the firmware question is answered.
	h.send(sds011.NewCommand(sds011.CmdQueryData, 0, 0))
	h.send(sds011.NewCommand(sds011.CmdFirmware, 0, 0))
	h.expect(unhexs(t, "AA C5 07 0F 07 0A A1 60 28 AB"))
	h.send(sds011.NewCommand(sds011.CmdSleepWork, 1, 1))
	h.expect(sds011.ReplyFrame(sds011.CmdSleepWork, 1, 1, 0, 0xA160).Bytes())
	h.send(sds011.NewCommand(sds011.CmdReportingMode, 0, 0))
	h.expect(sds011.ReplyFrame(sds011.CmdReportingMode, 0, 1, 0, 0xA160).Bytes())
	h.send(sds011.NewCommand(sds011.CmdWorkingPeriod, 1, 7))
	h.expect(sds011.ReplyFrame(sds011.CmdWorkingPeriod, 1, 7, 0, 0xA160).Bytes())
	// Out of range values go out as they are, up to what the wire carries.
	if err := d.Set(1200, 5); err != nil {
		t.Fatal(err)
	}
	if err := d.Set(6553.6, 5); err == nil {
		t.Fatal("6553.6 accepted")
	}
	h.send(sds011.NewCommand(sds011.CmdQueryData, 0, 0))
	h.expect(sds011.DataFrame(12000, 50, 0xA160).Bytes())
	// A command for another sensor is ignored; one for this id is not.
	other := sds011.NewCommand(sds011.CmdFirmware, 0, 0)
	other.ID = 0x1234
	mine := other
	mine.ID = 0xA160
	h.send(other)
	h.send(mine)
	h.expect(unhexs(t, "AA C5 07 0F 07 0A A1 60 28 AB"))
}

func TestSetDeviceID(t *testing.T) {
	h := start(t, quietDevice())
	c := sds011.NewCommand(sds011.CmdDeviceID, 0, 0)
	c.Data[10], c.Data[11] = 0x12, 0x34
	h.send(c)
	h.expect(sds011.ReplyFrame(sds011.CmdDeviceID, 0, 0, 0, 0x1234).Bytes())
	h.send(sds011.NewCommand(sds011.CmdQueryData, 0, 0))
	h.expect(sds011.DataFrame(123, 456, 0x1234).Bytes())
}

func TestActiveModeDataBeforeReply(t *testing.T) {
	d := New(Opts{Interval: time.Hour, DataBeforeReply: 3})
	h := start(t, d)
	h.send(sds011.NewCommand(sds011.CmdReportingMode, 1, 0))
	data := sds011.DataFrame(123, 456, 0xA160).Bytes()
	for range 3 {
		h.expect(data)
	}
	h.expect(sds011.ReplyFrame(sds011.CmdReportingMode, 1, 0, 0, 0xA160).Bytes())
}

func TestActiveModeStreams(t *testing.T) {
	d := New(Opts{Interval: 20 * time.Millisecond})
	h := start(t, d)
	data := sds011.DataFrame(123, 456, 0xA160).Bytes()
	h.expect(data)
	h.expect(data)
	if err := d.Set(0, 0); err != nil {
		t.Fatal(err)
	}
	// At most one old frame may already be on its way.
	want := sds011.DataFrame(0, 0, 0xA160).Bytes()
	got := make([]byte, len(want))
	for i := 0; ; i++ {
		h.f.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadFull(h.f, got); err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(got, want) {
			break
		}
		if i > 1 {
			t.Fatalf("got % X, want % X", got, want)
		}
	}
}

func TestSleepRepliesNone(t *testing.T) {
	d := quietDevice()
	d.SetSleepReplies(RepliesNone)
	h := start(t, d)
	d.SetAsleep(true)
	h.send(sds011.NewCommand(sds011.CmdFirmware, 0, 0))      // unanswered
	h.send(sds011.NewCommand(sds011.CmdSleepWork, 1, 1))     // wakes, unanswered
	h.send(sds011.NewCommand(sds011.CmdWorkingPeriod, 0, 0)) // answered
	h.expect(sds011.ReplyFrame(sds011.CmdWorkingPeriod, 0, 0, 0, 0xA160).Bytes())
	if d.Asleep() {
		t.Fatal("work did not wake the sensor")
	}
}

func TestPersistenceAcrossReplug(t *testing.T) {
	d := New(Opts{DataBeforeReply: -1})
	h := start(t, d)
	h.send(sds011.NewCommand(sds011.CmdReportingMode, 1, 1))
	// A data frame may precede the reply while still in active mode.
	reply := sds011.ReplyFrame(sds011.CmdReportingMode, 1, 1, 0, 0xA160).Bytes()
	var sc sds011.Scanner
	buf := make([]byte, 32)
	for found := false; !found; {
		h.f.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := h.f.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		sc.Write(buf[:n])
		for f, ok := sc.Next(); ok; f, ok = sc.Next() {
			found = found || bytes.Equal(f.Bytes(), reply)
		}
	}
	h.send(sds011.NewCommand(sds011.CmdWorkingPeriod, 1, 5))
	h.expect(sds011.ReplyFrame(sds011.CmdWorkingPeriod, 1, 5, 0, 0xA160).Bytes())
	h.send(sds011.NewCommand(sds011.CmdSleepWork, 1, 0))
	h.expect(sds011.ReplyFrame(sds011.CmdSleepWork, 1, 0, 0, 0xA160).Bytes())

	h.f.Close()
	h.f = nil
	if err := h.port.Unplug(); err != nil {
		t.Fatal(err)
	}
	if err := h.port.Replug(); err != nil {
		t.Fatal(err)
	}
	h.open()
	h.send(sds011.NewCommand(sds011.CmdSleepWork, 0, 0))
	h.expect(sds011.ReplyFrame(sds011.CmdSleepWork, 0, 1, 0, 0xA160).Bytes()) // awake again
	if d.Mode() != sds011.Query || d.WorkingPeriod() != 5 {
		t.Fatalf("after replug: mode %s, period %d; want query, 5", d.Mode(), d.WorkingPeriod())
	}
}

func TestScriptCommands(t *testing.T) {
	d := New(Opts{})
	ok := []string{"set 12.3 45.6", "set 1200 5", "mode query", "mode active", "sleep", "wake",
		"period 30", "period 0", "sleepreplies none", "sleepreplies all", "replydelay 0",
		"interval 50ms", "id A160"}
	for _, c := range ok {
		if err := d.Do(strings.Fields(c)); err != nil {
			t.Errorf("%s: %v", c, err)
		}
	}
	bad := []string{"set 1", "set -1 2", "set x 2", "set 6554 1", "mode fast", "period 31", "period x",
		"sleepreplies some", "replydelay -1", "interval 0s", "id XYZ", "frobnicate"}
	for _, c := range bad {
		if err := d.Do(strings.Fields(c)); err == nil {
			t.Errorf("%s: accepted", c)
		}
	}
	for _, c := range ok {
		if !strings.Contains(d.Help(), strings.Fields(c)[0]) {
			t.Errorf("help does not mention %q", strings.Fields(c)[0])
		}
	}
	if !strings.HasPrefix(d.String(), "sds011sim(") || RepliesNone.String() != "none" {
		t.Error("String()")
	}
}

func TestCorruptBreaksChecksum(t *testing.T) {
	f := sds011.DataFrame(123, 456, 0xA160).Bytes()
	var sc sds011.Scanner
	sc.Write(corrupt(f))
	if _, ok := sc.Next(); ok || sc.Bad() != 1 {
		t.Fatal("corrupted frame accepted")
	}
}
