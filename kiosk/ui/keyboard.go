package ui

import (
	"strings"
	"unicode"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
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
}

func (u *UI) newKeyboard(text string, max int, edit func(string)) fyne.CanvasObject {
	k := &keyboard{u: u, text: text, max: max, edit: edit, shift: text == ""}
	rows := container.NewVBox()
	for _, row := range keyRows {
		r := container.NewGridWithColumns(len([]rune(row)))
		for _, ch := range row {
			b := widget.NewButton(string(ch), nil)
			b.OnTapped = u.act(func() { k.typed(b.Text) })
			k.keys = append(k.keys, b)
			u.addTarget(b, func() string { return b.Text })
			r.Add(touch(b))
		}
		rows.Add(r)
	}
	shift := u.button(u.tr("keyboard.shift"), theme.MoveUpIcon(), widget.MediumImportance, func() { k.setShift(!k.shift) })
	space := u.button(u.tr("keyboard.space"), nil, widget.MediumImportance, func() { k.typed(" ") })
	del := u.button(u.tr("keyboard.delete"), theme.ContentUndoIcon(), widget.MediumImportance, k.backspace)
	rows.Add(container.NewBorder(nil, nil, shift, del, space))
	k.setShift(k.shift)
	return rows
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

// textArea shows typed text; the keyboard below edits it.
func textArea(text, placeholder string) *widget.Entry {
	e := widget.NewMultiLineEntry()
	e.Wrapping = fyne.TextWrapWord
	e.SetPlaceHolder(placeholder)
	e.SetText(text)
	e.SetMinRowsVisible(3)
	return e
}
