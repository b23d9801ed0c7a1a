package escpos

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/unicode/norm"
)

// CodePage is a single-byte character set the printer prints text in,
// together with the ESC t table number that selects it on the printer.
// Epson numbers the tables 0 (CP437), 2 (CP850), 16 (CP1252), 19 (CP858),
// 46 (WPC1251), 48 (WPC1254) and 52 (WPC1258); clones renumber them, so
// WithTable changes the number. The zero value is
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
	// CP1251 is Windows Cyrillic (Epson's WPC1251): Russian and Ukrainian
	// with і ї є ґ, which CP866 lacks; € at 88.
	CP1251 = CodePage{"cp1251", charmap.Windows1251, 46}
	// CP1254 is Windows Turkish (WPC1254): CP1252 with ğ ı ş İ Ğ Ş.
	CP1254 = CodePage{"cp1254", charmap.Windows1254, 48}
	// CP1258 is Windows Vietnamese (WPC1258): the vowels with their shape
	// (â ê ô ă ơ ư) and đ precomposed, the five tones as combining marks
	// after the letter (see Encode).
	CP1258 = CodePage{"cp1258", charmap.Windows1258, 52}
)

// CodePages lists the supported code pages, default first.
func CodePages() []CodePage {
	return []CodePage{CP858, CP437, CP850, CP1252, CP1251, CP1254, CP1258}
}

// DefaultCodePages is what a printer whose tables follow Epson's numbering
// offers a receipt (see Opts.CodePages): first, then CP1251, CP1254 and
// CP1258 for the terminal's Ukrainian, Russian, Turkish and Vietnamese,
// without repeating first.
func DefaultCodePages(first CodePage) []CodePage {
	first = first.orDefault()
	out := []CodePage{first}
	for _, c := range []CodePage{CP1251, CP1254, CP1258} {
		if c.name != first.name {
			out = append(out, c)
		}
	}
	return out
}

// ParseCodePage returns the code page named name: cp858, cp437, cp850,
// cp1252, cp1251, cp1254 or cp1258 (case does not matter; "pc858", "858",
// "windows-1252" and Epson's "wpc1251" work too), with Epson's table number.
func ParseCodePage(name string) (CodePage, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	for _, p := range []string{"windows-", "wpc", "cp", "pc"} {
		n = strings.TrimPrefix(n, p)
	}
	for _, c := range CodePages() {
		if strings.TrimPrefix(c.name, "cp") == n {
			return c, nil
		}
	}
	return CodePage{}, fmt.Errorf("escpos: unknown code page %q (have cp858, cp437, cp850, cp1252, cp1251, cp1254, cp1258)", name)
}

// ParseCodePageTable is ParseCodePage for "name" or "name:n", n being the
// ESC t number of a printer that does not follow Epson's (0–255).
func ParseCodePageTable(spec string) (CodePage, error) {
	name, table, ok := strings.Cut(spec, ":")
	c, err := ParseCodePage(name)
	if err != nil || !ok {
		return c, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(table))
	if err != nil || n < 0 || n > 255 {
		return CodePage{}, fmt.Errorf("escpos: code page %q: the table number is 0 to 255", spec)
	}
	return c.WithTable(byte(n)), nil
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
	// lost counts the replaced letters (and combining marks): a stand-in
	// for punctuation or a symbol („ → ", € → EUR) says the same, one for
	// a letter (ş → s, ї → ?) does not.
	lost int
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
// character the code page lacks as one letter is written as a letter it has
// followed by combining marks it has, where that is the same text (CP1258:
// ế is ê and the combining acute, ặ is ă and the combining dot below).
// Otherwise it is replaced by a visible stand-in, in this
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
		if bs, ok := c.encodeComposed(r); ok {
			e.Bytes = append(e.Bytes, bs...)
			continue
		}
		replaced(r)
		if unicode.IsLetter(r) || unicode.IsMark(r) {
			e.lost++
		}
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

// encodeComposed writes r as a letter of the code page with some of r's
// marks composed into it, followed by the rest of its marks as combining
// characters of the code page: canonically the same text. It prefers
// composing as many marks as possible (ệ: ê and the dot below rather than
// e, circumflex and dot below, which CP1258 could not write anyway).
func (c CodePage) encodeComposed(r rune) ([]byte, bool) {
	d := []rune(norm.NFD.String(string(r)))
	marks := d[1:]
	// Letters carry at most a few marks; more would not be a letter of a
	// code page, and the subsets below grow as 2^len.
	if len(marks) == 0 || len(marks) > 4 {
		return nil, false
	}
	best, bestComposed := []byte(nil), -1
	for set := 0; set < 1<<len(marks); set++ {
		composed := []rune{d[0]}
		var rest []rune
		for i, m := range marks {
			if set&(1<<i) != 0 {
				composed = append(composed, m)
			} else {
				rest = append(rest, m)
			}
		}
		letter := []rune(norm.NFC.String(string(composed)))
		if len(letter) != 1 {
			continue
		}
		b, ok := c.encodeRune(letter[0])
		if !ok {
			continue
		}
		out := []byte{b}
		for _, m := range rest {
			mb, ok := c.encodeRune(m)
			if !ok {
				out = nil
				break
			}
			out = append(out, mb)
		}
		// Marks of one combining class keep their order: composing a
		// later one into the letter could change the text.
		same := norm.NFC.String(string(letter)+string(rest)) == string(r)
		if out != nil && same && len(composed) > bestComposed {
			best, bestComposed = out, len(composed)
		}
	}
	return best, best != nil
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

// scriptsOf names the Unicode scripts of rs, each once, e.g. "Arabic,Han"
// ("Common" for punctuation, symbols and controls): enough to tell which code page
// is missing, nothing of the text itself.
func scriptsOf(rs []rune) string {
	var names []string
	seen := map[string]bool{}
	for _, r := range rs {
		name := "Common"
		for n, t := range unicode.Scripts {
			if n != "Common" && n != "Inherited" && unicode.Is(t, r) {
				name = n
				break
			}
		}
		if !seen[name] {
			seen[name] = true
			names = append(names, name)
		}
	}
	return strings.Join(names, ",")
}
