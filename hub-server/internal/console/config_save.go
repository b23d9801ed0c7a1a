package console

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// configSave checks a layer and, unless only a preview was asked for
// (op=preview), stores it as the scope's new version.
func (c *Console) configSave(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p := principalFrom(ctx)
	scope := r.PostFormValue("scope")
	if !store.ValidScope(scope) {
		c.fail(w, r, http.StatusBadRequest, "Choose a scope: global, quarter:NAME or terminal:NAME.")
		return
	}
	if strings.HasPrefix(r.PostFormValue("op"), "ann_") {
		c.annSave(w, r, scope)
		return
	}
	text := strings.ReplaceAll(r.PostFormValue("document"), "\r\n", "\n")
	doc := bytes.TrimSpace([]byte(text))
	ck, err := c.checkLayer(ctx, scope, doc, p.user.Role)
	if err != nil {
		c.serverError(w, r, "config check", err)
		return
	}
	l, err := c.currentLayer(ctx, scope)
	if err != nil {
		c.serverError(w, r, "config", err)
		return
	}
	d := configEditData{Scope: scope, Document: text, Layer: l, Checked: &ck, CanSave: true, Settings: Can(p.user.Role, EditSettings)}
	if len(ck.Errors) > 0 {
		c.render(w, r, http.StatusUnprocessableEntity, "config_edit", "Edit configuration", "config", d)
		return
	}
	if r.PostFormValue("op") == "preview" {
		c.render(w, r, http.StatusOK, "config_edit", "Edit configuration", "config", d)
		return
	}
	if _, err := c.st.PutConfigLayer(ctx, scope, doc, c.auditEntry(ctx, "config.set", scope, "")); err != nil {
		c.serverError(w, r, "config save", err)
		return
	}
	c.redirect(w, r, "/console/config/edit?scope="+url.QueryEscape(scope), "config")
}
