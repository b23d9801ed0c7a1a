// Package config is the terminal's local configuration file: which devices
// sit on which ports, and local limits. It is what a terminal needs before
// it has ever talked to its hub; content and remote settings come from the
// hub later. Every field is optional; zero values are documented defaults.
// The hub's settings.devices may replace sections of "devices" while the
// agent runs (Devices.Overlay); this file stays the base.
//
// Example (JSON):
//
//	{
//	  "devices": {
//	    "card_reader": {"kind": "rdm6300", "port": "/dev/quartierhub/rfid"},
//	    "printer":     {"kind": "escpos",  "port": "/dev/quartierhub/printer", "codepage": "cp858"},
//	    "sensors": [
//	      {"kind": "sds011", "port": "/dev/quartierhub/pm",  "id": "pm-1", "interval": "5s"},
//	      {"kind": "mhz19",  "port": "/dev/quartierhub/co2", "id": "co2-1"}
//	    ]
//	  },
//	  "outbox": {"max_bytes": 268435456},
//	  "speech": {"headphone_jack": "/dev/input/by-path/platform-skl_hda_dsp_generic-event"}
//	}
package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/quartierhub/quartierhub/drivers/escpos"
)

// Config is the whole file.
type Config struct {
	Devices Devices `json:"devices"`
	Outbox  Outbox  `json:"outbox"`
	// CardHashKey is the deployment's key for hashing card UIDs (hex, at
	// least 16 bytes). Empty: a key generated into the data directory on
	// first start (see kiosk/session.LoadCardKey).
	CardHashKey string `json:"card_hash_key,omitempty"`
	// Speech is the window's voice (kiosk/speech).
	Speech Speech `json:"speech,omitzero"`
}

// Speech configures the screen reader's voice: espeak-ng piped into a
// player. Without espeak-ng or the player the window runs silent.
type Speech struct {
	// Espeak is the espeak-ng command; default "espeak-ng".
	Espeak string `json:"espeak,omitempty"`
	// Player plays a WAV stream from stdin (argv); default
	// ["aplay", "-q", "-D", "default"]. ["aplay", "-q", "-D", "null"]
	// discards the sound (a machine without a sound card).
	Player []string `json:"player,omitempty"`
	// HeadphonePlayer plays into the headphones; default Player (the
	// sound card switches to the jack by itself).
	HeadphonePlayer []string `json:"headphone_player,omitempty"`
	// HeadphoneJack is the sound card's jack switch, an evdev device
	// (see /proc/bus/input/devices: "… Headphone"). Empty: no jack is
	// watched; speech starts by a key only and private text (digits of
	// personal data) is never spoken.
	HeadphoneJack string `json:"headphone_jack,omitempty"`
	// Volume is the terminal's normal loudness, espeak-ng's amplitude
	// (1 to 200; default 100; a loud street: 150). A session's volume
	// keys go up and down from it.
	Volume int `json:"volume,omitempty"`
	// Transcript (development) appends each utterance as a line
	// (language, tab, text) to this file: what residents hear, to follow
	// speech without a sound card. Private utterances are never written.
	// Off by default; never on a terminal in service.
	Transcript string `json:"transcript,omitempty"`
}

// Outbox limits.
type Outbox struct {
	// MaxBytes caps the outbox; 0 is the outbox's default (256 MiB).
	MaxBytes int64 `json:"max_bytes,omitempty"`
}

// Devices lists the terminal's serial devices. Any may be absent.
type Devices struct {
	CardReader *Device  `json:"card_reader,omitempty"`
	Printer    *Device  `json:"printer,omitempty"`
	Sensors    []Device `json:"sensors,omitempty"`
}

// Device is one serial device.
type Device struct {
	// Kind is rdm6300 or pn532 (card readers), escpos (printer), sds011
	// or mhz19 (sensors).
	Kind string `json:"kind"`
	// Port is the device path, ideally a stable udev symlink.
	Port string `json:"port"`
	// ID names a sensor in its readings; default KIND-INDEX.
	ID string `json:"id,omitempty"`
	// Baud overrides the device's usual rate.
	Baud int `json:"baud,omitempty"`
	// CodePage (escpos): cp858 (default), cp437, cp850, cp1252, cp1251,
	// cp1254 or cp1258: the code page receipts are printed in when it has
	// their letters. Otherwise a receipt goes out in cp1251 (Ukrainian,
	// Russian), cp1254 (Turkish) or cp1258 (Vietnamese), by Epson's table
	// numbers — unless Table is set: a clone's other tables are unknown,
	// so it prints in CodePage alone (list them in CodePages).
	CodePage string `json:"codepage,omitempty"`
	// Table (escpos) overrides CodePage's ESC t number for clones, 0–255.
	Table *int `json:"table,omitempty"`
	// CodePages (escpos) replaces CodePage and Table: the printer's code
	// pages in order of preference, each "name" or "name:table" for a
	// clone's number (e.g. ["cp858", "cp1251:17"]); each receipt is
	// printed in the first that has all its letters. At most 16.
	CodePages []string `json:"codepages,omitempty"`
	// Columns (escpos) is the characters per line at normal size: 32 on
	// 58 mm paper (the default, safe on any printer), 48 on 80 mm.
	// Receipts are wrapped between words to fit.
	Columns int `json:"columns,omitempty"`
	// Interval is the poll period of polled devices; default the driver's.
	Interval Duration `json:"interval,omitzero"`
}

// MaxCodePages bounds a printer's codepages list.
const MaxCodePages = 16

// PrinterCodePages is the code pages a printer entry offers receipts, in
// order of preference (see CodePage and CodePages); never empty.
func (d Device) PrinterCodePages() ([]escpos.CodePage, error) {
	if len(d.CodePages) > 0 {
		if d.CodePage != "" || d.Table != nil {
			return nil, errors.New("codepages replaces codepage and table: set one or the other")
		}
		if len(d.CodePages) > MaxCodePages {
			return nil, fmt.Errorf("codepages: %d entries, at most %d", len(d.CodePages), MaxCodePages)
		}
		var pages []escpos.CodePage
		seen := map[string]bool{}
		for _, spec := range d.CodePages {
			cp, err := escpos.ParseCodePageTable(spec)
			if err != nil {
				return nil, fmt.Errorf("codepages: %w", err)
			}
			if seen[cp.Name()] {
				return nil, fmt.Errorf("codepages: %s listed twice", cp.Name())
			}
			seen[cp.Name()] = true
			pages = append(pages, cp)
		}
		return pages, nil
	}
	cp := escpos.CP858
	if d.CodePage != "" {
		var err error
		if cp, err = escpos.ParseCodePage(d.CodePage); err != nil {
			return nil, fmt.Errorf("unknown codepage %q: %w", d.CodePage, err)
		}
	}
	if d.Table != nil {
		if *d.Table < 0 || *d.Table > 255 {
			return nil, fmt.Errorf("table %d: the ESC t number is 0 to 255", *d.Table)
		}
		return []escpos.CodePage{cp.WithTable(byte(*d.Table))}, nil
	}
	return escpos.DefaultCodePages(cp), nil
}

// Duration is a time.Duration written as "5s" in JSON.
type Duration struct{ time.Duration }

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string like \"5s\"")
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

// Bounds of a device entry.
const (
	// MinInterval and MaxInterval bound a polled device's interval.
	MinInterval = 10 * time.Millisecond
	MaxInterval = time.Hour
	// MaxBaud is the highest baud rate accepted.
	MaxBaud = 4_000_000
)

var kinds = map[string]string{
	"rdm6300": "card_reader", "pn532": "card_reader",
	"escpos": "printer",
	"sds011": "sensor", "mhz19": "sensor",
}

// Load reads and validates the file at path.
func Load(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	return Parse(b)
}

// Parse decodes and validates a configuration.
func Parse(b []byte) (Config, error) {
	var c Config
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// Validate checks every device entry and fills in sensor ids.
func (c *Config) Validate() error {
	var errs []error
	ports := map[string]string{} // path → the entry using it
	check := func(where string, d *Device, role string) {
		got, ok := kinds[d.Kind]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("%s: unknown kind %q", where, d.Kind))
		case got != role:
			errs = append(errs, fmt.Errorf("%s: a %s is not a %s", where, d.Kind, role))
		}
		switch {
		case d.Port == "":
			errs = append(errs, fmt.Errorf("%s: port is required", where))
		case !filepath.IsAbs(d.Port) || strings.ContainsRune(d.Port, 0):
			errs = append(errs, fmt.Errorf("%s: port %q must be an absolute device path", where, d.Port))
		case ports[filepath.Clean(d.Port)] != "":
			errs = append(errs, fmt.Errorf("%s: port %q is already used by %s", where, d.Port, ports[filepath.Clean(d.Port)]))
		default:
			ports[filepath.Clean(d.Port)] = where
		}
		if d.Baud < 0 || d.Interval.Duration < 0 {
			errs = append(errs, fmt.Errorf("%s: baud and interval must not be negative", where))
		} else if d.Interval.Duration != 0 && (d.Interval.Duration < MinInterval || d.Interval.Duration > MaxInterval) {
			errs = append(errs, fmt.Errorf("%s: interval %v must be between %v and %v", where, d.Interval.Duration, MinInterval, MaxInterval))
		}
		if d.Baud > MaxBaud {
			errs = append(errs, fmt.Errorf("%s: baud %d above %d", where, d.Baud, MaxBaud))
		}
	}
	if d := c.Devices.CardReader; d != nil {
		check("devices.card_reader", d, "card_reader")
	}
	if d := c.Devices.Printer; d != nil {
		check("devices.printer", d, "printer")
		if _, err := d.PrinterCodePages(); err != nil {
			errs = append(errs, fmt.Errorf("devices.printer: %w", err))
		}
		if d.Columns != 0 && (d.Columns < 16 || d.Columns > 96) {
			errs = append(errs, fmt.Errorf("devices.printer: columns %d: a receipt line holds 16 to 96 characters (58 mm paper: 32, 80 mm: 48)", d.Columns))
		}
	}
	seen := map[string]bool{}
	for i := range c.Devices.Sensors {
		d := &c.Devices.Sensors[i]
		check(fmt.Sprintf("devices.sensors[%d]", i), d, "sensor")
		if d.ID == "" {
			d.ID = fmt.Sprintf("%s-%d", d.Kind, i)
		}
		if seen[d.ID] {
			errs = append(errs, fmt.Errorf("devices.sensors[%d]: id %q used twice", i, d.ID))
		}
		seen[d.ID] = true
	}
	errs = append(errs, c.Speech.validate()...)
	if c.Outbox.MaxBytes < 0 {
		errs = append(errs, errors.New("outbox.max_bytes must not be negative"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	return nil
}

// Bounds of the speech section (espeak-ng's ranges).
const (
	MaxSpeechVolume = 200
	maxArgv         = 32
)

func (s Speech) validate() []error {
	var errs []error
	for name, argv := range map[string][]string{"player": s.Player, "headphone_player": s.HeadphonePlayer} {
		if len(argv) > maxArgv {
			errs = append(errs, fmt.Errorf("speech.%s: at most %d arguments", name, maxArgv))
		}
		for i, a := range argv {
			if strings.ContainsRune(a, 0) || i == 0 && a == "" {
				errs = append(errs, fmt.Errorf("speech.%s[%d]: %q is no command argument", name, i, a))
			}
		}
	}
	if strings.ContainsRune(s.Espeak, 0) {
		errs = append(errs, errors.New("speech.espeak: not a command"))
	}
	for name, p := range map[string]string{"headphone_jack": s.HeadphoneJack, "transcript": s.Transcript} {
		if p != "" && (!filepath.IsAbs(p) || strings.ContainsRune(p, 0)) {
			errs = append(errs, fmt.Errorf("speech.%s: %q must be an absolute path", name, p))
		}
	}
	if s.Volume < 0 || s.Volume > MaxSpeechVolume {
		errs = append(errs, fmt.Errorf("speech.volume %d: between 1 and %d (espeak-ng's amplitude)", s.Volume, MaxSpeechVolume))
	}
	return errs
}

// Overlay returns d with the sections of raw (a JSON object of the same
// shape as the file's "devices" section, e.g. the hub's settings.devices)
// replacing d's: a key present in raw replaces that key of d entirely, null
// removes it, an absent key keeps d's. The result is validated as a whole,
// so an unknown kind, a bad or shared port or a bad interval refuses the
// overlay; d itself is not changed. Empty or null raw returns d.
func (d Devices) Overlay(raw json.RawMessage) (Devices, error) {
	out := Devices{CardReader: d.CardReader, Printer: d.Printer, Sensors: append([]Device(nil), d.Sensors...)}
	if t := bytes.TrimSpace(raw); len(t) > 0 && !bytes.Equal(t, []byte("null")) {
		var keys map[string]json.RawMessage
		if err := json.Unmarshal(t, &keys); err != nil || keys == nil {
			return Devices{}, errors.New("config: devices must be a JSON object")
		}
		decode := func(name string, into any) error {
			dec := json.NewDecoder(bytes.NewReader(keys[name]))
			dec.DisallowUnknownFields()
			if err := dec.Decode(into); err != nil {
				return fmt.Errorf("config: devices.%s: %w", name, err)
			}
			return nil
		}
		for name := range keys {
			var err error
			switch name {
			case "card_reader":
				out.CardReader = nil
				err = decode(name, &out.CardReader)
			case "printer":
				out.Printer = nil
				err = decode(name, &out.Printer)
			case "sensors":
				out.Sensors = nil
				err = decode(name, &out.Sensors)
			default:
				err = fmt.Errorf("config: devices: unknown section %q (card_reader, printer, sensors)", name)
			}
			if err != nil {
				return Devices{}, err
			}
		}
	}
	c := Config{Devices: out}
	if err := c.Validate(); err != nil {
		return Devices{}, err
	}
	return c.Devices, nil
}
