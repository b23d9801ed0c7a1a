package ui

import (
	"image"
	"image/color"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/quartierhub/quartierhub/assets"
	"github.com/quartierhub/quartierhub/kiosk/localapi"
)

// canvasOf is a capturer that gives img.
type canvasOf struct{ img image.Image }

func (c canvasOf) Capture() image.Image { return c.img }

// When the canvas captures nothing (as Fyne's OpenGL driver does where
// the front buffer reads back empty), the picture is the screen painted
// again in software: what the window shows, pixel for pixel, on each
// screen that may be captured; the window's own clock and tap targets
// stay its own. A canvas that gives a picture is taken as it is.
func TestPictureWhenTheCanvasGivesNothing(t *testing.T) {
	app := test.NewTempApp(t)
	w := app.NewWindow("")
	w.Resize(fyne.NewSize(1280, 800))
	cat, err := assets.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2025, 3, 3, 9, 30, 0, 0, time.Local)
	u := New(app, w, nil, Opts{Catalog: cat, Now: func() time.Time { return now }})
	c, err := assets.DemoContent()
	if err != nil {
		t.Fatal(err)
	}
	u.Apply(c, localapi.Status{Version: "test", Terminal: localapi.Terminal{Enrolled: true, Name: "demo-1"}})
	empty := image.NewNRGBA(image.Rect(0, 0, 1280, 800))
	for _, screen := range []struct {
		name string
		show func()
	}{
		{ScreenAttract, u.showAttract},
		{ScreenOutOfOrder, func() { u.show(ScreenOutOfOrder, u.outOfOrderScreen) }},
		{ScreenService, func() { u.show(ScreenService, u.serviceScreen) }},
	} {
		screen.show()
		clock, targets := u.clock, len(u.targets)
		want := w.Canvas().Capture() // the test driver paints the live tree in software
		got := u.picture(canvasOf{empty})
		if got.Bounds() != want.Bounds() {
			t.Fatalf("%s: painted %v, the window is %v", screen.name, got.Bounds(), want.Bounds())
		}
		diff := 0
		for y := range want.Bounds().Dy() {
			for x := range want.Bounds().Dx() {
				r1, g1, b1, _ := want.At(x, y).RGBA()
				r2, g2, b2, _ := got.At(x, y).RGBA()
				if r1>>8 != r2>>8 || g1>>8 != g2>>8 || b1>>8 != b2>>8 {
					diff++
				}
			}
		}
		if diff > 0 {
			t.Errorf("%s: %d pixels differ from the window", screen.name, diff)
		}
		if u.clock != clock || len(u.targets) != targets {
			t.Errorf("%s: painting again took the window's clock or targets", screen.name)
		}
	}
	mark := image.NewNRGBA(image.Rect(0, 0, 4, 4))
	mark.Set(1, 1, color.NRGBA{R: 255, A: 255})
	if got := u.picture(canvasOf{mark}); got != image.Image(mark) {
		t.Error("a canvas's own picture was not taken")
	}
}
