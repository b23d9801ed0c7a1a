package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Paths of the fleet part of the terminal API (see the package doc).
const (
	PathHeartbeat   = "/api/v1/heartbeat"
	PathConfig      = "/api/v1/config"
	PathCommands    = "/api/v1/commands"
	PathDiagnostics = "/api/v1/diagnostics"
)

// CommandAckPath is where a terminal acknowledges the delivery of command id.
func CommandAckPath(id string) string { return PathCommands + "/" + id + "/ack" }

// CommandResultPath is where a terminal reports the outcome of command id.
func CommandResultPath(id string) string { return PathCommands + "/" + id + "/result" }

// Fleet limits.
const (
	// MaxHeartbeatBytes is the largest heartbeat body.
	MaxHeartbeatBytes = 64 << 10
	// MaxConfigBytes is the largest configuration document (one layer or
	// the effective document).
	MaxConfigBytes = 4 << 20
	// MaxDiagnosticsBytes is the largest diagnostics bundle on the wire.
	MaxDiagnosticsBytes = 2 << 20
	// MaxCommandResultBytes is the largest command result body.
	MaxCommandResultBytes = 16 << 10
	// MaxCommandDetail is the longest CommandResult.Detail, in bytes.
	MaxCommandDetail = 2000
)

// Error codes of the fleet endpoints.
const (
	CodeCommandClosed = "command_closed" // the command expired or already finished
	CodeInvalidConfig = "invalid_config"
)

// Heartbeat is the body of POST [PathHeartbeat]: the terminal's health.
// Every field is optional; absent means unknown.
type Heartbeat struct {
	SoftwareVersion string    `json:"software_version"`
	StartedAt       time.Time `json:"started_at,omitzero"`
	UptimeSeconds   int64     `json:"uptime_seconds"`
	// Devices are the configured serial devices, in configuration order.
	Devices []DeviceHealth `json:"devices,omitempty"`
	// Outbox is the backlog per class (resident, event, sensor).
	Outbox map[string]Backlog `json:"outbox,omitempty"`
	// LastSync is when the terminal last emptied its outbox to the hub.
	LastSync time.Time `json:"last_sync,omitzero"`
	// DiskFreeBytes and DiskTotalBytes describe the data directory's file
	// system; 0 total means unknown.
	DiskFreeBytes  int64 `json:"disk_free_bytes"`
	DiskTotalBytes int64 `json:"disk_total_bytes"`
	// Screen is what the window reports: e.g. "attract", "session",
	// "maintenance", "off"; "" when no window reported.
	Screen string `json:"screen,omitempty"`
	// Maintenance is true while the terminal shows its out-of-order screen.
	Maintenance bool `json:"maintenance"`
	// ConfigVersion is the configuration version the terminal runs on.
	ConfigVersion string `json:"config_version,omitempty"`
	// Updater is the state of the terminal's updater (update.go); absent
	// on terminals without one.
	Updater *UpdaterStatus `json:"updater,omitempty"`
	// CardKeyID names the card key the terminal hashes card UIDs with
	// ([CardKeyID]); the hub answers with its deployment key when it
	// differs. Absent from older agents, which are sent no key.
	CardKeyID string `json:"card_key_id,omitempty"`
}

// DeviceHealth is one device in a [Heartbeat].
type DeviceHealth struct {
	Name  string    `json:"name"`            // card_reader, printer or a sensor id
	Kind  string    `json:"kind"`            // rdm6300, pn532, escpos, sds011, mhz19
	State string    `json:"state"`           // closed, connected, lost, recovered, fault
	Since time.Time `json:"since,omitzero"`  // of the state
	Error string    `json:"error,omitempty"` // why, for lost and fault
	// Paper is the printer's roll: ok, near_end, out; "" for other devices.
	Paper string `json:"paper,omitempty"`
	// LastReading is a sensor's latest reading time.
	LastReading time.Time `json:"last_reading,omitzero"`
}

// Sensor reports whether d is an environmental sensor.
func (d DeviceHealth) Sensor() bool { return d.Kind == "sds011" || d.Kind == "mhz19" }

// Healthy reports whether d's port is usable.
func (d DeviceHealth) Healthy() bool { return d.State == "connected" || d.State == "recovered" }

// Backlog is one outbox class in a [Heartbeat].
type Backlog struct {
	Count            int64   `json:"count"`
	Bytes            int64   `json:"bytes"`
	OldestAgeSeconds float64 `json:"oldest_age_seconds"`
}

// Validate checks the sizes of a heartbeat's strings and lists.
func (h *Heartbeat) Validate() error {
	if len(h.SoftwareVersion) > 100 || len(h.Screen) > 64 || len(h.ConfigVersion) > 128 {
		return errors.New("software_version, screen or config_version too long")
	}
	if h.CardKeyID != "" && !isLowerHex(h.CardKeyID, CardKeyIDLen) {
		return fmt.Errorf("card_key_id is %d lower-case hex digits", CardKeyIDLen)
	}
	if len(h.Devices) > 64 || len(h.Outbox) > 8 {
		return errors.New("too many devices or outbox classes")
	}
	for class := range h.Outbox {
		// Class names reach alert details and webhook notices.
		if len(class) > 32 {
			return fmt.Errorf("outbox class %.32q…: name too long", class)
		}
	}
	for _, d := range h.Devices {
		if len(d.Name) > 64 || len(d.Kind) > 32 || len(d.State) > 32 || len(d.Paper) > 32 || len(d.Error) > 1000 {
			return fmt.Errorf("device %.64q: field too long", d.Name)
		}
	}
	return h.Updater.Validate()
}

// HeartbeatResponse answers a heartbeat.
type HeartbeatResponse struct {
	HubTime time.Time `json:"hub_time"`
	// ConfigVersion is the version of the terminal's effective
	// configuration; when it differs from what the terminal runs, it
	// fetches GET [PathConfig]. "" when no configuration is set.
	ConfigVersion string `json:"config_version"`
	// Commands are the terminal's open commands (queued or delivered, not
	// expired), oldest first — the same list GET [PathCommands] returns.
	Commands []Command `json:"commands"`
	// Update is the release the terminal may install now, with its
	// quarter's maintenance window; absent when there is none (update.go).
	Update *UpdateOffer `json:"update,omitempty"`
	// CardKey is the deployment's card key (hex, [ParseCardKey]), sent
	// only when the heartbeat's CardKeyID names another key. A terminal
	// whose own configuration sets no card_hash_key hashes card UIDs
	// with it from then on, so that one card is one voter and one
	// respondent on every terminal.
	CardKey string `json:"card_key,omitempty"`
}

// Card keys.
const (
	// CardKeyLen is the deployment card key's length in bytes.
	CardKeyLen = 32
	// CardKeyIDLen is the length of a [CardKeyID] in hex digits.
	CardKeyIDLen = 16
)

// CardKeyID names a card key without revealing it: the first 16 hex
// digits of its SHA-256.
func CardKeyID(key []byte) string {
	sum := sha256.Sum256(key)
	return hex.EncodeToString(sum[:CardKeyIDLen/2])
}

// ParseCardKey decodes a [HeartbeatResponse]'s CardKey: exactly
// CardKeyLen bytes in lower-case hex.
func ParseCardKey(s string) ([]byte, error) {
	if !isLowerHex(s, 2*CardKeyLen) {
		return nil, fmt.Errorf("api: card_key is %d lower-case hex digits", 2*CardKeyLen)
	}
	return hex.DecodeString(s)
}

// Command kinds.
const (
	CommandMaintenanceOn      = "maintenance_on"
	CommandMaintenanceOff     = "maintenance_off"
	CommandRestart            = "restart"
	CommandSyncNow            = "sync_now"
	CommandTestPrint          = "test_print"
	CommandCollectDiagnostics = "collect_diagnostics"
	// CommandScreenshot asks for a picture of the window (screenshot.go).
	CommandScreenshot = "screenshot"
)

// CommandKinds lists every command kind.
var CommandKinds = []string{CommandMaintenanceOn, CommandMaintenanceOff, CommandRestart, CommandSyncNow, CommandTestPrint, CommandCollectDiagnostics, CommandScreenshot}

// ValidCommandKind reports whether k is a command kind.
func ValidCommandKind(k string) bool {
	for _, c := range CommandKinds {
		if c == k {
			return true
		}
	}
	return false
}

// Command states.
const (
	CommandQueued    = "queued"
	CommandDelivered = "delivered"
	CommandDone      = "done"
	CommandFailed    = "failed"
	CommandExpired   = "expired"
)

// Command is something IT staff asked one terminal to do.
type Command struct {
	ID   string `json:"id"`   // a ULID
	Kind string `json:"kind"` // one of CommandKinds
	// Message is shown on the out-of-order screen (maintenance_on).
	Message   string    `json:"message,omitempty"`
	State     string    `json:"state"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// CommandList answers GET [PathCommands].
type CommandList struct {
	Commands []Command `json:"commands"`
}

// CommandResult is the body of POST [CommandResultPath].
type CommandResult struct {
	// OK: done; otherwise failed.
	OK bool `json:"ok"`
	// Detail says what happened, for IT staff (no personal data); at
	// most MaxCommandDetail bytes.
	Detail string `json:"detail,omitempty"`
	// DiagnosticsID names the bundle a collect_diagnostics uploaded.
	DiagnosticsID string `json:"diagnostics_id,omitempty"`
	// ScreenshotID names the picture a screenshot uploaded.
	ScreenshotID string `json:"screenshot_id,omitempty"`
	// Reason is why a command failed, when it is one of [ResultReasons]:
	// the hub then keeps the reason's text (ReasonText) as the detail,
	// which the console shows in its reader's language.
	Reason string `json:"reason,omitempty"`
}

// CommandAck answers an ack or a result: the command's state now.
type CommandAck struct {
	ID    string `json:"id"`
	State string `json:"state"`
}

// Diagnostics is the body of POST [PathDiagnostics].
type Diagnostics struct {
	// CommandID is the collect_diagnostics command it answers, if any.
	CommandID string `json:"command_id,omitempty"`
	// Status is the agent's status (the local API's /v1/status).
	Status json.RawMessage `json:"status"`
	// Logs are the agent's recent log records, oldest first.
	Logs []LogLine `json:"logs"`
}

// LogLine is one structured log record of the agent.
type LogLine struct {
	Time    time.Time         `json:"time"`
	Level   string            `json:"level"`
	Message string            `json:"msg"`
	Attrs   map[string]string `json:"attrs,omitempty"`
}

// DiagnosticsAck answers a stored diagnostics bundle.
type DiagnosticsAck struct {
	ID string `json:"id"`
}

// ConfigDocument answers GET [PathConfig]: the terminal's effective
// configuration and its version (also the ETag, quoted).
type ConfigDocument struct {
	Version  string          `json:"version"`
	Document json.RawMessage `json:"document"`
}

// Config is the shape of a configuration document (effective or one
// layer). Its top-level sections are the only ones allowed.
type Config struct {
	// Content is what the window shows: services, information pages,
	// announcements, surveys, categories, session timeout, languages,
	// service-card and PIN hashes (types in content.go).
	Content json.RawMessage `json:"content,omitempty"`
	// Settings tune the terminal's agent.
	Settings *TerminalSettings `json:"settings,omitempty"`
}

// ConfigSections are the allowed top-level keys of a configuration.
var ConfigSections = []string{"content", "settings"}

// TerminalSettings are the agent settings the hub may set.
type TerminalSettings struct {
	// HeartbeatInterval, e.g. "30s"; default 30s, at least 5s.
	HeartbeatInterval string `json:"heartbeat_interval,omitempty"`
	// SyncInterval is how often an idle terminal syncs, e.g. "30s".
	SyncInterval string `json:"sync_interval,omitempty"`
	// Devices replaces sections of the local configuration's devices
	// (same shape as the kiosk's config file "devices" section: each of
	// card_reader, printer, sensors present here replaces the file's,
	// null removes it). The agent applies a change without restarting,
	// reopening only the devices whose entry changed; it refuses a
	// version whose devices it cannot run (unknown kind, bad or shared
	// port, bad interval), keeps the running one and reports the refusal
	// as a terminal_config_refused record.
	Devices json.RawMessage `json:"devices,omitempty"`
	// Display is how the terminal's screen is mounted and when it sleeps.
	Display *DisplaySettings `json:"display,omitempty"`
}

// DisplaySettings are the screen's settings: the compositor turns the
// picture (a change restarts it, a second's black screen), the window
// blanks the screen at night.
type DisplaySettings struct {
	// Rotation is how far the screen is mounted turned clockwise from its
	// normal orientation, in degrees: 0, 90, 180 or 270 (a landscape panel
	// mounted upright is 90 or 270). The compositor turns the picture back
	// (weston.ini's [output] transform=rotate-N).
	Rotation int `json:"rotation,omitempty"`
	// NightFrom and NightTo ("HH:MM", the terminal's local time, both or
	// neither) are the hours the screen is dark while nobody uses it; a
	// touch wakes it for a while. NightFrom after NightTo spans midnight.
	NightFrom string `json:"night_from,omitempty"`
	NightTo   string `json:"night_to,omitempty"`
}

// Rotations are the allowed values of DisplaySettings.Rotation.
var Rotations = []int{0, 90, 180, 270}

// Night returns the night hours as offsets from local midnight; ok is
// false when none are set.
func (d *DisplaySettings) Night() (from, to time.Duration, ok bool, err error) {
	if d == nil || (d.NightFrom == "" && d.NightTo == "") {
		return 0, 0, false, nil
	}
	if d.NightFrom == "" || d.NightTo == "" {
		return 0, 0, false, errors.New("settings.display: night_from and night_to go together")
	}
	if from, err = clockTime("night_from", d.NightFrom); err != nil {
		return 0, 0, false, err
	}
	if to, err = clockTime("night_to", d.NightTo); err != nil {
		return 0, 0, false, err
	}
	if from == to {
		return 0, 0, false, fmt.Errorf("settings.display: night_from and night_to are both %s", d.NightFrom)
	}
	return from, to, true, nil
}

// Validate checks the rotation and the night hours.
func (d *DisplaySettings) Validate() error {
	if d == nil {
		return nil
	}
	if !slices.Contains(Rotations, d.Rotation) {
		return fmt.Errorf("settings.display: rotation %d must be 0, 90, 180 or 270", d.Rotation)
	}
	_, _, _, err := d.Night()
	return err
}

// clockTime parses "HH:MM" (00:00 to 23:59) into an offset from midnight.
func clockTime(name, v string) (time.Duration, error) {
	digit := func(i int) int {
		if i < len(v) && v[i] >= '0' && v[i] <= '9' {
			return int(v[i] - '0')
		}
		return -100
	}
	h, m := digit(0)*10+digit(1), digit(3)*10+digit(4)
	if len(v) != 5 || v[2] != ':' || h < 0 || h > 23 || m < 0 || m > 59 {
		return 0, fmt.Errorf("settings.display: %s %q must be HH:MM between 00:00 and 23:59", name, v)
	}
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute, nil
}

// Durations parses the settings' intervals; zero when absent.
func (s *TerminalSettings) Durations() (heartbeat, sync time.Duration, err error) {
	parse := func(name, v string, floor time.Duration) (time.Duration, error) {
		if v == "" {
			return 0, nil
		}
		d, err := time.ParseDuration(v)
		if err != nil || d < floor || d > 24*time.Hour {
			return 0, fmt.Errorf("settings.%s: %q must be a duration between %v and 24h", name, v, floor)
		}
		return d, nil
	}
	if heartbeat, err = parse("heartbeat_interval", s.HeartbeatInterval, 5*time.Second); err != nil {
		return 0, 0, err
	}
	sync, err = parse("sync_interval", s.SyncInterval, time.Second)
	return heartbeat, sync, err
}

// ValidateConfig checks an effective configuration document: within
// [TerminalJSON]'s depth and width, well-formed JSON, an object, only
// known top-level sections (ConfigSections), valid settings and, if
// present, complete and valid content ([Content.Validate]).
// It does not depend on the clock.
func ValidateConfig(doc []byte) (Config, error) { return validateConfig(doc, true) }

// ValidateConfigLayer checks one layer as ValidateConfig does, except that
// content may be partial (a quarter's layer may carry only announcements):
// it must only be a JSON object.
func ValidateConfigLayer(doc []byte) (Config, error) { return validateConfig(doc, false) }

func validateConfig(doc []byte, complete bool) (Config, error) {
	var c Config
	if len(doc) > MaxConfigBytes {
		return c, fmt.Errorf("config: larger than %d bytes", MaxConfigBytes)
	}
	// Before any decoder: a document may come from a stranger's editor
	// session or, on a terminal, from the network.
	if err := TerminalJSON.Check(doc); err != nil {
		return c, fmt.Errorf("config: %w", err)
	}
	if !json.Valid(doc) {
		return c, errors.New("config: not well-formed JSON")
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(doc, &top); err != nil || top == nil {
		return c, errors.New("config: must be a JSON object")
	}
	var unknown []string
	for k := range top {
		if k != "content" && k != "settings" {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		return c, fmt.Errorf("config: unknown top-level section(s) %s (allowed: %s)", strings.Join(unknown, ", "), strings.Join(ConfigSections, ", "))
	}
	if s, ok := top["settings"]; ok && !isNull(s) {
		dec := json.NewDecoder(bytes.NewReader(s))
		dec.DisallowUnknownFields()
		c.Settings = new(TerminalSettings)
		if err := dec.Decode(c.Settings); err != nil {
			return c, fmt.Errorf("config: settings: %w", err)
		}
		if _, _, err := c.Settings.Durations(); err != nil {
			return c, fmt.Errorf("config: %w", err)
		}
		if len(c.Settings.Devices) > 0 && !isNull(c.Settings.Devices) && !isObject(c.Settings.Devices) {
			return c, errors.New("config: settings.devices must be an object")
		}
		if err := c.Settings.Display.Validate(); err != nil {
			return c, fmt.Errorf("config: %w", err)
		}
	}
	if ct, ok := top["content"]; ok && !isNull(ct) {
		if !isObject(ct) {
			return c, errors.New("config: content must be a JSON object")
		}
		if complete {
			if err := validateContent(ct); err != nil {
				return c, fmt.Errorf("config: content: %w", err)
			}
		}
		c.Content = ct
	}
	return c, nil
}

func isNull(raw []byte) bool { return string(bytes.TrimSpace(raw)) == "null" }
