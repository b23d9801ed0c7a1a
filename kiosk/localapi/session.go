package localapi

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
)

// Event types on GET /v1/events.
const (
	EventCard    = "card"    // a card presented or removed: its keyed hash only
	EventReading = "reading" // a sensor reading
	EventDevice  = "device"  // a device changed state
	EventSync    = "sync"    // the sync state changed
	EventMode    = "mode"    // the terminal went into or out of maintenance
	// EventCapture (capture.go): the agent asks for a picture.
	// EventWorkshop (workshop.go): the workshop's state changed.
)

// Event is one line of the GET /v1/events stream (NDJSON). Exactly one of
// the pointers is set, as Type says.
type Event struct {
	Type    string          `json:"type"`
	Time    time.Time       `json:"time"`
	Card    *CardEvent      `json:"card,omitempty"`
	Reading *Reading        `json:"reading,omitempty"`
	Device  *DeviceEvent    `json:"device,omitempty"`
	Sync    *SyncStatus     `json:"sync,omitempty"`
	Mode    *Mode           `json:"mode,omitempty"`
	Capture *CaptureRequest `json:"capture,omitempty"`
	// Workshop (workshop.go): the workshop's state changed.
	Workshop *WorkshopNote `json:"workshop,omitempty"`
}

// CardEvent is a card at the reader. Hash is the hex HMAC-SHA256 of the UID
// with the deployment's card key; the UID itself never leaves the agent.
type CardEvent struct {
	Presented bool   `json:"presented"`
	Hash      string `json:"hash"`
}

// Reading is one sensor value.
type Reading struct {
	Sensor   string    `json:"sensor"`
	Quantity string    `json:"quantity"` // pm25, pm10, co2
	Unit     string    `json:"unit"`
	Value    float64   `json:"value"`
	WarmUp   bool      `json:"warm_up,omitempty"`
	At       time.Time `json:"at"`
}

// DeviceEvent is a device state change.
type DeviceEvent struct {
	Device string `json:"device"`
	Kind   string `json:"kind"`
	State  string `json:"state"`
	Detail string `json:"detail,omitempty"`
}

// Mode says whether the terminal serves residents.
type Mode struct {
	// OutOfOrder is set by a maintenance command or a fatal fault.
	OutOfOrder bool `json:"out_of_order"`
	// Reason is for staff (service menu, logs), not for residents.
	Reason string `json:"reason,omitempty"`
}

// Receipt is a print job in JSON: blocks from top to bottom (see
// drivers/escpos: Text, QR, Feed, Cut).
type Receipt struct {
	Blocks []ReceiptBlock `json:"blocks"`
}

// Receipt block kinds.
const (
	BlockText = "text"
	BlockQR   = "qr"
	BlockFeed = "feed"
	BlockCut  = "cut"
)

// ReceiptBlock is one block; the fields used depend on Kind.
type ReceiptBlock struct {
	Kind  string `json:"kind"`
	Text  string `json:"text,omitempty"`  // text; QR data
	Align string `json:"align,omitempty"` // left (default), centre, right
	Bold  bool   `json:"bold,omitempty"`
	// Size multiplies width and height of text, 1–8; 0 means 1.
	Size int `json:"size,omitempty"`
	// Lines to feed (feed); module size (qr, 0 = default).
	Lines int `json:"lines,omitempty"`
}

// PrintRequest is the body of POST /v1/print.
type PrintRequest struct {
	Receipt Receipt `json:"receipt"`
}

// PrintResponse confirms a printed receipt.
type PrintResponse struct {
	Bytes int `json:"bytes"`
}

// TicketRequest is the body of POST /v1/tickets. The receipt's text and QR
// blocks may contain {number}, replaced by the ticket number.
type TicketRequest struct {
	Receipt Receipt `json:"receipt"`
}

// Ticket is a waiting number, unique on this terminal for Day.
type Ticket struct {
	Number int    `json:"number"`
	Day    string `json:"day"` // YYYY-MM-DD, local time
	// RecordID is the help_ticket record in the outbox.
	RecordID string `json:"record_id"`
}

// SensorHistory is the body of GET /v1/sensors.
type SensorHistory struct {
	// Latest is the last reading of each sensor quantity.
	Latest []Reading `json:"latest"`
	// Minutes are minute aggregates of the last 24 hours, oldest first;
	// the agent keeps them across restarts (DATA/sensor-history.db).
	Minutes []Minute `json:"minutes"`
}

// Minute is one sensor quantity's statistics over one minute.
type Minute struct {
	Sensor   string    `json:"sensor"`
	Quantity string    `json:"quantity"`
	Unit     string    `json:"unit"`
	Minute   time.Time `json:"minute"`
	Mean     float64   `json:"mean"`
	Min      float64   `json:"min"`
	Max      float64   `json:"max"`
}

// SurveyResponse is the body of POST /v1/surveys/responses. Respondent is
// a keyed hash (see kiosk/session.Respondent): the agent refuses a second
// response with the same Survey and Respondent with 409 already_answered.
type SurveyResponse struct {
	Survey     string            `json:"survey"`
	Respondent string            `json:"respondent"`
	Once       string            `json:"once"`
	Language   string            `json:"language"`
	Answers    map[string]Answer `json:"answers"`
}

// Answer is the answer to one question: Choices (single, multiple), Scale
// or Text.
type Answer struct {
	Choices []string `json:"choices,omitempty"`
	Scale   *int     `json:"scale,omitempty"`
	Text    string   `json:"text,omitempty"`
}

// Content returns what the terminal shows.
func (c *Client) Content(ctx context.Context) (api.Content, error) {
	var out api.Content
	err := c.do(ctx, http.MethodGet, "/v1/content", nil, &out)
	return out, err
}

// Print prints a receipt.
func (c *Client) Print(ctx context.Context, r Receipt) (PrintResponse, error) {
	var out PrintResponse
	err := c.do(ctx, http.MethodPost, "/v1/print", PrintRequest{Receipt: r}, &out)
	return out, err
}

// Ticket draws the next waiting number and prints it.
func (c *Client) Ticket(ctx context.Context, req TicketRequest) (Ticket, error) {
	var out Ticket
	err := c.do(ctx, http.MethodPost, "/v1/tickets", req, &out)
	return out, err
}

// Sensors returns the latest readings and the last 24 hours.
func (c *Client) Sensors(ctx context.Context) (SensorHistory, error) {
	var out SensorHistory
	err := c.do(ctx, http.MethodGet, "/v1/sensors", nil, &out)
	return out, err
}

// Respond stores a survey response once.
func (c *Client) Respond(ctx context.Context, r SurveyResponse) (SubmitResponse, error) {
	var out SubmitResponse
	err := c.do(ctx, http.MethodPost, "/v1/surveys/responses", r, &out)
	return out, err
}

// Events streams the agent's events until ctx ends or the stream breaks;
// the channel is closed then. The agent drops events for a reader that
// falls behind, so read promptly.
func (c *Client) Events(ctx context.Context) (<-chan Event, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://agent/v1/events", nil)
	if err != nil {
		return nil, fmt.Errorf("localapi: %w", err)
	}
	hc := *c.http
	hc.Timeout = 0 // a stream
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("localapi: events: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("localapi: events: agent answered %s", resp.Status)
	}
	out := make(chan Event, 64)
	go func() {
		defer close(out)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			var e Event
			if json.Unmarshal(sc.Bytes(), &e) != nil {
				continue
			}
			select {
			case out <- e:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

// Error codes and sentinels of the session endpoints.
const (
	CodeAlreadyAnswered = "already_answered"
	CodePrinter         = "printer_unavailable"
)

var (
	// ErrAlreadyAnswered: this respondent has answered this survey.
	ErrAlreadyAnswered = errors.New("localapi: survey already answered")
	// ErrPrinter: no printer, or it cannot print now (paper, cover, fault).
	ErrPrinter = errors.New("localapi: printer unavailable")
)
