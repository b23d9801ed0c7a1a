package escpos

import (
	"fmt"
	"strings"
	"unicode"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/unicode/norm"
)

// CodePage is a single-byte character set the printer prints text in,
// together with the ESC t table number that selects it on the printer.
// Epson numbers the tables 0 (CP437), 2 (CP850), 16 (CP1252) and 19 (CP858);
// clones renumber them, so WithTable changes the number. The zero value is
// not a code page; Opts treat it as CP858.
type CodePage struct {
	name  string
	cm    *charmap.Charmap
	table byte
}

// The supported code pages with Epson's table numbers (docs/protocols.md).
var (
	// CP858 is CP850 with € at D5: the default, since receipts need € and
	// the German letters.
	CP858 = CodePage{"cp858", charmap.CodePage858, 19}
	// CP437 is the original IBM PC set, every printer's power-on table. No €.
	CP437 = CodePage{"cp437", charmap.CodePage437, 0}
	// CP850 is the Western European DOS set. No €.
	CP850 = CodePage{"cp850", charmap.CodePage850, 2}
	// CP1252 is Windows Western European, € at 80.
	CP1252 = CodePage{"cp1252", charmap.Windows1252, 16}
)

// CodePages lists the supported code pages, default first.
func CodePages() []CodePage { return []CodePage{CP858, CP437, CP850, CP1252} }

// ParseCodePage returns the code page named name: cp858, cp437, cp850 or
// cp1252 (case does not matter; "pc858", "858" and "windows-1252" work too),
// with Epson's table number.
func ParseCodePage(name string) (CodePage, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	n = strings.TrimPrefix(strings.TrimPrefix(strings.TrimPrefix(n, "cp"), "pc"), "windows-")
	for _, c := range CodePages() {
		if strings.TrimPrefix(c.name, "cp") == n {
			return c, nil
		}
	}
	return CodePage{}, fmt.Errorf("escpos: unknown code page %q (have cp858, cp437, cp850, cp1252)", name)
}

// Name is the code page's name, e.g. "cp858"; "" for the zero value.
func (c CodePage) Name() string { return c.name }

// Table is the ESC t number that selects the code page.
func (c CodePage) Table() byte { return c.table }

// WithTable returns the code page selected by ESC t n instead of Epson's
// number, for clones that number their tables differently.
func (c CodePage) WithTable(n byte) CodePage {
	c.table = n
	return c
}

// IsZero reports whether c is the zero value (no code page).
func (c CodePage) IsZero() bool { return c.cm == nil }

func (c CodePage) String() string {
	if c.IsZero() {
		return "no code page"
	}
	return fmt.Sprintf("%s (table %d)", c.name, c.table)
}

// orDefault returns CP858 for the zero value.
func (c CodePage) orDefault() CodePage {
	if c.IsZero() {
		return CP858
	}
	return c
}

// DecodeByte returns the character byte b prints as. Bytes below 0x20 and
// 0x7F are control codes, returned as they are.
func (c CodePage) DecodeByte(b byte) rune {
	c = c.orDefault()
	if b < 0x20 || b == 0x7F {
		return rune(b)
	}
	return c.cm.DecodeByte(b)
}

// Encoded is text converted to a code page.
type Encoded struct {
	Bytes []byte
	// Replaced counts characters printed differently from the input: not in
	// the code page, or control characters.
	Replaced int
	// Unmapped lists each replaced character once, in order of first
	// appearance.
	Unmapped []rune
}

// transliterations are visible stand-ins, in ASCII so that every code page
// has them, for characters that some code pages lack.
var transliterations = map[rune]string{
	'€': "EUR", '£': "GBP", '¥': "JPY",
	'‘': "'", '’': "'", '‚': "'", '‹': "<", '›': ">", '′': "'",
	'“': `"`, '”': `"`, '„': `"`, '«': "<<", '»': ">>", '″': `"`,
	'–': "-", '—': "-", '‐': "-", '‑': "-", '−': "-",
	'…': "...", '•': "*", '·': ".", '×': "x", '÷': "/",
	'\u00A0': " ", '\u202F': " ", '\u2009': " ",
	'ß': "ss", 'ẞ': "SS", 'Æ': "AE", 'æ': "ae", 'Œ': "OE", 'œ': "oe",
	'Ø': "O", 'ø': "o", 'Ł': "L", 'ł': "l", 'Đ': "D", 'đ': "d",
	'™': "(TM)", '©': "(C)", '®': "(R)", '°': "o",
}

// Encode converts one line of text (no newlines) to the code page. A
// character the code page lacks is replaced by a visible stand-in, in this
// order: its transliteration (€ → "EUR", „ → ", ß → "ss", Ø → "O"), its
// letter without accents (ő → o, Ș → S), or '?'. Control characters become
// '?' (a tab becomes a space), so text can never smuggle a command to the
// printer. Every replacement is counted.
func (c CodePage) Encode(line string) Encoded {
	c = c.orDefault()
	var e Encoded
	seen := map[rune]bool{}
	replaced := func(r rune) {
		e.Replaced++
		if !seen[r] {
			seen[r] = true
			e.Unmapped = append(e.Unmapped, r)
		}
	}
	for _, r := range norm.NFC.String(line) {
		if r == '\t' {
			e.Bytes = append(e.Bytes, ' ')
			replaced(r)
			continue
		}
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			e.Bytes = append(e.Bytes, '?')
			replaced(r)
			continue
		}
		if b, ok := c.encodeRune(r); ok {
			e.Bytes = append(e.Bytes, b)
			continue
		}
		replaced(r)
		if s, ok := c.fallback(r); ok {
			e.Bytes = append(e.Bytes, s...)
		} else {
			e.Bytes = append(e.Bytes, '?')
		}
	}
	return e
}

// encodeRune maps r to a printable byte of the code page.
func (c CodePage) encodeRune(r rune) (byte, bool) {
	b, ok := c.cm.EncodeRune(r)
	if !ok || b < 0x20 || b == 0x7F {
		return 0, false
	}
	return b, true
}

// fallback returns a stand-in for r made of characters the code page has.
func (c CodePage) fallback(r rune) ([]byte, bool) {
	if s, ok := transliterations[r]; ok {
		return []byte(s), true
	}
	// A letter with accents the code page lacks: keep the base letter if
	// the code page has it (NFD splits "ő" into "o" + combining marks).
	d := []rune(norm.NFD.String(string(r)))
	if len(d) < 2 {
		return nil, false
	}
	for _, m := range d[1:] {
		if !unicode.Is(unicode.Mn, m) {
			return nil, false
		}
	}
	if b, ok := c.encodeRune(d[0]); ok {
		return []byte{b}, true
	}
	return nil, false
}
