package agent

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/quartierhub/quartierhub/drivers/escpos"
	"github.com/quartierhub/quartierhub/internal/userr"
	"github.com/quartierhub/quartierhub/kiosk/localapi"
	"github.com/quartierhub/quartierhub/kiosk/receipt"
)

// printerFront is how the window's receipts reach the printer: checked
// and turned into the driver's commands before the printer is asked.
type printerFront struct {
	// printer returns the running printer driver, or nil.
	printer func() *escpos.Printer
}

// available reports whether there is a printer to ask.
func (p printerFront) available() error {
	if p.printer() == nil {
		return userr.New("this terminal has no printer", localapi.ErrPrinter)
	}
	return nil
}

// print prints r and returns the bytes sent. A bad receipt is
// localapi.ErrInvalid; no printer, or one that cannot print now (paper,
// cover, fault, offline), localapi.ErrPrinter.
func (p printerFront) print(ctx context.Context, r receipt.Receipt) (int, error) {
	rec, err := toEscpos(r)
	if err != nil {
		return 0, err
	}
	pr := p.printer()
	if pr == nil {
		return 0, p.available()
	}
	res, err := pr.Print(ctx, rec)
	if err != nil {
		return 0, userr.New("the printer cannot print now", errors.Join(localapi.ErrPrinter, err))
	}
	return res.Bytes, nil
}

// toEscpos checks r and turns it into the printer's commands: 1 to 200
// blocks; align left, centre or right; text size 1 to 8; a QR code's data
// without byte 0x10 and a module size up to 16; 0 to 255 lines of feed.
func toEscpos(r receipt.Receipt) (escpos.Receipt, error) {
	var out escpos.Receipt
	bad := func(i int, why string) (escpos.Receipt, error) {
		return escpos.Receipt{}, userr.New(fmt.Sprintf("receipt block %d: %s", i, why), localapi.ErrInvalid)
	}
	if len(r.Blocks) == 0 || len(r.Blocks) > 200 {
		return bad(0, "a receipt has 1 to 200 blocks")
	}
	for i, b := range r.Blocks {
		align := escpos.AlignLeft
		switch b.Align {
		case "", receipt.Left:
		case receipt.Centre, "center":
			align = escpos.AlignCentre
		case receipt.Right:
			align = escpos.AlignRight
		default:
			return bad(i, "align is left, centre or right")
		}
		switch b.Kind {
		case receipt.Text:
			if b.Size < 0 || b.Size > 8 {
				return bad(i, "size is 1 to 8")
			}
			out.Add(escpos.Text{Text: b.Text, Align: align, Bold: b.Bold, Width: b.Size, Height: b.Size})
		case receipt.QR:
			if b.Text == "" || strings.ContainsRune(b.Text, 0x10) || b.Lines < 0 || b.Lines > 16 {
				return bad(i, "a QR code needs data (no byte 0x10) and a module size up to 16")
			}
			out.Add(escpos.QR{Data: b.Text, Align: align, ModuleSize: b.Lines})
		case receipt.Feed:
			if b.Lines < 0 || b.Lines > 255 {
				return bad(i, "feed 0 to 255 lines")
			}
			out.Add(escpos.Feed{Lines: b.Lines})
		case receipt.Cut:
			out.Add(escpos.Cut{Partial: true})
		default:
			return bad(i, "unknown kind "+string(b.Kind))
		}
	}
	return out, nil
}
