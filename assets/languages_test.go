package assets_test

import (
	"bytes"
	"maps"
	"slices"
	"testing"
	"unicode"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
	"github.com/go-text/typesetting/font"

	"github.com/quartierhub/quartierhub/assets"
	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/internal/i18n"
)

func catalog(t *testing.T) *i18n.Catalog {
	t.Helper()
	cat, err := assets.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

// language.screen names a language whose screen texts exist: itself, or
// (speech-only) another language that shows its own. The demo offers
// only languages with their own screen.
func TestScreenLanguages(t *testing.T) {
	cat := catalog(t)
	var speechOnly []string
	for _, l := range cat.Languages() {
		s := cat.T(l, assets.ScreenKey)
		switch {
		case s == l:
		case !cat.Has(s):
			t.Errorf("%s.json: %s %q is not a language with a file", l, assets.ScreenKey, s)
		case cat.T(s, assets.ScreenKey) != s:
			t.Errorf("%s.json: %s %q is itself speech-only", l, assets.ScreenKey, s)
		default:
			speechOnly = append(speechOnly, l)
		}
	}
	// Arabic is speech-only until the window lays text out right to
	// left (package doc); a change here is a decision, not a slip.
	if !slices.Equal(speechOnly, []string{"ar"}) {
		t.Errorf("speech-only languages %v, want [ar]", speechOnly)
	}
	c, err := assets.DemoContent()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range c.Languages {
		if cat.T(l, assets.ScreenKey) != l {
			t.Errorf("the demo offers %s on screen, but %s.json's %s is %q", l, l, assets.ScreenKey, cat.T(l, assets.ScreenKey))
		}
	}
}

// Every rune the screen shows in a screen language has a glyph in the
// fonts the kiosk theme draws with (it keeps Fyne's default fonts, Noto
// Sans): Fyne would otherwise fall back to whatever the system has, or
// draw boxes.
func TestFontsCoverScreenTexts(t *testing.T) {
	var faces []*font.Face
	for _, style := range []fyne.TextStyle{{}, {Bold: true}, {Italic: true}, {Bold: true, Italic: true}} {
		f, err := font.ParseTTF(bytes.NewReader(theme.DefaultTheme().Font(style).Content()))
		if err != nil {
			t.Fatalf("font %+v: %v", style, err)
		}
		faces = append(faces, f)
	}
	// Each missing rune once, with where it first appears and how often.
	type gap struct {
		where string
		n     int
	}
	missing := map[rune]*gap{}
	check := func(where, s string) {
		for _, r := range s {
			if unicode.IsControl(r) {
				continue // line breaks are layout, not glyphs
			}
			for _, f := range faces {
				if _, ok := f.NominalGlyph(r); !ok {
					if missing[r] == nil {
						missing[r] = &gap{where: where}
					}
					missing[r].n++
					break
				}
			}
		}
	}
	cat := catalog(t)
	b, err := assets.I18n().(interface{ ReadFile(string) ([]byte, error) }).ReadFile("de.json")
	if err != nil {
		t.Fatal(err)
	}
	keys := jsonKeys(t, b)
	c, err := assets.DemoContent()
	if err != nil {
		t.Fatal(err)
	}
	texts := demoTexts(c)
	screen := 0
	for _, l := range cat.Languages() {
		if cat.T(l, assets.ScreenKey) != l {
			continue // speech-only: spoken, never drawn
		}
		screen++
		for _, k := range keys {
			check(l+".json "+k, cat.T(l, k))
		}
		// Every screen language, offered by the demo or not: a
		// deployment may offer any of them.
		for where, tx := range texts {
			check("demo "+where+" "+l, tx[l])
		}
	}
	if screen < 6 {
		t.Fatalf("only %d screen languages checked", screen)
	}
	for _, r := range slices.Sorted(maps.Keys(missing)) {
		t.Errorf("no glyph for %q U+%04X in the kiosk fonts, first in %s (%d uses)", r, r, missing[r].where, missing[r].n)
	}
}

// demoTexts is every text of the content a resident reads or hears, by
// where it is.
func demoTexts(c api.Content) map[string]api.Text {
	out := map[string]api.Text{"quarter": c.Quarter, "help desk": c.HelpDesk.Name, "help desk hours": c.HelpDesk.Hours}
	for _, s := range c.Services {
		out["service "+s.ID] = s.Title
		out["service "+s.ID+" subtitle"] = s.Subtitle
	}
	for _, p := range c.Pages {
		out["page "+p.ID] = p.Title
		out["page "+p.ID+" body"] = p.Body
	}
	for _, a := range c.Announcements {
		out["announcement "+a.ID] = a.Title
		out["announcement "+a.ID+" body"] = a.Body
	}
	for _, s := range c.Surveys {
		out["survey "+s.ID] = s.Title
		out["survey "+s.ID+" intro"] = s.Intro
		for _, q := range s.Questions {
			where := "question " + s.ID + "/" + q.ID
			out[where] = q.Text
			out[where+" min"] = q.MinLabel
			out[where+" max"] = q.MaxLabel
			for _, o := range q.Options {
				out[where+" option "+o.ID] = o.Label
			}
		}
	}
	for _, x := range c.ProblemCategories {
		out["category "+x.ID] = x.Label
	}
	for _, p := range append(c.Places, c.TerminalPlace) {
		out["place "+p.ID] = p.Name
	}
	for k, v := range out {
		if v == nil {
			delete(out, k)
		}
	}
	return out
}
