package workshop

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/quartierhub/quartierhub/internal/userr"
)

// Limits of a spec (see the field comments of Spec and PhaseSpec).
const (
	MaxTitle        = 120
	MaxQuestion     = 500
	MaxPhaseTitle   = 80
	MaxPhaseMinutes = 240
	MaxWords        = 200
	MaxWordLen      = 40
	MaxTerminals    = 64
	MinTables       = 2
	// DefaultCafeRounds is how many café rounds DefaultPhases plans when
	// it is not told.
	DefaultCafeRounds = 3
)

// Problem says what is wrong with a spec field; screens translate it.
type Problem string

// Spec problems.
const (
	ProblemRequired   Problem = "required"     // empty but needed
	ProblemTooLong    Problem = "too_long"     // more characters than allowed
	ProblemTooMany    Problem = "too_many"     // more entries than allowed
	ProblemOutOfRange Problem = "out_of_range" // a number outside its range
	ProblemUnknown    Problem = "unknown"      // not one of the allowed values
	ProblemInvalid    Problem = "invalid"      // characters or form not allowed
)

// SpecError names the spec field that is wrong (its JSON path, e.g.
// "phases[2].minutes") and the problem.
type SpecError struct {
	Field   string
	Problem Problem
	Detail  string // English, for people and logs
}

func (e *SpecError) Error() string {
	return "workshop spec: " + e.Field + ": " + e.Detail
}

// Validate checks a spec against the limits in its field comments. The
// error is a *userr.Error (its message names the field in English)
// wrapping a *SpecError (field and Problem code for translation).
func (s Spec) Validate() error {
	if err := s.validate(); err != nil {
		return userr.New(err.Field+": "+err.Detail, err)
	}
	return nil
}

func specErr(field string, p Problem, format string, args ...any) *SpecError {
	return &SpecError{Field: field, Problem: p, Detail: fmt.Sprintf(format, args...)}
}

func specText(field, v string, max int, required, newline bool) *SpecError {
	if strings.TrimSpace(v) == "" {
		if required {
			return specErr(field, ProblemRequired, "must not be empty")
		}
		return nil
	}
	if p := textProblem(v, max, newline); p != "" {
		if strings.Contains(p, "characters, at most") {
			return specErr(field, ProblemTooLong, "%s", p)
		}
		return specErr(field, ProblemInvalid, "%s", p)
	}
	return nil
}

func (s Spec) validate() *SpecError {
	if e := specText("title", s.Title, MaxTitle, true, false); e != nil {
		return e
	}
	if e := specText("question", s.Question, MaxQuestion, true, true); e != nil {
		return e
	}
	if s.Lang != "de" && s.Lang != "en" {
		return specErr("lang", ProblemUnknown, "%q: want de or en", clip(s.Lang))
	}
	switch s.Method {
	case MethodSimple, Method1248All:
		if s.Tables != 0 {
			return specErr("tables", ProblemOutOfRange, "only café workshops have tables")
		}
	case MethodCafe:
		if s.Tables < MinTables || s.Tables > MaxTables {
			return specErr("tables", ProblemOutOfRange, "%d: want %d to %d", s.Tables, MinTables, MaxTables)
		}
	default:
		return specErr("method", ProblemUnknown, "%q: want %s, %s or %s", clip(s.Method), MethodSimple, Method1248All, MethodCafe)
	}
	if len(s.Phases) == 0 {
		return specErr("phases", ProblemRequired, "a workshop needs at least one phase")
	}
	if len(s.Phases) > MaxPhases {
		return specErr("phases", ProblemTooMany, "%d phases, at most %d", len(s.Phases), MaxPhases)
	}
	for i, p := range s.Phases {
		f := "phases[" + strconv.Itoa(i) + "]"
		switch p.Kind {
		case PhaseIdeas, PhaseCluster, PhaseVote, PhaseResults:
		default:
			return specErr(f+".kind", ProblemUnknown, "%q: want ideas, cluster, vote or results", clip(p.Kind))
		}
		if e := specText(f+".title", p.Title, MaxPhaseTitle, true, false); e != nil {
			return e
		}
		if p.Minutes < 0 || p.Minutes > MaxPhaseMinutes {
			return specErr(f+".minutes", ProblemOutOfRange, "%d: want 0 (no timer) to %d", p.Minutes, MaxPhaseMinutes)
		}
		if p.Round < 0 || p.Round > MaxPhases || (p.Round > 0 && p.Kind != PhaseIdeas) {
			return specErr(f+".round", ProblemOutOfRange, "%d: only ideas phases have a café round, from 1", p.Round)
		}
	}
	if s.Dots < 0 || s.Dots > MaxDotsPerVoter {
		return specErr("dots", ProblemOutOfRange, "%d: want 0 (the default) to %d", s.Dots, MaxDotsPerVoter)
	}
	if s.MaxPerItem < 0 || s.MaxPerItem > MaxDotsPerVoter || (s.Dots > 0 && s.MaxPerItem > s.Dots) {
		return specErr("max_per_item", ProblemOutOfRange, "%d: want 0 (no cap) to the dots per person", s.MaxPerItem)
	}
	if s.VoteOn != OnIdeas && s.VoteOn != OnThemes {
		return specErr("vote_on", ProblemUnknown, "%q: want ideas or themes", clip(s.VoteOn))
	}
	if len(s.Words) > MaxWords {
		return specErr("words", ProblemTooMany, "%d words, at most %d", len(s.Words), MaxWords)
	}
	for i, w := range s.Words {
		if e := specText("words["+strconv.Itoa(i)+"]", w, MaxWordLen, true, false); e != nil {
			return e
		}
		if len(wordTokens(w)) == 0 {
			return specErr("words["+strconv.Itoa(i)+"]", ProblemInvalid, "has no letters or digits")
		}
	}
	if len(s.Terminals) > MaxTerminals {
		return specErr("terminals", ProblemTooMany, "%d terminals, at most %d", len(s.Terminals), MaxTerminals)
	}
	seen := make(map[string]bool, len(s.Terminals))
	for i, t := range s.Terminals {
		f := "terminals[" + strconv.Itoa(i) + "]"
		if !ValidID(t) {
			return specErr(f, ProblemInvalid, "%q is not a terminal ID", clip(t))
		}
		if seen[t] {
			return specErr(f, ProblemInvalid, "%q is listed twice", t)
		}
		seen[t] = true
	}
	if s.MaxIdeaChars < 0 || s.MaxIdeaChars > MaxIdeaText {
		return specErr("max_idea_chars", ProblemOutOfRange, "%d: want 0 (the most, %d) to %d", s.MaxIdeaChars, MaxIdeaText, MaxIdeaText)
	}
	return nil
}

// IdeaChars is the most characters an idea may have in this workshop.
func (s Spec) IdeaChars() int {
	if s.MaxIdeaChars > 0 {
		return s.MaxIdeaChars
	}
	return MaxIdeaText
}

// DefaultDots is the dots each voter gets for a vote among items:
// a third of them, rounded, at least 2 and at most 7.
func DefaultDots(items int) int {
	d := int(math.Round(float64(items) / 3))
	return min(max(d, 2), 7)
}

// DefaultPhases is the plan a method starts from; the moderator may
// change it. tables is the number of café rounds for MethodCafe (0 means
// DefaultCafeRounds; one round per table is the usual café); other
// methods ignore it. An unknown method gets the simple plan.
func DefaultPhases(method string, tables int) []PhaseSpec {
	return DefaultPhasesIn(method, tables, "en")
}

// phaseTitles are the default phases' titles per language: participants
// read them on every screen ("Schritt 3 von 4: Abstimmen").
var phaseTitles = map[string]map[string]string{
	"en": {"ideas": "Ideas", "cluster": "Cluster", "vote": "Vote", "results": "Results", "round": "Round ",
		"1": "Alone (1)", "2": "In pairs (2)", "4": "In fours (4)", "all": "All together"},
	"de": {"ideas": "Ideen", "cluster": "Sortieren", "vote": "Abstimmen", "results": "Ergebnisse", "round": "Runde ",
		"1": "Allein (1)", "2": "Zu zweit (2)", "4": "Zu viert (4)", "all": "Alle zusammen"},
}

// DefaultPhasesIn is DefaultPhases with titles in lang ("de" or "en";
// others get English).
func DefaultPhasesIn(method string, tables int, lang string) []PhaseSpec {
	t, ok := phaseTitles[lang]
	if !ok {
		t = phaseTitles["en"]
	}
	tail := []PhaseSpec{
		{Kind: PhaseVote, Title: t["vote"], Minutes: 5},
		{Kind: PhaseResults, Title: t["results"]},
	}
	switch method {
	case Method1248All:
		return append([]PhaseSpec{
			{Kind: PhaseIdeas, Title: t["1"], Minutes: 1},
			{Kind: PhaseIdeas, Title: t["2"], Minutes: 2},
			{Kind: PhaseIdeas, Title: t["4"], Minutes: 4},
			{Kind: PhaseCluster, Title: t["all"], Minutes: 5},
		}, tail...)
	case MethodCafe:
		rounds := tables
		if rounds <= 0 {
			rounds = DefaultCafeRounds
		}
		rounds = min(rounds, MaxTables)
		var ps []PhaseSpec
		for r := 1; r <= rounds; r++ {
			ps = append(ps, PhaseSpec{Kind: PhaseIdeas, Title: t["round"] + strconv.Itoa(r), Minutes: 20, Round: r})
		}
		ps = append(ps, PhaseSpec{Kind: PhaseCluster, Title: t["cluster"]})
		return append(ps, tail...)
	}
	return append([]PhaseSpec{
		{Kind: PhaseIdeas, Title: t["ideas"], Minutes: 10},
		{Kind: PhaseCluster, Title: t["cluster"]},
	}, tail...)
}
