package ui_test

import (
	"flag"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/quartierhub/quartierhub/assets"
	"github.com/quartierhub/quartierhub/hub-server/api"
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
	if !slices.Contains(be.content.Languages, lang) {
		be.content.Languages = append(be.content.Languages, lang)
	}

	h := newHarnessWith(t, be, size, set)
	start := func() {
		if lang == "de" {
			h.tapAttract()
		} else {
			h.tap(h.cat.Name(lang)) // the attract screen's row of languages
		}
		if mode == "large" {
			h.tap("display.large")
		}
		if mode == "contrast" {
			h.tap("display.contrast")
		}
	}
	if mode == "normal" && (lang == "de" || lang == "uk") {
		f(h, "attract")
	}
	start()
	h.expectScreen(ui.ScreenHome)
	f(h, "home")
	h.tap(h.cat.Name(lang)) // the top bar's language button
	h.expectScreen(ui.ScreenLanguage)
	f(h, "language")
	h.tap(h.cat.Name(lang))
	h.expectScreen(ui.ScreenHome)
	h.tap(tileTitle(lang, "report"))
	f(h, "report-1-category")
	h.tap(demoText(lang, "category", "lighting"))
	h.typeText(map[string]string{ // on the session language's keyboard
		"de": "Lampe an der Brücke flackert", "en": "Lamp by the bridge flickers",
		"uk": "Ліхтар біля мосту блимає", "ru": "Фонарь у моста мигает",
		"tr": "Köprüdeki lamba yanıp sönüyor", "vi": "Đèn ở cầu nhấp nháy",
	}[lang])
	f(h, "report-2-describe")
	h.tap("action.next")
	f(h, "report-3-place")
	h.tap(demoText(lang, "place", "yenidze"))
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
	f(h, "survey-3-single")
	h.tap(demoText(lang, "option", "foot"))
	h.tap("action.next")
	h.tap(demoText(lang, "option", "benches"))
	f(h, "survey-4-multiple")
	h.tap("action.next")
	h.typeText(map[string]string{"de": "Mehr Grün", "en": "More green", "uk": "Більше зелені", "ru": "Больше зелени",
		"tr": "Daha çok yeşil", "vi": "Thêm cây xanh"}[lang])
	f(h, "survey-5-text")
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

// tileTitle is the title of the demo content's service id in lang.
func tileTitle(lang, id string) string { return demoText(lang, "service", id) }

// demoText is a text of the demo content in lang (German where it has
// none in lang, as the window shows it): a service's title, a problem
// category's or a survey option's label, a place's name, by ID.
func demoText(lang, kind, id string) string {
	c, err := assets.DemoContent()
	if err != nil {
		panic(err)
	}
	var t *api.Text
	switch kind {
	case "service":
		for i := range c.Services {
			if c.Services[i].ID == id {
				t = &c.Services[i].Title
			}
		}
	case "category":
		for i := range c.ProblemCategories {
			if c.ProblemCategories[i].ID == id {
				t = &c.ProblemCategories[i].Label
			}
		}
	case "place":
		for i := range c.Places {
			if c.Places[i].ID == id {
				t = &c.Places[i].Name
			}
		}
	case "option":
		for _, sv := range c.Surveys {
			for _, q := range sv.Questions {
				for i := range q.Options {
					if q.Options[i].ID == id {
						t = &q.Options[i].Label
					}
				}
			}
		}
	}
	if t == nil {
		panic(fmt.Sprintf("no %s %q in the demo content", kind, id))
	}
	return t.In(lang, "de")
}

// TestEveryScreen walks every screen, the language screen too, in
// German, English, Ukrainian and Vietnamese (screenLanguages) and all three
// display modes at the terminals' screen sizes (1920 × 1080, 1280 × 800
// and the smallest, 1024 × 768): nothing a resident taps is smaller than
// 48 × 48, the content fits the screen, nothing is drawn outside the
// window or squeezed below its size (clipped), no text is drawn over
// another; with -screenshots DIR it writes PNGs (every screen at 1920 ×
// 1080, the key screens at 1280 × 800).
func TestEveryScreen(t *testing.T) {
	if testing.Short() && *screenshots == "" {
		t.Skip("short")
	}
	for _, size := range screenSizes {
		for _, lang := range screenLanguages(t) {
			for _, mode := range []string{"normal", "large", "contrast"} {
				if mode == "contrast" && lang != "de" && lang != "en" {
					continue // high contrast changes colours, not one size: German and English show its colours
				}
				t.Run(fmt.Sprintf("%.0fx%.0f-%s-%s", size.Width, size.Height, lang, mode), func(t *testing.T) {
					check := func(h *harness, name string) {
						checkFits(t, h, name, size)
						checkTouchTargets(t, h, name)
						checkNoTextOverlaps(t, h, name)
						checkInsideAndUnclipped(t, h, name)
						if mode != "large" || size != xga {
							checkNothingScrolls(t, h, name)
						}
						if *screenshots != "" {
							newLang := lang != "de" && lang != "en" // fewer files: normal text, and at 1280 × 800 the key screens
							if size == fullHD && (mode == "normal" || !onlyNormal[name] && !newLang) {
								writePNG(t, filepath.Join(*screenshots, fmt.Sprintf("%s-%s-%s.png", name, lang, mode)), h.w)
							} else if size == wxga && keyScreens[name] && (newLang && mode == "normal" || !newLang && (lang == "de") == (mode != "contrast")) {
								writePNG(t, filepath.Join(*screenshots, fmt.Sprintf("1280x800-%s-%s-%s.png", name, lang, mode)), h.w)
							}
						}
					}
					visit(t, lang, mode, size, nil, check)
					visitWorkshop(t, lang, mode, size, check)
				})
			}
		}
	}
	if !slices.Contains(screenSizes, ui.WindowedSize) {
		t.Errorf("the windowed mode opens at %v, a size not checked here", ui.WindowedSize)
	}
}

// screenLanguages are the languages TestEveryScreen walks: every screen
// language of the catalog (long Cyrillic words, Vietnamese diacritics
// above and below, Turkish's long suffixed words).
func screenLanguages(t *testing.T) []string {
	var out []string
	cat := catalog(t)
	for _, l := range []string{"de", "en", "uk", "ru", "tr", "vi"} {
		if cat.Has(l) {
			out = append(out, l)
		}
	}
	return out
}

var (
	fullHD      = fyne.NewSize(1920, 1080)
	wxga        = fyne.NewSize(1280, 800)
	xga         = fyne.NewSize(1024, 768)
	screenSizes = []fyne.Size{fullHD, wxga, xga}
	// onlyNormal screens are written in normal text only (file count).
	onlyNormal = map[string]bool{"survey-3-single": true, "survey-5-text": true}
	// keyScreens are also written at 1280 × 800 by -screenshots (German
	// normal and large text, English high contrast).
	keyScreens = map[string]bool{"home": true, "language": true, "report-2-describe": true, "air": true, "survey-3-scale": true,
		"workshop-attract": true, "workshop-ideas": true, "workshop-vote": true}
)

// checkFits fails if the screen's content needs more than size (the test
// canvas keeps its size whatever the content needs; a real window grows
// to, or overflows with, it).
func checkFits(t *testing.T, h *harness, name string, size fyne.Size) {
	t.Helper()
	c := h.w.Canvas()
	if sz := c.Size(); sz.Width > size.Width || sz.Height > size.Height {
		t.Errorf("%s: the screen needs %v, more than %v", name, sz, size)
	}
	if sz := c.Content().MinSize(); sz.Width > size.Width || sz.Height > size.Height {
		t.Errorf("%s: the content needs at least %v, more than %v", name, sz, size)
	}
	// A canvas grown for one screen would hide the next screen's faults.
	h.w.Resize(size)
}

// checkInsideAndUnclipped fails if a text or something tappable lies
// (partly) outside the window — or, inside a scrolled area, to its left or
// right, where no scrolling reaches it — or is smaller than its own
// minimum size (a squeezed button or label cuts its text off).
func checkInsideAndUnclipped(t *testing.T, h *harness, name string) {
	t.Helper()
	c := h.w.Canvas()
	win := rect{0, 0, c.Size().Width, c.Size().Height}
	const slack = 1
	seen := map[string]bool{}
	report := func(format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		if !seen[msg] {
			seen[msg] = true
			t.Error(msg)
		}
	}
	roots := append([]fyne.CanvasObject{c.Content()}, c.Overlays().List()...)
	for _, root := range roots {
		walkPlaced(root, fyne.NewPos(-root.Position().X, -root.Position().Y), win, false, func(o fyne.CanvasObject, r, view rect, scrolled bool) {
			label, relevant := describe(o)
			if !relevant {
				return
			}
			outside := r.x0 < view.x0-slack || r.x1 > view.x1+slack
			if !scrolled {
				outside = outside || r.y0 < view.y0-slack || r.y1 > view.y1+slack
			}
			if outside {
				report("%s: %s at %v is outside the visible area %v", name, label, r, view)
			}
			if _, ok := o.(*canvas.Text); ok {
				return // a label's text may be narrower than the label
			}
			if m, s := o.MinSize(), o.Size(); s.Width < m.Width-slack || s.Height < m.Height-slack {
				report("%s: %s is %v, smaller than its minimum %v: clipped", name, label, s, m)
			}
		})
	}
}

// checkNothingScrolls fails if the screen as a whole (the body between
// the top and bottom bars) needs scrolling to be seen, or any part of it
// does (home tiles, categories, places, a survey's options): only the
// long screens may scroll (the air screen's charts, an information page,
// the staff's service menu, a workshop's lists). Every
// mode fits every size without scrolling but one: large text on a
// 1024 × 768 screen, where the home tiles, the keyboard screen and the
// ticket scroll (nothing is clipped there either).
func checkNothingScrolls(t *testing.T, h *harness, name string) {
	t.Helper()
	first := true
	for _, o := range h.objects() {
		s, ok := o.(*container.Scroll)
		if !ok {
			continue
		}
		inner := name != "service-menu" && name != "air" && name != "info" && !longWorkshopScreen[name] // long by nature: they scroll
		if need, have := s.Content.MinSize().Height, s.Size().Height; (first && name != "service-menu" || inner) && need > have+1 {
			t.Errorf("%s: needs %.0f px height, has %.0f: it scrolls", name, need, have)
		}
		first = false
	}
}

// longWorkshopScreen lists a workshop's screens whose lists grow with
// the workshop (ideas, themes, results): their list scrolls under a head
// that stays.
var longWorkshopScreen = map[string]bool{"workshop-themes": true, "workshop-vote": true, "workshop-results": true}

type rect struct{ x0, y0, x1, y1 float32 }

func (r rect) String() string { return fmt.Sprintf("(%.0f,%.0f)-(%.0f,%.0f)", r.x0, r.y0, r.x1, r.y1) }

// describe names the texts and tappables checked by checkInsideAndUnclipped.
func describe(o fyne.CanvasObject) (string, bool) {
	switch x := o.(type) {
	case *canvas.Text:
		if strings.TrimSpace(x.Text) == "" {
			return "", false
		}
		return fmt.Sprintf("text %q", x.Text), true
	case *widget.Button:
		return fmt.Sprintf("button %q", x.Text), true
	case *widget.Label:
		return fmt.Sprintf("label %q", x.Text), x.Text != ""
	case interface{ TileTitle() string }:
		return fmt.Sprintf("tile %q", x.TileTitle()), true
	}
	if _, ok := o.(fyne.Tappable); ok {
		if _, ok := o.(interface{ AttractTapLayer() }); ok {
			return "", false
		}
		if strings.HasPrefix(fmt.Sprintf("%T", o), "*widget.scrollBar") {
			return "", false
		}
		return fmt.Sprintf("%T", o), true
	}
	return "", false
}

// walkPlaced calls f for every visible object under o with its rectangle
// in canvas coordinates, the visible area it is in (the window, or the
// viewport of the scroll container around it) and whether that area
// scrolls vertically (what lies below it can be scrolled to).
func walkPlaced(o fyne.CanvasObject, at fyne.Position, view rect, scrolled bool, f func(o fyne.CanvasObject, r, view rect, scrolled bool)) {
	if o == nil || !o.Visible() {
		return
	}
	at = at.Add(o.Position())
	r := rect{at.X, at.Y, at.X + o.Size().Width, at.Y + o.Size().Height}
	f(o, r, view, scrolled)
	switch x := o.(type) {
	case *container.Scroll:
		v := rect{max(r.x0, view.x0), max(r.y0, view.y0), min(r.x1, view.x1), min(r.y1, view.y1)}
		walkPlaced(x.Content, at, v, scrolled || x.Direction == container.ScrollVerticalOnly || x.Direction == container.ScrollBoth, f)
	case *fyne.Container:
		for _, c := range x.Objects {
			walkPlaced(c, at, view, scrolled, f)
		}
	case fyne.Widget:
		for _, c := range test.WidgetRenderer(x).Objects() {
			walkPlaced(c, at, view, scrolled, f)
		}
	}
}

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

// placedText is a text drawn on the screen and where, in canvas
// coordinates: the part of it that is not scrolled out of view.
type placedText struct {
	text string
	pos  fyne.Position
	size fyne.Size
}

// texts lists the visible, non-empty canvas.Text objects under root with
// their absolute positions, cut to the scroll viewport they are in.
func texts(root fyne.CanvasObject, win rect) []placedText {
	var out []placedText
	walkPlaced(root, fyne.NewPos(-root.Position().X, -root.Position().Y), win, false, func(o fyne.CanvasObject, r, view rect, _ bool) {
		x, ok := o.(*canvas.Text)
		if !ok || strings.TrimSpace(x.Text) == "" {
			return
		}
		c := rect{max(r.x0, view.x0), max(r.y0, view.y0), min(r.x1, view.x1), min(r.y1, view.y1)}
		if c.x1 <= c.x0 || c.y1 <= c.y0 {
			return
		}
		out = append(out, placedText{x.Text, fyne.NewPos(c.x0, c.y0), fyne.NewSize(c.x1-c.x0, c.y1-c.y0)})
	})
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
		ts := texts(root, rect{0, 0, c.Size().Width, c.Size().Height})
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
