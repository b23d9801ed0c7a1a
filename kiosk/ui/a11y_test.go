package ui_test

import (
	"context"
	"encoding/json"
	"image"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"

	"github.com/quartierhub/quartierhub/assets"
	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/internal/i18n"
	"github.com/quartierhub/quartierhub/kiosk/a11y"
	"github.com/quartierhub/quartierhub/kiosk/a11y/a11ytest"
	"github.com/quartierhub/quartierhub/kiosk/localapi"
	"github.com/quartierhub/quartierhub/kiosk/session"
	"github.com/quartierhub/quartierhub/kiosk/ui"
)

// keypadCodes are the X11 key codes a USB keypad sends for keys Fyne
// names like the main row's.
var keypadCodes = map[string]struct {
	name fyne.KeyName
	code int
}{
	"KP_8": {"8", 80}, "KP_2": {"2", 88}, "KP_5": {"5", 84}, "KP_Add": {"+", 86}, "KP_Subtract": {"-", 82}, "KP_Multiply": {"*", 63},
}

// speaking is a harness whose window speaks into a recorder.
func speaking(t *testing.T, be *fake, set func(*ui.Opts)) (*harness, *a11ytest.Recorder) {
	t.Helper()
	rec := a11ytest.NewRecorder()
	h := newHarnessWith(t, be, fyne.NewSize(1920, 1080), func(o *ui.Opts) {
		o.Speaker = rec
		if set != nil {
			set(o)
		}
	})
	return h, rec
}

// key presses a key as the window's canvas delivers it: to what holds
// the canvas's focus (the window's key sink).
func (h *harness) key(name string) {
	h.t.Helper()
	ev := &fyne.KeyEvent{Name: fyne.KeyName(name)}
	if k, ok := keypadCodes[name]; ok {
		ev = &fyne.KeyEvent{Name: k.name, Physical: fyne.HardwareKey{ScanCode: k.code}}
	}
	f := h.w.Canvas().Focused()
	if f == nil {
		h.t.Fatalf("nothing holds the focus on screen %s: keys go nowhere", h.u.Screen())
	}
	f.TypedKey(ev)
}

// focused is the label of the screen reader's focused item.
func (h *harness) focused() string {
	r := h.u.Reader()
	n, _, ok := r.Focused()
	if !ok {
		return ""
	}
	return n.Label(r.Language())
}

// focusOn presses Down (on the keypad: 2) until label has the focus.
func (h *harness) focusOn(label string) {
	h.t.Helper()
	if h.cat.HasKey(label) {
		label = h.cat.T(h.lang(), label)
	}
	for range len(h.u.Reader().Tree().Nodes) + 1 {
		if h.focused() == label {
			return
		}
		h.key("KP_2")
	}
	var labels []string
	for _, n := range h.u.Reader().Tree().Nodes {
		labels = append(labels, n.Label(h.u.Reader().Language()))
	}
	h.t.Fatalf("no item %q on screen %s: %q", label, h.u.Screen(), labels)
}

// chooseLanguageByKeys goes to the language screen by the top bar's
// language button and chooses l there, with the keypad alone.
func (h *harness) chooseLanguageByKeys(l string) {
	h.t.Helper()
	cur := h.u.Reader().Language()
	h.choose(h.cat.T(cur, "language.button", "language", h.cat.Name(cur)))
	h.expectScreen(ui.ScreenLanguage)
	h.choose(h.cat.Name(l))
}

// choose focuses label and presses Enter.
func (h *harness) choose(label string) {
	h.t.Helper()
	h.focusOn(label)
	h.key("Return")
}

// typeByKeys types s on the on-screen keyboard with the keypad alone.
func (h *harness) typeByKeys(s string) {
	h.t.Helper()
	for _, r := range s {
		if r == ' ' {
			h.choose("keyboard.space")
			continue
		}
		if !h.keyShown(string(r)) {
			h.choose("keyboard.shift")
		}
		h.choose(string(r))
	}
}

// saidInOrder fails unless each of want was said, in this order.
func saidInOrder(t *testing.T, rec *a11ytest.Recorder, want ...string) {
	t.Helper()
	said := rec.Texts()
	i, off := 0, 0 // in said[i], from off on
	for _, w := range want {
		for i < len(said) && !strings.Contains(said[i][off:], w) {
			i, off = i+1, 0
		}
		if i == len(said) {
			t.Fatalf("%q not said (in order); said:\n%s", w, strings.Join(said, "\n"))
		}
		off += strings.Index(said[i][off:], w) + len(w)
	}
}

// TestKeypadReport: a person who cannot see the screen reports a problem
// with the keypad alone and hears the reference number.
func TestKeypadReport(t *testing.T) {
	be := newFake(t)
	h, rec := speaking(t, be, nil)
	h.key("KP_5") // the first key: speech starts, and so does a session
	h.expectScreen(ui.ScreenHome)
	if !h.u.Reader().On() {
		t.Fatal("speech mode not on after the first key")
	}
	h.choose("Problem melden")
	h.expectScreen(ui.ScreenCategory)
	h.choose("Müll oder Sperrmüll")
	h.expectScreen(ui.ScreenDescribe)
	h.typeByKeys("Glas")
	h.choose("action.next")
	h.expectScreen(ui.ScreenPlace)
	h.choose("Yenidze / Weißeritzstraße")
	h.expectScreen(ui.ScreenConfirm)
	h.choose("report.confirm.send")
	h.expectScreen(ui.ScreenThanks)
	// The thank-you, then the number spelled (espeak-ng reads "7B5C" as
	// a word) with the line above it, then the receipt: said once.
	number := h.cat.T("de", "report.thanks.reference") + " 7 B 5 C, Bindestrich, 9 D 0 1."
	thanks := a11y.Sentences(h.cat.T("de", "report.thanks.title"), h.cat.T("de", "a11y.count", "n", len(h.u.Reader().Tree().Nodes)),
		number, h.cat.T("de", "a11y.receipt"))
	if h.focused()+"." != number {
		t.Fatalf("the focus is on %q, not the number", h.focused())
	}
	saidInOrder(t, rec,
		h.cat.T("de", "a11y.welcome"), h.cat.T("de", "home.title"),
		h.cat.T("de", "report.category.title"),
		h.cat.T("de", "report.describe.title"),
		"G", "l", "a", "s",
		h.cat.T("de", "report.place.title"),
		h.cat.T("de", "report.confirm.title"),
		thanks)
	if rec.Last() != thanks {
		t.Fatalf("the thanks screen said %q, want %q", rec.Last(), thanks)
	}
	if len(be.submitted) != 1 || be.submitted[0].Payload.(map[string]any)["text"] != "Glas" || be.submitted[0].Payload.(map[string]any)["place"] != "yenidze" {
		t.Fatalf("submitted %+v", be.submitted)
	}
	h.key("KP_Multiply") // repeat: the reference once more
	if !strings.Contains(rec.Last(), number) {
		t.Fatalf("repeat said %q", rec.Last())
	}
	h.key("KP_Add")
	if h.u.Reader().Volume() != a11y.DefaultVolume+a11y.VolumeStep {
		t.Fatalf("volume %d", h.u.Reader().Volume())
	}
	h.focusOn("action.done")
	if want := a11y.Sentences(h.cat.T("de", "action.done") + ", " + h.cat.T("de", "a11y.role.button") + ", " + h.cat.T("de", "a11y.hint.done")); rec.Last() != want {
		t.Fatalf("Fertig said %q, want %q", rec.Last(), want)
	}
	h.choose("action.done")
	h.expectScreen(ui.ScreenAttract)
	if h.u.Reader().On() || rec.Last() != h.cat.T("de", "a11y.session_ended") || h.u.Reader().Volume() != a11y.DefaultVolume {
		t.Fatalf("after the session: speech %v, said last %q, volume %d", h.u.Reader().On(), rec.Last(), h.u.Reader().Volume())
	}
}

// TestSessionEndSpoken: a session that ends by timeout, by "Beenden" or
// by "Fertig" says so in speech mode (not silence); with headphones in,
// before the attract screen's own speech.
func TestSessionEndSpoken(t *testing.T) {
	ended := catalog(t).T("de", "a11y.session_ended")
	t.Run("timeout", func(t *testing.T) {
		h, rec := speaking(t, newFake(t), nil)
		h.key("KP_5")
		h.expectScreen(ui.ScreenHome)
		timeout, warning := h.u.SessionTiming()
		h.clk.Add(timeout)
		h.u.Tick()
		if !h.u.WarningShown() {
			t.Fatal("no warning")
		}
		h.clk.Add(warning + time.Second)
		h.u.Tick()
		h.expectScreen(ui.ScreenAttract)
		if rec.Last() != ended {
			t.Fatalf("the end of the session said %q", rec.Texts())
		}
	})
	t.Run("finish", func(t *testing.T) {
		h, rec := speaking(t, newFake(t), nil)
		h.key("KP_5")
		h.expectScreen(ui.ScreenHome)
		h.choose("action.finish")
		h.expectScreen(ui.ScreenAttract)
		if rec.Last() != ended || h.u.Reader().On() {
			t.Fatalf("after Beenden: speech %v, said %q", h.u.Reader().On(), rec.Texts())
		}
	})
	t.Run("headphones", func(t *testing.T) {
		h, rec := speaking(t, newFake(t), nil)
		h.u.Headphones(true)
		h.expectScreen(ui.ScreenHome)
		h.choose("action.finish")
		h.expectScreen(ui.ScreenAttract)
		if !strings.HasPrefix(rec.Last(), ended+" ") || !strings.Contains(rec.Last(), h.cat.T("de", "a11y.count", "n", len(h.u.Reader().Tree().Nodes))) {
			t.Fatalf("with headphones the attract screen said %q", rec.Last())
		}
	})
}

// TestKeypadSurveyTicketAirInfo completes the survey, draws a ticket,
// reads the air and an information page with the keypad alone.
func TestKeypadSurveyTicketAirInfo(t *testing.T) {
	be := newFake(t)
	be.history.Latest = []localapi.Reading{{Quantity: "pm25", Value: 8.4}, {Quantity: "pm10", Value: 14}, {Quantity: "co2", Value: 612}}
	h, rec := speaking(t, be, nil)
	h.key("Tab")
	h.expectScreen(ui.ScreenHome)

	h.choose(tileTitle("de", "survey"))
	h.expectScreen(ui.ScreenSurvey)
	h.u.HandleEvent(localapi.Event{Type: localapi.EventCard, Card: &localapi.CardEvent{Presented: true, Hash: "c"}})
	h.choose("survey.start")
	h.choose("4")
	h.choose("action.next")
	h.choose("zu Fuß")
	h.choose("action.next")
	h.choose("Sitzbänke")
	h.choose("action.next")
	h.typeByKeys("Mehr")
	h.choose("survey.send")
	h.expectScreen(ui.ScreenSurveyDone)
	if len(be.responses) != 1 {
		t.Fatalf("%d responses", len(be.responses))
	}
	saidInOrder(t, rec, "4, "+h.cat.T("de", "a11y.role.choice")+", "+h.cat.T("de", "a11y.state.selected"), "zu Fuß, "+h.cat.T("de", "a11y.role.choice")+", "+h.cat.T("de", "a11y.state.selected"),
		"Sitzbänke, "+h.cat.T("de", "a11y.role.choice")+", "+h.cat.T("de", "a11y.state.selected"), h.cat.T("de", "survey.thanks"))

	h.choose("action.more")
	h.choose(tileTitle("de", "ticket"))
	h.expectScreen(ui.ScreenTicket)
	h.choose("ticket.draw")
	saidInOrder(t, rec, a11y.Sentences(h.cat.T("de", "ticket.your_number"), "1", h.cat.T("de", "a11y.receipt")))

	h.choose("action.home")
	h.choose(tileTitle("de", "air"))
	h.expectScreen(ui.ScreenAir)
	pm := h.cat.T("de", "air.line", "name", h.cat.T("de", "air.pm25.name"), "value", "8,4", "unit", h.cat.T("de", "air.pm25.unit"), "level", h.cat.T("de", "air.level.1"))
	saidInOrder(t, rec, a11y.Sentences(h.cat.T("de", "air.title"), h.cat.T("de", "a11y.count", "n", len(h.u.Reader().Tree().Nodes)), pm))

	h.key("Escape") // back: no back item here, so home
	h.expectScreen(ui.ScreenHome)
	h.choose(tileTitle("de", "privacy"))
	h.expectScreen(ui.ScreenInfo)
	saidInOrder(t, rec, tileTitle("de", "privacy"))
	h.key("F1")
	h.expectScreen(ui.ScreenHelp)
	saidInOrder(t, rec, h.cat.T("de", "help.info"))
	h.key("Escape")
	h.expectScreen(ui.ScreenInfo)
}

// TestTimeoutWarningSpoken: the warning is heard (also without speech
// mode), its buttons are reached by keys, and speech mode triples the
// time.
func TestTimeoutWarningSpoken(t *testing.T) {
	h, rec := speaking(t, newFake(t), nil)
	h.tapAttract()
	h.clk.Add(120 * time.Second)
	h.u.Tick()
	if !h.u.WarningShown() {
		t.Fatal("no warning")
	}
	if !strings.Contains(rec.Last(), h.cat.T("de", "timeout.title")) {
		t.Fatalf("the warning was not said without speech mode: %q", rec.Texts())
	}
	h.key("Down") // starts speech mode over the warning
	h.choose("timeout.more")
	if h.u.WarningShown() {
		t.Fatal("more time by key did not close the warning")
	}
	h.clk.Add(3*120*time.Second - time.Second)
	h.u.Tick()
	if h.u.Session() == nil {
		t.Fatal("speech mode did not lengthen the session")
	}
	if _, warning := h.u.SessionTiming(); warning < 3*20*time.Second {
		t.Fatalf("warning %v in speech mode", warning)
	}
}

// TestHeadphonesStartSpeech: plugging in headphones on the attract
// screen starts speech and a session; PIN digits go only to them.
func TestHeadphonesStartSpeech(t *testing.T) {
	h, rec := speaking(t, newFake(t), nil)
	h.u.Headphones(true)
	h.expectScreen(ui.ScreenHome)
	if len(rec.Said()) != 1 || !strings.HasPrefix(rec.Last(), h.cat.T("de", "a11y.welcome")) {
		t.Fatalf("said %q", rec.Texts())
	}
	h.choose("action.finish")
	if !h.u.Reader().On() {
		t.Fatal("speech ended with the session though headphones are in")
	}
	h.u.HandleEvent(localapi.Event{Type: localapi.EventCard, Card: &localapi.CardEvent{Presented: true, Hash: strings.Repeat("ab", 32)}})
	h.expectScreen(ui.ScreenPIN)
	h.choose("2")
	u := rec.Said()[len(rec.Said())-1]
	if !u.Private {
		t.Fatalf("a PIN digit said aloud: %+v", u)
	}
	h.u.Headphones(false)
	h.key("Down")
	h.key("Up")
	for _, u := range rec.Said()[len(rec.Said())-2:] {
		if u.Private || u.Text == "2." {
			t.Fatalf("a PIN digit said without headphones: %+v", u)
		}
	}
}

// TestEveryItemLabelledInEveryLanguage walks every screen: every item of
// the screen reader's tree has a label in every catalog language.
func TestEveryItemLabelledInEveryLanguage(t *testing.T) {
	cat := catalog(t)
	seen := 0
	check := func(h *harness, name string) {
		tr := h.u.Reader().Tree()
		if len(tr.Nodes) == 0 && name != "out-of-order" {
			t.Errorf("%s: no items", name)
		}
		for i, n := range tr.Nodes {
			for _, l := range cat.Languages() {
				if strings.TrimSpace(n.Label(l)) == "" {
					t.Errorf("%s: item %d (%q) has no label in %s", name, i, n.Label("de"), l)
				}
			}
			if n.Role == a11y.RoleImage && (n.Description == nil || n.Description("en") == "") {
				t.Errorf("%s: picture %q without a description", name, n.Label("de"))
			}
		}
		seen++
	}
	visit(t, "de", "normal", fyne.NewSize(1920, 1080), nil, check)
	visitWorkshop(t, "de", "normal", fyne.NewSize(1920, 1080), check)
	if seen < 20 {
		t.Fatalf("only %d screens visited", seen)
	}
}

// TestSpeechOnlyLanguage: a speech-only language (its catalog's
// language.screen names another) is chosen by keys on the language
// screen, where it is marked as spoken and said in its own voice; the
// screen then shows the language it names while speech is in it.
func TestSpeechOnlyLanguage(t *testing.T) {
	files := fstest.MapFS{}
	base, err := fs.ReadFile(assets.I18n(), "en.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{"de", "en"} {
		b, err := fs.ReadFile(assets.I18n(), l+".json")
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		m["language.screen"] = l
		b, _ = json.Marshal(m)
		files[l+".json"] = &fstest.MapFile{Data: b}
	}
	m := map[string]string{}
	if err := json.Unmarshal(base, &m); err != nil {
		t.Fatal(err)
	}
	for k, v := range m {
		m[k] = "XX " + v
	}
	m["language.name"], m["language.screen"] = "Xish", "en"
	b, _ := json.Marshal(m)
	files["xx.json"] = &fstest.MapFile{Data: b}
	cat, err := i18n.Load(files, "de")
	if err != nil {
		t.Fatal(err)
	}
	h, rec := speaking(t, newFake(t), func(o *ui.Opts) { o.Catalog = cat })
	h.cat = cat
	if h.has("Xish") {
		t.Fatal("a speech-only language is drawn")
	}
	h.key("Return")
	h.choose(h.cat.T("de", "language.button", "language", "Deutsch"))
	h.expectScreen(ui.ScreenLanguage)
	if !h.has("Xish\n" + h.cat.T("de", "language.spoken", "screen", "English")) {
		t.Fatal("the language screen does not show the speech-only language as spoken")
	}
	h.focusOn("Xish")
	if u := rec.Said()[len(rec.Said())-1]; u.Lang != "xx" || u.Text != "Xish" {
		t.Fatalf("the language's name said as %+v", u)
	}
	h.key("Return")
	h.expectScreen(ui.ScreenHome)
	if !h.keyShown("Xish") {
		t.Fatal("the language button does not show the session's language")
	}
	if !h.has("What would you like to do?") || h.u.Session().Language != "xx" {
		t.Fatal("the screen is not in English, or the session not in xx")
	}
	h.key("Down")
	u := rec.Said()[len(rec.Said())-1]
	if u.Lang != "xx" || !strings.Contains(u.Text, "XX "+h.cat.T("en", "a11y.role.button")) { // a tile's title is the content's, in German
		t.Fatalf("said %+v", u)
	}
	h.focusOn("XX " + h.cat.T("en", "a11y.help"))
	h.key("Return")
	h.expectScreen(ui.ScreenHelp)
	if u := rec.Said()[len(rec.Said())-1]; u.Lang != "xx" || !strings.Contains(u.Text, "XX "+h.cat.T("en", "help.home")) {
		t.Fatalf("help said as %+v", u)
	}
}

// TestFocusRingContrast measures the focus ring on the rendered image:
// its pixels against those just outside it, at least 3:1, in normal and
// high contrast, on a tile, a choice, bar buttons and the timeout
// warning; with -screenshots DIR it writes them (focus-*.png).
func TestFocusRingContrast(t *testing.T) {
	for _, mode := range []string{"normal", "contrast"} {
		t.Run(mode, func(t *testing.T) {
			h, _ := speaking(t, newFake(t), nil)
			h.key("Return")
			if mode == "contrast" {
				h.choose("display.contrast")
			}
			check := func(shot, item string) {
				t.Helper()
				h.focusOn(item)
				pos, size, ok := h.u.FocusRing()
				if !ok {
					t.Fatalf("%s: no focus ring", item)
				}
				img := h.w.Canvas().Capture()
				r := ringContrast(t, img, h.w.Canvas().Size(), pos, size)
				if r < 3 {
					t.Errorf("%s: focus ring %.2f:1 against what surrounds it", item, r)
				}
				t.Logf("%s %s: %.1f:1", mode, item, r)
				if *screenshots != "" && shot != "" {
					writePNG(t, filepath.Join(*screenshots, "focus-"+shot+"-de-"+mode+".png"), h.w)
				}
			}
			check("home", tileTitle("de", "report"))
			check("", "action.finish")
			check("", "a11y.help")
			h.choose(tileTitle("de", "report"))
			check("report-1-category", "Straßenlicht kaputt")
			h.clk.Add(3 * 120 * time.Second)
			h.u.Tick()
			if !h.u.WarningShown() {
				t.Fatal("no warning")
			}
			check("timeout-warning", "timeout.more")
		})
	}
}

// ringContrast is the lowest contrast between the ring's stroke and the
// pixels 2 px outside it, sampled along all four sides.
func ringContrast(t *testing.T, img image.Image, canvas fyne.Size, pos fyne.Position, size fyne.Size) float64 {
	t.Helper()
	sc := float32(img.Bounds().Dx()) / canvas.Width
	px := func(x, y float32) (int, int) { return int(x * sc), int(y * sc) }
	lowest := 99.0
	const stroke = 2 // inside the 4 px stroke
	for k := float32(0.2); k <= 0.8; k += 0.1 {
		for _, p := range [][4]float32{
			{pos.X + size.Width*k, pos.Y + stroke, pos.X + size.Width*k, pos.Y - 2},                             // top
			{pos.X + size.Width*k, pos.Y + size.Height - stroke, pos.X + size.Width*k, pos.Y + size.Height + 2}, // bottom
			{pos.X + stroke, pos.Y + size.Height*k, pos.X - 2, pos.Y + size.Height*k},                           // left
			{pos.X + size.Width - stroke, pos.Y + size.Height*k, pos.X + size.Width + 2, pos.Y + size.Height*k}, // right
		} {
			x0, y0 := px(p[0], p[1])
			x1, y1 := px(p[2], p[3])
			if !(image.Point{x1, y1}).In(img.Bounds()) {
				continue // at the window's edge
			}
			lowest = min(lowest, ui.ContrastRatio(img.At(x0, y0), img.At(x1, y1)))
		}
	}
	return lowest
}

var _ = context.Background

// TestKeypadWorkshopParticipant: a guest joins a workshop, writes an
// idea and gives a dot with the keypad alone, and hears each answer.
func TestKeypadWorkshopParticipant(t *testing.T) {
	be := newFake(t)
	be.ws = newFakeWorkshop()
	h, rec := speaking(t, be, nil)
	h.expectScreen(ui.ScreenWorkshop)
	h.key("KP_2") // the first key starts speech and, as a touch, a session
	h.expectScreen(ui.ScreenWorkshopJoin)
	h.choose("workshop.attract.guest")
	h.expectScreen(ui.ScreenWorkshopIdeas)
	h.typeByKeys("Baum")
	h.choose("workshop.ideas.send")
	be.mu.Lock()
	ideas := be.ws.view.Ideas
	be.mu.Unlock()
	if len(ideas) != 1 || ideas[0].Text != "Baum" {
		t.Fatalf("ideas %+v", ideas)
	}
	be.mu.Lock()
	votingWorkshop(be)
	be.mu.Unlock()
	h.workshopChanged()
	h.expectScreen(ui.ScreenWorkshopVote)
	h.choose(ui.ItemAction(h.tr("workshop.vote.add"), "Tempo 20"))
	saidInOrder(t, rec, h.tr("a11y.welcome"), h.tr("workshop.join.title"),
		"B", "a", "u", "m", "Baum", // the list of one's ideas, changed by sending
		h.tr("workshop.vote.left", "left", 2, "of", 3))
}

// TestLeichteSprache: Leichte Sprache is a choice of the language
// screen: it takes texts from the Leichte Sprache catalog where it has
// them, is said as chosen, is left by choosing another language, and
// ends with the session.
func TestLeichteSprache(t *testing.T) {
	easy, err := i18n.Load(fstest.MapFS{"de.json": &fstest.MapFile{Data: []byte(`{"home.title": "Was wollen Sie machen? Wählen Sie."}`)}}, "de")
	if err != nil {
		t.Fatal(err)
	}
	h, rec := speaking(t, newFake(t), func(o *ui.Opts) { o.EasyCatalog = easy })
	h.key("Return")
	h.choose(h.cat.T("de", "language.button", "language", "Deutsch"))
	h.expectScreen(ui.ScreenLanguage)
	h.choose("a11y.easy")
	h.expectScreen(ui.ScreenHome)
	if !h.has("Was wollen Sie machen? Wählen Sie.") || !h.has(h.cat.T("de", "action.finish")) {
		t.Fatal("no Leichte Sprache title, or the other texts gone")
	}
	h.choose(h.cat.T("de", "language.button", "language", "Deutsch"))
	h.focusOn("a11y.easy")
	if !strings.Contains(rec.Last(), h.cat.T("de", "a11y.state.selected")) {
		t.Fatalf("Leichte Sprache said as %q, not as chosen", rec.Last())
	}
	h.key("Escape") // back: nothing changes
	h.expectScreen(ui.ScreenHome)
	h.chooseLanguageByKeys("en")
	if h.has("Was wollen Sie machen? Wählen Sie.") || !h.has("What would you like to do?") {
		t.Fatal("Leichte Sprache in English")
	}
	h.chooseLanguageByKeys("de")
	if h.has("Was wollen Sie machen? Wählen Sie.") {
		t.Fatal("choosing German kept Leichte Sprache")
	}
	h.choose(h.cat.T("de", "language.button", "language", "Deutsch"))
	h.choose("a11y.easy")
	h.choose("action.finish")
	h.tapAttract()
	if h.has("Was wollen Sie machen? Wählen Sie.") {
		t.Fatal("Leichte Sprache outlived the session")
	}
}

// TestFocusScrollsIntoView: on a small screen in large text the home
// tiles scroll; the focus brings each into view, ring and all.
func TestFocusScrollsIntoView(t *testing.T) {
	rec := a11ytest.NewRecorder()
	h := newHarnessWith(t, newFake(t), xga, func(o *ui.Opts) { o.Speaker = rec })
	h.key("Return")
	h.choose("display.large")
	for _, tile := range []string{"privacy", "report", "ticket", "privacy"} {
		h.focusOn(tileTitle("de", tile))
		pos, size, ok := h.u.FocusRing()
		if !ok {
			t.Fatalf("%s: no ring", tile)
		}
		if cs := h.w.Canvas().Size(); pos.Y < 0 || pos.Y+size.Height > cs.Height {
			t.Errorf("%s: ring at %v %v, outside the %v window", tile, pos, size, cs)
		}
	}
}

// TestKeypadErrorSpoken: an error screen is said (its title, then the
// error) when a key brought it.
func TestKeypadErrorSpoken(t *testing.T) {
	be := newFake(t)
	be.failPrint = localapi.ErrPrinter
	h, rec := speaking(t, be, nil)
	h.key("Return")
	h.choose(tileTitle("de", "ticket"))
	h.choose("ticket.draw")
	h.expectScreen(ui.ScreenError)
	saidInOrder(t, rec, a11y.Sentences(h.cat.T("de", "error.title"), h.cat.T("de", "a11y.count", "n", len(h.u.Reader().Tree().Nodes)), h.cat.T("de", "error.ticket")))
}

// TestShiftTabGoesBack: Tab moves on, Shift+Tab back (the key sink
// holds the canvas's focus, so Fyne's own Tab focus never takes it).
func TestShiftTabGoesBack(t *testing.T) {
	h, _ := speaking(t, newFake(t), nil)
	h.key("Tab")
	h.focusOn(tileTitle("de", "air"))
	h.key("Tab")
	next := h.focused()
	k, ok := h.w.Canvas().Focused().(desktop.Keyable)
	if !ok {
		t.Fatal("what holds the focus takes no key downs")
	}
	k.KeyDown(&fyne.KeyEvent{Name: desktop.KeyShiftLeft})
	h.key("Tab")
	k.KeyUp(&fyne.KeyEvent{Name: desktop.KeyShiftLeft})
	if h.focused() != tileTitle("de", "air") || next == tileTitle("de", "air") {
		t.Fatalf("Shift+Tab went to %q (Tab had gone to %q)", h.focused(), next)
	}
	h.key("Tab")
	if h.focused() != next {
		t.Fatalf("Tab after Shift went to %q", h.focused())
	}
}

// TestHardwareKeyboardTypes: on a screen with a text, a keyboard's
// characters are typed (said only into headphones), Backspace deletes,
// a numeric keypad's digit moves the focus and types nothing.
func TestHardwareKeyboardTypes(t *testing.T) {
	h, rec := speaking(t, newFake(t), nil)
	h.u.Headphones(true)
	h.choose("Problem melden")
	h.choose("Müll oder Sperrmüll")
	h.expectScreen(ui.ScreenDescribe)
	sink := h.w.Canvas().Focused()
	for _, r := range "Glas+" {
		sink.TypedKey(&fyne.KeyEvent{Name: fyne.KeyName(strings.ToUpper(string(r)))})
		sink.TypedRune(r)
	}
	h.key("BackSpace")
	var typed []string
	for _, u := range rec.Said() {
		if u.Private {
			typed = append(typed, u.Text)
		}
	}
	if strings.Join(typed, "") != "Glas+" {
		t.Fatalf("said privately %q", typed)
	}
	before := h.focused()
	h.key("KP_2")
	sink.TypedRune('2') // the keypad key's character
	if got := h.u.Session().Report.Text; got != "Glas" {
		t.Fatalf("typed %q", got)
	}
	if h.focused() == before || h.u.Screen() != ui.ScreenDescribe {
		t.Fatalf("the keypad's 2 did not move the focus (%q) or left the screen", h.focused())
	}
	h.u.Headphones(false)
	n := len(rec.Said())
	sink.TypedRune('x')
	if len(rec.Said()) != n || h.u.Session().Report.Text != "Glasx" {
		t.Fatalf("without headphones: said %q, text %q", rec.Texts()[n:], h.u.Session().Report.Text)
	}
}

// TestKeypadSurveyInLanguage: a speaker of another language chooses it
// with the keys and completes the survey in it, hearing it in that
// language (Ukrainian once its catalog is there; English always).
func TestKeypadSurveyInLanguage(t *testing.T) {
	for _, lang := range []string{"en", "uk"} {
		t.Run(lang, func(t *testing.T) {
			if !catalog(t).Has(lang) {
				t.Skipf("no %s.json", lang)
			}
			be := newFake(t)
			if !slices.Contains(be.content.Languages, lang) {
				be.content.Languages = append(be.content.Languages, lang)
			}
			h, rec := speaking(t, be, nil)
			tx := func(s api.Text) string { return s.In(lang, "de") }
			h.key("Return")
			h.chooseLanguageByKeys(lang)
			if h.u.Session().Language != lang {
				t.Fatalf("session in %s", h.u.Session().Language)
			}
			from := len(rec.Said())
			var sv api.Survey
			for _, svc := range be.content.Services {
				if svc.Kind == "survey" {
					h.choose(tx(svc.Title))
					for _, s := range be.content.Surveys {
						if s.ID == svc.Target || svc.Target == "" && sv.ID == "" {
							sv = s
						}
					}
					break
				}
			}
			h.expectScreen(ui.ScreenSurvey)
			h.card(true, "c")
			h.choose("survey.start")
			for i, q := range sv.Questions {
				switch q.Kind {
				case api.QuestionScale:
					h.choose(strconv.Itoa(q.Max))
				case api.QuestionSingle, api.QuestionMultiple:
					h.choose(tx(q.Options[0].Label))
				case api.QuestionText:
					if !q.Optional {
						for _, r := range tx(q.Text) { // a keyboard types it
							h.w.Canvas().Focused().TypedRune(r)
						}
					}
				}
				if i == len(sv.Questions)-1 {
					h.choose("survey.send")
				} else {
					h.choose("action.next")
				}
			}
			h.expectScreen(ui.ScreenSurveyDone)
			if len(be.responses) != 1 {
				t.Fatalf("%d responses", len(be.responses))
			}
			for _, u := range rec.Said()[from:] {
				if u.Lang != lang && u.Text != h.cat.Name(u.Lang) { // a language's name is said in its own voice
					t.Fatalf("said in %s: %+v", u.Lang, u)
				}
			}
			saidInOrder(t, rec, tx(sv.Title), tx(sv.Questions[0].Text), h.cat.T(lang, "survey.thanks"))
		})
	}
}

// TestHelpOnTheAttractScreen: help there is the attract screen's, and a
// session starts (as every button there starts one); back is home.
func TestHelpOnTheAttractScreen(t *testing.T) {
	h, _ := speaking(t, newFake(t), nil)
	h.tap("a11y.help")
	h.expectScreen(ui.ScreenHelp)
	if !h.has(h.cat.T("de", "help.attract")) || h.u.Session() == nil {
		t.Fatal("not the attract screen's help, or no session")
	}
	h.tap("action.back")
	h.expectScreen(ui.ScreenHome)
}

// focusOnField presses Down until the screen's text field has the focus.
func (h *harness) focusOnField() {
	h.t.Helper()
	for range len(h.u.Reader().Tree().Nodes) + 1 {
		if n, _, ok := h.u.Reader().Focused(); ok && n.Role == a11y.RoleField {
			return
		}
		h.key("KP_2")
	}
	h.t.Fatalf("no text field on screen %s", h.u.Screen())
}

// TestTextFieldSpoken: the problem's description is an item: its title,
// "text field", and what is written only into headphones; without them
// how many characters are written, and nothing as each is typed.
func TestTextFieldSpoken(t *testing.T) {
	h, rec := speaking(t, newFake(t), nil)
	h.key("KP_5")
	h.choose("Problem melden")
	h.choose("Müll oder Sperrmüll")
	h.expectScreen(ui.ScreenDescribe)
	title, field := h.cat.T("de", "report.describe.title"), h.cat.T("de", "a11y.role.field")
	h.focusOnField()
	if want := a11y.Sentences(title + ", " + field + ", " + h.cat.T("de", "a11y.field.empty")); rec.Last() != want {
		t.Fatalf("the empty field said %q, want %q", rec.Last(), want)
	}
	h.typeByKeys("Glas")
	sink := h.w.Canvas().Focused()
	n := len(rec.Said())
	sink.TypedRune('!') // a hardware keyboard, no headphones: nothing said
	if len(rec.Said()) != n {
		t.Fatalf("a typed character was said aloud: %q", rec.Texts()[n:])
	}
	h.focusOnField()
	last := rec.Said()[len(rec.Said())-1]
	if want := a11y.Sentences(title + ", " + field + ", " + h.cat.T("de", "a11y.field.typed", "n", 5)); last.Text != want || last.Private {
		t.Fatalf("without headphones the field said %+v, want %q", last, want)
	}
	h.u.Headphones(true)
	h.key("KP_8")
	h.key("KP_2")
	last = rec.Said()[len(rec.Said())-1]
	want := title + ", " + field + ", " + a11y.Sentences("Glas!", h.cat.T("de", "a11y.field.count", "n", 5, "max", session.MaxReportText))
	if last.Text != want || !last.Private {
		t.Fatalf("with headphones the field said %+v, want %q (private)", last, want)
	}
}

// TestMoreTimeSpoken: when the timeout warning goes because the session
// has more time ("Mehr Zeit", or any key), that is said, then where the
// focus is on the screen.
func TestMoreTimeSpoken(t *testing.T) {
	h, rec := speaking(t, newFake(t), nil)
	h.key("KP_5")
	h.expectScreen(ui.ScreenHome)
	h.key("KP_2")
	here := h.focused()
	warn := func() {
		t.Helper()
		timeout, _ := h.u.SessionTiming()
		h.clk.Add(timeout)
		h.u.Tick()
		if !h.u.WarningShown() {
			t.Fatal("no warning")
		}
	}
	more := h.cat.T("de", "a11y.more_time")
	warn()
	h.choose("timeout.more")
	if h.u.WarningShown() || !strings.HasPrefix(rec.Last(), more+" "+here+",") {
		t.Fatalf("after Mehr Zeit: warning %v, said %q; want %q, then %q", h.u.WarningShown(), rec.Last(), more, here)
	}
	warn()
	h.key("KP_2") // any key is activity: the session has more time
	h.u.Tick()
	if h.u.WarningShown() || !strings.HasPrefix(rec.Last(), more+" "+here+",") || h.focused() != here {
		t.Fatalf("after a key: warning %v, focus %q, said %q", h.u.WarningShown(), h.focused(), rec.Last())
	}
}

// TestButtonHints: buttons whose effect the label does not say are said
// with a hint after their role, in the speech language.
func TestButtonHints(t *testing.T) {
	h, rec := speaking(t, newFake(t), nil)
	h.key("KP_5")
	h.expectScreen(ui.ScreenHome)
	said := func(lang, label, hint string) string {
		return a11y.Sentences(h.cat.T(lang, label) + ", " + h.cat.T(lang, "a11y.role.button") + ", " + h.cat.T(lang, hint))
	}
	h.focusOn("action.finish")
	if want := said("de", "action.finish", "a11y.hint.finish"); rec.Last() != want {
		t.Fatalf("Beenden said %q, want %q", rec.Last(), want)
	}
	h.choose("Problem melden")
	h.expectScreen(ui.ScreenCategory)
	h.focusOn("action.home")
	if want := said("de", "action.home", "a11y.hint.home"); rec.Last() != want {
		t.Fatalf("Zur Startseite said %q, want %q", rec.Last(), want)
	}
	h.chooseLanguageByKeys("uk")
	h.focusOn("action.finish")
	if want := said("uk", "action.finish", "a11y.hint.finish"); rec.Last() != want {
		t.Fatalf("in Ukrainian Beenden said %q, want %q", rec.Last(), want)
	}
	timeout, _ := h.u.SessionTiming() // the warning's Beenden too
	h.clk.Add(timeout)
	h.u.Tick()
	h.focusOn("action.finish")
	if want := said("uk", "action.finish", "a11y.hint.finish"); rec.Last() != want {
		t.Fatalf("the warning's Beenden said %q, want %q", rec.Last(), want)
	}
}

// TestPunctuationKeysNamed: the keyboard's punctuation marks, silent in
// espeak-ng, are said by their names (and typed by them), in the speech
// language; typed on a hardware keyboard into headphones too.
func TestPunctuationKeysNamed(t *testing.T) {
	h, rec := speaking(t, newFake(t), nil)
	h.key("KP_5")
	h.choose("Problem melden")
	h.choose("Müll oder Sperrmüll")
	h.expectScreen(ui.ScreenDescribe)
	typed := ""
	for _, c := range []struct{ char, name string }{
		{",", "a11y.char.comma"}, {".", "a11y.char.period"}, {"-", "a11y.char.hyphen"},
		{"!", "a11y.char.exclamation"}, {"?", "a11y.char.question"},
	} {
		name := h.cat.T("de", c.name)
		h.focusOn(name)
		if want := a11y.Sentences(name + ", " + h.cat.T("de", "a11y.role.key")); rec.Last() != want {
			t.Fatalf("the %s key said %q, want %q", c.char, rec.Last(), want)
		}
		h.key("Return")
		typed += c.char
		if got := h.u.Session().Report.Text; got != typed {
			t.Fatalf("typed %q, want %q", got, typed)
		}
	}
	h.chooseLanguageByKeys("en")
	h.choose(h.cat.T("en", "a11y.char.question"))
	h.u.Headphones(true)
	h.w.Canvas().Focused().TypedRune(',')
	if u := rec.Said()[len(rec.Said())-1]; u.Text != h.cat.T("en", "a11y.char.comma") || !u.Private {
		t.Fatalf("a typed comma said %+v", u)
	}
}
