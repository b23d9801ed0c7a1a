package a11y

// Role says what a node is, spoken after its label ("Next, button").
type Role int

// Roles of the terminal's screens.
const (
	RoleText    Role = iota // a paragraph; spoken as it is
	RoleHeading             // a screen's or a section's title
	RoleButton
	RoleChoice // one answer among several (a category, a place, a survey option)
	RoleToggle // on/off (large text, high contrast)
	RoleKey    // a key of the on-screen keyboard or the PIN pad
	RoleImage  // a picture or chart: its Description is spoken
	RoleLink   // a QR code or address to open elsewhere
	RoleField  // a text being written (with the on-screen keyboard): its Value is spoken
)

// word is the role's catalog key (a11y.role.*), "" for plain text.
func (r Role) word() string {
	switch r {
	case RoleHeading:
		return "a11y.role.heading"
	case RoleButton:
		return "a11y.role.button"
	case RoleChoice:
		return "a11y.role.choice"
	case RoleToggle:
		return "a11y.role.toggle"
	case RoleKey:
		return "a11y.role.key"
	case RoleImage:
		return "a11y.role.image"
	case RoleLink:
		return "a11y.role.link"
	case RoleField:
		return "a11y.role.field"
	}
	return ""
}

// State is a node's state, spoken after its role.
type State uint8

// States; a node may have several (a chosen survey answer that can no
// longer be changed is Selected|Disabled).
const (
	Selected State = 1 << iota // the chosen answer
	On                         // a toggle that is on (a toggle without On is off)
	Disabled                   // cannot be used now (its reason is the next node)
)

// Node is one item of a screen: what is said when it has the focus and
// what Enter does.
type Node struct {
	Role Role
	// Label is the item's text in a catalog language. Every language of
	// the catalog must give a non-empty label (a test in kiosk/ui checks).
	Label func(lang string) string
	// Description, for images and charts, says what they show (the air
	// screen: the values now and what they mean).
	Description func(lang string) string
	State       State
	// Hint, if set, says what a button does where its label does not
	// ("deletes your entries and ends the session"), after its role.
	Hint func(lang string) string
	// Value, for a text field, is its text and how long it is, said
	// after the role ("empty" if it is ""); nil: the node has none.
	Value func(lang string) string
	// Withheld, if set, marks Value as what a resident wrote (personal
	// data): it is said only into headphones, and without them Withheld
	// is said instead ("4 characters typed").
	Withheld func(lang string) string
	// Action is what Enter does (the same code as a tap); nil for text.
	Action func()
	// Back marks the screen's way back (the Back key activates it).
	Back bool
	// Private marks a label with digits of personal data (a PIN's digits):
	// spoken only into headphones.
	Private bool
	// Lang, if set, is the one language the label is in (a language's
	// own name, "Українська"): said alone, in that language's voice.
	Lang string
	// Target is the window's object for the focus ring (kiosk/ui's
	// canvas object); a11y does not look at it.
	Target any
}

// Actionable reports whether Enter does something with n.
func (n Node) Actionable() bool { return n.Action != nil && n.State&Disabled == 0 }

// Tree is one screen's items in focus order.
type Tree struct {
	// Screen names the screen (kiosk/ui's screen names): a tree of the
	// same screen replaces the last without announcing it again.
	Screen string
	// Title is spoken on a screen change; nil: the first heading's label.
	Title func(lang string) string
	// Announce, if set, is spoken after the title on a screen change:
	// what a person must hear at once (the report's reference number,
	// the ticket's number, that the receipt is printed).
	Announce func(lang string) string
	Nodes    []Node
	// Help and Home are what the Help key and, on a screen without a
	// back node, the Back key do; nil: nothing to do.
	Help, Home func()
	// Modal marks a tree over the screen (the timeout warning): the
	// screen's focus is kept for when it goes.
	Modal bool
}

// title is the tree's title in lang.
func (t *Tree) title(lang string) string {
	if t.Title != nil {
		return t.Title(lang)
	}
	for _, n := range t.Nodes {
		if n.Role == RoleHeading && n.Label != nil {
			return n.Label(lang)
		}
	}
	return ""
}

// start is where the focus goes on a new screen: the first item after
// the title (which was just said), or the first item.
func (t *Tree) start() int {
	if t.Title == nil && len(t.Nodes) > 1 && t.Nodes[0].Role == RoleHeading {
		return 1
	}
	return 0
}
