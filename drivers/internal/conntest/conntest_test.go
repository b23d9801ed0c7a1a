package conntest_test

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/quartierhub/quartierhub/drivers/internal/conntest"
)

// reporter records what a Playback reports instead of failing the test.
type reporter struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *reporter) Helper() {}

func (r *reporter) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *reporter) reported() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.errs)
}

// readAll reads with a buffer of n bytes until nothing is queued, one
// entry per Read.
func readAll(t *testing.T, p *conntest.Playback, n int) []string {
	t.Helper()
	var got []string
	buf := make([]byte, n)
	for range 100 {
		k, err := p.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		if k == 0 {
			return got
		}
		got = append(got, fmt.Sprintf("% X", buf[:k]))
	}
	t.Fatal("reads never ran dry")
	return nil
}

func TestWrongWriteFails(t *testing.T) {
	rep := &reporter{TB: t}
	p := &conntest.Playback{T: rep, Steps: []conntest.Step{
		{W: []byte{1, 2}, R: [][]byte{{9}}},
		{W: []byte{3}},
	}}
	if n, err := p.Write([]byte{1, 2}); n != 2 || err != nil {
		t.Fatalf("right write = %d, %v", n, err)
	}
	n, err := p.Write([]byte{4})
	if n != 0 || !errors.Is(err, conntest.ErrUnexpectedWrite) {
		t.Fatalf("wrong write = %d, %v; want 0, ErrUnexpectedWrite", n, err)
	}
	errs := rep.reported()
	if len(errs) != 1 || !strings.Contains(errs[0], "write 04, want 03") {
		t.Fatalf("reported %q, want one report naming both writes", errs)
	}
	if !p.Failed() {
		t.Fatal("Failed() = false after a wrong write")
	}
	select {
	case <-p.Done():
	default:
		t.Fatal("Done not closed after a wrong write: a test waiting on it would hang")
	}
	// Later writes fail too, without burying the first report.
	if _, err := p.Write([]byte{3}); !errors.Is(err, conntest.ErrUnexpectedWrite) {
		t.Fatalf("write after the failure = %v", err)
	}
	if len(rep.reported()) != 1 {
		t.Fatalf("reported %q, want the first failure only", rep.reported())
	}
}

func TestWritePastScript(t *testing.T) {
	rep := &reporter{TB: t}
	p := &conntest.Playback{T: rep}
	if _, err := p.Write([]byte{1}); !errors.Is(err, conntest.ErrUnexpectedWrite) || len(rep.reported()) != 1 {
		t.Fatalf("write past an empty script = %v, reported %q", err, rep.reported())
	}

	lenient := &conntest.Playback{T: t, AllowExtra: true}
	for range 3 {
		if n, err := lenient.Write([]byte{1, 2}); n != 2 || err != nil {
			t.Fatalf("extra write = %d, %v", n, err)
		}
	}
	if lenient.Extra() != 3 || lenient.Failed() {
		t.Fatalf("Extra %d, Failed %v; want 3 writes counted", lenient.Extra(), lenient.Failed())
	}
}

func TestChunksAreReads(t *testing.T) {
	p := &conntest.Playback{T: t, Steps: []conntest.Step{
		{W: []byte{0xA0}, R: [][]byte{{1, 2}, {3, 4, 5, 6, 7}, {}, {8}}},
	}}
	if got := readAll(t, p, 16); len(got) != 0 {
		t.Fatalf("read %q before anything was written", got)
	}
	if _, err := p.Write([]byte{0xA0}); err != nil {
		t.Fatal(err)
	}
	// A 3-byte buffer splits the long chunk, never joins two; the empty
	// chunk is no Read at all.
	want := []string{"01 02", "03 04 05", "06 07", "08"}
	if got := readAll(t, p, 3); !slices.Equal(got, want) {
		t.Fatalf("reads %q, want %q", got, want)
	}

	trickle := &conntest.Playback{T: t, MaxRead: 2, Steps: []conntest.Step{
		{W: []byte{0xA0}, R: [][]byte{{1, 2, 3, 4, 5}}},
	}}
	if _, err := trickle.Write([]byte{0xA0}); err != nil {
		t.Fatal(err)
	}
	if got, want := readAll(t, trickle, 16), []string{"01 02", "03 04", "05"}; !slices.Equal(got, want) {
		t.Fatalf("MaxRead 2: reads %q, want %q", got, want)
	}
}

func TestFlush(t *testing.T) {
	steps := []conntest.Step{{W: []byte{1}, R: [][]byte{{7, 7}}}}
	keep := &conntest.Playback{T: t, Steps: steps}
	drop := &conntest.Playback{T: t, Steps: steps, FlushDiscards: true}
	for _, p := range []*conntest.Playback{keep, drop} {
		if err := p.Flush(); err != nil {
			t.Fatal(err)
		}
		if _, err := p.Write([]byte{1}); err != nil {
			t.Fatal(err)
		}
		if err := p.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	if keep.Unread() != 2 || drop.Unread() != 0 {
		t.Fatalf("unread after Flush: %d without FlushDiscards (want 2), %d with (want 0)", keep.Unread(), drop.Unread())
	}
	if got := readAll(t, drop, 16); len(got) != 0 {
		t.Fatalf("read %q after a discarding Flush", got)
	}
	want := []conntest.Op{conntest.OpFlush, conntest.OpWrite, conntest.OpFlush}
	if !slices.Equal(drop.Ops(), want) || drop.Flushes() != 2 {
		t.Fatalf("ops %v, flushes %d; want %v, 2", drop.Ops(), drop.Flushes(), want)
	}
}

func TestDone(t *testing.T) {
	p := &conntest.Playback{T: t, Steps: []conntest.Step{{W: []byte{1}}, {W: []byte{2}}}}
	for i, w := range []byte{1, 2} {
		select {
		case <-p.Done():
			t.Fatalf("Done closed with %d of 2 steps written", i)
		default:
		}
		if _, err := p.Write([]byte{w}); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-p.Done():
	default:
		t.Fatal("Done not closed after the last step")
	}
	if p.Left() != 0 || p.Failed() {
		t.Fatalf("Left %d, Failed %v", p.Left(), p.Failed())
	}
	empty := &conntest.Playback{T: t}
	select {
	case <-empty.Done():
	default:
		t.Fatal("an empty script is consumed from the start")
	}
}

func TestLockstepAndCheckFinished(t *testing.T) {
	rep := &reporter{TB: t}
	p := &conntest.Playback{T: rep, Lockstep: true, Steps: []conntest.Step{
		{W: []byte{1}, R: [][]byte{{5}, {6}}},
		{W: []byte{2}},
	}}
	if _, err := p.Write([]byte{1}); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, p, 1); len(got) != 2 {
		t.Fatalf("reads %q, want the two answer chunks", got)
	}
	if _, err := p.Write([]byte{2}); err != nil {
		t.Fatalf("write after reading everything: %v", err)
	}
	p.CheckFinished()
	if errs := rep.reported(); len(errs) != 0 {
		t.Fatalf("finished script reported %q", errs)
	}

	rep = &reporter{TB: t}
	p = &conntest.Playback{T: rep, Lockstep: true, Steps: []conntest.Step{
		{W: []byte{1}, R: [][]byte{{5}}},
		{W: []byte{2}},
	}}
	if _, err := p.Write([]byte{1}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Write([]byte{2}); !errors.Is(err, conntest.ErrUnexpectedWrite) {
		t.Fatalf("write with its answer unread = %v, want ErrUnexpectedWrite", err)
	}
	p.CheckFinished()
	if errs := rep.reported(); len(errs) != 3 || !strings.Contains(errs[0], "unread") ||
		!strings.Contains(errs[1], "1 of 2 steps not written") || !strings.Contains(errs[2], "never read") {
		t.Fatalf("reported %q, want the lockstep failure, the unwritten step and the unread answer", errs)
	}
}

func TestRespond(t *testing.T) {
	asked := 0
	p := &conntest.Playback{T: t, Respond: func(w []byte) []byte {
		asked++
		if bytes.Equal(w, []byte{0x10, 0x04, 0x01}) {
			return []byte{0x12}
		}
		return nil
	}}
	for _, w := range [][]byte{{0x10, 0x04, 0x01}, {0x1B, 0x40}, {0x10, 0x04, 0x01}} {
		if n, err := p.Write(w); n != len(w) || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	if got, want := readAll(t, p, 16), []string{"12", "12"}; !slices.Equal(got, want) {
		t.Fatalf("reads %q, want %q", got, want)
	}
	if got := fmt.Sprintf("% X", p.Written()); got != "10 04 01 1B 40 10 04 01" {
		t.Fatalf("Written % X", got)
	}
	if ws := p.Writes(); len(ws) != 3 || !bytes.Equal(ws[1], []byte{0x1B, 0x40}) {
		t.Fatalf("Writes %X", ws)
	}
	p.Locked(func() {
		if asked != 3 {
			t.Fatalf("Respond called %d times, want 3", asked)
		}
	})
	select {
	case <-p.Done():
		t.Fatal("Done closed for a responder: it has no script to finish")
	default:
	}
}

func TestMarkAlive(t *testing.T) {
	p := &conntest.Playback{T: t}
	p.MarkAlive()
	p.MarkAlive()
	if p.Alive() != 2 {
		t.Fatalf("Alive %d, want 2", p.Alive())
	}
}
