package console

import (
	"net/http"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

type alertData struct {
	All     bool
	Unacked bool // only open alerts nobody acknowledged
	Alerts  []store.AlertEntry
	Names   map[string]string
	Now     time.Time
}

func (c *Console) alertList(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	d := alertData{All: q.Get("all") == "1", Unacked: q.Get("unacked") == "1", Now: c.o.Now()}
	f := store.AlertFilter{State: store.AlertOpen, Limit: 500}
	if d.All {
		f.State, d.Unacked = "", false
	}
	es, err := c.st.AlertEntries(ctx, f, d.Now)
	if err != nil {
		c.serverError(w, r, "alerts", err)
		return
	}
	for _, e := range es {
		if !d.Unacked || !e.Acked() {
			d.Alerts = append(d.Alerts, e)
		}
	}
	if d.Names, err = store.TerminalNames(ctx, c.st); err != nil {
		c.serverError(w, r, "alerts", err)
		return
	}
	c.render(w, r, http.StatusOK, "alerts", msg("common.alerts"), "alerts", d)
}
