package ui

import (
	"slices"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// The language chooser. Six screen languages, a speech-only one and
// Leichte Sprache do not fit the top bar as a button each (it wrapped
// and pushed the body into scrolling), so the top bar has one language
// button, in the current language's own name with a globe, that opens
// the language screen; choosing there returns to the screen the
// resident came from, in the new language. The attract screen keeps
// the languages in sight for people who do not read German: a row of
// them, each in its own name, each starting a session in it.

// ScreenLanguage is the language screen.
const ScreenLanguage = "language"

// languageIcon is a globe (drawn here: Fyne's theme has none). Filled
// shapes only: a themed resource recolours fills, not strokes.
var languageIcon = theme.NewThemedResource(fyne.NewStaticResource("language.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24">`+
	`<path fill-rule="evenodd" d="M12 2a10 10 0 1 0 0 20a10 10 0 1 0 0-20zm0 1.8a8.2 8.2 0 1 1 0 16.4a8.2 8.2 0 1 1 0-16.4z"/>`+
	`<path fill-rule="evenodd" d="M12 2.5a4.6 9.5 0 1 0 0 19a4.6 9.5 0 1 0 0-19zm0 1.8a2.8 7.7 0 1 1 0 15.4a2.8 7.7 0 1 1 0-15.4z"/>`+
	`<rect x="2.5" y="11.1" width="19" height="1.8"/><rect x="4" y="6.6" width="16" height="1.6"/><rect x="4" y="15.8" width="16" height="1.6"/>`+
	`</svg>`)))

// languageButton is the top bar's way to the language screen: the
// language shown now, in its own name (Leichte Sprache while that is
// on). It is said as "Language: Deutsch" in the speech language, so a
// person who hears it knows what it is for.
func (u *UI) languageButton() fyne.CanvasObject {
	current := u.speechLang()
	text := u.cat.Name(current) // a speech-only language's too: it is one word, and it is the session's
	if u.easyOn() {
		text = u.cat.T(current, "a11y.easy")
	}
	b := u.button(text, languageIcon, widget.MediumImportance, u.showLanguages)
	if n := len(u.nodes); n > 0 && !u.buildingWarn {
		name := u.cat.Name(current)
		u.nodes[n-1].live = func() string { return u.tr("language.button", "language", name) }
	}
	return b
}

// easyOn reports whether the session's texts are in Leichte Sprache now
// (the switch is on and the easy catalog has the language).
func (u *UI) easyOn() bool {
	e := u.opts.EasyCatalog
	return u.easy && e != nil && e.Has(u.lang())
}

// easyLanguages are the offered languages the Leichte Sprache catalog
// has (German).
func (u *UI) easyLanguages() []string {
	e := u.opts.EasyCatalog
	if e == nil {
		return nil
	}
	var out []string
	for _, l := range u.content.Languages {
		if e.Has(l) {
			out = append(out, l)
		}
	}
	return out
}

// showLanguages shows the language screen over the screen shown, which
// a choice (or back) returns to. On the attract screen it starts a
// session first, as every button there does, and returns home.
func (u *UI) showLanguages() {
	if u.name == ScreenLanguage {
		return
	}
	if u.sess.Current() == nil {
		u.sess.Start("")
		u.showHome()
	}
	name, build := u.name, u.build
	back := func() { u.show(name, build) }
	u.show(ScreenLanguage, func() fyne.CanvasObject { return u.languageScreen(back) })
}

// chooseLanguage makes l the session's language (starting a session if
// none runs), Leichte Sprache on or off.
func (u *UI) chooseLanguage(l string, easy bool) {
	if u.sess.Current() == nil {
		u.sess.Start("")
	}
	u.sess.Current().Language = l
	u.easy = easy
}

// languageScreen: "language" in every offered language as its heading,
// then a choice per language in its own name and script, the current
// one chosen: the screen languages, each speech-only language (marked
// as spoken, with the language its screen shows) and Leichte Sprache.
// A choice, or back, returns to the screen before.
func (u *UI) languageScreen(back func()) fyne.CanvasObject {
	current, easy := u.speechLang(), u.easyOn()
	var words []string
	for _, l := range append([]string{u.lang()}, u.content.Languages...) {
		if w := u.cat.T(l, "language.choose"); !slices.Contains(words, w) {
			words = append(words, w)
		}
	}
	title := u.heading(strings.Join(words, " · "))
	// Said in the speech language alone: six languages in one voice
	// would be noise.
	u.nodes[len(u.nodes)-1].live = func() string { return u.tr("language.choose") }
	pick := func(l string, easy bool) func() {
		return func() {
			u.chooseLanguage(l, easy)
			back()
		}
	}
	grid := newColumns(12*theme.TextSize(), 3)
	for _, l := range u.content.Languages {
		on := l == current && !easy
		grid.Add(u.newChoice(u.cat.Name(l), radioIcon(on), on, pick(l, false)))
		u.ownLanguage(l, on)
	}
	for _, l := range u.cat.Languages() {
		if !u.speechOnly(l) {
			continue
		}
		name := u.cat.Name(l)
		on := l == current
		// The name on a line of its own: Arabic and the note in another
		// script in one line would be laid out left to right in pieces.
		label := name + "\n" + u.tr("language.spoken", "screen", u.cat.Name(u.screenLang(l)))
		grid.Add(u.newChoice(label, theme.VolumeUpIcon(), on, pick(l, false)))
		u.ownLanguage(l, on)
		u.nodes[len(u.nodes)-1].live = func() string { return name } // in its own voice
	}
	for _, l := range u.easyLanguages() {
		on := l == current && easy
		grid.Add(u.newChoice(u.cat.T(l, "a11y.easy"), radioIcon(on), on, pick(l, true)))
		u.ownLanguage(l, on)
	}
	backButton := u.button(u.tr("action.back"), theme.NavigateBackIcon(), widget.MediumImportance, back)
	return container.NewBorder(title, container.NewGridWithColumns(2, backButton), nil, nil, u.vscroll(grid))
}

// attractLanguages is the attract screen's row of languages, each in
// its own name (and Leichte Sprache): a tap starts a session in it.
// The buttons have no icon each, so six languages and Leichte Sprache
// fit one row on a 1024 × 768 screen; the row wraps where they do not.
func (u *UI) attractLanguages() fyne.CanvasObject {
	row := container.New(&flowCentre{gap: theme.Padding()})
	for _, l := range u.content.Languages {
		row.Add(u.button(u.cat.Name(l), nil, widget.MediumImportance, func() { u.startIn(l, false) }))
		u.ownLanguage(l, false)
	}
	for _, l := range u.easyLanguages() {
		row.Add(u.button(u.cat.T(l, "a11y.easy"), nil, widget.MediumImportance, func() { u.startIn(l, true) }))
		u.ownLanguage(l, false)
	}
	return row
}

// startIn starts a session in l (in Leichte Sprache if easy) and shows
// home.
func (u *UI) startIn(l string, easy bool) {
	u.chooseLanguage(l, easy)
	u.showHome()
}
