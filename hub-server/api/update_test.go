package api

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestUpdaterStatusValidate(t *testing.T) {
	good := UpdaterStatus{State: UpdaterDownloading, Version: "1.2.0", Target: "1.3.0", ProgressBytes: 10, TotalBytes: 20, BadVersions: []string{"1.2.5"}}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, u := range map[string]UpdaterStatus{
		"unknown state":  {State: "exploded"},
		"no state":       {},
		"long version":   {State: UpdaterIdle, Version: strings.Repeat("1", MaxUpdaterVersion+1)},
		"long error":     {State: UpdaterFailed, LastError: strings.Repeat("x", MaxUpdaterError+1)},
		"negative bytes": {State: UpdaterDownloading, ProgressBytes: -1},
		"many bad":       {State: UpdaterIdle, BadVersions: make([]string, MaxUpdaterBadLength+1)},
		"empty bad":      {State: UpdaterIdle, BadVersions: []string{""}},
	} {
		hb := Heartbeat{Updater: &u}
		if hb.Validate() == nil {
			t.Errorf("%s: heartbeat accepted", name)
		}
	}
}

func TestMaintenanceWindowOpen(t *testing.T) {
	// Monday and Tuesday, 23:00 for three hours, Berlin time (CET in January).
	w := MaintenanceWindow{Days: []string{"mon", "tue"}, Start: "23:00", DurationMinutes: 180, TimeZone: "Europe/Berlin"}
	if err := w.Validate(); err != nil {
		t.Fatal(err)
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	at := func(day, h, m int) time.Time { return time.Date(2026, 1, day, h, m, 0, 0, berlin) } // 5 Jan 2026 is a Monday
	for _, tc := range []struct {
		t    time.Time
		open bool
	}{
		{at(5, 22, 59), false},
		{at(5, 23, 0), true},
		{at(6, 1, 59), true}, // Tuesday night, the Monday window
		{at(6, 2, 0), false},
		{at(6, 23, 30), true},
		{at(7, 1, 0), true},    // Wednesday night, the Tuesday window
		{at(7, 23, 30), false}, // Wednesday's own window: none
		{at(11, 0, 30), false},
	} {
		if got := w.Open(tc.t); got != tc.open {
			t.Errorf("Open(%s) = %v", tc.t.Format(time.RFC3339), got)
		}
		if got := w.Open(tc.t.UTC()); got != tc.open {
			t.Errorf("Open(%s in UTC) = %v", tc.t.Format(time.RFC3339), got)
		}
	}
	for name, bad := range map[string]MaintenanceWindow{
		"no days":      {Start: "01:00", DurationMinutes: 60, TimeZone: "UTC"},
		"bad day":      {Days: []string{"mo"}, Start: "01:00", DurationMinutes: 60, TimeZone: "UTC"},
		"bad start":    {Days: []string{"mon"}, Start: "24:00", DurationMinutes: 60, TimeZone: "UTC"},
		"no duration":  {Days: []string{"mon"}, Start: "01:00", TimeZone: "UTC"},
		"too long":     {Days: []string{"mon"}, Start: "01:00", DurationMinutes: MaxWindowMinutes + 1, TimeZone: "UTC"},
		"unknown zone": {Days: []string{"mon"}, Start: "01:00", DurationMinutes: 60, TimeZone: "Mars/Olympus"},
	} {
		if bad.Validate() == nil || bad.Open(at(5, 1, 30)) {
			t.Errorf("%s: accepted", name)
		}
	}
}

// A window from the console or the CLI: validated or refused, and never
// a panic when asked whether it is open.
func FuzzMaintenanceWindow(f *testing.F) {
	for _, s := range []string{`{"days":["mon"],"start":"23:00","duration_minutes":180,"time_zone":"Europe/Berlin"}`,
		`{"days":["sun","sat"],"start":"00:00","duration_minutes":1440,"time_zone":"UTC"}`, `{}`, `{"days":[]}`,
		`{"days":["mon"],"start":"9:00","duration_minutes":-1,"time_zone":"../../etc/passwd"}`} {
		f.Add([]byte(s), int64(1767650400))
	}
	f.Fuzz(func(t *testing.T, body []byte, unix int64) {
		var w MaintenanceWindow
		if json.Unmarshal(body, &w) != nil {
			return
		}
		open := w.Open(time.Unix(unix, 0))
		if w.Validate() != nil && open {
			t.Fatalf("invalid window %s is open", body)
		}
	})
}
