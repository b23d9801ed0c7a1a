// Package conntest is the drivers' test transport, after periph's conntest:
// a Playback stands where serialport's connection would, expects the exact
// bytes a driver should write and answers them with canned reads, so a
// driver's tests can check its session byte for byte without a pty.
//
// A Playback behaves like serialport's connection where a driver can tell:
// a Read with nothing queued returns (0, nil) after a short wait (the
// connection's "no data yet"), and it has MarkAlive and Flush.
package conntest

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// ErrUnexpectedWrite is returned for a write the script does not allow.
var ErrUnexpectedWrite = errors.New("conntest: unexpected write")

// idleRead is how long a Read with nothing queued waits before returning
// (0, nil): serialport's read timeout, shortened so tests stay fast.
const idleRead = time.Millisecond

// Step is one exchange: the exact bytes the driver must write, and the
// chunks the device returns for them. Each chunk is one Read's worth (split
// further when the reader's buffer or MaxRead is smaller), so a test decides
// where an answer is cut.
type Step struct {
	W []byte
	R [][]byte
}

// Op is one entry of a Playback's operation log.
type Op string

// The operations a Playback logs, in the order the driver made them.
const (
	OpWrite Op = "write"
	OpFlush Op = "flush"
)

// Playback is a scripted device on the other side of an io.ReadWriter. Set
// its fields before the driver gets it; it is safe for concurrent use
// after that.
//
// It plays one of two parts. By default it follows Steps: each write must
// equal the next step's W, and that step's R becomes readable. With Respond
// set it is a device that answers any write by a function (a printer's
// status requests), and Steps is not used.
type Playback struct {
	// T receives the report of a wrong write.
	T testing.TB

	// Steps is the script, in order.
	Steps []Step

	// Respond, when set, is called for every write with the playback's lock
	// held (see Locked); what it returns is queued as one chunk.
	Respond func(w []byte) []byte

	// MaxRead, when positive, caps the bytes one Read returns: a device
	// that trickles its answer in small pieces.
	MaxRead int

	// FlushDiscards makes Flush drop unread input, as the real port does.
	// Without it Flush is only counted.
	FlushDiscards bool

	// AllowExtra accepts writes past the end of the script (a driver that
	// keeps polling after the interesting part) and counts them; without it
	// they fail like a wrong write.
	AllowExtra bool

	// Lockstep fails a write made while answers to an earlier one are still
	// unread: the driver must hear the device out before speaking again.
	Lockstep bool

	mu      sync.Mutex
	started bool
	next    int      // index of the next expected step
	pending [][]byte // queued chunks, each one Read's worth
	done    chan struct{}
	failed  bool
	alive   int
	flushes int
	extra   int
	ops     []Op
	writes  [][]byte
}

// start prepares the internal state on first use; mu is held.
func (p *Playback) start() {
	if p.started {
		return
	}
	p.started = true
	p.done = make(chan struct{})
	if p.Respond == nil && len(p.Steps) == 0 {
		close(p.done)
	}
}

// Write checks b against the script and queues the answer.
func (p *Playback) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.start()
	w := bytes.Clone(b)
	p.ops = append(p.ops, OpWrite)
	p.writes = append(p.writes, w)
	if p.failed {
		return 0, ErrUnexpectedWrite
	}
	if p.Respond != nil {
		if r := p.Respond(w); len(r) > 0 {
			p.pending = append(p.pending, r)
		}
		return len(b), nil
	}
	if p.Lockstep && len(p.pending) > 0 {
		return 0, p.fail("write % X while %d answer chunks are unread", b, len(p.pending))
	}
	if p.next == len(p.Steps) {
		if p.AllowExtra {
			p.extra++
			return len(b), nil
		}
		return 0, p.fail("write % X past the end of the script (%d steps)", b, len(p.Steps))
	}
	s := p.Steps[p.next]
	if !bytes.Equal(b, s.W) {
		return 0, p.fail("write % X, want % X (step %d of %d)", b, s.W, p.next+1, len(p.Steps))
	}
	p.next++
	for _, c := range s.R {
		if len(c) > 0 {
			p.pending = append(p.pending, c)
		}
	}
	if p.next == len(p.Steps) {
		close(p.done)
	}
	return len(b), nil
}

// fail reports a wrong write once and ends the script; mu is held.
func (p *Playback) fail(format string, args ...any) error {
	p.T.Helper()
	msg := fmt.Sprintf(format, args...)
	p.T.Errorf("conntest: %s", msg)
	p.failed = true
	if p.next < len(p.Steps) { // else Done is closed already
		close(p.done)
	}
	return fmt.Errorf("%w: %s", ErrUnexpectedWrite, msg)
}

// Read returns the next queued chunk, or as much of it as fits. With
// nothing queued it waits briefly and returns (0, nil).
func (p *Playback) Read(b []byte) (int, error) {
	p.mu.Lock()
	p.start()
	if len(p.pending) == 0 {
		p.mu.Unlock()
		time.Sleep(idleRead)
		return 0, nil
	}
	defer p.mu.Unlock()
	c := p.pending[0]
	if p.MaxRead > 0 && len(c) > p.MaxRead {
		c = c[:p.MaxRead]
	}
	n := copy(b, c)
	if n < len(p.pending[0]) {
		p.pending[0] = p.pending[0][n:]
	} else {
		p.pending = p.pending[1:]
	}
	return n, nil
}

// MarkAlive counts the driver's "a valid frame arrived".
func (p *Playback) MarkAlive() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.alive++
}

// Flush is counted and logged; with FlushDiscards it drops unread input.
func (p *Playback) Flush() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.start()
	p.flushes++
	p.ops = append(p.ops, OpFlush)
	if p.FlushDiscards {
		p.pending = nil
	}
	return nil
}

// Done is closed once every step has been written, or at the first wrong
// write; at once for an empty script, never in Respond's part.
func (p *Playback) Done() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.start()
	return p.done
}

// Locked runs fn with the lock Respond runs under, so a test can read or
// change what its Respond function shares without a race.
func (p *Playback) Locked(fn func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fn()
}

// Left is the number of steps not yet written.
func (p *Playback) Left() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.Steps) - p.next
}

// Unread is the number of bytes queued for the driver and not yet read.
func (p *Playback) Unread() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, c := range p.pending {
		n += len(c)
	}
	return n
}

// Failed reports whether a wrong write was seen.
func (p *Playback) Failed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.failed
}

// Alive is the number of MarkAlive calls.
func (p *Playback) Alive() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.alive
}

// Flushes is the number of Flush calls.
func (p *Playback) Flushes() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.flushes
}

// Extra is the number of writes accepted past the end of the script.
func (p *Playback) Extra() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.extra
}

// Ops is the log of writes and flushes, in order.
func (p *Playback) Ops() []Op {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Op(nil), p.ops...)
}

// Writes is every write, one slice per Write call, in order.
func (p *Playback) Writes() [][]byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([][]byte, len(p.writes))
	for i, w := range p.writes {
		out[i] = bytes.Clone(w)
	}
	return out
}

// Written is every byte written, in order.
func (p *Playback) Written() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return bytes.Join(p.writes, nil)
}

// CheckFinished reports through T, as an error, steps never written and
// answers never read.
func (p *Playback) CheckFinished() {
	p.T.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if left := len(p.Steps) - p.next; left > 0 {
		p.T.Errorf("conntest: %d of %d steps not written, next % X", left, len(p.Steps), p.Steps[p.next].W)
	}
	if len(p.pending) > 0 {
		p.T.Errorf("conntest: %d answer chunks never read, next % X", len(p.pending), p.pending[0])
	}
}
