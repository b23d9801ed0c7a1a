package terminalapi

import (
	"net/http"

	"github.com/quartierhub/quartierhub/hub-server/api"
)

// serveOpenAPI serves the API's OpenAPI 3 document (api.OpenAPI).
func serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Write(api.OpenAPI)
}
