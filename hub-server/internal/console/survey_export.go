package console

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// SurveyCSVHeader is the header row of the survey export: one row per
// answered question. The respondent hash is left out: it only enforces
// the once-rule on the terminal.
var SurveyCSVHeader = []string{"record_id", "terminal", "quarter", "created_at", "survey", "question", "choices", "scale", "text", "language"}

func (c *Console) surveyExport(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	quarter, survey := r.URL.Query().Get("quarter"), r.URL.Query().Get("survey")
	if err := c.audit(ctx, "surveys.export", "surveys", fmt.Sprintf("CSV, survey %q, quarter %q", survey, quarter)); err != nil {
		c.serverError(w, r, "surveys export audit", err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="surveys-%s.csv"`, c.o.Now().Format("2006-01-02")))
	cw := csv.NewWriter(w)
	cw.Write(SurveyCSVHeader)
	err := c.st.Records(ctx, store.RecordFilter{Class: api.ClassResident, Type: store.SurveyType}, func(rec *store.RecordRow) error {
		if quarter != "" && rec.Quarter != quarter {
			return nil
		}
		var sr api.SurveyResponse
		if json.Unmarshal(rec.Payload, &sr) != nil || (survey != "" && sr.Survey != survey) {
			return nil
		}
		qids := make([]string, 0, len(sr.Answers))
		for q := range sr.Answers {
			qids = append(qids, q)
		}
		sort.Strings(qids)
		for _, q := range qids {
			a := sr.Answers[q]
			scale := ""
			if a.Scale != nil {
				scale = itoa(*a.Scale)
			}
			cw.Write(csvSafe([]string{rec.ID, rec.TerminalName, rec.Quarter, rec.CreatedAt.UTC().Format(time.RFC3339), sr.Survey, q,
				strings.Join(a.Choices, ";"), scale, a.Text, sr.Language}))
		}
		return cw.Error()
	})
	if err != nil {
		c.o.Logger.Error("console: survey export", "err", err)
	}
	cw.Flush()
}
