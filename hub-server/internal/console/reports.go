package console

import (
	"context"
	"encoding/json"
	"net/url"
	"slices"
	"sync"

	qhassets "github.com/quartierhub/quartierhub/assets"
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

// demoContent is the content terminals show until the hub serves one,
// read once.
var demoContent = sync.OnceValues(qhassets.DemoContent)

// categoryLabels names the problem categories in lang, or in their
// content's first language where lang has no name ("" asks for that
// always, as the CSV export does). The names come from every
// configuration layer's content, then from the demo content: reports
// made before the hub served content have its categories.
func (c *Console) categoryLabels(ctx context.Context, lang string) map[string]string {
	out := map[string]string{}
	add := func(languages []string, categories []api.Category) {
		first := "de"
		if len(languages) > 0 {
			first = languages[0]
		}
		for _, cat := range categories {
			if _, ok := out[cat.ID]; !ok {
				out[cat.ID] = cat.Label.In(lang, first)
			}
		}
	}
	layers, err := c.st.ConfigLayers(ctx)
	if err != nil {
		c.o.Logger.Warn("console: category labels", "err", err)
	}
	for _, l := range layers {
		// Only the two fields, so nothing else in a layer can hide its names.
		var doc struct {
			Content struct {
				Languages         []string       `json:"languages"`
				ProblemCategories []api.Category `json:"problem_categories"`
			} `json:"content"`
		}
		if json.Unmarshal(l.Document, &doc) == nil {
			add(doc.Content.Languages, doc.Content.ProblemCategories)
		}
	}
	if demo, err := demoContent(); err == nil {
		add(demo.Languages, demo.ProblemCategories)
	}
	return out
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
