package terminalapi

import (
	"net/http"

	"github.com/quartierhub/quartierhub/hub-server/api"
)

// ping answers an authenticated terminal with the hub's time, and notes
// that the terminal was seen (at most once per TouchInterval).
func (h *Handler) ping(w http.ResponseWriter, r *http.Request) {
	t, _ := TerminalFrom(r.Context())
	now := h.o.Now()
	if now.Sub(t.LastSeenAt) >= h.o.TouchInterval {
		if err := h.st.TouchTerminal(r.Context(), t.ID, now); err != nil {
			h.o.Logger.Warn("terminal api: touch", "terminal", t.ID, "err", err)
		}
	}
	writeJSON(w, http.StatusOK, api.PingResponse{TerminalID: t.ID, HubTime: now.UTC()})
}
