package terminalapi

import (
	"net/http"

	"github.com/oklog/ulid/v2"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// diagnostics stores a bundle of the agent's status and recent log lines.
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
	if err := h.st.SaveDiagnostics(r.Context(), store.Diagnostics{ID: id.String(), TerminalID: t.ID, CommandID: d.CommandID,
		ReceivedAt: now, Bundle: body}); err != nil {
		h.internal(w, "diagnostics", err)
		return
	}
	h.o.Logger.Info("diagnostics stored", "terminal", t.ID, "id", id.String(), "bytes", len(body))
	writeJSON(w, http.StatusOK, api.DiagnosticsAck{ID: id.String()})
}
