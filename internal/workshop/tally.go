package workshop

import (
	"cmp"
	"slices"
)

// Result is one item's standing in a round.
type Result struct {
	Item string // an idea's or theme's ID
	Text string // the idea's text or the theme's name
	// Theme is the theme an idea sits in (PlaceUnsorted for none); empty
	// for themes.
	Theme string
	Dots  int // counted dots, including those of ideas merged into it
	// Rank is 1 for the most dots; items with equal dots share a rank and
	// the next rank skips (1, 1, 3).
	Rank int
	// NearTie: the item's dots are within the near-tie margin of the item
	// ranked next to it (above or below), equal counts included; see
	// NearTie.
	NearTie bool
	// Ideas are, for an idea, the ideas merged into it as duplicates; for
	// a theme, its visible ideas.
	Ideas []string
}

// NearTie reports whether two counts are too close to call: both have
// dots and they differ by at most max(1, 5 % of the higher, rounded up),
// so 39 and 37 are a near tie, 10 and 8 are not. A dot or two decides
// nothing among a few dozen voters, and one dot is never a clear lead.
// An item without dots is tied with nothing: nobody chose it.
func NearTie(a, b int) bool {
	hi, lo := max(a, b), min(a, b)
	if lo <= 0 {
		return false
	}
	margin := max(1, (hi*5+99)/100)
	return hi-lo <= margin
}

// Tally ranks the items of round n: every item the round can vote for
// (for a runoff, its candidates), most dots first; equal dots keep the
// order the items came in. Nil if there is no such round. Totals are
// there whether or not the round is revealed: screens decide what to
// show.
func (s *State) Tally(n int) []Result {
	r := s.Round(n)
	if r == nil {
		return nil
	}
	dots := map[string]int{}
	for _, d := range s.roundDots[n] {
		if d.Status == DotCounted {
			dots[d.Counts]++
		}
	}
	var res []Result
	if r.On == OnThemes {
		for _, t := range s.Themes {
			if s.eligible(r, t.ID) {
				var ideas []string
				for _, id := range t.Ideas {
					if i := s.ideaIdx[id]; i.Visible() && s.parent[id] == "" {
						ideas = append(ideas, id)
					}
				}
				res = append(res, Result{Item: t.ID, Text: t.Name, Dots: dots[t.ID], Ideas: ideas})
			}
		}
	} else {
		at := map[string]int{}
		for _, i := range s.Ideas {
			if s.parent[i.ID] == "" && s.eligible(r, i.ID) {
				at[i.ID] = len(res)
				res = append(res, Result{Item: i.ID, Text: i.Text, Theme: i.Theme, Dots: dots[i.ID]})
			}
		}
		for _, i := range s.Ideas {
			if s.parent[i.ID] != "" {
				if k, ok := at[s.root(i.ID)]; ok {
					res[k].Ideas = append(res[k].Ideas, i.ID)
				}
			}
		}
	}
	slices.SortStableFunc(res, func(a, b Result) int { return cmp.Compare(b.Dots, a.Dots) })
	for i := range res {
		if i > 0 && res[i].Dots == res[i-1].Dots {
			res[i].Rank = res[i-1].Rank
		} else {
			res[i].Rank = i + 1
		}
		if i > 0 && NearTie(res[i].Dots, res[i-1].Dots) {
			res[i].NearTie, res[i-1].NearTie = true, true
		}
	}
	return res
}

// VoterDots returns a voter's dots in round n (every status, in fold
// order) and how many they may still place: the round's dots less those
// counted and pending.
func (s *State) VoterDots(voter string, n int) (left int, dots []*DotState) {
	r := s.Round(n)
	if r == nil {
		return 0, nil
	}
	used := 0
	for _, d := range s.roundDots[n] {
		if d.Voter != voter {
			continue
		}
		dots = append(dots, d)
		if d.Status == DotCounted || d.Status == DotPending {
			used++
		}
	}
	return max(0, r.Dots-used), dots
}

// Idea returns the idea with that ID, or nil.
func (s *State) Idea(id string) *IdeaState { return s.ideaIdx[id] }

// Theme returns the theme with that ID, or nil (also once dropped).
func (s *State) Theme(id string) *ThemeState { return s.themeIdx[id] }

// Voter returns the voter with that ID, or nil.
func (s *State) Voter(id string) *Voter { return s.voterIdx[id] }

// Dot returns the dot with that ID, or nil.
func (s *State) Dot(id string) *DotState { return s.dotIdx[id] }

// Round returns round n, or nil.
func (s *State) Round(n int) *Round {
	if n < 1 || n > len(s.Rounds) {
		return nil
	}
	return s.Rounds[n-1]
}

// CurrentRound is the round open for dots (a vote phase's or a runoff),
// or nil.
func (s *State) CurrentRound() *Round {
	for i := len(s.Rounds) - 1; i >= 0; i-- {
		if !s.Rounds[i].Closed {
			return s.Rounds[i]
		}
	}
	return nil
}

// Phase is the current phase's plan, or nil before the workshop opens
// and after it ended.
func (s *State) Phase() *PhaseSpec {
	if s.PhaseIndex < 0 || s.PhaseIndex >= len(s.Spec.Phases) {
		return nil
	}
	return &s.Spec.Phases[s.PhaseIndex]
}

// Opened reports whether the workshop has had its first Phase event.
func (s *State) Opened() bool { return s.PhaseIndex >= 0 || s.Ended }
