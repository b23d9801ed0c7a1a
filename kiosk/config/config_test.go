package config

import (
	"fmt"
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
		`{"devices": {"printer": {"kind": "escpos", "port": "/x", "columns": 200}}}`:  "columns 200",
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

// TestPrinterCodePages: codepage alone stays valid and offers the Epson
// tables for the other languages after it; a clone's table keeps it alone;
// codepages lists them with clone numbers, and is checked.
func TestPrinterCodePages(t *testing.T) {
	for in, want := range map[string]string{
		``:                                      "[cp858 (table 19) cp1251 (table 46) cp1254 (table 48) cp1258 (table 52)]",
		`, "codepage": "cp437"`:                 "[cp437 (table 0) cp1251 (table 46) cp1254 (table 48) cp1258 (table 52)]",
		`, "codepage": "cp1251"`:                "[cp1251 (table 46) cp1254 (table 48) cp1258 (table 52)]",
		`, "codepage": "cp858", "table": 13`:    "[cp858 (table 13)]",
		`, "codepages": ["cp858", "cp1251:17"]`: "[cp858 (table 19) cp1251 (table 17)]",
		`, "codepages": ["wpc1258"]`:            "[cp1258 (table 52)]",
	} {
		c, err := Parse([]byte(`{"devices": {"printer": {"kind": "escpos", "port": "/dev/p"` + in + `}}}`))
		if err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		pages, err := c.Devices.Printer.PrinterCodePages()
		if got := fmt.Sprint(pages); err != nil || got != want {
			t.Errorf("%s: %s, %v; want %s", in, got, err, want)
		}
	}
	for in, want := range map[string]string{
		`"codepages": ["cp858", "cp866"]`:              "unknown code page",
		`"codepages": ["cp1251:300"]`:                  "0 to 255",
		`"codepages": ["cp1251", "wpc1251:17"]`:        "cp1251 listed twice",
		`"codepages": ["cp1251"], "codepage": "cp858"`: "set one or the other",
		`"codepages": ["cp1251"], "table": 3`:          "set one or the other",
		`"table": 256`:                                 "table 256",
		`"codepages": ["cp858", "cp437", "cp850", "cp1252", "cp1251", "cp1254", "cp1258", "cp858:1", "cp858:2", "cp858:3", "cp858:4", "cp858:5", "cp858:6", "cp858:7", "cp858:8", "cp858:9", "cp858:10"]`: "at most 16",
	} {
		_, err := Parse([]byte(`{"devices": {"printer": {"kind": "escpos", "port": "/dev/p", ` + in + `}}}`))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", in, err, want)
		}
	}
}

func TestValidateBoundsPortsAndIntervals(t *testing.T) {
	for in, want := range map[string]string{
		`{"devices": {"printer": {"kind": "escpos", "port": "ttyUSB0"}}}`:                                                    "must be an absolute device path",
		`{"devices": {"printer": {"kind": "escpos", "port": "/dev/a"}, "card_reader": {"kind": "pn532", "port": "/dev/a"}}}`: "already used by",
		`{"devices": {"sensors": [{"kind": "mhz19", "port": "/x", "interval": "2h"}]}}`:                                      "must be between",
		`{"devices": {"sensors": [{"kind": "mhz19", "port": "/x", "interval": "1ns"}]}}`:                                     "must be between",
		`{"devices": {"sensors": [{"kind": "mhz19", "port": "/x", "baud": 40000000}]}}`:                                      "above",
	} {
		_, err := Parse([]byte(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", in, err, want)
		}
	}
}

func TestOverlayReplacesSectionsOfTheLocalFile(t *testing.T) {
	local, err := Parse([]byte(`{"devices": {
	    "card_reader": {"kind": "rdm6300", "port": "/dev/qh/rfid"},
	    "printer": {"kind": "escpos", "port": "/dev/qh/printer"},
	    "sensors": [{"kind": "sds011", "port": "/dev/qh/pm", "id": "pm-1"}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	got, err := local.Devices.Overlay([]byte(`{"sensors": [{"kind": "mhz19", "port": "/dev/qh/co2"}], "printer": null}`))
	if err != nil {
		t.Fatal(err)
	}
	if got.CardReader == nil || got.CardReader.Port != "/dev/qh/rfid" || got.Printer != nil ||
		len(got.Sensors) != 1 || got.Sensors[0].Kind != "mhz19" || got.Sensors[0].ID != "mhz19-0" {
		t.Fatalf("overlay: %+v %+v %+v", got.CardReader, got.Printer, got.Sensors)
	}
	if local.Devices.Printer == nil || local.Devices.Sensors[0].ID != "pm-1" {
		t.Fatal("the overlay changed the local configuration")
	}
	if same, err := local.Devices.Overlay(nil); err != nil || same.Printer == nil || len(same.Sensors) != 1 {
		t.Fatalf("empty overlay: %+v, %v", same, err)
	}
	for in, want := range map[string]string{
		`{"sensors": [{"kind": "bme280", "port": "/dev/x"}]}`:                    `unknown kind "bme280"`,
		`{"sensors": [{"kind": "mhz19", "port": "/dev/qh/rfid"}]}`:               "already used by devices.card_reader",
		`{"sensors": [{"kind": "mhz19", "port": "/dev/x", "interval": "soon"}]}`: "invalid duration",
		`{"sensors": [{"kind": "mhz19", "port": "/dev/x", "interval": "-5s"}]}`:  "must not be negative",
		`{"printer": {"kind": "escpos", "port": "/dev/p", "colour": "red"}}`:     "unknown field",
		`{"scanner": {}}`:         `unknown section "scanner"`,
		`["not", "an", "object"]`: "must be a JSON object",
		`{"sensors": [{"kind": "mhz19", "port": "/dev/x", "id": "a"}, {"kind": "mhz19", "port": "/dev/y", "id": "a"}]}`: "used twice",
	} {
		_, err := local.Devices.Overlay([]byte(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", in, err, want)
		}
	}
}

func TestSpeechSection(t *testing.T) {
	c, err := Parse([]byte(`{"speech": {"player": ["aplay", "-q", "-D", "null"], "headphone_jack": "/dev/input/event5",
	  "volume": 120, "transcript": "/tmp/heard.txt"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if s := c.Speech; strings.Join(s.Player, " ") != "aplay -q -D null" || s.HeadphoneJack != "/dev/input/event5" || s.Volume != 120 || s.Transcript != "/tmp/heard.txt" {
		t.Fatalf("%+v", s)
	}
	for in, want := range map[string]string{
		`{"speech": {"player": [""]}}`:                           `speech.player[0]: ""`,
		`{"speech": {"headphone_player": ["aplay", "a\u0000"]}}`: "speech.headphone_player[1]",
		`{"speech": {"headphone_jack": "event5"}}`:               "speech.headphone_jack",
		`{"speech": {"transcript": "heard.txt"}}`:                "speech.transcript",
		`{"speech": {"volume": 201}}`:                            "speech.volume 201",
		`{"speech": {"volume": -1}}`:                             "speech.volume -1",
		`{"speech": {"voice": "de"}}`:                            "unknown field",
	} {
		if _, err := Parse([]byte(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", in, err, want)
		}
	}
}
