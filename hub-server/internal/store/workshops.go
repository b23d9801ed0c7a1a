package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
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
	// gets seq = its HubSeq, in the row and the Body. ReceivedAt is
	// stored as given (zero: now). ErrNotFound, ErrWorkshopFull (nothing
	// stored), ErrWorkshopEvent. Audits it when a.Action is set. No events:
	// nothing happens. The caller checks the events (workshop.DecodeEvent)
	// and bounds Body's size (workshop.MaxEventBytes).
	AppendWorkshopEvents(ctx context.Context, workshop string, evs []WorkshopEvent, a Audit) ([]uint64, error)
	// WorkshopEvents returns the workshop's events with HubSeq > after, in
	// HubSeq order, at most limit (0: all). An unknown workshop has none.
	WorkshopEvents(ctx context.Context, workshop string, after uint64, limit int) ([]WorkshopEvent, error)
	// OnWorkshopAppend sets fn, called after each commit that appended
	// events to workshop logs or dropped a terminal's events, from the
	// committing goroutine and before the appending call returns: fn must
	// not block (hand it over and return).
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

var envelopeKeys = []string{"id", "workshop", "device", "seq", "hub_seq"}

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
	// encoding/json matches struct fields case-insensitively, and the
	// stamped body's keys are sorted: with "id" and "ID" both present the
	// envelope read before and after stamping could differ.
	for k := range m {
		for _, name := range envelopeKeys {
			if k != name && strings.EqualFold(k, name) {
				return nil, fmt.Errorf("%w: key %q spelled in another case", ErrWorkshopEvent, name)
			}
		}
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

// PlannedEvent is one event of an append as a store plans it with
// PlanWorkshopAppend: for the implementations of Workshops.
type PlannedEvent struct {
	Envelope WorkshopEnvelope
	Body     []byte // as given; after planning a new event's stamped body
	// Err is set (before planning, or by it) when the event cannot be
	// appended: AppendWorkshopEvents fails with it, IngestBatch drops the
	// event. Planning skips events with Err set.
	Err        error
	HubSeq     uint64 // after planning: its HubSeq, new or stored
	New        bool   // after planning: to be inserted with HubSeq
	ReceivedAt time.Time
}

// PlanEvents checks the events given to AppendWorkshopEvents and reads
// their envelopes; events without a ReceivedAt get now.
func PlanEvents(workshop string, evs []WorkshopEvent, now time.Time) ([]PlannedEvent, error) {
	out := make([]PlannedEvent, len(evs))
	for i, ev := range evs {
		env, err := DecodeWorkshopEnvelope(ev.Body)
		if err != nil {
			return nil, fmt.Errorf("event %d: %w", i, err)
		}
		switch {
		case ev.Workshop != "" && ev.Workshop != workshop, env.Workshop != workshop:
			return nil, fmt.Errorf("event %d: %w: it belongs to another workshop", i, ErrWorkshopEvent)
		case ev.ID != "" && ev.ID != env.ID, ev.Device != "" && ev.Device != env.Device, ev.Seq != 0 && ev.Seq != env.Seq:
			return nil, fmt.Errorf("event %d: %w: its fields disagree with its body", i, ErrWorkshopEvent)
		case ev.HubSeq != 0 || env.HubSeq != 0:
			return nil, fmt.Errorf("event %d: %w: hub_seq is the store's to set", i, ErrWorkshopEvent)
		}
		at := ev.ReceivedAt
		if at.IsZero() {
			at = now
		}
		out[i] = PlannedEvent{Envelope: env, Body: ev.Body, ReceivedAt: at}
	}
	return out, nil
}

// StoredEventRef is where an event ID is stored already.
type StoredEventRef struct {
	Workshop string
	HubSeq   uint64
}

// PlanWorkshopAppend decides, for the events evs of workshop whose log
// ends at lastSeq, which are new (stamped with the next HubSeqs, in
// order), which are stored already (stored: by event ID, or earlier in
// evs) and which cannot be appended (Err). It returns the log's new
// last HubSeq. The caller holds the workshop's append lock.
func PlanWorkshopAppend(workshop string, lastSeq uint64, evs []PlannedEvent, stored map[string]StoredEventRef) uint64 {
	first := map[string]uint64{} // event ID → HubSeq, for repeats within evs
	for i := range evs {
		e := &evs[i]
		if e.Err != nil {
			continue
		}
		id := e.Envelope.ID
		switch {
		case e.Envelope.Workshop != workshop:
			e.Err = fmt.Errorf("%w: it belongs to another workshop", ErrWorkshopEvent)
			continue
		case e.Envelope.HubSeq != 0:
			e.Err = fmt.Errorf("%w: hub_seq is the store's to set", ErrWorkshopEvent)
			continue
		}
		if hs, ok := first[id]; ok {
			e.HubSeq = hs
			continue
		}
		if ref, ok := stored[id]; ok {
			if ref.Workshop != workshop {
				e.Err = fmt.Errorf("%w: its ID is another workshop's event", ErrWorkshopEvent)
				continue
			}
			e.HubSeq, first[id] = ref.HubSeq, ref.HubSeq
			continue
		}
		if lastSeq >= MaxWorkshopEvents {
			e.Err = fmt.Errorf("%w (%d events)", ErrWorkshopFull, MaxWorkshopEvents)
			continue
		}
		next := lastSeq + 1
		var seq uint64
		if e.Envelope.Device == WorkshopDeviceHub && e.Envelope.Seq == 0 {
			seq = next
		}
		body, err := StampWorkshopEvent(e.Body, next, seq)
		if err != nil {
			e.Err = err
			continue
		}
		if seq != 0 {
			e.Envelope.Seq = seq
		}
		lastSeq = next
		e.Body, e.HubSeq, e.New, first[id] = body, next, true, next
	}
	return lastSeq
}

// WorkshopBatch is an upload's workshop events (records of type
// api.RecordWorkshopEvent), split from its other records by
// SplitWorkshopEvents, for IngestBatch.
type WorkshopBatch struct {
	// Workshops are the workshops named, sorted: the order to take their
	// append locks in, so overlapping batches never deadlock.
	Workshops []string
	// Events are each workshop's events in batch order.
	Events map[string][]PlannedEvent
	// Refused are the events dropped before planning: an unusable
	// envelope, or a device other than the uploading terminal.
	Refused []PlannedEvent
}

// SplitWorkshopEvents returns recs without the workshop events (recs
// itself if it has none) and those events. A terminal may only upload
// events it wrote itself (device "t:" + its ID); the terminal API refuses
// other batches, and the store drops what got past it.
func SplitWorkshopEvents(terminalID string, recs []api.Record, receivedAt time.Time) ([]api.Record, WorkshopBatch) {
	var wb WorkshopBatch
	first := -1
	for i := range recs {
		if recs[i].Type == api.RecordWorkshopEvent {
			first = i
			break
		}
	}
	if first < 0 {
		return recs, wb
	}
	rest := append(make([]api.Record, 0, len(recs)-1), recs[:first]...)
	wb.Events = map[string][]PlannedEvent{}
	device := "t:" + terminalID
	for _, r := range recs[first:] {
		if r.Type != api.RecordWorkshopEvent {
			rest = append(rest, r)
			continue
		}
		env, err := DecodeWorkshopEnvelope(r.Payload)
		if err == nil && env.Device != device {
			err = fmt.Errorf("%w: written by another device than the uploading terminal", ErrWorkshopEvent)
		}
		e := PlannedEvent{Envelope: env, Body: r.Payload, Err: err, ReceivedAt: receivedAt}
		if err != nil {
			wb.Refused = append(wb.Refused, e)
			continue
		}
		if _, ok := wb.Events[env.Workshop]; !ok {
			wb.Workshops = append(wb.Workshops, env.Workshop)
		}
		wb.Events[env.Workshop] = append(wb.Events[env.Workshop], e)
	}
	slices.Sort(wb.Workshops)
	return rest, wb
}

// Len is the number of workshop events the batch had.
func (wb *WorkshopBatch) Len() int {
	n := len(wb.Refused)
	for _, evs := range wb.Events {
		n += len(evs)
	}
	return n
}

// Clone returns a copy of wb as SplitWorkshopEvents made it, for planning
// again (a transaction retried): planning changes the events in place.
func (wb *WorkshopBatch) Clone() WorkshopBatch {
	c := WorkshopBatch{Workshops: wb.Workshops, Refused: wb.Refused, Events: make(map[string][]PlannedEvent, len(wb.Events))}
	for w, evs := range wb.Events {
		c.Events[w] = slices.Clone(evs)
	}
	return c
}

// errUnknownWorkshop is the Err of events of a workshop the store lacks.
var errUnknownWorkshop = fmt.Errorf("%w: no such workshop", ErrNotFound)

// MarkUnknownWorkshop sets the Err of every event of evs not refused yet:
// their workshop does not exist.
func MarkUnknownWorkshop(evs []PlannedEvent) {
	for i := range evs {
		if evs[i].Err == nil {
			evs[i].Err = errUnknownWorkshop
		}
	}
}

// Result counts what planning did with the batch's events (new: to be
// stored) and says what to tell the OnWorkshopAppend hook.
func (wb *WorkshopBatch) Result(terminalID string) (stored int, report WorkshopAppend) {
	report.Terminal, report.Dropped = terminalID, len(wb.Refused)
	for _, w := range wb.Workshops {
		advanced := false
		for _, e := range wb.Events[w] {
			switch {
			case e.Err != nil:
				report.Dropped++
			case e.New:
				stored++
				advanced = true
			}
		}
		if advanced {
			report.Workshops = append(report.Workshops, w)
		}
	}
	return stored, report
}

// LogDrops logs, one line per workshop and reason, the batch's events
// that were acknowledged but dropped: IDs and counts only, never an
// event's content.
func (wb *WorkshopBatch) LogDrops(log *slog.Logger, terminalID string) {
	type key struct{ workshop, reason string }
	counts := map[key]int{}
	var order []key
	add := func(workshop string, err error) {
		k := key{clip(workshop, 64), err.Error()}
		if counts[k] == 0 {
			order = append(order, k)
		}
		counts[k]++
	}
	for _, e := range wb.Refused {
		add(e.Envelope.Workshop, e.Err)
	}
	for _, w := range wb.Workshops {
		for _, e := range wb.Events[w] {
			if e.Err != nil {
				add(w, e.Err)
			}
		}
	}
	for _, k := range order {
		log.Warn("store: workshop events acknowledged but not stored", "terminal", terminalID, "workshop", k.workshop,
			"events", counts[k], "reason", k.reason)
	}
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}
