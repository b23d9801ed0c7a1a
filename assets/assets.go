// Package assets holds what the terminal embeds: the translation files
// (i18n/LANG.json, flat key → string; a new language is one more file) and
// the demo content for the model quarter Friedrichstadt (demo/content.json,
// the wire type hub-server/api.Content), shown until the hub serves
// content.
//
// # Languages
//
// German (de), English (en), Ukrainian (uk), Russian (ru), Turkish (tr)
// and Vietnamese (vi) are screen languages: the terminal shows and speaks
// them. Arabic (ar) is speech-only: complete, spoken by the screen reader,
// never drawn. Fyne (v2.7) cannot show Arabic properly. Its painter
// (internal/painter/font.go, walkString) splits a string into bidi runs
// and shapes each with HarfBuzz, so an Arabic word's letters join; but
// it places the runs left to right in logical order, under a paragraph
// direction fixed to left-to-right, so a line mixing Arabic with digits,
// Latin or punctuation reads in the wrong order ("السؤال 1 من 4." is
// five runs drawn first to last from the left). Nothing mirrors layouts
// (leading alignment is always left; boxes, lists and bars run left to
// right), and its bundled Noto Sans has no Arabic glyphs (it falls back
// to whatever system font has them). So an Arabic speaker hears Arabic
// with the screen in another language.
//
// Each catalog says which with the key [ScreenKey] ("language.screen"):
// its value is the language whose screen texts are shown while this
// language is the session's language. A screen language names itself
// ("uk" in uk.json); a speech-only language names a screen language
// ("de" in ar.json: the terminal's default, and what a companion or the
// office staff read). The window shows that language's catalog and
// content texts while speech stays in the session's language; if the
// terminal does not offer the named language (content.languages), it
// shows the terminal's default language (the first of them). Content's
// `languages` lists only screen languages: they make the language
// switch; the language screen adds the speech-only ones, each drawn as
// its own name only (the system's DejaVu Sans has the Arabic letters
// Fyne's font lacks) with a note in the screen's language. Every screen text of a screen language has a glyph in the
// kiosk theme's fonts (Fyne's Noto Sans covers Latin, Cyrillic and
// Vietnamese): TestFontsCoverScreenTexts.
//
// # Leichte Sprache
//
// The German texts of i18n/de.json follow Einfache Sprache (plain German:
// short sentences, active voice, verbs on buttons, no abbreviations).
// i18n/leicht/de.json ([EasyI18n]) holds the same keys again in Leichte
// Sprache (very short sentences, one idea a line, hard words explained),
// for the screens a person meets first and needs most: the keys starting
// action., attract., help., home., printer. and report., and busy,
// error.submit, error.title and the timeout.* keys. The window looks a key
// up there first while a session asks for Leichte Sprache. Every key there
// exists in de.json with the same placeholders, and that set is complete
// (TestEasyCatalog); every screen of kiosk/ui has a help.SCREEN text
// (TestHelpForEveryScreen).
package assets

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/internal/i18n"
)

// ScreenKey is the catalog key naming the language whose screen texts are
// shown while the key's language is spoken (see the package doc).
const ScreenKey = "language.screen"

//go:embed i18n/*.json i18n/leicht/*.json demo/*.json
var files embed.FS

// I18n returns the translation files: LANG.json at its root.
func I18n() fs.FS {
	sub, err := fs.Sub(files, "i18n")
	if err != nil {
		panic(err) // the directory is embedded above
	}
	return sub
}

// EasyI18n returns the Leichte Sprache texts: LANG.json at its root, each
// a subset of the keys of [I18n] (see the package doc).
func EasyI18n() fs.FS {
	sub, err := fs.Sub(files, "i18n/leicht")
	if err != nil {
		panic(err) // the directory is embedded above
	}
	return sub
}

// DemoContent returns the embedded demo content, validated.
func DemoContent() (api.Content, error) {
	b, err := files.ReadFile("demo/content.json")
	if err != nil {
		return api.Content{}, fmt.Errorf("assets: %w", err)
	}
	var c api.Content
	if err := json.Unmarshal(b, &c); err != nil {
		return api.Content{}, fmt.Errorf("assets: demo content: %w", err)
	}
	if err := c.Validate(); err != nil {
		return api.Content{}, fmt.Errorf("assets: demo content: %w", err)
	}
	return c, nil
}

// ExampleLayer is a complete configuration layer holding the demo
// content, indented: where a new hub's global layer starts
// (`hub-server config example`, the console's editor).
func ExampleLayer() ([]byte, error) {
	c, err := DemoContent()
	if err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(map[string]any{"content": c}, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("assets: example layer: %w", err)
	}
	return b, nil
}

// Catalog loads the terminal's translations (I18n), German the fallback.
func Catalog() (*i18n.Catalog, error) { return i18n.Load(I18n(), "de") }

// EasyCatalog loads the Leichte Sprache catalog (EasyI18n).
func EasyCatalog() (*i18n.Catalog, error) { return i18n.Load(EasyI18n(), "de") }
