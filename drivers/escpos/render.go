package escpos

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Command bytes (docs/protocols.md, ESC/POS).
const (
	esc = 0x1B
	gs  = 0x1D
	dle = 0x10
	lf  = 0x0A
)

// Rendered is a receipt turned into printer bytes.
type Rendered struct {
	Bytes    []byte
	CodePage CodePage
	// Replaced counts characters printed as a stand-in because the code
	// page lacks them (see CodePage.Encode); Unmapped lists each once.
	Replaced int
	Unmapped []rune
	// lost counts the replaced letters (see Encoded).
	lost int
	// breaks are offsets into Bytes between whole commands, where sending
	// may stop without leaving the printer inside a command.
	breaks []int
}

func (r Rendered) String() string {
	s := fmt.Sprintf("%d bytes in %s", len(r.Bytes), r.CodePage)
	if r.Replaced > 0 {
		noun := "characters"
		if r.Replaced == 1 {
			noun = "character"
		}
		s += fmt.Sprintf(", %d %s replaced (%q)", r.Replaced, noun, string(r.Unmapped))
	}
	return s
}

// Render turns a receipt into ESC/POS bytes in code page cp (the zero value
// means CP858): ESC @ initialize, ESC t to select the code table (again,
// since initialize resets it), then the blocks.
//
// Styles are sent only when they change, printer state being tracked from
// initialize: settings going back to normal first (size, bold, align), then
// settings leaving normal (align, bold, size), so each styled line reads
// like nested brackets — the worked example in docs/protocols.md is exactly this.
func Render(r Receipt, cp CodePage) (Rendered, error) {
	cp = cp.orDefault()
	if r.Columns < 0 {
		return Rendered{}, invalid("columns %d", r.Columns)
	}
	rr := &renderer{cp: cp, seen: map[rune]bool{}, width: 1, height: 1, columns: r.Columns}
	rr.cmd(esc, '@')
	rr.cmd(esc, 't', cp.table)
	for i, b := range r.Blocks {
		if b == nil {
			return Rendered{}, fmt.Errorf("escpos: block %d is nil", i+1)
		}
		if err := b.render(rr); err != nil {
			return Rendered{}, fmt.Errorf("escpos: block %d (%s): %w", i+1, b, err)
		}
	}
	return Rendered{Bytes: rr.out, CodePage: cp, Replaced: rr.replaced, Unmapped: rr.unmapped, lost: rr.lost, breaks: rr.breaks}, nil
}

// RenderBest renders r in the first of pages that has every letter of its
// text (pages in order of preference; none: CP858). Punctuation and
// symbols a page lacks do not count, since their stand-ins say the same
// („ → ", € → EUR): a German receipt stays in the printer's first page
// rather than moving to a table an older printer may not have. When no
// page has every letter, it takes the one that loses the fewest, the
// earlier on a tie, so a receipt mixing scripts loses as little as it can.
// Each job starts with ESC @ and its own ESC t, so the choice needs no
// restoring afterwards.
func RenderBest(r Receipt, pages []CodePage) (Rendered, error) {
	if len(pages) == 0 {
		pages = []CodePage{CP858}
	}
	var best Rendered
	for i, cp := range pages {
		job, err := Render(r, cp)
		if err != nil {
			return Rendered{}, err
		}
		if i == 0 || job.lost < best.lost {
			best = job
		}
		if best.lost == 0 {
			break
		}
	}
	return best, nil
}

// ErrInvalid marks a receipt that cannot be printed as it is.
var ErrInvalid = errors.New("invalid receipt")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

type renderer struct {
	cp       CodePage
	columns  int // characters per line at size 1; 0: no wrapping
	out      []byte
	breaks   []int
	replaced int
	lost     int
	unmapped []rune
	seen     map[rune]bool

	// Printer state since ESC @.
	align         Align
	bold          bool
	width, height int
}

// cmd appends one whole command (or line) and marks the boundary after it.
func (r *renderer) cmd(b ...byte) {
	r.out = append(r.out, b...)
	r.breaks = append(r.breaks, len(r.out))
}

func (r *renderer) setAlign(a Align) {
	if r.align != a {
		r.align = a
		r.cmd(esc, 'a', byte(a))
	}
}

func (r *renderer) setBold(on bool) {
	if r.bold != on {
		r.bold = on
		n := byte(0)
		if on {
			n = 1
		}
		r.cmd(esc, 'E', n)
	}
}

func (r *renderer) setSize(w, h int) {
	if r.width != w || r.height != h {
		r.width, r.height = w, h
		r.cmd(gs, '!', byte(w-1)<<4|byte(h-1))
	}
}

// style moves the printer to the wanted style: resets first in reverse
// order, then the rest in forward order.
func (r *renderer) style(a Align, bold bool, w, h int) {
	if w == 1 && h == 1 {
		r.setSize(1, 1)
	}
	if !bold {
		r.setBold(false)
	}
	if a == AlignLeft {
		r.setAlign(AlignLeft)
	}
	r.setAlign(a)
	r.setBold(bold)
	r.setSize(w, h)
}

func validAlign(a Align) error {
	if a > AlignRight {
		return invalid("alignment %d", int(a))
	}
	return nil
}

func (t Text) render(r *renderer) error {
	if err := validAlign(t.Align); err != nil {
		return err
	}
	w, h := max(t.Width, 1), max(t.Height, 1)
	if t.Width < 0 || t.Height < 0 || w > 8 || h > 8 {
		return invalid("size %dx%d: width and height must be 1–8", t.Width, t.Height)
	}
	text := strings.ReplaceAll(t.Text, "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	var lines []string
	for _, line := range strings.Split(text, "\n") {
		lines = append(lines, wrapWords(line, r.columns/w)...)
	}
	for _, line := range lines {
		r.style(t.Align, t.Bold, w, h)
		e := r.cp.Encode(line)
		r.replaced += e.Replaced
		r.lost += e.lost
		for _, u := range e.Unmapped {
			if !r.seen[u] {
				r.seen[u] = true
				r.unmapped = append(r.unmapped, u)
			}
		}
		r.cmd(append(e.Bytes, lf)...)
	}
	return nil
}

func (q QR) render(r *renderer) error {
	if err := validAlign(q.Align); err != nil {
		return err
	}
	if q.ECC > ECCH {
		return invalid("error correction %d", int(q.ECC))
	}
	size := q.moduleSize()
	if size < 1 || size > 16 {
		return invalid("module size %d: must be 1–16", q.ModuleSize)
	}
	if len(q.Data) == 0 {
		return invalid("empty QR data")
	}
	if n := q.ECC.maxBytes(); len(q.Data) > n {
		return invalid("QR data of %d bytes: at most %d fit at level %s", len(q.Data), n, q.ECC)
	}
	if strings.IndexByte(q.Data, dle) >= 0 {
		return invalid("QR data contains byte 0x10, which the printer would take for a real-time command")
	}
	r.setAlign(q.Align)
	// GS ( k pL pH cn fn …: cn 0x31 is QR code (functions 165, 167, 169,
	// 180, 181 in Epson's numbering).
	r.cmd(gs, '(', 'k', 4, 0, 0x31, 0x41, 0x32, 0x00) // model 2
	r.cmd(gs, '(', 'k', 3, 0, 0x31, 0x43, byte(size))
	r.cmd(gs, '(', 'k', 3, 0, 0x31, 0x45, q.ECC.wire())
	n := len(q.Data) + 3
	store := append([]byte{gs, '(', 'k', byte(n), byte(n >> 8), 0x31, 0x50, 0x30}, q.Data...)
	r.cmd(store...)
	r.cmd(gs, '(', 'k', 3, 0, 0x31, 0x51, 0x30) // print
	return nil
}

func (f Feed) render(r *renderer) error {
	if f.Lines < 0 || f.Lines > 255 {
		return invalid("feed %d lines: must be 0–255", f.Lines)
	}
	r.cmd(esc, 'd', byte(f.Lines))
	return nil
}

func (c Cut) render(r *renderer) error {
	if c.Extra < 0 || c.Extra > 255 {
		return invalid("cut with extra feed %d: must be 0–255", c.Extra)
	}
	m := byte(0x41) // GS V 65 n: feed, full cut
	if c.Partial {
		m = 0x42 // GS V 66 n: feed, partial cut
	}
	r.cmd(gs, 'V', m, byte(c.Extra))
	return nil
}

// wrapWords breaks line between words into lines of at most width
// characters; a word longer than width is cut. width < 1 keeps the line.
func wrapWords(line string, width int) []string {
	if width < 1 || utf8.RuneCountInString(line) <= width {
		return []string{line}
	}
	var out []string
	var cur []rune
	for _, word := range strings.Fields(line) {
		wr := []rune(word)
		switch {
		case len(cur) == 0:
		case len(cur)+1+len(wr) <= width:
			cur = append(cur, ' ')
		default:
			out = append(out, string(cur))
			cur = cur[:0]
		}
		for len(cur)+len(wr) > width { // a word wider than the paper
			n := width - len(cur)
			out = append(out, string(append(cur, wr[:n]...)))
			cur, wr = cur[:0], wr[n:]
		}
		cur = append(cur, wr...)
	}
	return append(out, string(cur))
}
