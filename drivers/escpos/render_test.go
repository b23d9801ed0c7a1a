package escpos

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"
)

func hexBytes(t *testing.T, s string) []byte {
	t.Helper()
	var out []byte
	for _, f := range strings.Fields(s) {
		var b byte
		for _, c := range f {
			b <<= 4
			switch {
			case c >= '0' && c <= '9':
				b |= byte(c - '0')
			case c >= 'A' && c <= 'F':
				b |= byte(c-'A') + 10
			default:
				t.Fatalf("bad hex %q", f)
			}
		}
		out = append(out, b)
	}
	return out
}

// The worked receipt from docs/protocols.md.
const workedReceipt = `1B 40 1B 74 13 1B 61 01 1B 45 01 1D 21 11 47 72 81 E1 65 0A 1D 21 00 1B 45 00
1B 61 00 35 2C 30 30 20 D5 0A 1B 64 03 1D 56 42 00`

func workedExample() Receipt {
	return Receipt{Blocks: []Block{
		Text{Text: "Grüße", Align: AlignCentre, Bold: true, Width: 2, Height: 2},
		Text{Text: "5,00 €"},
		Feed{Lines: 3},
		Cut{Partial: true},
	}}
}

func TestRenderWorkedReceipt(t *testing.T) {
	got, err := Render(workedExample(), CodePage{})
	if err != nil {
		t.Fatal(err)
	}
	if want := hexBytes(t, workedReceipt); !bytes.Equal(got.Bytes, want) {
		t.Fatalf("Render =\n% X\nwant\n% X", got.Bytes, want)
	}
	if got.Replaced != 0 || got.CodePage != CP858 {
		t.Fatalf("Rendered = %s", got)
	}
}

func TestRenderQRExample(t *testing.T) {
	got, err := Render(Receipt{Blocks: []Block{QR{Data: "https://example.com"}}}, CP858)
	if err != nil {
		t.Fatal(err)
	}
	want := hexBytes(t, `1B 40 1B 74 13
		1D 28 6B 04 00 31 41 32 00
		1D 28 6B 03 00 31 43 06
		1D 28 6B 03 00 31 45 31
		1D 28 6B 16 00 31 50 30`)
	want = append(want, "https://example.com"...)
	want = append(want, hexBytes(t, "1D 28 6B 03 00 31 51 30")...)
	if !bytes.Equal(got.Bytes, want) {
		t.Fatalf("Render =\n% X\nwant\n% X", got.Bytes, want)
	}
}

func TestRenderQRSettings(t *testing.T) {
	data := strings.Repeat("x", 300)
	got, err := Render(Receipt{Blocks: []Block{QR{Data: data, ModuleSize: 3, ECC: ECCH, Align: AlignCentre}}}, CP858)
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range [][]byte{
		{0x1B, 0x61, 0x01},
		{0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x43, 0x03},
		{0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x45, 0x33},
		{0x1D, 0x28, 0x6B, 0x2F, 0x01, 0x31, 0x50, 0x30}, // 303 = 0x012F
	} {
		if !bytes.Contains(got.Bytes, part) {
			t.Errorf("missing % X in % X", part, got.Bytes)
		}
	}
}

func TestRenderStyles(t *testing.T) {
	cases := []struct {
		name   string
		blocks []Block
		want   string // after 1B 40 1B 74 13
	}{
		{"plain", []Block{Text{Text: "a"}}, "61 0A"},
		{"empty line", []Block{Text{}}, "0A"},
		{"right 8x1", []Block{Text{Text: "a", Align: AlignRight, Width: 8}}, "1B 61 02 1D 21 70 61 0A"},
		{"1x8", []Block{Text{Text: "a", Height: 8}}, "1D 21 07 61 0A"},
		{"same style twice", []Block{Text{Text: "a", Bold: true}, Text{Text: "b", Bold: true}}, "1B 45 01 61 0A 62 0A"},
		{"two lines in one block", []Block{Text{Text: "a\r\nb\rc", Align: AlignCentre}}, "1B 61 01 61 0A 62 0A 63 0A"},
		{"size change keeps bold", []Block{Text{Text: "a", Bold: true, Width: 2}, Text{Text: "b", Bold: true, Width: 3, Height: 3}},
			"1B 45 01 1D 21 10 61 0A 1D 21 22 62 0A"},
		{"feed and full cut", []Block{Feed{}, Cut{Extra: 0x20}}, "1B 64 00 1D 56 41 20"},
	}
	for _, c := range cases {
		got, err := Render(Receipt{Blocks: c.blocks}, CP858)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		want := append(hexBytes(t, "1B 40 1B 74 13"), hexBytes(t, c.want)...)
		if !bytes.Equal(got.Bytes, want) {
			t.Errorf("%s: got % X, want % X", c.name, got.Bytes, want)
		}
	}
}

func TestRenderRejectsInvalid(t *testing.T) {
	for name, b := range map[string]Block{
		"width 9":       Text{Text: "a", Width: 9},
		"height -1":     Text{Text: "a", Height: -1},
		"align 3":       Text{Text: "a", Align: 3},
		"empty qr":      QR{},
		"qr too long":   QR{Data: strings.Repeat("x", 2332)},
		"qr with DLE":   QR{Data: "a\x10\x04\x01"},
		"module 17":     QR{Data: "a", ModuleSize: 17},
		"ecc 9":         QR{Data: "a", ECC: 9},
		"feed 256":      Feed{Lines: 256},
		"cut extra 300": Cut{Extra: 300},
		"nil":           nil,
	} {
		_, err := Render(Receipt{Blocks: []Block{Text{Text: "ok"}, b}}, CP858)
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		if b != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v is not ErrInvalid", name, err)
		}
		if !strings.HasPrefix(err.Error(), "escpos: block 2") {
			t.Errorf("%s: error %q does not name the block", name, err)
		}
	}
	if _, err := Render(Receipt{Blocks: []Block{QR{Data: strings.Repeat("x", 2953), ECC: ECCL}}}, CP858); err != nil {
		t.Errorf("largest QR at L: %v", err)
	}
}

func TestGermanAndEuroPerCodePage(t *testing.T) {
	const german = "ÄÖÜäöüß"
	cases := []struct {
		cp       CodePage
		german   string
		euro     string
		replaced int
	}{
		{CP437, "8E 99 9A 84 94 81 E1", "45 55 52", 1},
		{CP850, "8E 99 9A 84 94 81 E1", "45 55 52", 1},
		{CP858, "8E 99 9A 84 94 81 E1", "D5", 0},
		{CP1252, "C4 D6 DC E4 F6 FC DF", "80", 0},
	}
	for _, c := range cases {
		e := c.cp.Encode(german + "€")
		want := append(hexBytes(t, c.german), hexBytes(t, c.euro)...)
		if !bytes.Equal(e.Bytes, want) {
			t.Errorf("%s: % X, want % X", c.cp, e.Bytes, want)
		}
		if e.Replaced != c.replaced {
			t.Errorf("%s: replaced %d, want %d", c.cp, e.Replaced, c.replaced)
		}
		if c.replaced > 0 && string(e.Unmapped) != "€" {
			t.Errorf("%s: unmapped %q", c.cp, string(e.Unmapped))
		}
		// And back, as the printer reads it.
		var back []rune
		for _, b := range e.Bytes {
			back = append(back, c.cp.DecodeByte(b))
		}
		if wantText := german + map[bool]string{true: "EUR", false: "€"}[c.replaced > 0]; string(back) != wantText {
			t.Errorf("%s: decodes to %q, want %q", c.cp, string(back), wantText)
		}
	}
}

func TestFallbacksAreVisibleAndCounted(t *testing.T) {
	cases := []struct {
		cp       CodePage
		in, out  string
		replaced int
		unmapped string
	}{
		{CP858, "„Hallo“ – Straße", `"Hallo" - Straße`, 3, "„“–"},
		{CP858, "Erdős Łódź", "Erdos Lódz", 3, "őŁź"},
		{CP858, "日本", "??", 2, "日本"},
		{CP858, "a\tb\x1b@c\x10\x04\x01", "a b?@c???", 5, "\t\x1b\x10\x04\x01"},
		{CP437, "café e\u0301", "café é", 0, ""}, // combining accent composed first
		{CP1252, "Ő", "O", 1, "Ő"},
		{CP858, "\u0085\u00a0x\uFFFD", "?\u00a0x?", 2, "\u0085\uFFFD"}, // CP858 has NBSP (FF)
		{CP437, "\u00a0\u2009", "\u00a0 ", 1, "\u2009"},
	}
	for _, c := range cases {
		e := c.cp.Encode(c.in)
		var got []rune
		for _, b := range e.Bytes {
			if b < 0x20 || b == 0x7F {
				t.Fatalf("%q: control byte %02X in output", c.in, b)
			}
			got = append(got, c.cp.DecodeByte(b))
		}
		if string(got) != c.out || e.Replaced != c.replaced || string(e.Unmapped) != c.unmapped {
			t.Errorf("%s %q: %q replaced %d %q, want %q %d %q", c.cp, c.in, string(got), e.Replaced, string(e.Unmapped), c.out, c.replaced, c.unmapped)
		}
	}
}

func TestRenderCountsReplacementsAcrossBlocks(t *testing.T) {
	r := Receipt{Blocks: []Block{Text{Text: "5 €"}, Text{Text: "€ ½ 日"}}}
	got, err := Render(r, CP437)
	if err != nil {
		t.Fatal(err)
	}
	// ½ is in CP437 (AB); € twice and 日 are not.
	if got.Replaced != 3 || string(got.Unmapped) != "€日" {
		t.Fatalf("replaced %d %q", got.Replaced, string(got.Unmapped))
	}
	if !strings.Contains(got.String(), "3 characters replaced") {
		t.Fatalf("String() = %q", got.String())
	}
}

func TestCodePageTable(t *testing.T) {
	for name, want := range map[string]CodePage{"cp858": CP858, "CP437": CP437, "pc850": CP850, "windows-1252": CP1252, "1252": CP1252} {
		cp, err := ParseCodePage(name)
		if err != nil || cp != want {
			t.Errorf("ParseCodePage(%q) = %v, %v", name, cp, err)
		}
	}
	if _, err := ParseCodePage("cp866"); err == nil { // CP866 lacks і and ґ
		t.Error("cp866 accepted")
	}
	clone := CP858.WithTable(13)
	got, err := Render(Receipt{Blocks: []Block{Text{Text: "€"}}}, clone)
	if err != nil {
		t.Fatal(err)
	}
	if want := hexBytes(t, "1B 40 1B 74 0D D5 0A"); !bytes.Equal(got.Bytes, want) {
		t.Fatalf("clone table: % X, want % X", got.Bytes, want)
	}
	if CP858.Table() != 19 || CP437.Table() != 0 || CP850.Table() != 2 || CP1252.Table() != 16 ||
		CP1251.Table() != 46 || CP1254.Table() != 48 || CP1258.Table() != 52 {
		t.Fatal("Epson table numbers changed")
	}
	for spec, want := range map[string]CodePage{"wpc1251": CP1251, "windows-1254": CP1254, "CP1258": CP1258, "cp1251:17": CP1251.WithTable(17), "858: 13": CP858.WithTable(13)} {
		cp, err := ParseCodePageTable(spec)
		if err != nil || cp != want {
			t.Errorf("ParseCodePageTable(%q) = %v, %v", spec, cp, err)
		}
	}
	for _, spec := range []string{"cp1251:256", "cp1251:-1", "cp1251:x", "cp866:17", ""} {
		if cp, err := ParseCodePageTable(spec); err == nil {
			t.Errorf("ParseCodePageTable(%q) = %v", spec, cp)
		}
	}
	if (CodePage{}).String() != "no code page" || clone.String() != "cp858 (table 13)" {
		t.Fatalf("String: %q %q", CodePage{}, clone)
	}
}

func TestBreaksAreCommandBoundaries(t *testing.T) {
	r := workedExample()
	r.Blocks = append([]Block{QR{Data: "https://example.com"}}, r.Blocks...)
	got, err := Render(r, CP858)
	if err != nil {
		t.Fatal(err)
	}
	// Every break must be followed by the start of a command or text, and
	// the last one must be the end.
	if got.breaks[len(got.breaks)-1] != len(got.Bytes) {
		t.Fatal("last break is not the end")
	}
	prev := 0
	for _, b := range got.breaks {
		if b <= prev && b != 0 {
			t.Fatalf("breaks not increasing: %v", got.breaks)
		}
		prev = b
	}
	// The QR store command must not contain a break.
	store := bytes.Index(got.Bytes, []byte{0x31, 0x50, 0x30})
	for _, b := range got.breaks {
		if b > store && b < store+3+len("https://example.com") {
			t.Fatalf("break %d inside the QR data", b)
		}
	}
}

// TestVietnameseInCP1258: CP1258 has the vowels with their shape but not
// their tones: a letter is sent as the shaped vowel and a combining tone,
// which reads back as the same text.
func TestVietnameseInCP1258(t *testing.T) {
	for text, want := range map[string]string{
		"Tiếng Việt": "54 69 EA EC 6E 67 20 56 69 EA F2 74",
		"ặ ự ở ỹ":    "E3 F2 20 FD F2 20 F5 D2 20 79 DE",
		"Đường đi":   "D0 FD F5 CC 6E 67 20 F0 69",
		"é ấ":        "E9 20 E2 EC", // é is in CP1258 whole
	} {
		e := CP1258.Encode(text)
		if !bytes.Equal(e.Bytes, hexBytes(t, want)) || e.Replaced != 0 {
			t.Errorf("%q: % X (%d replaced), want %s", text, e.Bytes, e.Replaced, want)
		}
		var back []rune
		for _, b := range e.Bytes {
			back = append(back, CP1258.DecodeByte(b))
		}
		if norm.NFC.String(string(back)) != text {
			t.Errorf("%q reads back as %q", text, string(back))
		}
	}
	// Other pages have no combining marks: ế loses its marks there.
	if e := CP858.Encode("ế"); string(e.Bytes) != "e" || e.Replaced != 1 {
		t.Errorf("cp858 ế: %q, %d replaced", e.Bytes, e.Replaced)
	}
}

// TestRenderBestChoosesPerReceipt: each receipt goes out in the first code
// page that has all its letters; punctuation stand-ins do not move a German
// receipt off the first page; a receipt no page has whole takes the page
// that loses the fewest letters.
func TestRenderBestChoosesPerReceipt(t *testing.T) {
	pages := DefaultCodePages(CP858)
	if fmt.Sprint(pages) != "[cp858 (table 19) cp1251 (table 46) cp1254 (table 48) cp1258 (table 52)]" {
		t.Fatalf("default pages %v", pages)
	}
	if got := DefaultCodePages(CP1251); fmt.Sprint(got) != "[cp1251 (table 46) cp1254 (table 48) cp1258 (table 52)]" {
		t.Fatalf("pages from cp1251: %v", got)
	}
	for _, c := range []struct {
		text     string
		page     CodePage
		replaced int
	}{
		{"Grüße, 5,00 € – „ok“", CP858, 3},
		{"Ваш номер: Їжак", CP1251, 0},
		{"Şikâyet ığ İ", CP1254, 0},
		{"Tiếng Việt", CP1258, 0},
		{"Grüße Їжак", CP1251, 2}, // ü → u and ß → ss in CP1251; four letters lost in CP858
		{"مرحبا", CP858, 5},       // no page: the first
		{"a\tb", CP858, 1},        // a tab is replaced everywhere
	} {
		r := Receipt{Blocks: []Block{Text{Text: c.text}, Cut{}}}
		got, err := RenderBest(r, pages)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := Render(r, c.page)
		if got.CodePage != c.page || !bytes.Equal(got.Bytes, want.Bytes) || got.Replaced != c.replaced {
			t.Errorf("%q: %s, want %s with %d replaced", c.text, got, c.page, c.replaced)
		}
	}
	// Without pages: CP858, as Render.
	got, err := RenderBest(workedExample(), nil)
	want, _ := Render(workedExample(), CP858)
	if err != nil || !bytes.Equal(got.Bytes, want.Bytes) {
		t.Fatalf("no pages: %s, %v", got, err)
	}
	if _, err := RenderBest(Receipt{Blocks: []Block{Feed{Lines: 300}}}, pages); !errors.Is(err, ErrInvalid) {
		t.Fatalf("invalid receipt: %v", err)
	}
}

func FuzzEncode(f *testing.F) {
	f.Add("Grüße 5,00 € „x“ Łódź 日本\t\x1b@\x10\x04\x01", uint8(0))
	f.Add("e\u0301\u0085\uFFFD", uint8(1))
	f.Add("Tiếng Việt ặ ự ǘ ḗ", uint8(6))
	f.Add("Ваш номер Їжак", uint8(4))
	f.Fuzz(func(t *testing.T, s string, page uint8) {
		cp := CodePages()[int(page)%len(CodePages())]
		e := cp.Encode(s)
		for _, b := range e.Bytes {
			if b < 0x20 || b == 0x7F {
				t.Fatalf("control byte %02X from %q", b, s)
			}
		}
		if len(e.Unmapped) > e.Replaced || (e.Replaced > 0) != (len(e.Unmapped) > 0) {
			t.Fatalf("replaced %d, unmapped %q", e.Replaced, string(e.Unmapped))
		}
		if e.Replaced == 0 {
			// Nothing replaced: the bytes read back as the (composed) input.
			var back []rune
			for _, b := range e.Bytes {
				back = append(back, cp.DecodeByte(b))
			}
			if norm.NFC.String(string(back)) != norm.NFC.String(s) {
				t.Fatalf("%q reads back as %q", s, string(back))
			}
		}
	})
}
