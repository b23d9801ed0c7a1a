package terminalapi

import (
	"net/http"
	"strconv"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/quartierhub/quartierhub/hub-server/api"
)

// ingestOverhead is what an upload is charged beyond its bytes: request
// state, goroutine, decoded record headers.
const ingestOverhead = 16 << 10

// charge is what one upload holds of the budget.
type charge struct {
	b    *semaphore.Weighted // the ingest byte budget; never waited on
	held int64
}

type chargeKey struct{}

func (c *charge) add(n int64) bool {
	if n <= 0 {
		return true
	}
	if !c.b.TryAcquire(n) {
		return false
	}
	c.held += n
	return true
}

func (c *charge) release() {
	c.b.Release(c.held)
	c.held = 0
}

// overloaded answers 503 with Retry-After.
func (h *Handler) overloaded(w http.ResponseWriter) {
	w.Header().Set("Retry-After", strconv.Itoa(int((h.o.RetryAfter+time.Second-1)/time.Second)))
	writeError(w, http.StatusServiceUnavailable, api.CodeOverloaded, "hub busy; retry after the Retry-After seconds")
}
