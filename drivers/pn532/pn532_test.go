package pn532_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/drivers/pn532"
	"github.com/quartierhub/quartierhub/drivers/serialport"
	"github.com/quartierhub/quartierhub/drivers/sim"
	"github.com/quartierhub/quartierhub/drivers/sim/pn532sim"
	"github.com/quartierhub/quartierhub/internal/testutil"
)

// rig runs the driver against the simulator through a real pty.
type rig struct {
	dev    *pn532sim.Device
	port   *sim.Port
	reader *pn532.Reader
	events chan pn532.Event
	states chan serialport.State
}

func newRig(t *testing.T) *rig {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &rig{
		dev:    pn532sim.New(pn532sim.Opts{}),
		events: make(chan pn532.Event, 100),
		states: make(chan serialport.State, 100),
	}
	var err error
	r.port, err = sim.Start(ctx, r.dev, sim.Opts{Link: filepath.Join(t.TempDir(), "nfc")})
	if err != nil {
		t.Fatal(err)
	}
	r.reader = pn532.New(pn532.Opts{
		PollInterval: 20 * time.Millisecond,
		// Generous for a loaded CI machine; the chip itself needs ~1ms.
		AckTimeout:      250 * time.Millisecond,
		ResponseTimeout: 300 * time.Millisecond,
		OnEvent:         func(e pn532.Event) { r.events <- e },
	})
	owner := serialport.New(serialport.Opts{
		Path:    r.port.Path(),
		Baud:    115200,
		OnEvent: func(e serialport.Event) { r.states <- e.State },
	})
	done := make(chan error, 1)
	go func() { done <- owner.Run(ctx, r.reader.Run) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		r.port.Close()
	})
	return r
}

func (r *rig) expect(t *testing.T, kind pn532.EventKind, uid string) {
	t.Helper()
	select {
	case e := <-r.events:
		if e.Kind != kind || e.UID != uid {
			t.Fatalf("event = %s %s, want %s %s", e.Kind, e.UID, kind, uid)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("no %s %s event within 5s", kind, uid)
	}
}

func (r *rig) expectState(t *testing.T, want serialport.State) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case s := <-r.states:
			if s == want {
				return
			}
		case <-deadline:
			t.Fatalf("port never reached state %s", want)
		}
	}
}

// polls waits until the simulator has received n more InListPassiveTarget.
func (r *rig) polls(t *testing.T, n int) {
	t.Helper()
	want := r.dev.Received(pn532.CmdInListPassiveTarget) + n
	testutil.Eventually(t, fmt.Sprintf("%d more polls", n), func() bool {
		return r.dev.Received(pn532.CmdInListPassiveTarget) >= want
	})
}

func (r *rig) quiet(t *testing.T) {
	t.Helper()
	select {
	case e := <-r.events:
		t.Fatalf("unexpected event %s %s", e.Kind, e.UID)
	default:
	}
}

func TestPresentStaysRemoves(t *testing.T) {
	r := newRig(t)
	if err := r.dev.Present("DEADBEEF"); err != nil {
		t.Fatal(err)
	}
	r.expect(t, pn532.Presented, "DEADBEEF")
	// The card stays through many polls: still one presentation.
	r.polls(t, 5)
	r.quiet(t)
	r.dev.Remove()
	r.expect(t, pn532.Removed, "DEADBEEF")
	if r.reader.Present() != "" {
		t.Fatal("card still reported present")
	}
	fw, ok := r.reader.Firmware()
	if !ok || fw != pn532sim.Firmware {
		t.Fatalf("firmware %s, %v", fw, ok)
	}
	if got := r.dev.PassiveRetries(); got != 2 {
		t.Fatalf("driver set MxRtyPassiveActivation %02X, want 02", got)
	}
	cmds := r.dev.Commands()
	if len(cmds) < 4 || string(cmds[:4]) != string([]byte{0x14, 0x02, 0x32, 0x4A}) {
		t.Fatalf("session started with % X, want 14 02 32 4A", cmds)
	}
}

func TestLongUIDsAndCardSwap(t *testing.T) {
	r := newRig(t)
	if err := r.dev.Present("04112233445566"); err != nil {
		t.Fatal(err)
	}
	r.expect(t, pn532.Presented, "04112233445566")
	// One card replaced by another between two polls.
	if err := r.dev.Present("0102030405060708090A"); err != nil {
		t.Fatal(err)
	}
	r.expect(t, pn532.Removed, "04112233445566")
	r.expect(t, pn532.Presented, "0102030405060708090A")
	if err := r.port.Do("tap DEADBEEF 150ms"); err != nil {
		t.Fatal(err)
	}
	r.expect(t, pn532.Removed, "0102030405060708090A")
	r.expect(t, pn532.Presented, "DEADBEEF")
	r.expect(t, pn532.Removed, "DEADBEEF")
}

func TestFaultsOnTheWire(t *testing.T) {
	r := newRig(t)
	if err := r.dev.Present("DEADBEEF"); err != nil {
		t.Fatal(err)
	}
	r.expect(t, pn532.Presented, "DEADBEEF")
	l := r.port.Line()
	// The first frame after an idle moment is the ACK of the next poll;
	// a leading harmless fault makes the second one land on its answer.
	for _, faults := range [][]sim.Fault{
		{sim.FaultBadChecksum},                 // damaged ACK
		{sim.FaultSplit, sim.FaultBadChecksum}, // damaged answer: NACK
		{sim.FaultGarbage, sim.FaultTruncate},  // answer cut short: NACK after the timeout
		{sim.FaultTruncate},                    // ACK cut short
		{sim.FaultDouble},                      // ACK held back, sent with the answer
		{sim.FaultSplit, sim.FaultDouble},      // answer held back: timeout, abort, resend
		{sim.FaultGarbage, sim.FaultSplit},     // noise before the ACK, answer in pieces
	} {
		// One group at a time, each followed by clean polls.
		for _, f := range faults {
			l.Inject(f)
		}
		r.polls(t, 3)
	}
	r.dev.DropACK(1)
	r.polls(t, 2)
	r.dev.ErrorNext(1)
	r.polls(t, 2)
	// Whatever the faults hit, the card never seemed to leave.
	r.quiet(t)
	r.dev.Remove()
	r.expect(t, pn532.Removed, "DEADBEEF")
	if r.reader.BadFrames() == 0 || r.reader.Retries() == 0 {
		t.Fatalf("bad frames %d, retries %d: faults not noticed", r.reader.BadFrames(), r.reader.Retries())
	}
	if r.dev.NACKs() == 0 {
		t.Fatal("no NACK sent for a damaged answer")
	}
}

func TestSilenceIsAFaultAndRecovers(t *testing.T) {
	r := newRig(t)
	r.expectState(t, serialport.StateConnected)
	if err := r.dev.Present("DEADBEEF"); err != nil {
		t.Fatal(err)
	}
	r.expect(t, pn532.Presented, "DEADBEEF")
	r.port.Line().SetSilent(true)
	r.expect(t, pn532.Removed, "DEADBEEF")
	r.expectState(t, serialport.StateFault)
	r.port.Line().SetSilent(false)
	r.expect(t, pn532.Presented, "DEADBEEF")
	r.expectState(t, serialport.StateRecovered)
}

func TestUnplugReplugAndPowerCycle(t *testing.T) {
	r := newRig(t)
	if err := r.dev.Present("DEADBEEF"); err != nil {
		t.Fatal(err)
	}
	r.expect(t, pn532.Presented, "DEADBEEF")
	if err := r.port.Unplug(); err != nil {
		t.Fatal(err)
	}
	r.expect(t, pn532.Removed, "DEADBEEF")
	r.expectState(t, serialport.StateLost)
	if err := r.port.Replug(); err != nil {
		t.Fatal(err)
	}
	// The replugged chip was powered off: only a new wake-up and
	// configuration bring the card back.
	r.expect(t, pn532.Presented, "DEADBEEF")
	if !r.dev.Awake() || r.dev.PassiveRetries() != 2 {
		t.Fatal("replugged chip not woken and configured")
	}
	// A brown-out mid-session: the chip sleeps, the session fails and the
	// next one wakes it again.
	if err := r.port.Do("reset"); err != nil {
		t.Fatal(err)
	}
	r.expect(t, pn532.Removed, "DEADBEEF")
	r.expect(t, pn532.Presented, "DEADBEEF")
}

func TestExchange(t *testing.T) {
	r := newRig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var data []byte
	var err error
	testutil.Eventually(t, "an open session", func() bool {
		data, err = r.reader.Exchange(ctx, pn532.CmdGetFirmwareVersion)
		return !errors.Is(err, pn532.ErrNotConnected)
	})
	if err != nil || string(data) != "\x32\x01\x06\x07" {
		t.Fatalf("GetFirmwareVersion = % X, %v", data, err)
	}
	if _, err := r.reader.Exchange(ctx, 0x99); !errors.Is(err, pn532.ErrRejected) {
		t.Fatalf("unknown command: %v, want ErrRejected", err)
	}
	// Still polling after a rejected command.
	if err := r.dev.Present("DEADBEEF"); err != nil {
		t.Fatal(err)
	}
	r.expect(t, pn532.Presented, "DEADBEEF")
}
