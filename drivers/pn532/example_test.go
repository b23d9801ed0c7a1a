package pn532_test

import (
	"context"
	"fmt"

	"github.com/quartierhub/quartierhub/drivers/pn532"
	"github.com/quartierhub/quartierhub/drivers/serialport"
)

// A terminal reads cards from a PN532 breakout on a USB serial adapter.
// serialport owns the port and restarts the session after a loss.
func Example() {
	reader := pn532.New(pn532.Opts{
		OnEvent: func(e pn532.Event) {
			// e.UID identifies a person's card: hash it before keeping it.
			fmt.Println(e.Kind, len(e.UID)/2, "byte UID")
		},
	})
	port := serialport.New(serialport.Opts{Path: "/dev/quartierhub/nfc", Baud: 115200})
	_ = port.Run(context.Background(), reader.Run)
}
