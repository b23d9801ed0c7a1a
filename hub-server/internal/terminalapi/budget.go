package terminalapi

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
)

// ingestOverhead is what an upload is charged beyond its bytes: request
// state, goroutine, decoded record headers.
const ingestOverhead = 16 << 10

// budget is a byte budget that never waits: a charge fits or it does not.
type budget struct {
	mu   sync.Mutex
	free int64
}

func newBudget(total int64) *budget { return &budget{free: total} }

func (b *budget) take(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n > b.free {
		return false
	}
	b.free -= n
	return true
}

func (b *budget) give(n int64) {
	b.mu.Lock()
	b.free += n
	b.mu.Unlock()
}

// charge is what one upload holds of the budget.
type charge struct {
	b    *budget
	held int64
}

type chargeKey struct{}

func (c *charge) add(n int64) bool {
	if n <= 0 {
		return true
	}
	if !c.b.take(n) {
		return false
	}
	c.held += n
	return true
}

func (c *charge) release() {
	c.b.give(c.held)
	c.held = 0
}

// overloaded answers 503 with Retry-After.
func (h *Handler) overloaded(w http.ResponseWriter) {
	w.Header().Set("Retry-After", strconv.Itoa(int((h.o.RetryAfter+time.Second-1)/time.Second)))
	writeError(w, http.StatusServiceUnavailable, api.CodeOverloaded, "hub busy; retry after the Retry-After seconds")
}
