package terminalapi

import (
	"io"
	"net/http"
	"time"
)

// maxBodyTime caps a body's deadline at the hub server's ReadTimeout,
// which a deadline set here replaces.
const maxBodyTime = 2 * time.Minute

// readBody reads at most limit bytes of r's body, size of them announced.
// The whole body must arrive within BodyTimeout plus a second per
// MinBodyRate bytes (at most maxBodyTime); the deadline is the
// network's, so on the real clock.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request, limit, size int64) ([]byte, error) {
	if size > 0 {
		d := min(h.o.BodyTimeout+time.Duration(size/h.o.MinBodyRate)*time.Second, maxBodyTime)
		// Unsupported by test recorders only; a real connection has deadlines.
		_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(d))
	}
	rd := http.MaxBytesReader(w, r.Body, limit)
	if r.ContentLength >= 0 && r.ContentLength <= limit {
		// net/http ends the body at Content-Length: read it in one piece.
		buf := make([]byte, r.ContentLength)
		_, err := io.ReadFull(rd, buf)
		return buf, err
	}
	return io.ReadAll(rd)
}
