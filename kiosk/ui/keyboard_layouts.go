package ui

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// keyLayout is the on-screen keyboard of a screen language. Rows are
// the character keys, small letters (shift makes capitals with caser);
// a Vietnamese tone's combining mark is its tone key. A language with
// another script and its Latin layout have as many keys, so the screen
// reader's focus stays on the switch key when the layout changes (the
// reader keeps its place by index on the same screen). The switch key
// and the tones take no room in the bottom row, where back and next
// must fit beside shift, space and delete at 1024 px.
type keyLayout struct {
	// lang is the language its letters are said in (a11y.Node.Lang).
	lang string
	rows []string
	// caser makes capitals (Turkish: i → İ, ı → I).
	caser unicode.SpecialCase
	// latin is the Latin layout to switch to, nil for a Latin script;
	// script is the catalog key of the switch key's name back to this
	// layout ("keyboard.cyrillic"), face what that key shows.
	latin        *keyLayout
	script, face string
}

// latinFace is what the key to the Latin letters shows (its name,
// keyboard.latin, is said).
const latinFace = "ABC"

// latinForCyrillic is the Latin layout a Cyrillic one switches to.
var latinForCyrillic = keyLayout{lang: "en", rows: []string{
	"1234567890-?",
	"qwertyuiop@/",
	"asdfghjkl():",
	"zxcvbnm,.!'&",
}}

var keyLayouts = map[string]*keyLayout{
	// German (QWERTZ) with the umlauts and ß on their own keys.
	"de": {lang: "de", rows: []string{
		"1234567890ß",
		"qwertzuiopü",
		"asdfghjklöä",
		"yxcvbnm,.-!?",
	}},
	"en": {lang: "en", rows: []string{
		"1234567890-?",
		"qwertyuiop@/",
		"asdfghjkl'()",
		"zxcvbnm,.!:&",
	}},
	// Ukrainian ЙЦУКЕН with і ї є ґ and the apostrophe (м'ята).
	"uk": {lang: "uk", script: "keyboard.cyrillic", face: "АБВ", latin: &latinForCyrillic, rows: []string{
		"1234567890-?",
		"йцукенгшщзхї",
		"фівапролджє'",
		"ґячсмитьбю,.",
	}},
	// Russian ЙЦУКЕН with ё ъ ы э.
	"ru": {lang: "ru", script: "keyboard.cyrillic", face: "АБВ", latin: &latinForCyrillic, rows: []string{
		"1234567890-?",
		"йцукенгшщзхъ",
		"фывапролджэё",
		"ячсмитьбю,.!",
	}},
	// Turkish Q: ı and i are two letters (capitals I and İ).
	"tr": {lang: "tr", caser: unicode.TurkishCase, rows: []string{
		"1234567890-?",
		"qwertyuıopğü",
		"asdfghjklşi,",
		"zxcvbnmöç.'!",
	}},
	// Vietnamese: QWERTY and the vowels with their marks and đ; the
	// five tones (sắc, huyền, hỏi, ngã, nặng) after the digits.
	"vi": {lang: "vi", rows: []string{
		"1234567890\u0301\u0300\u0309\u0303\u0323",
		"qwertyuiopăâ",
		"asdfghjklđêô-",
		"zxcvbnmơư,.?!",
	}},
}

// layoutFor is the keyboard of screen language lang: English (QWERTY)
// for a language without its own.
func layoutFor(lang string) *keyLayout {
	if l, ok := keyLayouts[lang]; ok {
		return l
	}
	return keyLayouts["en"]
}

// upper is r as a capital in the layout's language (r itself if it has
// no capital: ß, digits).
func (l *keyLayout) upper(r rune) rune {
	if l.caser != nil {
		return l.caser.ToUpper(r)
	}
	return unicode.ToUpper(r)
}

// A Vietnamese tone: its mark (combining), the catalog key of its name,
// and a vowel carrying it for the key's face.
type tone struct {
	mark      rune
	key, face string
}

var vietnameseTones = []tone{
	{'\u0301', "keyboard.tone.acute", "á"}, // sắc
	{'\u0300', "keyboard.tone.grave", "à"}, // huyền
	{'\u0309', "keyboard.tone.hook", "ả"},  // hỏi
	{'\u0303', "keyboard.tone.tilde", "ã"}, // ngã
	{'\u0323', "keyboard.tone.dot", "ạ"},   // nặng
}

// toneOf is the tone whose mark r is.
func toneOf(r rune) (tone, bool) {
	for _, t := range vietnameseTones {
		if t.mark == r {
			return t, true
		}
	}
	return tone{}, false
}

func isTone(r rune) bool {
	_, ok := toneOf(r)
	return ok
}

// vietnameseVowels are the vowel letters without tone (after NFD and
// taking the tone mark away, the base letter is one of these).
const vietnameseVowels = "aeiouy"

// withTone puts mark on the last vowel of text's last word, replacing
// the tone it had; the same tone again takes it away (as a phone's
// Vietnamese keyboard does). Text without a vowel in its last word is
// returned as it is. The result is NFC (one rune per letter: "ệ").
func withTone(text string, mark rune) string {
	runes := []rune(norm.NFC.String(text))
	for i := len(runes) - 1; i >= 0; i-- {
		r := runes[i]
		if unicode.IsSpace(r) || unicode.IsPunct(r) {
			break
		}
		d := []rune(norm.NFD.String(string(r)))
		if !strings.ContainsRune(vietnameseVowels, unicode.ToLower(d[0])) {
			continue
		}
		had := false
		kept := d[:1]
		for _, m := range d[1:] {
			if isTone(m) {
				had = had || m == mark
				continue
			}
			kept = append(kept, m)
		}
		if !had {
			kept = append(kept, mark)
		}
		return string(runes[:i]) + norm.NFC.String(string(kept)) + string(runes[i+1:])
	}
	return text
}
