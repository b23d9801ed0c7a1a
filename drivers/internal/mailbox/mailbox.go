// Package mailbox hands requests from API callers (Print, SetABC, Exchange…)
// to the one goroutine that owns a device session, and their replies back.
// A session may end at any moment (the port is lost); callers then get an
// error instead of waiting forever.
package mailbox

import (
	"context"
	"errors"
	"sync"
)

var (
	// ErrNoSession: no session is running to take the request.
	ErrNoSession = errors.New("no session running")
	// ErrSessionEnded: the session took the request but ended without
	// answering it (the port was lost in the middle).
	ErrSessionEnded = errors.New("session ended before answering")
	// ErrBusy: Open was called while a session is open.
	ErrBusy = errors.New("a session is already running")
)

// Letter is one request on its way to the session.
type Letter[Req, Res any] struct {
	Req   Req
	reply chan Res
}

// Reply answers the letter. Call it at most once; it never blocks.
func (l Letter[Req, Res]) Reply(r Res) { l.reply <- r }

// Box connects callers with the current session. Its zero value is ready.
type Box[Req, Res any] struct {
	mu   sync.Mutex
	in   chan Letter[Req, Res]
	done chan struct{}
}

// Open starts a session. The session reads requests from the returned
// channel and calls closeFn when it ends.
func (b *Box[Req, Res]) Open() (requests <-chan Letter[Req, Res], closeFn func(), err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.in != nil {
		return nil, nil, ErrBusy
	}
	in, done := make(chan Letter[Req, Res]), make(chan struct{})
	b.in, b.done = in, done
	var once sync.Once
	return in, func() {
		once.Do(func() {
			b.mu.Lock()
			b.in, b.done = nil, nil
			b.mu.Unlock()
			close(done)
		})
	}, nil
}

// IsOpen reports whether a session is running.
func (b *Box[Req, Res]) IsOpen() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.in != nil
}

// Call hands req to the running session and waits for its reply, for ctx,
// or for the session to end.
func (b *Box[Req, Res]) Call(ctx context.Context, req Req) (Res, error) {
	return b.call(ctx, req, false)
}

// CallToEnd is Call for requests that carry ctx to the session themselves
// (a print job): once the session has taken req, it waits for the answer
// even after ctx ends, so the caller learns where the session stopped.
func (b *Box[Req, Res]) CallToEnd(ctx context.Context, req Req) (Res, error) {
	return b.call(ctx, req, true)
}

func (b *Box[Req, Res]) call(ctx context.Context, req Req, toEnd bool) (Res, error) {
	var zero Res
	b.mu.Lock()
	in, done := b.in, b.done
	b.mu.Unlock()
	if in == nil {
		return zero, ErrNoSession
	}
	l := Letter[Req, Res]{Req: req, reply: make(chan Res, 1)}
	select {
	case in <- l:
	case <-done:
		return zero, ErrNoSession
	case <-ctx.Done():
		return zero, ctx.Err()
	}
	after := ctx.Done()
	if toEnd {
		after = nil
	}
	select {
	case r := <-l.reply:
		return r, nil
	case <-done:
		// It may have answered just before ending.
		select {
		case r := <-l.reply:
			return r, nil
		default:
			return zero, ErrSessionEnded
		}
	case <-after:
		return zero, ctx.Err()
	}
}
