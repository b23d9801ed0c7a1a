package terminalapi

import (
	"encoding/json"
	"net/http"

	"github.com/quartierhub/quartierhub/hub-server/api"
)

// writeJSON answers v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers an api.Error.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, api.Error{Error: msg, Code: code})
}

// refuse answers a request the API turns down, and logs why (with the
// terminal's ID, if known, and the path; never the body).
func (h *Handler) refuse(w http.ResponseWriter, r *http.Request, status int, code, msg, terminal string) {
	h.o.Logger.Info("terminal api: refused", "path", r.URL.Path, "status", status, "code", code, "terminal", terminal)
	writeError(w, status, code, msg)
}

// internal answers 500 for a failure of the hub, logged with what failed.
func (h *Handler) internal(w http.ResponseWriter, what string, err error) {
	h.o.Logger.Error("terminal api: "+what, "err", err)
	writeError(w, http.StatusInternalServerError, api.CodeInternal, "internal error; retry later")
}
