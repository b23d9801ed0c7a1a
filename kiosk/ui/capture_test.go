package ui_test

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/kiosk/localapi"
	"github.com/quartierhub/quartierhub/kiosk/ui"
)

// captures records the answers each fake agent got (the fake's own
// fields stay as they are).
var captures sync.Map // *fake → *captured

type captured struct {
	mu       sync.Mutex
	pictures map[string][]byte
	refusals map[string]localapi.CaptureRefusal
}

func capturedBy(f *fake) *captured {
	c, _ := captures.LoadOrStore(f, &captured{pictures: map[string][]byte{}, refusals: map[string]localapi.CaptureRefusal{}})
	return c.(*captured)
}

func (f *fake) CaptureTaken(_ context.Context, id string, png []byte) error {
	c := capturedBy(f)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pictures[id] = png
	return nil
}

func (f *fake) RefuseCapture(_ context.Context, id string, r localapi.CaptureRefusal) error {
	c := capturedBy(f)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refusals[id] = r
	return nil
}

// ask sends a capture event as the agent does and returns the picture
// (nil if refused) and the refusal (nil if taken).
func (h *harness) ask(id string) ([]byte, *localapi.CaptureRefusal) {
	h.t.Helper()
	h.u.HandleEvent(localapi.Event{Type: localapi.EventCapture, Capture: &localapi.CaptureRequest{ID: id}})
	c := capturedBy(h.be)
	c.mu.Lock()
	defer c.mu.Unlock()
	pic, taken := c.pictures[id]
	r, refused := c.refusals[id]
	switch {
	case taken == refused:
		h.t.Fatalf("capture %s on %s: taken %t, refused %t; want one answer", id, h.u.Screen(), taken, refused)
	case refused:
		return nil, &r
	}
	return pic, nil
}

// picture decodes a capture and checks it is the window's size and not
// one flat colour.
func (h *harness) picture(b []byte) image.Image {
	h.t.Helper()
	if _, _, err := api.CheckScreenshot(b); err != nil {
		h.t.Fatalf("the hub would refuse the capture: %v", err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		h.t.Fatal(err)
	}
	sz := h.w.Canvas().Size()
	if r := img.Bounds(); r.Dx() != int(sz.Width) || r.Dy() != int(sz.Height) {
		h.t.Fatalf("capture %v, window %v", r, sz)
	}
	first, flat := img.At(0, 0), true
	for y := 0; y < img.Bounds().Dy() && flat; y += 7 {
		for x := 0; x < img.Bounds().Dx() && flat; x += 7 {
			flat = img.At(x, y) == first
		}
	}
	if flat {
		h.t.Fatal("the capture is one flat colour: nothing drawn")
	}
	return img
}

// The window gives a picture on the attract screen, the out-of-order
// screen and in the service menu, and refuses while a resident's
// session is open, whatever screen of it is shown.
func TestCaptureOnlyWithoutResident(t *testing.T) {
	be := newFake(t)
	h := newHarness(t, be)
	h.expectScreen(ui.ScreenAttract)
	start := time.Now()
	pic, _ := h.ask("attract")
	t.Logf("attract screen at 1920 × 1080: captured and encoded in %v, %d KiB", time.Since(start).Round(time.Millisecond), len(pic)>>10)
	h.picture(pic)

	// A resident's session: home, a report being written, the timeout warning.
	h.tapAttract()
	h.expectScreen(ui.ScreenHome)
	if _, r := h.ask("home"); r == nil || r.Reason != localapi.RefusedResidentSession || r.Screen != ui.ScreenHome {
		t.Fatalf("on the home screen: %+v", r)
	}
	h.tap("Problem melden")
	h.tap("Müll oder Sperrmüll")
	h.typeKeys("Bank kaputt")
	h.expectScreen(ui.ScreenDescribe)
	if _, r := h.ask("report"); r == nil || r.Reason != localapi.RefusedResidentSession {
		t.Fatalf("while a report is written: %+v", r)
	}
	h.clk.Add(10 * time.Minute)
	h.u.Tick() // the session ends on its timeout
	h.u.Tick()
	h.expectScreen(ui.ScreenAttract)
	if pic, _ := h.ask("after"); pic == nil {
		t.Fatal("no picture once the session ended")
	}

	// The service menu: its PIN screen is refused, the menu is not.
	h.u.HandleEvent(localapi.Event{Type: localapi.EventCard, Card: &localapi.CardEvent{Presented: true, Hash: strings.Repeat("ab", 32)}})
	h.expectScreen(ui.ScreenPIN)
	if _, r := h.ask("pin"); r == nil || r.Reason != localapi.RefusedScreen || r.Screen != ui.ScreenPIN {
		t.Fatalf("on the PIN screen: %+v", r)
	}
	for _, k := range "2468" {
		h.tap(string(k))
	}
	h.tap("service.pin.ok")
	h.expectScreen(ui.ScreenService)
	h.picture(func() []byte { p, _ := h.ask("service"); return p }())

	// Out of order.
	h.u.HandleEvent(localapi.Event{Type: localapi.EventMode, Mode: &localapi.Mode{OutOfOrder: true}})
	h.expectScreen(ui.ScreenOutOfOrder)
	h.picture(func() []byte { p, _ := h.ask("out-of-order"); return p }())
}
