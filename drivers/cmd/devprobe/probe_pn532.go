package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"time"

	"github.com/quartierhub/quartierhub/drivers/pn532"
)

// probePN532 prints card presentations and removals. --interval is the
// poll period; --timeout bounds how long the chip may not answer at all
// (a wrong device or port), after which it fails with a timeout. Once the
// chip has answered, losing it later is reported as the driver's error.
func probePN532(ctx context.Context, a probeArgs, out *json.Encoder) error {
	events := make(chan pn532.Event, 16)
	reader := pn532.New(pn532.Opts{
		PollInterval: a.interval,
		OnEvent:      func(e pn532.Event) { events <- e },
	})
	start := time.Now()
	return onPort(ctx, a, 115200, func(ctx context.Context, rw io.ReadWriter) error {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		errc := make(chan error, 1)
		go func() {
			for {
				err := reader.Run(ctx, rw)
				_, answered := reader.Firmware()
				switch {
				case err == nil || answered || !errors.Is(err, pn532.ErrNoResponse):
					errc <- err
					return
				case a.timeout > 0 && time.Since(start) >= a.timeout:
					errc <- timeoutError(a)
					return
				}
				// Not answering yet: wake it up again until --timeout.
			}
		}()
		return printCards("pn532", a, out, events, errc, cancel)
	})
}
