package a11y

import (
	"strings"
	"unicode"
)

// Spell is a code (a reference number, "K7EX-5WEZ") as it is to be
// said: character by character, since a speech engine reads a group of
// letters as a word ("K7EX" as "K sieben ex"). Letters and digits are
// separated by spaces, each read alone ("K 7 E X"); any other
// character is said by its name, from name (the hyphen: "Bindestrich"),
// between commas, which make the engine pause: "K 7 E X, Bindestrich,
// 5 W E Z". A character whose name is "" is left out.
func Spell(code string, name func(rune) string) string {
	var groups []string
	var group []string
	flush := func() {
		if len(group) > 0 {
			groups = append(groups, strings.Join(group, " "))
			group = nil
		}
	}
	for _, r := range code {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			group = append(group, string(unicode.ToUpper(r)))
		case unicode.IsSpace(r):
			flush()
		default:
			flush()
			if n := name(r); n != "" {
				groups = append(groups, n)
			}
		}
	}
	flush()
	return strings.Join(groups, ", ")
}
