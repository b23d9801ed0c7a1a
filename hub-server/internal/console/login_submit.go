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
	ck, err := r.Cookie(loginCookieName)
	if err != nil || !sameOrigin(r) || ck.Value == "" || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(r.PostFormValue(csrfField))) != 1 {
		d.Error = T("The login form was out of date. Please try again.")
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
	if wait > 0 {
		d.Error = fmt.Sprintf(T("Too many failed attempts. Please wait %d seconds and try again."), int(wait.Seconds())+1)
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
		d.Error = T("Wrong user name or password.")
		c.showLogin(w, r, http.StatusUnauthorized, d)
		return
	}
	if err := c.st.ClearLoginFailures(ctx, key); err != nil {
		c.serverError(w, r, "login", err)
		return
	}
	if err := c.startSession(ctx, w, r, u); err != nil {
		c.serverError(w, r, "login session", err)
		return
	}
	_ = c.st.SetUserLogin(ctx, u.ID, c.o.Now())
	c.setCookie(w, r, loginCookieName, "", -1)
	c.st.AppendAudit(ctx, store.Audit{At: c.o.Now(), Actor: u.Name, Action: "user.login", Subject: "user:" + u.Name})
	http.Redirect(w, r, d.Next, http.StatusSeeOther)
}
