package sds011_test

import (
	"fmt"

	"github.com/quartierhub/quartierhub/drivers/sds011"
)

// The data frame from docs/protocols.md arrives in two chunks behind some noise.
func ExampleScanner() {
	var s sds011.Scanner
	s.Write([]byte{0x00, 0xAA, 0xC0, 0x7B, 0x00})
	s.Write([]byte{0xC8, 0x01, 0xA1, 0x60, 0x45, 0xAB})
	for f, ok := s.Next(); ok; f, ok = s.Next() {
		fmt.Println(f)
	}
	// Output: sds011 data pm2.5=12.3 pm10=45.6 id=A160
}

func ExampleNewCommand() {
	fmt.Printf("% X\n", sds011.NewCommand(sds011.CmdSleepWork, 1, 0).Bytes())
	// Output: AA B4 06 01 00 00 00 00 00 00 00 00 00 00 00 FF FF 05 AB
}
