package terminalapi

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
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

// admitFunc decides whether terminal t's authenticated request may send
// its body of size bytes and charges what it will cost, or answers and
// reports false. It runs before the body is read when the signature
// could be checked first (Content-Digest), otherwise after.
type admitFunc func(w http.ResponseWriter, r *http.Request, t store.Terminal, c *charge, size int64) bool

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

// inflightKey names a terminal's requests with a body on one route;
// verified ones (Content-Digest checked) are the terminal's own, the
// others may be anyone's who knows its ID.
type inflightKey struct {
	terminal, route string
	verified        bool
}

// inflight counts the requests in progress per key, at most
// api.MaxBodiesInFlight each, so a terminal ID cannot take more than its
// share of the budgets while the terminal's own pipelined uploads pass.
type inflight struct {
	mu   sync.Mutex
	held map[inflightKey]int
}

func (f *inflight) take(k inflightKey) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.held[k] >= api.MaxBodiesInFlight {
		return false
	}
	if f.held == nil {
		f.held = make(map[inflightKey]int)
	}
	f.held[k]++
	return true
}

func (f *inflight) give(k inflightKey) {
	f.mu.Lock()
	if f.held[k]--; f.held[k] <= 0 {
		delete(f.held, k)
	}
	f.mu.Unlock()
}

// busy answers 429 with Retry-After: the terminal already has a request
// of this kind in progress.
func (h *Handler) busy(w http.ResponseWriter, r *http.Request, terminal string) {
	w.Header().Set("Retry-After", strconv.Itoa(int((h.o.RetryAfter+time.Second-1)/time.Second)))
	h.refuse(w, r, http.StatusTooManyRequests, api.CodeTooManyRequests, "another request of this kind from this terminal is in progress; retry after the Retry-After seconds", terminal)
}
