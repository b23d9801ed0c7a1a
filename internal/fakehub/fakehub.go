// Package fakehub is a hub for the tests of the terminal's side, in the
// manner of Tailscale's test control server: it speaks the terminal API
// of hub-server/api from memory — enrolment, requests signed with or
// without Content-Digest (clock, terminal, signature and digest checked
// as the real hub does), records acknowledged with duplicates, ping,
// heartbeats (with the deployment's card key, SetCardKey), configuration
// with ETag and 304, commands, diagnostics,
// screenshots, workshops (list, events, live socket; workshop.go) —
// keeps what it received for assertions, and misbehaves on request:
// Inject drops connections, delays, answers a status (with Retry-After)
// or cuts an answer mid-body, on one path or all, for the next N
// requests or until ClearFaults.
//
// It imports hub-server/api only, never the hub's internals, so the
// kiosk's tests and those under tests/ may use it. The real hub is in
// tests/agenthub.
package fakehub

import (
	"bytes"
	"compress/gzip"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/internal/testutil"
)

// Opts configures a Hub. Zero values are the defaults.
type Opts struct {
	// Now is the hub's clock (time.Now): signed timestamps must be within
	// api.MaxClockSkew of it, and commands expire by it.
	Now func() time.Time
}

// Hub is a running fake hub. Its methods are safe for concurrent use.
type Hub struct {
	t    testing.TB
	opts Opts

	srvMu    sync.Mutex
	srv      *httptest.Server
	addr     string
	stopping chan struct{} // closed while the hub is going away

	mu          sync.Mutex
	tokens      map[string]*token
	terminals   map[string]*terminal
	stored      map[string]bool // terminal "/" record id
	records     []api.Record    // stored, in order of first arrival
	batches     [][]string      // record IDs of each well-formed batch, in order handled
	duplicates  int
	refused     map[string]string // record id → reason
	heartbeats  []api.Heartbeat
	config      []byte
	version     string
	served      map[string]int   // configuration versions answered with 200
	update      *api.UpdateOffer // offered in every heartbeat answer (SetUpdate)
	cardKey     []byte           // the deployment's card key (SetCardKey); nil: none sent
	commands    []*Command
	diagnostics []Bundle
	screenshots []Screenshot
	requests    []Request
	faults      []*pending
	// workshops (workshop.go), by ID; workshopOrder in the order added.
	workshops     map[string]*fakeWorkshop
	workshopOrder []string
}

type token struct {
	name, quarter string
	expires       time.Time
	used          bool
}

type terminal struct {
	id, name, quarter string
	pub               ed25519.PublicKey
	revoked           bool
}

// Bundle is a diagnostics bundle the hub received.
type Bundle struct {
	ID, TerminalID string
	api.Diagnostics
}

// Request is one request as the hub saw it.
type Request struct {
	Method, Path string
	// Terminal is the terminal the Authorization header names ("" if none).
	Terminal        string
	ContentEncoding string
	// Status is what the hub answered: 0 while the request is under way
	// or when a fault dropped the connection; for CutBody the status of
	// the answer that was cut.
	Status int
	// Fault is the fault that met the request, if any.
	Fault *Fault
}

// Start starts a hub on a loopback port; it stops when the test ends.
func Start(t testing.TB, opts Opts) *Hub {
	t.Helper()
	if opts.Now == nil {
		opts.Now = time.Now
	}
	h := &Hub{t: t, opts: opts, tokens: map[string]*token{}, terminals: map[string]*terminal{},
		stored: map[string]bool{}, refused: map[string]string{}, served: map[string]int{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("fakehub: %v", err)
	}
	h.addr = ln.Addr().String()
	h.serve(ln)
	t.Cleanup(h.Stop)
	return h
}

func (h *Hub) serve(ln net.Listener) {
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	h.srvMu.Lock()
	h.srv, h.stopping = srv, make(chan struct{})
	h.srvMu.Unlock()
}

// URL is the hub's base URL; it stays the same across Stop and Restart.
func (h *Hub) URL() string { return "http://" + h.addr }

// Stop takes the hub away: its port refuses connections and requests
// under way are cut. What it received stays.
func (h *Hub) Stop() {
	h.srvMu.Lock()
	srv := h.srv
	h.srv = nil
	if srv != nil {
		close(h.stopping)
	}
	h.srvMu.Unlock()
	if srv != nil {
		srv.CloseClientConnections()
		srv.Close()
	}
}

// Restart brings a stopped hub back at its address, with everything it
// held.
func (h *Hub) Restart() {
	h.t.Helper()
	var ln net.Listener
	// The old socket may linger a moment.
	testutil.EventuallyOK(h.t, "fakehub listening again on "+h.addr, func() (err error) {
		ln, err = net.Listen("tcp", h.addr)
		return err
	})
	h.serve(ln)
}

// AddToken makes token an enrolment token for a terminal named name in
// quarter, valid for 24 hours (as `hub-server token create`).
func (h *Hub) AddToken(tok, name, quarter string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.tokens[tok] = &token{name: name, quarter: quarter, expires: h.opts.Now().Add(24 * time.Hour)}
}

// AddTerminal enrols a terminal out of band: requests signed by pub's
// private key as id are accepted.
func (h *Hub) AddTerminal(id string, pub ed25519.PublicKey) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.terminals[id] = &terminal{id: id, name: id, pub: pub}
}

// NewTerminal enrols a terminal id with a new key and returns the key.
func (h *Hub) NewTerminal(id string) ed25519.PrivateKey {
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		h.t.Fatalf("fakehub: %v", err)
	}
	h.AddTerminal(id, pub)
	return priv
}

// Revoke revokes terminal id: its requests answer 401 terminal_revoked.
func (h *Hub) Revoke(id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if t, ok := h.terminals[id]; ok {
		t.revoked = true
	}
}

// RefuseRecord makes the hub refuse for good (400 invalid_record) every
// batch that holds the record id, with reason.
func (h *Hub) RefuseRecord(id, reason string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.refused[id] = reason
}

// Records returns the records stored, in the order they first arrived.
func (h *Hub) Records() []api.Record {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]api.Record(nil), h.records...)
}

// RecordsOf returns the stored records of type typ.
func (h *Hub) RecordsOf(typ string) []api.Record {
	var out []api.Record
	for _, r := range h.Records() {
		if r.Type == typ {
			out = append(out, r)
		}
	}
	return out
}

// Batches returns the record IDs of every well-formed batch the hub
// handled (stored, acknowledged as duplicates or refused), in the order
// it handled them.
func (h *Hub) Batches() [][]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([][]string, len(h.batches))
	for i, b := range h.batches {
		out[i] = append([]string(nil), b...)
	}
	return out
}

// Duplicates is how many records arrived again and were acknowledged
// without being stored again.
func (h *Hub) Duplicates() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.duplicates
}

// Heartbeats returns the heartbeats received, oldest first.
func (h *Hub) Heartbeats() []api.Heartbeat {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]api.Heartbeat(nil), h.heartbeats...)
}

// Diagnostics returns the diagnostics bundles received, oldest first.
func (h *Hub) Diagnostics() []Bundle {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Bundle(nil), h.diagnostics...)
}

// Requests returns every request the hub saw, oldest first.
func (h *Hub) Requests() []Request {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Request(nil), h.requests...)
}

// Count is how many requests to path the hub saw (path as in Inject).
func (h *Hub) Count(path string) int {
	n := 0
	for _, r := range h.Requests() {
		if matches(path, r.Path) {
			n++
		}
	}
	return n
}

// ServeHTTP answers one request of the terminal API.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &recorder{ResponseWriter: w}
	entry := Request{Method: r.Method, Path: r.URL.Path, ContentEncoding: r.Header.Get("Content-Encoding")}
	if a, err := api.ParseAuth(r.Header.Get("Authorization")); err == nil {
		entry.Terminal = a.TerminalID
	}
	entry.Fault = h.takeFault(r.URL.Path)
	// Logged on arrival, so a test can see a request that is being held.
	h.mu.Lock()
	i := len(h.requests)
	h.requests = append(h.requests, entry)
	h.mu.Unlock()
	status := 0
	if entry.Fault != nil {
		status = h.misbehave(rec, r, entry.Fault, i)
	} else {
		h.route(rec, r)
		status = rec.status
	}
	h.setStatus(i, status)
}

func (h *Hub) setStatus(i, status int) {
	h.mu.Lock()
	h.requests[i].Status = status
	h.mu.Unlock()
}

func (h *Hub) route(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case r.Method == http.MethodPost && p == api.PathEnroll:
		h.enroll(w, r)
	case r.Method == http.MethodGet && p == api.PathPing:
		h.authed(w, r, 0, h.ping)
	case r.Method == http.MethodPost && p == api.PathRecords:
		h.authed(w, r, api.MaxBatchBytesUncompressed, h.batch)
	case r.Method == http.MethodPost && p == api.PathHeartbeat:
		h.authed(w, r, api.MaxHeartbeatBytes, h.heartbeat)
	case r.Method == http.MethodGet && p == api.PathConfig:
		h.authed(w, r, 0, h.configGet)
	case r.Method == http.MethodGet && p == api.PathCommands:
		h.authed(w, r, 0, h.commandList)
	case r.Method == http.MethodPost && strings.HasPrefix(p, api.PathCommands+"/") && strings.HasSuffix(p, "/screenshot"):
		h.authed(w, r, api.MaxScreenshotBytes, h.screenshotPost)
	case r.Method == http.MethodPost && strings.HasPrefix(p, api.PathCommands+"/"):
		h.authed(w, r, api.MaxCommandResultBytes, h.commandPost)
	case r.Method == http.MethodPost && p == api.PathDiagnostics:
		h.authed(w, r, api.MaxDiagnosticsBytes, h.diagnosticsPost)
	case r.Method == http.MethodGet && p == api.PathWorkshops:
		h.authed(w, r, 0, h.workshopList)
	case r.Method == http.MethodGet && strings.HasPrefix(p, api.PathWorkshops+"/") && strings.HasSuffix(p, "/events"):
		h.authed(w, r, 0, h.workshopEvents)
	case r.Method == http.MethodGet && strings.HasPrefix(p, api.PathWorkshops+"/") && strings.HasSuffix(p, "/live"):
		h.authed(w, r, 0, h.workshopLive)
	default:
		writeError(w, http.StatusNotFound, api.CodeNotFound, "no such endpoint")
	}
}

// authed checks the request's signature as the real hub does (with
// Content-Digest before the body is read) and calls next with the
// terminal and the body.
func (h *Hub) authed(w http.ResponseWriter, r *http.Request, limit int64, next func(http.ResponseWriter, *http.Request, *terminal, []byte)) {
	a, err := api.ParseAuth(r.Header.Get("Authorization"))
	if err != nil {
		writeError(w, http.StatusUnauthorized, api.CodeAuthMalformed, "missing or malformed Authorization header")
		return
	}
	if !api.FreshTimestamp(a.Timestamp, h.opts.Now()) {
		writeError(w, http.StatusUnauthorized, api.CodeClockSkew, "request timestamp too far from hub time")
		return
	}
	h.mu.Lock()
	t, ok := h.terminals[a.TerminalID]
	var tc terminal
	if ok {
		tc = *t
	}
	h.mu.Unlock()
	switch {
	case !ok:
		writeError(w, http.StatusUnauthorized, api.CodeTerminalUnknown, "unknown terminal; enrol again")
		return
	case tc.revoked:
		writeError(w, http.StatusUnauthorized, api.CodeRevoked, "terminal credentials revoked; enrol again")
		return
	}
	var sum [sha256.Size]byte
	digested := false
	if v := r.Header.Get(api.DigestHeader); v != "" {
		s, err := api.ParseContentDigest(v)
		switch {
		case err == nil:
			if !api.VerifySignatureDigest(tc.pub, a, r.Method, r.URL.RequestURI(), s) {
				writeError(w, http.StatusUnauthorized, api.CodeBadSignature, "signature does not match this terminal's key and request")
				return
			}
			sum, digested = s, true
		case !errors.Is(err, api.ErrNoSHA256Digest):
			writeError(w, http.StatusBadRequest, api.CodeBadRequest, "malformed Content-Digest")
			return
		}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	switch {
	case err != nil:
		writeError(w, http.StatusBadRequest, api.CodeBadRequest, "could not read request body")
		return
	case int64(len(body)) > limit:
		writeError(w, http.StatusRequestEntityTooLarge, api.CodeTooLarge, fmt.Sprintf("request body larger than %d bytes", limit))
		return
	case digested && sha256.Sum256(body) != sum:
		writeError(w, http.StatusUnauthorized, api.CodeBadSignature, "body does not match its Content-Digest")
		return
	case !digested && !api.VerifySignature(tc.pub, a, r.Method, r.URL.RequestURI(), body):
		writeError(w, http.StatusUnauthorized, api.CodeBadSignature, "signature does not match this terminal's key and request")
		return
	}
	next(w, r, &tc, body)
}

func (h *Hub) enroll(w http.ResponseWriter, r *http.Request) {
	var req api.EnrollRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, api.CodeBadRequest, "malformed enrolment request: "+err.Error())
		return
	}
	pub, err := api.DecodePublicKey(req.PublicKey)
	if err != nil {
		writeError(w, http.StatusBadRequest, api.CodeBadRequest, err.Error())
		return
	}
	now := h.opts.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	tok, ok := h.tokens[req.Token]
	switch {
	case !ok:
		writeError(w, http.StatusUnauthorized, api.CodeTokenUnknown, "enrolment token unknown")
		return
	case tok.used:
		writeError(w, http.StatusUnauthorized, api.CodeTokenUsed, "enrolment token already used; create a new one")
		return
	case !now.Before(tok.expires):
		writeError(w, http.StatusUnauthorized, api.CodeTokenExpired, "enrolment token expired; create a new one")
		return
	}
	for _, t := range h.terminals {
		if t.name == tok.name && !t.revoked {
			writeError(w, http.StatusConflict, api.CodeNameTaken, "a terminal with this token's name is already enrolled")
			return
		}
	}
	tok.used = true
	t := &terminal{id: ulid.Make().String(), name: tok.name, quarter: tok.quarter, pub: pub}
	h.terminals[t.id] = t
	writeJSON(w, http.StatusOK, api.EnrollResponse{TerminalID: t.id, Name: t.name, Quarter: t.quarter, HubTime: now.UTC()})
}

func (h *Hub) ping(w http.ResponseWriter, _ *http.Request, t *terminal, _ []byte) {
	writeJSON(w, http.StatusOK, api.PingResponse{TerminalID: t.id, HubTime: h.opts.Now().UTC()})
}

func (h *Hub) batch(w http.ResponseWriter, r *http.Request, t *terminal, body []byte) {
	data := body
	switch r.Header.Get("Content-Encoding") {
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err == nil {
			data, err = io.ReadAll(io.LimitReader(zr, api.MaxBatchBytesUncompressed+1))
		}
		if err != nil {
			writeError(w, http.StatusBadRequest, api.CodeBadRequest, "body is not valid gzip: "+err.Error())
			return
		}
		if len(data) > api.MaxBatchBytesUncompressed {
			writeError(w, http.StatusRequestEntityTooLarge, api.CodeTooLarge, "batch too large uncompressed")
			return
		}
	case "", "identity":
	default:
		writeError(w, http.StatusUnsupportedMediaType, api.CodeUnsupported, "Content-Encoding must be gzip or absent")
		return
	}
	var b api.Batch
	if err := json.Unmarshal(data, &b); err != nil {
		writeError(w, http.StatusBadRequest, api.CodeBadRequest, "malformed batch JSON: "+err.Error())
		return
	}
	if len(b.Records) > api.MaxBatchRecords {
		writeError(w, http.StatusRequestEntityTooLarge, api.CodeTooLarge, "too many records")
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	ids := make([]string, len(b.Records))
	for i, rec := range b.Records {
		ids[i] = rec.ID
	}
	h.batches = append(h.batches, ids)
	for i := range b.Records {
		err := b.Records[i].Validate()
		if reason, ok := h.refused[b.Records[i].ID]; ok && err == nil {
			err = errors.New(reason)
		}
		if err == nil && b.Records[i].Type == api.RecordWorkshopEvent {
			err = h.checkWorkshopEvent(t, b.Records[i])
		}
		if err != nil {
			writeError(w, http.StatusBadRequest, api.CodeInvalidRecord, fmt.Sprintf("record %d: %v", i, err))
			return
		}
	}
	var ack api.BatchAck
	for _, rec := range b.Records {
		key := t.id + "/" + rec.ID
		if h.stored[key] {
			ack.Duplicates++
			continue
		}
		h.stored[key] = true
		h.records = append(h.records, rec)
		if rec.Type == api.RecordWorkshopEvent {
			h.ingestWorkshopEvent(rec)
		}
		ack.Stored++
	}
	h.duplicates += ack.Duplicates
	writeJSON(w, http.StatusOK, ack)
}

// recorder notes the status a handler answered.
type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

// Unwrap lets a live socket take over the connection (websocket.Accept).
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, api.CodeInternal, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, api.Error{Error: msg, Code: code})
}
