package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"

	"github.com/quartierhub/quartierhub/assets"
	"github.com/quartierhub/quartierhub/drivers/escpos"
	"github.com/quartierhub/quartierhub/drivers/sim/escpossim"
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

// Every screen language's receipt texts print whole on a printer with the
// default code pages: all of a catalog's receipt strings in one receipt go
// out in one table, nothing replaced, and the printer reads back each line
// exactly. (A speech-only language's receipts are printed in its
// screen language's texts, so only screen languages are printed.)
func TestReceiptTextsOfEveryLanguagePrint(t *testing.T) {
	files, err := fs.Glob(assets.I18n(), "*.json")
	if err != nil || len(files) < 6 {
		t.Fatalf("catalogs %v, %v", files, err)
	}
	tables := map[string]byte{}
	for _, f := range files {
		b, err := fs.ReadFile(assets.I18n(), f)
		if err != nil {
			t.Fatal(err)
		}
		var cat map[string]string
		if err := json.Unmarshal(b, &cat); err != nil {
			t.Fatal(err)
		}
		lang := strings.TrimSuffix(f, ".json")
		if s := cat[assets.ScreenKey]; s != "" && s != lang {
			continue
		}
		var r receipt.Receipt
		var want []string
		for k, v := range cat {
			if strings.HasPrefix(k, "receipt.") {
				r.Blocks = append(r.Blocks, receipt.Block{Kind: receipt.Text, Text: v})
				want = append(want, v)
			}
		}
		if len(want) == 0 {
			t.Fatalf("%s: no receipt texts", lang)
		}
		rec, err := toEscpos(r)
		if err != nil {
			t.Fatal(err)
		}
		job, err := escpos.RenderBest(rec, escpos.DefaultCodePages(escpos.CP858))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		d := escpossim.NewDecoder(nil, func(e escpossim.Entry) {
			if e.Kind == escpossim.Line {
				got = append(got, e.Text)
			}
		})
		d.Write(job.Bytes)
		if job.Replaced != 0 || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: printed %q (%d replaced), want %q", lang, got, job.Replaced, want)
		}
		tables[lang] = job.CodePage.Table()
	}
	if fmt.Sprint(tables) != "map[de:19 en:19 ru:46 tr:48 uk:46 vi:52]" {
		t.Errorf("tables %v", tables)
	}
}
