package ui_test

import (
	"slices"
	"testing"

	"golang.org/x/text/unicode/norm"

	"github.com/quartierhub/quartierhub/kiosk/a11y"
	"github.com/quartierhub/quartierhub/kiosk/localapi"
	"github.com/quartierhub/quartierhub/kiosk/ui"
)

// toneFaces are the faces of the Vietnamese keyboard's tone keys, by
// the tone's combining mark.
var toneFaces = map[rune]string{'\u0301': "á", '\u0300': "à", '\u0309': "ả", '\u0303': "ã", '\u0323': "ạ"}

// typeText types s on the on-screen keyboard by taps, as typeKeys does,
// and a Vietnamese letter with a tone as its letter, then the tone key.
func (h *harness) typeText(s string) {
	h.t.Helper()
	if s == "" {
		h.t.Fatal("nothing to type")
	}
	for _, r := range s {
		d := []rune(norm.NFD.String(string(r)))
		var tone rune
		for i, m := range d {
			if _, ok := toneFaces[m]; ok {
				tone, d = m, slices.Delete(d, i, i+1)
				break
			}
		}
		h.typeKeys(norm.NFC.String(string(d)))
		if tone != 0 {
			h.tap(toneFaces[tone])
		}
	}
}

// describeIn starts a session in lang and goes to the report's text.
func describeIn(t *testing.T, lang string) (*harness, *fake) {
	t.Helper()
	be := newFakeIn(t, lang)
	h := newHarness(t, be)
	h.tapAttract()
	if lang != h.lang() {
		h.chooseLanguage(lang)
	}
	h.tap(tileTitle(lang, "report"))
	h.tap(demoText(lang, "category", "lighting"))
	h.expectScreen(ui.ScreenDescribe)
	return h, be
}

// TestKeyboardFollowsTheLanguage: each screen language has its own
// layout, its letters said in that language.
func TestKeyboardFollowsTheLanguage(t *testing.T) {
	for _, c := range []struct {
		lang         string
		has, hasNot  []string
		switchScript bool
	}{
		{"de", []string{"z", "ß", "ü", "ö", "ä"}, []string{"@"}, false},
		{"en", []string{"z", "y", "@"}, []string{"ß", "ü"}, false},
		{"uk", []string{"й", "і", "ї", "є", "ґ", "'"}, []string{"q", "ы", "ё"}, true},
		{"ru", []string{"й", "ё", "ъ", "ы", "э"}, []string{"q", "і", "ї"}, true},
		{"tr", []string{"ğ", "ü", "ş", "ı", "i", "ö", "ç"}, []string{"ß", "ä"}, false},
		{"vi", []string{"ă", "â", "ê", "ô", "ơ", "ư", "đ", "á", "à", "ả", "ã", "ạ"}, []string{"ß", "ü"}, false},
	} {
		t.Run(c.lang, func(t *testing.T) {
			h, _ := describeIn(t, c.lang)
			h.tap("keyboard.shift") // small letters (capitals at the start)
			for _, k := range c.has {
				if !h.keyShown(k) {
					t.Errorf("no key %q", k)
				}
			}
			for _, k := range c.hasNot {
				if h.keyShown(k) {
					t.Errorf("a key %q", k)
				}
			}
			if got := h.keyShown("ABC"); got != c.switchScript {
				t.Errorf("a key to Latin letters: %v", got)
			}
			// Letters are said in the layout's language, special keys in
			// the speech language.
			for _, n := range h.u.Reader().Tree().Nodes {
				if n.Role != a11y.RoleKey {
					continue
				}
				l := n.Label(c.lang)
				if single := len([]rune(l)) == 1; single && n.Lang != c.lang || !single && n.Lang != "" {
					t.Errorf("key %q said in %q", l, n.Lang)
				}
			}
		})
	}
}

// TestUkrainianTyped: a Ukrainian word typed by taps lands in the
// report; by the keypad alone in a survey's text answer.
func TestUkrainianTyped(t *testing.T) {
	h, be := describeIn(t, "uk")
	h.typeText("Ліхтар м'ятий, ґанок")
	if got := h.u.Session().Report.Text; got != "Ліхтар м'ятий, ґанок" {
		t.Fatalf("report text %q", got)
	}
	h.tap("action.next")
	h.tap(demoText("uk", "place", "yenidze"))
	h.tap("report.confirm.send")
	if len(be.submitted) != 1 || be.submitted[0].Payload.(map[string]any)["text"] != "Ліхтар м'ятий, ґанок" {
		t.Fatalf("sent %+v", be.submitted)
	}
}

// TestUkrainianSurveyAnswer: a survey's text answer typed on the
// Ukrainian keys is the answer sent.
func TestUkrainianSurveyAnswer(t *testing.T) {
	be := newFakeIn(t, "uk")
	h := newHarness(t, be)
	h.tapAttract()
	h.chooseLanguage("uk")
	h.tap(tileTitle("uk", "survey"))
	h.u.HandleEvent(localapi.Event{Type: localapi.EventCard, Card: &localapi.CardEvent{Presented: true, Hash: "c"}})
	h.tap("survey.start")
	h.tap("4")
	h.tap("action.next")
	h.tap(demoText("uk", "option", "foot"))
	h.tap("action.next")
	h.tap(demoText("uk", "option", "benches"))
	h.tap("action.next")
	h.typeText("Більше зелені, їжа й ґудзики")
	h.tap("survey.send")
	h.expectScreen(ui.ScreenSurveyDone)
	if len(be.responses) != 1 {
		t.Fatalf("%d responses", len(be.responses))
	}
	var texts []string
	for _, a := range be.responses[0].Answers {
		if a.Text != "" {
			texts = append(texts, a.Text)
		}
	}
	if len(texts) != 1 || texts[0] != "Більше зелені, їжа й ґудзики" {
		t.Fatalf("answered %q", texts)
	}
}

func TestUkrainianTypedByKeys(t *testing.T) {
	h, rec := speaking(t, newFakeIn(t, "uk"), nil)
	h.key("Return")
	h.chooseLanguageByKeys("uk")
	h.choose(tileTitle("uk", "report"))
	h.choose(demoText("uk", "category", "lighting"))
	h.expectScreen(ui.ScreenDescribe)
	h.typeByKeys("Їжак і ґанок")
	if got := h.u.Session().Report.Text; got != "Їжак і ґанок" {
		t.Fatalf("report text %q", got)
	}
	for _, u := range rec.Said() {
		if u.Text == "ї" && u.Lang != "uk" {
			t.Fatalf("ї said in %s", u.Lang)
		}
	}
}

// TestVietnameseTones: "Việt" is V i ê, the nặng tone (on the last
// vowel), t; a tone again takes it away, another replaces it.
func TestVietnameseTones(t *testing.T) {
	h, _ := describeIn(t, "vi")
	h.typeKeys("Viê")
	h.tap("ạ")
	h.typeKeys("t")
	if got := h.u.Session().Report.Text; got != "Việt" || !norm.NFC.IsNormalString(got) {
		t.Fatalf("typed %q", got)
	}
	h.typeKeys(" ")
	h.tap("á") // no vowel in the last word: nothing
	h.typeKeys("ngươi")
	h.tap("à")
	h.tap("ả") // replaces huyền
	if got := h.u.Session().Report.Text; got != "Việt ngươỉ" {
		t.Fatalf("typed %q", got)
	}
	h.tap("ả") // the same tone again: gone
	if got := h.u.Session().Report.Text; got != "Việt ngươi" {
		t.Fatalf("typed %q", got)
	}
}

// TestTurkishCapitals: shift makes İ of i and I of ı.
func TestTurkishCapitals(t *testing.T) {
	h, _ := describeIn(t, "tr")
	h.typeKeys("İzmir ılık")
	if h.keyShown("İ") {
		t.Fatal("capitals after a word")
	}
	h.tap("keyboard.shift")
	if !h.keyShown("İ") || !h.keyShown("I") || h.keyShown("i") || h.keyShown("ı") {
		t.Fatal("shift does not give İ and I")
	}
	h.tap("I")
	if got := h.u.Session().Report.Text; got != "İzmir ılıkI" {
		t.Fatalf("typed %q", got)
	}
}

// TestSwitchToLatinAndBack: Cyrillic and Latin letters on one key, by
// taps and by keys (the focus stays on the switch key), for the session.
func TestSwitchToLatinAndBack(t *testing.T) {
	h, _ := describeIn(t, "uk")
	h.typeText("Вул ")
	h.tap("ABC") // named keyboard.latin
	if !h.keyShown("q") || h.keyShown("й") || !h.keyShown("АБВ") {
		t.Fatal("no Latin letters after the switch")
	}
	h.typeKeys("Hauptstr")
	h.tap("АБВ")
	h.typeKeys(" й")
	if got := h.u.Session().Report.Text; got != "Вул Hauptstr й" {
		t.Fatalf("typed %q", got)
	}
	if h.keyShown("q") {
		t.Fatal("Latin letters after switching back")
	}
	// Latin letters are the session's: the next session starts in the
	// language's own.
	h.tap("ABC")
	h.tap("action.finish")
	h.tapAttract()
	h.chooseLanguage("uk")
	h.tap(tileTitle("uk", "report"))
	h.tap(demoText("uk", "category", "lighting"))
	if h.keyShown("Q") || !h.keyShown("Й") {
		t.Fatal("a new session starts with Latin letters")
	}

	hk, rec := speaking(t, newFakeIn(t, "ru"), nil)
	hk.key("Return")
	hk.chooseLanguageByKeys("ru")
	hk.choose(tileTitle("ru", "report"))
	hk.choose(demoText("ru", "category", "lighting"))
	hk.choose("keyboard.latin")
	if want := hk.cat.T("ru", "keyboard.cyrillic"); hk.focused() != want {
		t.Fatalf("focus on %q after the switch, want %q", hk.focused(), want)
	}
	saidInOrder(t, rec, hk.cat.T("ru", "keyboard.cyrillic"))
	hk.typeByKeys("Ok")
	hk.choose("keyboard.cyrillic")
	hk.typeByKeys("ё")
	if got := hk.u.Session().Report.Text; got != "Okё" {
		t.Fatalf("typed %q", got)
	}
	// Latin for the session: another text screen starts in Latin too.
	hk.choose("keyboard.latin")
	hk.key("Escape")
	hk.choose(demoText("ru", "category", "lighting"))
	if !hk.keyShown("q") {
		t.Fatal("the session's Latin letters forgotten")
	}
}

// newFakeIn is the demo backend offering lang too.
func newFakeIn(t *testing.T, lang string) *fake {
	t.Helper()
	if !catalog(t).Has(lang) {
		t.Skipf("no %s.json", lang)
	}
	be := newFake(t)
	if !slices.Contains(be.content.Languages, lang) {
		be.content.Languages = append(be.content.Languages, lang)
	}
	return be
}
