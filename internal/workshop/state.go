package workshop

import "time"

// State is what the fold makes of a workshop's log: the same value on
// every device that holds the same events.
type State struct {
	ID   string
	Spec Spec
	// Cursor is the highest HubSeq folded (the hub's order); events not
	// yet stamped come after it and are Pending.
	Cursor uint64
	// PhaseIndex is the current phase: an index into Spec.Phases, or -1
	// before the first Phase event and after the one with index -1, which
	// ends the workshop for good (Ended).
	PhaseIndex int
	Ended      bool
	// PhaseEndsAt is the current phase's timer; zero for none.
	PhaseEndsAt time.Time
	JoinOpen    bool

	Voters []*Voter // in order of check-in
	Ideas  []*IdeaState
	Themes []*ThemeState
	Rounds []*Round // voting rounds, from round 1
	Dots   []*DotState

	// Refused lists events the fold did not apply, with why (for the
	// moderator's log and the author's device), in fold order.
	Refused []Refusal

	ideaIdx  map[string]*IdeaState
	themeIdx map[string]*ThemeState
	voterIdx map[string]*Voter
	dotIdx   map[string]*DotState
	// parent maps a duplicate to the idea it is merged into (one step).
	parent    map[string]string
	roots     map[string]string   // root's memo; cleared when parent changes
	roundDots map[int][]*DotState // in fold order
	folded    bool                // Fold is done: methods only read
}

// Voter is a participant: a pseudonymous ID, never a name.
type Voter struct {
	ID         string
	Via        string
	Label      string
	Device     string
	Removed    bool
	Left       bool
	DonePhases map[int]bool
	// Pending: only the device knows of the check-in yet.
	Pending bool
}

// IdeaState is an idea as it stands.
type IdeaState struct {
	ID     string // its Idea event's ID
	Text   string
	Author string
	Voter  string // the voter's ID
	Device string
	Phase  int
	Table  int
	At     time.Time // its HLC wall time
	// Late: written (by its HLC) after the deadline of the Phase event
	// that closed its ideas phase; it sits in the late lane until a
	// moderator moves it (any Move clears Late).
	Late   bool
	Hidden bool
	Reason string
	// Held by the word list until a moderator restores it.
	Held   bool
	Edited bool
	// Theme is the theme's ID, PlaceUnsorted or PlaceParking.
	Theme string
	// MergedInto is the surviving idea's ID when this one is a duplicate
	// (the end of the merge chain).
	MergedInto string
	// MergeEvent is the Merge event that made it a duplicate.
	MergeEvent string
	Pending    bool
}

// Visible reports whether participants see the idea.
func (i *IdeaState) Visible() bool { return !i.Hidden && !i.Held }

// ThemeState is a theme and the ideas in it (IDs, in the order they came).
type ThemeState struct {
	ID    string
	Name  string
	Ideas []string
}

// Round is a voting round.
type Round struct {
	N          int
	On         string // OnIdeas or OnThemes
	Dots       int    // per voter
	MaxPerItem int
	// Phase is the vote phase that opened the round; -1 for a runoff.
	Phase int
	// From is the round a runoff is drawn from; 0 for others.
	From int
	// Candidates limits a runoff round to these items (the top TopK of
	// From when the Runoff event was folded, ties at the cut included);
	// nil for all.
	Candidates []string
	Revealed   bool
	Closed     bool
	// ClosedAt is the deadline of the Phase event that closed it; a phase
	// entered again reopens its round.
	ClosedAt time.Time
}

// DotState is one dot and whether it counts.
type DotState struct {
	ID    string // its Dot event's ID
	Voter string
	Round int
	Item  string // as placed
	// Counts is the item the dot counts for after merges (Item, or the
	// idea it was merged into).
	Counts string
	Status DotStatus
	Device string
	At     time.Time
}

// DotStatus says whether a dot counts.
type DotStatus string

// Dot statuses.
const (
	DotCounted   DotStatus = "counted"    // the hub has it and it is within the voter's dots
	DotPending   DotStatus = "pending"    // only its device has it yet
	DotOverLimit DotStatus = "over_limit" // beyond the voter's dots or the item cap, in hub order
	DotLate      DotStatus = "late"       // after its round closed; waits for the moderator
	DotRejected  DotStatus = "rejected"   // late and rejected by the moderator
	DotTaken     DotStatus = "taken"      // taken back by the voter
	DotVoid      DotStatus = "void"       // its voter was removed, or its item is gone (hidden, held, parked, dropped, not of the round's kind or not in the runoff)
)

// Refusal is an event the fold did not apply.
type Refusal struct {
	Event  string // the event's ID
	Actor  string
	Device string
	Reason Reason
}

// Reason is a refusal's code; screens translate it.
type Reason string

// Refusal reasons.
const (
	ReasonNotOpen      Reason = "not_open"       // the workshop has not opened or has ended
	ReasonWrongPhase   Reason = "wrong_phase"    // the action does not fit the current phase
	ReasonNotCheckedIn Reason = "not_checked_in" // the actor has not checked in
	ReasonJoinClosed   Reason = "join_closed"    // joining is closed
	ReasonRemoved      Reason = "removed"        // the moderator removed the voter
	ReasonTooMany      Reason = "too_many"       // a workshop limit (voters, ideas, themes)
	ReasonUnknownItem  Reason = "unknown_item"   // no such idea, theme or dot
	ReasonNotAllowed   Reason = "not_allowed"    // a participant tried a moderator's action, or another's dot
	ReasonInvalid      Reason = "invalid"        // the data does not fit the type
	ReasonDuplicate    Reason = "duplicate"      // the voter already checked in
	ReasonNoPhones     Reason = "no_phones"      // phones may not join this workshop
	ReasonMergeCycle   Reason = "merge_cycle"    // the merge would make an idea a duplicate of itself
)
