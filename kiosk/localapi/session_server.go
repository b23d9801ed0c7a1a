package localapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/internal/userr"
)

// SessionBackend is what the window's endpoints need of the agent. A
// Backend that does not implement it answers them with 503.
type SessionBackend interface {
	Content(ctx context.Context) (api.Content, error)
	Print(ctx context.Context, r Receipt) (PrintResponse, error)
	Ticket(ctx context.Context, req TicketRequest) (Ticket, error)
	Sensors(ctx context.Context) (SensorHistory, error)
	Respond(ctx context.Context, r SurveyResponse) (SubmitResponse, error)
	// Subscribe returns a channel of events and a function that ends the
	// subscription. Events for a subscriber that falls behind are dropped.
	Subscribe() (<-chan Event, func())
}

// EventKeepAlive is how often an idle event stream carries an empty line,
// so a dead reader is noticed.
const EventKeepAlive = 15 * time.Second

func (s *Server) sessionRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/content", s.withSession(func(b SessionBackend, w http.ResponseWriter, r *http.Request) {
		c, err := b.Content(r.Context())
		s.answer(w, http.StatusOK, c, err)
	}))
	mux.HandleFunc("POST /v1/print", s.withSession(func(b SessionBackend, w http.ResponseWriter, r *http.Request) {
		var req PrintRequest
		if s.decode(w, r, &req) {
			resp, err := b.Print(r.Context(), req.Receipt)
			s.answer(w, http.StatusOK, resp, err)
		}
	}))
	mux.HandleFunc("POST /v1/tickets", s.withSession(func(b SessionBackend, w http.ResponseWriter, r *http.Request) {
		var req TicketRequest
		if s.decode(w, r, &req) {
			resp, err := b.Ticket(r.Context(), req)
			s.answer(w, http.StatusCreated, resp, err)
		}
	}))
	mux.HandleFunc("GET /v1/sensors", s.withSession(func(b SessionBackend, w http.ResponseWriter, r *http.Request) {
		h, err := b.Sensors(r.Context())
		s.answer(w, http.StatusOK, h, err)
	}))
	mux.HandleFunc("POST /v1/surveys/responses", s.withSession(func(b SessionBackend, w http.ResponseWriter, r *http.Request) {
		var req SurveyResponse
		if s.decode(w, r, &req) {
			resp, err := b.Respond(r.Context(), req)
			s.answer(w, http.StatusCreated, resp, err)
		}
	}))
	mux.HandleFunc("GET /v1/events", s.withSession(s.events))
	// The first-run screen's endpoint (enrol.go).
	s.enrolRoutes(mux)
}

func (s *Server) withSession(h func(SessionBackend, http.ResponseWriter, *http.Request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b, ok := s.backend.(SessionBackend)
		if !ok {
			s.fail(w, userr.New("this agent serves no window", ErrUnavailable))
			return
		}
		h(b, w, r)
	}
}

func (s *Server) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(io.LimitReader(r.Body, 2<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		s.fail(w, userr.New("the request is not valid JSON: "+err.Error(), ErrInvalid))
		return false
	}
	return true
}

func (s *Server) answer(w http.ResponseWriter, status int, v any, err error) {
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, status, v)
}

func (s *Server) events(b SessionBackend, w http.ResponseWriter, r *http.Request) {
	ch, cancel := b.Subscribe()
	defer cancel()
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	enc := json.NewEncoder(w)
	keep := time.NewTicker(EventKeepAlive)
	defer keep.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-keep.C:
			if _, err := io.WriteString(w, "\n"); err != nil {
				return
			}
		case e, ok := <-ch:
			if !ok {
				return
			}
			if err := enc.Encode(e); err != nil {
				return
			}
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}
