package workshop

import (
	"context"
	"encoding/json"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	ws "github.com/quartierhub/quartierhub/internal/workshop"
	"github.com/quartierhub/quartierhub/kiosk/outbox"
)

// Info is what the hub says of a workshop this terminal takes part in.
type Info = api.WorkshopInfo

// Page is one pull of a workshop's events: stamped events after the
// asked cursor, in hub order, decoded (workshop.DecodeEvent).
type Page struct {
	Events []ws.Event
	Cursor uint64
	More   bool
}

// Live message types (hub-server/api).
const (
	LiveEvents = api.LiveEvents
	LiveAck    = api.LiveAck
	LiveError  = api.LiveError
)

// LiveMessage is one message the hub pushed on a live socket.
type LiveMessage struct {
	Type   string
	Events []ws.Event
	// After and Cursor: the events follow hub sequence After and end at
	// Cursor.
	After, Cursor uint64
	IDs           []string // LiveAck
	Error, Code   string   // LiveError
}

// Hub is what the engine needs of the hub: kiosk/hubsync's
// WorkshopClient does it over the signed terminal API (the agent adapts
// it).
type Hub interface {
	// List returns the open workshops the hub lists for this terminal.
	List(ctx context.Context) ([]Info, error)
	// Events returns workshop's events after hub sequence after.
	Events(ctx context.Context, workshop string, after uint64) (Page, error)
	// Live opens workshop's live socket; the hub first sends what
	// follows after.
	Live(ctx context.Context, workshop string, after uint64) (Live, error)
}

// Live is an open live socket.
type Live interface {
	// Send offers the hub events it may not have (idempotent).
	Send(ctx context.Context, events []json.RawMessage) error
	// Receive waits for the hub's next message.
	Receive(ctx context.Context) (LiveMessage, error)
	Close() error
}

// Outbox is where own events go first: kiosk/outbox.
type Outbox interface {
	Submit(ctx context.Context, typ string, class outbox.Class, payload []byte) (outbox.Record, error)
}

// RecordType is the outbox record type of a terminal's workshop event.
const RecordType = api.RecordWorkshopEvent

// Defaults of Opts.
const (
	DefaultListInterval = 30 * time.Second
	DefaultMinBackoff   = time.Second
	DefaultMaxBackoff   = time.Minute
)
