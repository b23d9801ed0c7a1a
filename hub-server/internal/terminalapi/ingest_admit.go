package terminalapi

import (
	"mime"
	"net/http"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// uploadHeaders refuses unknown encodings and content types before
// anything else is done for an upload.
func uploadHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Header.Get("Content-Encoding") {
		case "", "identity", "gzip":
		default:
			writeError(w, http.StatusUnsupportedMediaType, api.CodeUnsupported, "Content-Encoding must be gzip or absent")
			return
		}
		if ct := r.Header.Get("Content-Type"); ct != "" {
			if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
				writeError(w, http.StatusUnsupportedMediaType, api.CodeUnsupported, "Content-Type must be application/json")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// admitUpload charges an authenticated upload's body and a fixed
// overhead to the ingest budget; when the uploads in progress already
// hold MaxIngestBytes it answers 503, so terminals back off instead of
// queueing without bound behind the store.
func (h *Handler) admitUpload(w http.ResponseWriter, _ *http.Request, _ store.Terminal, c *charge, size int64) bool {
	if !c.add(ingestOverhead + size) {
		h.overloaded(w)
		return false
	}
	return true
}
