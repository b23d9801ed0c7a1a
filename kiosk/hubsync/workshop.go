package hubsync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/internal/workshop"
)

// WorkshopClient makes the terminal's workshop requests to the hub — the
// workshops it takes part in, a workshop's events, its live socket —
// each signed with the terminal's key. It does not retry: the terminal's
// workshop loop calls again. What the hub sends is checked as the hub
// checks what terminals send: sizes bounded, every event decoded with
// workshop.DecodeEvent.
type WorkshopClient struct {
	creds Credentials
	http  *http.Client
	now   func() time.Time
}

// WorkshopClientOpts configures a WorkshopClient. Zero values are the
// defaults.
type WorkshopClientOpts struct {
	// HTTPClient defaults to one with a 30s timeout; for a live socket
	// the timeout bounds the handshake only.
	HTTPClient *http.Client
	Now        func() time.Time
}

// NewWorkshopClient returns a client for the terminal creds describes.
func NewWorkshopClient(creds Credentials, o WorkshopClientOpts) *WorkshopClient {
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &WorkshopClient{creds: creds, http: o.HTTPClient, now: o.Now}
}

// maxWorkshopAnswer bounds an answer's body: a page of the largest events.
const maxWorkshopAnswer = api.MaxWorkshopEventsPage*workshop.MaxEventBytes + 1<<20

// List returns the open workshops the terminal takes part in.
func (c *WorkshopClient) List(ctx context.Context) ([]api.WorkshopInfo, error) {
	var out api.WorkshopList
	if err := c.get(ctx, api.PathWorkshops, &out); err != nil {
		return nil, err
	}
	if len(out.Workshops) > api.MaxWorkshops {
		return nil, fmt.Errorf("hubsync: workshops: %d listed, at most %d", len(out.Workshops), api.MaxWorkshops)
	}
	for _, w := range out.Workshops {
		if w.ID == "" || len(w.ID) > workshop.MaxIDLen {
			return nil, fmt.Errorf("hubsync: workshops: a workshop ID of %d bytes", len(w.ID))
		}
	}
	return out.Workshops, nil
}

// WorkshopPage is a page of a workshop's events as the hub stamped them.
type WorkshopPage struct {
	// Events follow the asked cursor in hub order, each with its HubSeq.
	Events []workshop.Event
	// Cursor is the last event's HubSeq (the asked cursor if none): ask
	// after it next.
	Cursor uint64
	// More: the hub holds events after Cursor.
	More bool
}

// Events returns workshop id's events after hub sequence after. A
// workshop the terminal does not (or no longer) take part in is a
// *HubError with status 404.
func (c *WorkshopClient) Events(ctx context.Context, id string, after uint64) (WorkshopPage, error) {
	var out api.WorkshopEvents
	path := api.WorkshopEventsPath(id) + "?after=" + strconv.FormatUint(after, 10)
	if err := c.get(ctx, path, &out); err != nil {
		return WorkshopPage{}, err
	}
	if len(out.Events) > api.MaxWorkshopEventsPage {
		return WorkshopPage{}, fmt.Errorf("hubsync: workshop events: %d in a page, at most %d", len(out.Events), api.MaxWorkshopEventsPage)
	}
	evs, err := hubEvents(id, after, out.Events)
	if err != nil {
		return WorkshopPage{}, fmt.Errorf("hubsync: workshop events: %w", err)
	}
	if len(evs) > 0 && out.Cursor != evs[len(evs)-1].HubSeq || len(evs) == 0 && out.Cursor != after {
		return WorkshopPage{}, fmt.Errorf("hubsync: workshop events: cursor %d does not end the page", out.Cursor)
	}
	return WorkshopPage{Events: evs, Cursor: out.Cursor, More: out.More}, nil
}

// hubEvents decodes events the hub stamped: of workshop id, with
// consecutive hub sequences after after.
func hubEvents(id string, after uint64, raws []json.RawMessage) ([]workshop.Event, error) {
	evs := make([]workshop.Event, len(raws))
	for i, raw := range raws {
		ev, err := workshop.DecodeEvent(raw)
		if err != nil {
			return nil, fmt.Errorf("event %d: %w", i, err)
		}
		if ev.Workshop != id {
			return nil, fmt.Errorf("event %d belongs to workshop %.64q", i, ev.Workshop)
		}
		if ev.HubSeq != after+uint64(i)+1 {
			return nil, fmt.Errorf("event %d has hub sequence %d after %d", i, ev.HubSeq, after)
		}
		evs[i] = ev
	}
	return evs, nil
}

func (c *WorkshopClient) get(ctx context.Context, path string, out any) error {
	hubURL, terminalID, key, err := c.creds()
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNotEnrolled, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(hubURL, "/")+path, nil)
	if err != nil {
		return fmt.Errorf("hubsync: %w", err)
	}
	api.SignRequest(req, key, terminalID, c.now(), nil)
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("hubsync: GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return refusal(resp)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxWorkshopAnswer+1))
	if err != nil {
		return fmt.Errorf("hubsync: GET %s: read answer: %w", path, err)
	}
	if len(body) > maxWorkshopAnswer {
		return fmt.Errorf("hubsync: GET %s: answer larger than %d bytes", path, maxWorkshopAnswer)
	}
	if err := api.TerminalJSON.Check(body); err != nil {
		return fmt.Errorf("hubsync: GET %s: %w", path, err)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("hubsync: GET %s: read answer: %w", path, err)
	}
	return nil
}

// refusal reads the hub's refusal.
func refusal(resp *http.Response) *HubError {
	he := &HubError{Status: resp.StatusCode, Msg: http.StatusText(resp.StatusCode)}
	var e api.Error
	if resp.Body != nil && json.NewDecoder(io.LimitReader(resp.Body, 1024)).Decode(&e) == nil {
		he.Code, he.Msg = e.Code, e.Error
	}
	return he
}

// LiveConn is a workshop's live socket. Receive must be called in a loop
// for as long as the socket is used: it also answers the hub's pings,
// and a terminal that does not answer within api.LivePingInterval loses
// the socket. Send may be called concurrently with Receive.
type LiveConn struct {
	conn     *websocket.Conn
	workshop string
}

// LiveMessage is what the hub sent on a live socket.
type LiveMessage struct {
	Type string // api.LiveEvents, api.LiveAck or api.LiveError
	// Events (api.LiveEvents) follow hub sequence After, in hub order, up
	// to Cursor. After beyond the terminal's cursor means it missed
	// events: pull them with Events.
	Events        []workshop.Event
	After, Cursor uint64
	// IDs (api.LiveAck) are the terminal's events the hub holds now.
	IDs []string
	// Error and Code (api.LiveError) say why the hub refused a message.
	Error, Code string
}

// Close codes the hub ends a live socket with besides the standard ones.
const (
	// LiveReplaced: the terminal opened a newer socket for the workshop.
	LiveReplaced websocket.StatusCode = 4001
)

// Live opens workshop id's live socket; the hub first sends the events
// after hub sequence after (as many messages as it takes), then each
// new event as it is stamped. Close it when done.
func (c *WorkshopClient) Live(ctx context.Context, id string, after uint64) (*LiveConn, error) {
	hubURL, terminalID, key, err := c.creds()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotEnrolled, err)
	}
	path := api.WorkshopLivePath(id) + "?after=" + strconv.FormatUint(after, 10)
	hdr := http.Header{}
	hdr.Set("Authorization", api.Sign(key, terminalID, http.MethodGet, path, c.now(), nil))
	conn, resp, err := websocket.Dial(ctx, strings.TrimRight(hubURL, "/")+path, &websocket.DialOptions{HTTPClient: c.http, HTTPHeader: hdr})
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			return nil, refusal(resp)
		}
		return nil, fmt.Errorf("hubsync: workshop live: %w", err)
	}
	conn.SetReadLimit(api.MaxLivePushBytes)
	return &LiveConn{conn: conn, workshop: id}, nil
}

// Receive returns the hub's next message; messages of a type this
// terminal does not know are skipped. An error ends the socket:
// websocket.CloseStatus(err) tells a close code (LiveReplaced, or
// websocket.StatusGoingAway when the hub stops).
func (l *LiveConn) Receive(ctx context.Context) (LiveMessage, error) {
	for {
		typ, b, err := l.conn.Read(ctx)
		if err != nil {
			return LiveMessage{}, fmt.Errorf("hubsync: workshop live: %w", err)
		}
		if typ != websocket.MessageText {
			l.conn.Close(websocket.StatusUnsupportedData, "text messages only")
			return LiveMessage{}, errors.New("hubsync: workshop live: binary message")
		}
		m, err := api.DecodeHubLive(b)
		if err != nil {
			l.conn.Close(websocket.StatusInvalidFramePayloadData, "malformed message")
			return LiveMessage{}, fmt.Errorf("hubsync: workshop live: %w", err)
		}
		out := LiveMessage{Type: m.Type, After: m.After, Cursor: m.Cursor, IDs: m.IDs, Error: m.Error, Code: m.Code}
		switch m.Type {
		case api.LiveEvents:
			if out.Events, err = hubEvents(l.workshop, m.After, m.Events); err != nil {
				l.conn.Close(websocket.StatusInvalidFramePayloadData, "malformed event")
				return LiveMessage{}, fmt.Errorf("hubsync: workshop live: %w", err)
			}
			return out, nil
		case api.LiveAck, api.LiveError:
			return out, nil
		}
	}
}

// Send sends the terminal's own events (their JSON as in its outbox),
// in as many messages as the hub's limits take. The hub answers each
// message with an ack or an error, which Receive returns.
func (l *LiveConn) Send(ctx context.Context, events []json.RawMessage) error {
	for len(events) > 0 {
		n, size := 0, len(`{"type":"events","events":[]}`)
		for n < len(events) && n < api.MaxLiveEvents && size+len(events[n])+1 <= api.MaxLiveMessageBytes {
			size += len(events[n]) + 1
			n++
		}
		if n == 0 {
			return fmt.Errorf("hubsync: workshop live: an event of %d bytes does not fit a message", len(events[0]))
		}
		// Built by hand: the events go as they are (json.Marshal would
		// escape and so may grow them past the limit counted above).
		b := make([]byte, 0, size)
		b = append(b, `{"type":"events","events":[`...)
		for i, ev := range events[:n] {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, ev...)
		}
		b = append(b, "]}"...)
		if err := l.conn.Write(ctx, websocket.MessageText, b); err != nil {
			return fmt.Errorf("hubsync: workshop live: %w", err)
		}
		events = events[n:]
	}
	return nil
}

// Close ends the socket.
func (l *LiveConn) Close() error {
	return l.conn.Close(websocket.StatusNormalClosure, "")
}
