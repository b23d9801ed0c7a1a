package terminalapi

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/fleet"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// UpdateOfferer follows the terminals' updaters and offers releases
// (rollout.Engine): Observe records what a heartbeat's updater status
// says and returns the offer for the heartbeat's answer, or nil. It is
// called on every heartbeat and must be cheap when nothing changed.
type UpdateOfferer interface {
	Observe(ctx context.Context, terminalID, quarter string, st *api.UpdaterStatus, now time.Time) (*api.UpdateOffer, error)
}

// heartbeat stores the terminal's health (one UPSERT, grouped with
// others by the batcher) and answers with its config version, open
// commands, in a rollout, the update offered to it and, when the
// terminal hashes cards with another key, the deployment's card key.
func (h *Handler) heartbeat(w http.ResponseWriter, r *http.Request) {
	t, _ := TerminalFrom(r.Context())
	var hb api.Heartbeat
	if err := decodeJSON(bodyFrom(r.Context()), &hb); err != nil {
		h.refuse(w, r, jsonErrorStatus(err), jsonErrorCode(err), "malformed heartbeat: "+err.Error(), t.ID)
		return
	}
	if err := hb.Validate(); err != nil {
		h.refuse(w, r, http.StatusBadRequest, api.CodeBadRequest, "invalid heartbeat: "+err.Error(), t.ID)
		return
	}
	now := h.o.Now()
	// Re-encoded, so only known fields are kept.
	state, err := json.Marshal(&hb)
	if err != nil {
		h.internal(w, "heartbeat: encode", err)
		return
	}
	if err := h.o.Fleet.Heartbeats.Save(r.Context(), store.HeartbeatWrite{TerminalID: t.ID, At: now, Digest: fleet.Digest(&hb),
		SoftwareVersion: hb.SoftwareVersion, State: state}); err != nil {
		h.internal(w, "heartbeat", err)
		return
	}
	if h.o.Fleet.OnHeartbeat != nil {
		h.o.Fleet.OnHeartbeat(t, &hb, now)
	}
	resp := api.HeartbeatResponse{HubTime: now.UTC(), Commands: []api.Command{}}
	cfg, err := h.o.Fleet.Configs.For(r.Context(), t.Quarter, t.Name)
	if err != nil {
		h.internal(w, "heartbeat: config", err)
		return
	}
	resp.ConfigVersion = cfg.Version
	cmds, err := h.st.OpenCommands(r.Context(), t.ID, now)
	if err != nil {
		h.internal(w, "heartbeat: commands", err)
		return
	}
	resp.Commands = wireCommands(cmds)
	if h.o.Fleet.Updates != nil {
		// A failing rollout engine must not fail heartbeats: the terminal
		// just gets no offer this time.
		if resp.Update, err = h.o.Fleet.Updates.Observe(r.Context(), t.ID, t.Quarter, hb.Updater, now); err != nil {
			h.o.Logger.Error("terminal api: heartbeat: rollout", "terminal", t.ID, "err", err)
		}
	}
	h.answerCardKey(r.Context(), t.ID, hb.CardKeyID, &resp)
	writeJSON(w, http.StatusOK, resp)
}
