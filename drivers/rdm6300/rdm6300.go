package rdm6300

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/quartierhub/quartierhub/drivers/card"
)

// Event, EventKind, Presented and Removed are the card reader events
// every reader driver shares (package card).
type (
	Event     = card.Event
	EventKind = card.Kind
)

const (
	Presented = card.Presented
	Removed   = card.Removed
)

// Opts configures a Reader. Zero values take the documented defaults.
type Opts struct {
	// RemoveAfter: a card counts as removed when its frame has not been
	// repeated for this long. Default 500ms (the module repeats faster than
	// libraries' 220–300 ms de-bounce windows).
	RemoveAfter time.Duration
	// OnEvent receives presentations and removals in order. It must not
	// block for long: it runs on the session goroutine.
	OnEvent func(Event)
	// Now defaults to time.Now.
	Now func() time.Time
}

// Reader turns the RDM6300's repeated frames into presentations and
// removals. Its zero value is not usable; call New.
type Reader struct {
	opts Opts

	mu       sync.Mutex
	current  string // UID in the field, "" if none
	lastSeen time.Time
	bad      int
}

// New returns a Reader with opts.
func New(opts Opts) *Reader {
	if opts.RemoveAfter == 0 {
		opts.RemoveAfter = 500 * time.Millisecond
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Reader{opts: opts}
}

func (r *Reader) String() string { return "rdm6300.Reader" }

// Present returns the UID of the card in the field, or "".
func (r *Reader) Present() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.current
}

// BadFrames counts frames rejected so far (bad checksum, wrong ETX, non-hex).
func (r *Reader) BadFrames() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.bad
}

type aliveMarker interface{ MarkAlive() }

// Run reads frames from rw until ctx ends (nil) or a read fails (the
// error). rw's Read may return (0, nil) when no data is waiting, as
// serialport's does; a card still present when Run ends is reported removed.
func (r *Reader) Run(ctx context.Context, rw io.ReadWriter) error {
	alive, _ := rw.(aliveMarker)
	var sc Scanner
	buf := make([]byte, 64)
	defer r.removeIfPresent()
	for ctx.Err() == nil {
		n, err := rw.Read(buf)
		if n > 0 {
			sc.Write(buf[:n])
			for {
				id, ok := sc.Next()
				if !ok {
					break
				}
				if alive != nil {
					alive.MarkAlive()
				}
				r.seen(strings.ToUpper(hex.EncodeToString(id[:])))
			}
			r.mu.Lock()
			r.bad = sc.Bad
			r.mu.Unlock()
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("rdm6300: read: %w", err)
		}
		r.expire()
	}
	return nil
}

func (r *Reader) seen(uid string) {
	now := r.opts.Now()
	r.mu.Lock()
	prev := r.current
	r.current, r.lastSeen = uid, now
	r.mu.Unlock()
	if prev == uid {
		return
	}
	if prev != "" {
		r.emit(Event{Kind: Removed, UID: prev, Time: now})
	}
	r.emit(Event{Kind: Presented, UID: uid, Time: now})
}

func (r *Reader) expire() {
	now := r.opts.Now()
	r.mu.Lock()
	uid := r.current
	if uid == "" || now.Sub(r.lastSeen) < r.opts.RemoveAfter {
		r.mu.Unlock()
		return
	}
	r.current = ""
	r.mu.Unlock()
	r.emit(Event{Kind: Removed, UID: uid, Time: now})
}

func (r *Reader) removeIfPresent() {
	r.mu.Lock()
	uid := r.current
	r.current = ""
	r.mu.Unlock()
	if uid != "" {
		r.emit(Event{Kind: Removed, UID: uid, Time: r.opts.Now()})
	}
}

func (r *Reader) emit(e Event) {
	if r.opts.OnEvent != nil {
		r.opts.OnEvent(e)
	}
}
