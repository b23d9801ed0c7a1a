package main

import (
	"context"
	"encoding/json"
	"io"

	"github.com/quartierhub/quartierhub/drivers/rdm6300"
)

// probeRDM6300 prints card presentations and removals. The reader only
// speaks when a card is near, so --timeout does not apply: it waits.
func probeRDM6300(ctx context.Context, a probeArgs, out *json.Encoder) error {
	events := make(chan rdm6300.Event, 16)
	reader := rdm6300.New(rdm6300.Opts{OnEvent: func(e rdm6300.Event) { events <- e }})
	return onPort(ctx, a, 9600, func(ctx context.Context, rw io.ReadWriter) error {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		errc := make(chan error, 1)
		go func() { errc <- reader.Run(ctx, rw) }()
		return printCards("rdm6300", a, out, events, errc, cancel)
	})
}
