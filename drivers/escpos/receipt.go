package escpos

import (
	"fmt"
	"strings"
)

// Align is the horizontal position of a line or QR code.
type Align byte

const (
	AlignLeft Align = iota
	AlignCentre
	AlignRight
)

func (a Align) String() string {
	switch a {
	case AlignLeft:
		return "left"
	case AlignCentre:
		return "centre"
	case AlignRight:
		return "right"
	}
	return fmt.Sprintf("Align(%d)", int(a))
}

// ECC is a QR code's error correction level. The zero value is M (15 %),
// the usual choice for printed codes.
type ECC byte

const (
	ECCM ECC = iota // 15 % of the code may be damaged
	ECCL            // 7 %
	ECCQ            // 25 %
	ECCH            // 30 %
)

func (e ECC) String() string {
	switch e {
	case ECCL:
		return "L"
	case ECCM:
		return "M"
	case ECCQ:
		return "Q"
	case ECCH:
		return "H"
	}
	return fmt.Sprintf("ECC(%d)", int(e))
}

// wire is the n of function 169 (GS ( k … 31 45 n): 48 + L/M/Q/H.
func (e ECC) wire() byte {
	switch e {
	case ECCL:
		return 0x30
	case ECCQ:
		return 0x32
	case ECCH:
		return 0x33
	}
	return 0x31
}

// ECCFromWire returns the level for function 169's n (48–51), as a
// printer would decode it.
func ECCFromWire(n byte) (ECC, bool) {
	switch n {
	case 0x30:
		return ECCL, true
	case 0x31:
		return ECCM, true
	case 0x32:
		return ECCQ, true
	case 0x33:
		return ECCH, true
	}
	return 0, false
}

// maxBytes is the QR byte-mode capacity at version 40 for each level.
func (e ECC) maxBytes() int {
	switch e {
	case ECCL:
		return 2953
	case ECCQ:
		return 1663
	case ECCH:
		return 1273
	}
	return 2331
}

// Block is one element of a receipt: Text, QR, Feed or Cut.
type Block interface {
	fmt.Stringer
	render(r *renderer) error
}

// Text is one or more lines printed in the same style. A newline in Text
// starts a new line ("\r\n" and a lone "\r" count as one).
type Text struct {
	Text  string
	Align Align
	Bold  bool
	// Width and Height multiply the character size, 1–8; 0 means 1.
	Width, Height int
}

func (t Text) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "text %s", t.Align)
	if t.Bold {
		b.WriteString(" bold")
	}
	if w, h := max(t.Width, 1), max(t.Height, 1); w != 1 || h != 1 {
		fmt.Fprintf(&b, " %dx%d", w, h)
	}
	fmt.Fprintf(&b, " %d chars", len([]rune(t.Text)))
	return b.String()
}

// QR is a model 2 QR code.
type QR struct {
	// Data is stored as it is (UTF-8 text is byte mode). 1 byte up to the
	// version 40 capacity of ECC (2331 bytes at M). It must not contain the
	// byte 0x10: the printer would take DLE EOT in it for a status request.
	Data string
	// ModuleSize is the size of one dot of the code, 1–16 printer dots;
	// 0 means 6.
	ModuleSize int
	ECC        ECC
	Align      Align
}

func (q QR) String() string {
	return fmt.Sprintf("qr %s module %d ecc %s, %d bytes", q.Align, q.moduleSize(), q.ECC, len(q.Data))
}

func (q QR) moduleSize() int {
	if q.ModuleSize == 0 {
		return 6
	}
	return q.ModuleSize
}

// Feed prints what is buffered and feeds Lines lines (0–255).
type Feed struct{ Lines int }

func (f Feed) String() string { return fmt.Sprintf("feed %d", f.Lines) }

// Cut feeds the paper to the cutter and cuts it. The zero value is a full
// cut; Partial leaves a hinge, which most kiosk printers prefer.
type Cut struct {
	Partial bool
	// Extra feeds this many motion units (usually dots) beyond the cutting
	// position, 0–255.
	Extra int
}

func (c Cut) String() string {
	kind := "full"
	if c.Partial {
		kind = "partial"
	}
	return fmt.Sprintf("cut %s +%d", kind, c.Extra)
}

// Receipt is a print job: blocks printed top to bottom. End it with a Cut
// so the resident can take it.
type Receipt struct {
	Blocks []Block
	// Columns is the characters per line at normal size (58 mm paper: 32,
	// 80 mm: 48). Text is then wrapped between words, so a line longer
	// than the paper never breaks inside a word; a double-width line holds
	// half as many. 0 leaves wrapping to the printer.
	Columns int
}

// Add appends blocks and returns r for chaining.
func (r *Receipt) Add(b ...Block) *Receipt {
	r.Blocks = append(r.Blocks, b...)
	return r
}

func (r Receipt) String() string {
	parts := make([]string, len(r.Blocks))
	for i, b := range r.Blocks {
		parts[i] = b.String()
	}
	return "receipt[" + strings.Join(parts, "; ") + "]"
}
