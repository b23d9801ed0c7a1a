package escpossim

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// libraryCommands are commands as ESC/POS client libraries send them
// (python-escpos's constants, escpos-php's Printer, Epson's examples),
// with parameters chosen printable where the command allows, so that a
// parameter the decoder failed to read would show up as text.
var libraryCommands = []struct {
	name string
	b    []byte
}{
	{"ESC @ initialize", []byte{0x1B, 0x40}},
	{"ESC t 15 (a table the simulator does not know)", []byte{0x1B, 0x74, 0x0F}},
	{"ESC t 16", []byte{0x1B, 0x74, 0x10}},
	{"ESC E bold", []byte{0x1B, 0x45, 0x01}},
	{"ESC ! double height", []byte{0x1B, 0x21, 0x10}},
	{"ESC a centre", []byte{0x1B, 0x61, 0x31}},
	{"ESC d feed", []byte{0x1B, 0x64, 0x02}},
	{"GS ! size", []byte{0x1D, 0x21, 0x11}},
	{"GS V full cut", []byte{0x1D, 0x56, 0x00}},
	{"GS V feed and cut", []byte{0x1D, 0x56, 0x41, 0x41}},
	{"ESC - underline", []byte{0x1B, 0x2D, 0x31}},
	{"ESC G double-strike", []byte{0x1B, 0x47, 0x41}},
	{"ESC M font B", []byte{0x1B, 0x4D, 0x31}},
	{"ESC R Germany", []byte{0x1B, 0x52, 0x02}},
	{"ESC J feed dots", []byte{0x1B, 0x4A, 0x41}},
	{"ESC K slip eject", []byte{0x1B, 0x4B, 0xC0}},
	{"ESC e reverse feed", []byte{0x1B, 0x65, 0x41}},
	{"ESC 2", []byte{0x1B, 0x32}},
	{"ESC 3 spacing", []byte{0x1B, 0x33, 0x41}},
	{"ESC A spacing /60", []byte{0x1B, 0x41, 0x41}},
	{"ESC + spacing /360", []byte{0x1B, 0x2B, 0x41}},
	{"ESC SP", []byte{0x1B, 0x20, 0x41}},
	{"ESC $ position", []byte{0x1B, 0x24, 0x41, 0x42}},
	{"ESC \\ relative position", []byte{0x1B, 0x5C, 0x41, 0x42}},
	{"ESC { upside down", []byte{0x1B, 0x7B, 0x01}},
	{"ESC V rotation", []byte{0x1B, 0x56, 0x31}},
	{"ESC r red", []byte{0x1B, 0x72, 0x31}},
	{"ESC p drawer pin 2 (python-escpos CD_KICK_2)", []byte{0x1B, 0x70, 0x00, 0x32, 0x32}},
	{"ESC c 5 panel buttons off", []byte{0x1B, 0x63, 0x35, 0x41}},
	{"ESC c 0 roll paper", []byte{0x1B, 0x63, 0x30, 0x01}},
	{"ESC = printer select", []byte{0x1B, 0x3D, 0x41}},
	{"ESC % user-defined set", []byte{0x1B, 0x25, 0x41}},
	{"ESC ? cancel user-defined", []byte{0x1B, 0x3F, 0x41}},
	{"ESC i", []byte{0x1B, 0x69}},
	{"ESC m", []byte{0x1B, 0x6D}},
	{"ESC U", []byte{0x1B, 0x55, 0x41}},
	{"ESC L", []byte{0x1B, 0x4C}},
	{"ESC S", []byte{0x1B, 0x53}},
	{"ESC T", []byte{0x1B, 0x54, 0x41}},
	{"ESC W", []byte{0x1B, 0x57, 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H'}},
	{"ESC <", []byte{0x1B, 0x3C}},
	{"ESC f slip wait", []byte{0x1B, 0x66, 0x41, 0x42}},
	{"ESC u", []byte{0x1B, 0x75, 0x41}},
	{"ESC B buzzer", []byte{0x1B, 0x42, 0x41, 0x42}},
	{"ESC * 24-dot image, 2 columns", []byte{0x1B, 0x2A, 0x21, 0x02, 0x00, 'A', 'B', 'C', 'D', 'E', 'F'}},
	{"ESC D tabs", []byte{0x1B, 0x44, 0x08, 0x10, 0x00}},
	{"ESC & two characters", []byte{0x1B, 0x26, 0x03, 0x41, 0x42, 0x01, 'a', 'b', 'c', 0x02, 'd', 'e', 'f', 'g', 'h', 'i'}},
	{"ESC ( A buzzer", []byte{0x1B, 0x28, 0x41, 0x04, 0x00, 'A', 'B', 'C', 'D'}},
	{"GS B reverse", []byte{0x1D, 0x42, 0x01}},
	{"GS H HRI below", []byte{0x1D, 0x48, 0x02}},
	{"GS f HRI font", []byte{0x1D, 0x66, 0x41}},
	{"GS h height", []byte{0x1D, 0x68, 0x41}},
	{"GS w width", []byte{0x1D, 0x77, 0x03}},
	{"GS L margin", []byte{0x1D, 0x4C, 0x41, 0x00}},
	{"GS W width", []byte{0x1D, 0x57, 0x41, 0x02}},
	{"GS a", []byte{0x1D, 0x61, 0x41}},
	{"GS r", []byte{0x1D, 0x72, 0x31}},
	{"GS I", []byte{0x1D, 0x49, 0x41}},
	{"GS j", []byte{0x1D, 0x6A, 0x41}},
	{"GS /", []byte{0x1D, 0x2F, 0x30}},
	{"GS P", []byte{0x1D, 0x50, 0x41, 0x42}},
	{"GS b smoothing", []byte{0x1D, 0x62, 0x01}},
	{"GS E", []byte{0x1D, 0x45, 0x41}},
	{"GS | density (python-escpos)", []byte{0x1D, 0x7C, 0x04}},
	{"GS $", []byte{0x1D, 0x24, 0x41, 0x42}},
	{"GS \\", []byte{0x1D, 0x5C, 0x41, 0x42}},
	{"GS T", []byte{0x1D, 0x54, 0x31}},
	{"GS ^ macro", []byte{0x1D, 0x5E, 0x41, 0x42, 0x43}},
	{"GS :", []byte{0x1D, 0x3A}},
	{"GS C", []byte{0x1D, 0x43}},
	{"GS g 0 maintenance counter", []byte{0x1D, 0x67, 0x30, 0x41, 0x14, 0x00}},
	{"GS z recovery wait", []byte{0x1D, 0x7A, 0x30, 0x41, 0x42}},
	{"GS Z", []byte{0x1D, 0x5A, 0x02}},
	{"GS k CODE39, NUL-terminated", []byte{0x1D, 0x6B, 0x04, 'A', 'B', 'C', 0x00}},
	{"GS k CODE128, length-prefixed (python-escpos)", []byte{0x1D, 0x6B, 0x49, 0x05, '{', 'B', 'A', 'B', 'C'}},
	{"GS v 0 raster 1×2", []byte{0x1D, 0x76, 0x30, 0x00, 0x01, 0x00, 0x02, 0x00, 'A', 'B'}},
	{"GS * downloaded image", []byte{0x1D, 0x2A, 0x01, 0x01, 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H'}},
	{"GS ( k QR code", qrExample()},
	{"GS ( k PDF417 setting", []byte{0x1D, 0x28, 0x6B, 0x03, 0x00, 0x30, 0x41, 0x41}},
	{"GS ( L store graphics (escpos-php)", []byte{0x1D, 0x28, 0x4C, 0x0B, 0x00, 0x30, 0x70, 0x30, 0x01, 0x01, 0x31, 0x01, 0x00, 0x01, 0x00, 'A'}},
	{"GS ( L print graphics (escpos-php)", []byte{0x1D, 0x28, 0x4C, 0x02, 0x00, 0x30, 0x32}},
	{"GS 8 L large graphics", []byte{0x1D, 0x38, 0x4C, 0x0B, 0x00, 0x00, 0x00, 0x30, 0x70, 0x30, 0x01, 0x01, 0x31, 0x01, 0x00, 0x01, 0x00, 'A'}},
	{"FS p NV image", []byte{0x1C, 0x70, 0x01, 0x30}},
	{"FS .", []byte{0x1C, 0x2E}},
	{"FS &", []byte{0x1C, 0x26}},
	{"FS !", []byte{0x1C, 0x21, 0x41}},
	{"FS -", []byte{0x1C, 0x2D, 0x31}},
	{"FS S", []byte{0x1C, 0x53, 0x41, 0x42}},
	{"FS W", []byte{0x1C, 0x57, 0x31}},
	{"FS C", []byte{0x1C, 0x43, 0x31}},
	{"FS ?", []byte{0x1C, 0x3F, 0x41, 0x42}},
	{"FS q one NV image", []byte{0x1C, 0x71, 0x01, 0x01, 0x00, 0x01, 0x00, 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H'}},
	{"FS ( A", []byte{0x1C, 0x28, 0x41, 0x02, 0x00, 0x30, 0x41}},
	{"DLE EOT 1 (answered)", []byte{0x10, 0x04, 0x01}},
	{"DLE EOT 7", []byte{0x10, 0x04, 0x07, 0x01}},
	{"DLE ENQ", []byte{0x10, 0x05, 0x02}},
	{"DLE DC4 1 pulse", []byte{0x10, 0x14, 0x01, 0x00, 0x01}},
	{"DLE DC4 2 power off", []byte{0x10, 0x14, 0x02, 0x01, 0x08}},
	{"DLE DC4 3 buzzer", []byte{0x10, 0x14, 0x03, 0x01, 0x02}},
	{"DLE DC4 7 status", []byte{0x10, 0x14, 0x07, 0x01}},
	{"DLE DC4 8 clear buffers", []byte{0x10, 0x14, 0x08, 0x01, 0x03, 0x14, 0x01, 0x06, 0x02, 0x08}},
}

// TestLibraryCommandsReadWhole: each command, sent as a library sends it
// and followed by a line of text, leaves that line alone: no parameter
// byte is printed. A command the simulator does not interpret is marked
// in the transcript with its name.
func TestLibraryCommandsReadWhole(t *testing.T) {
	for _, c := range libraryCommands {
		got, _ := decode(append(append([]byte(nil), c.b...), "OK\n"...))
		if lines := got.Lines(); len(lines) != 1 || lines[0] != "OK" {
			t.Errorf("%s: printed %q, want only \"OK\":\n%s", c.name, lines, got)
			continue
		}
		sp := commands[[2]byte{c.b[0], c.b[1]}]
		others := got.Of(Other)
		switch {
		case bytes.HasPrefix(c.b, []byte{0x1D, 0x28, 0x6B}) && c.b[5] == 0x31:
			if len(others) != 0 || got.Count(QR) != 1 {
				t.Errorf("%s: want a QR code, got:\n%s", c.name, got)
			}
		case sp.interpreted:
			if len(others) != 0 {
				t.Errorf("%s: interpreted, yet recorded as %v", c.name, others)
			}
		case c.b[0] == 0x10 && c.b[1] == 0x04 && c.b[2] <= 4:
			if len(others) != 0 {
				t.Errorf("%s: a status request is answered, not recorded: %v", c.name, others)
			}
		default:
			if len(others) != 1 || !strings.Contains(others[0].Text, cmdName(c.b[:2])) || others[0].Count != len(c.b) {
				t.Errorf("%s: want one Other entry naming %s and counting %d bytes, got %v", c.name, cmdName(c.b[:2]), len(c.b), others)
			}
		}
	}
	// Every command the decoder knows is among those sent above.
	for k := range commands {
		seen := false
		for _, c := range libraryCommands {
			seen = seen || c.b[0] == k[0] && c.b[1] == k[1]
		}
		if !seen {
			t.Errorf("%s is not tested with library bytes", cmdName(k[:]))
		}
	}
}

// TestCommandsDocumented: docs/protocols.md lists exactly the commands
// the decoder knows, with what it does with each.
func TestCommandsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../../docs/protocols.md")
	if err != nil {
		t.Fatal(err)
	}
	want := CommandTable()
	if !strings.Contains(string(doc), want) {
		t.Errorf("docs/protocols.md does not hold the simulator's command table; it should read:\n%s", want)
	}
}
