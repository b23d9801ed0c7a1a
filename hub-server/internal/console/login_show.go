package console

import (
	"net/http"
	"strings"
)

type loginData struct {
	Name, Next, Token string
	Error             *Message
}

// safeNext keeps the after-login redirect inside the console.
func safeNext(s string) string {
	if !strings.HasPrefix(s, "/console/") || strings.HasPrefix(s, "//") || strings.ContainsAny(s, "\\\r\n") {
		return "/console/"
	}
	return s
}

func (c *Console) loginShow(w http.ResponseWriter, r *http.Request) {
	if p, err := c.authenticated(r); err == nil && p != nil {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	c.showLogin(w, r, http.StatusOK, loginData{Next: safeNext(r.URL.Query().Get("next"))})
}

// showLogin renders the form with a fresh double-submit token.
func (c *Console) showLogin(w http.ResponseWriter, r *http.Request, status int, d loginData) {
	tok, err := c.randToken(24)
	if err != nil {
		c.serverError(w, r, "login token", err)
		return
	}
	d.Token = tok
	c.setCookie(w, r, loginCookieName, tok, 3600)
	c.render(w, r, status, "login", msg("common.log_in"), "", d)
}
