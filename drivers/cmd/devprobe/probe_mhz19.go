package main

import (
	"context"
	"encoding/json"
	"io"
	"time"

	"github.com/quartierhub/quartierhub/drivers/mhz19"
)

// probeMHZ19 reads the CO2 sensor every --interval (default 2s) and prints
// one line per reading. Readings outside the physical range are printed
// with "rejected" and not counted. No valid reply for --timeout is an error.
// Like the kiosk, the session sets the detection range to 5000 ppm.
func probeMHZ19(ctx context.Context, a probeArgs, out *json.Encoder) error {
	toLine := func(r mhz19.Reading, reason error) mhz19Printed {
		l := mhz19Printed{"mhz19", r.CO2, r.Unit, r.TempC, r.Status, r.WarmingUp, "", r.Time}
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
	lines := make(chan mhz19Printed, 16)
	opts.OnReading = func(r mhz19.Reading) { lines <- toLine(r, nil) }
	opts.OnReject = func(r mhz19.Reading, err error) { lines <- toLine(r, err) }
	sensor, err := mhz19.New(opts)
	if err != nil {
		return err
	}
	return onPort(ctx, a, 9600, func(ctx context.Context, rw io.ReadWriter) error {
		return printReadings(ctx, a, out, rw, sensor.Run, lines, a.timeout, mhz19.ErrNoReply)
	})
}

// mhz19Printed is one printed reading.
type mhz19Printed struct {
	Device    string    `json:"device"`
	CO2       int       `json:"co2_ppm"`
	Unit      string    `json:"unit"`
	TempC     int       `json:"temp_c"`
	Status    byte      `json:"status"`
	WarmingUp bool      `json:"warming_up"`
	Rejected  string    `json:"rejected,omitempty"`
	Time      time.Time `json:"time"`
}

func (l mhz19Printed) rejected() bool { return l.Rejected != "" }
