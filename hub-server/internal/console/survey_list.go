package console

import "net/http"

type surveyListData struct {
	Results  []*surveyResult
	Quarters []string
	Quarter  string
}

func (c *Console) surveyList(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	d := surveyListData{Quarter: r.URL.Query().Get("quarter")}
	var err error
	if d.Results, err = c.surveyResults(ctx, d.Quarter); err != nil {
		c.serverError(w, r, "surveys", err)
		return
	}
	ts, err := c.st.Terminals(ctx)
	if err != nil {
		c.serverError(w, r, "surveys", err)
		return
	}
	d.Quarters, _ = quartersAndTags(ts)
	c.render(w, r, http.StatusOK, "surveys", msg("surveys.survey_results"), "surveys", d)
}
