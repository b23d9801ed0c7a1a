package agent

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/quartierhub/quartierhub/drivers/escpos"
	"github.com/quartierhub/quartierhub/internal/userr"
	"github.com/quartierhub/quartierhub/kiosk/localapi"
	"github.com/quartierhub/quartierhub/kiosk/receipt"
)

// A receipt is checked block by block before the printer is asked; the
// message names the block and the rule.
func TestToEscposRefusesBadBlocks(t *testing.T) {
	blocks := func(b ...receipt.Block) receipt.Receipt { return receipt.Receipt{Blocks: b} }
	cut := receipt.Block{Kind: receipt.Cut}
	cases := []struct {
		r    receipt.Receipt
		want string // "" accepted
	}{
		{blocks(receipt.Block{Kind: receipt.Text, Text: "a", Align: "center", Size: 8}, receipt.Block{Kind: receipt.QR, Text: "q", Lines: 16},
			receipt.Block{Kind: receipt.Feed, Lines: 255}, cut), ""},
		{blocks(), "receipt block 0: a receipt has 1 to 200 blocks"},
		{receipt.Receipt{Blocks: make([]receipt.Block, 201)}, "receipt block 0: a receipt has 1 to 200 blocks"},
		{blocks(cut, receipt.Block{Kind: receipt.Text, Align: "justified"}), "receipt block 1: align is left, centre or right"},
		{blocks(receipt.Block{Kind: receipt.Text, Size: 9}), "receipt block 0: size is 1 to 8"},
		{blocks(receipt.Block{Kind: receipt.QR}), "receipt block 0: a QR code needs data"},
		{blocks(receipt.Block{Kind: receipt.QR, Text: "a\x10b"}), "receipt block 0: a QR code needs data"},
		{blocks(receipt.Block{Kind: receipt.QR, Text: "a", Lines: 17}), "receipt block 0: a QR code needs data"},
		{blocks(receipt.Block{Kind: receipt.Feed, Lines: -1}), "receipt block 0: feed 0 to 255 lines"},
		{blocks(cut, cut, receipt.Block{Kind: "sparkle"}), "receipt block 2: unknown kind sparkle"},
	}
	for i, c := range cases {
		_, err := toEscpos(c.r)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("case %d refused: %v", i, err)
		case c.want != "" && (err == nil || !errors.Is(err, localapi.ErrInvalid) || !strings.HasPrefix(userr.Message(err, ""), c.want)):
			t.Errorf("case %d: %v, want %q (invalid)", i, err, c.want)
		}
	}
}

// Without a printer a good receipt is a printer error, a bad one still
// the receipt's fault.
func TestPrinterFrontWithoutPrinter(t *testing.T) {
	p := printerFront{printer: func() *escpos.Printer { return nil }}
	if err := p.available(); !errors.Is(err, localapi.ErrPrinter) {
		t.Fatalf("available: %v", err)
	}
	ctx := context.Background()
	if _, err := p.print(ctx, receipt.Receipt{Blocks: []receipt.Block{{Kind: receipt.Cut}}}); !errors.Is(err, localapi.ErrPrinter) {
		t.Fatalf("print: %v", err)
	}
	if _, err := p.print(ctx, receipt.Receipt{}); !errors.Is(err, localapi.ErrInvalid) {
		t.Fatalf("empty receipt: %v", err)
	}
}
