package console

import (
	"net/http"
	"net/url"
)

func (c *Console) terminalRevoke(w http.ResponseWriter, r *http.Request) {
	t, ok := c.terminalNamed(w, r)
	if !ok {
		return
	}
	if r.PostFormValue("confirm") != t.Name {
		c.fail(w, r, http.StatusBadRequest, msg("terminal.error.revoke_unconfirmed"))
		return
	}
	if err := c.st.RevokeTerminalAudited(r.Context(), t.ID, c.o.Now(), c.auditEntry(r.Context(), "terminal.revoke", "terminal:"+t.Name, "")); err != nil {
		c.serverError(w, r, "revoke", err)
		return
	}
	c.o.Logger.Info("console: terminal revoked", "terminal", t.ID)
	c.redirect(w, r, "/console/terminals/"+url.PathEscape(t.Name), "revoked")
}
