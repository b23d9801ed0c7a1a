package terminalapi

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

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
