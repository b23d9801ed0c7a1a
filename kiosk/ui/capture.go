package ui

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/software"

	"github.com/quartierhub/quartierhub/kiosk/localapi"
)

// A screenshot command reaches the window as a capture event (see
// kiosk/localapi: capture.go). The window decides, on the Fyne goroutine
// and so at the very moment of the picture, whether it may take one:
// only on the attract screen, the out-of-order screen and in the service
// menu, and never while a resident's session is open (what they see and
// type is theirs). Elsewhere it refuses, and the agent reports the
// refusal to the hub. The picture is the canvas as the window drew it
// (fyne.Canvas.Capture). Fyne's OpenGL driver reads it back from the
// front buffer, which some drivers leave empty (Mesa on Xvfb gives all
// zeros: tests/e2e TestScreenshotOfTheRealWindow); then the screen shown
// is built once more from the window's state, as render builds it, and
// painted in software (fyne.io/fyne/v2/driver/software). The picture is
// encoded off the Fyne goroutine.

// capturer is what a capture needs of the window: fyne.Canvas has it,
// and Fyne's test canvas paints in software, so tests take real pictures.
type capturer interface {
	Capture() image.Image
}

// captureAnswerer is the agent's side of a capture (*localapi.Client).
// A backend without it gets no answer; the agent then gives up on its
// own bound.
type captureAnswerer interface {
	CaptureTaken(ctx context.Context, id string, png []byte) error
	RefuseCapture(ctx context.Context, id string, r localapi.CaptureRefusal) error
}

// captureAnswerTimeout bounds sending one answer to the agent.
const captureAnswerTimeout = 30 * time.Second

// capturable reports whether screen, shown with no session open, may be
// captured.
func capturable(screen string) bool {
	switch screen {
	case ScreenAttract, ScreenWorkshop, ScreenOutOfOrder, ScreenService:
		return true
	}
	return false
}

// capture answers the agent's capture id (on the Fyne goroutine).
func (u *UI) capture(id string) {
	ans, ok := u.be.(captureAnswerer)
	if !ok {
		u.log.Warn("capture asked of a backend that takes no answer", "capture", id)
		return
	}
	screen := u.name
	if u.sess.Current() != nil || !capturable(screen) {
		reason := localapi.RefusedScreen
		if u.sess.Current() != nil {
			reason = localapi.RefusedResidentSession
		}
		u.log.Info("capture refused", "capture", id, "screen", screen, "reason", reason)
		u.opts.Async(func() {
			ctx, cancel := context.WithTimeout(context.Background(), captureAnswerTimeout)
			defer cancel()
			if err := ans.RefuseCapture(ctx, id, localapi.CaptureRefusal{Reason: reason, Screen: screen}); err != nil {
				u.log.Warn("capture refusal not delivered", "capture", id, "err", err)
			}
		}, func() {})
		return
	}
	img := u.picture(u.capturer())
	u.opts.Async(func() {
		b, err := encodeCapture(img, localapi.MaxCaptureBytes)
		if err != nil {
			u.log.Warn("capture not encoded", "capture", id, "err", err)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), captureAnswerTimeout)
		defer cancel()
		if err := ans.CaptureTaken(ctx, id, b); err != nil {
			u.log.Warn("capture not delivered", "capture", id, "err", err)
			return
		}
		u.log.Info("capture taken", "capture", id, "screen", screen, "bytes", len(b))
	}, func() {})
}

// capturer is the window's canvas.
func (u *UI) capturer() capturer { return u.win.Canvas() }

// picture is what the window shows: what c captures, or, when that is
// empty, the screen painted again in software.
func (u *UI) picture(c capturer) image.Image {
	if img := c.Capture(); !blank(img) {
		return img
	}
	u.log.Debug("the canvas captured nothing: painting the screen in software", "screen", u.name)
	return u.paintAgain()
}

// blank reports whether img has no picture: no pixels, or every pixel
// fully transparent (a read-back of a buffer nothing was drawn into).
func blank(img image.Image) bool {
	if img == nil || img.Bounds().Empty() {
		return true
	}
	r := img.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if _, _, _, a := img.At(x, y).RGBA(); a != 0 {
				return false
			}
		}
	}
	return true
}

// paintAgain builds the screen shown again from state, as render does,
// and paints it in software at the window's size, scale and padding.
// The clock and the tap targets the build registers are the window's
// own again afterwards.
func (u *UI) paintAgain() image.Image {
	live := u.win.Canvas()
	// The build registers the screen's tap targets and screen reader
	// items again: the screen shown keeps its own.
	saved := u.saveBuild()
	defer u.restoreBuild(saved)
	var content fyne.CanvasObject
	if u.dark {
		content = newNightScreen(u.tr("night.wake"), func() {})
	} else {
		content = u.frame(u.build())
	}
	c := software.NewCanvas()
	c.SetPadded(u.win.Padded())
	c.SetScale(live.Scale())
	c.SetContent(content)
	c.Resize(live.Size())
	for range 4 { // wrapped labels get their height once they know their width (render)
		before := content.MinSize()
		relayout(content)
		if content.MinSize() == before {
			break
		}
	}
	return c.Capture()
}

// encodeCapture encodes img as a PNG of at most limit bytes: a busy
// screen that does not fit is halved in each direction until it does.
func encodeCapture(img image.Image, limit int) ([]byte, error) {
	if img == nil || img.Bounds().Empty() {
		return nil, fmt.Errorf("ui: capture: the window gave no picture")
	}
	for range 4 {
		var b bytes.Buffer
		if err := png.Encode(&b, img); err != nil {
			return nil, fmt.Errorf("ui: capture: %w", err)
		}
		if b.Len() <= limit {
			return b.Bytes(), nil
		}
		img = halve(img)
	}
	return nil, fmt.Errorf("ui: capture: larger than %d bytes even at an eighth of its size", limit)
}

// halve is img at half its width and height (every other pixel).
func halve(img image.Image) image.Image {
	r := img.Bounds()
	out := image.NewNRGBA(image.Rect(0, 0, max(1, r.Dx()/2), max(1, r.Dy()/2)))
	for y := range out.Rect.Dy() {
		for x := range out.Rect.Dx() {
			out.Set(x, y, img.At(r.Min.X+2*x, r.Min.Y+2*y))
		}
	}
	return out
}
