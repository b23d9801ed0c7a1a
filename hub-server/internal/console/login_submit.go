package console

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// dummyHash makes a login for an unknown name cost as much as a real one,
// so timing does not tell which names exist.
// It is made on first use, not at start, so CLI commands do not pay for it.
var dummyHash = sync.OnceValue(func() string {
	h, _ := HashPassword("not a password of anyone", DefaultParams)
	return h
})

func (c *Console) loginSubmit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	name := strings.TrimSpace(r.PostFormValue("name"))
	pw := r.PostFormValue("password")
	d := loginData{Name: name, Next: safeNext(r.PostFormValue("next"))}
	ck := c.cookie(r, loginCookieName)
	if !sameOrigin(r) || ck == "" || subtle.ConstantTimeCompare([]byte(ck), []byte(r.PostFormValue(csrfField))) != 1 {
		d.Error = msg("login.error.form_stale")
		c.showLogin(w, r, http.StatusForbidden, d)
		return
	}
	ctx := r.Context()
	key := c.throttleKey(r, name)
	wait, err := c.loginWait(ctx, key)
	if err != nil {
		c.serverError(w, r, "login throttle", err)
		return
	}
	onPass := false
	if wait == 0 {
		if wait, onPass, err = c.nameWait(ctx, r, name); err != nil {
			c.serverError(w, r, "login throttle", err)
			return
		}
	}
	if wait > 0 {
		d.Error = msg("login.error.throttled", "seconds", int(wait.Seconds())+1)
		w.Header().Set("Retry-After", fmt.Sprint(int(wait.Seconds())+1))
		c.showLogin(w, r, http.StatusTooManyRequests, d)
		return
	}
	u, err := c.st.UserByName(ctx, name)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		c.serverError(w, r, "login", err)
		return
	}
	hash := u.PasswordHash
	if err != nil || u.Disabled() {
		hash = dummyHash()
	}
	if !CheckPassword(hash, pw) || err != nil || u.Disabled() {
		n, ferr := c.st.AddLoginFailure(ctx, key, c.o.Now(), failureWindow)
		if ferr != nil {
			c.serverError(w, r, "login failure", ferr)
			return
		}
		if n == int64(c.o.FreeAttempts) {
			c.o.Logger.Warn("console: login backoff starts", "failures", n)
		}
		// Limit 2 (login_throttle.go): the name from anywhere, and this
		// network, which is no longer clean for the name; a pass is spent.
		nn, ferr := c.st.AddLoginFailure(ctx, nameKey(name), c.o.Now(), failureWindow)
		if ferr == nil {
			_, ferr = c.st.AddLoginFailure(ctx, c.netKey(r, name), c.o.Now(), failureWindow)
		}
		if ferr == nil && onPass {
			ferr = c.st.ClearLoginFailures(ctx, c.passKey(r, name))
		}
		if ferr != nil {
			c.serverError(w, r, "login failure", ferr)
			return
		}
		if nn == nameFreeAttempts {
			c.o.Logger.Warn("console: login backoff for a user name starts (failures from several addresses)", "failures", nn)
		}
		d.Error = msg("login.error.wrong")
		c.showLogin(w, r, http.StatusUnauthorized, d)
		return
	}
	// The name's count stays: an attack on it goes on whoever logs in.
	for _, k := range []string{key, c.netKey(r, name), c.passKey(r, name)} {
		if err := c.st.ClearLoginFailures(ctx, k); err != nil {
			c.serverError(w, r, "login", err)
			return
		}
	}
	login := store.Audit{At: c.o.Now(), Actor: u.Name, Action: "user.login", Subject: "user:" + u.Name}
	if err := c.startSession(ctx, w, r, u, &login); err != nil {
		c.serverError(w, r, "login session", err)
		return
	}
	c.setCookie(w, r, loginCookieName, "", -1)
	http.Redirect(w, r, d.Next, http.StatusSeeOther)
}
