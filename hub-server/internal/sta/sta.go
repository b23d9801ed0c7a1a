// Package sta serves the hub's open environmental data as an OGC
// SensorThings API 1.1 (part 1, sensing), read-only, under Prefix: the
// service root with its conformance classes, resource paths (entity sets,
// entities, navigation, properties and $value, $ref), collections with
// @iot.count and @iot.nextLink, $expand run as nested queries per parent,
// $select, and $resultFormat=dataArray. Query options are parsed, checked
// and compiled to SQL by package query; the statements run through
// store.OpenData.QueryOpenData with a statement timeout.
//
// The endpoint is public and its input hostile: the URL's length is
// bounded, each client network has a request rate (package netlimit),
// only so many requests query at once (503 with Retry-After beyond),
// every statement and the whole request have a deadline (503 "query too
// expensive"), and one answer holds at most Opts.MaxEntities entities.
// Bad queries get 400 with the option, position and reason; nothing a
// client sends is a 500. Answers carry CORS's Access-Control-Allow-Origin
// "*" (browser clients such as Masterportal) and a short max-age; no
// cookies, nothing personal: the data model (package query's Schema)
// holds no record, name of a person or address of a client.
package sta

import (
	"bytes"
	"compress/gzip"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/quartierhub/quartierhub/hub-server/internal/netlimit"
	"github.com/quartierhub/quartierhub/hub-server/internal/sta/query"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// Prefix is the service root's path.
const Prefix = "/sta/v1.1"

// Opts configure a Handler. Zero values are the defaults.
type Opts struct {
	// PublicURL is the hub's address as clients reach it
	// ("https://hub.example.org"); self and next links start with it.
	// Default: from each request (its Host, and TLS or, with TrustProxy,
	// X-Forwarded-Proto).
	PublicURL string
	// TrustProxy believes X-Forwarded-Proto (the hub's server removes it
	// unless a trusted proxy sent it).
	TrustProxy bool
	// StatementTimeout bounds each SQL statement; Deadline the whole
	// request (a request with $expand runs one statement per expanded
	// entity). Defaults 5 s and 15 s.
	StatementTimeout, Deadline time.Duration
	// MaxConcurrent requests query at once; more get 503 with
	// Retry-After. Default 8.
	MaxConcurrent int
	// Rate limits requests per client network. Default: 20 a second
	// after a burst of 200 (a map client pans with dozens at once).
	Rate netlimit.Limits
	// MaxEntities bounds the entities of one answer, expanded ones
	// included; a request that would give more gets 400. Default 10000
	// (an answer of 10,000 observations is 5.5 MB of JSON and allocates
	// 92 MB while it is made).
	MaxEntities int
	// MaxURLBytes bounds the request URI. Default 8192.
	MaxURLBytes int
	// MaxAge is the Cache-Control max-age of answers. Default 30 s (a
	// minute's observations arrive once a minute).
	MaxAge time.Duration
	// Limits bound the query options (package query). Default
	// query.DefaultLimits with MaxTop 1000.
	Limits query.Limits
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger gets failures of the store. Default slog.Default().
	Logger *slog.Logger
}

// Handler serves the SensorThings API.
type Handler struct {
	st      store.OpenData
	dialect query.Dialect
	o       Opts
	rate    *netlimit.Limiter
	busy    *semaphore.Weighted
}

// New returns a Handler serving st's open data.
func New(st store.OpenData, o Opts) *Handler {
	if o.StatementTimeout <= 0 {
		o.StatementTimeout = 5 * time.Second
	}
	if o.Deadline <= 0 {
		o.Deadline = 3 * o.StatementTimeout
	}
	if o.MaxConcurrent <= 0 {
		o.MaxConcurrent = 8
	}
	if o.Rate == (netlimit.Limits{}) {
		o.Rate = netlimit.Limits{Every: 50 * time.Millisecond, Burst: 200}
	}
	if o.MaxEntities <= 0 {
		o.MaxEntities = 10000
	}
	if o.MaxURLBytes <= 0 {
		o.MaxURLBytes = 8192
	}
	if o.MaxAge <= 0 {
		o.MaxAge = 30 * time.Second
	}
	if o.Limits == (query.Limits{}) {
		o.Limits = query.DefaultLimits()
		o.Limits.MaxTop = 1000
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	o.PublicURL = strings.TrimRight(o.PublicURL, "/")
	return &Handler{st: st, dialect: query.Dialect(st.OpenDataDialect()), o: o,
		rate: netlimit.New(o.Rate), busy: semaphore.NewWeighted(int64(o.MaxConcurrent))}
}

// ServeHTTP answers one request under Prefix.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Access-Control-Allow-Origin", "*")
	hd.Set("X-Content-Type-Options", "nosniff")
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodOptions:
		// A browser's preflight (a client that adds a header of its own).
		hd.Set("Allow", allowed)
		hd.Set("Access-Control-Allow-Methods", allowed)
		hd.Set("Access-Control-Allow-Headers", "Accept, Accept-Language, Content-Type")
		hd.Set("Access-Control-Max-Age", "86400")
		w.WriteHeader(http.StatusNoContent)
		return
	default:
		hd.Set("Allow", allowed)
		writeError(w, http.StatusMethodNotAllowed, "this SensorThings API is read-only: GET or HEAD")
		return
	}
	if len(r.RequestURI) > h.o.MaxURLBytes || len(r.URL.RawQuery) > h.o.MaxURLBytes {
		writeError(w, http.StatusRequestURITooLong, "the URL is longer than the server reads")
		return
	}
	now := h.o.Now()
	if ok, wait := h.rate.Allow(netlimit.ClientNetwork(r.RemoteAddr), now); !ok {
		hd.Set("Retry-After", netlimit.RetryAfter(wait))
		writeError(w, http.StatusTooManyRequests, "too many requests from your network: slow down")
		return
	}
	if !h.busy.TryAcquire(1) {
		hd.Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "the server is busy: try again in a second")
		return
	}
	defer h.busy.Release(1)
	ctx, cancel := context.WithTimeout(r.Context(), h.o.Deadline)
	defer cancel()
	rq := &request{h: h, ctx: ctx, r: r, base: h.base(r), now: now,
		path: strings.TrimPrefix(r.URL.EscapedPath(), Prefix), decoded: strings.TrimPrefix(r.URL.Path, Prefix), raw: r.URL.RawQuery}
	body, err := rq.serve()
	if err != nil {
		h.fail(w, r, err)
		return
	}
	hd.Set("Cache-Control", "public, max-age="+itoa(int64(h.o.MaxAge/time.Second)))
	hd.Set("Content-Type", body.contentType)
	hd.Add("Vary", "Accept-Encoding")
	data := body.data
	if len(data) >= gzipFrom && acceptsGzip(r) {
		// A page of observations is mostly repeated names: gzip makes
		// it a tenth.
		var b bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&b, gzip.BestSpeed)
		zw.Write(data)
		zw.Close()
		data = b.Bytes()
		hd.Set("Content-Encoding", "gzip")
	}
	hd.Set("Content-Length", itoa(int64(len(data))))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(data)
	}
}

// gzipFrom is the smallest answer worth compressing.
const gzipFrom = 1024

// acceptsGzip reports whether r's Accept-Encoding allows gzip.
func acceptsGzip(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept-Encoding") {
		for _, part := range strings.Split(v, ",") {
			coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
			if strings.EqualFold(strings.TrimSpace(coding), "gzip") {
				return strings.ReplaceAll(strings.TrimSpace(params), " ", "") != "q=0"
			}
		}
	}
	return false
}

const allowed = "GET, HEAD, OPTIONS"

// base is the service root's absolute URL for r.
func (h *Handler) base(r *http.Request) string {
	if h.o.PublicURL != "" {
		return h.o.PublicURL + Prefix
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	} else if p := r.Header.Get("X-Forwarded-Proto"); h.o.TrustProxy && (p == "https" || p == "http") {
		scheme = p
	}
	return scheme + "://" + r.Host + Prefix
}
