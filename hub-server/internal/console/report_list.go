package console

import (
	"net/http"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

type reportListData struct {
	Reports                   []reportView
	Statuses, Quarters        []string
	Categories                map[string]string
	Status, Quarter, Category string
	Ref, Query                string
	Counts                    map[string]int
	Limited                   bool
}

const reportLimit = 1000

// reportFilter reads the list's filters from the query.
func reportFilter(r *http.Request) (store.ReportFilter, string) {
	q := r.URL.Query()
	f := store.ReportFilter{Status: q.Get("status"), Quarter: q.Get("quarter")}
	if ref, ok := api.ParseReference(q.Get("ref")); ok {
		f.Ref = ref
	}
	return f, q.Get("category")
}

func (c *Console) reportList(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	f, category := reportFilter(r)
	all, err := c.st.Reports(ctx, store.ReportFilter{Limit: reportLimit})
	if err != nil {
		c.serverError(w, r, "reports", err)
		return
	}
	labels := c.categoryLabels(ctx, c.lang(r, principalFrom(ctx), false))
	d := reportListData{Statuses: ReportStatuses, Categories: labels, Status: f.Status, Quarter: f.Quarter, Category: category,
		Ref: r.URL.Query().Get("ref"), Query: r.URL.RawQuery, Counts: map[string]int{}, Limited: len(all) == reportLimit}
	ts, err := c.st.Terminals(ctx)
	if err != nil {
		c.serverError(w, r, "reports", err)
		return
	}
	d.Quarters, _ = quartersAndTags(ts)
	for _, rep := range all {
		d.Counts[rep.Status]++
	}
	f.Limit = reportLimit
	rs, err := c.st.Reports(ctx, f)
	if err != nil {
		c.serverError(w, r, "reports", err)
		return
	}
	for _, v := range viewReports(rs, labels) {
		if category == "" || v.P.Category == category {
			d.Reports = append(d.Reports, v)
		}
	}
	c.render(w, r, http.StatusOK, "reports", msg("reports.problem_reports"), "reports", d)
}
