package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"time"
)

// sensorLine is one printed reading; rejected readings are printed but
// not counted.
type sensorLine interface{ rejected() bool }

// printReadings runs a sensor session on rw and prints its readings from
// lines until --count accepted readings were printed, the sensor sends
// nothing for timeout (0: wait for ever), or run fails. A failure that
// wraps silent (the driver's own silence error) is reported as a timeout.
func printReadings[L sensorLine](ctx context.Context, a probeArgs, out *json.Encoder, rw io.ReadWriter,
	run func(context.Context, io.ReadWriter) error, lines <-chan L, timeout time.Duration, silent error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- run(ctx, rw) }()
	stop := func(err error) error {
		cancel()
		for { // keep the driver's callback from blocking while Run winds down
			select {
			case <-errc:
				return err
			case <-lines:
			}
		}
	}
	var expired <-chan time.Time
	var timer *time.Timer
	if timeout > 0 {
		timer = time.NewTimer(timeout)
		defer timer.Stop()
		expired = timer.C
	}
	readings := 0
	for {
		select {
		case err := <-errc:
			if errors.Is(err, silent) {
				return timeoutError(a)
			}
			return err
		case <-expired:
			return stop(timeoutError(a))
		case l := <-lines:
			if timer != nil {
				timer.Reset(timeout)
			}
			if err := out.Encode(l); err != nil {
				return stop(err)
			}
			if l.rejected() {
				continue
			}
			readings++
			if a.count > 0 && readings >= a.count {
				return stop(errDone)
			}
		}
	}
}
