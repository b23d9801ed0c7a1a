package escpossim

import (
	"fmt"

	"golang.org/x/text/unicode/norm"

	"github.com/quartierhub/quartierhub/drivers/escpos"
)

// EpsonTables is Epson's numbering of the supported code pages.
func EpsonTables() map[byte]escpos.CodePage {
	m := map[byte]escpos.CodePage{}
	for _, c := range escpos.CodePages() {
		m[c.Table()] = c
	}
	return m
}

const (
	maxLine   = 4096  // runes; a longer line is printed wrapped
	maxCmd    = 16    // bytes of a command header kept
	maxData   = 65535 // GS ( pL pH: the largest length there is
	keepBytes = 16    // bytes of an Other command kept in the entry
)

// Decoder turns the bytes a printer receives into transcript entries, one
// byte at a time, so how the stream is split never matters. Text is decoded
// through the table ESC t selected (Tables) and each line composed (NFC),
// as a printer draws a combining mark over the letter before it. It knows the
// length of every command in Commands (the table in docs/protocols.md):
// it interprets ESC @, ESC t, ESC E, ESC !, ESC a, ESC d, GS !, GS V and
// the QR functions of GS ( k, and reads the others whole (bit images,
// barcodes, graphics, spacing, real-time functions), recording each as an
// Other entry "not interpreted: NAME"; an unknown ESC/GS/FS x is taken to
// have no parameters. Real-time status requests (DLE EOT 1–4) must be
// taken out first (see RealTime). Memory is bounded: a line is cut at
// 4096 characters, kept command data at 64 KiB.
type Decoder struct {
	// Tables maps ESC t numbers to code pages; nil means EpsonTables.
	Tables map[byte]escpos.CodePage
	// Emit receives each entry. Required.
	Emit func(Entry)

	cmd     []byte // command being read: header bytes
	skip    int    // data bytes still to come for a length-prefixed command
	data    []byte // data kept for the command (GS ( k store)
	nulTerm int    // > 0: command ends at NUL or after this many more bytes
	// A command of blocks (ESC &, FS q): blocks still to come, the size
	// of a block's header, the header read so far, the bytes read.
	blocks, blockHdr, blockBytes int
	hdr                          []byte

	table  byte
	cp     escpos.CodePage
	known  bool // cp is the table's page (else printing as CP437)
	align  escpos.Align
	bold   bool
	w, h   int
	line   []rune
	lstyle Entry // style at the line's first character
	mixed  bool
	// wrapped: the line was just cut at maxLine, so an LF right after ends
	// that same line rather than adding an empty one.
	wrapped bool

	qrModel, qrSize int
	qrECC           escpos.ECC
	qrData          []byte
	qrStored        bool
}

// NewDecoder returns a decoder in the power-on state, emitting to emit.
func NewDecoder(tables map[byte]escpos.CodePage, emit func(Entry)) *Decoder {
	d := &Decoder{Tables: tables, Emit: emit}
	d.reset()
	return d
}

// reset is ESC @: styles and table back to power-on values, buffers cleared.
func (d *Decoder) reset() {
	d.setTable(0)
	d.align, d.bold, d.w, d.h = escpos.AlignLeft, false, 1, 1
	d.line, d.mixed = d.line[:0], false
	d.qrModel, d.qrSize, d.qrECC, d.qrData, d.qrStored = 2, 3, escpos.ECCL, nil, false
}

func (d *Decoder) setTable(n byte) {
	tables := d.Tables
	if tables == nil {
		tables = EpsonTables()
	}
	d.table = n
	d.cp, d.known = tables[n]
	if !d.known {
		d.cp = escpos.CP437
	}
}

// InCommand reports whether the decoder is inside a command.
func (d *Decoder) InCommand() bool { return len(d.cmd) > 0 }

// Write decodes p. It never fails.
func (d *Decoder) Write(p []byte) (int, error) {
	for _, b := range p {
		d.WriteByte(b)
	}
	return len(p), nil
}

// WriteByte decodes one byte. It never fails.
func (d *Decoder) WriteByte(b byte) error {
	switch {
	case d.skip > 0:
		d.skip--
		if len(d.data) < maxData {
			d.data = append(d.data, b)
		}
		if d.skip == 0 {
			d.finishData()
		}
	case d.nulTerm > 0:
		d.nulTerm--
		if b == 0 || d.nulTerm == 0 {
			d.skipped(len(d.cmd) + len(d.data) + 1)
			d.endCmd()
		} else {
			d.data = append(d.data, b)
		}
	case d.blocks > 0:
		d.blockByte(b)
	case len(d.cmd) > 0:
		d.cmd = append(d.cmd, b)
		d.command()
	default:
		d.plain(b)
	}
	return nil
}

func (d *Decoder) endCmd() {
	d.cmd, d.data, d.skip, d.nulTerm, d.blocks = d.cmd[:0], d.data[:0], 0, 0, 0
}

func (d *Decoder) plain(b byte) {
	wrapped := d.wrapped
	d.wrapped = false // only the very next byte may end a wrapped line
	switch b {
	case esc, gs, fs, dle:
		d.cmd = append(d.cmd[:0], b)
	case 0x0A:
		if wrapped {
			return
		}
		d.printLine()
	case 0x0D: // CR: ignored with auto line feed off
	case 0x09:
		d.text('\t')
	default:
		if b < 0x20 || b == 0x7F {
			d.other(fmt.Sprintf("control %02X", b), []byte{b}, 1)
			return
		}
		d.text(d.cp.DecodeByte(b))
	}
}

func (d *Decoder) text(r rune) {
	if len(d.line) == 0 {
		d.lstyle = Entry{Align: d.align, Bold: d.bold, Width: d.w, Height: d.h, Table: d.table}
		if d.known {
			d.lstyle.CodePage = d.cp.Name()
		}
	} else if d.bold != d.lstyle.Bold || d.w != d.lstyle.Width || d.h != d.lstyle.Height {
		d.mixed = true
	}
	d.line = append(d.line, r)
	if len(d.line) >= maxLine {
		d.printLine()
		d.wrapped = true
	}
}

// printLine emits the line buffer (an empty line too: LF on its own).
func (d *Decoder) printLine() {
	e := d.lstyle
	if len(d.line) == 0 {
		e = Entry{Align: d.align, Bold: d.bold, Width: d.w, Height: d.h, Table: d.table}
		if d.known {
			e.CodePage = d.cp.Name()
		}
	}
	// A combining mark (CP1258's tones) prints over the letter before it,
	// so the line reads as its composed form.
	e.Kind, e.Text, e.Mixed = Line, norm.NFC.String(string(d.line)), d.mixed
	d.line, d.mixed = d.line[:0], false
	d.Emit(e)
}

// flushLine prints pending text, as commands that print the buffer do.
func (d *Decoder) flushLine() {
	if len(d.line) > 0 {
		d.printLine()
	}
}

func (d *Decoder) other(what string, raw []byte, n int) {
	d.Emit(Entry{Kind: Other, Text: what, Bytes: append([]byte(nil), raw[:min(len(raw), keepBytes)]...), Count: n})
}

// command acts on d.cmd once enough of it is in.
func (d *Decoder) command() {
	c := d.cmd
	sp, ok := commands[[2]byte{c[0], c[1]}]
	if !ok {
		d.other("unknown "+cmdName(c), c, 2)
		d.endCmd()
		return
	}
	if sp.variable {
		d.variable()
		return
	}
	if len(c) < 2+sp.params {
		return
	}
	d.execute()
	d.endCmd()
}

// skipped records a command that was read whole but is not interpreted.
func (d *Decoder) skipped(n int) {
	c := d.cmd
	name, what := cmdName(c), commands[[2]byte{c[0], c[1]}].what
	if (c[1] == '(' || c[0] == gs && c[1] == '8') && len(c) > 2 && c[2] > 0x20 && c[2] < 0x7F {
		name += " " + string(c[2]) // the function: GS ( L, GS 8 L
		what = "extended function"
	}
	d.other(fmt.Sprintf("not interpreted: %s (%s)", name, what), c, n)
}

// variable reads a command whose length depends on its parameters.
func (d *Decoder) variable() {
	c := d.cmd
	switch k := [2]byte{c[0], c[1]}; k {
	case [2]byte{gs, '('}, [2]byte{fs, '('}, [2]byte{esc, '('}, [2]byte{gs, '8'}:
		// x ( fn pL pH data; GS 8 fn p1 p2 p3 p4 data (32-bit length).
		hdr := 5
		if c[1] == '8' {
			hdr = 7
		}
		if len(c) < hdr {
			return
		}
		n := int(c[3]) | int(c[4])<<8
		if c[1] == '8' {
			n |= int(c[5])<<16 | int(c[6])<<24
		}
		d.startData(n)
	case [2]byte{gs, 'V'}:
		if len(c) < 3 {
			return
		}
		switch c[2] {
		case 0, 1, 48, 49:
		default:
			if len(c) < 4 {
				return
			}
		}
		d.execute()
		d.endCmd()
	case [2]byte{gs, 'v'}:
		// GS v 0 m xL xH yL yH: raster image of (xL+xH·256)·(yL+yH·256) bytes.
		if len(c) < 8 {
			return
		}
		d.startData((int(c[4]) | int(c[5])<<8) * (int(c[6]) | int(c[7])<<8))
	case [2]byte{gs, '*'}:
		if len(c) < 4 {
			return
		}
		d.startData(int(c[2]) * int(c[3]) * 8)
	case [2]byte{esc, '*'}:
		// ESC * m nL nH: bit image, 1 or 3 bytes per column.
		if len(c) < 5 {
			return
		}
		n := int(c[3]) | int(c[4])<<8
		if c[2] == 32 || c[2] == 33 {
			n *= 3
		}
		d.startData(n)
	case [2]byte{gs, 'k'}:
		// GS k m: m 0–6 data up to NUL; m ≥ 65 n then n bytes.
		if len(c) < 3 {
			return
		}
		if c[2] <= 6 {
			d.nulTerm = 256
			return
		}
		if len(c) < 4 {
			return
		}
		d.startData(int(c[3]))
	case [2]byte{esc, 'D'}:
		d.nulTerm = 33 // up to 32 tab positions and NUL
	case [2]byte{esc, '&'}:
		// ESC & y c1 c2, then per character c1…c2: x and y·x bytes.
		if len(c) < 5 {
			return
		}
		d.startBlocks(int(c[4])-int(c[3])+1, 1)
	case [2]byte{fs, 'q'}:
		// FS q n, then per image: xL xH yL yH and (x·y·8) bytes.
		if len(c) < 3 {
			return
		}
		d.startBlocks(int(c[2]), 4)
	case [2]byte{dle, 0x04}:
		// DLE EOT n (1–4 were taken out by RealTime); 7 and 8 take one more.
		if len(c) < 3 || (c[2] == 7 || c[2] == 8) && len(c) < 4 {
			return
		}
		d.skipped(len(c))
		d.endCmd()
	case [2]byte{dle, 0x14}:
		// DLE DC4 fn: fn 1, 2, 3 take two bytes more, 7 one, 8 seven.
		if len(c) < 3 {
			return
		}
		if len(c) < 3+map[byte]int{1: 2, 2: 2, 3: 2, 7: 1, 8: 7}[c[2]] {
			return
		}
		d.skipped(len(c))
		d.endCmd()
	}
}

func (d *Decoder) startData(n int) {
	if n <= 0 {
		d.finishData()
		return
	}
	d.skip = n
	d.data = d.data[:0]
}

// startBlocks begins a command made of n blocks, each a header of hdr
// bytes and the data it announces.
func (d *Decoder) startBlocks(n, hdr int) {
	d.blocks, d.blockHdr, d.hdr, d.blockBytes = n, hdr, d.hdr[:0], len(d.cmd)
	if n <= 0 {
		d.skipped(len(d.cmd))
		d.endCmd()
	}
}

// blockByte takes a header byte of the current block.
func (d *Decoder) blockByte(b byte) {
	d.blockBytes++
	d.hdr = append(d.hdr, b)
	if len(d.hdr) < d.blockHdr {
		return
	}
	var n int
	if d.cmd[1] == '&' {
		n = int(d.cmd[2]) * int(d.hdr[0])
	} else {
		n = (int(d.hdr[0]) | int(d.hdr[1])<<8) * (int(d.hdr[2]) | int(d.hdr[3])<<8) * 8
	}
	d.hdr = d.hdr[:0]
	if n > 0 {
		d.skip = n
		d.blockBytes += n
		return
	}
	d.blockDone()
}

// blockDone ends a block, and the command after its last.
func (d *Decoder) blockDone() {
	d.blocks--
	if d.blocks == 0 {
		d.skipped(d.blockBytes)
		d.endCmd()
	}
}

// finishData completes a length-prefixed command, or a block of one.
func (d *Decoder) finishData() {
	c := d.cmd
	switch {
	case d.blocks > 0:
		d.blockDone()
		return
	case c[0] == gs && c[1] == '(' && c[2] == 'k':
		d.qr(int(c[3])|int(c[4])<<8, d.data)
	default:
		d.skipped(len(c) + len(d.data))
	}
	d.endCmd()
}

// qr handles GS ( k pL pH cn fn … (data holds cn fn …).
func (d *Decoder) qr(n int, data []byte) {
	raw := append(append([]byte(nil), d.cmd...), data...)
	if len(data) < 2 || data[0] != 0x31 {
		d.other("GS ( k for another symbol", raw, 5+n)
		return
	}
	p := data[2:]
	switch data[1] {
	case 0x41: // 165: model
		if len(p) == 2 && p[0] >= 0x31 && p[0] <= 0x33 {
			d.qrModel = int(p[0] - 0x30)
			return
		}
	case 0x43: // 167: module size
		if len(p) == 1 && p[0] >= 1 && p[0] <= 16 {
			d.qrSize = int(p[0])
			return
		}
	case 0x45: // 169: error correction
		if len(p) == 1 {
			if e, ok := escpos.ECCFromWire(p[0]); ok {
				d.qrECC = e
				return
			}
		}
	case 0x50: // 180: store
		if len(p) >= 1 && p[0] == 0x30 && len(data) == n {
			d.qrData, d.qrStored = append(d.qrData[:0], p[1:]...), true
			return
		}
	case 0x51: // 181: print
		if len(p) == 1 && p[0] == 0x30 {
			if !d.qrStored {
				d.other("QR print with nothing stored", raw, 5+n)
				return
			}
			d.flushLine()
			d.Emit(Entry{Kind: QR, Text: string(d.qrData), Align: d.align, Model: d.qrModel, ModuleSize: d.qrSize, ECC: d.qrECC})
			return
		}
	}
	d.other("QR function with bad parameters", raw, 5+n)
}

// execute acts on a complete fixed-length command.
func (d *Decoder) execute() {
	c := d.cmd
	p := byte(0)
	if len(c) > 2 {
		p = c[2]
	}
	switch {
	case c[0] == 0x1B && c[1] == '@':
		d.reset()
		d.Emit(Entry{Kind: Init})
	case c[0] == 0x1B && c[1] == 't':
		d.setTable(p)
		e := Entry{Kind: Table, Table: p}
		if d.known {
			e.CodePage = d.cp.Name()
		}
		d.Emit(e)
	case c[0] == 0x1B && c[1] == 'E':
		d.bold = p&1 == 1
	case c[0] == 0x1B && c[1] == '!':
		d.bold = p&0x08 != 0
		d.h, d.w = 1, 1
		if p&0x10 != 0 {
			d.h = 2
		}
		if p&0x20 != 0 {
			d.w = 2
		}
	case c[0] == 0x1B && c[1] == 'a':
		a := p
		if a >= '0' && a <= '2' {
			a -= '0'
		}
		switch {
		case a > 2:
			d.other("ESC a with bad alignment", c, 3)
		case len(d.line) > 0:
			d.other("ESC a ignored: not at the start of a line", c, 3)
		default:
			d.align = escpos.Align(a)
		}
	case c[0] == 0x1B && c[1] == 'd':
		d.flushLine()
		d.Emit(Entry{Kind: Feed, Lines: int(p)})
	case c[0] == 0x1D && c[1] == '!':
		if p&0x88 != 0 {
			d.other("GS ! with bad size", c, 3)
			return
		}
		d.w, d.h = int(p>>4)+1, int(p&7)+1
	case c[0] == 0x1D && c[1] == 'V':
		d.cut()
	default:
		d.skipped(len(c))
	}
}

func (d *Decoder) cut() {
	c := d.cmd
	e := Entry{Kind: Cut}
	switch m := c[2]; m {
	case 0, 48:
	case 1, 49:
		e.Partial = true
	case 65, 97, 103:
		e.Lines = int(c[3])
	case 66, 98, 104:
		e.Partial, e.Lines = true, int(c[3])
	default:
		d.other("GS V with bad mode", c, len(c))
		return
	}
	if len(d.line) > 0 {
		d.other("GS V ignored: not at the start of a line", c, len(c))
		return
	}
	d.Emit(e)
}

// RealTime takes DLE EOT n (n = 1–4) out of a byte stream wherever it
// appears — in text, inside other commands' parameters and data alike, as
// a printer acts on it on reception — and passes the other bytes on.
type RealTime struct {
	held int // 0, or 1 (DLE seen) or 2 (DLE EOT seen)
}

// Feed processes one byte: data receives bytes that are not part of a
// status request, request the n of each DLE EOT n.
func (r *RealTime) Feed(b byte, data func(byte), request func(n byte)) {
	switch r.held {
	case 1:
		if b == 0x04 {
			r.held = 2
			return
		}
		r.held = 0
		data(0x10)
	case 2:
		r.held = 0
		if b >= 1 && b <= 4 {
			request(b)
			return
		}
		data(0x10)
		data(0x04)
	}
	if b == 0x10 {
		r.held = 1
		return
	}
	data(b)
}

// Held reports how many bytes wait for the next to decide (0–2).
func (r *RealTime) Held() int { return r.held }
