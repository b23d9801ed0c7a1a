package terminalapi

import (
	"crypto/sha256"
	"errors"
	"net/http"
	"os"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/netlimit"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// maxEnrollBody bounds an enrolment request: a token, a key, a version.
const maxEnrollBody = 64 << 10

// enroll trades a one-time enrolment token for a terminal ID bound to the
// terminal's public key. It is the one endpoint open to anyone, so failed
// attempts are limited per client network and overall (beginEnrol).
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
