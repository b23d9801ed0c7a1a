// Package httpmw is the HTTP middleware the hub's server and its
// operations surface share: a response writer that records what was
// answered, the route a request matched, and request logging without
// personal data. The server logs each request with it (LogRequests) and
// package ops counts and times them (Observe).
package httpmw

import (
	"log/slog"
	"net/http"
	"time"
)

// Recorder is a ResponseWriter that records the status and the size of
// the answer. Unwrap lets http.ResponseController reach the writer below
// (flushing, deadlines).
type Recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

// WriteHeader records the first status written.
func (w *Recorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *Recorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap returns the ResponseWriter below.
func (w *Recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Status is the status answered; 200 when the handler wrote nothing, as
// net/http then answers.
func (w *Recorder) Status() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// Bytes is the size of the body written.
func (w *Recorder) Bytes() int64 { return w.bytes }

// Route is the pattern the ServeMux matched r with (e.g. "POST
// /api/v1/records"), "unmatched" when none: never the raw path, which may
// hold terminal or record IDs.
func Route(r *http.Request) string {
	if r.Pattern == "" {
		return "unmatched"
	}
	return r.Pattern
}

// Served is what Observe reports of one request.
type Served struct {
	Method string
	Route  string // see Route
	Status int
	// RequestBytes is the announced body size (-1 when unknown).
	RequestBytes  int64
	ResponseBytes int64
	Took          time.Duration
}

// Observe serves requests with next, then tells done what was served.
func Observe(next http.Handler, done func(r *http.Request, s Served)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &Recorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		done(r, Served{Method: r.Method, Route: Route(r), Status: rec.Status(),
			RequestBytes: r.ContentLength, ResponseBytes: rec.Bytes(), Took: time.Since(start)})
	})
}

// LogRequests logs method, route pattern, status, sizes and duration of
// each request next serves — never client addresses, query strings or
// bodies, which may be personal.
func LogRequests(log *slog.Logger, next http.Handler) http.Handler {
	return Observe(next, func(r *http.Request, s Served) {
		log.LogAttrs(r.Context(), slog.LevelInfo, "http request",
			slog.String("method", s.Method),
			slog.String("route", s.Route),
			slog.Int("status", s.Status),
			slog.Int64("req_bytes", s.RequestBytes),
			slog.Int64("resp_bytes", s.ResponseBytes),
			slog.Duration("took", s.Took),
		)
	})
}
