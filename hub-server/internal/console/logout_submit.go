package console

import "net/http"

func (c *Console) logoutSubmit(w http.ResponseWriter, r *http.Request) {
	p := principalFrom(r.Context())
	if err := c.st.DeleteSession(r.Context(), p.session.IDHash); err != nil {
		c.serverError(w, r, "logout", err)
		return
	}
	c.audit(r.Context(), "user.logout", "user:"+p.user.Name, "")
	c.setCookie(w, r, cookieName, "", -1)
	http.Redirect(w, r, "/console/login?done=logout", http.StatusSeeOther)
}
