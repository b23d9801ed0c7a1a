// Package console is the hub's web console for IT staff and moderators:
// server-rendered HTML (templates and one stylesheet embedded, no
// JavaScript build step), one handler per file named noun_verb.go.
//
// # Security
//
//   - Users have one role (admin, moderator, viewer); roles.go holds the
//     one table of what each may do, and every route names its action
//     (routes.go).
//   - Passwords are hashed with argon2id (password.go, DefaultParams).
//   - Sessions are server-side in the store (so hub processes sharing a
//     PostgreSQL database share them); the cookie carries 256 random bits
//     and the store only their SHA-256. The cookie is HttpOnly,
//     SameSite=Lax, Path=/, and Secure with the __Host- prefix when the
//     request came over HTTPS (directly, or through a proxy that says so
//     in X-Forwarded-Proto when Opts.TrustProxy is set, or always with
//     Opts.SecureCookies). Over HTTPS every cookie of the console (session,
//     login form token, language) has the __Host- prefix and the
//     unprefixed names are ignored, so a cookie planted over plain HTTP or
//     from a subdomain is never believed. Sessions end after Opts.IdleTimeout without a
//     request and Opts.MaxAge after login, at logout, and when the user's
//     password or role changes or the user is disabled.
//   - Every state-changing request is a POST that must carry the
//     session's CSRF token (hidden form field "csrf"), and is refused
//     when the browser says it came from another site (Origin,
//     Sec-Fetch-Site). The login form uses a double-submit cookie.
//   - Failed logins are counted in the store per client address and user
//     name (hashed): after Opts.FreeAttempts failures within an hour each
//     further attempt must wait 1 s, 2 s, 4 s … up to 15 minutes, so
//     several hub processes enforce one limit. A looser limit per user
//     name alone (20 failures an hour from any address) slows guessing
//     spread over many addresses; a network without failures still gets
//     a checked attempt, so the real user is not locked out
//     (login_throttle.go).
//   - A form that edits something others may edit too (a configuration
//     layer, a report's state, a user) carries the version it was loaded
//     with, and the store writes only on that version (compare-and-swap):
//     of two people the second sees a conflict page that keeps their
//     entries, never a silent overwrite.
//   - Every change and every export is written to the audit log (who,
//     what, target, when), never with passwords, tokens or residents' text.
//   - A release upload (release.go) is the one body larger than a form:
//     the role is checked before it is read, its first part must be the
//     CSRF token, the artifact is streamed to a temporary file within
//     tufrepo.MaxArtifactBytes, one upload at a time, and the hub's TUF
//     repository publishes only what the offline targets key signed.
//
// # Software updates
//
// Admins publish releases (release.go), start, pause, resume and stop
// staged rollouts through the rollout engine (rollout.go) and set the
// quarters' maintenance windows (window.go); viewers see all three.
//
// # Languages
//
// Every page is English or German (messages.go, messages_de.go), chosen
// per request: the header's switch (?lang= for visitors, a stored choice
// for users, which an admin may also set), else the browser's
// Accept-Language, else Opts.Lang — for the public status page
// Opts.PublicLang, German, as residents of Dresden read it.
//
// The public status page of a problem report (/status/REF) shows only
// category, status, the public note and dates — the resident's text only
// when a moderator approved publishing it. Lookups are limited per client
// network (status_limit.go): 429 and a plain page beyond the limit.
package console

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/fleet"
	"github.com/quartierhub/quartierhub/hub-server/internal/netlimit"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// Opts configures the console. Zero values are the defaults.
type Opts struct {
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Rand is the entropy for session IDs, tokens and IDs. Default crypto/rand.
	Rand io.Reader
	// Logger gets notable events (no personal data). Default slog.Default().
	Logger *slog.Logger
	// PublicURL is the hub's address as terminals and residents reach it
	// (e.g. https://hub.example.org), for enrolment instructions and
	// status links. Default: taken from each request.
	PublicURL string
	// OnlineWithin: a terminal seen this recently is online. Default 90s.
	OnlineWithin time.Duration
	// IdleTimeout ends a session after this long without a request.
	// Default 30 minutes.
	IdleTimeout time.Duration
	// MaxAge ends a session this long after login. Default 12 hours.
	MaxAge time.Duration
	// FreeAttempts is how many failed logins per client and user name
	// pass before the backoff starts. Default 5.
	FreeAttempts int
	// SecureCookies marks cookies Secure on every request (set it when a
	// proxy terminates TLS without saying so).
	SecureCookies bool
	// TrustProxy believes X-Forwarded-Proto for the Secure cookie flag.
	// Set it only where the server in front strips forwarded headers from
	// anyone but trusted proxies (hub-server serve --trusted-proxy does).
	TrustProxy bool
	// Params are the argon2id parameters for new password hashes.
	// Default DefaultParams.
	Params Params
	// TokenTTL is how long enrolment tokens made in the console stay
	// valid. Default 24h.
	TokenTTL time.Duration
	// CommandTTL is how long a command waits for its terminal. Default 24h.
	CommandTTL time.Duration
	// Lang is the console's language for visitors whose browser asks
	// for none of Langs and users who chose none. Default "en".
	Lang string
	// PublicLang is the public status page's language for residents
	// whose browser asks for none of Langs. Default "de" (Dresden).
	PublicLang string
	// StatusLookupEvery, StatusLookupBurst and StatusLookupClients limit
	// the public status page's lookups per client network (status_limit.go):
	// a burst of StatusLookupBurst (default 20), then one per
	// StatusLookupEvery (default 3s), for at most StatusLookupClients
	// networks at once (default 10000; beyond, they share one limit).
	StatusLookupEvery   time.Duration
	StatusLookupBurst   int
	StatusLookupClients int
	// Releases is the hub's TUF repository the releases page publishes
	// into; nil when the hub has none set up (hub-server release init),
	// and the page says so.
	Releases TargetPublisher
	// Rollouts is the staged rollout engine; nil: rollouts are shown but
	// cannot be started or changed.
	Rollouts RolloutEngine
	// TempDir is where an uploaded release artifact is kept while it is
	// checked. Default os.TempDir().
	TempDir string
	// Phone configures the participants' phone pages (phone.go).
	Phone PhoneOpts
	// Workshops is the hub's workshop service; nil: the workshop pages
	// say the hub runs none.
	Workshops WorkshopService
	// AirMap is the public air page's map; zero: the page lists the
	// terminals by quarter only (air_map.go).
	AirMap AirMap
}

// Console serves the web console and the public status pages.
type Console struct {
	st      store.Store
	o       Opts
	mux     *http.ServeMux
	pages   *pages
	configs *fleet.Configs
	// static is static/ alone: the templates beside it are no business
	// of a browser.
	static fs.FS
	// lookups limits the public status page per client network.
	lookups *netlimit.Limiter
	// publishing holds a token while a release is read and published:
	// one at a time, for each holds an artifact in memory.
	publishing chan struct{}
	// liveSlots bounds the staff's live workshop sockets (workshop_live.go).
	liveSlots chan struct{}
	// phone holds the phone pages' limits and live sockets.
	phone *phones
	// air holds the public air pages' limit and caches (air_show.go).
	air *airState
}

// New returns the console on st.
func New(st store.Store, o Opts) (*Console, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.OnlineWithin <= 0 {
		o.OnlineWithin = 90 * time.Second
	}
	if o.StatusLookupEvery <= 0 {
		o.StatusLookupEvery = 3 * time.Second
	}
	if o.StatusLookupBurst <= 0 {
		o.StatusLookupBurst = 20
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 30 * time.Minute
	}
	if o.MaxAge <= 0 {
		o.MaxAge = 12 * time.Hour
	}
	if o.FreeAttempts <= 0 {
		o.FreeAttempts = 5
	}
	if o.Params.MemoryKiB == 0 {
		o.Params = DefaultParams
	}
	if o.TokenTTL <= 0 {
		o.TokenTTL = 24 * time.Hour
	}
	if o.CommandTTL <= 0 {
		o.CommandTTL = 24 * time.Hour
	}
	if !knownLang(o.Lang) {
		o.Lang = "en"
	}
	if !knownLang(o.PublicLang) {
		o.PublicLang = "de"
	}
	if err := o.AirMap.Check(); err != nil {
		return nil, err
	}
	p, err := loadPages()
	if err != nil {
		return nil, err
	}
	static, err := fs.Sub(assets, "static")
	if err != nil {
		return nil, fmt.Errorf("console: static files: %w", err)
	}
	c := &Console{st: st, o: o, mux: http.NewServeMux(), pages: p, static: static,
		publishing: make(chan struct{}, 1),
		liveSlots:  make(chan struct{}, maxStaffLive),
		lookups:    netlimit.New(netlimit.Limits{Every: o.StatusLookupEvery, Burst: o.StatusLookupBurst, Clients: o.StatusLookupClients}),
		configs:    fleet.NewConfigs(st, fleet.ConfigsOpts{CheckEvery: -1, Now: o.Now})}
	if c.phone, err = newPhones(o.Phone, o.Rand); err != nil {
		return nil, err
	}
	c.air = newAirState(o)
	c.routes()
	c.airRoutes()
	return c, nil
}

// ServeHTTP implements http.Handler.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	c.mux.ServeHTTP(w, r)
}

// Run deletes expired sessions and old login-failure counts every few
// minutes until ctx ends.
func (c *Console) Run(ctx context.Context) error {
	t := time.NewTicker(5 * time.Minute)
	defer t.Stop()
	for {
		now := c.o.Now()
		if _, err := c.st.DeleteExpiredSessions(ctx, now); err != nil && ctx.Err() == nil {
			c.o.Logger.Warn("console: expire sessions", "err", err)
		}
		if _, err := c.st.PruneLoginFailures(ctx, now.Add(-failureWindow)); err != nil && ctx.Err() == nil {
			c.o.Logger.Warn("console: prune login failures", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
