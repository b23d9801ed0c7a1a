package console

import (
	"net/http"

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
}

func (c *Console) configEdit(w http.ResponseWriter, r *http.Request) {
	scope := r.URL.Query().Get("scope")
	if !store.ValidScope(scope) {
		c.fail(w, r, http.StatusBadRequest, "Choose a scope: global, quarter:NAME or terminal:NAME.")
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
		d.Document = prettyJSON(l.Document)
	}
	c.render(w, r, http.StatusOK, "config_edit", "Edit configuration", "config", d)
}
