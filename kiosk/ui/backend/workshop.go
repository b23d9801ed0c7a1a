package backend

import (
	"fmt"
	"strings"
	"time"

	ws "github.com/quartierhub/quartierhub/internal/workshop"
)

// The workshop screens' view-model: what the window shows of a workshop,
// converted from the local API's WorkshopView (workshopconv.go) and
// formatted here, without Fyne, so the rules that decide what a
// participant reads (which screen a phase gets, a dot's status in words,
// whether totals show, how much time is left) are tested with
// CGO_ENABLED=0.

// Workshop is the terminal's workshop as the window shows it.
type Workshop struct {
	// Active: the terminal is in workshop mode; everything below is
	// only meaningful then.
	Active   bool
	ID       string
	Title    string
	Question string
	JoinURL  string
	// Online: the agent holds a connection to the hub; else what is
	// entered waits in the outbox (Queued events).
	Online bool
	Queued int
	// Phase is the current phase; Kind "" before the workshop opens.
	Phase   Phase
	Started bool
	Ended   bool
	// JoinOpen: new participants may check in (those checked in may
	// come back with their card all the same).
	JoinOpen bool
	// Named: an idea may carry its writer's first name (Idea.Author).
	Named        bool
	MaxIdeaChars int
	// Tables is the number of café tables, 0 if the workshop is no café.
	Tables int
	// Ideas participants see (unsorted and sorted, duplicates left
	// out), in entry order.
	Ideas  []Idea
	Themes []Theme
	// Round is the voting round of a vote or results phase, nil if none.
	Round *Round
	// Items are what the round votes on, in the order shown.
	Items []VoteItem
	// Results, ranked, once the round is revealed.
	Results []Result
	// Me is the checked-in voter's part; nil without a voter.
	Me *Me
	// Open lists the workshops this terminal may join (the moderator's
	// choice at the terminal).
	Open []Choice
	// Voters and Done count participants, IdeaCount the ideas.
	Voters, Done, IdeaCount int
}

// Phase kinds (as internal/workshop names them).
const (
	PhaseIdeas   = "ideas"
	PhaseCluster = "cluster"
	PhaseVote    = "vote"
	PhaseResults = "results"
)

// Phase is the current phase.
type Phase struct {
	Index, Count int
	Kind         string
	Title        string
	// EndsAt is its timer; zero for none.
	EndsAt time.Time
	// Round is the café round of an ideas phase, 0 elsewhere.
	Round int
}

// Idea is an idea as participants see it.
type Idea struct {
	ID, Text, Author string
	Theme            string
	// Mine: written by the voter checked in now; Pending: not yet at the hub.
	Mine, Pending bool
}

// Theme is a theme and its ideas.
type Theme struct {
	ID, Name string
	Ideas    []Idea
}

// ThemeParking is the parking lot's place (an idea's Theme).
const ThemeParking = "parking"

// Round is a voting round.
type Round struct {
	N          int
	OnThemes   bool
	Dots       int
	MaxPerItem int
	Revealed   bool
	Closed     bool
}

// VoteItem is one thing to put dots on.
type VoteItem struct {
	ID, Text string
	// Author is an idea's writer in a workshop with named ideas.
	Author string
	// Total is the item's dots once revealed; -1 while hidden.
	Total int
	// Mine are the checked-in voter's dots on it.
	Mine []Dot
}

// Dot is one of the voter's dots.
type Dot struct {
	ID     string
	Status string // DotCounted, DotPending, DotOverLimit, …
}

// Dot statuses (as internal/workshop names them).
const (
	DotCounted   = "counted"
	DotPending   = "pending"
	DotOverLimit = "over_limit"
	DotLate      = "late"
	DotRejected  = "rejected"
	DotTaken     = "taken"
	DotVoid      = "void"
)

// Result is one ranked item.
type Result struct {
	Rank    int
	Text    string
	Author  string // an idea's writer, named ideas only
	Dots    int
	NearTie bool
}

// Me is the checked-in voter.
type Me struct {
	Voter    string
	Label    string
	DotsLeft int
	Done     bool
	// Pending: the check-in is on this terminal only yet; Removed: the
	// moderator removed the voter.
	Pending, Removed bool
}

// Choice is a workshop a moderator may switch the terminal to.
type Choice struct {
	ID, Title string
	Current   bool
}

// Screen kinds of a participant's session.
const (
	StepWait    = "wait"    // not opened yet, or ended
	StepIdeas   = "ideas"   // write ideas
	StepThemes  = "themes"  // read the themes as they form
	StepVote    = "vote"    // place dots
	StepResults = "results" // read the ranking
)

// Step is the participant screen the workshop's state calls for.
func (w Workshop) Step() string {
	if w.Ended || !w.Started {
		if w.Ended && len(w.Results) > 0 {
			return StepResults
		}
		return StepWait
	}
	switch w.Phase.Kind {
	case PhaseIdeas:
		return StepIdeas
	case PhaseCluster:
		return StepThemes
	case PhaseVote:
		if w.Round != nil {
			return StepVote
		}
	case PhaseResults:
		return StepResults
	}
	return StepWait
}

// TimeLeft is the phase timer's remaining time, rounded up to the
// second; ok is false without a timer.
func (w Workshop) TimeLeft(now time.Time) (left time.Duration, ok bool) {
	if w.Phase.EndsAt.IsZero() {
		return 0, false
	}
	left = w.Phase.EndsAt.Sub(now)
	if left < 0 {
		return 0, true
	}
	return (left + time.Second - 1).Truncate(time.Second), true
}

// Clock formats a duration as a countdown: "4:05", "1:02:03".
func Clock(d time.Duration) string {
	s := int(d / time.Second)
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// DotCount is how many of a voter's dots on an item are in each state
// that a participant is told about.
type DotCount struct{ Counted, Pending, Over, Late int }

// Count sorts the dots: the ones taken back or void are not shown.
func (it VoteItem) Count() DotCount {
	var c DotCount
	for _, d := range it.Mine {
		switch d.Status {
		case DotCounted:
			c.Counted++
		case DotPending:
			c.Pending++
		case DotOverLimit, DotRejected:
			c.Over++
		case DotLate:
			c.Late++
		}
	}
	return c
}

// Placed is how many of the voter's dots are on the item (every one that
// was not taken back or voided): what "take back" can take.
func (it VoteItem) Placed() int {
	c := it.Count()
	return c.Counted + c.Pending + c.Over + c.Late
}

// Takeable is the voter's newest dot on the item that may be taken back
// ("" if none): over-the-limit dots first, as they count for nothing.
func (it VoteItem) Takeable() string {
	for _, want := range []string{DotOverLimit, DotPending, DotLate, DotCounted} {
		for i := len(it.Mine) - 1; i >= 0; i-- {
			if it.Mine[i].Status == want {
				return it.Mine[i].ID
			}
		}
	}
	return ""
}

// CanAdd says whether the voter may place another dot on it, and if not
// the translation key of why.
func (w Workshop) CanAdd(it VoteItem) (ok bool, why string) {
	switch {
	case w.Me == nil:
		return false, "workshop.reason.not_checked_in"
	case w.Round == nil || w.Round.Closed:
		return false, "workshop.vote.closed"
	case w.Me.DotsLeft <= 0:
		return false, "workshop.vote.none_left"
	case w.Round.MaxPerItem > 0 && it.Placed() >= w.Round.MaxPerItem:
		return false, "workshop.vote.item_full"
	}
	return true, ""
}

// AsksTable says whether a participant names their café table before
// writing ideas: a café's ideas phase (a café round).
func (w Workshop) AsksTable() bool {
	return w.Tables > 0 && w.Phase.Kind == PhaseIdeas && w.Phase.Round > 0
}

// MyIdeas are the ideas the voter checked in now wrote, oldest first.
func (w Workshop) MyIdeas() []Idea {
	var out []Idea
	for _, i := range w.Ideas {
		if i.Mine {
			out = append(out, i)
		}
	}
	return out
}

// Unsorted are the ideas in no theme (nor the parking lot).
func (w Workshop) Unsorted() []Idea { return w.ideasIn("") }

// Parked are the ideas in the parking lot.
func (w Workshop) Parked() []Idea { return w.ideasIn(ThemeParking) }

func (w Workshop) ideasIn(place string) []Idea {
	var out []Idea
	for _, i := range w.Ideas {
		if i.Theme == place {
			out = append(out, i)
		}
	}
	return out
}

// Short cuts a text to n characters for a one-line list.
func Short(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// MaxAuthorName is the longest first name an idea may carry.
const MaxAuthorName = ws.MaxAuthorName
