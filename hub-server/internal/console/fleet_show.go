package console

import (
	"net/http"
	"slices"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// fleetRow is a terminal of the overview with its open alerts as staff
// see them (acknowledged, muted).
type fleetRow struct {
	terminalRow
	Alerts  []store.AlertEntry
	Unacked int
}

type fleetData struct {
	Rows                        []fleetRow
	Quarters, Tags              []string
	Quarter, Tag, Status        string
	Total, Online, Offline      int
	Never, Revoked, AlertsCount int
	// UnackedCount: terminals with an open alert nobody acknowledged.
	UnackedCount int
	Filtered     bool
	// Trends are the charts of the fleet's health over time (fleet_trends.go).
	Trends trendsView
}

// fleetStatuses are the status filter's values: terminal states, and
// "alert" / "unacked" for terminals with open (unacknowledged) alerts.
var fleetStatuses = []string{"online", "offline", "alert", "unacked", "never", "revoked"}

func (c *Console) fleetShow(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	rows, err := c.fleetRows(ctx)
	if err != nil {
		c.serverError(w, r, "fleet", err)
		return
	}
	alerts, err := c.alertsByTerminal(ctx, c.o.Now())
	if err != nil {
		c.serverError(w, r, "fleet alerts", err)
		return
	}
	q := r.URL.Query()
	d := fleetData{Quarter: q.Get("quarter"), Tag: q.Get("tag"), Status: q.Get("status")}
	if !slices.Contains(fleetStatuses, d.Status) {
		d.Status = ""
	}
	ts := make([]store.Terminal, len(rows))
	frs := make([]fleetRow, len(rows))
	for i, row := range rows {
		fr := fleetRow{terminalRow: row, Alerts: alerts[row.ID]}
		fr.Unacked = unacked(fr.Alerts)
		frs[i] = fr
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
		if len(fr.Alerts) > 0 {
			d.AlertsCount++
		}
		if fr.Unacked > 0 {
			d.UnackedCount++
		}
	}
	d.Quarters, d.Tags = quartersAndTags(ts)
	if d.Trends, err = c.fleetTrends(ctx, c.lang(r, principalFrom(ctx), false), q.Get("trends"), c.o.Now()); err != nil {
		c.serverError(w, r, "fleet trends", err)
		return
	}
	d.Filtered = d.Quarter != "" || d.Tag != "" || d.Status != ""
	for _, row := range frs {
		if d.Quarter != "" && row.Quarter != d.Quarter ||
			d.Tag != "" && !slices.Contains(row.Tags, d.Tag) ||
			d.Status == "alert" && len(row.Alerts) == 0 ||
			d.Status == "unacked" && row.Unacked == 0 ||
			d.Status != "" && d.Status != "alert" && d.Status != "unacked" && row.Status != d.Status {
			continue
		}
		d.Rows = append(d.Rows, row)
	}
	c.render(w, r, http.StatusOK, "fleet", msg("common.fleet"), "fleet", d)
}
