package escpossim

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"

	"github.com/quartierhub/quartierhub/drivers/escpos"
)

// decode runs bytes through RealTime and a Decoder, as the device does.
func decode(p []byte) (Transcript, []byte) {
	var t Transcript
	var requests []byte
	var rt RealTime
	d := NewDecoder(nil, func(e Entry) { t = append(t, e) })
	for _, b := range p {
		rt.Feed(b, func(b byte) { d.WriteByte(b) }, func(n byte) { requests = append(requests, n) })
	}
	return t, requests
}

var workedReceipt = []byte{0x1B, 0x40, 0x1B, 0x74, 0x13, 0x1B, 0x61, 0x01, 0x1B, 0x45, 0x01, 0x1D, 0x21, 0x11,
	0x47, 0x72, 0x81, 0xE1, 0x65, 0x0A, 0x1D, 0x21, 0x00, 0x1B, 0x45, 0x00,
	0x1B, 0x61, 0x00, 0x35, 0x2C, 0x30, 0x30, 0x20, 0xD5, 0x0A, 0x1B, 0x64, 0x03, 0x1D, 0x56, 0x42, 0x00}

const workedTranscript = `init
table 19 (cp858)
line centre bold 2x2 "Grüße"
line left "5,00 €"
feed 3
cut partial +0
`

func TestDecodeWorkedReceipt(t *testing.T) {
	got, req := decode(workedReceipt)
	if got.String() != workedTranscript || len(req) != 0 {
		t.Fatalf("transcript:\n%s\nwant:\n%s", got, workedTranscript)
	}
	// The renderer produces exactly these bytes, so the round trip holds.
	r, err := escpos.Render(escpos.Receipt{Blocks: []escpos.Block{
		escpos.Text{Text: "Grüße", Align: escpos.AlignCentre, Bold: true, Width: 2, Height: 2},
		escpos.Text{Text: "5,00 €"}, escpos.Feed{Lines: 3}, escpos.Cut{Partial: true},
	}}, escpos.CP858)
	if err != nil || !bytes.Equal(r.Bytes, workedReceipt) {
		t.Fatalf("Render: % X, %v", r.Bytes, err)
	}
}

func qrExample() []byte {
	b := []byte{0x1D, 0x28, 0x6B, 0x04, 0x00, 0x31, 0x41, 0x32, 0x00,
		0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x43, 0x06,
		0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x45, 0x31,
		0x1D, 0x28, 0x6B, 0x16, 0x00, 0x31, 0x50, 0x30}
	b = append(b, "https://example.com"...)
	return append(b, 0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x51, 0x30)
}

func TestDecodeQRExample(t *testing.T) {
	got, _ := decode(qrExample())
	want := `qr left model 2 module 6 ecc M "https://example.com"` + "\n"
	if got.String() != want {
		t.Fatalf("transcript:\n%s\nwant:\n%s", got, want)
	}
}

func TestDecodeCodeTables(t *testing.T) {
	// The same bytes in each table; printing before any ESC t uses table 0.
	var in []byte
	in = append(in, 0x1B, 0x40, 0x9A, 0xD5, 0x80, 0x0A)
	for _, n := range []byte{0, 2, 16, 19, 99} {
		in = append(in, 0x1B, 0x74, n, 0x9A, 0xD5, 0x80, 0x0A)
	}
	got, _ := decode(in)
	want := `init
line left "ÜÇ"
table 0 (cp437)
line left "ÜÇ"
table 2 (cp850)
line left "ÜıÇ"
table 16 (cp1252)
line left "šÕ€"
table 19 (cp858)
line left "Ü€Ç"
table 99 (unknown)
line left unknown-table 99 "ÜÇ"
`
	// CP437 D5 is ╒, left out above for readability: check it separately.
	want = strings.ReplaceAll(want, `"ÜÇ"`, `"Ü╒Ç"`)
	if got.String() != want {
		t.Fatalf("transcript:\n%s\nwant:\n%s", got, want)
	}
	if got[len(got)-1].CodePage != "" || got[3].CodePage != "cp437" {
		t.Fatalf("line code pages: %+v", got)
	}
}

func TestDecodeClonesTables(t *testing.T) {
	var got Transcript
	d := NewDecoder(map[byte]escpos.CodePage{13: escpos.CP858.WithTable(13)}, func(e Entry) { got = append(got, e) })
	d.Write([]byte{0x1B, 0x74, 0x0D, 0xD5, 0x0A})
	if got.String() != "table 13 (cp858)\nline left \"€\"\n" {
		t.Fatalf("transcript:\n%s", got)
	}
}

func TestDecodeStylesAndOthers(t *testing.T) {
	in := []byte{
		0x1B, 0x21, 0x38, 'a', 0x1B, 0x45, 0x00, 'b', 0x0A, // ESC ! bold 2x2, then bold off mid-line
		0x1B, 0x21, 0x00,
		'x', 0x1B, 0x61, 0x02, 'y', 0x0D, 0x0A, // align mid-line is ignored, CR ignored
		0x1D, 0x21, 0x80, // bad size
		0x1B, 0x2A, 0x00, 0x02, 0x00, 0x0A, 0x0A, // bit image: 2 data bytes that look like LF
		0x1D, 0x6B, 0x04, '1', '2', 0x00, // CODE39 up to NUL
		0x1D, 0x76, 0x30, 0x00, 0x01, 0x00, 0x02, 0x00, 0x1B, 0x40, // raster 1x2: two bytes
		0x1B, 0x70, 0x00, 0x19, 0xFA, // drawer pulse
		0x1B, 0x7E, // unknown
		0x07,                  // control
		'z', 0x1D, 0x56, 0x00, // cut not at line start: ignored
		0x0A, 0x1D, 0x56, 0x31, // partial cut, no feed
		0x1D, 0x28, 0x6B, 0x03, 0x00, 0x31, 0x51, 0x30, // QR print with nothing stored
		0x10, 0x04, 0x05, // DLE EOT with an n RealTime leaves: an ordinary command
	}
	got, req := decode(in)
	want := `line left bold 2x2 mixed "ab"
other ESC a ignored: not at the start of a line [1B 61 02]
line left "xy"
other GS ! with bad size [1D 21 80]
other not interpreted: ESC * (bit image) [1B 2A 00 02 00]
other not interpreted: GS k (barcode) [1D 6B 04]
other not interpreted: GS v (raster bit image) [1D 76 30 00 01 00 02 00]
other not interpreted: ESC p (drawer kick-out pulse) [1B 70 00 19 FA]
other unknown ESC ~ [1B 7E]
other control 07 [07]
other GS V ignored: not at the start of a line [1D 56 00]
line left "z"
cut partial +0
other QR print with nothing stored [1D 28 6B 03 00 31 51 30]
other not interpreted: DLE EOT (real-time status) [10 04 05]
`
	if got.String() != want || len(req) != 0 {
		t.Fatalf("transcript:\n%s\nwant:\n%s", got, want)
	}
}

func TestRealTimeEverywhere(t *testing.T) {
	// Status requests inside text, inside a command's parameters and
	// inside QR data are all answered and taken out.
	in := []byte{'a', 0x10, 0x04, 0x01, 'b', 0x0A}
	in = append(in, 0x1B, 0x10, 0x04, 0x02, 0x64, 0x02)
	qr := qrExample()
	i := bytes.Index(qr, []byte("example"))
	in = append(in, qr[:i]...)
	in = append(in, 0x10, 0x04, 0x04)
	in = append(in, qr[i:]...)
	in = append(in, 0x10, 0x10, 0x04, 0x03, 0x10, 0x04) // a lone DLE, then a request, then half of one
	for cut := 0; cut <= len(in); cut++ {
		var got Transcript
		var req []byte
		var rt RealTime
		d := NewDecoder(nil, func(e Entry) { got = append(got, e) })
		for _, part := range [][]byte{in[:cut], in[cut:]} {
			for _, b := range part {
				rt.Feed(b, func(b byte) { d.WriteByte(b) }, func(n byte) { req = append(req, n) })
			}
		}
		want := "line left \"ab\"\nfeed 2\nqr left model 2 module 6 ecc M \"https://example.com\"\n"
		if got.String() != want || !bytes.Equal(req, []byte{1, 2, 4, 3}) {
			t.Fatalf("cut %d: requests % X, transcript:\n%s", cut, req, got)
		}
		if rt.Held() != 2 || !d.InCommand() {
			t.Fatalf("cut %d: held %d, in command %v", cut, rt.Held(), d.InCommand())
		}
	}
}

func TestDecoderSplitAtEveryPosition(t *testing.T) {
	r, err := escpos.Render(escpos.Receipt{Blocks: []escpos.Block{
		escpos.Text{Text: "Grüße\nzwei", Align: escpos.AlignRight, Bold: true, Width: 3, Height: 2},
		escpos.QR{Data: "https://example.com/ä", ModuleSize: 4, ECC: escpos.ECCQ, Align: escpos.AlignCentre},
		escpos.Text{Text: "5,00 €"}, escpos.Feed{Lines: 2}, escpos.Cut{Extra: 5},
	}}, escpos.CP1252)
	if err != nil {
		t.Fatal(err)
	}
	whole, _ := decode(r.Bytes)
	want := `init
table 16 (cp1252)
line right bold 3x2 "Grüße"
line right bold 3x2 "zwei"
qr centre model 2 module 4 ecc Q "https://example.com/ä"
line left "5,00 €"
feed 2
cut full +5
`
	if whole.String() != want {
		t.Fatalf("transcript:\n%s\nwant:\n%s", whole, want)
	}
	for cut := 0; cut <= len(r.Bytes); cut++ {
		var got Transcript
		d := NewDecoder(nil, func(e Entry) { got = append(got, e) })
		d.Write(r.Bytes[:cut])
		d.Write(r.Bytes[cut:])
		if got.String() != want {
			t.Fatalf("cut %d:\n%s", cut, got)
		}
	}
}

// TestScriptTables: text in the Cyrillic, Turkish and Vietnamese tables
// reads back exactly, from the bytes a printer receives; Vietnamese tones
// arrive as combining bytes after the letter and join it.
func TestScriptTables(t *testing.T) {
	for _, c := range []struct {
		text  string
		table byte
		bytes string // the line as sent, before LF
	}{
		{"Ваш номер", 46, "C2 E0 F8 20 ED EE EC E5 F0"},
		{"Їжак ґ є і", 46, "AF E6 E0 EA 20 B4 20 BA 20 B3"},
		{"Şikâyet ığ İ", 48, "DE 69 6B E2 79 65 74 20 FD F0 20 DD"},
		{"Tiếng Việt", 52, "54 69 EA EC 6E 67 20 56 69 EA F2 74"},
		{"ặ ự Đà", 52, "E3 F2 20 FD F2 20 D0 E0"},
	} {
		in := append([]byte{0x1B, 0x40, 0x1B, 0x74, c.table}, hexBytes(t, c.bytes)...)
		got, _ := decode(append(in, 0x0A))
		lines := got.Of(Line)
		if len(lines) != 1 || lines[0].Text != c.text || lines[0].Table != c.table {
			t.Errorf("%s: got\n%s", c.text, got)
		}
		// The driver sends exactly these bytes for the text.
		r, err := escpos.RenderBest(escpos.Receipt{Blocks: []escpos.Block{escpos.Text{Text: c.text}}}, escpos.DefaultCodePages(escpos.CP858))
		if err != nil {
			t.Fatal(err)
		}
		if want := append(in, 0x0A); !bytes.Equal(r.Bytes, want) || r.Replaced != 0 {
			t.Errorf("%s: rendered % X (%d replaced), want % X", c.text, r.Bytes, r.Replaced, want)
		}
	}
}

func hexBytes(t *testing.T, s string) []byte {
	t.Helper()
	var out []byte
	for _, f := range strings.Fields(s) {
		var b byte
		if _, err := fmt.Sscanf(f, "%02X", &b); err != nil {
			t.Fatalf("hex %q: %v", f, err)
		}
		out = append(out, b)
	}
	return out
}

func FuzzDecoder(f *testing.F) {
	f.Add(workedReceipt)
	f.Add(qrExample())
	f.Add([]byte{0x1D, 0x76, 0x30, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0x10, 0x04, 0x01})
	f.Add([]byte{0x1D, 0x38, 0x4C, 0xFF, 0xFF, 0xFF, 0x7F, 0x0A})
	f.Add([]byte{0x1D, 0x6B, 0x41, 0x03, 'a', 'b', 'c', 0x1B, 0x44, 1, 2, 0})
	f.Add([]byte{0x1B, 0x26, 0x03, 0x41, 0x42, 0x01, 'a', 'b', 'c', 0x02, 'd', 'e', 'f', 'g', 'h', 'i', 'x', 0x0A})
	f.Add([]byte{0x1C, 0x71, 0x02, 0x01, 0x00, 0x01, 0x00, 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 0x00, 0x00, 0x00, 0x00, 'y'})
	f.Add([]byte{0x10, 0x14, 0x08, 0x01, 0x03, 0x14, 0x01, 0x06, 0x02, 0x08, 0x10, 0x04, 0x07, 0x01, 'z', 0x0A})
	// CP1258: "Tiếng" with the tone as a combining byte, then an unknown table.
	f.Add([]byte{0x1B, 0x74, 52, 'T', 'i', 0xEA, 0xEC, 'n', 'g', 0x0A, 0xEC, 0x1B, 0x74, 99, 0xEA, 0x0A})
	f.Fuzz(func(t *testing.T, data []byte) {
		var entries int
		var rt RealTime
		d := NewDecoder(nil, func(e Entry) {
			entries++
			switch e.Kind {
			case Line:
				if len([]rune(e.Text)) > maxLine {
					t.Fatalf("line of %d runes", len([]rune(e.Text)))
				}
			case QR:
				if !bytes.Contains(data, []byte(e.Text)) && !strings.ContainsRune(string(data), 0x10) {
					t.Fatalf("QR payload %q not in the input", e.Text)
				}
			case Other:
				if len(e.Bytes) > keepBytes || e.Text == "" {
					t.Fatalf("other entry %+v", e)
				}
			}
		})
		requests := 0
		for _, b := range data {
			rt.Feed(b, func(b byte) { d.WriteByte(b) }, func(n byte) {
				if n < 1 || n > 4 {
					t.Fatalf("request %d", n)
				}
				requests++
			})
			if len(d.data) > maxData || len(d.cmd) > maxCmd || rt.Held() > 2 {
				t.Fatalf("buffers: data %d cmd %d held %d", len(d.data), len(d.cmd), rt.Held())
			}
		}
		if entries > len(data) || 3*requests > len(data) {
			t.Fatalf("%d entries, %d requests from %d bytes", entries, requests, len(data))
		}
	})
}

// FuzzRenderDecode checks the round trip: whatever text and QR data a
// receipt holds, the simulator reads back what the code page can show.
func FuzzRenderDecode(f *testing.F) {
	f.Add("Grüße\n5,00 €", "https://example.com", uint8(0), uint8(2))
	f.Add("a\x1b@\x10\x04\x01", "x", uint8(1), uint8(1))
	f.Add("日本 „x“", "ä", uint8(3), uint8(8))
	f.Add("Ваш номер: Їжак, ґ є і", "ї", uint8(4), uint8(1))
	f.Add("Şikâyet ığ İ", "ş", uint8(5), uint8(2))
	f.Add("Tiếng Việt: ặ ự Đ\u0301", "ế", uint8(6), uint8(3))
	f.Fuzz(func(t *testing.T, text, qr string, page, size uint8) {
		pages := escpos.CodePages()
		cp := pages[int(page)%len(pages)]
		w := int(size%8) + 1
		blocks := []escpos.Block{escpos.Text{Text: text, Width: w, Height: 9 - w, Bold: size&8 != 0}}
		if qr != "" && !strings.ContainsRune(qr, 0x10) && len(qr) <= 2331 {
			blocks = append(blocks, escpos.QR{Data: qr})
		}
		blocks = append(blocks, escpos.Cut{Partial: true})
		r, err := escpos.Render(escpos.Receipt{Blocks: blocks}, cp)
		if err != nil {
			t.Fatal(err)
		}
		got, req := decode(r.Bytes)
		if len(req) != 0 {
			t.Fatalf("rendered receipt holds status requests: % X", r.Bytes)
		}
		var wantLines []string
		lf := strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(text)
		for _, l := range strings.Split(lf, "\n") {
			e := cp.Encode(l)
			var rs []rune
			for _, b := range e.Bytes {
				rs = append(rs, cp.DecodeByte(b))
			}
			// The decoder wraps a line at maxLine characters (its memory
			// bound); an LF right after a wrap ends that same line.
			// Each line reads composed (CP1258's tones join their letters).
			for len(rs) > maxLine {
				wantLines = append(wantLines, norm.NFC.String(string(rs[:maxLine])))
				rs = rs[maxLine:]
			}
			wantLines = append(wantLines, norm.NFC.String(string(rs)))
		}
		if fmt.Sprint(got.Lines()) != fmt.Sprint(wantLines) {
			t.Fatalf("lines %q, want %q", got.Lines(), wantLines)
		}
		for _, l := range got.Of(Line) {
			if l.Width != w || l.Height != 9-w || l.Mixed {
				t.Fatalf("line style %+v", l)
			}
		}
		if qrs := got.Of(QR); len(blocks) == 3 && (len(qrs) != 1 || qrs[0].Text != qr) {
			t.Fatalf("qr %+v, want %q", qrs, qr)
		}
		if got.Count(Cut) != 1 || got.Count(Other) != 0 {
			t.Fatalf("transcript:\n%s", got)
		}
	})
}
