package mailbox

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestCallReachesSessionAndReturnsReply(t *testing.T) {
	var b Box[int, string]
	if _, err := b.Call(context.Background(), 1); !errors.Is(err, ErrNoSession) {
		t.Fatalf("call without session: %v", err)
	}
	reqs, closeFn, err := b.Open()
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.Open(); !errors.Is(err, ErrBusy) {
		t.Fatalf("second Open: %v", err)
	}
	go func() {
		for l := range reqs {
			if l.Req == 3 {
				closeFn() // ends without answering
				return
			}
			l.Reply("ok")
		}
	}()
	if r, err := b.Call(context.Background(), 1); err != nil || r != "ok" {
		t.Fatalf("call: %q %v", r, err)
	}
	if _, err := b.Call(context.Background(), 3); !errors.Is(err, ErrSessionEnded) {
		t.Fatalf("call into an ending session: %v", err)
	}
	if b.IsOpen() {
		t.Fatal("box open after the session closed")
	}
	if _, err := b.Call(context.Background(), 1); !errors.Is(err, ErrNoSession) {
		t.Fatalf("call after session: %v", err)
	}
}

func TestCallHonoursContext(t *testing.T) {
	var b Box[int, int]
	_, closeFn, err := b.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := b.Call(ctx, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("call to a session that never reads: %v", err)
	}
}

func TestCallToEndWaitsForTheAnswerAfterCancel(t *testing.T) {
	var b Box[int, int]
	reqs, closeFn, err := b.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	ctx, cancel := context.WithCancel(context.Background())
	taken := make(chan struct{})
	go func() {
		l := <-reqs
		close(taken)
		cancel()
		l.Reply(7) // the session finishes its work after the cancel
	}()
	r, err := b.CallToEnd(ctx, 1)
	<-taken
	if err != nil || r != 7 {
		t.Fatalf("CallToEnd = %d, %v; want the answer despite the cancel", r, err)
	}
}
