package escpossim_test

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/drivers/escpos"
	"github.com/quartierhub/quartierhub/drivers/serialport"
	"github.com/quartierhub/quartierhub/drivers/sim"
	"github.com/quartierhub/quartierhub/drivers/sim/escpossim"
)

// host opens the simulator's pty as a driver would, raw.
func host(t *testing.T, opts escpossim.Opts) (*escpossim.Device, *sim.Port, io.ReadWriteCloser) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	dev := escpossim.New(opts)
	port, err := sim.Start(ctx, dev, sim.Opts{Link: filepath.Join(t.TempDir(), "printer")})
	if err != nil {
		t.Fatal(err)
	}
	rw, err := serialport.OpenTarm(port.Path(), 9600, 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		rw.Close()
		cancel()
		port.Close()
	})
	return dev, port, rw
}

// readN reads n bytes with a deadline.
func readN(t *testing.T, r io.Reader, n int) []byte {
	t.Helper()
	var got []byte
	buf := make([]byte, 16)
	for end := time.Now().Add(5 * time.Second); len(got) < n && time.Now().Before(end); {
		k, _ := r.Read(buf)
		got = append(got, buf[:k]...)
	}
	if len(got) != n {
		t.Fatalf("read % X, want %d bytes", got, n)
	}
	return got
}

func TestStatusRepliesOverPty(t *testing.T) {
	dev, _, rw := host(t, escpossim.Opts{})
	ask := []byte{0x10, 0x04, 0x01, 0x10, 0x04, 0x02, 0x10, 0x04, 0x03, 0x10, 0x04, 0x04}
	cases := []struct {
		name  string
		setup func()
		want  []byte
	}{
		{"all clear", func() {}, []byte{0x12, 0x12, 0x12, 0x12}},
		{"out of paper", func() { dev.SetPaper(escpos.PaperOut) }, []byte{0x1A, 0x32, 0x12, 0x7E}},
		{"near end", func() { dev.SetPaper(escpos.PaperNearEnd) }, []byte{0x12, 0x12, 0x12, 0x1E}},
		{"cover open", func() { dev.SetPaper(escpos.PaperOK); dev.SetCover(true) }, []byte{0x1A, 0x16, 0x12, 0x12}},
		{"cutter error", func() { dev.SetCover(false); dev.SetError(escpos.ErrAutocutter) }, []byte{0x1A, 0x52, 0x1A, 0x12}},
		{"offline", func() { dev.SetError(0); dev.SetOffline(true) }, []byte{0x1A, 0x12, 0x12, 0x12}},
	}
	for _, c := range cases {
		c.setup()
		// Split the requests over two writes in the middle of one.
		if _, err := rw.Write(ask[:4]); err != nil {
			t.Fatal(err)
		}
		if _, err := rw.Write(ask[4:]); err != nil {
			t.Fatal(err)
		}
		if got := readN(t, rw, 4); !bytes.Equal(got, c.want) {
			t.Errorf("%s: % X, want % X", c.name, got, c.want)
		}
	}
}

func TestOfflineDataIsRejectedAndRecorded(t *testing.T) {
	dev, _, rw := host(t, escpossim.Opts{XONXOFF: true})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	dev.SetCover(true)
	if got := readN(t, rw, 1); got[0] != 0x13 {
		t.Fatalf("% X, want XOFF", got)
	}
	// Data sent anyway is lost, with a status request inside it answered.
	if _, err := rw.Write([]byte("abc\x10\x04\x02def\n")); err != nil {
		t.Fatal(err)
	}
	if got := readN(t, rw, 1); got[0] != 0x16 {
		t.Fatalf("% X, want 16 (cover open)", got)
	}
	if err := dev.Wait(ctx, func(tr escpossim.Transcript) bool {
		return len(tr) == 1 && tr[0].Kind == escpossim.Rejected && tr[0].Count == 7
	}); err != nil {
		t.Fatalf("%v:\n%s", err, dev.Transcript())
	}
	dev.SetCover(false)
	if got := readN(t, rw, 1); got[0] != 0x11 {
		t.Fatalf("% X, want XON", got)
	}
	if _, err := rw.Write([]byte("ok\n\x1dV\x42\x00")); err != nil {
		t.Fatal(err)
	}
	if err := dev.WaitCuts(ctx, 1); err != nil {
		t.Fatal(err)
	}
	want := "rejected 7 bytes (cover open)\nline left \"ok\"\ncut partial +0\n"
	if got := dev.Transcript().String(); got != want {
		t.Fatalf("transcript:\n%s\nwant:\n%s", got, want)
	}
	if got := dev.Transcript().Receipt(); got != "[lost 7 bytes: cover open]\nok\n--------------------------------\n" {
		t.Fatalf("receipt %q", got)
	}
}

func TestRunoutStopsMidJob(t *testing.T) {
	dev, _, rw := host(t, escpossim.Opts{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := dev.Do([]string{"runout", "1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := rw.Write([]byte("one\ntwo\n\x10\x04\x04")); err != nil {
		t.Fatal(err)
	}
	if got := readN(t, rw, 1); got[0] != 0x7E {
		t.Fatalf("% X, want 7E", got)
	}
	if err := dev.Wait(ctx, func(tr escpossim.Transcript) bool { return tr.Count(escpossim.Rejected) == 1 }); err != nil {
		t.Fatal(err)
	}
	if got := dev.Transcript().String(); got != "line left \"one\"\nrejected 4 bytes (paper out)\n" {
		t.Fatalf("transcript:\n%s", got)
	}
}

func TestFaultsApplyToReplies(t *testing.T) {
	_, port, rw := host(t, escpossim.Opts{})
	port.Line().Inject(sim.FaultBadChecksum)
	port.Line().Inject(sim.FaultTruncate)
	if _, err := rw.Write([]byte{0x10, 0x04, 0x01, 0x10, 0x04, 0x01, 0x10, 0x04, 0x01}); err != nil {
		t.Fatal(err)
	}
	// A corrupted reply no longer has the reply form; a truncated one is gone.
	if got := readN(t, rw, 2); !bytes.Equal(got, []byte{0x92, 0x12}) {
		t.Fatalf("% X, want 92 12", got)
	}
}

func TestScriptCommands(t *testing.T) {
	var out bytes.Buffer
	dev := escpossim.New(escpossim.Opts{Out: &out})
	for _, line := range []string{"paper near-end", "cover open", "error cutter", "offline on", "runout 3"} {
		if err := dev.Do(strings.Fields(line)); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
	}
	st := dev.Status()
	if st.Paper != escpos.PaperNearEnd || !st.CoverOpen || st.Cause != escpos.ErrAutocutter || st.Online {
		t.Fatalf("status %s", st)
	}
	for _, line := range []string{"paper ok", "cover closed", "error off", "offline off"} {
		if err := dev.Do(strings.Fields(line)); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
	}
	if st := dev.Status(); !st.Printable() || st.Paper != escpos.PaperOK {
		t.Fatalf("status %s", st)
	}
	for _, bad := range []string{"paper", "paper empty", "cover half", "error fire", "offline maybe", "runout -1", "runout x", "dance"} {
		if err := dev.Do(strings.Fields(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if err := dev.Do([]string{"transcript"}); err != nil || !strings.Contains(out.String(), "0 entries") {
		t.Fatalf("transcript: %v %q", err, out.String())
	}
	if err := dev.Do([]string{"clear"}); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"paper", "cover", "error", "offline", "runout", "transcript", "clear"} {
		if !strings.Contains(dev.Help(), cmd) {
			t.Errorf("help lacks %s", cmd)
		}
	}
	if dev.Name() != "escpos" {
		t.Fatal(dev.Name())
	}
}
