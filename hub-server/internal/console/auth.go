package console

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

const (
	cookieName      = "qh_console"
	loginCookieName = "qh_login"
	// hostPrefix is put before every cookie's name over HTTPS: a browser
	// keeps a __Host- cookie only if it came over HTTPS for this very host
	// (Secure, Path=/, no Domain), so a sibling subdomain or a plain-HTTP
	// answer cannot plant one.
	hostPrefix       = "__Host-"
	secureCookieName = hostPrefix + cookieName
	csrfField        = "csrf"
	// failureWindow: failures older than this are forgotten.
	failureWindow = time.Hour
	maxBackoff    = 15 * time.Minute
)

// principal is the logged-in user of a request.
type principal struct {
	user    store.User
	session store.Session
}

type ctxKey struct{}

func principalFrom(ctx context.Context) *principal {
	p, _ := ctx.Value(ctxKey{}).(*principal)
	return p
}

func (c *Console) randToken(n int) (string, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(c.o.Rand, b); err != nil {
		return "", fmt.Errorf("console: random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func hashID(v string) string {
	s := sha256.Sum256([]byte(v))
	return hex.EncodeToString(s[:])
}

// secure reports whether the request reached the hub over HTTPS.
func (c *Console) secure(r *http.Request) bool {
	return c.o.SecureCookies || r.TLS != nil || (c.o.TrustProxy && strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https"))
}

// cookieName is the name the cookie base has on r: over HTTPS with the
// __Host- prefix, over plain HTTP (where a browser refuses the prefix)
// without it.
func (c *Console) cookieName(r *http.Request, base string) string {
	if c.secure(r) {
		return hostPrefix + base
	}
	return base
}

// setCookie sets the cookie base under its name for r (cookieName).
func (c *Console) setCookie(w http.ResponseWriter, r *http.Request, base, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: c.cookieName(r, base), Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		Secure: c.secure(r), SameSite: http.SameSiteLaxMode})
}

// cookie is the value of the cookie base under its name for r only: over
// HTTPS an unprefixed cookie of the same base is ignored, for anyone who
// can write cookies for the host over HTTP or from a subdomain could
// have planted it.
func (c *Console) cookie(r *http.Request, base string) string {
	ck, err := r.Cookie(c.cookieName(r, base))
	if err != nil {
		return ""
	}
	return ck.Value
}

// startSession logs u in: a new session, its cookie. With a login audit
// entry, the session, the user's login time and the entry are stored in
// one transaction (store.StartSession), so a login that cannot be
// audited does not happen.
func (c *Console) startSession(ctx context.Context, w http.ResponseWriter, r *http.Request, u store.User, login *store.Audit) error {
	id, err := c.randToken(32)
	if err != nil {
		return err
	}
	csrf, err := c.randToken(32)
	if err != nil {
		return err
	}
	now := c.o.Now()
	se := store.Session{IDHash: hashID(id), UserID: u.ID, CSRF: csrf, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(c.o.IdleTimeout)}
	if login != nil {
		err = c.st.StartSession(ctx, se, *login)
	} else {
		err = c.st.CreateSession(ctx, se)
	}
	if err != nil {
		return err
	}
	c.setCookie(w, r, cookieName, id, 0)
	return nil
}

// authenticated loads the session and its user; nil when there is none.
func (c *Console) authenticated(r *http.Request) (*principal, error) {
	v := c.cookie(r, cookieName)
	if v == "" {
		return nil, nil
	}
	now := c.o.Now()
	se, err := c.st.Session(r.Context(), hashID(v), now)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	if now.Sub(se.CreatedAt) >= c.o.MaxAge {
		return nil, c.st.DeleteSession(r.Context(), se.IDHash)
	}
	u, err := c.st.UserByID(r.Context(), se.UserID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && u.Disabled()) {
		return nil, c.st.DeleteSession(r.Context(), se.IDHash)
	} else if err != nil {
		return nil, err
	}
	// Extend the idle timeout, writing at most once a minute.
	if now.Sub(se.LastSeenAt) >= time.Minute {
		exp := now.Add(c.o.IdleTimeout)
		if err := c.st.TouchSession(r.Context(), se.IDHash, now, exp); err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		se.LastSeenAt, se.ExpiresAt = now, exp
	}
	return &principal{user: u, session: se}, nil
}

// sameOrigin refuses requests a browser marks as coming from another
// site: the second line of defence besides the CSRF token.
func sameOrigin(r *http.Request) bool {
	if s := r.Header.Get("Sec-Fetch-Site"); s != "" && s != "same-origin" && s != "none" {
		return false
	}
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || !strings.EqualFold(u.Host, r.Host) {
			return false
		}
	}
	return true
}

// guard wraps a handler: a session is required (else to the login page),
// the user's role must allow action (else 403), and a POST must carry
// the session's CSRF token and come from this site (else 403). An upload
// (limit > 0: a multipart body of at most limit bytes) is not parsed
// here: its first part must be the CSRF token, checked before anything
// else of the body is read (see upload.go), and the handler reads the
// rest as a stream.
func (c *Console) guard(action Action, limit int64, next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := c.authenticated(r)
		if err != nil {
			c.serverError(w, r, "session", err)
			return
		}
		if p == nil {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/console/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			c.fail(w, r, http.StatusUnauthorized, msg("error.session_ended"))
			return
		}
		ctx := context.WithValue(r.Context(), ctxKey{}, p)
		r = r.WithContext(ctx)
		if r.Method == http.MethodPost && limit > 0 {
			if !Can(p.user.Role, action) {
				// Refused before a byte of a large body is read.
				c.fail(w, r, http.StatusForbidden, msg("error.role_forbids", "role", label(p.user.Role)))
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, limit)
			up, ok := c.openUpload(w, r, p.session.CSRF)
			if !ok {
				c.o.Logger.Info("console: csrf refused", "route", r.Pattern, "user", p.user.Name)
				c.fail(w, r, http.StatusForbidden, msg("error.form_stale"))
				return
			}
			next(w, r.WithContext(context.WithValue(r.Context(), uploadKey{}, up)))
			return
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxForm)
			if !sameOrigin(r) || subtle.ConstantTimeCompare([]byte(r.PostFormValue(csrfField)), []byte(p.session.CSRF)) != 1 {
				c.o.Logger.Info("console: csrf refused", "route", r.Pattern, "user", p.user.Name)
				c.fail(w, r, http.StatusForbidden, msg("error.form_stale"))
				return
			}
		}
		if !Can(p.user.Role, action) {
			c.fail(w, r, http.StatusForbidden, msg("error.role_forbids", "role", label(p.user.Role)))
			return
		}
		next(w, r)
	})
}

// maxForm bounds a form body (a configuration layer is the largest).
const maxForm = 5 << 20

// clientAddr is the client's address for the login throttle. Behind
// trusted proxies the server has already put the real client into
// RemoteAddr (and dropped forwarded headers from anyone else), so the
// console never reads X-Forwarded-For itself.
func (c *Console) clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// throttleKey keeps neither address nor name in the clear.
func (c *Console) throttleKey(r *http.Request, name string) string {
	return hashID("login\n" + c.clientAddr(r) + "\n" + strings.ToLower(strings.TrimSpace(name)))
}

// backoff is how long after the last failure the next attempt must wait.
func (c *Console) backoff(failures int64) time.Duration {
	over := failures - int64(c.o.FreeAttempts)
	if over < 0 {
		return 0
	}
	if over > 10 {
		return maxBackoff
	}
	return min(time.Second<<over, maxBackoff)
}

// loginWait is how long the key must still wait before trying again.
func (c *Console) loginWait(ctx context.Context, key string) (time.Duration, error) {
	n, last, err := c.st.LoginFailures(ctx, key)
	if err != nil || n == 0 {
		return 0, err
	}
	wait := last.Add(c.backoff(n)).Sub(c.o.Now())
	if wait < 0 || c.o.Now().Sub(last) > failureWindow {
		return 0, nil
	}
	return wait, nil
}

// audit writes an audit entry for an action that changes nothing in the
// store (an export, a download) before the action: when it fails, the
// caller must not act.
func (c *Console) audit(ctx context.Context, action, subject, detail string) error {
	return c.st.AppendAudit(ctx, c.auditEntry(ctx, action, subject, detail))
}

func (c *Console) auditEntry(ctx context.Context, action, subject, detail string) store.Audit {
	return store.Audit{At: c.o.Now(), Actor: actor(ctx), Action: action, Subject: subject, Detail: detail}
}

func actor(ctx context.Context) string {
	if p := principalFrom(ctx); p != nil {
		return p.user.Name
	}
	return "anonymous"
}
