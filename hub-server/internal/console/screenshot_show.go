package console

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// screenshotServe sends a screenshot of the {name} terminal as the PNG
// it uploaded (checked then: api.CheckScreenshot), for the terminal
// page's <img>, and audits every viewing. It is never cached: a viewer
// whose role changes must not keep the picture, and each look is
// recorded.
func (c *Console) screenshotServe(w http.ResponseWriter, r *http.Request) {
	t, ok := c.terminalNamed(w, r)
	if !ok {
		return
	}
	p, err := c.st.Screenshot(r.Context(), r.PathValue("shot"))
	if errors.Is(err, store.ErrNotFound) || err == nil && p.TerminalID != t.ID {
		c.fail(w, r, http.StatusNotFound, msg("screenshot.error.no_such_screenshot"))
		return
	} else if err != nil {
		c.serverError(w, r, "screenshot", err)
		return
	}
	if err := c.audit(r.Context(), "screenshot.view", "terminal:"+t.Name, p.ID); err != nil {
		c.serverError(w, r, "screenshot audit", err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "image/png")
	h.Set("Content-Disposition", fmt.Sprintf(`inline; filename="screenshot-%s.png"`, p.ID))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.Write(p.PNG)
}
