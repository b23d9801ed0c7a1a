package devices

import (
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/kiosk/config"
)

func TestExpectedPerMinute(t *testing.T) {
	for _, tc := range []struct {
		kind  string
		every time.Duration
		want  int
	}{
		{"sds011", 0, 60},               // active mode: every second
		{"sds011", 10 * time.Second, 6}, // query mode
		{"sds011", 7 * time.Second, 8},  // 8 whole polls fit
		{"sds011", 5 * time.Minute, 1},  // a minute with a reading has one
		{"mhz19", 0, 12},                // the driver's default poll, 5 s
		{"mhz19", 2 * time.Second, 30},  //
		{"mhz19", 90 * time.Second, 1},  //
		{"escpos", 10 * time.Second, 0}, // not a sensor
		{"unknown", 0, 0},               //
	} {
		c := config.Device{Kind: tc.kind}
		c.Interval.Duration = tc.every
		if got := expectedPerMinute(c); got != tc.want {
			t.Errorf("%s every %v: %d, want %d", tc.kind, tc.every, got, tc.want)
		}
	}
}
