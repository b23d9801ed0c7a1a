package store

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"
)

// Errors of the fleet part.
var (
	// ErrCommandClosed: the command expired, finished or failed already.
	ErrCommandClosed = errors.New("store: command expired or finished")
)

// Fleet is what the hub keeps to manage terminals: health, configuration
// layers, commands, diagnostics, alerts and the audit log. Part of Store.
type Fleet interface {
	// TerminalByName returns the terminal with the given name, or ErrNotFound.
	TerminalByName(ctx context.Context, name string) (Terminal, error)
	// SetTerminalTags replaces the terminal's tags (ErrNotFound) and
	// records it in the audit log.
	SetTerminalTags(ctx context.Context, id string, tags []string, a Audit) error

	// SaveHeartbeats stores each heartbeat as its terminal's current
	// health, all in one transaction, with one UPSERT each. A history row
	// is written as well when the digest differs from the stored one, on
	// a terminal's first heartbeat, or when sampleEvery has passed since
	// the last history row. Writes for unknown terminals are skipped. It
	// reports per write whether history was written.
	SaveHeartbeats(ctx context.Context, ws []HeartbeatWrite, sampleEvery time.Duration) ([]bool, error)
	// Health returns a terminal's current health, or ErrNotFound if it
	// never sent a heartbeat. It never reads the history.
	Health(ctx context.Context, terminalID string) (Health, error)
	// Healths returns the current health of every terminal that sent one.
	Healths(ctx context.Context) ([]Health, error)
	// HealthHistory returns a terminal's history rows at or after since,
	// oldest first, at most limit (0: all).
	HealthHistory(ctx context.Context, terminalID string, since time.Time, limit int) ([]HealthSample, error)
	// PruneHealthHistory deletes history rows older than before.
	PruneHealthHistory(ctx context.Context, before time.Time) (int64, error)

	// PutConfigLayer stores a new version of a scope's layer (the
	// previous versions stay), audits it and returns the new version (1, 2, …).
	PutConfigLayer(ctx context.Context, scope string, doc []byte, a Audit) (int64, error)
	// PutConfigLayerIf is PutConfigLayer for an editor: it stores doc only
	// if the scope's current version is still base, the version the editor
	// loaded (0: the scope had no layer), checked and written in one
	// transaction, so of two people editing the same version the second
	// gets ErrVersionConflict and nothing is stored or audited.
	PutConfigLayerIf(ctx context.Context, scope string, doc []byte, base int64, a Audit) (int64, error)
	// ConfigLayers returns the current (highest) version of every scope.
	ConfigLayers(ctx context.Context) ([]ConfigLayer, error)
	// ConfigGeneration changes whenever a layer is put: a cheap check
	// whether cached effective configurations are stale.
	ConfigGeneration(ctx context.Context) (int64, error)

	// CreateCommands stores commands (one per terminal) and audits them.
	CreateCommands(ctx context.Context, cmds []Command, a Audit) error
	// OpenCommands returns the terminal's queued and delivered commands
	// that have not expired at now, oldest first.
	OpenCommands(ctx context.Context, terminalID string, now time.Time) ([]Command, error)
	// AckCommand marks the terminal's command delivered (queued →
	// delivered; delivered stays). ErrNotFound if the terminal has no such
	// command (another terminal's command is not found either),
	// ErrCommandClosed if it expired or finished.
	AckCommand(ctx context.Context, terminalID, id string, at time.Time) (Command, error)
	// FinishCommand records the terminal's result: done or failed. A
	// repeated identical report is accepted. ErrNotFound, ErrCommandClosed
	// (expired, or already finished with another outcome).
	FinishCommand(ctx context.Context, terminalID, id string, ok bool, result string, at time.Time) (Command, error)
	// ExpireCommands sets queued and delivered commands whose expiry is at
	// or before now to expired and returns how many.
	ExpireCommands(ctx context.Context, now time.Time) (int64, error)
	// Commands lists commands matching f, newest first.
	Commands(ctx context.Context, f CommandFilter) ([]Command, error)

	// SaveDiagnostics stores a bundle that terminal d.TerminalID uploaded
	// for its collect_diagnostics command d.CommandID, and returns the
	// bundle stored for that command: d, or the one an earlier upload for
	// it stored (the first wins; d is then not stored). ErrNotFound if
	// the terminal has no such command of that kind, ErrCommandClosed if
	// it finished or expired by d.ReceivedAt. Storage stays bounded: then
	// only the terminal's newest keep.PerTerminal bundles are kept, and
	// the oldest of all are removed while together they hold more than
	// keep.TotalBytes (never the one just stored).
	SaveDiagnostics(ctx context.Context, d Diagnostics, keep DiagnosticsKeep) (Diagnostics, error)
	// Diagnostics returns a bundle by ID (ErrNotFound).
	Diagnostics(ctx context.Context, id string) (Diagnostics, error)

	// SaveScreenshot stores a picture terminal p.TerminalID uploaded for
	// its screenshot command p.CommandID, as SaveDiagnostics stores a
	// bundle: the first upload for a command wins (a repeat gets it
	// back), ErrNotFound if the terminal has no such screenshot command,
	// ErrCommandClosed if it finished or expired by p.ReceivedAt, and only
	// the terminal's newest keep.PerTerminal pictures and the newest of
	// all within keep.TotalBytes are kept (never the one just stored).
	SaveScreenshot(ctx context.Context, p Screenshot, keep ScreenshotKeep) (Screenshot, error)
	// Screenshot returns a picture by ID (ErrNotFound).
	Screenshot(ctx context.Context, id string) (Screenshot, error)
	// Screenshots describes the terminal's pictures, newest first, at
	// most limit (0: all), without their bytes.
	Screenshots(ctx context.Context, terminalID string, limit int) ([]ScreenshotInfo, error)

	// OpenAlert opens an alert for (terminal, kind) or, if one is open,
	// updates its detail and last-seen time. opened says whether it is new.
	OpenAlert(ctx context.Context, al Alert) (opened bool, err error)
	// ResolveAlert resolves the open alert of (terminal, kind), if any.
	ResolveAlert(ctx context.Context, terminalID, kind string, at time.Time) (resolved bool, err error)
	// Alerts lists alerts matching f, newest first.
	Alerts(ctx context.Context, f AlertFilter) ([]Alert, error)
	// UnnotifiedAlerts returns alerts whose opening or resolution has not
	// been sent to the webhook yet, oldest first, at most limit.
	UnnotifiedAlerts(ctx context.Context, limit int) ([]Alert, error)
	// MarkAlertNotified records that the alert's opening (resolved false)
	// or resolution was sent.
	MarkAlertNotified(ctx context.Context, id string, resolved bool, at time.Time) error

	// AckAlert records an acknowledgement of the terminal's open alert id
	// (a repeated one replaces the earlier) and audits it. ErrNotFound if
	// the terminal has no such alert, ErrAlertResolved if it is resolved.
	// The alert stays open until its condition clears.
	AckAlert(ctx context.Context, terminalID, id string, ack AlertAck, a Audit) error
	// AlertEntries lists alerts matching f like Alerts, each with its
	// acknowledgement and whether a mute is active for it at now.
	AlertEntries(ctx context.Context, f AlertFilter, now time.Time) ([]AlertEntry, error)
	// CreateAlertMute stores a mute (ErrNotFound if the terminal is
	// unknown) and audits it.
	CreateAlertMute(ctx context.Context, m AlertMute, a Audit) error
	// AlertMutes lists mutes matching f, newest first.
	AlertMutes(ctx context.Context, f MuteFilter) ([]AlertMute, error)
	// LiftAlertMute ends the terminal's mute id at at and audits it;
	// ErrNotFound if there is no such mute or it ended already.
	LiftAlertMute(ctx context.Context, terminalID, id string, at time.Time, by string, a Audit) error
	// PendingAlertNotices is UnnotifiedAlerts with mutes applied, oldest
	// first, at most limit: an open alert whose opening is unsent and that
	// a mute covers at now is left out (it waits for the mute's end); a
	// resolved alert whose opening is unsent and that a mute covered when
	// it resolved comes with Suppress set. A resolution whose opening was
	// sent is always due, so receivers hear the end of what they heard begin.
	PendingAlertNotices(ctx context.Context, now time.Time, limit int) ([]AlertNotice, error)
	// DiagnosticsList describes the terminal's diagnostics bundles, newest
	// first, at most limit (0: all), without their bodies.
	DiagnosticsList(ctx context.Context, terminalID string, limit int) ([]DiagnosticsInfo, error)

	// AuditLog returns audit entries, newest first, at most limit (0: all).
	AuditLog(ctx context.Context, limit int) ([]Audit, error)
}

// Audit is who did what: one audit log entry.
type Audit struct {
	At      time.Time
	Actor   string // the OS user or "hub"
	Action  string // e.g. config.set, command.send, terminal.tag
	Subject string // e.g. a scope, a target
	Detail  string
}

// HeartbeatWrite is one heartbeat to store.
type HeartbeatWrite struct {
	TerminalID      string
	At              time.Time
	Digest          string // of the state's significant part; a change writes history
	SoftwareVersion string
	State           []byte // the heartbeat JSON
}

// Health is a terminal's current health.
type Health struct {
	TerminalID      string
	ReceivedAt      time.Time
	Digest          string
	HistoryAt       time.Time
	SoftwareVersion string
	State           []byte
}

// HealthSample is one history row.
type HealthSample struct {
	At     time.Time
	Reason string // first, change or sample
	State  []byte
}

// Config scopes.
const (
	ScopeGlobal         = "global"
	ScopeQuarterPrefix  = "quarter:"
	ScopeTerminalPrefix = "terminal:"
)

// ConfigLayer is one version of one scope's configuration document.
type ConfigLayer struct {
	Scope     string // global, quarter:NAME or terminal:NAME
	Version   int64
	Seq       int64
	Document  []byte
	CreatedAt time.Time
	CreatedBy string
}

// ValidScope reports whether scope is global, quarter:NAME or terminal:NAME.
func ValidScope(scope string) bool {
	if scope == ScopeGlobal {
		return true
	}
	for _, p := range []string{ScopeQuarterPrefix, ScopeTerminalPrefix} {
		if name, ok := strings.CutPrefix(scope, p); ok {
			return name != "" && len(name) <= 200
		}
	}
	return false
}

// Command is one command to one terminal.
type Command struct {
	ID          string
	GroupID     string // shared by the commands of one send
	TerminalID  string
	Kind        string
	Message     string
	Target      string // how it was aimed: terminal:NAME, quarter:Q or tag:T
	State       string // api.Command* states
	CreatedAt   time.Time
	CreatedBy   string
	ExpiresAt   time.Time
	DeliveredAt time.Time
	FinishedAt  time.Time
	Result      string
}

// CommandFilter selects commands. Zero fields select everything.
type CommandFilter struct {
	TerminalID string
	State      string
	GroupID    string
	Limit      int
}

// Diagnostics is a bundle a terminal uploaded.
type Diagnostics struct {
	ID         string
	TerminalID string
	CommandID  string
	ReceivedAt time.Time
	Bundle     []byte // api.Diagnostics JSON
}

// DiagnosticsKeep bounds the stored diagnostics bundles (SaveDiagnostics).
type DiagnosticsKeep struct {
	PerTerminal int   // newest bundles kept per terminal, at least 1
	TotalBytes  int64 // of all bundles together
}

// Alert states.
const (
	AlertOpen     = "open"
	AlertResolved = "resolved"
)

// Alert is a condition IT staff should know about.
type Alert struct {
	ID                 string // chosen by the caller of OpenAlert for a new alert
	TerminalID         string
	Kind               string
	State              string
	Detail             string
	FirstSeen          time.Time
	LastSeen           time.Time
	ResolvedAt         time.Time
	NotifiedOpenAt     time.Time
	NotifiedResolvedAt time.Time
}

// AlertFilter selects alerts. Zero fields select everything.
type AlertFilter struct {
	State      string
	TerminalID string
	Kind       string
	Limit      int
}

// NormalizeTags returns tags trimmed, lower-cased, deduplicated and
// sorted, without empty ones. A tag may not contain ',' or '%'.
func NormalizeTags(tags []string) ([]string, error) {
	out := make([]string, 0, len(tags))
	for _, t := range tags {
		t = strings.ToLower(strings.TrimSpace(t))
		if t == "" {
			continue
		}
		if strings.ContainsAny(t, ",%_ ") || len(t) > 64 {
			return nil, errors.New("store: a tag is 1-64 characters without ',', '%', '_' or spaces")
		}
		out = append(out, t)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// EncodeTags is the stored form of normalized tags: ",a,b,".
func EncodeTags(tags []string) string {
	if len(tags) == 0 {
		return ""
	}
	return "," + strings.Join(tags, ",") + ","
}

// DecodeTags parses EncodeTags's form.
func DecodeTags(s string) []string {
	s = strings.Trim(s, ",")
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}
