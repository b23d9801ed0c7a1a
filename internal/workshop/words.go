package workshop

import (
	"strings"
	"unicode"
)

// wordList holds ideas that contain one of the moderator's words: whole
// words, case-insensitive, in any script. An entry of several words
// matches them in a row ("dumme kuh"). Texts are compared as written (no
// Unicode normalization: the standard library has none), which is how
// keyboards and phones send them in practice.
type wordList struct {
	byFirst map[string][][]string
}

func newWordList(words []string) wordList {
	wl := wordList{byFirst: make(map[string][][]string, len(words))}
	for _, w := range words {
		if toks := wordTokens(w); len(toks) > 0 {
			wl.byFirst[toks[0]] = append(wl.byFirst[toks[0]], toks)
		}
	}
	return wl
}

// holds reports whether text contains one of the list's entries.
func (wl wordList) holds(text string) bool {
	if len(wl.byFirst) == 0 {
		return false
	}
	toks := wordTokens(text)
	for i, t := range toks {
		for _, phrase := range wl.byFirst[t] {
			if i+len(phrase) <= len(toks) && equalTokens(toks[i:i+len(phrase)], phrase) {
				return true
			}
		}
	}
	return false
}

func equalTokens(a, b []string) bool {
	for i := range b {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// wordTokens splits s into lower-cased words: runs of letters, digits and
// combining marks.
func wordTokens(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.IsMark(r)
	})
}
