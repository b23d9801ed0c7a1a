package terminalapi

import (
	"net/http"
	"strings"

	"github.com/quartierhub/quartierhub/hub-server/api"
)

// config serves the terminal's effective configuration with its version
// as ETag; If-None-Match with the current version answers 304.
func (h *Handler) config(w http.ResponseWriter, r *http.Request) {
	t, _ := TerminalFrom(r.Context())
	cfg, err := h.o.Fleet.Configs.For(r.Context(), t.Quarter, t.Name)
	if err != nil {
		h.internal(w, "config", err)
		return
	}
	etag := `"` + cfg.Version + `"`
	w.Header().Set("ETag", etag)
	w.Header().Set("Cache-Control", "no-cache")
	if etagMatch(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	writeJSON(w, http.StatusOK, api.ConfigDocument{Version: cfg.Version, Document: cfg.Document})
}

// etagMatch implements If-None-Match's weak comparison (RFC 9110 13.1.2).
func etagMatch(header, etag string) bool {
	for tag := range strings.SplitSeq(header, ",") {
		tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
		if tag == "*" || tag == etag {
			return true
		}
	}
	return false
}
