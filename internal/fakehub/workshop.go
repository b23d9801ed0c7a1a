package fakehub

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/coder/websocket"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/internal/workshop"
)

// The workshop part of the terminal API, as the real hub speaks it: the
// list of open workshops a terminal takes part in, a workshop's events
// in pages, the live socket (pushes, the terminal's own events acked),
// and workshop_event records taken into the log from record batches
// (checked as the real hub checks them). Events are stamped with a
// gapless hub sequence, idempotently by event ID. The fake does not
// ping its sockets; DropLive cuts them.

// fakeWorkshop is one workshop the hub holds (Hub.workshops, under
// Hub.mu).
type fakeWorkshop struct {
	info      api.WorkshopInfo
	terminals []string
	events    []workshop.Event // in hub order: events[i].HubSeq == i+1
	ids       map[string]uint64
	changed   chan struct{} // closed and replaced when the log grows or the workshop ends
	live      map[*liveConn]struct{}
}

// liveConn is an open live socket.
type liveConn struct {
	terminal, workshop string
	conn               *websocket.Conn
	cancel             context.CancelFunc
}

// AddWorkshop adds an open workshop in which the terminals take part
// (info.Status is set to open, an empty Spec to {}). Adding it again
// replaces its info and terminals and keeps its log.
func (h *Hub) AddWorkshop(info api.WorkshopInfo, terminals ...string) {
	info.Status = api.WorkshopOpen
	if len(info.Spec) == 0 {
		info.Spec = json.RawMessage(`{}`)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.workshops == nil {
		h.workshops = map[string]*fakeWorkshop{}
	}
	w := h.workshops[info.ID]
	if w == nil {
		w = &fakeWorkshop{ids: map[string]uint64{}, changed: make(chan struct{}), live: map[*liveConn]struct{}{}}
		h.workshops[info.ID] = w
		h.workshopOrder = append(h.workshopOrder, info.ID)
	}
	w.info, w.terminals = info, slices.Clone(terminals)
}

// EndWorkshop ends a workshop: it leaves the list, its events can no
// longer be pulled and its live sockets close.
func (h *Hub) EndWorkshop(id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if w := h.workshops[id]; w != nil {
		w.info.Status = api.WorkshopEnded
		close(w.changed)
		w.changed = make(chan struct{})
	}
}

// AppendEvent stores an event as the hub would (one the console or a
// phone authored, or a terminal's), stamped with the workshop's next
// hub sequence, and pushes it to the live sockets. It returns the hub
// sequence: the stored one if the ID is there already.
func (h *Hub) AppendEvent(ev workshop.Event) uint64 {
	h.t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	seq, err := h.appendLocked(ev)
	if err != nil {
		h.t.Fatalf("fakehub: %v", err)
	}
	return seq
}

// appendLocked stamps and stores ev; an unknown workshop is an error.
func (h *Hub) appendLocked(ev workshop.Event) (uint64, error) {
	w := h.workshops[ev.Workshop]
	if w == nil {
		return 0, fmt.Errorf("no workshop %q", ev.Workshop)
	}
	if seq, ok := w.ids[ev.ID]; ok {
		return seq, nil
	}
	ev.HubSeq = uint64(len(w.events)) + 1
	if ev.Device == workshop.DeviceHub && ev.Seq == 0 {
		ev.Seq = ev.HubSeq
	}
	w.events = append(w.events, ev)
	w.ids[ev.ID] = ev.HubSeq
	close(w.changed)
	w.changed = make(chan struct{})
	return ev.HubSeq, nil
}

// WorkshopEvents returns a workshop's log as the hub holds it.
func (h *Hub) WorkshopEvents(id string) []workshop.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	if w := h.workshops[id]; w != nil {
		return slices.Clone(w.events)
	}
	return nil
}

// LiveSockets counts the open live sockets on a workshop.
func (h *Hub) LiveSockets(id string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	if w := h.workshops[id]; w != nil {
		return len(w.live)
	}
	return 0
}

// DropLive cuts every live socket, as a lost network would (no close
// frame).
func (h *Hub) DropLive() {
	h.mu.Lock()
	var conns []*liveConn
	for _, w := range h.workshops {
		for c := range w.live {
			conns = append(conns, c)
		}
	}
	h.mu.Unlock()
	for _, c := range conns {
		c.cancel()
		c.conn.CloseNow()
	}
}

// checkWorkshopEvent checks a workshop_event record as the real hub
// does: class resident, an event terminal t authored.
func (h *Hub) checkWorkshopEvent(t *terminal, rec api.Record) error {
	if rec.Class != api.ClassResident {
		return fmt.Errorf("a %s record is of class %s", api.RecordWorkshopEvent, api.ClassResident)
	}
	_, err := terminalEvent(rec.Payload, t.id)
	return err
}

// ingestWorkshopEvent puts a new, checked workshop_event record's event
// into its log (caller holds h.mu); an unknown workshop's is dropped, as
// the real hub does.
func (h *Hub) ingestWorkshopEvent(rec api.Record) {
	if ev, err := workshop.DecodeEvent(rec.Payload); err == nil {
		_, _ = h.appendLocked(ev)
	}
}

func terminalEvent(raw []byte, terminalID string) (workshop.Event, error) {
	ev, err := workshop.DecodeEvent(raw)
	switch {
	case err != nil:
		return ev, fmt.Errorf("workshop event: %w", err)
	case ev.Device != workshop.DeviceTerminalPrefix+terminalID:
		return ev, fmt.Errorf("workshop event: device %q is not this terminal", ev.Device)
	case ev.HubSeq != 0:
		return ev, fmt.Errorf("workshop event: hub_seq is the hub's to set")
	}
	return ev, nil
}

// takesPart returns the open workshop id if terminalID takes part in it.
func (h *Hub) takesPart(id, terminalID string) *fakeWorkshop {
	w := h.workshops[id]
	if w == nil || w.info.Status != api.WorkshopOpen || !slices.Contains(w.terminals, terminalID) {
		return nil
	}
	return w
}

func (h *Hub) workshopList(w http.ResponseWriter, _ *http.Request, t *terminal, _ []byte) {
	h.mu.Lock()
	out := api.WorkshopList{Workshops: []api.WorkshopInfo{}}
	for _, id := range h.workshopOrder {
		if ws := h.takesPart(id, t.id); ws != nil {
			out.Workshops = append(out.Workshops, ws.info)
		}
	}
	h.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

// workshopPath splits /api/v1/workshops/{id}/{what}.
func workshopPath(p string) (id, what string, ok bool) {
	rest, ok := strings.CutPrefix(p, api.PathWorkshops+"/")
	if !ok {
		return "", "", false
	}
	id, what, ok = strings.Cut(rest, "/")
	return id, what, ok && id != "" && (what == "events" || what == "live")
}

func afterParam(r *http.Request) (uint64, error) {
	v := r.URL.Query().Get("after")
	if v == "" {
		return 0, nil
	}
	return strconv.ParseUint(v, 10, 64)
}

// page returns the events after after, at most max, and whether more follow.
func (fw *fakeWorkshop) page(after uint64, max int) ([]workshop.Event, bool) {
	if after >= uint64(len(fw.events)) {
		return nil, false
	}
	end := min(after+uint64(max), uint64(len(fw.events)))
	return slices.Clone(fw.events[after:end]), end < uint64(len(fw.events))
}

func (h *Hub) workshopEvents(w http.ResponseWriter, r *http.Request, t *terminal, _ []byte) {
	id, _, _ := workshopPath(r.URL.Path)
	after, err := afterParam(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, api.CodeBadRequest, "after must be a hub sequence number")
		return
	}
	h.mu.Lock()
	fw := h.takesPart(id, t.id)
	var evs []workshop.Event
	var more bool
	if fw != nil {
		evs, more = fw.page(after, api.MaxWorkshopEventsPage)
	}
	h.mu.Unlock()
	if fw == nil {
		writeError(w, http.StatusNotFound, api.CodeNotFound, "this terminal takes part in no open workshop with this ID")
		return
	}
	out := api.WorkshopEvents{Events: []json.RawMessage{}, Cursor: after, More: more}
	for _, ev := range evs {
		b, _ := json.Marshal(ev)
		out.Events = append(out.Events, b)
		out.Cursor = ev.HubSeq
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *Hub) workshopLive(w http.ResponseWriter, r *http.Request, t *terminal, _ []byte) {
	id, _, _ := workshopPath(r.URL.Path)
	after, err := afterParam(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, api.CodeBadRequest, "after must be a hub sequence number")
		return
	}
	h.mu.Lock()
	fw := h.takesPart(id, t.id)
	h.mu.Unlock()
	if fw == nil {
		writeError(w, http.StatusNotFound, api.CodeNotFound, "this terminal takes part in no open workshop with this ID")
		return
	}
	conn, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	conn.SetReadLimit(api.MaxLiveMessageBytes)
	ctx, cancel := context.WithCancel(context.Background())
	lc := &liveConn{terminal: t.id, workshop: id, conn: conn, cancel: cancel}
	h.srvMu.Lock()
	stopping := h.stopping
	h.srvMu.Unlock()
	h.mu.Lock()
	for old := range fw.live { // one socket per terminal and workshop
		if old.terminal == t.id {
			delete(fw.live, old)
			go func() {
				old.conn.Close(4001, "replaced by a newer socket")
				old.cancel()
			}()
		}
	}
	fw.live[lc] = struct{}{}
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		delete(fw.live, lc)
		h.mu.Unlock()
		cancel()
		conn.CloseNow()
	}()
	go func() {
		select {
		case <-stopping: // the hub going away cuts its sockets
			cancel()
			conn.CloseNow()
		case <-ctx.Done():
		}
	}()
	var wg sync.WaitGroup
	wg.Go(func() {
		defer cancel()
		h.livePush(ctx, conn, fw, after)
	})
	wg.Go(func() {
		defer cancel()
		for {
			typ, b, err := conn.Read(ctx)
			if err != nil {
				return
			}
			reply := h.liveTake(t.id, id, typ, b)
			if err := conn.Write(ctx, websocket.MessageText, reply); err != nil {
				return
			}
		}
	})
	wg.Wait()
}

// livePush sends the events after sent, then each new one.
func (h *Hub) livePush(ctx context.Context, conn *websocket.Conn, fw *fakeWorkshop, sent uint64) {
	for {
		h.mu.Lock()
		evs, _ := fw.page(sent, api.MaxLivePushEvents)
		changed, ended := fw.changed, fw.info.Status != api.WorkshopOpen
		h.mu.Unlock()
		if ended {
			conn.Close(websocket.StatusNormalClosure, "workshop ended")
			return
		}
		if len(evs) > 0 {
			m := api.LiveMessage{Type: api.LiveEvents, After: sent, Cursor: evs[len(evs)-1].HubSeq}
			for _, ev := range evs {
				b, _ := json.Marshal(ev)
				m.Events = append(m.Events, b)
			}
			b, _ := json.Marshal(m)
			if conn.Write(ctx, websocket.MessageText, b) != nil {
				return
			}
			sent = m.Cursor
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		}
	}
}

// liveTake stores a terminal's message's events and answers the ack or
// the error.
func (h *Hub) liveTake(terminalID, workshopID string, typ websocket.MessageType, b []byte) []byte {
	refuse := func(code, msg string) []byte {
		out, _ := json.Marshal(api.LiveMessage{Type: api.LiveError, Code: code, Error: msg})
		return out
	}
	if typ != websocket.MessageText {
		return refuse(api.CodeBadRequest, "binary message")
	}
	m, err := api.DecodeTerminalLive(b)
	if err != nil {
		return refuse(api.CodeBadRequest, err.Error())
	}
	evs := make([]workshop.Event, len(m.Events))
	for i, raw := range m.Events {
		ev, err := terminalEvent(raw, terminalID)
		if err == nil && ev.Workshop != workshopID {
			err = fmt.Errorf("workshop %q is not this socket's", ev.Workshop)
		}
		if err != nil {
			return refuse(api.CodeInvalidRecord, fmt.Sprintf("event %d: %v", i, err))
		}
		evs[i] = ev
	}
	ack := api.LiveMessage{Type: api.LiveAck}
	h.mu.Lock()
	for _, ev := range evs {
		if _, err := h.appendLocked(ev); err == nil {
			ack.IDs = append(ack.IDs, ev.ID)
		}
	}
	h.mu.Unlock()
	out, _ := json.Marshal(ack)
	return out
}
