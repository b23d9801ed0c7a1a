// Package card holds what every card reader driver reports: a card
// presented to the reader or removed from it. A reader de-duplicates the
// repeats a card causes while it stays in the field into one presentation.
package card

import (
	"fmt"
	"time"
)

// Kind says what happened to a card.
type Kind int

const (
	// Presented: a card entered the field.
	Presented Kind = iota + 1
	// Removed: the card left the field, another card replaced it, or the
	// reader went away.
	Removed
)

func (k Kind) String() string {
	switch k {
	case Presented:
		return "presented"
	case Removed:
		return "removed"
	}
	return fmt.Sprintf("card.Kind(%d)", int(k))
}

// Event is one presentation or removal.
type Event struct {
	Kind Kind
	// UID is the card's id as uppercase hex, e.g. "01004CA53B". It
	// identifies a person's card: hash it before storing or logging it.
	UID  string
	Time time.Time
}

// String leaves the UID out, so an event can be logged.
func (e Event) String() string {
	return fmt.Sprintf("card %s at %s", e.Kind, e.Time.Format(time.RFC3339Nano))
}
