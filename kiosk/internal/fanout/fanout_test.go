package fanout_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/kiosk/internal/fanout"
)

func drain(ch <-chan int) []int {
	var got []int
	for {
		select {
		case v := <-ch:
			got = append(got, v)
		default:
			return got
		}
	}
}

// A new subscriber reads the values it was given first, then what is
// published; every subscriber gets every value.
func TestFirstThenPublished(t *testing.T) {
	h := fanout.New[int](8)
	a, endA := h.Subscribe(-2, -1)
	defer endA()
	h.Publish(1)
	b, endB := h.Subscribe()
	defer endB()
	h.Publish(2)
	if got := drain(a); len(got) != 4 || got[0] != -2 || got[1] != -1 || got[2] != 1 || got[3] != 2 {
		t.Fatalf("first subscriber read %v", got)
	}
	if got := drain(b); len(got) != 1 || got[0] != 2 {
		t.Fatalf("second subscriber read %v", got)
	}
}

// A subscriber that does not read loses what does not fit its buffer;
// the publisher and the other subscribers go on.
func TestSlowSubscriberLosesInsteadOfBlocking(t *testing.T) {
	h := fanout.New[int](4)
	slow, endSlow := h.Subscribe()
	defer endSlow()
	fast, endFast := h.Subscribe()
	defer endFast()
	done := make(chan error, 1)
	go func() {
		for i := range 100 {
			h.Publish(i)
			if v := <-fast; v != i {
				done <- fmt.Errorf("the fast subscriber read %d, want %d", v, i)
				return
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a subscriber that does not read blocked the publisher")
	}
	if got := drain(slow); len(got) != 4 || got[0] != 0 || got[3] != 3 {
		t.Fatalf("the slow subscriber kept %v, want the first 4", got)
	}
}

// An ended subscription gets nothing more and is forgotten; ending it
// twice is harmless.
func TestEndedSubscription(t *testing.T) {
	h := fanout.New[int](4)
	ch, end := h.Subscribe()
	end()
	end()
	h.Publish(1)
	if got := drain(ch); len(got) != 0 || h.Subscribers() != 0 {
		t.Fatalf("after the end: read %v, %d subscribers", got, h.Subscribers())
	}
}
