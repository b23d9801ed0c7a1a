package console

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// configSave checks a layer and, unless only a preview was asked for
// (op=preview), stores it as the scope's new version — only on the
// version the editor was loaded with (form field version), so two people
// editing one layer never overwrite each other unseen: the second gets
// the conflict page, with their text kept and the saved version beside it.
func (c *Console) configSave(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p := principalFrom(ctx)
	scope := r.PostFormValue("scope")
	if !store.ValidScope(scope) {
		c.fail(w, r, http.StatusBadRequest, msg("config.error.choose_scope"))
		return
	}
	if strings.HasPrefix(r.PostFormValue("op"), "ann_") {
		c.annSave(w, r, scope)
		return
	}
	text := strings.ReplaceAll(r.PostFormValue("document"), "\r\n", "\n")
	doc := bytes.TrimSpace([]byte(text))
	base := formVersion(r)
	ck, err := c.checkLayer(ctx, scope, doc, p.user.Role)
	if err != nil {
		c.serverError(w, r, "config check", err)
		return
	}
	d := configEditData{Scope: scope, Document: text, Layer: ck.Current, Base: base, Checked: &ck, CanSave: true, Settings: Can(p.user.Role, EditSettings)}
	conflict := func() {
		c.configConflict(ctx, scope, base, d.Layer)
		d.Conflict, d.Checked, d.Base = true, nil, 0
		if d.Layer != nil {
			d.Base = d.Layer.Version
		}
		c.render(w, r, http.StatusConflict, "config_edit", msg("config.edit_configuration"), "config", d)
	}
	if ck.Base() != base {
		conflict()
		return
	}
	if len(ck.Errors) > 0 {
		c.render(w, r, http.StatusUnprocessableEntity, "config_edit", msg("config.edit_configuration"), "config", d)
		return
	}
	if r.PostFormValue("op") == "preview" {
		c.render(w, r, http.StatusOK, "config_edit", msg("config.edit_configuration"), "config", d)
		return
	}
	_, err = c.st.PutConfigLayerIf(ctx, scope, doc, base, c.auditEntry(ctx, "config.set", scope, ""))
	if errors.Is(err, store.ErrVersionConflict) {
		// Saved by someone else between the check and the write.
		if d.Layer, err = c.currentLayer(ctx, scope); err != nil {
			c.serverError(w, r, "config", err)
			return
		}
		conflict()
		return
	} else if err != nil {
		c.serverError(w, r, "config save", err)
		return
	}
	c.redirect(w, r, "/console/config/edit?scope="+url.QueryEscape(scope), "config")
}

// formVersion is the form's version field: the layer version the editor
// was loaded with, 0 for none (and for a missing or garbled field, which
// then conflicts with any saved layer rather than overwriting it).
func formVersion(r *http.Request) int64 {
	v, err := strconv.ParseInt(r.PostFormValue("version"), 10, 64)
	if err != nil || v < 0 {
		return 0
	}
	return v
}

// configConflict records that a save of scope based on version base was
// refused because current was saved meanwhile. Nothing changed, so a
// failing audit write is logged, not fatal.
func (c *Console) configConflict(ctx context.Context, scope string, base int64, current *store.ConfigLayer) {
	now := int64(0)
	if current != nil {
		now = current.Version
	}
	detail := fmt.Sprintf("not saved: based on version %d, version %d was saved meanwhile", base, now)
	c.o.Logger.Info("console: configuration edit conflict", "scope", scope, "base", base, "current", now)
	if err := c.st.AppendAudit(ctx, c.auditEntry(ctx, "config.conflict", scope, detail)); err != nil {
		c.o.Logger.Error("console: audit", "action", "config.conflict", "err", err)
	}
}
