// Package localapi is the kiosk agent's control API: HTTP/1.1 with JSON
// bodies over the unix socket DIR/agent.sock, reachable only by local users
// with access to the data directory. The touchscreen window and the
// `kiosk` CLI are its clients; the agent is its only server.
//
// Endpoints (all answers JSON; errors are {"error": message, "code": code}
// where message is safe to show to the person who caused it):
//
//	GET  /v1/status    Status: enrolment, hub reachability, last sync,
//	                   outbox per class, device states
//	POST /v1/records   SubmitRequest → 201 SubmitResponse, sent only after
//	                   the record is durably stored. 400 invalid input,
//	                   507 storage full, 503 agent shutting down.
//	POST /v1/sync      runs a sync round now → SyncResponse (502 if the
//	                   round failed, with the reason)
//
// The window's endpoints (session.go, session_server.go; answered by an
// agent that implements SessionBackend):
//
//	GET  /v1/events    NDJSON stream of Event, one per line (an empty line
//	                   every 15 s keeps it alive): card presented/removed
//	                   with the card's KEYED HASH only (HMAC-SHA256 with the
//	                   deployment key; the raw UID never crosses the
//	                   socket), sensor readings, device state changes, sync
//	                   state and mode (out of order). A new stream starts
//	                   with the current sync state and mode. Slow readers
//	                   lose events rather than slow the agent.
//	GET  /v1/content   api.Content the terminal shows: the hub's
//	                   configuration, else DATA/content.json, else the
//	                   embedded demo content (assets/demo)
//	POST /v1/print     PrintRequest → PrintResponse once printed; 503
//	                   printer_unavailable (no printer, paper out, cover
//	                   open, fault, offline), 400 for a bad receipt
//	POST /v1/tickets   TicketRequest → 201 Ticket: the next waiting number
//	                   of the day, fsync'd before printing (unique per
//	                   terminal and day across restarts), stored as a
//	                   help_ticket record, printed with {number} filled in
//	GET  /v1/sensors   SensorHistory: latest reading per sensor quantity
//	                   and the minute aggregates of the last 24 hours
//	                   (kept in memory by the agent)
//	POST /v1/surveys/responses
//	                   SurveyResponse → 201 SubmitResponse (a
//	                   survey_response record); 409 already_answered when
//	                   this respondent hash answered this survey before
//	                   (remembered in DATA/survey-respondents)
//
// IT staff's screenshot command reaches the window as a capture event
// on GET /v1/events, and the window answers POST /v1/captures/{id} with
// a PNG or …/refusal (capture.go): only it knows whether a resident's
// session is open at that moment.
//
// Card key: the agent hashes card UIDs with the key in the kiosk config's
// card_hash_key (hex) if set; without one it generates a random key into
// DATA/card_hash_key on first start and replaces it with the hub's: the
// hub keeps one random key per deployment and sends it in a heartbeat's
// answer when the heartbeat names another (api.Heartbeat.CardKeyID).
// The agent writes it to DATA/card_hash_key (atomically, 0600) and
// hashes cards with it from then on, also for workshop voters
// (workshop.CardVoter), so one card is one voter and one respondent on
// every terminal. A card_hash_key in the config wins: the hub's key is
// ignored (logged once) and not asked for again while the agent runs.
// At the switch, card hashes change: a card presented just before is
// reported with its old hash, a card checked in to a workshop before
// becomes a new voter, and once-per-card surveys, keyed by the hash,
// count a card answering again as a new respondent once. No key is ever
// logged. The version prefix lets old CLIs keep working.
//
// This package is the wire format only: it imports no package of the
// terminal's engine, and the engine's packages do not import it. The
// agent converts its own types at its edge (kiosk/agent/api.go), the
// window in its client (kiosk/ui/backend), as the hub does between
// hub-server/api and its store.
package localapi

import (
	"time"
)

// SocketName is the socket file inside the agent's data directory.
const SocketName = "agent.sock"

// Error is the body of every error answer.
type Error struct {
	Error string `json:"error"`
	Code  string `json:"code"`
}

// Error codes.
const (
	CodeInvalid     = "invalid"
	CodeFull        = "storage_full"
	CodeUnavailable = "unavailable"
	CodeInternal    = "internal"
	CodeSyncFailed  = "sync_failed"
)

// SubmitRequest asks the agent to store a record. Class is optional: it
// is derived from Type when empty (see ClassOf).
type SubmitRequest struct {
	Type    string `json:"type"`
	Class   string `json:"class,omitempty"`
	Payload any    `json:"payload"`
}

// SubmitResponse confirms a durably stored record.
type SubmitResponse struct {
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	Class     string    `json:"class"`
	CreatedAt time.Time `json:"created_at"`
}

// SyncResponse is the outcome of a sync round.
type SyncResponse struct {
	Sent    int    `json:"sent"`
	Batches int    `json:"batches"`
	Error   string `json:"error,omitempty"`
}

// Status is the agent's view of the terminal.
type Status struct {
	Version  string       `json:"version"`
	DataDir  string       `json:"data_dir"`
	Started  time.Time    `json:"started"`
	Terminal Terminal     `json:"terminal"`
	Sync     SyncStatus   `json:"sync"`
	Outbox   OutboxStatus `json:"outbox"`
	Devices  []Device     `json:"devices"`
	// Fleet is the hub's view: maintenance, configuration, heartbeat.
	Fleet *FleetStatus `json:"fleet,omitempty"`
}

// Terminal is the enrolment state.
type Terminal struct {
	Enrolled   bool   `json:"enrolled"`
	TerminalID string `json:"terminal_id,omitempty"`
	Name       string `json:"name,omitempty"`
	Quarter    string `json:"quarter,omitempty"`
	HubURL     string `json:"hub_url,omitempty"`
	Error      string `json:"error,omitempty"`
}

// SyncStatus is what the sync client knows about the hub.
type SyncStatus struct {
	HubReachable        bool      `json:"hub_reachable"`
	Unauthorized        bool      `json:"unauthorized"`
	LastAttempt         time.Time `json:"last_attempt,omitzero"`
	LastSync            time.Time `json:"last_sync,omitzero"`
	LastError           string    `json:"last_error,omitempty"`
	ConsecutiveFailures int       `json:"consecutive_failures"`
	NextAttempt         time.Time `json:"next_attempt,omitzero"`
	SentRecords         int64     `json:"sent_records"`
	Duplicates          int64     `json:"duplicates"`
}

// OutboxStatus describes the outbox per class.
type OutboxStatus struct {
	Classes   map[string]ClassStatus `json:"classes"`
	UsedBytes int64                  `json:"used_bytes"`
	MaxBytes  int64                  `json:"max_bytes"`
	FileBytes int64                  `json:"file_bytes"`
}

// ClassStatus is one priority class of the outbox.
type ClassStatus struct {
	Count            int64     `json:"count"`
	Bytes            int64     `json:"bytes"`
	Oldest           time.Time `json:"oldest,omitzero"`
	OldestAgeSeconds float64   `json:"oldest_age_seconds"`
	Thinned          int64     `json:"thinned"`
	Evicted          int64     `json:"evicted"`
}

// Device is one configured device as its port owner sees it.
type Device struct {
	Name  string    `json:"name"`
	Kind  string    `json:"kind"`
	Path  string    `json:"path"`
	State string    `json:"state"`
	Since time.Time `json:"since,omitzero"`
	Error string    `json:"error,omitempty"`
	// Detail is device-specific: paper state, last reading, warm-up.
	Detail map[string]any `json:"detail,omitempty"`
}
