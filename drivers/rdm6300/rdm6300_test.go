package rdm6300_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/drivers/rdm6300"
	"github.com/quartierhub/quartierhub/drivers/serialport"
	"github.com/quartierhub/quartierhub/drivers/sim"
	"github.com/quartierhub/quartierhub/drivers/sim/rdm6300sim"
	"github.com/quartierhub/quartierhub/internal/testutil"
)

// rig runs the driver against the simulator through a real pty.
type rig struct {
	dev    *rdm6300sim.Device
	port   *sim.Port
	reader *rdm6300.Reader
	events chan rdm6300.Event
}

func newRig(t *testing.T) *rig {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &rig{dev: rdm6300sim.New(rdm6300sim.Opts{}), events: make(chan rdm6300.Event, 100)}
	var err error
	r.port, err = sim.Start(ctx, r.dev, sim.Opts{Link: filepath.Join(t.TempDir(), "rfid")})
	if err != nil {
		t.Fatal(err)
	}
	r.reader = rdm6300.New(rdm6300.Opts{OnEvent: func(e rdm6300.Event) { r.events <- e }})
	owner := serialport.New(serialport.Opts{Path: r.port.Path(), Baud: 9600})
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

func (r *rig) next(t *testing.T) rdm6300.Event {
	t.Helper()
	select {
	case e := <-r.events:
		return e
	case <-time.After(5 * time.Second):
		t.Fatal("no card event within 5s")
	}
	return rdm6300.Event{}
}

func (r *rig) expect(t *testing.T, kind rdm6300.EventKind, uid string) {
	t.Helper()
	e := r.next(t)
	if e.Kind != kind || e.UID != uid {
		t.Fatalf("event = %s %s, want %s %s", e.Kind, e.UID, kind, uid)
	}
}

func TestPresentRepeatsRemove(t *testing.T) {
	r := newRig(t)
	if err := r.dev.Present("01004CA53B"); err != nil {
		t.Fatal(err)
	}
	r.expect(t, rdm6300.Presented, "01004CA53B")
	// Let the module repeat the frame several times: still one presentation.
	start := r.port.Line().Sent()
	testutil.Eventually(t, "five more frames", func() bool { return r.port.Line().Sent() >= start+5 })
	r.dev.Remove()
	r.expect(t, rdm6300.Removed, "01004CA53B")
	if r.reader.Present() != "" {
		t.Fatal("card still reported present")
	}
}

func TestFaultsOnTheWire(t *testing.T) {
	r := newRig(t)
	d := r.dev
	l := r.port.Line()
	for _, f := range []sim.Fault{sim.FaultGarbage, sim.FaultSplit, sim.FaultBadChecksum, sim.FaultTruncate, sim.FaultDouble} {
		l.Inject(f)
	}
	d.Noise()
	if err := d.Present("0A0B0C0D0E"); err != nil {
		t.Fatal(err)
	}
	r.expect(t, rdm6300.Presented, "0A0B0C0D0E")
	if err := d.Present("1122334455"); err != nil {
		t.Fatal(err)
	}
	// Switching cards without a gap: the old one leaves, the new one comes.
	r.expect(t, rdm6300.Removed, "0A0B0C0D0E")
	r.expect(t, rdm6300.Presented, "1122334455")
	d.Remove()
	r.expect(t, rdm6300.Removed, "1122334455")
	if r.reader.BadFrames() == 0 {
		t.Fatal("bad checksum frame not counted")
	}
}

func TestUnplugWhileCardPresentReportsRemoval(t *testing.T) {
	r := newRig(t)
	if err := r.dev.Present("01004CA53B"); err != nil {
		t.Fatal(err)
	}
	r.expect(t, rdm6300.Presented, "01004CA53B")
	if err := r.port.Unplug(); err != nil {
		t.Fatal(err)
	}
	r.expect(t, rdm6300.Removed, "01004CA53B")
	if err := r.port.Replug(); err != nil {
		t.Fatal(err)
	}
	r.expect(t, rdm6300.Presented, "01004CA53B")
}
