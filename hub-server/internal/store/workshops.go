package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Errors of the workshops part.
var (
	// ErrJoinCodeTaken: another workshop has that join code.
	ErrJoinCodeTaken = errors.New("store: workshop join code taken")
	// ErrWorkshopExists: a workshop with that ID exists already.
	ErrWorkshopExists = errors.New("store: workshop ID taken")
	// ErrWorkshopFull: the workshop's log holds MaxWorkshopEvents events.
	ErrWorkshopFull = errors.New("store: workshop event log full")
	// ErrWorkshopEvent: an event's envelope is unusable (not a JSON
	// object, ID or device missing, another workshop, already stamped) or
	// its ID belongs to another workshop's event.
	ErrWorkshopEvent = errors.New("store: workshop event refused")
)

// Workshop statuses.
const (
	WorkshopDraft = "draft"
	WorkshopOpen  = "open"
	WorkshopEnded = "ended"
)

// MaxWorkshopEvents is the most events one workshop's log holds; it is
// workshop.MaxEventsPerLog (the store does not import the workshop model;
// TestMaxWorkshopEvents keeps the two equal).
const MaxWorkshopEvents = 100_000

// WorkshopDeviceHub is the device of the events the hub authors (console
// and phones); see AppendWorkshopEvents for what the store does with their
// Seq.
const WorkshopDeviceHub = "hub"

// Workshop is a participation workshop as stored. The workshop's content
// (question, phases, terminals, …) is Spec, the workshop.Spec JSON, which
// the store keeps as given.
type Workshop struct {
	ID       string
	Title    string
	JoinCode string // unique among workshops; compared exactly (normalise before storing and looking up)
	Status   string // WorkshopDraft, WorkshopOpen or WorkshopEnded
	Spec     []byte
	// Version counts the row's changes, from 1: UpdateWorkshop stores a
	// change only if the row is still at the Version it was read at.
	Version   int64
	CreatedBy string
	CreatedAt time.Time
	UpdatedAt time.Time
	// LastSeq is the HubSeq of the log's newest event (0: none). The store
	// keeps it; CreateWorkshop and UpdateWorkshop ignore it. Comparing it
	// is a cheap way to see whether a log advanced.
	LastSeq uint64
}

// WorkshopEvent is one stored event of a workshop's log.
type WorkshopEvent struct {
	ID       string
	Workshop string
	Device   string
	Seq      uint64
	// HubSeq is the hub's gapless sequence in the workshop, from 1.
	HubSeq uint64
	// Body is the event's JSON as stored: as its device wrote it, with
	// "hub_seq" set to HubSeq (and, for a hub event appended with Seq 0,
	// "seq" set to HubSeq). Object keys may be in another order than the
	// author's.
	Body       []byte
	ReceivedAt time.Time
}

// WorkshopAppend tells the hook of OnWorkshopAppend what one committed
// write did to workshop logs.
type WorkshopAppend struct {
	// Terminal is the uploading terminal's ID for IngestBatch, "" for
	// AppendWorkshopEvents.
	Terminal string
	// Workshops are the workshops whose logs got new events, sorted.
	Workshops []string
	// Dropped counts a batch's workshop events that were acknowledged to
	// the terminal but not stored (unknown workshop, full log, wrong
	// device, unusable envelope); IngestBatch logs why.
	Dropped int
}

// Workshops is what the hub keeps for participation workshops: the
// workshops and each one's append-only event log. Events reach a log
// through AppendWorkshopEvents (events the hub authors or receives live)
// and through IngestBatch (a terminal's outbox records of type
// api.RecordWorkshopEvent go to the log, not to the records, in the
// batch's transaction). Either way storing is idempotent by event ID and
// stamps HubSeq, gapless per workshop, also with several hub processes
// on one PostgreSQL database. On PostgreSQL every transaction that
// appends sends NOTIFY qh_workshop with the workshop's ID as payload.
type Workshops interface {
	// CreateWorkshop stores a new workshop (its Version becomes 1,
	// LastSeq 0) and audits it. ErrWorkshopExists, ErrJoinCodeTaken.
	CreateWorkshop(ctx context.Context, w Workshop, a Audit) error
	// Workshop returns the workshop with that ID, or ErrNotFound.
	Workshop(ctx context.Context, id string) (Workshop, error)
	// WorkshopByJoinCode returns the workshop with that join code, or
	// ErrNotFound.
	WorkshopByJoinCode(ctx context.Context, code string) (Workshop, error)
	// Workshops lists all workshops, newest first.
	Workshops(ctx context.Context) ([]Workshop, error)
	// UpdateWorkshop stores w's title, join code, status, spec and update
	// time if the stored row is still at w.Version (else
	// ErrVersionConflict; ErrNotFound, ErrJoinCodeTaken), audits it when
	// a.Action is set, and returns w with its new Version.
	UpdateWorkshop(ctx context.Context, w Workshop, a Audit) (Workshop, error)
	// AppendWorkshopEvents appends evs to the workshop's log, all or
	// nothing, and returns each event's HubSeq. Each event's ID, device
	// and seq are read from its Body (the fields of evs, if set, must
	// agree; Workshop must be "" or the workshop's ID; a Body already
	// carrying a hub_seq is refused). An event whose ID is stored
	// already, or appears earlier in evs, is not stored again: its HubSeq
	// is the stored one. A hub event (device WorkshopDeviceHub) with seq 0
	// gets seq = its HubSeq, in the row and the Body. ErrNotFound,
	// ErrWorkshopFull (nothing stored), ErrWorkshopEvent. Audits it when
	// a.Action is set. The caller bounds Body's size (workshop.MaxEventBytes).
	AppendWorkshopEvents(ctx context.Context, workshop string, evs []WorkshopEvent, a Audit) ([]uint64, error)
	// WorkshopEvents returns the workshop's events with HubSeq > after, in
	// HubSeq order, at most limit (0: all). An unknown workshop has none.
	WorkshopEvents(ctx context.Context, workshop string, after uint64, limit int) ([]WorkshopEvent, error)
	// OnWorkshopAppend sets fn, called after each commit that appended
	// events to workshop logs or dropped a terminal's events, from the
	// committing goroutine: fn must not block (hand it over and return).
	// It sees the appends of this store value only; other processes'
	// come through PostgreSQL's NOTIFY. nil removes it.
	OnWorkshopAppend(fn func(WorkshopAppend))
}

// WorkshopEnvelope is the part of an event's JSON the store reads: which
// workshop it belongs to and who wrote it. Everything else is the
// workshop model's (internal/workshop), which checks the whole event
// before it reaches the store.
type WorkshopEnvelope struct {
	ID       string `json:"id"`
	Workshop string `json:"workshop"`
	Device   string `json:"device"`
	Seq      uint64 `json:"seq"`
	HubSeq   uint64 `json:"hub_seq"`
}

// DecodeWorkshopEnvelope reads body's envelope. It refuses what no store
// could keep: not a JSON object, no ID, no workshop, no device.
func DecodeWorkshopEnvelope(body []byte) (WorkshopEnvelope, error) {
	var e WorkshopEnvelope
	if err := json.Unmarshal(body, &e); err != nil {
		return e, fmt.Errorf("%w: %w", ErrWorkshopEvent, err)
	}
	if e.ID == "" || e.Workshop == "" || e.Device == "" {
		return e, fmt.Errorf("%w: id, workshop and device are required", ErrWorkshopEvent)
	}
	return e, nil
}

// StampWorkshopEvent returns body with "hub_seq" set to hubSeq and, if
// seq is not 0, "seq" set to seq. body must be a JSON object (as
// DecodeWorkshopEnvelope checked).
func StampWorkshopEvent(body []byte, hubSeq, seq uint64) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrWorkshopEvent, err)
	}
	m["hub_seq"] = json.RawMessage(fmt.Sprint(hubSeq))
	if seq != 0 {
		m["seq"] = json.RawMessage(fmt.Sprint(seq))
	}
	// No HTML escaping: the body stays as close to the author's as JSON
	// allows.
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrWorkshopEvent, err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
