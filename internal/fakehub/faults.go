package fakehub

import (
	"bufio"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
)

// Fault is how the hub misbehaves for a request. Delay and Hold come
// first; then at most one of Drop, Status and CutBody applies (in that
// order); with none of them the request is answered normally after the
// wait.
type Fault struct {
	// Delay holds the request this long before anything else (or until
	// the client gives up or the hub stops).
	Delay time.Duration
	// Hold, after Delay, holds the request until Hold is closed (or the
	// client gives up or the hub stops): the test decides when the hub
	// answers. Hub.Count sees the request while it is held.
	Hold <-chan struct{}
	// Drop closes the connection without an answer; the request is not
	// handled.
	Drop bool
	// Status answers this status with an api.Error body instead of
	// handling the request; Code is the error code (by default
	// overloaded for 503, internal for 500, too_many_requests for 429).
	Status int
	Code   string
	// RetryAfter, with Status, sets Retry-After in whole seconds.
	RetryAfter time.Duration
	// CutBody handles the request (a batch is stored), then sends the
	// answer's head and half its body and closes the connection: the
	// terminal never learns what happened.
	CutBody bool
}

func (f *Fault) String() string {
	var parts []string
	if f.Delay > 0 {
		parts = append(parts, "delay "+f.Delay.String())
	}
	if f.Hold != nil {
		parts = append(parts, "hold")
	}
	switch {
	case f.Drop:
		parts = append(parts, "drop")
	case f.Status != 0:
		parts = append(parts, "status "+strconv.Itoa(f.Status))
	case f.CutBody:
		parts = append(parts, "cut body")
	}
	return strings.Join(parts, ", ")
}

// Always, as Inject's times, keeps a fault until ClearFaults.
const Always = -1

type pending struct {
	path  string
	left  int // Always: until cleared
	fault Fault
}

// Inject makes the next times requests to path meet f (times Always:
// every request until ClearFaults). path "" is every path; a path ending
// in "/" every path under it (api.PathCommands+"/" for acks and
// results); any other path only itself. Faults apply in the order they
// were injected, before the request is authenticated, as a proxy or the
// network in front of a hub would.
func (h *Hub) Inject(path string, times int, f Fault) {
	if times == 0 || times < Always {
		h.t.Fatalf("fakehub: Inject %s %d times: want a positive count or Always", path, times)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.faults = append(h.faults, &pending{path: path, left: times, fault: f})
}

// ClearFaults removes every fault not yet used up.
func (h *Hub) ClearFaults() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.faults = nil
}

func matches(pattern, path string) bool {
	switch {
	case pattern == "":
		return true
	case strings.HasSuffix(pattern, "/"):
		return strings.HasPrefix(path, pattern)
	}
	return path == pattern
}

// takeFault returns the fault the next request to path meets, if any,
// and counts it used.
func (h *Hub) takeFault(path string) *Fault {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, p := range h.faults {
		if !matches(p.path, path) {
			continue
		}
		f := p.fault
		if p.left != Always {
			if p.left--; p.left == 0 {
				h.faults = append(h.faults[:i], h.faults[i+1:]...)
			}
		}
		return &f
	}
	return nil
}

// misbehave answers r, the request logged at index i, as f says and
// returns the status answered (0 for none).
func (h *Hub) misbehave(w *recorder, r *http.Request, f *Fault, i int) int {
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		defer t.Stop()
		if !wait(h, w, r, t.C) {
			return 0
		}
	}
	if f.Hold != nil && !wait(h, w, r, f.Hold) {
		return 0
	}
	switch {
	case f.Drop:
		hangUp(w.ResponseWriter)
		return 0
	case f.Status != 0:
		if f.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int((f.RetryAfter+time.Second-1)/time.Second)))
		}
		code := f.Code
		if code == "" {
			code = map[int]string{http.StatusServiceUnavailable: api.CodeOverloaded, http.StatusInternalServerError: api.CodeInternal,
				http.StatusTooManyRequests: api.CodeTooManyRequests}[f.Status]
		}
		writeError(w, f.Status, code, "fakehub: injected "+f.String())
		return f.Status
	case f.CutBody:
		answer := httptest.NewRecorder()
		h.route(answer, r)
		// Logged before the cut: the client sees the cut at once and
		// may read the log before this handler returns.
		h.setStatus(i, answer.Code)
		cutAnswer(w.ResponseWriter, answer)
		return answer.Code
	}
	h.route(w, r)
	return w.status
}

// wait waits for until; if the client gives up or the hub stops first,
// it hangs up and reports false.
func wait[T any](h *Hub, w *recorder, r *http.Request, until <-chan T) bool {
	h.srvMu.Lock()
	stopping := h.stopping
	h.srvMu.Unlock()
	select {
	case <-until:
		return true
	case <-r.Context().Done():
	case <-stopping:
	}
	hangUp(w.ResponseWriter) // else the server would answer an empty 200
	return false
}

// hangUp closes the request's connection without a word.
func hangUp(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		conn.Close()
	}
}

// cutAnswer sends answer's status line, headers and half its body on
// the raw connection, then closes it; an answer without a body is not
// sent at all.
func cutAnswer(w http.ResponseWriter, answer *httptest.ResponseRecorder) {
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	body := answer.Body.Bytes()
	if len(body) == 0 {
		return // no body to cut: nothing of the answer is sent
	}
	writeHead(buf.Writer, answer.Code, answer.Header(), len(body))
	_, _ = buf.Write(body[:len(body)/2])
	_ = buf.Flush()
}

func writeHead(b *bufio.Writer, status int, hdr http.Header, length int) {
	fmt.Fprintf(b, "HTTP/1.1 %d %s\r\n", status, http.StatusText(status))
	hdr = hdr.Clone()
	hdr.Set("Content-Length", strconv.Itoa(length))
	hdr.Set("Connection", "close")
	_ = hdr.Write(b)
	_, _ = b.WriteString("\r\n")
}
