package console

import (
	"context"
	"encoding/json"
	"sort"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// surveyDefs collects the surveys of every configuration layer by id
// (the first found wins), with their first language.
func (c *Console) surveyDefs(ctx context.Context) (map[string]api.Survey, map[string]string) {
	defs, langs := map[string]api.Survey{}, map[string]string{}
	layers, err := c.st.ConfigLayers(ctx)
	if err != nil {
		return defs, langs
	}
	for _, l := range layers {
		var doc struct {
			Content struct {
				Languages []string     `json:"languages"`
				Surveys   []api.Survey `json:"surveys"`
			} `json:"content"`
		}
		if json.Unmarshal(l.Document, &doc) != nil {
			continue
		}
		lang := "de"
		if len(doc.Content.Languages) > 0 {
			lang = doc.Content.Languages[0]
		}
		for _, s := range doc.Content.Surveys {
			if _, ok := defs[s.ID]; !ok {
				defs[s.ID], langs[s.ID] = s, lang
			}
		}
	}
	return defs, langs
}

// surveyResult is one survey's responses, counted per question.
type surveyResult struct {
	ID, Title string
	Responses int
	Questions []questionResult
}

type questionResult struct {
	ID, Text, Kind string
	Answered       int
	Options        []optionCount // single, multiple, scale
	Mean           float64       // scale
	Texts          []string      // text answers, newest last
}

type optionCount struct {
	Label string
	Count int
}

// surveyResults reads every survey response (of the quarter, if given)
// and counts them.
func (c *Console) surveyResults(ctx context.Context, quarter string) ([]*surveyResult, error) {
	defs, langs := c.surveyDefs(ctx)
	bySurvey := map[string]*surveyResult{}
	counts := map[string]map[string]map[string]int{} // survey → question → option/scale → n
	sums := map[string]map[string]int{}
	err := c.st.Records(ctx, store.RecordFilter{Class: api.ClassResident, Type: store.SurveyType}, func(rec *store.RecordRow) error {
		if quarter != "" && rec.Quarter != quarter {
			return nil
		}
		var sr api.SurveyResponse
		if json.Unmarshal(rec.Payload, &sr) != nil || sr.Survey == "" {
			return nil
		}
		res := bySurvey[sr.Survey]
		if res == nil {
			res = newSurveyResult(sr.Survey, defs[sr.Survey], langs[sr.Survey])
			bySurvey[sr.Survey] = res
			counts[sr.Survey], sums[sr.Survey] = map[string]map[string]int{}, map[string]int{}
		}
		res.Responses++
		for qid, a := range sr.Answers {
			q := res.question(qid)
			q.Answered++
			if counts[sr.Survey][qid] == nil {
				counts[sr.Survey][qid] = map[string]int{}
			}
			for _, ch := range a.Choices {
				counts[sr.Survey][qid][ch]++
			}
			if a.Scale != nil {
				counts[sr.Survey][qid][itoa(*a.Scale)]++
				sums[sr.Survey][qid] += *a.Scale
			}
			if a.Text != "" {
				q.Texts = append(q.Texts, a.Text)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var out []*surveyResult
	for id, res := range bySurvey {
		def, lang := defs[id], langs[id]
		for i := range res.Questions {
			q := &res.Questions[i]
			n := counts[id][q.ID]
			var dq *api.Question
			for j := range def.Questions {
				if def.Questions[j].ID == q.ID {
					dq = &def.Questions[j]
				}
			}
			switch {
			case dq != nil && (dq.Kind == api.QuestionSingle || dq.Kind == api.QuestionMultiple):
				for _, o := range dq.Options {
					q.Options = append(q.Options, optionCount{Label: o.Label.In(lang, "en"), Count: n[o.ID]})
				}
			case dq != nil && dq.Kind == api.QuestionScale:
				for v := dq.Min; v <= dq.Max; v++ {
					q.Options = append(q.Options, optionCount{Label: itoa(v), Count: n[itoa(v)]})
				}
				if q.Answered > 0 {
					q.Mean = float64(sums[id][q.ID]) / float64(q.Answered)
				}
			default:
				keys := make([]string, 0, len(n))
				for k := range n {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				for _, k := range keys {
					q.Options = append(q.Options, optionCount{Label: k, Count: n[k]})
				}
			}
		}
		out = append(out, res)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func newSurveyResult(id string, def api.Survey, lang string) *surveyResult {
	res := &surveyResult{ID: id, Title: def.Title.In(lang, "en")}
	if res.Title == "" {
		res.Title = id
	}
	for _, q := range def.Questions {
		res.Questions = append(res.Questions, questionResult{ID: q.ID, Text: q.Text.In(lang, "en"), Kind: q.Kind})
	}
	return res
}

func (s *surveyResult) question(id string) *questionResult {
	for i := range s.Questions {
		if s.Questions[i].ID == id {
			return &s.Questions[i]
		}
	}
	s.Questions = append(s.Questions, questionResult{ID: id, Text: id})
	return &s.Questions[len(s.Questions)-1]
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
