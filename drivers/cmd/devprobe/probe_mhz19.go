package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"time"

	"github.com/quartierhub/quartierhub/drivers/mhz19"
)

// probeMHZ19 reads the CO2 sensor every --interval (default 2s) and prints
// one line per reading. Readings outside the physical range are printed
// with "rejected" and not counted. No valid reply for --timeout is an error.
// Like the kiosk, the session sets the detection range to 5000 ppm.
func probeMHZ19(ctx context.Context, a probeArgs, out *json.Encoder) error {
	type line struct {
		Device    string    `json:"device"`
		CO2       int       `json:"co2_ppm"`
		Unit      string    `json:"unit"`
		TempC     int       `json:"temp_c"`
		Status    byte      `json:"status"`
		WarmingUp bool      `json:"warming_up"`
		Rejected  string    `json:"rejected,omitempty"`
		Time      time.Time `json:"time"`
	}
	toLine := func(r mhz19.Reading, reason error) line {
		l := line{"mhz19", r.CO2, r.Unit, r.TempC, r.Status, r.WarmingUp, "", r.Time}
		if reason != nil {
			l.Rejected = reason.Error()
		}
		return l
	}
	interval := a.interval
	if interval <= 0 {
		interval = 2 * time.Second
	}
	opts := mhz19.Opts{PollInterval: interval}
	if a.timeout > 0 {
		// Let --timeout decide when silence is hopeless, not the driver.
		opts.MaxMissed = int(a.timeout/interval) + 2
	}
	lines := make(chan line, 16)
	opts.OnReading = func(r mhz19.Reading) { lines <- toLine(r, nil) }
	opts.OnReject = func(r mhz19.Reading, err error) { lines <- toLine(r, err) }
	sensor, err := mhz19.New(opts)
	if err != nil {
		return err
	}
	return onPort(ctx, a, 9600, func(ctx context.Context, rw io.ReadWriter) error {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		errc := make(chan error, 1)
		go func() { errc <- sensor.Run(ctx, rw) }()
		stop := func(err error) error {
			cancel()
			<-errc
			return err
		}
		var timeout <-chan time.Time
		var timer *time.Timer
		if a.timeout > 0 {
			timer = time.NewTimer(a.timeout)
			defer timer.Stop()
			timeout = timer.C
		}
		readings := 0
		for {
			select {
			case err := <-errc:
				if errors.Is(err, mhz19.ErrNoReply) {
					return timeoutError(a)
				}
				return err
			case <-timeout:
				return stop(timeoutError(a))
			case l := <-lines:
				if timer != nil {
					timer.Reset(a.timeout)
				}
				if err := out.Encode(l); err != nil {
					return stop(err)
				}
				if l.Rejected != "" {
					continue
				}
				readings++
				if a.count > 0 && readings >= a.count {
					return stop(errDone)
				}
			}
		}
	})
}
