// Package tufhttp serves the hub's TUF repository (package tufrepo)
// read-only, as the TUF specification lays it out with consistent
// snapshots:
//
//	/tuf/v1/metadata/{N}.root.json
//	/tuf/v1/metadata/timestamp.json
//	/tuf/v1/metadata/{V}.snapshot.json
//	/tuf/v1/metadata/{V}.targets.json
//	/tuf/v1/targets/{dir}/{sha256}.{name}
//
// It is public: TUF's signatures protect integrity and releases are not
// secret. Like the other public routes it is bounded: requests per client
// network are rate limited (package netlimit), downloads of artifacts at
// once are capped because each is read whole from the store, and paths
// are short and strictly formed before anything is looked up.
package tufhttp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/netlimit"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// Prefix is where the repository is mounted.
const Prefix = "/tuf/v1/"

// Store is the part of the hub's store served.
type Store interface {
	TUFMetadata(ctx context.Context, role string, version int64) (store.TUFMetadata, error)
	TUFTarget(ctx context.Context, name string) (store.TUFTarget, error)
}

// Opts configure a Handler. Zero values are the defaults.
type Opts struct {
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Metadata limits metadata requests per client network. Default: a
	// burst of 60, then 10 a second: an updater's check is 2 to 4 files,
	// so a whole office of terminals behind one address stays well below.
	Metadata netlimit.Limits
	// Targets limits artifact downloads per client network. Default: a
	// burst of 20, then one every 3 seconds (resumed downloads count).
	Targets netlimit.Limits
	// Downloads is the most artifacts sent at once (each is held in
	// memory while sent). Default 8; beyond it 503 with Retry-After.
	Downloads int
	// Logger gets store failures. Default slog.Default().
	Logger *slog.Logger
}

// Handler serves the repository.
type Handler struct {
	st        Store
	o         Opts
	meta, tgt *netlimit.Limiter
	downloads chan struct{}
}

// New returns a Handler serving st.
func New(st Store, o Opts) *Handler {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Metadata == (netlimit.Limits{}) {
		o.Metadata = netlimit.Limits{Every: 100 * time.Millisecond, Burst: 60}
	}
	if o.Targets == (netlimit.Limits{}) {
		o.Targets = netlimit.Limits{Every: 3 * time.Second, Burst: 20}
	}
	if o.Downloads <= 0 {
		o.Downloads = 8
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Handler{st: st, o: o, meta: netlimit.New(o.Metadata), tgt: netlimit.New(o.Targets), downloads: make(chan struct{}, o.Downloads)}
}

// Cache-Control of the files: the timestamp changes hourly and must be
// fresh; every other file is named by its version or hash and never
// changes.
const (
	cacheTimestamp = "no-cache"
	cacheImmutable = "public, max-age=31536000, immutable"
)

// maxPath bounds a request path; the longest real one is about 150 bytes.
const maxPath = 512

var (
	versionedMeta = regexp.MustCompile(`^([1-9][0-9]{0,17})\.(root|snapshot|targets)\.json$`)
	hashedTarget  = regexp.MustCompile(`^(?:([A-Za-z0-9][A-Za-z0-9._+~-]*(?:/[A-Za-z0-9][A-Za-z0-9._+~-]*)*)/)?([0-9a-f]{64})\.([A-Za-z0-9][A-Za-z0-9._+~-]*)$`)
)

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := r.URL.Path
	if len(p) > maxPath || !strings.HasPrefix(p, Prefix) {
		http.NotFound(w, r)
		return
	}
	p = strings.TrimPrefix(p, Prefix)
	switch {
	case strings.HasPrefix(p, "metadata/"):
		h.serveMetadata(w, r, strings.TrimPrefix(p, "metadata/"))
	case strings.HasPrefix(p, "targets/"):
		h.serveTarget(w, r, strings.TrimPrefix(p, "targets/"))
	default:
		http.NotFound(w, r)
	}
}

func (h *Handler) limited(w http.ResponseWriter, r *http.Request, l *netlimit.Limiter) bool {
	ok, wait := l.Allow(netlimit.ClientNetwork(r.RemoteAddr), h.o.Now())
	if !ok {
		w.Header().Set("Retry-After", netlimit.RetryAfter(wait))
		http.Error(w, "too many requests", http.StatusTooManyRequests)
	}
	return !ok
}

func (h *Handler) serveMetadata(w http.ResponseWriter, r *http.Request, file string) {
	var role string
	var version int64
	cache := cacheImmutable
	if file == "timestamp.json" {
		role, cache = "timestamp", cacheTimestamp
	} else if m := versionedMeta.FindStringSubmatch(file); m != nil {
		role = m[2]
		version, _ = strconv.ParseInt(m[1], 10, 64)
	} else {
		http.NotFound(w, r)
		return
	}
	if h.limited(w, r, h.meta) {
		return
	}
	m, err := h.st.TUFMetadata(r.Context(), role, version)
	if errors.Is(err, store.ErrNotFound) {
		http.NotFound(w, r)
		return
	} else if err != nil {
		h.serverError(w, "metadata", err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", cache)
	if role != "timestamp" {
		w.Header().Set("ETag", fmt.Sprintf(`"%s-%d"`, role, m.Version))
	}
	http.ServeContent(w, r, "", m.AddedAt, bytes.NewReader(m.Body))
}

func (h *Handler) serveTarget(w http.ResponseWriter, r *http.Request, file string) {
	m := hashedTarget.FindStringSubmatch(file)
	if m == nil {
		http.NotFound(w, r)
		return
	}
	name := m[3]
	if m[1] != "" {
		name = m[1] + "/" + m[3]
	}
	if h.limited(w, r, h.tgt) {
		return
	}
	select {
	case h.downloads <- struct{}{}:
		defer func() { <-h.downloads }()
	default:
		w.Header().Set("Retry-After", "10")
		http.Error(w, "too many downloads at once", http.StatusServiceUnavailable)
		return
	}
	t, err := h.st.TUFTarget(r.Context(), name)
	if errors.Is(err, store.ErrNotFound) || (err == nil && t.SHA256 != m[2]) {
		http.NotFound(w, r)
		return
	} else if err != nil {
		h.serverError(w, "target", err)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Cache-Control", cacheImmutable)
	w.Header().Set("ETag", `"`+t.SHA256+`"`)
	// ServeContent answers Range requests: the updater resumes downloads.
	http.ServeContent(w, r, "", t.AddedAt, bytes.NewReader(t.Body))
}

func (h *Handler) serverError(w http.ResponseWriter, what string, err error) {
	h.o.Logger.Error("tuf repository", "what", what, "err", err)
	http.Error(w, "internal error", http.StatusInternalServerError)
}
