package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// RecordWorkshopEvent is the record type of a workshop event a terminal
// authored.
const RecordWorkshopEvent = "workshop_event"

// PathWorkshops lists the open workshops a terminal takes part in.
const PathWorkshops = "/api/v1/workshops"

// WorkshopEventsPath is where a terminal pulls workshop id's events.
func WorkshopEventsPath(id string) string { return PathWorkshops + "/" + id + "/events" }

// WorkshopLivePath is workshop id's WebSocket.
func WorkshopLivePath(id string) string { return PathWorkshops + "/" + id + "/live" }

// Workshop limits.
const (
	// MaxWorkshopEventsPage is the most events one pull answers.
	MaxWorkshopEventsPage = 1000
	// MaxWorkshops is the most workshops the list answers.
	MaxWorkshops = 100
	// MaxLiveEvents is the most events in one message a terminal sends.
	MaxLiveEvents = 100
	// MaxLiveMessageBytes is the largest message a terminal sends.
	MaxLiveMessageBytes = 64 << 10
	// MaxLivePushEvents is the most events in one message the hub pushes;
	// it sends more messages until the terminal is up to date.
	MaxLivePushEvents = 200
	// MaxLivePushBytes is the largest message the hub pushes: its events
	// of at most 8 KiB each and the envelope.
	MaxLivePushBytes = MaxLivePushEvents*(8<<10) + 64<<10
	// LivePingInterval is how often the hub pings a live socket; one that
	// does not answer within the interval is closed.
	LivePingInterval = 5 * time.Second
	// LiveMessagesPerSecond and LiveMessagesBurst bound how often a
	// terminal sends on its socket: beyond them the hub reads its next
	// message later.
	LiveMessagesPerSecond = 5
	LiveMessagesBurst     = 20
)

// Workshop statuses.
const (
	WorkshopDraft = "draft"
	WorkshopOpen  = "open"
	WorkshopEnded = "ended"
)

// WorkshopInfo is one workshop a terminal takes part in.
type WorkshopInfo struct {
	ID     string `json:"id"`
	Title  string `json:"title"`
	Status string `json:"status"` // WorkshopOpen (the list holds no others)
	// JoinURL is the phone page participants open (the QR code the
	// terminal shows); empty when phones may not join or the hub has no
	// public URL.
	JoinURL string `json:"join_url,omitempty"`
	// Spec is the workshop's spec (internal/workshop.Spec).
	Spec json.RawMessage `json:"spec"`
}

// WorkshopList answers GET [PathWorkshops].
type WorkshopList struct {
	Workshops []WorkshopInfo `json:"workshops"`
}

// WorkshopEvents answers GET [WorkshopEventsPath].
type WorkshopEvents struct {
	// Events are the events after the asked cursor, in hub order, each
	// with its hub_seq.
	Events []json.RawMessage `json:"events"`
	// Cursor is the hub sequence of the last event in Events (the asked
	// cursor if there is none): ask after it next.
	Cursor uint64 `json:"cursor"`
	// More says the hub holds events after Cursor.
	More bool `json:"more"`
}

// Types of [LiveMessage].
const (
	LiveEvents = "events" // events: pushed by the hub, or sent by a terminal
	LiveAck    = "ack"    // the hub stored the IDs (or had them)
	LiveError  = "error"  // the hub refused the terminal's last message
)

// LiveMessage is one WebSocket message (text, JSON) of a workshop's live
// socket, either way.
type LiveMessage struct {
	Type string `json:"type"`
	// Events (LiveEvents) are event JSON: from the hub stamped, in hub
	// order; from a terminal its own, not yet acknowledged.
	Events []json.RawMessage `json:"events,omitempty"`
	// After and Cursor (LiveEvents from the hub): the events follow hub
	// sequence After and end at Cursor. A terminal whose own cursor is
	// below After missed some and pulls them.
	After  uint64 `json:"after,omitempty"`
	Cursor uint64 `json:"cursor,omitempty"`
	// IDs (LiveAck) are the event IDs the hub holds now.
	IDs []string `json:"ids,omitempty"`
	// Error and Code (LiveError) say why a message was refused.
	Error string `json:"error,omitempty"`
	Code  string `json:"code,omitempty"`
}

// Errors of the live message decoders (wrapped).
var (
	ErrLiveTooLarge  = errors.New("api: live message too large")
	ErrLiveMalformed = errors.New("api: malformed live message")
)

// liveJSON bounds a live message's shape: events are objects in a list
// in the message, so the depth is the events' own plus two.
var liveJSON = JSONLimits{Depth: MaxJSONDepth, Elements: MaxWorkshopEventsPage}

// DecodeTerminalLive parses a message a terminal sent on its live socket:
// at most MaxLiveMessageBytes, type LiveEvents with 1 to MaxLiveEvents
// events, each a JSON object; nothing else. The events themselves are
// checked by the hub's workshop engine.
func DecodeTerminalLive(b []byte) (LiveMessage, error) {
	var m LiveMessage
	if len(b) > MaxLiveMessageBytes {
		return m, fmt.Errorf("%w: %d bytes, at most %d", ErrLiveTooLarge, len(b), MaxLiveMessageBytes)
	}
	if err := decodeLive(b, &m); err != nil {
		return LiveMessage{}, err
	}
	switch {
	case m.Type != LiveEvents:
		return LiveMessage{}, fmt.Errorf("%w: type %.32q; a terminal sends %q only", ErrLiveMalformed, m.Type, LiveEvents)
	case len(m.Events) == 0:
		return LiveMessage{}, fmt.Errorf("%w: no events", ErrLiveMalformed)
	case len(m.Events) > MaxLiveEvents:
		return LiveMessage{}, fmt.Errorf("%w: %d events, at most %d", ErrLiveTooLarge, len(m.Events), MaxLiveEvents)
	case m.After != 0 || m.Cursor != 0 || m.IDs != nil || m.Error != "" || m.Code != "":
		return LiveMessage{}, fmt.Errorf("%w: a terminal's message carries type and events only", ErrLiveMalformed)
	}
	for i, ev := range m.Events {
		if !isObject(ev) {
			return LiveMessage{}, fmt.Errorf("%w: event %d is not a JSON object", ErrLiveMalformed, i)
		}
	}
	return m, nil
}

// DecodeHubLive parses a message the hub pushed: at most
// MaxLivePushBytes. Unknown fields are ignored and an unknown type is
// returned as it is (for the terminal to skip), so a newer hub may add
// both; a known type must be well-formed.
func DecodeHubLive(b []byte) (LiveMessage, error) {
	var m LiveMessage
	if len(b) > MaxLivePushBytes {
		return m, fmt.Errorf("%w: %d bytes, at most %d", ErrLiveTooLarge, len(b), MaxLivePushBytes)
	}
	if err := liveJSON.Check(b); err != nil {
		return m, fmt.Errorf("%w: %w", ErrLiveMalformed, err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return LiveMessage{}, fmt.Errorf("%w: %w", ErrLiveMalformed, err)
	}
	switch m.Type {
	case LiveEvents:
		if len(m.Events) > MaxLivePushEvents {
			return LiveMessage{}, fmt.Errorf("%w: %d events, at most %d", ErrLiveTooLarge, len(m.Events), MaxLivePushEvents)
		}
		if m.Cursor < m.After || (len(m.Events) > 0 && m.Cursor-m.After < uint64(len(m.Events))) {
			return LiveMessage{}, fmt.Errorf("%w: %d events between cursors %d and %d", ErrLiveMalformed, len(m.Events), m.After, m.Cursor)
		}
		for i, ev := range m.Events {
			if !isObject(ev) {
				return LiveMessage{}, fmt.Errorf("%w: event %d is not a JSON object", ErrLiveMalformed, i)
			}
		}
	case LiveAck:
		if len(m.IDs) > MaxLiveEvents {
			return LiveMessage{}, fmt.Errorf("%w: %d IDs, at most %d", ErrLiveTooLarge, len(m.IDs), MaxLiveEvents)
		}
	}
	return m, nil
}

// decodeLive decodes b strictly: the shape first, then unknown fields
// and trailing data refused.
func decodeLive(b []byte, m *LiveMessage) error {
	if err := liveJSON.Check(b); err != nil {
		return fmt.Errorf("%w: %w", ErrLiveMalformed, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(m); err != nil {
		return fmt.Errorf("%w: %w", ErrLiveMalformed, err)
	}
	if len(bytes.TrimLeft(b[dec.InputOffset():], " \t\r\n")) > 0 {
		return fmt.Errorf("%w: data after the message", ErrLiveMalformed)
	}
	return nil
}
