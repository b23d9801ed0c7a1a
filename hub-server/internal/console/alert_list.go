package console

import (
	"net/http"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

type alertData struct {
	All    bool
	Alerts []store.Alert
	Names  map[string]string
	Now    time.Time
}

func (c *Console) alertList(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	d := alertData{All: r.URL.Query().Get("all") == "1", Now: c.o.Now()}
	f := store.AlertFilter{State: store.AlertOpen, Limit: 500}
	if d.All {
		f.State = ""
	}
	var err error
	if d.Alerts, err = c.st.Alerts(ctx, f); err != nil {
		c.serverError(w, r, "alerts", err)
		return
	}
	if d.Names, err = c.terminalNames(ctx); err != nil {
		c.serverError(w, r, "alerts", err)
		return
	}
	c.render(w, r, http.StatusOK, "alerts", "Alerts", "alerts", d)
}
