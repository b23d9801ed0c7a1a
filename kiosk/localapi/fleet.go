package localapi

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/quartierhub/quartierhub/internal/userr"
)

// Fleet endpoints (fleet.go):
//
//	GET  /v1/config    ConfigResponse: the configuration from the hub the
//	                   agent runs on (content and settings), its version
//	                   and whether it came from the hub or the local cache
//	POST /v1/screen    ScreenRequest: the window reports what it shows;
//	                   the agent passes it on in its heartbeat
//
// The maintenance state is in GET /v1/status under "fleet".

// FleetStatus is the fleet part of Status.
type FleetStatus struct {
	// Maintenance is on while IT staff put the terminal out of order; the
	// window shows MaintenanceMessage instead of its services.
	Maintenance        bool      `json:"maintenance"`
	MaintenanceMessage string    `json:"maintenance_message,omitempty"`
	MaintenanceSince   time.Time `json:"maintenance_since,omitzero"`
	ConfigVersion      string    `json:"config_version,omitempty"`
	LastHeartbeat      time.Time `json:"last_heartbeat,omitzero"`
	HeartbeatError     string    `json:"heartbeat_error,omitempty"`
	Screen             string    `json:"screen,omitempty"`
}

// ConfigResponse answers GET /v1/config.
type ConfigResponse struct {
	// Version is "" while the terminal never received a configuration.
	Version   string    `json:"version"`
	Source    string    `json:"source,omitempty"` // hub or cache
	AppliedAt time.Time `json:"applied_at,omitzero"`
	// Document is the effective configuration (api.Config shape), {} if none.
	Document json.RawMessage `json:"document"`
	// LastError says why the last configuration from the hub was refused.
	LastError string `json:"last_error,omitempty"`
}

// ScreenRequest is the body of POST /v1/screen.
type ScreenRequest struct {
	// State: e.g. attract, session, maintenance, off.
	State string `json:"state"`
}

// FleetBackend is what the fleet endpoints need of the agent. A Backend
// that does not implement it answers them with 503.
type FleetBackend interface {
	RemoteConfig(ctx context.Context) (ConfigResponse, error)
	SetScreen(ctx context.Context, state string) error
}

func (s *Server) fleetRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/config", func(w http.ResponseWriter, r *http.Request) {
		fb, ok := s.backend.(FleetBackend)
		if !ok {
			s.fail(w, userr.New("this agent has no remote configuration", ErrUnavailable))
			return
		}
		c, err := fb.RemoteConfig(r.Context())
		if err != nil {
			s.fail(w, err)
			return
		}
		writeJSON(w, http.StatusOK, c)
	})
	mux.HandleFunc("POST /v1/screen", func(w http.ResponseWriter, r *http.Request) {
		fb, ok := s.backend.(FleetBackend)
		if !ok {
			s.fail(w, userr.New("this agent takes no screen state", ErrUnavailable))
			return
		}
		var req ScreenRequest
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<10)).Decode(&req); err != nil || len(req.State) > 64 {
			s.fail(w, userr.New("the request must be {\"state\": \"…\"} with at most 64 characters", ErrInvalid))
			return
		}
		if err := fb.SetScreen(r.Context(), req.State); err != nil {
			s.fail(w, err)
			return
		}
		writeJSON(w, http.StatusOK, struct{}{})
	})
}

// RemoteConfig returns the configuration the agent runs on.
func (c *Client) RemoteConfig(ctx context.Context) (ConfigResponse, error) {
	var out ConfigResponse
	err := c.do(ctx, http.MethodGet, "/v1/config", nil, &out)
	return out, err
}

// SetScreen reports what the window shows.
func (c *Client) SetScreen(ctx context.Context, state string) error {
	return c.do(ctx, http.MethodPost, "/v1/screen", ScreenRequest{State: state}, nil)
}
