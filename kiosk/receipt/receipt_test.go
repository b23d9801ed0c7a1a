package receipt_test

import (
	"reflect"
	"testing"

	"github.com/quartierhub/quartierhub/kiosk/receipt"
)

// A ticket's number goes into every text and QR block; the template the
// window sent stays as it was (the next ticket fills it again).
func TestWithNumber(t *testing.T) {
	tmpl := receipt.Receipt{Blocks: []receipt.Block{
		{Kind: receipt.Text, Text: "Nummer {number}", Size: 4},
		{Kind: receipt.QR, Text: "https://hub/t/{number}?again={number}"},
		{Kind: receipt.Feed, Lines: 3},
		{Kind: receipt.Cut},
	}}
	orig := receipt.Receipt{Blocks: append([]receipt.Block(nil), tmpl.Blocks...)}
	got := tmpl.WithNumber(17)
	want := receipt.Receipt{Blocks: []receipt.Block{
		{Kind: receipt.Text, Text: "Nummer 17", Size: 4},
		{Kind: receipt.QR, Text: "https://hub/t/17?again=17"},
		{Kind: receipt.Feed, Lines: 3},
		{Kind: receipt.Cut},
	}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("filled: %+v", got)
	}
	if !reflect.DeepEqual(tmpl, orig) {
		t.Fatalf("the template changed: %+v", tmpl)
	}
}
