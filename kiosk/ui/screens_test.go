package ui_test

import (
	"flag"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"

	"github.com/quartierhub/quartierhub/kiosk/localapi"
	"github.com/quartierhub/quartierhub/kiosk/ui"
)

var screenshots = flag.String("screenshots", "", "write a PNG of every screen into this directory")

// visit drives the window to each screen in turn and calls f on it.
func visit(t *testing.T, lang, mode string, size fyne.Size, set func(*ui.Opts), f func(h *harness, name string)) {
	be := newFake(t)
	base := time.Date(2025, 3, 3, 9, 30, 0, 0, time.Local)
	for i := range 24 * 12 {
		at := base.Add(-24*time.Hour + time.Duration(i)*5*time.Minute)
		w := float64(i % 96)
		be.history.Minutes = append(be.history.Minutes,
			localapi.Minute{Quantity: "pm25", Minute: at, Mean: 6 + w/4},
			localapi.Minute{Quantity: "pm10", Minute: at, Mean: 12 + w/3},
			localapi.Minute{Quantity: "co2", Minute: at, Mean: 430 + w})
	}
	be.history.Latest = []localapi.Reading{{Quantity: "pm25", Value: 8.4}, {Quantity: "pm10", Value: 14}, {Quantity: "co2", Value: 612}}
	h := newHarnessWith(t, be, size, set)
	start := func() {
		if lang == "de" {
			h.tapAttract()
		} else {
			h.tap("English")
		}
		if mode == "large" {
			h.tap("display.large")
		}
		if mode == "contrast" {
			h.tap("display.contrast")
		}
	}
	if mode == "normal" && lang == "de" {
		f(h, "attract")
	}
	start()
	f(h, "home")
	h.tap(h.cat.T(lang, "home.title")[:0] + tileTitle(lang, "report"))
	f(h, "report-1-category")
	h.tap(map[string]string{"de": "Straßenlicht kaputt", "en": "Street light broken"}[lang])
	h.typeKeys(map[string]string{"de": "Lampe an der Brücke flackert", "en": "Lamp by the bridge flickers"}[lang])
	f(h, "report-2-describe")
	h.tap("action.next")
	f(h, "report-3-place")
	h.tap(map[string]string{"de": "Yenidze / Weißeritzstraße", "en": "Yenidze / Weißeritzstraße"}[lang])
	f(h, "report-4-confirm")
	h.tap("report.confirm.send")
	f(h, "report-5-thanks")
	h.tap("action.more")
	h.tap(tileTitle(lang, "air"))
	f(h, "air")
	h.tap("action.home")
	h.tap(tileTitle(lang, "survey"))
	f(h, "survey-1-card")
	h.u.HandleEvent(localapi.Event{Type: localapi.EventCard, Card: &localapi.CardEvent{Presented: true, Hash: "c"}})
	f(h, "survey-2-intro")
	h.tap("survey.start")
	h.tap("4")
	f(h, "survey-3-scale")
	h.tap("action.next")
	h.tap(map[string]string{"de": "zu Fuß", "en": "on foot"}[lang])
	h.tap("action.next")
	h.tap(map[string]string{"de": "Sitzbänke", "en": "benches"}[lang])
	f(h, "survey-4-multiple")
	h.tap("action.home")
	h.tap(tileTitle(lang, "ticket"))
	f(h, "ticket-1")
	h.tap("ticket.draw")
	f(h, "ticket-2-number")
	h.tap("action.home")
	h.tap(tileTitle(lang, "privacy"))
	f(h, "info")
	h.clk.Add(121 * time.Second)
	h.u.Tick()
	f(h, "timeout-warning")
	h.tap("timeout.more")
	if mode == "normal" {
		h.tap("action.finish")
		h.u.HandleEvent(localapi.Event{Type: localapi.EventCard, Card: &localapi.CardEvent{Presented: true, Hash: strings.Repeat("ab", 32)}})
		for _, k := range "24" {
			h.tap(string(k))
		}
		f(h, "service-pin")
		for _, k := range "68" {
			h.tap(string(k))
		}
		h.tap("service.pin.ok")
		f(h, "service-menu")
		h.tap("service.close")
		h.u.HandleEvent(localapi.Event{Type: localapi.EventMode, Mode: &localapi.Mode{OutOfOrder: true}})
		f(h, "out-of-order")
	}
}

func tileTitle(lang, id string) string {
	return map[string]map[string]string{
		"de": {"report": "Problem melden", "air": "Luft und Klima", "survey": "Umfrage: Friedrichstraße", "ticket": "Wartenummer", "privacy": "Ihre Daten"},
		"en": {"report": "Report a problem", "air": "Air and climate", "survey": "Survey: Friedrichstraße", "ticket": "Waiting number", "privacy": "Your data"},
	}[lang][id]
}

// TestEveryScreen walks every screen in both languages and all three
// display modes: nothing a resident taps is smaller than 48 × 48, nothing
// overflows the 1920 × 1080 screen (which is also ui.WindowedSize, the
// window of `kiosk run --windowed`), no text is drawn over another; with -screenshots DIR it writes PNGs.
func TestEveryScreen(t *testing.T) {
	if testing.Short() && *screenshots == "" {
		t.Skip("short")
	}
	for _, lang := range []string{"de", "en"} {
		for _, mode := range []string{"normal", "large", "contrast"} {
			t.Run(lang+"-"+mode, func(t *testing.T) {
				visit(t, lang, mode, fullHD, nil, func(h *harness, name string) {
					c := h.w.Canvas()
					if sz := c.Size(); sz.Width > fullHD.Width || sz.Height > fullHD.Height {
						t.Errorf("%s: the screen needs %v, more than 1920x1080", name, sz)
					}
					// The test canvas keeps its size whatever the content
					// needs; a real window grows to (or overflows with) it.
					if sz := c.Content().MinSize(); sz.Width > fullHD.Width || sz.Height > fullHD.Height {
						t.Errorf("%s: the content needs at least %v, more than 1920x1080", name, sz)
					}
					checkTouchTargets(t, h, name)
					checkNoTextOverlaps(t, h, name)
					if *screenshots != "" {
						writePNG(t, filepath.Join(*screenshots, fmt.Sprintf("%s-%s-%s.png", name, lang, mode)), h.w)
					}
				})
			})
		}
	}
	if ui.WindowedSize != fullHD {
		t.Errorf("the windowed mode lays out at %v, not at the 1920x1080 checked here", ui.WindowedSize)
	}
}

var fullHD = fyne.NewSize(1920, 1080)

func checkTouchTargets(t *testing.T, h *harness, name string) {
	t.Helper()
	for _, o := range h.objects() {
		if _, ok := o.(fyne.Tappable); !ok {
			continue
		}
		if _, ok := o.(interface{ AttractTapLayer() }); ok {
			continue
		}
		// Scroll bars: content scrolls by dragging anywhere on it.
		if strings.HasPrefix(fmt.Sprintf("%T", o), "*widget.scrollBar") {
			continue
		}
		if s := o.Size(); s.Width < 48 || s.Height < 48 {
			t.Errorf("%s: %T is %v, smaller than 48x48", name, o, s)
		}
	}
}

func writePNG(t *testing.T, path string, w fyne.Window) {
	t.Helper()
	img := w.Canvas().Capture()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}

var _ = test.Tap
var _ = ui.ScreenHome

// placedText is a text drawn on the screen and where, in canvas coordinates.
type placedText struct {
	text string
	pos  fyne.Position
	size fyne.Size
}

// texts lists the visible, non-empty canvas.Text objects under o with
// their absolute positions.
func texts(o fyne.CanvasObject, at fyne.Position, out []placedText) []placedText {
	if o == nil || !o.Visible() {
		return out
	}
	at = at.Add(o.Position())
	switch x := o.(type) {
	case *canvas.Text:
		if strings.TrimSpace(x.Text) != "" {
			out = append(out, placedText{x.Text, at, x.Size()})
		}
	case *fyne.Container:
		for _, c := range x.Objects {
			out = texts(c, at, out)
		}
	case fyne.Widget:
		for _, c := range test.WidgetRenderer(x).Objects() {
			out = texts(c, at, out)
		}
	}
	return out
}

// checkNoTextOverlaps fails if two texts on the screen are drawn over one
// another (wrapped labels laid out before their wrapped height was known
// overlap what follows them). The window's content and each overlay are
// checked on their own: an overlay covers the screen on purpose.
func checkNoTextOverlaps(t *testing.T, h *harness, name string) {
	t.Helper()
	c := h.w.Canvas()
	roots := append([]fyne.CanvasObject{c.Content()}, c.Overlays().List()...)
	const slack = 1 // rounding; rows of one label touch, they do not overlap
	for _, root := range roots {
		ts := texts(root, fyne.NewPos(-root.Position().X, -root.Position().Y), nil)
		for i, a := range ts {
			for _, b := range ts[i+1:] {
				dx := min(a.pos.X+a.size.Width, b.pos.X+b.size.Width) - max(a.pos.X, b.pos.X)
				dy := min(a.pos.Y+a.size.Height, b.pos.Y+b.size.Height) - max(a.pos.Y, b.pos.Y)
				if dx > slack && dy > slack {
					t.Errorf("%s: %q at %v %v overlaps %q at %v %v", name, a.text, a.pos, a.size, b.text, b.pos, b.size)
				}
			}
		}
	}
}
