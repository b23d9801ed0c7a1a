package ui

import (
	"strings"
	"unicode"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/quartierhub/quartierhub/kiosk/a11y"
)

// German layout (QWERTZ) with the umlauts and ß on their own keys.
var keyRows = []string{
	"1234567890ß",
	"qwertzuiopü",
	"asdfghjklöä",
	"yxcvbnm,.-!?",
}

// keyboard is the on-screen keyboard. It edits text at its end, which
// residents find easier than placing a cursor.
type keyboard struct {
	u     *UI
	shift bool
	keys  []*widget.Button
	// edit receives the new text.
	text string
	max  int
	edit func(string)
	// back and next, if set, flank the last row (space, shift, delete).
	back, next fyne.CanvasObject
}

func (u *UI) newKeyboard(text string, max int, edit func(string)) *keyboard {
	return &keyboard{u: u, text: text, max: max, edit: edit, shift: text == ""}
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
	for _, row := range keyRows {
		r := container.NewGridWithColumns(len([]rune(row)))
		for _, ch := range row {
			b := widget.NewButton(string(ch), nil)
			b.OnTapped = u.act(func() { k.typed(b.Text) })
			k.keys = append(k.keys, b)
			u.addTarget(b, func() string { return b.Text })
			u.node(accNode{Node: a11y.Node{Role: a11y.RoleKey, Action: b.OnTapped, Target: b}, live: func() string { return b.Text }})
			r.Add(container.New(minSize{keyMin, keyMin}, b))
		}
		rows.Add(r)
	}
	shift := u.buttonAs(a11y.RoleKey, 0, u.tr("keyboard.shift"), theme.MoveUpIcon(), widget.MediumImportance, func() { k.setShift(!k.shift) })
	space := u.buttonAs(a11y.RoleKey, 0, u.tr("keyboard.space"), nil, widget.MediumImportance, func() { k.typed(" ") })
	del := u.buttonAs(a11y.RoleKey, 0, u.tr("keyboard.delete"), theme.ContentUndoIcon(), widget.MediumImportance, k.backspace)
	if k.back == nil || k.next == nil {
		rows.Add(container.NewBorder(nil, nil, shift, del, space))
		k.setShift(k.shift)
		return k.tight(rows)
	}
	// Back and next beside shift, space and delete if that row leaves
	// the space bar room (wide screens, normal text), else a row below.
	need := k.back.MinSize().Width + shift.MinSize().Width + del.MinSize().Width + k.next.MinSize().Width + 4*MinTouch
	if w := u.win.Canvas().Size().Width; w == 0 || need <= w-8*theme.Padding() {
		rows.Add(container.NewBorder(nil, nil, container.NewHBox(k.back, shift), container.NewHBox(del, k.next), space))
	} else {
		rows.Add(container.NewBorder(nil, nil, shift, del, space))
		rows.Add(container.NewBorder(nil, nil, k.back, k.next))
	}
	k.setShift(k.shift)
	return k.tight(rows)
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
	for _, b := range k.keys {
		r := []rune(b.Text)[0]
		if r == 'ß' || !unicode.IsLetter(r) {
			continue
		}
		if on {
			b.SetText(strings.ToUpper(b.Text))
		} else {
			b.SetText(strings.ToLower(b.Text))
		}
	}
}

func (k *keyboard) typed(s string) {
	if len([]rune(k.text))+len([]rune(s)) > k.max {
		return
	}
	k.text += s
	k.edit(k.text)
	// A capital after a sentence end, else small letters (like a phone).
	trimmed := strings.TrimRight(k.text, " ")
	k.setShift(trimmed == "" || strings.HasSuffix(trimmed, ".") || strings.HasSuffix(trimmed, "?") || strings.HasSuffix(trimmed, "!"))
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
