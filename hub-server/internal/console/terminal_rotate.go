package console

import (
	"crypto/sha256"
	"net/http"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// terminalRotate makes a rotation token: when the terminal enrols again
// with it (kiosk enroll --force), it keeps its name, ID, tags and history
// and gets a new key; its old key stops working then. Revoke first when
// the old key may be stolen.
func (c *Console) terminalRotate(w http.ResponseWriter, r *http.Request) {
	t, ok := c.terminalNamed(w, r)
	if !ok {
		return
	}
	tok, err := c.newToken()
	if err != nil {
		c.serverError(w, r, "rotate", err)
		return
	}
	now := c.o.Now()
	et := store.EnrolToken{Hash: sha256.Sum256([]byte(tok)), TerminalName: t.Name, Quarter: t.Quarter, CreatedAt: now, ExpiresAt: now.Add(c.o.TokenTTL)}
	if err := c.st.CreateRotationToken(r.Context(), et, t.ID, c.auditEntry(r.Context(), "terminal.rotate", "terminal:"+t.Name, "new credential token, valid until "+when(et.ExpiresAt))); err != nil {
		c.serverError(w, r, "rotate", err)
		return
	}
	c.showToken(w, r, t.Name, t.Quarter, tok, et.ExpiresAt, true)
}
