package console

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"time"
)

// ReportCSVHeader is the header row of the reports' CSV export.
var ReportCSVHeader = []string{"reference", "terminal", "quarter", "record_id", "created_at", "received_at", "category", "place", "text", "language", "status", "public_note", "text_public", "updated_at", "updated_by"}

func (c *Console) reportExport(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	f, category := reportFilter(r)
	rs, err := c.st.Reports(ctx, f)
	if err != nil {
		c.serverError(w, r, "reports export", err)
		return
	}
	if err := c.audit(ctx, "reports.export", "reports", fmt.Sprintf("CSV, filter %q, %d reports", r.URL.RawQuery, len(rs))); err != nil {
		c.serverError(w, r, "reports export audit", err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="reports-%s.csv"`, c.o.Now().Format("2006-01-02")))
	cw := csv.NewWriter(w)
	cw.Write(ReportCSVHeader)
	ts := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	for _, v := range viewReports(rs, c.categoryLabels(ctx, "")) {
		if category != "" && v.P.Category != category {
			continue
		}
		place := v.P.PlaceName
		if place == "" {
			place = v.P.Place
		}
		cw.Write(csvSafe([]string{v.Ref, v.TerminalName, v.Quarter, v.RecordID, ts(v.CreatedAt), ts(v.ReceivedAt), v.P.Category, place, v.P.Text,
			v.P.Language, v.Status, v.PublicNote, fmt.Sprint(v.PublishText), ts(v.UpdatedAt), v.UpdatedBy}))
	}
	cw.Flush()
}

// csvSafe defuses cells a spreadsheet would run as a formula: residents
// type free text.
func csvSafe(row []string) []string {
	for i, s := range row {
		if s != "" && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r') {
			row[i] = "'" + s
		}
	}
	return row
}
