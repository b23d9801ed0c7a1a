package console

import (
	"net/http"
	"slices"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

type fleetData struct {
	Rows                        []terminalRow
	Quarters, Tags              []string
	Quarter, Tag, Status        string
	Total, Online, Offline      int
	Never, Revoked, AlertsCount int
	Filtered                    bool
}

func (c *Console) fleetShow(w http.ResponseWriter, r *http.Request) {
	rows, err := c.fleetRows(r.Context())
	if err != nil {
		c.serverError(w, r, "fleet", err)
		return
	}
	q := r.URL.Query()
	d := fleetData{Quarter: q.Get("quarter"), Tag: q.Get("tag"), Status: q.Get("status")}
	ts := make([]store.Terminal, len(rows))
	for i, row := range rows {
		ts[i] = row.Terminal
		d.Total++
		switch row.Status {
		case "online":
			d.Online++
		case "offline":
			d.Offline++
		case "never":
			d.Never++
		case "revoked":
			d.Revoked++
		}
		if len(row.OpenAlerts) > 0 {
			d.AlertsCount++
		}
	}
	d.Quarters, d.Tags = quartersAndTags(ts)
	d.Filtered = d.Quarter != "" || d.Tag != "" || d.Status != ""
	for _, row := range rows {
		if d.Quarter != "" && row.Quarter != d.Quarter ||
			d.Tag != "" && !slices.Contains(row.Tags, d.Tag) ||
			d.Status == "alert" && len(row.OpenAlerts) == 0 ||
			d.Status != "" && d.Status != "alert" && row.Status != d.Status {
			continue
		}
		d.Rows = append(d.Rows, row)
	}
	c.render(w, r, http.StatusOK, "fleet", "Fleet", "fleet", d)
}
