package console

import (
	"net/http"

	qhassets "github.com/quartierhub/quartierhub/assets"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

type configEditData struct {
	Scope    string
	Document string
	Layer    *store.ConfigLayer
	Checked  *checked
	Saved    bool
	CanSave  bool
	Settings bool // may change settings
	Example  bool // Document is the example content, not a saved layer
	// Base is the layer version the form saves over (0: none yet).
	Base int64
	// Conflict: someone else saved Layer while this person edited an
	// older version; Document is still their text.
	Conflict bool
}

func (c *Console) configEdit(w http.ResponseWriter, r *http.Request) {
	scope := r.URL.Query().Get("scope")
	if !store.ValidScope(scope) {
		c.fail(w, r, http.StatusBadRequest, msg("config.error.choose_scope"))
		return
	}
	if r.URL.Query().Get("view") == "announcements" {
		c.annShow(w, r, scope)
		return
	}
	l, err := c.currentLayer(r.Context(), scope)
	if err != nil {
		c.serverError(w, r, "config", err)
		return
	}
	p := principalFrom(r.Context())
	d := configEditData{Scope: scope, Layer: l, Document: "{\n  \"content\": {}\n}", CanSave: Can(p.user.Role, EditContent),
		Settings: Can(p.user.Role, EditSettings)}
	if l != nil {
		d.Document, d.Base = prettyJSON(l.Document), l.Version
	} else if scope == "global" {
		// A new hub has no content: start from a complete, valid example
		// rather than a blank page (the same as `hub-server config example`).
		if ex, err := qhassets.ExampleLayer(); err == nil {
			d.Document, d.Example = string(ex), true
		}
	}
	c.render(w, r, http.StatusOK, "config_edit", msg("config.edit_configuration"), "config", d)
}
