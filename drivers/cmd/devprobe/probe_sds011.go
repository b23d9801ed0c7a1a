package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/quartierhub/quartierhub/drivers/sds011"
)

// probeSDS011 prints one line per particulate matter reading. Without
// --interval the sensor runs in active mode (a reading about every second,
// as the factory set it); with --interval it is polled in query mode at
// that period, which must be at least 3s (Nova's limit). Readings during
// the sensor's warm-up are printed at once with "warming_up": true.
// Readings outside the physical range are printed with "rejected" and not
// counted. No valid frame for --timeout (plus one --interval when polling)
// is an error: wrong device, wrong port or unplugged.
func probeSDS011(ctx context.Context, a probeArgs, out *json.Encoder) error {
	toLine := func(r sds011.Reading, reason error) sds011Printed {
		l := sds011Printed{"sds011", r.PM25, r.PM10, r.Unit, r.WarmingUp, fmt.Sprintf("%04X", r.DeviceID), "", r.Time}
		if reason != nil {
			l.Rejected = reason.Error()
		}
		return l
	}
	opts := sds011.Opts{Mode: sds011.Active}
	timeout := a.timeout
	if a.interval > 0 {
		if a.interval < 3*time.Second {
			return errors.New("--interval: the SDS011 must not be polled faster than every 3s")
		}
		opts.Mode, opts.QueryInterval = sds011.Query, a.interval
		if timeout > 0 {
			timeout += a.interval
		}
	}
	if timeout > 0 {
		opts.Silence = timeout
	}
	lines := make(chan sds011Printed, 16)
	opts.OnReading = func(r sds011.Reading) { lines <- toLine(r, nil) }
	opts.OnReject = func(r sds011.Rejection) { lines <- toLine(r.Reading, r.Err) }
	sensor := sds011.New(opts)
	return onPort(ctx, a, 9600, func(ctx context.Context, rw io.ReadWriter) error {
		return printReadings(ctx, a, out, rw, sensor.Run, lines, timeout, sds011.ErrSilent)
	})
}

// sds011Printed is one printed reading.
type sds011Printed struct {
	Device    string    `json:"device"`
	PM25      float64   `json:"pm25"`
	PM10      float64   `json:"pm10"`
	Unit      string    `json:"unit"`
	WarmingUp bool      `json:"warming_up"`
	ID        string    `json:"id"`
	Rejected  string    `json:"rejected,omitempty"`
	Time      time.Time `json:"time"`
}

func (l sds011Printed) rejected() bool { return l.Rejected != "" }
