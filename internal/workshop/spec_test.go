package workshop

import (
	"errors"
	"strings"
	"testing"

	"github.com/quartierhub/quartierhub/internal/userr"
)

func goodSpec(method string) Spec {
	s := Spec{Title: "Parkplatz", Question: "Was soll aus dem Parkplatz werden?", Lang: "de",
		Method: method, VoteOn: OnIdeas, Phones: true, Words: []string{"doof", "dumme kuh"}}
	if method == MethodCafe {
		s.Tables = 4
	}
	s.Phases = DefaultPhases(method, s.Tables)
	return s
}

func TestDefaultPhasesValidate(t *testing.T) {
	for _, m := range []string{MethodSimple, Method1248All, MethodCafe} {
		if err := goodSpec(m).Validate(); err != nil {
			t.Errorf("%s: %v", m, err)
		}
	}
}

func TestDefaultPhasesPlans(t *testing.T) {
	if got := kinds(DefaultPhases(MethodSimple, 0)); got != "ideas/Ideas,cluster/Cluster,vote/Vote,results/Results" {
		t.Errorf("simple: %s", got)
	}
	if got := kinds(DefaultPhases(Method1248All, 0)); got != "ideas/Alone (1),ideas/In pairs (2),ideas/In fours (4),cluster/All together,vote/Vote,results/Results" {
		t.Errorf("1-2-4-all: %s", got)
	}
	p := DefaultPhases(Method1248All, 0)
	if p[0].Minutes != 1 || p[1].Minutes != 2 || p[2].Minutes != 4 || p[3].Minutes != 5 {
		t.Errorf("1-2-4-all minutes: %+v", p)
	}
	cafe := DefaultPhases(MethodCafe, 0)
	if len(cafe) != DefaultCafeRounds+3 {
		t.Fatalf("café: %d phases", len(cafe))
	}
	for r := 1; r <= DefaultCafeRounds; r++ {
		if ph := cafe[r-1]; ph.Kind != PhaseIdeas || ph.Round != r || ph.Minutes != 20 {
			t.Errorf("café round %d: %+v", r, ph)
		}
	}
	if n := len(DefaultPhases(MethodCafe, 5)); n != 5+3 {
		t.Errorf("café with 5 tables: %d phases", n)
	}
	if s := DefaultPhases(MethodSimple, 0); s[0].Minutes != 10 || s[2].Minutes != 5 {
		t.Errorf("simple minutes: %+v", s)
	}
}

func TestDefaultDots(t *testing.T) {
	for items, want := range map[int]int{0: 2, 1: 2, 6: 2, 7: 2, 8: 3, 10: 3, 11: 4, 15: 5, 19: 6, 20: 7, 100: 7} {
		if got := DefaultDots(items); got != want {
			t.Errorf("DefaultDots(%d) = %d, want %d", items, got, want)
		}
	}
}

func TestSpecValidateNamesField(t *testing.T) {
	cases := []struct {
		field string
		p     Problem
		f     func(s *Spec)
	}{
		{"title", ProblemRequired, func(s *Spec) { s.Title = " " }},
		{"title", ProblemTooLong, func(s *Spec) { s.Title = strings.Repeat("a", MaxTitle+1) }},
		{"question", ProblemInvalid, func(s *Spec) { s.Question = "a\x00" }},
		{"lang", ProblemUnknown, func(s *Spec) { s.Lang = "fr" }},
		{"method", ProblemUnknown, func(s *Spec) { s.Method = "brainstorm" }},
		{"tables", ProblemOutOfRange, func(s *Spec) { s.Tables = 3 }},
		{"phases", ProblemRequired, func(s *Spec) { s.Phases = nil }},
		{"phases", ProblemTooMany, func(s *Spec) { s.Phases = make([]PhaseSpec, MaxPhases+1) }},
		{"phases[1].kind", ProblemUnknown, func(s *Spec) { s.Phases[1].Kind = "party" }},
		{"phases[0].minutes", ProblemOutOfRange, func(s *Spec) { s.Phases[0].Minutes = 241 }},
		{"phases[2].round", ProblemOutOfRange, func(s *Spec) { s.Phases[2].Round = 1 }},
		{"dots", ProblemOutOfRange, func(s *Spec) { s.Dots = MaxDotsPerVoter + 1 }},
		{"max_per_item", ProblemOutOfRange, func(s *Spec) { s.Dots = 3; s.MaxPerItem = 4 }},
		{"vote_on", ProblemUnknown, func(s *Spec) { s.VoteOn = "" }},
		{"words", ProblemTooMany, func(s *Spec) { s.Words = make([]string, MaxWords+1) }},
		{"words[1]", ProblemInvalid, func(s *Spec) { s.Words[1] = "!!" }},
		{"words[0]", ProblemTooLong, func(s *Spec) { s.Words[0] = strings.Repeat("x", MaxWordLen+1) }},
		{"terminals[0]", ProblemInvalid, func(s *Spec) { s.Terminals = []string{"a/b"} }},
		{"terminals[1]", ProblemInvalid, func(s *Spec) { s.Terminals = []string{"T1", "T1"} }},
		{"max_idea_chars", ProblemOutOfRange, func(s *Spec) { s.MaxIdeaChars = MaxIdeaText + 1 }},
	}
	for _, c := range cases {
		s := goodSpec(MethodSimple)
		s.Phases = append([]PhaseSpec(nil), s.Phases...)
		s.Words = append([]string(nil), s.Words...)
		c.f(&s)
		err := s.Validate()
		var se *SpecError
		if !errors.As(err, &se) {
			t.Errorf("%s: got %v, want a *SpecError", c.field, err)
			continue
		}
		if se.Field != c.field || se.Problem != c.p {
			t.Errorf("%s: got field %q problem %q (%v)", c.field, se.Field, se.Problem, err)
		}
		if msg := userr.Message(err, ""); !strings.HasPrefix(msg, c.field+":") {
			t.Errorf("%s: person-facing message %q does not name the field", c.field, msg)
		}
	}
}

func TestDefaultPhasesInGerman(t *testing.T) {
	if got := kinds(DefaultPhasesIn(MethodSimple, 0, "de")); got != "ideas/Ideen,cluster/Sortieren,vote/Abstimmen,results/Ergebnisse" {
		t.Errorf("simple in German: %s", got)
	}
	if got := kinds(DefaultPhasesIn(MethodCafe, 2, "de")); got != "ideas/Runde 1,ideas/Runde 2,cluster/Sortieren,vote/Abstimmen,results/Ergebnisse" {
		t.Errorf("café in German: %s", got)
	}
	if got, want := kinds(DefaultPhasesIn(Method1248All, 0, "fr")), kinds(DefaultPhases(Method1248All, 0)); got != want {
		t.Errorf("an unknown language: %s, want English %s", got, want)
	}
}

// kinds lists phases as kind/title.
func kinds(ps []PhaseSpec) string {
	var k []string
	for _, p := range ps {
		k = append(k, p.Kind+"/"+p.Title)
	}
	return strings.Join(k, ",")
}
