// Package terminalapi is the hub's HTTP handler for the terminal API
// described in package api: enrolment, request authentication, record
// ingest and ping, the fleet endpoints (heartbeat, configuration,
// commands, diagnostics) and the workshop endpoints (list, events, live
// socket).
//
// One file per endpoint, named after its route and method
// (enroll_post.go, ping_get.go, records_post.go, heartbeat_post.go,
// config_get.go, commands.go, diagnostics_post.go, screenshot_post.go,
// openapi_get.go); the fleet endpoints are registered in fleet.go, the
// workshop endpoints in workshops.go, their live sockets (one
// subscription, read and encoding per workshop, shared by its sockets;
// Handler.Run closes them when the hub stops) in workshop_live.go. What
// they share:
// authenticating a terminal's request and reading its body (auth.go,
// body.go), the byte budgets and the one-request-per-terminal rule
// (budget.go), what an upload must pass before its body is read
// (ingest_admit.go), bounded JSON and gzip decoding (decode.go,
// gunzip.go), and the answers (answer.go).
package terminalapi

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"net/http"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/netlimit"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// Store is what the terminal API needs of the hub's store.
type Store interface {
	Enroll(ctx context.Context, e store.Enrolment) (store.Terminal, error)
	Terminal(ctx context.Context, id string) (store.Terminal, error)
	TouchTerminal(ctx context.Context, id string, at time.Time) error
	IngestBatch(ctx context.Context, terminalID string, recs []api.Record, receivedAt time.Time) (api.BatchAck, error)
	FleetStore
	SecretStore
}

// Opts configures the handler. Zero values are the defaults.
type Opts struct {
	// Now is the hub's clock. Default time.Now.
	Now func() time.Time
	// Rand is the entropy for new terminal IDs. Default crypto/rand.
	Rand io.Reader
	// Logger receives one line per notable event. Default slog.Default().
	Logger *slog.Logger
	// MaxIngestBytes bounds the memory of the record uploads in progress
	// (reading, decompressing, decoding, waiting for the store, writing).
	// Each upload is charged its body, its decompressed size (announced
	// by the gzip trailer, enforced while decompressing) and a fixed
	// overhead; one that does not fit is answered 503 with Retry-After.
	// Charging bytes rather than counting requests lets thousands of
	// terminals' small uploads wait for the store's group commit
	// together, while a few of the largest batches still fill the
	// budget. A terminal has one upload in progress at a time (429
	// otherwise), so one terminal ID cannot take the budget; it is
	// charged once the signature is checked. Default 80 MiB (four of the
	// largest batches).
	MaxIngestBytes int64
	// MaxUnverifiedBytes bounds the bodies being read whose signature
	// can only be checked once they are in: requests without
	// Content-Digest (terminals from before it). Strangers who know a
	// terminal ID can fill it, never MaxIngestBytes. Default 40 MiB.
	MaxUnverifiedBytes int64
	// BodyTimeout and MinBodyRate bound how long reading a request body
	// may take: BodyTimeout plus one second per MinBodyRate bytes it
	// announces (at most 2 minutes, the server's ReadTimeout), so a slow
	// link still delivers a large batch while a trickling stranger is
	// cut off with 408. Defaults 10s and 32 KiB/s.
	BodyTimeout time.Duration
	MinBodyRate int64
	// RetryAfter is what a 503 or 429 asks terminals to wait. Default 5s.
	RetryAfter time.Duration
	// TouchInterval is how stale a terminal's last-seen time may get before
	// a ping updates it. Default 1 minute.
	TouchInterval time.Duration
	// EnrolPerNetwork limits failed enrolment attempts per client
	// network (netlimit.ClientNetwork); beyond it attempts are answered
	// 429 with Retry-After: enrolment is the one endpoint open to anyone,
	// and guessing tokens must get nowhere. Default a burst of 20, then
	// one per 10 s, for up to 10000 networks (beyond them, one shared
	// limit).
	EnrolPerNetwork netlimit.Limits
	// EnrolOverall limits all failed enrolment attempts together, so many
	// networks cannot add up to a flood (Clients unused). Default a burst
	// of 200, then two a second.
	EnrolOverall netlimit.Limits
	// KeepDiagnostics bounds the stored diagnostics bundles (see
	// store.DiagnosticsKeep). Default the newest 5 per terminal, 256 MiB
	// in all.
	KeepDiagnostics store.DiagnosticsKeep
	// KeepScreenshots bounds the stored screenshots (see
	// store.ScreenshotKeep). Default the newest 5 per terminal, 256 MiB in
	// all.
	KeepScreenshots store.ScreenshotKeep
	// Fleet wires the fleet endpoints; see FleetOpts.
	Fleet FleetOpts
	// Workshops wires the workshop endpoints; see WorkshopOpts.
	Workshops WorkshopOpts
}

// Handler serves the terminal API.
type Handler struct {
	st         Store
	o          Opts
	mux        *http.ServeMux
	ingest     *semaphore.Weighted // admission of uploads by bytes (TryAcquire only: a charge fits or not)
	unverified *semaphore.Weighted // bodies read before their signature can be checked
	enrolNets  *netlimit.Limiter   // enrolment attempts per client network
	enrolAll   *netlimit.Limiter   // all enrolment attempts, under one key
	inflight   inflight            // one request with a body per terminal and route
	routes     []string            // patterns of the API's endpoints (Routes)
	live       *liveHub            // workshops' live sockets
	cardKey    cardKey             // the deployment's, for heartbeats (cardkey.go)
}

// New returns the terminal API on st.
func New(st Store, o Opts) *Handler {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.MaxIngestBytes <= 0 {
		o.MaxIngestBytes = 4 * (api.MaxBatchBytes + api.MaxBatchBytesUncompressed + ingestOverhead)
	}
	if o.MaxUnverifiedBytes <= 0 {
		o.MaxUnverifiedBytes = 40 << 20
	}
	if o.BodyTimeout <= 0 {
		o.BodyTimeout = 10 * time.Second
	}
	if o.MinBodyRate <= 0 {
		o.MinBodyRate = 32 << 10
	}
	if o.RetryAfter <= 0 {
		o.RetryAfter = 5 * time.Second
	}
	if o.TouchInterval <= 0 {
		o.TouchInterval = time.Minute
	}
	if o.EnrolPerNetwork.Every <= 0 {
		o.EnrolPerNetwork.Every = 10 * time.Second
	}
	if o.EnrolPerNetwork.Burst <= 0 {
		o.EnrolPerNetwork.Burst = 20
	}
	if o.EnrolOverall.Every <= 0 {
		o.EnrolOverall.Every = time.Second / 2
	}
	if o.EnrolOverall.Burst <= 0 {
		o.EnrolOverall.Burst = 200
	}
	o.EnrolOverall.Clients = 1
	if o.KeepDiagnostics.PerTerminal <= 0 {
		o.KeepDiagnostics.PerTerminal = 5
	}
	if o.KeepDiagnostics.TotalBytes <= 0 {
		o.KeepDiagnostics.TotalBytes = 256 << 20
	}
	if o.KeepScreenshots.PerTerminal <= 0 {
		o.KeepScreenshots.PerTerminal = 5
	}
	if o.KeepScreenshots.TotalBytes <= 0 {
		o.KeepScreenshots.TotalBytes = 256 << 20
	}
	h := &Handler{st: st, o: o, mux: http.NewServeMux(), ingest: semaphore.NewWeighted(o.MaxIngestBytes),
		unverified: semaphore.NewWeighted(o.MaxUnverifiedBytes),
		enrolNets:  netlimit.New(o.EnrolPerNetwork), enrolAll: netlimit.New(o.EnrolOverall)}
	h.handle("POST "+api.PathEnroll, http.HandlerFunc(h.enroll))
	h.handle("GET "+api.PathPing, h.authenticate(noBody, nil, h.ping))
	h.handle("POST "+api.PathRecords, uploadHeaders(h.authenticate(batchLimit, h.admitUpload, h.records)))
	h.fleetRoutes()
	h.workshopRoutes()
	h.handle("GET "+api.PathOpenAPI, http.HandlerFunc(serveOpenAPI))
	h.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, api.CodeNotFound, "no such endpoint")
	})
	return h
}

// handle registers an endpoint of the API.
func (h *Handler) handle(pattern string, hd http.Handler) {
	h.mux.Handle(pattern, hd)
	h.routes = append(h.routes, pattern)
}

// Routes returns the patterns ("METHOD /path/{param}") of every endpoint
// the handler serves; the OpenAPI test checks them against the document.
func (h *Handler) Routes() []string { return append([]string(nil), h.routes...) }

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }
