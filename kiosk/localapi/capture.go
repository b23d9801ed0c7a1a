package localapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/internal/userr"
)

// Capture endpoints (capture.go): IT staff's screenshot command reaches
// the window as an event, and the window answers here.
//
//	event "capture" CaptureRequest: the agent asks the window for a
//	                   picture of what it shows
//	POST /v1/captures/{id}
//	                   the picture: a PNG (Content-Type image/png) of at
//	                   most MaxCaptureBytes → 200 {}; 400 for what is not
//	                   a PNG within the hub's limits, 404 not_asked when
//	                   no capture {id} is waiting (answered already, or
//	                   given up)
//	POST /v1/captures/{id}/refusal
//	                   CaptureRefusal: the window shows what is not
//	                   captured, e.g. a resident's session → 200 {}
//
// The window decides: it alone knows at the moment of the capture what
// it shows (kiosk/ui: capture.go).

// EventCapture asks the window for a picture (Event.Capture).
const EventCapture = "capture"

// CaptureRequest is a capture the agent waits for.
type CaptureRequest struct {
	ID string `json:"id"`
}

// MaxCaptureBytes is the largest picture the window may send: what the
// hub takes.
const MaxCaptureBytes = api.MaxScreenshotBytes

// Reasons of a CaptureRefusal.
const (
	// RefusedResidentSession: a resident's session is open; what they
	// see and type is theirs.
	RefusedResidentSession = "resident_session"
	// RefusedScreen: the screen shown is none the window captures
	// (starting, service PIN, first run…) though no session is open.
	RefusedScreen = "screen"
)

// CaptureRefusal is the body of POST /v1/captures/{id}/refusal.
type CaptureRefusal struct {
	Reason string `json:"reason"`
	// Screen is the screen's name (kiosk/ui's Screen*), for staff.
	Screen string `json:"screen,omitempty"`
}

// Code and sentinel of the capture endpoints.
const CodeNotAsked = "not_asked"

// ErrNotAsked: no capture with this ID is waiting.
var ErrNotAsked = errors.New("localapi: no such capture is waiting")

// CaptureBackend is what the capture endpoints need of the agent. A
// Backend that does not implement it answers them with 503.
type CaptureBackend interface {
	// CaptureTaken delivers the picture of capture id (ErrNotAsked).
	CaptureTaken(ctx context.Context, id string, png []byte) error
	// CaptureRefused delivers the window's refusal of capture id.
	CaptureRefused(ctx context.Context, id string, r CaptureRefusal) error
}

// DecodeCaptureRefusal reads a refusal: one JSON object of at most 4 KiB
// with a known reason and a screen name of at most 64 bytes.
func DecodeCaptureRefusal(r io.Reader) (CaptureRefusal, error) {
	var out CaptureRefusal
	dec := json.NewDecoder(io.LimitReader(r, 4<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil {
		return CaptureRefusal{}, fmt.Errorf("localapi: refusal: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return CaptureRefusal{}, errors.New("localapi: refusal: more than one JSON value")
	}
	if out.Reason != RefusedResidentSession && out.Reason != RefusedScreen || len(out.Screen) > 64 {
		return CaptureRefusal{}, fmt.Errorf("localapi: refusal: reason must be %s or %s, screen at most 64 bytes", RefusedResidentSession, RefusedScreen)
	}
	return out, nil
}

func (s *Server) captureRoutes(mux *http.ServeMux) {
	withCapture := func(h func(CaptureBackend, http.ResponseWriter, *http.Request)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			b, ok := s.backend.(CaptureBackend)
			if !ok {
				s.fail(w, userr.New("this agent takes no captures", ErrUnavailable))
				return
			}
			h(b, w, r)
		}
	}
	mux.HandleFunc("POST /v1/captures/{id}", withCapture(func(b CaptureBackend, w http.ResponseWriter, r *http.Request) {
		if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "image/png" {
			s.fail(w, userr.New("a capture is a PNG: Content-Type image/png", ErrInvalid))
			return
		}
		png, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxCaptureBytes))
		if err != nil {
			s.fail(w, userr.New(fmt.Sprintf("a capture is at most %d bytes", MaxCaptureBytes), ErrInvalid))
			return
		}
		if _, _, err := api.CheckScreenshot(png); err != nil {
			s.fail(w, userr.New(err.Error(), ErrInvalid))
			return
		}
		s.answer(w, http.StatusOK, struct{}{}, b.CaptureTaken(r.Context(), r.PathValue("id"), png))
	}))
	mux.HandleFunc("POST /v1/captures/{id}/refusal", withCapture(func(b CaptureBackend, w http.ResponseWriter, r *http.Request) {
		ref, err := DecodeCaptureRefusal(r.Body)
		if err != nil {
			s.fail(w, userr.New(err.Error(), ErrInvalid))
			return
		}
		s.answer(w, http.StatusOK, struct{}{}, b.CaptureRefused(r.Context(), r.PathValue("id"), ref))
	}))
}

// CaptureTaken sends the picture for capture id.
func (c *Client) CaptureTaken(ctx context.Context, id string, png []byte) error {
	return c.send(ctx, http.MethodPost, "/v1/captures/"+url.PathEscape(id), "image/png", png, nil)
}

// RefuseCapture tells the agent the window does not take capture id.
func (c *Client) RefuseCapture(ctx context.Context, id string, r CaptureRefusal) error {
	return c.do(ctx, http.MethodPost, "/v1/captures/"+url.PathEscape(id)+"/refusal", r, nil)
}
