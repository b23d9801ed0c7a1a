package pn532sim_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/drivers/pn532"
	"github.com/quartierhub/quartierhub/drivers/serialport"
	"github.com/quartierhub/quartierhub/drivers/sim"
	"github.com/quartierhub/quartierhub/drivers/sim/pn532sim"
	"github.com/quartierhub/quartierhub/internal/testutil"
)

func h(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

var (
	ack       = h("00 00 FF 00 FF 00")
	nack      = h("00 00 FF FF 00 00")
	wake      = h("55 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00")
	getFW     = h("00 00 FF 02 FE D4 02 2A 00")
	fwReply   = h("00 00 FF 06 FA D5 03 32 01 06 07 E8 00")
	sam       = h("00 00 FF 05 FB D4 14 01 14 01 02 00")
	samReply  = h("00 00 FF 02 FE D5 15 16 00")
	inList    = h("00 00 FF 04 FC D4 4A 01 00 E1 00")
	cardReply = h("00 00 FF 0C F4 D5 4B 01 01 00 04 08 04 DE AD BE EF 96 00")
	noCard    = h("00 00 FF 03 FD D5 4B 00 E0 00")
)

// host is the other end of the wire: a raw serial port on the simulator's
// pty, written to and read from byte by byte.
type host struct {
	t    *testing.T
	dev  *pn532sim.Device
	port *sim.Port
	rwc  io.ReadWriteCloser
	got  chan []byte
	buf  []byte
}

func newHost(t *testing.T) *host {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	d := pn532sim.New(pn532sim.Opts{})
	p, err := sim.Start(ctx, d, sim.Opts{Link: filepath.Join(t.TempDir(), "nfc")})
	if err != nil {
		t.Fatal(err)
	}
	rwc, err := serialport.OpenTarm(p.Path(), 115200, 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	hs := &host{t: t, dev: d, port: p, rwc: rwc, got: make(chan []byte, 64)}
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		b := make([]byte, 256)
		for ctx.Err() == nil {
			n, err := rwc.Read(b)
			if n > 0 {
				hs.got <- append([]byte(nil), b[:n]...)
			}
			if err != nil && err != io.EOF {
				return
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-readDone
		rwc.Close()
		p.Close()
	})
	return hs
}

func (hs *host) send(frames ...[]byte) {
	hs.t.Helper()
	for _, f := range frames {
		if _, err := hs.rwc.Write(f); err != nil {
			hs.t.Fatal(err)
		}
	}
}

// expect reads exactly the bytes of want (concatenated) next.
func (hs *host) expect(want ...[]byte) {
	hs.t.Helper()
	w := bytes.Join(want, nil)
	deadline := time.After(5 * time.Second)
	for len(hs.buf) < len(w) {
		select {
		case b := <-hs.got:
			hs.buf = append(hs.buf, b...)
		case <-deadline:
			hs.t.Fatalf("got % X, want % X", hs.buf, w)
		}
	}
	if !bytes.Equal(hs.buf[:len(w)], w) {
		hs.t.Fatalf("got % X, want % X", hs.buf, w)
	}
	hs.buf = hs.buf[len(w):]
}

func TestProtocolExamplesByteForByte(t *testing.T) {
	hs := newHost(t)
	// Before the wake-up the chip sleeps: this command goes unanswered.
	hs.send(getFW)
	hs.send(wake, sam)
	hs.expect(ack, samReply)
	hs.send(getFW)
	hs.expect(ack, fwReply)
	if err := hs.dev.Present("DEADBEEF"); err != nil {
		t.Fatal(err)
	}
	hs.send(inList)
	hs.expect(ack, cardReply)
	// NACK: the last response again, byte for byte.
	hs.send(nack)
	hs.expect(cardReply)
	if hs.dev.NACKs() != 1 {
		t.Fatalf("NACKs = %d", hs.dev.NACKs())
	}
	cmds := hs.dev.Commands()
	if !bytes.Equal(cmds, []byte{0x14, 0x02, 0x4A}) {
		t.Fatalf("commands = % X (the one before wake-up must be lost)", cmds)
	}
}

func TestInListPassiveTargetWaitsUnlessRetriesAreLimited(t *testing.T) {
	hs := newHost(t)
	hs.send(wake, sam)
	hs.expect(ack, samReply)
	if r := hs.dev.PassiveRetries(); r != 0xFF {
		t.Fatalf("power-on MxRtyPassiveActivation = %02X, want FF", r)
	}
	// Without RFConfiguration the chip waits until a card comes.
	hs.send(inList)
	hs.expect(ack)
	if err := hs.dev.Present("04112233445566"); err != nil {
		t.Fatal(err)
	}
	hs.expect(pn532.Encode(pn532.PN532ToHost, h("4B 01 01 00 44 00 07 04 11 22 33 44 55 66")))

	// A host ACK aborts a waiting command: no answer when the card comes.
	hs.dev.Remove()
	hs.send(inList)
	hs.expect(ack)
	hs.send(ack)
	testutil.Eventually(t, "abort", func() bool { return hs.dev.Aborts() == 1 })
	if err := hs.dev.Present("0102030405060708090A"); err != nil {
		t.Fatal(err)
	}
	hs.send(getFW)
	hs.expect(ack, fwReply)

	// MaxRetries 02: an empty field answers "0 targets".
	hs.dev.Remove()
	hs.send(pn532.Command(pn532.CmdRFConfiguration, 0x05, 0xFF, 0x01, 0x02))
	hs.expect(ack, h("00 00 FF 02 FE D5 33 F8 00"))
	if r := hs.dev.PassiveRetries(); r != 0x02 {
		t.Fatalf("MxRtyPassiveActivation = %02X, want 02", r)
	}
	hs.send(inList)
	hs.expect(ack, noCard)
	if err := hs.dev.Present("0102030405060708090A"); err != nil {
		t.Fatal(err)
	}
	hs.send(inList)
	hs.expect(ack, pn532.Encode(pn532.PN532ToHost, h("4B 01 01 00 84 00 0A 01 02 03 04 05 06 07 08 09 0A")))
}

func TestScriptedFaults(t *testing.T) {
	hs := newHost(t)
	hs.send(wake)
	for _, line := range []string{"noack", "error 2", "present DEADBEEF"} {
		if err := hs.port.Do(line); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
	}
	hs.send(getFW) // lost: no ACK, no answer
	hs.send(getFW)
	hs.expect(ack, pn532.ErrorFrame())
	hs.send(sam)
	hs.expect(ack, pn532.ErrorFrame())
	// Unknown commands and bad parameters get the error frame too.
	hs.send(pn532.Command(0x99))
	hs.expect(ack, pn532.ErrorFrame())
	hs.send(pn532.Command(pn532.CmdSAMConfiguration, 0x00))
	hs.expect(ack, pn532.ErrorFrame())
	// A command with a bad checksum is ignored, as by the chip.
	bad := append([]byte(nil), getFW...)
	bad[7]++
	hs.send(bad, inList)
	hs.expect(ack, cardReply)
	// The generic bad-checksum fault breaks the DCS.
	hs.port.Line().Inject(sim.FaultBadChecksum)
	hs.send(getFW)
	hs.expect(h("00 00 FF 00 00 00"), fwReply) // the ACK's LCS broken
	hs.port.Line().Inject(sim.FaultBadChecksum)
	hs.send(nack)
	hs.expect(h("00 00 FF 06 FA D5 03 32 01 06 07 E9 00"))

	// Power cycle: asleep again, configuration forgotten.
	if err := hs.port.Do("reset"); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, "power cycle", func() bool { return !hs.dev.Awake() })
	hs.send(getFW, wake, getFW)
	hs.expect(ack, fwReply)

	// tap: the card leaves by itself.
	if err := hs.port.Do("tap 11223344 50ms"); err != nil {
		t.Fatal(err)
	}
	hs.send(pn532.Command(pn532.CmdRFConfiguration, 0x05, 0xFF, 0x01, 0x00))
	hs.expect(ack, h("00 00 FF 02 FE D5 33 F8 00"))
	tapped := pn532.Encode(pn532.PN532ToHost, h("4B 01 01 00 04 08 04 11 22 33 44"))
	testutil.Eventually(t, "the tapped card to leave", func() bool {
		hs.send(inList)
		hs.expect(ack)
		hs.fill(4)
		if hs.buf[3] == noCard[3] {
			hs.expect(noCard)
			return true
		}
		hs.expect(tapped)
		return false
	}, testutil.Every(0)) // each poll is a round trip already
}

// fill waits until at least n bytes are buffered.
func (hs *host) fill(n int) {
	hs.t.Helper()
	deadline := time.After(5 * time.Second)
	for len(hs.buf) < n {
		select {
		case b := <-hs.got:
			hs.buf = append(hs.buf, b...)
		case <-deadline:
			hs.t.Fatalf("got % X, want %d bytes", hs.buf, n)
		}
	}
}

func TestDoRejectsBadCommands(t *testing.T) {
	d := pn532sim.New(pn532sim.Opts{})
	for _, bad := range []string{"present", "present DEADBE", "present XYZ", "tap", "tap DEADBEEF x", "noack 0", "error -1", "remove now", "bogus"} {
		if err := d.Do(strings.Fields(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	for _, good := range []string{"present DEADBEEF", "tap 04112233445566 2s", "remove", "noack 2", "error", "reset"} {
		if err := d.Do(strings.Fields(good)); err != nil {
			t.Errorf("%q: %v", good, err)
		}
	}
	if d.Help() == "" || d.Name() != "pn532" {
		t.Fatal("help or name missing")
	}
}
