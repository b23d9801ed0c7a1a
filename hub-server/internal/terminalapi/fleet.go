package terminalapi

import (
	"context"
	"net/http"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/fleet"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// FleetStore is what the fleet endpoints need of the store.
type FleetStore interface {
	fleet.HeartbeatStore
	fleet.ConfigStore
	OpenCommands(ctx context.Context, terminalID string, now time.Time) ([]store.Command, error)
	AckCommand(ctx context.Context, terminalID, id string, at time.Time) (store.Command, error)
	FinishCommand(ctx context.Context, terminalID, id string, ok bool, result string, at time.Time) (store.Command, error)
	SaveDiagnostics(ctx context.Context, d store.Diagnostics, keep store.DiagnosticsKeep) (store.Diagnostics, error)
	SaveScreenshot(ctx context.Context, p store.Screenshot, keep store.ScreenshotKeep) (store.Screenshot, error)
}

// HeartbeatSaver stores one heartbeat (fleet.Batcher, fleet.DirectSaver).
type HeartbeatSaver interface {
	Save(ctx context.Context, w store.HeartbeatWrite) error
}

// FleetOpts wires the fleet endpoints. Zero values are the defaults.
type FleetOpts struct {
	// Heartbeats stores heartbeats. Default: each in its own transaction
	// (fleet.DirectSaver); serve uses a fleet.Batcher.
	Heartbeats HeartbeatSaver
	// Configs serves effective configurations. Default: a fleet.Configs on
	// the store with the handler's clock.
	Configs *fleet.Configs
	// OnHeartbeat is called after a heartbeat is stored (the alert
	// evaluator). It must not block for long.
	OnHeartbeat func(t store.Terminal, hb *api.Heartbeat, at time.Time)
	// OnRevokedCall is called when a revoked terminal makes a request.
	OnRevokedCall func(t store.Terminal, at time.Time)
	// Updates answers heartbeats with update offers; nil: none.
	Updates UpdateOfferer
}

func (h *Handler) fleetRoutes() {
	if h.o.Fleet.Heartbeats == nil {
		h.o.Fleet.Heartbeats = fleet.DirectSaver{Store: h.st}
	}
	if h.o.Fleet.Configs == nil {
		h.o.Fleet.Configs = fleet.NewConfigs(h.st, fleet.ConfigsOpts{Now: h.o.Now})
	}
	h.handle("POST "+api.PathHeartbeat, h.authenticate(limit(api.MaxHeartbeatBytes), nil, h.heartbeat))
	h.handle("GET "+api.PathConfig, h.authenticate(noBody, nil, h.config))
	h.handle("GET "+api.PathCommands, h.authenticate(noBody, nil, h.commandList))
	h.handle("POST "+api.PathCommands+"/{id}/ack", h.authenticate(noBody, nil, h.commandAck))
	h.handle("POST "+api.PathCommands+"/{id}/result", h.authenticate(limit(api.MaxCommandResultBytes), nil, h.commandResult))
	h.handle("POST "+api.PathDiagnostics, h.authenticate(limit(api.MaxDiagnosticsBytes), h.diagnosticsAsked, h.diagnostics))
	h.handle("POST "+api.PathCommands+"/{id}/screenshot", screenshotHeaders(h.authenticate(limit(api.MaxScreenshotBytes), h.screenshotAsked, h.screenshot)))
}

func limit(n int64) func(*http.Request) int64 { return func(*http.Request) int64 { return n } }

func wireCommand(c store.Command) api.Command {
	return api.Command{ID: c.ID, Kind: c.Kind, Message: c.Message, State: c.State, CreatedAt: c.CreatedAt, ExpiresAt: c.ExpiresAt}
}

func wireCommands(cs []store.Command) []api.Command {
	out := make([]api.Command, len(cs))
	for i, c := range cs {
		out[i] = wireCommand(c)
	}
	return out
}
