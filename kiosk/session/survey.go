package session

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"

	"github.com/quartierhub/quartierhub/hub-server/api"
)

// ErrNeedsCard: a once-per-card survey in a session without a card.
var ErrNeedsCard = errors.New("session: this survey needs a card")

// ErrAnswered: the survey was answered in this session.
var ErrAnswered = errors.New("session: survey already answered in this session")

// Respondent is the key that makes a survey response unique: for a
// once-per-card survey a hash of the survey and the card's keyed hash (the
// same card always gives the same key, on every terminal sharing the
// deployment key, and the key reveals nothing about the card); for a
// once-per-session survey a hash of the survey and the session id.
func Respondent(sv api.Survey, s *Session) (string, error) {
	var who string
	switch sv.Once {
	case api.OncePerCard:
		if s.CardHash == "" {
			return "", ErrNeedsCard
		}
		who = "card:" + s.CardHash
	default:
		if s.Answered[sv.ID] {
			return "", ErrAnswered
		}
		who = "session:" + s.ID
	}
	sum := sha256.Sum256([]byte("quartierhub-survey\x00" + sv.ID + "\x00" + who))
	return hex.EncodeToString(sum[:]), nil
}

// BeginSurvey starts a fresh draft for sv in s.
func BeginSurvey(s *Session, sv api.Survey) {
	s.Survey = SurveyDraft{ID: sv.ID, Choices: map[string][]string{}, Scale: map[string]int{}, Text: map[string]string{}}
}

// Answered reports whether q has an answer in the draft.
func (d SurveyDraft) Answered(q api.Question) bool {
	switch q.Kind {
	case api.QuestionSingle, api.QuestionMultiple:
		return len(d.Choices[q.ID]) > 0
	case api.QuestionScale:
		_, ok := d.Scale[q.ID]
		return ok
	case api.QuestionText:
		return d.Text[q.ID] != ""
	}
	return false
}

// Toggle chooses opt for q: replaces the choice for single, toggles for
// multiple.
func (d *SurveyDraft) Toggle(q api.Question, opt string) {
	if q.Kind == api.QuestionSingle {
		d.Choices[q.ID] = []string{opt}
		return
	}
	cur := d.Choices[q.ID]
	for i, c := range cur {
		if c == opt {
			d.Choices[q.ID] = append(cur[:i:i], cur[i+1:]...)
			return
		}
	}
	d.Choices[q.ID] = append(cur, opt)
}

// Chosen reports whether opt is chosen for q.
func (d SurveyDraft) Chosen(q api.Question, opt string) bool {
	for _, c := range d.Choices[q.ID] {
		if c == opt {
			return true
		}
	}
	return false
}

// SurveyResponse is a finished survey as the window sends it to the agent.
type SurveyResponse struct {
	Survey string
	// Respondent is the key that makes the response unique (Respondent).
	Respondent string
	Once       string // the survey's once-rule, api.OncePerCard or api.OncePerSession
	Language   string
	// Answers by question id; unanswered questions are absent.
	Answers map[string]Answer
}

// Answer is the answer to one question: Choices (single, multiple), Scale
// or Text.
type Answer struct {
	Choices []string
	Scale   *int
	Text    string
}

// Response builds the response to send for the draft.
func Response(sv api.Survey, s *Session, respondent string) SurveyResponse {
	r := SurveyResponse{Survey: sv.ID, Respondent: respondent, Once: sv.Once, Language: s.Language, Answers: map[string]Answer{}}
	for _, q := range sv.Questions {
		if !s.Survey.Answered(q) {
			continue
		}
		var a Answer
		switch q.Kind {
		case api.QuestionSingle, api.QuestionMultiple:
			a.Choices = append([]string(nil), s.Survey.Choices[q.ID]...)
		case api.QuestionScale:
			v := s.Survey.Scale[q.ID]
			a.Scale = &v
		case api.QuestionText:
			a.Text = s.Survey.Text[q.ID]
		}
		r.Answers[q.ID] = a
	}
	return r
}
