package agent_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/internal/fakehub"
	"github.com/quartierhub/quartierhub/internal/testutil"
	"github.com/quartierhub/quartierhub/kiosk/agent"
	"github.com/quartierhub/quartierhub/kiosk/localapi"
)

// fakeWindow is the window's side of a capture over the agent's real
// socket: it follows the event stream as kiosk/ui does and answers each
// capture with answer (nothing, when answer returns false).
func fakeWindow(t *testing.T, c *localapi.Client, answer func(ctx context.Context, id string) bool) (asked <-chan string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	events, err := c.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan string, 8)
	go func() {
		for e := range events {
			if e.Type == localapi.EventCapture && e.Capture != nil {
				answer(ctx, e.Capture.ID)
				out <- e.Capture.ID
			}
		}
	}()
	return out
}

// finished kicks heartbeats until command id is done or failed.
func (fa *fleetAgent) finished(t *testing.T, hub *fakehub.Hub, id string) fakehub.Command {
	t.Helper()
	fa.kickUntil(t, "command "+id+" finished", func() bool {
		c, _ := hub.Command(id)
		return c.State == api.CommandDone || c.State == api.CommandFailed
	})
	c, _ := hub.Command(id)
	return c
}

// The window's picture reaches the hub byte for byte for its command,
// and the result names it.
func TestScreenshotFromTheWindow(t *testing.T) {
	r := newFleetRig(t)
	fa := r.start(t)
	pic := testutil.PNG(t, 128, 80)
	asked := fakeWindow(t, fa.c, func(ctx context.Context, id string) bool {
		if err := fa.c.CaptureTaken(ctx, id, pic); err != nil {
			t.Errorf("capture taken: %v", err)
		}
		return true
	})
	id := r.hub.SendCommand("T1", api.CommandScreenshot, "", time.Hour)
	c := fa.finished(t, r.hub, id)
	shots := r.hub.Screenshots()
	if len(shots) != 1 || shots[0].CommandID != id || !bytes.Equal(shots[0].PNG, pic) || shots[0].Width != 128 || shots[0].Height != 80 {
		t.Fatalf("screenshots at the hub: %+v", shots)
	}
	if c.State != api.CommandDone || !strings.Contains(c.Result, "(screenshot "+shots[0].ID+")") || !strings.Contains(c.Result, "128 × 80") {
		t.Errorf("command: %s %q", c.State, c.Result)
	}
	if got := <-asked; got != id {
		t.Errorf("the window was asked for %q, want the command's ID %q", got, id)
	}
	// Answered once: a second answer for it is not asked for.
	if err := fa.c.CaptureTaken(context.Background(), id, pic); !errors.Is(err, localapi.ErrNotAsked) {
		t.Errorf("a second answer: %v, want ErrNotAsked", err)
	}
}

// A window that refuses, a window that says nothing and no window at all
// each fail the command with their reason, and no picture is sent.
func TestScreenshotRefusedOrUnanswered(t *testing.T) {
	r := newFleetRig(t)
	fa := r.start(t, func(o *agent.Opts) { o.Fleet.CaptureTimeout = 300 * time.Millisecond })
	// No window on the event stream.
	id := r.hub.SendCommand("T1", api.CommandScreenshot, "", time.Hour)
	if c := fa.finished(t, r.hub, id); c.State != api.CommandFailed || c.Result != api.ReasonText(api.ReasonNoWindow) {
		t.Errorf("no window: %s %q", c.State, c.Result)
	}
	// A window that refuses: a resident is using the terminal.
	var refuse atomic.Bool
	refuse.Store(true)
	late := make(chan string, 1)
	fakeWindow(t, fa.c, func(ctx context.Context, id string) bool {
		if !refuse.Load() {
			late <- id
			return false
		}
		if err := fa.c.RefuseCapture(ctx, id, localapi.CaptureRefusal{Reason: localapi.RefusedResidentSession, Screen: "report-describe"}); err != nil {
			t.Errorf("refuse: %v", err)
		}
		return true
	})
	id = r.hub.SendCommand("T1", api.CommandScreenshot, "", time.Hour)
	if c := fa.finished(t, r.hub, id); c.State != api.CommandFailed || c.Result != api.ReasonText(api.ReasonResidentSession) {
		t.Errorf("refused: %s %q", c.State, c.Result)
	}
	// A window that does not answer in time; its late answer is not asked for.
	refuse.Store(false)
	id = r.hub.SendCommand("T1", api.CommandScreenshot, "", time.Hour)
	start := time.Now()
	if c := fa.finished(t, r.hub, id); c.State != api.CommandFailed || c.Result != api.ReasonText(api.ReasonWindowSilent) {
		t.Errorf("silent: %s %q", c.State, c.Result)
	}
	if waited := time.Since(start); waited < 300*time.Millisecond || waited > 10*time.Second {
		t.Errorf("waited %v for a silent window; the bound is 300ms", waited)
	}
	if err := fa.c.CaptureTaken(context.Background(), <-late, testutil.PNG(t, 8, 8)); !errors.Is(err, localapi.ErrNotAsked) {
		t.Errorf("a late answer: %v, want ErrNotAsked", err)
	}
	if s := r.hub.Screenshots(); len(s) != 0 {
		t.Errorf("pictures sent: %+v", s)
	}
}

// The local API takes only a PNG within the hub's limits from the
// window, and only known refusals.
func TestCaptureAnswersBounded(t *testing.T) {
	r := newFleetRig(t)
	fa := r.start(t)
	got := make(chan error, 3)
	fakeWindow(t, fa.c, func(ctx context.Context, id string) bool {
		got <- fa.c.CaptureTaken(ctx, id, []byte("GIF89a not a png"))
		got <- fa.c.RefuseCapture(ctx, id, localapi.CaptureRefusal{Reason: "bored"})
		got <- fa.c.CaptureTaken(ctx, id, testutil.PNG(t, 16, 16))
		return true
	})
	id := r.hub.SendCommand("T1", api.CommandScreenshot, "", time.Hour)
	if c := fa.finished(t, r.hub, id); c.State != api.CommandDone {
		t.Errorf("command: %s %q", c.State, c.Result)
	}
	for i, want := range []error{localapi.ErrInvalid, localapi.ErrInvalid, nil} {
		if err := <-got; !errors.Is(err, want) || (want == nil) != (err == nil) {
			t.Errorf("answer %d: %v, want %v", i, err, want)
		}
	}
}
