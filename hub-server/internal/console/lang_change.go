package console

import "net/http"

// langChange stores the user's own console language (the header switch
// and the Account page post here, op=lang): "" follows the browser. The
// language cookie follows, so the login page speaks it after logout.
func (c *Console) langChange(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p := principalFrom(ctx)
	l := r.PostFormValue("lang")
	if l != "" && !knownLang(l) {
		c.fail(w, r, http.StatusBadRequest, msg("common.choose_language"))
		return
	}
	detail := l
	if l == "" {
		detail = "as the browser asks"
	}
	if err := c.st.SetUserLang(ctx, p.user.ID, l, c.auditEntry(ctx, "user.lang", "user:"+p.user.Name, detail)); err != nil {
		c.serverError(w, r, "language", err)
		return
	}
	if l != "" {
		c.setCookie(w, r, langCookie, l, langCookieAge)
	} else {
		c.setCookie(w, r, langCookie, "", -1)
	}
	c.redirect(w, r, safeNext(r.PostFormValue("next")), "lang")
}
