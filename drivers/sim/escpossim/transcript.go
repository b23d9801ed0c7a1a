package escpossim

import (
	"fmt"
	"strings"

	"github.com/quartierhub/quartierhub/drivers/escpos"
)

// EntryKind says what a transcript entry records.
type EntryKind int

const (
	// Init: ESC @.
	Init EntryKind = iota + 1
	// Table: ESC t n selected a code table.
	Table
	// Line: a printed line of text (LF, or text flushed by a feed).
	Line
	// QR: a printed QR code (GS ( k function 181 after 165/167/169/180).
	QR
	// Feed: ESC d n.
	Feed
	// Cut: GS V.
	Cut
	// Rejected: print data that arrived while the printer was offline
	// (paper out, cover open, error) and was lost.
	Rejected
	// Other: a command the simulator does not interpret, or one it ignored
	// (e.g. ESC a in the middle of a line); Text says which.
	Other
)

func (k EntryKind) String() string {
	switch k {
	case Init:
		return "init"
	case Table:
		return "table"
	case Line:
		return "line"
	case QR:
		return "qr"
	case Feed:
		return "feed"
	case Cut:
		return "cut"
	case Rejected:
		return "rejected"
	case Other:
		return "other"
	}
	return fmt.Sprintf("EntryKind(%d)", int(k))
}

// Entry is one thing the printer did with what it received.
type Entry struct {
	Kind EntryKind
	// Text is the line decoded from its code page to UTF-8 and composed
	// (NFC: CP1258's combining tones join their letters) (Line), the
	// payload (QR), why data was lost (Rejected) or what the command was
	// (Other).
	Text string
	// Style of a Line's first character; Align also for QR.
	Align         escpos.Align
	Bold          bool
	Width, Height int
	// Mixed: bold or size changed within the line.
	Mixed bool
	// Table is the ESC t number selected (Table) or in effect (Line);
	// CodePage its name, "" when the simulator does not know the table.
	Table    byte
	CodePage string
	// QR settings.
	Model, ModuleSize int
	ECC               escpos.ECC
	// Lines fed (Feed); extra motion units before a cut (Cut).
	Lines int
	// Partial cut rather than full.
	Partial bool
	// Count is the number of bytes lost (Rejected) or in the command (Other).
	Count int
	// Bytes are the first bytes of an Other command.
	Bytes []byte
}

func (e Entry) String() string {
	switch e.Kind {
	case Init:
		return "init"
	case Table:
		name := e.CodePage
		if name == "" {
			name = "unknown"
		}
		return fmt.Sprintf("table %d (%s)", e.Table, name)
	case Line:
		var b strings.Builder
		fmt.Fprintf(&b, "line %s", e.Align)
		if e.Bold {
			b.WriteString(" bold")
		}
		if e.Width != 1 || e.Height != 1 {
			fmt.Fprintf(&b, " %dx%d", e.Width, e.Height)
		}
		if e.Mixed {
			b.WriteString(" mixed")
		}
		if e.CodePage == "" {
			// ESC t chose a table the simulator does not know: the text
			// is shown as CP437 would print it.
			fmt.Fprintf(&b, " unknown-table %d", e.Table)
		}
		fmt.Fprintf(&b, " %q", e.Text)
		return b.String()
	case QR:
		return fmt.Sprintf("qr %s model %d module %d ecc %s %q", e.Align, e.Model, e.ModuleSize, e.ECC, e.Text)
	case Feed:
		return fmt.Sprintf("feed %d", e.Lines)
	case Cut:
		kind := "full"
		if e.Partial {
			kind = "partial"
		}
		return fmt.Sprintf("cut %s +%d", kind, e.Lines)
	case Rejected:
		return fmt.Sprintf("rejected %d bytes (%s)", e.Count, e.Text)
	case Other:
		return fmt.Sprintf("other %s [% X]", e.Text, e.Bytes)
	}
	return e.Kind.String()
}

// Transcript is what a printer received, in order.
type Transcript []Entry

func (t Transcript) String() string {
	var b strings.Builder
	for _, e := range t {
		b.WriteString(e.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// Lines returns the text of the Line entries.
func (t Transcript) Lines() []string {
	var out []string
	for _, e := range t {
		if e.Kind == Line {
			out = append(out, e.Text)
		}
	}
	return out
}

// Count returns how many entries are of kind k.
func (t Transcript) Count(k EntryKind) int {
	n := 0
	for _, e := range t {
		if e.Kind == k {
			n++
		}
	}
	return n
}

// Of returns the entries of kind k.
func (t Transcript) Of(k EntryKind) Transcript {
	var out Transcript
	for _, e := range t {
		if e.Kind == k {
			out = append(out, e)
		}
	}
	return out
}

// Receipt renders entries as a person would see the paper: one line per
// text line, QR codes as [QR: payload], cuts as a dashed line.
func (t Transcript) Receipt() string {
	var b strings.Builder
	for _, e := range t {
		switch e.Kind {
		case Line:
			b.WriteString(e.Text)
			b.WriteByte('\n')
		case QR:
			fmt.Fprintf(&b, "[QR: %s]\n", e.Text)
		case Feed:
			b.WriteString(strings.Repeat("\n", e.Lines))
		case Cut:
			b.WriteString("--------------------------------\n")
		case Rejected:
			fmt.Fprintf(&b, "[lost %d bytes: %s]\n", e.Count, e.Text)
		}
	}
	return b.String()
}
