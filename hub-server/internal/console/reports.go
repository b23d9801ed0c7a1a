package console

import (
	"context"
	"encoding/json"
	"net/url"
	"slices"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// ReportStatuses are the workflow states, in order.
var ReportStatuses = []string{store.ReportNew, store.ReportInProgress, store.ReportResolved, store.ReportRejected}

// reportNext is the workflow: where a report may go from each state. A
// closed report may be reopened; nothing goes back to "new".
var reportNext = map[string][]string{
	store.ReportNew:        {store.ReportInProgress, store.ReportResolved, store.ReportRejected},
	store.ReportInProgress: {store.ReportResolved, store.ReportRejected},
	store.ReportResolved:   {store.ReportInProgress},
	store.ReportRejected:   {store.ReportInProgress},
}

// CanMove reports whether a report may go from one status to another
// (staying in the same status, e.g. to edit the note, is allowed).
func CanMove(from, to string) bool {
	return from == to && slices.Contains(ReportStatuses, to) || slices.Contains(reportNext[from], to)
}

// reportView is a report with its payload decoded.
type reportView struct {
	store.Report
	P             api.ProblemReport
	CategoryLabel string
}

// categoryLabels maps category ids to labels from every configuration
// layer's content, each in its layer's first language, so the console
// and the CSV export can name a category.
func (c *Console) categoryLabels(ctx context.Context) map[string]string {
	return c.categoryLabelsIn(ctx, "")
}

func viewReports(rs []store.Report, labels map[string]string) []reportView {
	out := make([]reportView, len(rs))
	for i, r := range rs {
		out[i].Report = r
		_ = json.Unmarshal(r.Payload, &out[i].P)
		out[i].CategoryLabel = labels[out[i].P.Category]
		if out[i].CategoryLabel == "" {
			out[i].CategoryLabel = out[i].P.Category
		}
	}
	return out
}

func reportPath(r store.Report) string {
	return "/console/reports/" + url.PathEscape(r.TerminalName) + "/" + url.PathEscape(r.RecordID)
}
