package terminalapi

import (
	"errors"
	"net/http"
	"slices"

	"github.com/oklog/ulid/v2"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// diagnosticsAsked lets a bundle's body in only while the terminal has
// an open collect_diagnostics command: nobody asked for any other.
func (h *Handler) diagnosticsAsked(w http.ResponseWriter, r *http.Request, t store.Terminal, _ *charge, _ int64) bool {
	cmds, err := h.st.OpenCommands(r.Context(), t.ID, h.o.Now())
	if err != nil {
		h.internal(w, "diagnostics: commands", err)
		return false
	}
	if !slices.ContainsFunc(cmds, func(c store.Command) bool { return c.Kind == api.CommandCollectDiagnostics }) {
		h.refuse(w, r, http.StatusConflict, api.CodeNotRequested, "no diagnostics were asked of this terminal", t.ID)
		return false
	}
	return true
}

// diagnostics stores a bundle of the agent's status and recent log lines
// for its open collect_diagnostics command; the store keeps the newest
// few per terminal within a total (Opts.KeepDiagnostics).
func (h *Handler) diagnostics(w http.ResponseWriter, r *http.Request) {
	t, _ := TerminalFrom(r.Context())
	body := bodyFrom(r.Context())
	var d api.Diagnostics
	if err := decodeJSON(body, &d); err != nil {
		h.refuse(w, r, jsonErrorStatus(err), jsonErrorCode(err), "malformed diagnostics: "+err.Error(), t.ID)
		return
	}
	if len(d.CommandID) > 64 {
		h.refuse(w, r, http.StatusBadRequest, api.CodeBadRequest, "command_id too long", t.ID)
		return
	}
	now := h.o.Now()
	id, err := ulid.New(ulid.Timestamp(now), h.o.Rand)
	if err != nil {
		h.internal(w, "diagnostics: id", err)
		return
	}
	saved, err := h.st.SaveDiagnostics(r.Context(), store.Diagnostics{ID: id.String(), TerminalID: t.ID, CommandID: d.CommandID,
		ReceivedAt: now, Bundle: body}, h.o.KeepDiagnostics)
	switch {
	case errors.Is(err, store.ErrNotFound):
		h.refuse(w, r, http.StatusConflict, api.CodeNotRequested, "command_id names no collect_diagnostics command of this terminal", t.ID)
		return
	case errors.Is(err, store.ErrCommandClosed):
		h.refuse(w, r, http.StatusConflict, api.CodeCommandClosed, "the collect_diagnostics command expired or already finished", t.ID)
		return
	case err != nil:
		h.internal(w, "diagnostics", err)
		return
	}
	if saved.ID == id.String() {
		h.o.Logger.Info("diagnostics stored", "terminal", t.ID, "id", saved.ID, "bytes", len(body))
	}
	writeJSON(w, http.StatusOK, api.DiagnosticsAck{ID: saved.ID})
}
