// Package receipt is the terminal's model of a print job: blocks from top
// to bottom, as the window composes them (kiosk/session) and the agent
// prints them (kiosk/agent turns them into drivers/escpos commands, and
// checks them there). It has no dependencies, so the window and the
// agent share it without either pulling in the other's parts.
//
// The local API carries receipts as localapi.Receipt; the agent's edge
// and the window's client (kiosk/ui/backend) convert between the two.
package receipt

import (
	"strconv"
	"strings"
)

// Kind is what a block is. Unknown kinds survive conversion, so that the
// printer refuses them with their name.
type Kind string

// Block kinds.
const (
	Text Kind = "text"
	QR   Kind = "qr"
	Feed Kind = "feed"
	Cut  Kind = "cut"
)

// Alignments of a block: "" is left; "center" is taken for centre.
const (
	Left   = "left"
	Centre = "centre"
	Right  = "right"
)

// NumberPlaceholder in a ticket's text and QR blocks becomes the ticket's
// waiting number (WithNumber).
const NumberPlaceholder = "{number}"

// Receipt is a print job.
type Receipt struct {
	Blocks []Block
}

// Block is one block; the fields used depend on Kind.
type Block struct {
	Kind  Kind
	Text  string // the text; a QR code's data
	Align string // Left (or ""), Centre, Right
	Bold  bool
	// Size multiplies width and height of text, 1–8; 0 means 1.
	Size int
	// Lines to feed (Feed); the module size of a QR code (0 = default).
	Lines int
}

// WithNumber returns a copy of r with NumberPlaceholder replaced by n
// everywhere; r is unchanged.
func (r Receipt) WithNumber(n int) Receipt {
	num := strconv.Itoa(n)
	out := Receipt{Blocks: append([]Block(nil), r.Blocks...)}
	for i := range out.Blocks {
		out.Blocks[i].Text = strings.ReplaceAll(out.Blocks[i].Text, NumberPlaceholder, num)
	}
	return out
}
