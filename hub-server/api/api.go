// Package api is the terminal API of the Quartierhub hub: the wire types,
// paths, limits and the request-signing scheme shared by the hub and the
// terminals. It is the only hub package a terminal may import, so it uses
// the standard library only.
//
// # Transport
//
// All bodies are JSON (Content-Type: application/json). Times are RFC 3339
// with optional fractional seconds (Go's time.Time JSON encoding). Every
// 4xx/5xx response carries an [Error] body: a human-readable Error and a
// machine-readable Code (the Code* constants). Every response carries the
// standard Date header, which a terminal may use to estimate its clock
// offset from the hub.
//
// Every JSON body may nest arrays and objects at most [MaxJSONDepth] deep
// and hold at most [MaxJSONElements] values in one array or object
// ([TerminalJSON]); the hub checks this before decoding and answers
// 400 bad_request (too deep) or 413 too_large (too many elements).
// Payloads and bundles the hub stores are within these limits too.
//
// # Enrolment (POST /api/v1/enroll, unauthenticated)
//
// IT staff create a single-use enrolment token on the hub (`hub-server token
// create --terminal NAME --quarter Q`, e.g. "qht_" and 27 URL-safe
// characters); it names the terminal to be and expires (24 h by default).
// The terminal generates an ed25519 key pair,
// keeps the private key, and posts an [EnrollRequest] with the token and
// its public key. The hub stores only the public key and a SHA-256 hash of
// the token; there are no shared secrets. Answers:
//
//   - 200 [EnrollResponse]: the terminal's ID (opaque string), name, quarter
//     and the hub's time. The token is now used.
//   - 400 bad_request: malformed body or public key.
//   - 401 token_unknown, token_used, token_expired.
//   - 409 name_taken: a terminal with the token's name is already enrolled.
//   - 429 too_many_requests with Retry-After (seconds): too many failed
//     attempts from this network (an IPv4 address, an IPv6 /64) or from
//     all together; answered before the body is read. Only failures
//     count, so enrolling a whole fleet with good tokens is never slowed.
//
// # Authentication of every other request
//
// After enrolment every request carries
//
//	Authorization: QH-Ed25519 terminal=<terminal id>,ts=<unix seconds>,sig=<base64 std signature>
//
// where sig is the ed25519 signature by the terminal's private key of
//
//	METHOD "\n" PATH "\n" TS "\n" hex(sha256(BODY))
//
// METHOD is the upper-case HTTP method, PATH the request target as sent
// (path, plus "?" and the raw query if there is one; what
// url.URL.RequestURI returns), TS the same decimal unix seconds as in the
// header, and BODY the body bytes exactly as sent on the wire (the gzip
// stream when Content-Encoding is gzip; empty for GET). [Sign] and
// [SignRequest] build the header; the hub uses [ParseAuth] and
// [VerifySignature]. The hub accepts |hub time − ts| ≤ [MaxClockSkew].
// Failures answer 401 with code auth_malformed, terminal_unknown,
// terminal_revoked, clock_skew (compare the Date header) or bad_signature.
//
// A request with a body also carries
//
//	Content-Digest: sha-256=:<base64 std of sha256(BODY)>:
//
// (RFC 9530; [SignRequest] sets it). The signature covers that hash, so
// the hub checks the signature before it reads the body and refuses a
// stranger without reading anything; a body that does not match its
// digest is a 401 bad_signature. Without the header (terminals from
// before it) the hub reads the body first, from a budget of its own
// that strangers may fill. A terminal has at most [MaxBodiesInFlight]
// requests with a body in progress per endpoint; another answers 429 too_many_requests
// with Retry-After. A body must arrive within 10 s plus 1 s per 32 KiB
// it announces (at most 2 minutes), else 408 timeout.
// A captured request can be replayed within the skew window; every
// authenticated endpoint is idempotent, and production hubs run behind TLS.
//
// # Record upload (POST /api/v1/records, authenticated)
//
// The body is a [Batch], plain or gzip-compressed (Content-Encoding: gzip).
// Limits: at most [MaxBatchRecords] records, [MaxBatchBytes] bytes on the
// wire and [MaxBatchBytesUncompressed] bytes after decompression; beyond
// them the hub answers 413 too_large. Each [Record] must pass
// [Record.Validate]; otherwise the hub answers 400 invalid_record naming the
// first bad record's index. A malformed body answers 400 bad_request, an
// unknown Content-Encoding 415.
//
// A batch is stored all or nothing. Ingest is idempotent: a record is
// identified by (terminal, record ID); a record ID the hub already holds for
// this terminal is acknowledged again but not stored again (the first
// version wins; records are immutable), and counted in
// [BatchAck.Duplicates]. The same ID from another terminal is another
// record. On 200 the [BatchAck] says Stored + Duplicates == len(Records),
// and the terminal may drop the batch from its outbox. Validation does not
// depend on the hub's clock, so a batch that was rejected with 400 will
// always be rejected: the terminal must set it aside rather than retry it.
//
// When the hub is overloaded it answers 503 overloaded with a Retry-After
// header in seconds; the terminal waits at least that long before retrying.
// Any 5xx or network error means "not stored, retry later with the same
// records" — thanks to idempotency a retry never stores twice.
//
// # Ping (GET /api/v1/ping, authenticated)
//
// A no-op that answers 200 [PingResponse] with the hub's time: a cheap way
// to check reachability and credentials.
//
// # Heartbeat (POST /api/v1/heartbeat, authenticated)
//
// Every 30 s (settings.heartbeat_interval) the terminal posts a
// [Heartbeat]: software version, uptime, device states (printer paper,
// sensors' last reading), outbox backlog per class with the oldest age,
// last sync, free disk of its data directory, screen and maintenance
// state, and the configuration version it runs. At most
// [MaxHeartbeatBytes]; 400 bad_request if malformed. The hub keeps it as
// the terminal's current health (one row per terminal, overwritten) and
// writes a history row only when the state's significant part changes or
// every sample interval (15 min). A terminal counts as online while its
// last authenticated request is recent (default 90 s). The answer
// [HeartbeatResponse] carries the hub's time, the version of the
// terminal's effective configuration and its open commands.
//
// Card key: the heartbeat names the key the terminal hashes card UIDs
// with (card_key_id, [CardKeyID]); when it names another key than the
// deployment's — one random key the hub makes once and keeps in its
// store, the same for every hub process — the answer carries that key
// (card_key). It crosses the wire once per terminal, not every 30 s. A
// terminal whose configuration sets card_hash_key keeps its own.
//
// # Configuration (GET /api/v1/config, authenticated)
//
// Answers 200 [ConfigDocument] with the terminal's effective
// configuration: the layers global, quarter:QUARTER and terminal:NAME
// merged in that order — objects merge key by key, arrays and scalars
// replace, null removes a key. The top-level sections are "content"
// ([Content]) and "settings" ([TerminalSettings]); see [Config]. The
// version is a hash of the canonical document and is also the ETag
// (quoted); a request with If-None-Match naming the current version
// answers 304 without a body. The terminal validates a new document with
// [ValidateConfig] and keeps running on its last good, locally cached one
// when the hub is unreachable or sends something invalid.
//
// # Commands (authenticated)
//
// IT staff send commands ([CommandKinds]: maintenance_on with a message,
// maintenance_off, restart, sync_now, test_print, collect_diagnostics,
// screenshot) to one terminal, a quarter or a tag; the hub keeps one
// command per terminal, queued until the terminal takes it, and expires
// it after its TTL. A terminal sees only its own commands:
//
//   - GET /api/v1/commands → 200 [CommandList]: open (queued or
//     delivered, unexpired) commands, oldest first; the same list rides
//     on every heartbeat answer.
//   - POST /api/v1/commands/{id}/ack → 200 [CommandAck]: queued →
//     delivered (idempotent). 404 not_found for an unknown command or
//     another terminal's; 409 command_closed if expired or finished.
//   - POST /api/v1/commands/{id}/result with [CommandResult] → 200
//     [CommandAck]: delivered → done or failed, with a detail for IT
//     staff (at most [MaxCommandDetail] bytes, else 400). Repeating the
//     same report is accepted; 404 and 409 as above.
//
// A terminal journals the commands it took, so a command re-sent after a
// lost answer is not executed twice; restart is acknowledged, its result
// recorded, and reported by the restarted agent.
//
// # Diagnostics (POST /api/v1/diagnostics, authenticated)
//
// The body is [Diagnostics]: the agent's status and its recent log
// records (no personal data), at most [MaxDiagnosticsBytes], uploaded for
// an open collect_diagnostics command named by CommandID. Answers 200
// [DiagnosticsAck] with the bundle's ID, which the collect_diagnostics
// result names; a repeated upload for the same command answers the first
// bundle's ID and stores nothing. 409 not_requested if the terminal has
// no open collect_diagnostics command (answered before the body is read)
// or CommandID names none, 409 command_closed if it expired or finished.
// The hub keeps the newest few bundles per terminal, within a total.
//
// # Screenshots (POST /api/v1/commands/{id}/screenshot, authenticated)
//
// For an open screenshot command the terminal uploads a picture of its
// window: the body is the PNG itself (Content-Type image/png), at most
// [MaxScreenshotBytes], and the request must carry Content-Digest, so
// the hub checks the signature before it reads a byte of the body. 409
// not_requested unless {id} is an open screenshot command of this
// terminal (answered before the body is read), 409 command_closed if it
// expired or finished; 400 bad_request for a body that is not a PNG
// within [MaxScreenshotSide] and [MaxScreenshotPixels] (CheckScreenshot).
// Answers 200 [ScreenshotAck]; a repeated upload for the same command
// answers the first picture's ID. The screenshot command's result names
// it (ScreenshotID). The window takes no picture while a resident's
// session is open: the result is then failed with Reason
// [ReasonResidentSession]. The hub keeps the newest few pictures per
// terminal, within a total.
//
// # Workshops (authenticated)
//
// A terminal that takes part in a participation workshop (the workshop's
// spec lists it) records what happens at it as events of the workshop's
// log. Each event travels as an outbox record of type
// [RecordWorkshopEvent] (class resident), its payload the event's JSON
// without hub_seq; the hub checks it like every event of the log and
// refuses the whole batch (400 invalid_record) if one is malformed or
// names another device than "t:" + the uploading terminal's ID.
//
//   - GET /api/v1/workshops → 200 [WorkshopList]: the open workshops the
//     terminal takes part in.
//   - GET /api/v1/workshops/{id}/events?after=N → 200 [WorkshopEvents]:
//     the workshop's events stamped by the hub after hub sequence N, in
//     hub order, at most [MaxWorkshopEventsPage]; More says there are
//     more. Also once the workshop ended, so a terminal that was away
//     learns how it ended. 404 not_found for a workshop the terminal does
//     not take part in, 400 bad_request for a malformed after.
//   - GET /api/v1/workshops/{id}/live[?after=N]: a WebSocket (RFC 6455),
//     the upgrade request signed like every request. The hub pushes
//     [LiveMessage]s of type [LiveEvents] as events are stamped (with
//     after=N it starts with those after N), pings every
//     [LivePingInterval], and takes the terminal's own events
//     ([LiveEvents], at most [MaxLiveEvents] in one message of at most
//     [MaxLiveMessageBytes], a few a second), answering [LiveAck] with
//     the IDs it stored (or had) or [LiveError] for a message it refused.
//     One socket per terminal and workshop: a new one closes the old
//     (close code 4001); the hub stopping closes it with 1001 (going
//     away), a terminal that answers no ping loses it. 404 as for the
//     events, and for an ended workshop; 503 while the hub stops.
//     The socket is an acceleration only: the outbox still delivers every
//     event, and a terminal that sees a gap (After beyond its cursor)
//     pulls the events over HTTP.
package api

import (
	"encoding/json"
	"time"
)

// Paths of the terminal API.
const (
	PathEnroll  = "/api/v1/enroll"
	PathRecords = "/api/v1/records"
	PathPing    = "/api/v1/ping"
)

// Limits of the terminal API.
const (
	// MaxBatchRecords is the most records one batch may carry.
	MaxBatchRecords = 5000
	// MaxBodiesInFlight is how many requests with a body one terminal may
	// have in progress per endpoint: a terminal pipelines two uploads (the
	// hub decodes one while it stores the other), and after a cut
	// connection it may retry while the hub still finishes the old one.
	MaxBodiesInFlight = 4
	// MaxBatchBytes is the largest request body on the wire (compressed if
	// gzip is used).
	MaxBatchBytes = 4 << 20
	// MaxBatchBytesUncompressed is the largest batch after decompression,
	// and the limit for an uncompressed body.
	MaxBatchBytesUncompressed = 16 << 20
	// MaxPayloadBytes is the largest payload of one record.
	MaxPayloadBytes = 64 << 10
	// MaxTypeLen is the longest record type.
	MaxTypeLen = 64
	// MaxClockSkew is how far a request's signed timestamp may be from the
	// hub's clock.
	MaxClockSkew = 5 * time.Minute
)

// Record classes.
const (
	ClassResident = "resident" // something a resident did: a report, a survey answer
	ClassEvent    = "event"    // something the terminal did or noticed
	ClassSensor   = "sensor"   // an environmental reading
)

// Error codes in [Error.Code].
const (
	CodeBadRequest      = "bad_request"
	CodeInvalidRecord   = "invalid_record"
	CodeTooLarge        = "too_large"
	CodeUnsupported     = "unsupported_media_type"
	CodeTokenUnknown    = "token_unknown"
	CodeTokenUsed       = "token_used"
	CodeTokenExpired    = "token_expired"
	CodeNameTaken       = "name_taken"
	CodeAuthMalformed   = "auth_malformed"
	CodeTerminalUnknown = "terminal_unknown"
	CodeRevoked         = "terminal_revoked"
	CodeClockSkew       = "clock_skew"
	CodeBadSignature    = "bad_signature"
	CodeOverloaded      = "overloaded"
	CodeInternal        = "internal"
	CodeNotFound        = "not_found"
	CodeTooManyRequests = "too_many_requests"
	CodeTimeout         = "timeout"
	CodeNotRequested    = "not_requested"
)

// EnrollRequest is the body of POST [PathEnroll].
type EnrollRequest struct {
	// Token is the enrolment token IT staff created on the hub.
	Token string `json:"token"`
	// PublicKey is the terminal's ed25519 public key (32 bytes), base64
	// standard encoding with padding.
	PublicKey string `json:"public_key"`
	// SoftwareVersion is the terminal's software version, for the fleet view.
	SoftwareVersion string `json:"software_version"`
}

// EnrollResponse answers a successful enrolment.
type EnrollResponse struct {
	TerminalID string    `json:"terminal_id"`
	Name       string    `json:"name"`
	Quarter    string    `json:"quarter"`
	HubTime    time.Time `json:"hub_time"`
}

// Record is one thing a terminal recorded, as uploaded.
type Record struct {
	// ID is a ULID (26 characters, canonical upper-case Crockford base32)
	// the terminal assigned when it recorded the record. Unique per terminal.
	ID string `json:"id"`
	// Type says what the payload is, e.g. "sensor.sds011" or "report".
	// 1–64 characters of a-z, 0-9, '.', '_', '-', starting with a letter.
	Type string `json:"type"`
	// Class is ClassResident, ClassEvent or ClassSensor.
	Class string `json:"class"`
	// CreatedAt is the terminal's time of recording, years 2000–2099.
	CreatedAt time.Time `json:"created_at"`
	// Payload is a JSON object of at most MaxPayloadBytes; see
	// [ValidatePayload] for what it may hold.
	Payload json.RawMessage `json:"payload"`
}

// Batch is the body of POST [PathRecords].
type Batch struct {
	Records []Record `json:"records"`
}

// BatchAck answers a stored batch. Stored + Duplicates is the number of
// records in the batch.
type BatchAck struct {
	Stored     int `json:"stored"`
	Duplicates int `json:"duplicates"`
}

// PingResponse answers GET [PathPing].
type PingResponse struct {
	TerminalID string    `json:"terminal_id"`
	HubTime    time.Time `json:"hub_time"`
}

// Error is the body of every 4xx and 5xx answer.
type Error struct {
	// Error says what went wrong, in English, for logs and IT staff.
	Error string `json:"error"`
	// Code is one of the Code* constants, for programs.
	Code string `json:"code,omitempty"`
}
