// Package workshop is the participation workshop's model: one append-only
// event log per workshop and one deterministic fold that turns it into the
// workshop's state. The same fold runs on the hub, in every terminal and
// behind every phone page, so all of them show the same thing once they
// hold the same events, whatever order those arrived in.
//
// The package is pure Go (standard library only): no HTTP, no store, no
// Fyne. Devices author events, the hub stamps each one it accepts with its
// own gapless sequence (HubSeq), and the fold orders stamped events by
// that sequence and the events a device holds but the hub has not yet
// stamped after them, by their hybrid logical clock. See merge.go for the
// rules that decide conflicts.
package workshop

import (
	"encoding/json"
	"time"
)

// Type names what an event does.
type Type string

// Event types. Participant events are authored by a terminal or, for a
// phone, by the hub on the participant's behalf; moderator events by the
// console (device "hub") or a terminal switched by a moderator's card.
const (
	// Participants.
	TypeCheckIn Type = "check_in" // CheckIn: a voter joins
	TypeIdea    Type = "idea"     // Idea: a new idea; its ID is the event's ID
	TypeDone    Type = "done"     // Done: "I'm done" for the current phase
	TypeDot     Type = "dot"      // Dot: one dot; its ID is the event's ID
	TypeDotTake Type = "dot_take" // DotTake: take one's own dot back
	TypeLeave   Type = "leave"    // (no data): a voter leaves; their dots stay

	// Moderators.
	TypePhase     Type = "phase"      // Phase: go to a phase (forward or back)
	TypeTimer     Type = "timer"      // Timer: set or extend the current phase's timer
	TypeJoin      Type = "join"       // Join: open or close joining
	TypeRemove    Type = "remove"     // Remove: remove a voter (their dots stop counting)
	TypeHide      Type = "hide"       // Hide: hide an idea, with a reason
	TypeRestore   Type = "restore"    // Restore: show a hidden or held idea again
	TypeEdit      Type = "edit"       // Edit: change an idea's text (logged)
	TypeTheme     Type = "theme"      // Theme: create or rename a theme
	TypeThemeDrop Type = "theme_drop" // ThemeDrop: delete a theme (its ideas go back to unsorted)
	TypeMove      Type = "move"       // Move: put an idea into a theme, the parking lot or back to unsorted
	TypeMerge     Type = "merge"      // Merge: an idea is a duplicate of another
	TypeUnmerge   Type = "unmerge"    // Unmerge: undo a merge
	TypeVote      Type = "vote"       // Vote: set up a voting round (on ideas or themes, dots, cap)
	TypeReveal    Type = "reveal"     // Reveal: show a round's totals
	TypeLateDots  Type = "late_dots"  // LateDots: accept or reject dots that came after the round closed
	TypeRunoff    Type = "runoff"     // Runoff: a new round between the top k of a round
)

// ModeratorType reports whether t is a moderator's action: the fold
// applies it only from an "m:" actor on the hub or a "c:" actor on a
// terminal.
func ModeratorType(t Type) bool {
	switch t {
	case TypePhase, TypeTimer, TypeJoin, TypeRemove, TypeHide, TypeRestore, TypeEdit,
		TypeTheme, TypeThemeDrop, TypeMove, TypeMerge, TypeUnmerge, TypeVote, TypeReveal,
		TypeLateDots, TypeRunoff:
		return true
	}
	return false
}

// ParticipantType reports whether t is a participant's action. Of these,
// only TypeIdea may also come from a moderator (ideas typed in from a
// flip chart); the others need a checked-in "v:" actor.
func ParticipantType(t Type) bool {
	switch t {
	case TypeCheckIn, TypeIdea, TypeDone, TypeDot, TypeDotTake, TypeLeave:
		return true
	}
	return false
}

// Event is one entry of a workshop's log. ID, Device, Seq and HLC are set
// by the device that authors it; HubSeq by the hub when it stores it.
type Event struct {
	// ID is a ULID, unique across all workshops; sortable by creation.
	ID string `json:"id"`
	// Workshop is the workshop's ID.
	Workshop string `json:"workshop"`
	// Device is who wrote the event down: "hub", or "t:" + terminal ID.
	Device string `json:"device"`
	// Seq is the device's gapless sequence in this workshop, from 1.
	// The hub's own events carry their HubSeq here.
	Seq uint64 `json:"seq"`
	// HLC is the device's hybrid logical clock when it wrote the event.
	HLC HLC `json:"hlc"`
	// HubSeq is the hub's gapless sequence of accepted events in this
	// workshop, from 1; 0 while only the device holds the event.
	HubSeq uint64 `json:"hub_seq,omitempty"`
	// Actor is who acted: a voter ID ("v:…") for participants, "m:" +
	// console user name for moderators, "c:" + a card hash prefix for a
	// moderator acting at a terminal.
	Actor string `json:"actor"`
	// Type says what Data holds.
	Type Type `json:"type"`
	// Data is the type's payload (see the types below); at most MaxDataBytes.
	Data json.RawMessage `json:"data,omitempty"`
}

// Device names.
const (
	DeviceHub            = "hub"
	DeviceTerminalPrefix = "t:"
)

// Actor prefixes.
const (
	ActorVoterPrefix     = "v:"
	ActorModeratorPrefix = "m:"
	ActorCardPrefix      = "c:"
)

// Limits every event and workshop is held to, on every device.
const (
	MaxEventBytes   = 8 << 10 // one encoded event
	MaxDataBytes    = 4 << 10 // its Data
	MaxIDLen        = 64      // IDs of events, workshops, themes, voters
	MaxIdeaText     = 280     // characters of an idea
	MaxAuthorName   = 40      // characters of a named idea's author
	MaxThemeName    = 80      // characters of a theme's name
	MaxReason       = 200     // characters of a hide reason
	MaxEventsPerLog = 100_000 // events in one workshop's log
	MaxVoters       = 2_000   // voters in one workshop
	MaxIdeas        = 5_000   // ideas in one workshop
	MaxThemes       = 200     // themes in one workshop
	MaxDotsPerVoter = 20      // the most a spec or round may give
)

// HLC is a hybrid logical clock reading: wall milliseconds and a counter
// that orders readings within one millisecond. Readings compare by Wall,
// then Logical.
type HLC struct {
	Wall    int64  `json:"wall"`    // unix milliseconds
	Logical uint32 `json:"logical"` // counter within Wall
}

// Time returns the wall part as a time.
func (h HLC) Time() time.Time { return time.UnixMilli(h.Wall).UTC() }

// Payloads, one per type.

// CheckIn: a voter joins. Via is how: a card at a terminal or a guest
// number at a terminal or on a phone. The voter ID is the event's Actor.
// Checking in again is refused as ReasonDuplicate and changes nothing (a
// card checks in at each terminal it is used at); after a Leave it
// rejoins.
type CheckIn struct {
	Via   string `json:"via"`   // ViaCard, ViaGuest or ViaPhone
	Label string `json:"label"` // what the voter is shown as: "Gast 17", never a name
}

// Check-in kinds.
const (
	ViaCard  = "card"
	ViaGuest = "guest"
	ViaPhone = "phone"
)

// Idea is a new idea, entered in the phase the device believed current:
// an ideas phase that has been open (else ReasonWrongPhase); written after
// that phase closed, it is late. Author is dropped unless Spec.Named.
// Moderators may enter ideas too (from a flip chart).
type Idea struct {
	Text   string `json:"text"`
	Author string `json:"author,omitempty"` // only in workshops with named ideas
	Phase  int    `json:"phase"`            // index into Spec.Phases
	Table  int    `json:"table,omitempty"`  // café table, from 1; 0 elsewhere
}

// Done: the voter is done with a phase.
type Done struct {
	Phase int `json:"phase"`
}

// Dot places one dot on an item (an idea's or theme's ID) of a round.
type Dot struct {
	Round int    `json:"round"` // from 1
	Item  string `json:"item"`
}

// DotTake takes back one of the actor's own dots (the Dot event's ID).
type DotTake struct {
	Dot string `json:"dot"`
}

// Phase goes to the phase with the given index; -1 closes the workshop
// for good (ended). Deadline is the moment the phase it leaves closed
// (0: the event's HLC wall time): ideas and dots written later belong to
// the late lane. Entering a vote phase opens its round (the next number
// the first time, the same round again later); leaving it, or any phase
// while a runoff is open, closes the open round.
type Phase struct {
	Index    int   `json:"index"`
	Deadline int64 `json:"deadline"` // unix ms
	// EndsAt is the new phase's timer (unix ms), 0 for none.
	EndsAt int64 `json:"ends_at,omitempty"`
}

// Timer sets the current phase's timer (unix ms; 0 stops it).
type Timer struct {
	Phase  int   `json:"phase"`
	EndsAt int64 `json:"ends_at"`
}

// Join opens or closes joining for new voters.
type Join struct {
	Open bool `json:"open"`
}

// Remove removes a voter: they can no longer act and their dots no
// longer count. Their ideas stay (a moderator may hide them).
type Remove struct {
	Voter string `json:"voter"`
}

// Hide hides an idea, with a reason shown to moderators.
type Hide struct {
	Idea   string `json:"idea"`
	Reason string `json:"reason"`
}

// Restore shows a hidden idea again, or releases one held by the word list.
type Restore struct {
	Idea string `json:"idea"`
}

// Edit replaces an idea's text; the original stays in the log.
type Edit struct {
	Idea string `json:"idea"`
	Text string `json:"text"`
}

// Theme creates a theme or renames it (the same ID).
type Theme struct {
	Theme string `json:"theme"`
	Name  string `json:"name"`
}

// ThemeDrop deletes a theme; its ideas go back to unsorted and dots on
// it stop counting (DotVoid).
type ThemeDrop struct {
	Theme string `json:"theme"`
}

// Move puts an idea somewhere: a theme's ID, PlaceUnsorted or PlaceParking.
type Move struct {
	Idea string `json:"idea"`
	To   string `json:"to"`
}

// Places an idea can be moved to besides a theme.
const (
	PlaceUnsorted = ""
	PlaceParking  = "parking"
)

// Merge marks Idea a duplicate of Into; Idea's dots count for Into.
type Merge struct {
	Idea string `json:"idea"`
	Into string `json:"into"`
}

// Unmerge undoes the Merge event with that ID.
type Unmerge struct {
	Merge string `json:"merge"`
}

// Vote sets up voting round Round (from 1; an open round or the next
// one): on ideas or on themes, how many dots each voter has (0: what the
// round opened with, Spec.Dots or DefaultDots) and at most how many on
// one item (0: no cap). Sent again for the same round, it changes those
// numbers (the last by HLC wins).
type Vote struct {
	Round      int    `json:"round"`
	On         string `json:"on"` // OnIdeas or OnThemes
	Dots       int    `json:"dots"`
	MaxPerItem int    `json:"max_per_item"`
}

// What a round votes on.
const (
	OnIdeas  = "ideas"
	OnThemes = "themes"
)

// Reveal shows round Round's totals to everyone.
type Reveal struct {
	Round int `json:"round"`
}

// LateDots decides on dots that arrived after their round closed; IDs
// the fold does not know are ignored, and refused if it knows none.
type LateDots struct {
	Dots   []string `json:"dots"` // Dot event IDs, at most 1,000
	Accept bool     `json:"accept"`
}

// Runoff opens round Round (the next number) between the top TopK items
// of round From, which must be closed; ties at the cut are all in. It has
// 1 dot per voter unless a Vote for its number came first, and closes
// with the next Phase event.
type Runoff struct {
	From  int `json:"from"`
	Round int `json:"round"`
	TopK  int `json:"top_k"`
}

// Compare returns -1, 0 or +1 as h is before, equal to or after o.
func (h HLC) Compare(o HLC) int {
	switch {
	case h.Wall < o.Wall:
		return -1
	case h.Wall > o.Wall:
		return 1
	case h.Logical < o.Logical:
		return -1
	case h.Logical > o.Logical:
		return 1
	}
	return 0
}
