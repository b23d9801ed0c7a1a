package terminalapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/hub-server/internal/workshops"
	"github.com/quartierhub/quartierhub/internal/workshop"
)

// Workshops is what the workshop endpoints need of the hub's workshop
// service (workshops.Service).
type Workshops interface {
	// ForTerminal returns the open workshops that list the terminal.
	ForTerminal(ctx context.Context, terminalID string) ([]store.Workshop, error)
	// Get returns a workshop as it stands (store.ErrNotFound wrapped
	// when there is none).
	Get(ctx context.Context, id string) (workshops.View, error)
	// Events returns up to limit (at most api.MaxWorkshopEventsPage) of
	// the workshop's stamped events after hub sequence after, in hub
	// order, and whether more follow.
	Events(ctx context.Context, workshopID string, after uint64, limit int) ([]workshop.Event, bool, error)
	// Subscribe tells of the workshop's newest hub sequence as it grows;
	// the channel coalesces and never blocks the publisher. cancel ends
	// the subscription.
	Subscribe(workshopID string) (cursors <-chan uint64, cancel func())
	// Append stores a terminal's own events (sent on its live socket, the
	// event JSON as written), idempotently by ID, and returns the IDs the
	// terminal may consider delivered.
	Append(ctx context.Context, terminalID string, events []json.RawMessage) ([]string, error)
	// Advanced tells the service that a record batch stored events of
	// these workshops.
	Advanced(workshopIDs ...string)
}

// WorkshopOpts wires the workshop endpoints. Zero values are the defaults.
type WorkshopOpts struct {
	// Service is the hub's workshop service; nil: the hub runs none (the
	// list is empty, a workshop is not found).
	Service Workshops
	// PublicURL is the hub's address as participants' phones reach it,
	// for WorkshopInfo.JoinURL; empty: no join URL.
	PublicURL string
	// PingInterval is how often a live socket is pinged. Default
	// api.LivePingInterval.
	PingInterval time.Duration
	// WriteTimeout bounds one write to a live socket; a terminal that
	// does not take a message in time loses its socket. Default 10s.
	WriteTimeout time.Duration
}

func (h *Handler) workshopRoutes() {
	if h.o.Workshops.PingInterval <= 0 {
		h.o.Workshops.PingInterval = api.LivePingInterval
	}
	if h.o.Workshops.WriteTimeout <= 0 {
		h.o.Workshops.WriteTimeout = 10 * time.Second
	}
	h.live = newLiveHub(h)
	h.handle("GET "+api.PathWorkshops, h.authenticate(noBody, nil, h.workshopList))
	h.handle("GET "+api.PathWorkshops+"/{id}/events", h.authenticate(noBody, nil, h.workshopEvents))
	h.handle("GET "+api.PathWorkshops+"/{id}/live", h.authenticate(noBody, nil, h.workshopLive))
}

// workshopList answers the open workshops the terminal takes part in.
func (h *Handler) workshopList(w http.ResponseWriter, r *http.Request) {
	t, _ := TerminalFrom(r.Context())
	out := api.WorkshopList{Workshops: []api.WorkshopInfo{}}
	if h.o.Workshops.Service != nil {
		ws, err := h.o.Workshops.Service.ForTerminal(r.Context(), t.ID)
		if err != nil {
			h.internal(w, "workshops", err)
			return
		}
		for _, ws := range ws[:min(len(ws), api.MaxWorkshops)] {
			out.Workshops = append(out.Workshops, h.workshopInfo(ws))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *Handler) workshopInfo(ws store.Workshop) api.WorkshopInfo {
	info := api.WorkshopInfo{ID: ws.ID, Title: ws.Title, Status: ws.Status, Spec: json.RawMessage(ws.Spec)}
	if len(info.Spec) == 0 {
		info.Spec = json.RawMessage(`{}`)
	}
	var spec struct {
		Phones bool `json:"phones"`
	}
	if h.o.Workshops.PublicURL != "" && ws.JoinCode != "" && json.Unmarshal(ws.Spec, &spec) == nil && spec.Phones {
		info.JoinURL = h.o.Workshops.PublicURL + "/w/" + url.PathEscape(ws.JoinCode)
	}
	return info
}

// takesPart reports whether terminal takes part in workshop id: the
// workshop's spec lists it and it is open (or, with ended, also over: a
// terminal that was offline at the end still pulls the last events). It
// answers 404 itself when not; the service's cached view makes this cheap.
func (h *Handler) takesPart(w http.ResponseWriter, r *http.Request, terminal, id string, ended bool) bool {
	if h.o.Workshops.Service != nil && workshop.ValidID(id) {
		v, err := h.o.Workshops.Service.Get(r.Context(), id)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			h.internal(w, "workshop", err)
			return false
		case v.State != nil && slices.Contains(v.State.Spec.Terminals, terminal) &&
			(v.Workshop.Status == store.WorkshopOpen || ended && v.Workshop.Status == store.WorkshopEnded):
			return true
		}
	}
	h.refuse(w, r, http.StatusNotFound, api.CodeNotFound, "this terminal takes part in no open workshop with this ID", terminal)
	return false
}

// workshopEvents answers a page of a workshop's events after a cursor.
func (h *Handler) workshopEvents(w http.ResponseWriter, r *http.Request) {
	t, _ := TerminalFrom(r.Context())
	id := r.PathValue("id")
	after, err := cursorParam(r)
	if err != nil {
		h.refuse(w, r, http.StatusBadRequest, api.CodeBadRequest, err.Error(), t.ID)
		return
	}
	if !h.takesPart(w, r, t.ID, id, true) {
		return
	}
	evs, more, err := h.o.Workshops.Service.Events(r.Context(), id, after, api.MaxWorkshopEventsPage)
	if err != nil {
		h.internal(w, "workshop events", err)
		return
	}
	evs = evs[:min(len(evs), api.MaxWorkshopEventsPage)]
	out := api.WorkshopEvents{Events: make([]json.RawMessage, 0, len(evs)), Cursor: after, More: more}
	for _, ev := range evs {
		b, err := json.Marshal(ev)
		if err != nil {
			h.internal(w, "workshop events", err)
			return
		}
		out.Events = append(out.Events, b)
		out.Cursor = ev.HubSeq
	}
	writeJSON(w, http.StatusOK, out)
}

// cursorParam reads the optional after=N of a request (0 if absent).
func cursorParam(r *http.Request) (uint64, error) {
	q := r.URL.Query()
	if len(q) > 1 || (len(q) == 1 && !q.Has("after")) || len(q["after"]) > 1 {
		return 0, fmt.Errorf("the only query parameter is after, once")
	}
	v := q.Get("after")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("after must be a hub sequence number (0 or more): %.32q", v)
	}
	return n, nil
}
