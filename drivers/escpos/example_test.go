package escpos_test

import (
	"fmt"

	"github.com/quartierhub/quartierhub/drivers/escpos"
)

// The worked receipt from docs/protocols.md.
func ExampleRender() {
	r := escpos.Receipt{}
	r.Add(
		escpos.Text{Text: "Grüße", Align: escpos.AlignCentre, Bold: true, Width: 2, Height: 2},
		escpos.Text{Text: "5,00 €"},
		escpos.Feed{Lines: 3},
		escpos.Cut{Partial: true},
	)
	job, err := escpos.Render(r, escpos.CP858)
	if err != nil {
		panic(err)
	}
	fmt.Printf("% X\n", job.Bytes)
	fmt.Println(job)

	// CP437 has no €: it is printed as EUR and counted.
	job, _ = escpos.Render(r, escpos.CP437)
	fmt.Println(job)
	// Output:
	// 1B 40 1B 74 13 1B 61 01 1B 45 01 1D 21 11 47 72 81 E1 65 0A 1D 21 00 1B 45 00 1B 61 00 35 2C 30 30 20 D5 0A 1B 64 03 1D 56 42 00
	// 43 bytes in cp858 (table 19)
	// 45 bytes in cp437 (table 0), 1 character replaced ("€")
}
