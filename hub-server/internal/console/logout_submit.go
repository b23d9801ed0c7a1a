package console

import "net/http"

func (c *Console) logoutSubmit(w http.ResponseWriter, r *http.Request) {
	p := principalFrom(r.Context())
	if err := c.st.EndSession(r.Context(), p.session.IDHash, c.auditEntry(r.Context(), "user.logout", "user:"+p.user.Name, "")); err != nil {
		c.serverError(w, r, "logout", err)
		return
	}
	c.setCookie(w, r, cookieName, "", -1)
	http.Redirect(w, r, "/console/login?done=logout", http.StatusSeeOther)
}
