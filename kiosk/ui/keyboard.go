package ui

import (
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/quartierhub/quartierhub/kiosk/a11y"
)

// keyboard is the on-screen keyboard. It edits text at its end, which
// residents find easier than placing a cursor. Its layout is the screen
// language's (keyboard_layouts.go), chosen by the session's language and
// not by the language a screen is built in for another language's
// labels, so every build of a screen has the same keys.
type keyboard struct {
	u      *UI
	layout *keyLayout
	shift  bool
	keys   []charKey
	// edit receives the new text.
	text string
	max  int
	edit func(string)
	// back and next, if set, flank the last row (space, shift, delete).
	back, next fyne.CanvasObject
}

// charKey is a character key: its button and its small letter.
type charKey struct {
	b    *widget.Button
	base rune
}

func (u *UI) newKeyboard(text string, max int, edit func(string)) *keyboard {
	k := &keyboard{u: u, text: text, max: max, edit: edit, layout: u.keyLayout()}
	k.shift = k.capitalNext()
	return k
}

// keyLayout is the layout the keyboard shows now: the screen language's,
// or its Latin one where the session switched to it.
func (u *UI) keyLayout() *keyLayout {
	l := layoutFor(u.screenLang(u.speechLang()))
	if s := u.sess.Current(); l.latin != nil && s != nil && u.latinKeys == s {
		return l.latin
	}
	return l
}

// switchScript shows the other layout of the screen language (Latin or
// its own script), for the rest of the session.
func (u *UI) switchScript() {
	s := u.sess.Current()
	if u.latinKeys == s {
		u.latinKeys = nil
	} else {
		u.latinKeys = s
	}
	u.render()
}

// build makes the keys (after back and next are set).
func (k *keyboard) build() fyne.CanvasObject {
	u := k.u
	u.typing = k // a hardware keyboard types here too (access.go)
	rows := container.NewVBox()
	// Character keys are a little smaller on a short screen (still well
	// above 48 × 48), so the text and the keys fit in large text too.
	keyMin := float32(MinTouch)
	if k.short() {
		keyMin = 56
	}
	for _, row := range k.layout.rows {
		r := container.NewGridWithColumns(len([]rune(row)))
		for _, ch := range row {
			if t, ok := toneOf(ch); ok {
				r.Add(k.toneKey(t, keyMin))
				continue
			}
			b := widget.NewButton(string(ch), nil)
			b.OnTapped = u.act(func() { k.typed(b.Text) })
			k.keys = append(k.keys, charKey{b, ch})
			u.addTarget(b, func() string { return b.Text })
			// A letter is said in the layout's language; a punctuation
			// mark, which espeak-ng says nothing for, by its name in the
			// speech language.
			live, lang := func() string { return b.Text }, k.layout.lang
			if key, ok := charNames[ch]; ok {
				name := u.tr(key)
				live, lang = func() string { return name }, ""
			}
			u.node(accNode{Node: a11y.Node{Role: a11y.RoleKey, Action: b.OnTapped, Target: b, Lang: lang}, live: live})
			r.Add(container.New(minSize{keyMin, keyMin}, b))
		}
		rows.Add(r)
	}
	shift := u.buttonAs(a11y.RoleKey, 0, u.tr("keyboard.shift"), theme.MoveUpIcon(), widget.MediumImportance, func() { k.setShift(!k.shift) })
	left := []fyne.CanvasObject{shift}
	if sw := k.scriptKey(); sw != nil {
		left = append(left, sw)
	}
	space := u.buttonAs(a11y.RoleKey, 0, u.tr("keyboard.space"), nil, widget.MediumImportance, func() { k.typed(" ") })
	del := u.buttonAs(a11y.RoleKey, 0, u.tr("keyboard.delete"), theme.ContentUndoIcon(), widget.MediumImportance, k.backspace)
	lead := container.NewHBox(left...)
	if k.back == nil || k.next == nil {
		rows.Add(container.NewBorder(nil, nil, lead, del, space))
		k.setShift(k.shift)
		return k.tight(rows)
	}
	// Back and next beside shift, space and delete if that row leaves
	// the space bar room (wide screens, normal text), else a row below.
	// Two touch widths of space bar at least: four sent back and next
	// below, too high for the screen, at 1024 px in Ukrainian and Russian
	// and at 1280 px in large text (longer words, the Latin key).
	need := k.back.MinSize().Width + lead.MinSize().Width + del.MinSize().Width + k.next.MinSize().Width + 2*MinTouch
	if w := u.win.Canvas().Size().Width; w == 0 || need <= w-8*theme.Padding() {
		rows.Add(container.NewBorder(nil, nil, container.NewHBox(append([]fyne.CanvasObject{k.back}, left...)...), container.NewHBox(del, k.next), space))
	} else {
		rows.Add(container.NewBorder(nil, nil, lead, del, space))
		rows.Add(container.NewBorder(nil, nil, k.back, k.next))
	}
	k.setShift(k.shift)
	return k.tight(rows)
}

// scriptKey switches between a script's own layout and the Latin one;
// nil where the screen language is written in Latin letters.
func (k *keyboard) scriptKey() fyne.CanvasObject {
	own := layoutFor(k.u.screenLang(k.u.speechLang()))
	if own.latin == nil {
		return nil
	}
	name, face := k.u.tr("keyboard.latin"), latinFace
	if k.layout != own {
		name, face = k.u.tr(own.script), own.face
	}
	return k.wordKey(face, name, k.u.switchScript, MinTouch)
}

// wordKey is a key showing face whose name (said, and found by Locate)
// is name: a short face keeps the bottom row to one line.
func (k *keyboard) wordKey(face, name string, tapped func(), size float32) fyne.CanvasObject {
	u := k.u
	b := widget.NewButton(face, u.act(tapped))
	u.addTarget(b, func() string { return name })
	u.node(accNode{Node: a11y.Node{Role: a11y.RoleKey, Action: b.OnTapped, Target: b}, live: func() string { return name }})
	return container.New(minSize{size, size}, b)
}

// toneKey puts a Vietnamese tone on the last vowel typed; its face is a
// vowel with the tone, its name (said, and for the label test) the
// tone's.
func (k *keyboard) toneKey(t tone, size float32) fyne.CanvasObject {
	return k.wordKey(t.face, k.u.tr(t.key), func() { k.tone(t.mark) }, size)
}

func (k *keyboard) tone(mark rune) {
	if t := withTone(k.text, mark); t != k.text {
		k.text = t
		k.edit(k.text)
	}
}

// tight draws the keyboard with less padding inside and between its keys
// on a short screen (keys stay at least MinTouch high), so the text and
// the keyboard both fit in large text.
func (k *keyboard) tight(rows fyne.CanvasObject) fyne.CanvasObject {
	if !k.short() {
		return rows
	}
	return container.NewThemeOverride(rows, tightTheme{k.u.app.Settings().Theme()})
}

func (k *keyboard) short() bool { return k.u.short() }

// short says whether the window is a short one (1280 × 800, 1024 × 768),
// where some screens are drawn more compactly.
func (u *UI) short() bool {
	h := u.win.Canvas().Size().Height
	return h > 0 && h < 900
}

// tightTheme is the kiosk's theme with smaller paddings.
type tightTheme struct{ fyne.Theme }

func (t tightTheme) Size(n fyne.ThemeSizeName) float32 {
	switch n {
	case theme.SizeNamePadding:
		return 4
	case theme.SizeNameInnerPadding:
		return 6
	}
	return t.Theme.Size(n)
}

func (k *keyboard) setShift(on bool) {
	k.shift = on
	for _, c := range k.keys {
		r := c.base
		if on {
			r = k.layout.upper(r)
		}
		if string(r) != c.b.Text {
			c.b.SetText(string(r))
		}
	}
}

func (k *keyboard) typed(s string) {
	if len([]rune(k.text))+len([]rune(s)) > k.max {
		return
	}
	k.text += s
	k.edit(k.text)
	k.setShift(k.capitalNext())
}

// capitalNext: a capital after a sentence end, else small letters (like
// a phone).
func (k *keyboard) capitalNext() bool {
	trimmed := strings.TrimRight(k.text, " ")
	return trimmed == "" || strings.HasSuffix(trimmed, ".") || strings.HasSuffix(trimmed, "?") || strings.HasSuffix(trimmed, "!")
}

func (k *keyboard) backspace() {
	r := []rune(k.text)
	if len(r) == 0 {
		return
	}
	k.text = string(r[:len(r)-1])
	k.edit(k.text)
	k.setShift(k.text == "")
}

// textArea shows typed text; the keyboard below edits it. On a short
// screen it shows two rows (it grows where there is room).
func (u *UI) textArea(text, placeholder string) *widget.Entry {
	e := widget.NewMultiLineEntry()
	e.Wrapping = fyne.TextWrapWord
	e.SetPlaceHolder(placeholder)
	e.SetText(text)
	rows := 3
	if h := u.win.Canvas().Size().Height; h > 0 && h < 900 {
		rows = 2
	}
	e.SetMinRowsVisible(rows)
	return e
}
