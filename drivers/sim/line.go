package sim

import (
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"sync"
	"time"
)

// Fault is a one-shot disturbance applied to the next frame sent.
type Fault string

const (
	// FaultGarbage puts random bytes before the next frame.
	FaultGarbage Fault = "garbage"
	// FaultSplit writes the next frame in several pieces with pauses.
	FaultSplit Fault = "split"
	// FaultDouble holds the next frame back and sends it together with the
	// one after, in one write.
	FaultDouble Fault = "double"
	// FaultBadChecksum corrupts the next frame's checksum.
	FaultBadChecksum Fault = "badsum"
	// FaultTruncate cuts the next frame short.
	FaultTruncate Fault = "truncate"
)

// ErrUnplugged is returned by Line I/O while the device is unplugged.
var ErrUnplugged = errors.New("sim: device unplugged")

// Line is the device's side of the wire: it reads what the host sent and
// sends frames, applying injected faults. Its fault settings survive
// replugs; its I/O goes to whichever pty is current.
type Line struct {
	rnd      *rand.Rand
	splitGap time.Duration

	mu      sync.Mutex
	f       *os.File
	pending []Fault
	held    []byte // a frame held back by FaultDouble
	silent  bool
	sent    int
}

func (l *Line) attach(f *os.File) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.f = f
	l.held = nil
}

func (l *Line) detach() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.f = nil
}

func (l *Line) file() (*os.File, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil, ErrUnplugged
	}
	return l.f, nil
}

// Read reads bytes the host wrote to the device. It blocks until data
// arrives or the port is unplugged.
func (l *Line) Read(b []byte) (int, error) {
	f, err := l.file()
	if err != nil {
		return 0, err
	}
	n, err := f.Read(b)
	if err != nil && n == 0 {
		if errors.Is(err, os.ErrClosed) {
			return 0, ErrUnplugged
		}
		return 0, err
	}
	return n, nil
}

// SetReadDeadline bounds the next Read, so request/response devices can
// time out like real firmware does.
func (l *Line) SetReadDeadline(t time.Time) error {
	f, err := l.file()
	if err != nil {
		return err
	}
	return f.SetReadDeadline(t)
}

// Inject queues a one-shot fault for the next frame.
func (l *Line) Inject(f Fault) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pending = append(l.pending, f)
}

// SetSilent stops (true) or resumes (false) everything the device sends.
func (l *Line) SetSilent(on bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.silent = on
}

// Silent reports whether the device is silenced.
func (l *Line) Silent() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.silent
}

// Sent counts the frames handed to Send that went out (fully or faulted).
func (l *Line) Sent() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.sent
}

// Send transmits one frame, applying the next pending fault. corrupt makes
// a bad-checksum copy of the frame; nil flips the second-to-last byte.
func (l *Line) Send(frame []byte, corrupt func([]byte) []byte) error {
	l.mu.Lock()
	if l.f == nil {
		l.mu.Unlock()
		return ErrUnplugged
	}
	if l.silent {
		l.mu.Unlock()
		return nil
	}
	var fault Fault
	if len(l.pending) > 0 {
		fault, l.pending = l.pending[0], l.pending[1:]
	}
	out := append([]byte(nil), frame...)
	if l.held != nil {
		out = append(l.held, out...)
		l.held = nil
	}
	switch fault {
	case FaultDouble:
		l.held = out
		l.sent++
		l.mu.Unlock()
		return nil
	case FaultGarbage:
		g := make([]byte, 3+l.rnd.IntN(10))
		for i := range g {
			g[i] = byte(l.rnd.Uint32())
		}
		out = append(g, out...)
	case FaultBadChecksum:
		if corrupt != nil {
			out = append(out[:len(out)-len(frame)], corrupt(frame)...)
		} else if len(out) >= 2 {
			out[len(out)-2] ^= 0x5A
		}
	case FaultTruncate:
		out = out[:len(out)-len(frame)+len(frame)/2]
	}
	f := l.f
	split := fault == FaultSplit
	gap := l.splitGap
	l.sent++
	l.mu.Unlock()

	if !split {
		return writeAll(f, out)
	}
	// Split into three uneven parts with pauses between them.
	cuts := []int{0, 1, len(out) / 2, len(out)}
	for i := 0; i+1 < len(cuts); i++ {
		if cuts[i] >= cuts[i+1] {
			continue
		}
		if err := writeAll(f, out[cuts[i]:cuts[i+1]]); err != nil {
			return err
		}
		if i+2 < len(cuts) {
			time.Sleep(gap)
		}
	}
	return nil
}

// SendRaw writes bytes as they are, with no faults (e.g. noise at power-up).
func (l *Line) SendRaw(b []byte) error {
	f, err := l.file()
	if err != nil {
		return err
	}
	return writeAll(f, b)
}

func writeAll(w io.Writer, b []byte) error {
	for len(b) > 0 {
		n, err := w.Write(b)
		if err != nil {
			if errors.Is(err, os.ErrClosed) {
				return ErrUnplugged
			}
			return err
		}
		b = b[n:]
	}
	return nil
}
