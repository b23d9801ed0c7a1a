package workshop

// Spec is how a moderator prepared a workshop. It is fixed once the
// workshop opens (the first Phase event): what changes during a workshop
// travels as events.
type Spec struct {
	Title    string `json:"title"`    // at most 120 characters
	Question string `json:"question"` // at most 500 characters
	// Lang is the workshop's language ("de" or "en"); each participant
	// may still switch their own screen.
	Lang string `json:"lang"`
	// Method is MethodSimple, Method1248All or MethodCafe; it chose the
	// phases (DefaultPhases) but the moderator may have changed them.
	Method string      `json:"method"`
	Phases []PhaseSpec `json:"phases"`
	// Dots per voter; 0 means the default, clamp(round(ideas/3), 2, 7),
	// computed when voting opens.
	Dots int `json:"dots"`
	// MaxPerItem is the most dots a voter may put on one item; 0 means
	// no cap beyond Dots.
	MaxPerItem int `json:"max_per_item"`
	// VoteOn is OnIdeas or OnThemes for the first round.
	VoteOn string `json:"vote_on"`
	// Named lets participants sign their ideas with a first name.
	Named bool `json:"named"`
	// Words are held for the moderator: an idea containing one of them
	// (case-insensitive, whole words) is held until restored. At most 200
	// words of at most 40 characters.
	Words []string `json:"words,omitempty"`
	// Terminals take part (their IDs); at most 64.
	Terminals []string `json:"terminals,omitempty"`
	// Phones lets participants join from their own phones.
	Phones bool `json:"phones"`
	// Tables is the number of café tables (MethodCafe), 2..12.
	Tables int `json:"tables,omitempty"`
	// MaxIdeaChars caps an idea's length (at most MaxIdeaText); 0 means
	// MaxIdeaText.
	MaxIdeaChars int `json:"max_idea_chars,omitempty"`
}

// Methods.
const (
	MethodSimple  = "simple"
	Method1248All = "1-2-4-all"
	MethodCafe    = "cafe"
)

// PhaseSpec is one phase of the plan.
type PhaseSpec struct {
	Kind    string `json:"kind"`              // PhaseIdeas, PhaseCluster, PhaseVote or PhaseResults
	Title   string `json:"title"`             // shown to everyone; at most 80 characters
	Minutes int    `json:"minutes,omitempty"` // the timer when the phase opens; 0 for none; at most 240
	// Round is the café round (MethodCafe ideas phases), from 1.
	Round int `json:"round,omitempty"`
}

// Phase kinds.
const (
	PhaseIdeas   = "ideas"
	PhaseCluster = "cluster"
	PhaseVote    = "vote"
	PhaseResults = "results"
)
