// Package terminalapi is the hub's HTTP handler for the terminal API
// described in package api: enrolment, request authentication, record
// ingest and ping, and the fleet endpoints (heartbeat, configuration,
// commands, diagnostics; fleet_*.go).
package terminalapi

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"
	segjson "github.com/segmentio/encoding/json"

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
	// Fleet wires the fleet endpoints; see FleetOpts.
	Fleet FleetOpts
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
	h := &Handler{st: st, o: o, mux: http.NewServeMux(), ingest: semaphore.NewWeighted(o.MaxIngestBytes),
		unverified: semaphore.NewWeighted(o.MaxUnverifiedBytes),
		enrolNets:  netlimit.New(o.EnrolPerNetwork), enrolAll: netlimit.New(o.EnrolOverall)}
	h.handle("POST "+api.PathEnroll, http.HandlerFunc(h.enroll))
	h.handle("GET "+api.PathPing, h.authenticate(noBody, nil, h.ping))
	h.handle("POST "+api.PathRecords, uploadHeaders(h.authenticate(batchLimit, h.admitUpload, h.records)))
	h.fleetRoutes()
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

// serveOpenAPI serves the API's OpenAPI 3 document (api.OpenAPI).
func serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Write(api.OpenAPI)
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, api.Error{Error: msg, Code: code})
}

const maxEnrollBody = 64 << 10

func (h *Handler) enroll(w http.ResponseWriter, r *http.Request) {
	// Before the body is read: a network that failed too often waits.
	// Only failures count, so a fleet enrolled with good tokens from one
	// workshop network is never slowed, while a guesser gets a few
	// attempts a minute.
	now := h.o.Now()
	done, ok, wait := h.beginEnrol(r, now)
	if !ok {
		w.Header().Set("Retry-After", netlimit.RetryAfter(wait))
		w.Header().Set("Connection", "close") // not waiting for the body (see authenticate)
		h.refuse(w, r, http.StatusTooManyRequests, api.CodeTooManyRequests, "too many failed enrolment attempts; retry after the Retry-After seconds", "")
		return
	}
	failed := true
	defer func() { done(failed, h.o.Now()) }()
	var req api.EnrollRequest
	size := r.ContentLength
	if size < 0 || size > maxEnrollBody {
		size = maxEnrollBody
	}
	body, err := h.readBody(w, r, maxEnrollBody, size)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		writeError(w, http.StatusRequestTimeout, api.CodeTimeout, "request body arrived too slowly")
		return
	}
	if err == nil {
		err = decodeJSON(body, &req)
	}
	if err != nil {
		writeError(w, jsonErrorStatus(err), jsonErrorCode(err), "malformed enrolment request: "+err.Error())
		return
	}
	pub, err := api.DecodePublicKey(req.PublicKey)
	if err != nil {
		writeError(w, http.StatusBadRequest, api.CodeBadRequest, "public_key must be a base64 (standard) ed25519 public key of 32 bytes")
		return
	}
	if len(req.SoftwareVersion) > 100 {
		writeError(w, http.StatusBadRequest, api.CodeBadRequest, "software_version longer than 100 characters")
		return
	}
	id, err := ulid.New(ulid.Timestamp(now), h.o.Rand)
	if err != nil {
		h.internal(w, "enroll: terminal id", err)
		return
	}
	t, err := h.st.Enroll(r.Context(), store.Enrolment{
		TokenHash:       sha256.Sum256([]byte(req.Token)),
		TerminalID:      id.String(),
		PublicKey:       pub,
		SoftwareVersion: req.SoftwareVersion,
		Now:             now,
	})
	switch {
	case errors.Is(err, store.ErrTokenUnknown):
		h.refuse(w, r, http.StatusUnauthorized, api.CodeTokenUnknown, "enrolment token unknown", "")
	case errors.Is(err, store.ErrTokenUsed):
		h.refuse(w, r, http.StatusUnauthorized, api.CodeTokenUsed, "enrolment token already used; create a new one", "")
	case errors.Is(err, store.ErrTokenExpired):
		h.refuse(w, r, http.StatusUnauthorized, api.CodeTokenExpired, "enrolment token expired; create a new one", "")
	case errors.Is(err, store.ErrNameTaken):
		h.refuse(w, r, http.StatusConflict, api.CodeNameTaken, "a terminal with this token's name is already enrolled", "")
	case err != nil:
		h.internal(w, "enroll", err)
	default:
		failed = false
		h.o.Logger.Info("terminal enrolled", "terminal", t.ID, "name", t.Name, "quarter", t.Quarter)
		writeJSON(w, http.StatusOK, api.EnrollResponse{TerminalID: t.ID, Name: t.Name, Quarter: t.Quarter, HubTime: now.UTC()})
	}
}

// beginEnrol starts an enrolment attempt under the per-network and the
// overall limit (netlimit.Limiter.Begin).
func (h *Handler) beginEnrol(r *http.Request, now time.Time) (done func(failed bool, at time.Time), ok bool, wait time.Duration) {
	doneNet, ok, wait := h.enrolNets.Begin(netlimit.ClientNetwork(r.RemoteAddr), now)
	if !ok {
		return nil, false, wait
	}
	doneAll, ok, wait := h.enrolAll.Begin("", now)
	if !ok {
		doneNet(false, now)
		return nil, false, wait
	}
	return func(failed bool, at time.Time) { doneNet(failed, at); doneAll(failed, at) }, true, 0
}

func (h *Handler) refuse(w http.ResponseWriter, r *http.Request, status int, code, msg, terminal string) {
	h.o.Logger.Info("terminal api: refused", "path", r.URL.Path, "status", status, "code", code, "terminal", terminal)
	writeError(w, status, code, msg)
}

func (h *Handler) internal(w http.ResponseWriter, what string, err error) {
	h.o.Logger.Error("terminal api: "+what, "err", err)
	writeError(w, http.StatusInternalServerError, api.CodeInternal, "internal error; retry later")
}

// authed is what authenticate puts into the request context.
type authed struct {
	terminal store.Terminal
	body     []byte
}

type ctxKey struct{}

// TerminalFrom returns the authenticated terminal of a request's context.
func TerminalFrom(ctx context.Context) (store.Terminal, bool) {
	a, ok := ctx.Value(ctxKey{}).(*authed)
	if !ok {
		return store.Terminal{}, false
	}
	return a.terminal, true
}

func bodyFrom(ctx context.Context) []byte {
	a, _ := ctx.Value(ctxKey{}).(*authed)
	return a.body
}

// noBody and batchLimit give the largest body a route accepts on the wire.
func noBody(*http.Request) int64 { return 64 << 10 }

func batchLimit(r *http.Request) int64 {
	if r.Header.Get("Content-Encoding") == "gzip" {
		return api.MaxBatchBytes
	}
	return api.MaxBatchBytesUncompressed
}

// authenticate checks the QH-Ed25519 signature (see package api) and
// reads the body. Header, clock and terminal are checked before the
// body is read, so strangers cannot make the hub read large bodies for
// nothing; with Content-Digest the signature is checked then too, and a
// stranger is refused before the hub reads or charges anything. A
// terminal has one request with a body per route in flight at a time
// (strangers using its ID contend only with each other, for the
// unverified budget), and the body must arrive in time (bodyDeadline).
// admit, if set, charges what the authenticated body will cost before
// it is read; it answers itself when it refuses.
func (h *Handler) authenticate(limit func(*http.Request) int64, admit admitFunc, next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Refused before its body is read, a request ends its connection:
		// net/http would otherwise wait for a small body to arrive before
		// answering, as long as the sender cares to trickle it.
		if r.ContentLength != 0 {
			w.Header().Set("Connection", "close")
		}
		a, t, ok := h.identify(w, r)
		if !ok {
			return
		}
		lim := limit(r)
		if r.ContentLength > lim {
			h.refuse(w, r, http.StatusRequestEntityTooLarge, api.CodeTooLarge, fmt.Sprintf("request body larger than %d bytes", lim), t.ID)
			return
		}
		size := r.ContentLength
		if size < 0 {
			size = lim // unknown length: charged the most it may be
		}
		var sum [sha256.Size]byte
		verified := false
		if v := r.Header.Get(api.DigestHeader); v != "" {
			s, err := api.ParseContentDigest(v)
			switch {
			case err == nil:
				if !api.VerifySignatureDigest(t.PublicKey, a, r.Method, r.URL.RequestURI(), s) {
					h.refuse(w, r, http.StatusUnauthorized, api.CodeBadSignature, "signature does not match this terminal's key and request", t.ID)
					return
				}
				sum, verified = s, true
			case errors.Is(err, api.ErrNoSHA256Digest): // other algorithms only: checked once read
			default:
				h.refuse(w, r, http.StatusBadRequest, api.CodeBadRequest, "malformed Content-Digest; expected sha-256=:BASE64:", t.ID)
				return
			}
		}
		if size > 0 {
			slot := inflightKey{terminal: t.ID, route: r.Pattern, verified: verified}
			if !h.inflight.take(slot) {
				h.busy(w, r, t.ID)
				return
			}
			defer h.inflight.give(slot)
		}
		c := &charge{b: h.ingest}
		defer c.release()
		unv := &charge{b: h.unverified}
		defer unv.release()
		if verified {
			if admit != nil && !admit(w, r, t, c, size) {
				return
			}
		} else if !unv.add(size) {
			h.overloaded(w)
			return
		}
		body, err := h.readBody(w, r, lim, size)
		if err == nil {
			w.Header().Del("Connection")
		}
		if err != nil {
			var tooBig *http.MaxBytesError
			switch {
			case errors.As(err, &tooBig):
				h.refuse(w, r, http.StatusRequestEntityTooLarge, api.CodeTooLarge, fmt.Sprintf("request body larger than %d bytes", tooBig.Limit), t.ID)
			case errors.Is(err, os.ErrDeadlineExceeded):
				h.refuse(w, r, http.StatusRequestTimeout, api.CodeTimeout, "request body arrived too slowly", t.ID)
			default:
				h.o.Logger.Info("terminal api: reading body", "terminal", t.ID, "err", err)
				writeError(w, http.StatusBadRequest, api.CodeBadRequest, "could not read request body")
			}
			return
		}
		if verified {
			if sha256.Sum256(body) != sum {
				h.refuse(w, r, http.StatusUnauthorized, api.CodeBadSignature, "body does not match its Content-Digest", t.ID)
				return
			}
		} else {
			if !api.VerifySignature(t.PublicKey, a, r.Method, r.URL.RequestURI(), body) {
				h.refuse(w, r, http.StatusUnauthorized, api.CodeBadSignature, "signature does not match this terminal's key and request", t.ID)
				return
			}
			if admit != nil && !admit(w, r, t, c, int64(len(body))) {
				return
			}
			unv.release() // authenticated: off the strangers' budget
		}
		ctx := context.WithValue(r.Context(), ctxKey{}, &authed{terminal: t, body: body})
		next(w, r.WithContext(context.WithValue(ctx, chargeKey{}, c)))
	})
}

// identify checks what can be checked before the body: the header, the
// clock, and that the terminal is known and not revoked.
func (h *Handler) identify(w http.ResponseWriter, r *http.Request) (api.Auth, store.Terminal, bool) {
	a, err := api.ParseAuth(r.Header.Get("Authorization"))
	if err != nil {
		h.refuse(w, r, http.StatusUnauthorized, api.CodeAuthMalformed, "missing or malformed Authorization header; expected "+api.AuthScheme+" terminal=…,ts=…,sig=…", "")
		return a, store.Terminal{}, false
	}
	now := h.o.Now()
	if !api.FreshTimestamp(a.Timestamp, now) {
		h.refuse(w, r, http.StatusUnauthorized, api.CodeClockSkew,
			fmt.Sprintf("request timestamp is more than %v from hub time %s; check the terminal's clock", api.MaxClockSkew, now.UTC().Format(time.RFC3339)), a.TerminalID)
		return a, store.Terminal{}, false
	}
	t, err := h.st.Terminal(r.Context(), a.TerminalID)
	if errors.Is(err, store.ErrNotFound) {
		h.refuse(w, r, http.StatusUnauthorized, api.CodeTerminalUnknown, "unknown terminal; enrol again", "")
		return a, t, false
	} else if err != nil {
		h.internal(w, "authenticate", err)
		return a, t, false
	}
	if t.Revoked() {
		if h.o.Fleet.OnRevokedCall != nil {
			h.o.Fleet.OnRevokedCall(t, now)
		}
		h.refuse(w, r, http.StatusUnauthorized, api.CodeRevoked, "terminal credentials revoked; enrol again", t.ID)
		return a, t, false
	}
	return a, t, true
}

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

func (h *Handler) ping(w http.ResponseWriter, r *http.Request) {
	t, _ := TerminalFrom(r.Context())
	now := h.o.Now()
	if now.Sub(t.LastSeenAt) >= h.o.TouchInterval {
		if err := h.st.TouchTerminal(r.Context(), t.ID, now); err != nil {
			h.o.Logger.Warn("terminal api: touch", "terminal", t.ID, "err", err)
		}
	}
	writeJSON(w, http.StatusOK, api.PingResponse{TerminalID: t.ID, HubTime: now.UTC()})
}

// uploadHeaders refuses unknown encodings and content types before
// anything else is done for an upload.
func uploadHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Header.Get("Content-Encoding") {
		case "", "identity", "gzip":
		default:
			writeError(w, http.StatusUnsupportedMediaType, api.CodeUnsupported, "Content-Encoding must be gzip or absent")
			return
		}
		if ct := r.Header.Get("Content-Type"); ct != "" {
			if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
				writeError(w, http.StatusUnsupportedMediaType, api.CodeUnsupported, "Content-Type must be application/json")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// admitUpload charges an authenticated upload's body and a fixed
// overhead to the ingest budget; when the uploads in progress already
// hold MaxIngestBytes it answers 503, so terminals back off instead of
// queueing without bound behind the store.
func (h *Handler) admitUpload(w http.ResponseWriter, _ *http.Request, _ store.Terminal, c *charge, size int64) bool {
	if !c.add(ingestOverhead + size) {
		h.overloaded(w)
		return false
	}
	return true
}

func (h *Handler) records(w http.ResponseWriter, r *http.Request) {
	t, _ := TerminalFrom(r.Context())
	data := bodyFrom(r.Context())
	if r.Header.Get("Content-Encoding") == "gzip" {
		buf := bufPool.Get().(*bytes.Buffer)
		defer bufPool.Put(buf) // after IngestBatch: the decoded batch points into buf
		// Charged what the gzip trailer announces; a stream that
		// inflates beyond it is charged the limit before it may go on.
		c, _ := r.Context().Value(chargeKey{}).(*charge)
		want := min(gzipSize(data), api.MaxBatchBytesUncompressed)
		if c != nil && !c.add(want) {
			h.overloaded(w)
			return
		}
		err := gunzip(buf, data, want)
		if errors.Is(err, errTooLarge) && want < api.MaxBatchBytesUncompressed {
			if c != nil && !c.add(api.MaxBatchBytesUncompressed-want) {
				h.overloaded(w)
				return
			}
			err = gunzip(buf, data, api.MaxBatchBytesUncompressed)
		}
		if err != nil {
			if errors.Is(err, errTooLarge) {
				h.refuse(w, r, http.StatusRequestEntityTooLarge, api.CodeTooLarge,
					fmt.Sprintf("batch larger than %d bytes uncompressed", api.MaxBatchBytesUncompressed), t.ID)
				return
			}
			h.refuse(w, r, http.StatusBadRequest, api.CodeBadRequest, "body is not valid gzip: "+err.Error(), t.ID)
			return
		}
		data = buf.Bytes()
	}
	b, err := decodeBatch(data)
	if err != nil {
		h.refuse(w, r, jsonErrorStatus(err), jsonErrorCode(err), "malformed batch JSON: "+err.Error(), t.ID)
		return
	}
	if len(b.Records) > api.MaxBatchRecords {
		h.refuse(w, r, http.StatusRequestEntityTooLarge, api.CodeTooLarge,
			fmt.Sprintf("batch has %d records, at most %d allowed", len(b.Records), api.MaxBatchRecords), t.ID)
		return
	}
	for i := range b.Records {
		if err := b.Records[i].Validate(); err != nil {
			h.refuse(w, r, http.StatusBadRequest, api.CodeInvalidRecord, fmt.Sprintf("record %d: %v", i, err), t.ID)
			return
		}
	}
	if len(b.Records) == 0 {
		writeJSON(w, http.StatusOK, api.BatchAck{})
		return
	}
	start := h.o.Now()
	ack, err := h.st.IngestBatch(r.Context(), t.ID, b.Records, start)
	switch {
	case errors.Is(err, store.ErrRevoked), errors.Is(err, store.ErrNotFound):
		h.refuse(w, r, http.StatusUnauthorized, api.CodeRevoked, "terminal credentials revoked; enrol again", t.ID)
		return
	case err != nil:
		h.internal(w, "ingest", err)
		return
	}
	h.o.Logger.Debug("batch stored", "terminal", t.ID, "stored", ack.Stored, "duplicates", ack.Duplicates)
	writeJSON(w, http.StatusOK, ack)
}

// decodeBatch parses a batch with segmentio's encoding/json-compatible
// decoder: about 5x faster than encoding/json here, which matters when a
// terminal comes back with a week of records. ZeroCopy makes strings and
// payloads point into data, so data must outlive the batch's use. The
// shape is checked first: the decoder recurses per nesting level (two
// million brackets overflowed the stack) and allocates every record of
// the list before its length can be checked.
func decodeBatch(data []byte) (api.Batch, error) {
	var b api.Batch
	if err := api.TerminalJSON.Check(data); err != nil {
		return b, err
	}
	rest, err := segjson.Parse(data, &b, segjson.ZeroCopy)
	if err != nil {
		return b, err
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return b, errors.New("data after the batch object")
	}
	return b, nil
}

// decodeJSON decodes a JSON body from a terminal or a stranger into v
// once its shape is within api.TerminalJSON, so no decoder ever sees deep
// or huge-listed input and nothing it lets through (payloads, bundles)
// is stored for the hub to decode later.
func decodeJSON(data []byte, v any) error {
	if err := api.TerminalJSON.Check(data); err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}

// jsonErrorStatus and jsonErrorCode answer a decoding error: a list
// longer than the limits is too large (as a batch with too many records
// always was), anything else is a bad request.
func jsonErrorStatus(err error) int {
	if errors.Is(err, api.ErrJSONTooLong) {
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusBadRequest
}

func jsonErrorCode(err error) string {
	if errors.Is(err, api.ErrJSONTooLong) {
		return api.CodeTooLarge
	}
	return api.CodeBadRequest
}

var errTooLarge = errors.New("too large")

// gzipSize is the uncompressed size a gzip stream's trailer announces
// (ISIZE, RFC 1952; modulo 2³², so only a hint), 0 if there is none.
func gzipSize(data []byte) int64 {
	if len(data) < 18 {
		return 0
	}
	return int64(binary.LittleEndian.Uint32(data[len(data)-4:]))
}

// Pools keep the decompression state and buffers of a busy hub from being
// allocated anew for every batch.
var (
	bufPool  = sync.Pool{New: func() any { return new(bytes.Buffer) }}
	gzipPool sync.Pool // *gzip.Reader
)

// gunzip decompresses data into out (reset first), at most limit bytes.
func gunzip(out *bytes.Buffer, data []byte, limit int64) error {
	out.Reset()
	var zr *gzip.Reader
	if v := gzipPool.Get(); v != nil {
		zr = v.(*gzip.Reader)
		if err := zr.Reset(bytes.NewReader(data)); err != nil {
			return err
		}
	} else {
		var err error
		if zr, err = gzip.NewReader(bytes.NewReader(data)); err != nil {
			return err
		}
	}
	defer gzipPool.Put(zr)
	n, err := out.ReadFrom(io.LimitReader(zr, limit+1))
	if err != nil {
		return err
	}
	if n > limit {
		return errTooLarge
	}
	return nil
}
