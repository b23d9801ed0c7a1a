package ui

import (
	"testing"

	"golang.org/x/text/unicode/norm"
)

// TestWithTone: a tone goes on the last vowel of the last word, NFC.
func TestWithTone(t *testing.T) {
	const (
		sac, huyen, hoi, nga, nang = '\u0301', '\u0300', '\u0309', '\u0303', '\u0323'
	)
	for _, c := range []struct {
		text string
		mark rune
		want string
	}{
		{"Viêt", nang, "Việt"},
		{"Viê", nang, "Việ"},
		{"ngươi", huyen, "ngươì"},
		{"ngươì", hoi, "ngươỉ"},   // another tone replaces it
		{"ngươì", huyen, "ngươi"}, // the same tone takes it away
		{"Đăng", sac, "Đắng"},
		{"ĐĂNG", nga, "ĐẴNG"},
		{"ơ", nang, "ợ"},
		{"ư", sac, "ứ"},
		{"Việt ", sac, "Việt "},     // no vowel in the last word (after a space)
		{"Việt nh", sac, "Việt nh"}, // none before the word's start either
		{"", sac, ""},
		{"xyz", hoi, "xỷz"},
	} {
		got := withTone(c.text, c.mark)
		if got != c.want || !norm.NFC.IsNormalString(got) {
			t.Errorf("withTone(%q, %U) = %q, want %q", c.text, c.mark, got, c.want)
		}
	}
}

// TestLayouts: a script's layout and its Latin one have as many keys
// (the focus stays on the switch key), no key twice, at most 15 keys a
// row (at least 56 px wide each at 1024 px).
func TestLayouts(t *testing.T) {
	count := func(l *keyLayout) int {
		n := 0
		for _, r := range l.rows {
			n += len([]rune(r))
		}
		return n
	}
	for lang, l := range keyLayouts {
		seen := map[rune]bool{}
		for _, row := range l.rows {
			if n := len([]rune(row)); n > 15 {
				t.Errorf("%s: a row of %d keys", lang, n)
			}
			for _, r := range row {
				if seen[r] {
					t.Errorf("%s: %q twice", lang, r)
				}
				seen[r] = true
			}
		}
		if l.latin != nil && (count(l.latin) != count(l) || l.script == "") {
			t.Errorf("%s: %d keys, its Latin layout %d, switch back %q", lang, count(l), count(l.latin), l.script)
		}
	}
}
