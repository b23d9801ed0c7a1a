package config

import (
	"strings"
	"testing"
)

func TestParseExampleAndDefaults(t *testing.T) {
	c, err := Parse([]byte(`{
	  "devices": {
	    "card_reader": {"kind": "rdm6300", "port": "/dev/qh/rfid"},
	    "printer": {"kind": "escpos", "port": "/dev/qh/printer", "codepage": "cp437", "table": 3},
	    "sensors": [{"kind": "sds011", "port": "/dev/qh/pm", "interval": "5s"}, {"kind": "mhz19", "port": "/dev/qh/co2", "id": "co2"}]
	  }
	}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Devices.Sensors[0].ID != "sds011-0" || c.Devices.Sensors[1].ID != "co2" {
		t.Fatalf("sensor ids %q %q", c.Devices.Sensors[0].ID, c.Devices.Sensors[1].ID)
	}
	if c.Devices.Sensors[0].Interval.Seconds() != 5 || *c.Devices.Printer.Table != 3 {
		t.Fatal("interval or table not parsed")
	}
}

func TestParseRejectsWithClearReasons(t *testing.T) {
	for in, want := range map[string]string{
		`{"devices": {"printer": {"kind": "sds011", "port": "/x"}}}`:                  "a sds011 is not a printer",
		`{"devices": {"card_reader": {"kind": "rdm6300"}}}`:                           "port is required",
		`{"devices": {"sensors": [{"kind": "bme280", "port": "/x"}]}}`:                `unknown kind "bme280"`,
		`{"devices": {"printer": {"kind": "escpos", "port": "/x", "codepage": "x"}}}`: "unknown codepage",
		`{"devices": {"sensors": [{"kind": "mhz19", "port": "/x", "interval": 5}]}}`:  "duration must be a string",
		`{"colour": "blue"}`: "unknown field",
		`{"devices": {"sensors": [{"kind": "mhz19", "port": "/a", "id": "s"}, {"kind": "sds011", "port": "/b", "id": "s"}]}}`: "used twice",
	} {
		_, err := Parse([]byte(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", in, err, want)
		}
	}
}
