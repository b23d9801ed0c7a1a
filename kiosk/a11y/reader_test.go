package a11y_test

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/assets"
	"github.com/quartierhub/quartierhub/internal/i18n"
	"github.com/quartierhub/quartierhub/kiosk/a11y"
	"github.com/quartierhub/quartierhub/kiosk/a11y/a11ytest"
)

func catalog(t *testing.T) *i18n.Catalog {
	t.Helper()
	cat, err := assets.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

func lit(s string) func(string) string { return func(string) string { return s } }

// words is a label per language.
func words(m map[string]string) func(string) string {
	return func(l string) string { return m[l] }
}

type fixture struct {
	t   *testing.T
	r   *a11y.Reader
	rec *a11ytest.Recorder
	cat *i18n.Catalog
	now time.Time
}

func newFixture(t *testing.T, onStart func()) *fixture {
	f := &fixture{t: t, rec: a11ytest.NewRecorder(), cat: catalog(t), now: time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)}
	f.r = a11y.NewReader(a11y.Opts{Speaker: f.rec, Catalog: f.cat, Now: func() time.Time { return f.now }, OnStart: onStart})
	return f
}

// w is the reader's word for key in lang.
func (f *fixture) w(lang, key string, args ...any) string { return f.cat.T(lang, key, args...) }

func (f *fixture) key(name string) {
	f.t.Helper()
	if !f.r.Key(name) {
		f.t.Fatalf("key %q not handled", name)
	}
}

func (f *fixture) last() string { return f.rec.Last() }

func (f *fixture) wantLast(want string) {
	f.t.Helper()
	if got := f.last(); got != want {
		f.t.Fatalf("said %q\nwant %q", got, want)
	}
}

func homeTree(calls *[]string) a11y.Tree {
	return a11y.Tree{Screen: "home", Nodes: []a11y.Node{
		{Role: a11y.RoleHeading, Label: words(map[string]string{"de": "Was möchten Sie tun?", "en": "What would you like to do?"})},
		{Role: a11y.RoleButton, Label: words(map[string]string{"de": "Problem melden", "en": "Report a problem"}), Action: func() { *calls = append(*calls, "report") }},
		{Role: a11y.RoleToggle, Label: words(map[string]string{"de": "Große Schrift", "en": "Large text"}), Action: func() { *calls = append(*calls, "large") }},
		{Role: a11y.RoleText, Label: lit("Text")},
	}}
}

func TestFirstKeyWelcomesThenAnnounces(t *testing.T) {
	f := newFixture(t, nil)
	var calls []string
	f.r.SetTree(homeTree(&calls))
	if len(f.rec.Said()) != 0 {
		t.Fatalf("said %q with speech off", f.rec.Texts())
	}
	f.key("Down") // the first key only starts speech
	if !f.r.On() || len(calls) != 0 {
		t.Fatalf("on %v, calls %v", f.r.On(), calls)
	}
	f.wantLast(a11y.Sentences(f.w("de", "a11y.welcome"), "Was möchten Sie tun?", f.w("de", "a11y.count", "n", 4),
		"Problem melden, "+f.w("de", "a11y.role.button")))
	if !f.r.LastKey().Equal(f.now) {
		t.Fatalf("last key at %v, want %v", f.r.LastKey(), f.now)
	}
	if f.r.Key("Q") {
		t.Fatal("an unmapped key was handled")
	}
	f.key("Down")
	f.wantLast("Große Schrift, " + f.w("de", "a11y.role.toggle") + ", " + f.w("de", "a11y.state.off") + ".")
	f.key("Down")
	f.wantLast("Text.")
	f.key("Down") // past the end: round to the start
	f.wantLast(a11y.Sentences(f.w("de", "a11y.wrapped"), "Was möchten Sie tun? "+f.w("de", "a11y.role.heading")))
	f.key("Up") // and back round to the end
	f.wantLast(a11y.Sentences(f.w("de", "a11y.wrapped"), "Text"))
	f.key("F2")
	f.wantLast(a11y.Sentences(f.w("de", "a11y.wrapped"), "Text"))
	if n := len(f.rec.Said()); n != 6 {
		t.Fatalf("%d utterances: %q", n, f.rec.Texts())
	}
}

// The first key on an attract screen starts a session: the welcome
// comes with the new screen, in one utterance (a second would cut it).
func TestStartBringsNewScreenWithWelcome(t *testing.T) {
	var f *fixture
	var calls []string
	f = newFixture(t, func() { f.r.SetTree(homeTree(&calls)) })
	f.r.SetTree(a11y.Tree{Screen: "attract", Nodes: []a11y.Node{{Role: a11y.RoleHeading, Label: lit("Willkommen")}}})
	f.key("KP_5")
	said := f.rec.Texts()
	if len(said) != 1 || !strings.HasPrefix(said[0], f.w("de", "a11y.welcome")) || !strings.Contains(said[0], "Was möchten Sie tun?") {
		t.Fatalf("said %q", said)
	}
}

func TestEnterActivatesAndAnnouncesTheNextScreen(t *testing.T) {
	f := newFixture(t, nil)
	var calls []string
	home := homeTree(&calls)
	home.Nodes[1].Action = func() {
		calls = append(calls, "report")
		f.r.SetTree(a11y.Tree{Screen: "category", Nodes: []a11y.Node{
			{Role: a11y.RoleHeading, Label: lit("Was ist das Problem?")},
			{Role: a11y.RoleChoice, Label: lit("Müll"), State: a11y.Selected, Action: func() {}},
		}})
	}
	f.r.SetTree(home)
	f.r.Start()
	f.key("Return")
	if !slices.Equal(calls, []string{"report"}) {
		t.Fatalf("calls %v", calls)
	}
	f.wantLast(a11y.Sentences("Was ist das Problem?", f.w("de", "a11y.count", "n", 2),
		"Müll, "+f.w("de", "a11y.role.choice")+", "+f.w("de", "a11y.state.selected")))
}

// A screen built again keeps the focus and says the focused item only
// if it changed (a toggle's state), not on new readings.
func TestRebuildKeepsFocus(t *testing.T) {
	f := newFixture(t, nil)
	on := false
	var build func() a11y.Tree
	build = func() a11y.Tree {
		var calls []string
		tr := homeTree(&calls)
		if on {
			tr.Nodes[2].State = a11y.On
		}
		tr.Nodes[2].Action = func() { on = !on; f.r.SetTree(build()) }
		return tr
	}
	f.r.SetTree(build())
	f.r.Start()
	f.key("Down")
	n := len(f.rec.Said())
	f.r.SetTree(build()) // new readings: same items
	if len(f.rec.Said()) != n {
		t.Fatalf("a rebuild without change said %q", f.last())
	}
	f.key("KP_Enter")
	f.wantLast("Große Schrift, " + f.w("de", "a11y.role.toggle") + ", " + f.w("de", "a11y.state.on") + ".")
	if _, i, _ := f.r.Focused(); i != 2 {
		t.Fatalf("focus at %d after the rebuild", i)
	}
}

// An action that brings no new tree (a key typed) is answered by the
// item said again.
func TestActionWithoutNewTreeSaysTheItem(t *testing.T) {
	f := newFixture(t, nil)
	typed := ""
	f.r.SetTree(a11y.Tree{Screen: "describe", Nodes: []a11y.Node{
		{Role: a11y.RoleKey, Label: lit("a"), Action: func() { typed += "a" }},
		{Role: a11y.RoleKey, Label: lit("Leerzeichen"), Action: func() { typed += " " }},
		{Role: a11y.RoleButton, Label: lit("Weiter"), State: a11y.Disabled, Action: func() { typed += "!" }},
	}})
	f.r.Start()
	f.wantLast(a11y.Sentences(f.w("de", "a11y.welcome"), f.w("de", "a11y.count", "n", 3), "a"))
	f.key("Return")
	f.wantLast("a.")
	f.key("Down")
	f.key("Return")
	f.wantLast("Leerzeichen, " + f.w("de", "a11y.role.key") + ".")
	f.key("Down")
	f.key("Return") // disabled: said, not done
	f.wantLast("Weiter, " + f.w("de", "a11y.role.button") + ", " + f.w("de", "a11y.state.disabled") + ".")
	if typed != "a " {
		t.Fatalf("typed %q", typed)
	}
}

func TestBackAndHelp(t *testing.T) {
	f := newFixture(t, nil)
	var did []string
	tr := a11y.Tree{Screen: "place", Nodes: []a11y.Node{
		{Role: a11y.RoleHeading, Label: lit("Wo?")},
		{Role: a11y.RoleButton, Label: lit("Zurück"), Back: true, Action: func() { did = append(did, "back") }},
	}, Help: func() { did = append(did, "help") }, Home: func() { did = append(did, "home") }}
	f.r.SetTree(tr)
	f.r.Start()
	f.key("Escape")
	f.key("F1")
	tr.Nodes[1].Back = false
	f.r.SetTree(a11y.Tree{Screen: "other", Nodes: tr.Nodes, Home: tr.Home})
	f.key("BackSpace")
	if !slices.Equal(did, []string{"back", "help", "home"}) {
		t.Fatalf("did %v", did)
	}
	f.r.SetTree(a11y.Tree{Screen: "attract", Nodes: tr.Nodes})
	f.key("Escape")
	f.wantLast(f.w("de", "a11y.no_back"))
	f.key("F1")
	f.wantLast(f.w("de", "a11y.no_help"))
}

func TestVolumeAndRateStepAndResetWithTheSession(t *testing.T) {
	f := newFixture(t, nil)
	var calls []string
	f.r.SetTree(homeTree(&calls))
	f.r.Start()
	for range 20 {
		f.key("KP_Add")
	}
	f.wantLast(f.w("de", "a11y.volume", "n", a11y.MaxVolume))
	f.key("-")
	f.key("Prior")
	if f.r.Volume() != a11y.MaxVolume-a11y.VolumeStep || f.r.Rate() != a11y.DefaultRate+a11y.RateStep {
		t.Fatalf("volume %d rate %d", f.r.Volume(), f.r.Rate())
	}
	f.wantLast(f.w("de", "a11y.rate", "n", (a11y.DefaultRate+a11y.RateStep)*100/a11y.DefaultRate))
	if u := f.rec.Said()[len(f.rec.Said())-1]; u.Volume != f.r.Volume() || u.Rate != f.r.Rate() {
		t.Fatalf("utterance at volume %d rate %d", u.Volume, u.Rate)
	}
	for range 20 {
		f.key("Next")
	}
	if f.r.Rate() != a11y.MinRate {
		t.Fatalf("rate %d", f.r.Rate())
	}
	if f.r.EndSession() {
		t.Fatal("speech still on after the session without headphones")
	}
	if f.r.Volume() != a11y.DefaultVolume || f.r.Rate() != a11y.DefaultRate {
		t.Fatalf("after the session: volume %d rate %d", f.r.Volume(), f.r.Rate())
	}
	// The end is said (not left in silence), at the session's rate.
	f.wantLast(f.w("de", "a11y.session_ended"))
	if u := f.rec.Said()[len(f.rec.Said())-1]; u.Rate != a11y.MinRate {
		t.Fatalf("the end said at rate %d, not the session's", u.Rate)
	}
	stops, said := f.rec.Stops(), len(f.rec.Said())
	if f.r.EndSession(); f.rec.Stops() != stops+1 || len(f.rec.Said()) != said {
		t.Fatalf("a session ended outside speech mode: %d stops, said %q", f.rec.Stops()-stops, f.rec.Texts()[said:])
	}
	f.r.SetHeadphones(true) // plugged in: speech on, and stays on after a session
	if !f.r.On() || !f.r.EndSession() {
		t.Fatal("headphones did not keep speech on")
	}
	// With speech kept on, the end is said with the next screen (alone,
	// that screen's speech would cut it off).
	f.r.SetTree(a11y.Tree{Screen: "attract", Nodes: []a11y.Node{{Role: a11y.RoleHeading, Label: lit("Willkommen")}}})
	if want := f.w("de", "a11y.session_ended") + " Willkommen."; !strings.HasPrefix(f.last(), want) {
		t.Fatalf("next screen said %q, want it to start with %q", f.last(), want)
	}
}

func TestPrivateOnlyIntoHeadphones(t *testing.T) {
	f := newFixture(t, nil)
	f.r.SetTree(a11y.Tree{Screen: "pin", Nodes: []a11y.Node{
		{Role: a11y.RoleText, Label: lit("PIN 2468"), Private: true},
		{Role: a11y.RoleKey, Label: lit("7"), Private: true, Action: func() {}},
	}})
	f.r.Start()
	for _, u := range f.rec.Said() {
		if strings.Contains(u.Text, "2468") || u.Private {
			t.Fatalf("without headphones said %+v", u)
		}
	}
	if !strings.Contains(f.last(), f.w("de", "a11y.private")) {
		t.Fatalf("said %q", f.last())
	}
	f.r.SetHeadphones(true)
	f.key("Down")
	f.key("Up")
	u := f.rec.Said()[len(f.rec.Said())-1]
	if !u.Private || !strings.Contains(u.Text, "2468") {
		t.Fatalf("with headphones said %+v", u)
	}
}

func TestModalKeepsTheScreensFocus(t *testing.T) {
	f := newFixture(t, nil)
	var calls []string
	f.r.SetTree(homeTree(&calls))
	f.r.Start()
	f.key("Down")
	more := false
	f.r.SetTree(a11y.Tree{Screen: "warning", Modal: true, Nodes: []a11y.Node{
		{Role: a11y.RoleHeading, Label: lit("Sind Sie noch da?")},
		{Role: a11y.RoleText, Label: lit("Noch 30 Sekunden.")},
		{Role: a11y.RoleButton, Label: lit("Mehr Zeit"), Action: func() { more = true; f.r.ClearModal() }},
	}})
	f.wantLast(a11y.Sentences("Sind Sie noch da?", f.w("de", "a11y.count", "n", 3), "Noch 30 Sekunden."))
	f.r.SetTree(homeTree(&calls)) // the screen under it built again
	f.key("Down")
	f.key("Return")
	if !more {
		t.Fatal("the modal's button was not activated")
	}
	if _, i, _ := f.r.Focused(); i != 2 || f.r.Tree().Screen != "home" {
		t.Fatalf("focus %d on %s after the modal", i, f.r.Tree().Screen)
	}
	f.wantLast("Große Schrift, " + f.w("de", "a11y.role.toggle") + ", " + f.w("de", "a11y.state.off") + ".")
}

func TestSpeechLanguageAndAnnounce(t *testing.T) {
	f := newFixture(t, nil)
	var calls []string
	tr := homeTree(&calls)
	tr.Announce = words(map[string]string{"de": "Nummer 12", "en": "Number 12"})
	f.r.SetLanguage("en")
	f.r.SetTree(tr)
	f.r.Start()
	u := f.rec.Said()[0]
	if u.Lang != "en" || u.Text != a11y.Sentences(f.w("en", "a11y.welcome"), "What would you like to do?", f.w("en", "a11y.count", "n", 4), "Number 12", "Report a problem, button") {
		t.Fatalf("said %+v", u)
	}
	f.r.Alert("x")
	f.r.Stop()
	f.r.Say("not said")
	f.r.Alert("said anyway")
	if f.last() != "said anyway." && f.last() != "said anyway" {
		t.Fatalf("alert: %q", f.last())
	}
}

func TestSentences(t *testing.T) {
	for in, want := range map[string]string{
		"a|b":       "a. b.",
		"a.|b?| |c": "a. b? c.",
		"":          "",
		"R-7K2Q":    "R-7K2Q.",
	} {
		if got := a11y.Sentences(strings.Split(in, "|")...); got != want {
			t.Errorf("Sentences(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestKeyMapDocumented fails when a key of KeyMap is not in the package
// doc's table.
func TestKeyMapDocumented(t *testing.T) {
	src, err := os.ReadFile("speaker.go")
	if err != nil {
		t.Fatal(err)
	}
	for k := range a11y.KeyMap {
		if !strings.Contains(string(src), "`"+k+"`") {
			t.Errorf("key %q is not in the package doc", k)
		}
	}
}

// An action that changes the screen it is on is answered by what
// changed: the new texts (dots left), never a private one, not the
// whole screen; a rebuild without an action says nothing.
func TestActionSaysWhatChanged(t *testing.T) {
	f := newFixture(t, nil)
	left := 3
	var build func() a11y.Tree
	build = func() a11y.Tree {
		return a11y.Tree{Screen: "vote", Nodes: []a11y.Node{
			{Role: a11y.RoleText, Label: lit(strings.Repeat("o", left) + " left")},
			{Role: a11y.RoleButton, Label: lit("Give a dot: Trees"), Action: func() { left--; f.r.SetTree(build()) }},
			{Role: a11y.RoleText, Label: lit(strings.Repeat("9", left)), Private: true},
		}}
	}
	f.r.SetTree(build())
	f.r.Start()
	f.key("Down")
	f.key("Return")
	f.wantLast("oo left.")
	n := len(f.rec.Said())
	left = 1
	f.r.SetTree(build())
	if len(f.rec.Said()) != n {
		t.Fatalf("a rebuild without an action said %q", f.last())
	}
}

// A language's own name is said in its own voice, alone.
func TestOwnLanguageItem(t *testing.T) {
	f := newFixture(t, nil)
	f.r.SetTree(a11y.Tree{Screen: "home", Nodes: []a11y.Node{
		{Role: a11y.RoleButton, Label: lit("Deutsch"), Lang: "de", Action: func() {}},
		{Role: a11y.RoleButton, Label: lit("العربية"), Lang: "ar", Action: func() {}},
	}})
	f.r.Start()
	f.key("Down")
	if u := f.rec.Said()[len(f.rec.Said())-1]; u.Lang != "ar" || u.Text != "العربية" {
		t.Fatalf("said %+v", u)
	}
	f.key("Down") // round to the start: the speech language's voice again
	f.wantLast(a11y.Sentences(f.w("de", "a11y.wrapped"), "Deutsch, "+f.w("de", "a11y.role.button")))
}

// TestSpell: a code is said character by character, with the hyphen's
// name between commas; every letter stands alone, so espeak-ng says it
// as a letter and not a word.
func TestSpell(t *testing.T) {
	names := func(r rune) string {
		if r == '-' {
			return "Bindestrich"
		}
		return ""
	}
	for code, want := range map[string]string{
		"5WEZ-WWG0": "5 W E Z, Bindestrich, W W G 0",
		"k7ex":      "K 7 E X",
		"AB CD":     "A B, C D",
		"A/B":       "A, B", // no name: left out, the pause kept
		"":          "",
	} {
		if got := a11y.Spell(code, names); got != want {
			t.Errorf("Spell(%q) = %q, want %q", code, got, want)
		}
	}
}

// TestFieldHintAndModalWords: a text field says its value after its
// role, only into headphones when Withheld is set (else Withheld); a
// hint follows a button's role; a modal closed with words says them
// before the focused item; an announcement that has the focused item's
// text does not say it twice.
func TestFieldHintAndModalWords(t *testing.T) {
	f := newFixture(t, nil)
	text := ""
	field := a11y.Node{Role: a11y.RoleField, Label: lit("Beschreibung"), Value: func(string) string { return text },
		Withheld: func(string) string { return "4 Zeichen geschrieben" }}
	finish := a11y.Node{Role: a11y.RoleButton, Label: lit("Beenden"), Action: func() {}, Hint: lit("löscht Ihre Eingaben")}
	f.r.SetTree(a11y.Tree{Screen: "describe", Nodes: []a11y.Node{field, finish}})
	f.r.Start()
	fieldWord := f.w("de", "a11y.role.field")
	if want := "Beschreibung, " + fieldWord + ", " + f.w("de", "a11y.field.empty") + "."; !strings.HasSuffix(f.last(), want) {
		t.Fatalf("empty field: said %q, want it to end in %q", f.last(), want)
	}
	text = "Glas"
	f.key("Down")
	f.wantLast("Beenden, " + f.w("de", "a11y.role.button") + ", löscht Ihre Eingaben.")
	f.key("Up")
	if u := f.rec.Said()[len(f.rec.Said())-1]; u.Text != "Beschreibung, "+fieldWord+", 4 Zeichen geschrieben." || u.Private {
		t.Fatalf("without headphones the field said %+v", u)
	}
	f.r.SetHeadphones(true)
	f.key("Down")
	f.key("Up")
	if u := f.rec.Said()[len(f.rec.Said())-1]; u.Text != "Beschreibung, "+fieldWord+", Glas." || !u.Private {
		t.Fatalf("with headphones the field said %+v", u)
	}

	f.r.SetTree(a11y.Tree{Screen: "warning", Modal: true, Nodes: []a11y.Node{{Role: a11y.RoleButton, Label: lit("Mehr Zeit"), Action: func() {}}}})
	f.r.ClearModal("Sie haben wieder mehr Zeit.")
	if u := f.last(); !strings.HasPrefix(u, "Sie haben wieder mehr Zeit. Beschreibung, "+fieldWord) {
		t.Fatalf("after the modal said %q", u)
	}

	f.r.SetTree(a11y.Tree{Screen: "thanks", Announce: lit("Ihre Nummer: K 7 E X. Beleg unten."), Nodes: []a11y.Node{
		{Role: a11y.RoleHeading, Label: lit("Danke!")}, {Role: a11y.RoleText, Label: lit("Ihre Nummer: K 7 E X")}}})
	f.wantLast(a11y.Sentences("Danke!", f.w("de", "a11y.count", "n", 2), "Ihre Nummer: K 7 E X. Beleg unten."))
}
