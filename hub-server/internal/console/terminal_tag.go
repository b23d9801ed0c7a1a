package console

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// maxTags bounds a terminal's tags: they group terminals for commands,
// and every tag is matched on every command sent.
const maxTags = 20

func (c *Console) terminalTag(w http.ResponseWriter, r *http.Request) {
	t, ok := c.terminalNamed(w, r)
	if !ok {
		return
	}
	tags, err := store.NormalizeTags(strings.Split(r.PostFormValue("tags"), ","))
	if err != nil {
		c.fail(w, r, http.StatusBadRequest, msg("terminal.error.tag_invalid"))
		return
	}
	if len(tags) > maxTags {
		c.fail(w, r, http.StatusBadRequest, msg("terminal.error.too_many_tags"))
		return
	}
	if err := c.st.SetTerminalTags(r.Context(), t.ID, tags, c.auditEntry(r.Context(), "terminal.tag", "terminal:"+t.Name, strings.Join(tags, ","))); err != nil {
		c.serverError(w, r, "tags", err)
		return
	}
	c.redirect(w, r, "/console/terminals/"+url.PathEscape(t.Name), "tags")
}
