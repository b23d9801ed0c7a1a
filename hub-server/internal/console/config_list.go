package console

import (
	"net/http"
	"sort"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

type scopeRow struct {
	Scope string
	Layer *store.ConfigLayer
}

type configListData struct {
	Scopes []scopeRow
}

// configList lists every scope that has a layer or could have one
// (global, each quarter, each terminal).
func (c *Console) configList(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	layers, err := c.st.ConfigLayers(ctx)
	if err != nil {
		c.serverError(w, r, "config", err)
		return
	}
	ts, err := c.st.Terminals(ctx)
	if err != nil {
		c.serverError(w, r, "config", err)
		return
	}
	byScope := map[string]*store.ConfigLayer{}
	for i := range layers {
		byScope[layers[i].Scope] = &layers[i]
	}
	scopes := []string{store.ScopeGlobal}
	qs, _ := quartersAndTags(ts)
	for _, q := range qs {
		scopes = append(scopes, store.ScopeQuarterPrefix+q)
	}
	for _, t := range ts {
		scopes = append(scopes, store.ScopeTerminalPrefix+t.Name)
	}
	seen := map[string]bool{}
	var d configListData
	for _, s := range scopes {
		seen[s] = true
		d.Scopes = append(d.Scopes, scopeRow{Scope: s, Layer: byScope[s]})
	}
	var extra []string
	for s := range byScope {
		if !seen[s] {
			extra = append(extra, s)
		}
	}
	sort.Strings(extra)
	for _, s := range extra {
		d.Scopes = append(d.Scopes, scopeRow{Scope: s, Layer: byScope[s]})
	}
	c.render(w, r, http.StatusOK, "config_list", msg("config.configuration_content"), "config", d)
}
