package main

import (
	"context"
	"encoding/json"
	"time"

	"github.com/quartierhub/quartierhub/drivers/card"
)

// printCards prints card events from a running reader until the reader
// ends (its error from errc) or --count presentations were seen; cancel
// stops the reader.
func printCards(device string, a probeArgs, out *json.Encoder, events <-chan card.Event, errc <-chan error, cancel context.CancelFunc) error {
	type line struct {
		Device string    `json:"device"`
		Event  string    `json:"event"`
		UID    string    `json:"uid"`
		Time   time.Time `json:"time"`
	}
	presented := 0
	for {
		select {
		case err := <-errc:
			return err
		case e := <-events:
			if err := out.Encode(line{device, e.Kind.String(), e.UID, e.Time}); err != nil {
				return err
			}
			if e.Kind == card.Presented {
				presented++
				if a.count > 0 && presented >= a.count {
					cancel()
					<-errc
					return errDone
				}
			}
		}
	}
}
