package a11y

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/quartierhub/quartierhub/internal/i18n"
)

// Command is what a key does.
type Command int

// The EZ Access commands.
const (
	CmdPrevious Command = iota + 1
	CmdNext
	CmdEnter
	CmdBack
	CmdHelp
	CmdRepeat
	CmdVolumeUp
	CmdVolumeDown
	CmdRateUp
	CmdRateDown
)

// KeyMap maps key names (Fyne's fyne.KeyName values; the window writes
// a numeric keypad's digit keys as "KP_8", a Shift+Tab as "Shift+Tab")
// to commands. The package doc lists it for people.
var KeyMap = map[string]Command{
	"Up": CmdPrevious, "Left": CmdPrevious, "Shift+Tab": CmdPrevious, "KP_8": CmdPrevious, "KP_4": CmdPrevious,
	"Down": CmdNext, "Right": CmdNext, "Tab": CmdNext, "KP_2": CmdNext, "KP_6": CmdNext,
	"Return": CmdEnter, "KP_Enter": CmdEnter, "KP_5": CmdEnter,
	"Escape": CmdBack, "BackSpace": CmdBack,
	"F1": CmdHelp, "KP_Divide": CmdHelp, "/": CmdHelp,
	"F2": CmdRepeat, "KP_Multiply": CmdRepeat, "*": CmdRepeat,
	"KP_Add": CmdVolumeUp, "+": CmdVolumeUp,
	"KP_Subtract": CmdVolumeDown, "-": CmdVolumeDown,
	"Prior": CmdRateUp, "KP_9": CmdRateUp,
	"Next": CmdRateDown, "KP_3": CmdRateDown,
}

// Speech settings: a session starts at the defaults; the keys step them
// within the bounds.
const (
	DefaultRate   = 175 // words per minute (espeak-ng's default)
	MinRate       = 100
	MaxRate       = 350
	RateStep      = 25
	DefaultVolume = 100 // per cent
	MinVolume     = 20
	MaxVolume     = 200
	VolumeStep    = 20
)

// Opts configures a Reader.
type Opts struct {
	// Speaker says the utterances; nil: a reader that keeps its state
	// and says nothing (a terminal without speech).
	Speaker Speaker
	// Catalog has the reader's own words (a11y.*) in every language.
	Catalog *i18n.Catalog
	// Now stamps key presses (LastKey); default time.Now.
	Now func() time.Time
	// OnStart runs when speech mode turns on, before the screen is
	// announced (the window starts a session on its attract screen).
	OnStart func()
}

// Reader is the screen reader's state: speech mode, the screen's tree
// and the focus in it, the session's volume and rate, the last thing
// said. It is not safe for concurrent use: the window calls it on its
// UI goroutine.
type Reader struct {
	opts       Opts
	on         bool
	headphones bool
	lang       string

	tree  Tree
	focus int
	// base is the screen under a modal tree, and its focus.
	base      *Tree
	baseFocus int
	// changed is set by SetTree: an action that brought a new tree
	// was answered by it. activating is set while an action runs.
	changed, activating bool

	rate, volume int
	last         Utterance
	welcome      bool
	// ended is said before the next screen when a session ended with
	// speech mode kept on (headphones): that screen's speech would
	// interrupt it if said alone.
	ended   string
	lastKey time.Time
}

// NewReader returns a reader with speech mode off.
func NewReader(o Opts) *Reader {
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Reader{opts: o, rate: DefaultRate, volume: DefaultVolume, lang: "de"}
}

// On reports whether speech mode is on.
func (r *Reader) On() bool { return r.on }

// SetLanguage sets the language speech is in.
func (r *Reader) SetLanguage(lang string) {
	if lang != "" {
		r.lang = lang
	}
}

// Language is the speech language.
func (r *Reader) Language() string { return r.lang }

// SetHeadphones says whether headphones are plugged in. Plugging them in
// starts speech mode; unplugging keeps it (a keypad user may go on
// with the loudspeaker) but no private text is said any more.
func (r *Reader) SetHeadphones(in bool) {
	r.headphones = in
	if in {
		r.Start()
	}
}

// Headphones reports whether headphones are plugged in.
func (r *Reader) Headphones() bool { return r.headphones }

// Rate and Volume are the session's speech settings.
func (r *Reader) Rate() int   { return r.rate }
func (r *Reader) Volume() int { return r.volume }

// LastKey is when the last mapped key was pressed (zero if none).
func (r *Reader) LastKey() time.Time { return r.lastKey }

// Start turns speech mode on: a short welcome with the keys, then the
// screen. Nothing happens if it is on.
func (r *Reader) Start() {
	if r.on {
		return
	}
	r.on, r.welcome = true, true
	if r.opts.OnStart != nil {
		r.opts.OnStart() // may bring a new screen, which says the welcome
	}
	if r.welcome {
		r.announce()
	}
}

// Stop turns speech mode off and silences the speaker.
func (r *Reader) Stop() {
	r.on, r.welcome, r.ended = false, false, ""
	if r.opts.Speaker != nil {
		r.opts.Speaker.Stop()
	}
}

// EndSession resets volume and rate; speech mode ends with the session
// unless headphones are plugged in. In speech mode it says that the
// session ended and the entries are deleted (a person who cannot see
// the screen would otherwise be left in silence): at once if speech
// mode ends (the words interrupt whatever was being said), else before
// the next screen. It reports whether speech mode is still on.
func (r *Reader) EndSession() bool {
	ended := ""
	if r.on {
		ended = r.word("a11y.session_ended")
	}
	if !r.headphones {
		r.on, r.welcome, r.ended = false, false, ""
		if ended != "" {
			r.say(Utterance{Text: ended, Lang: r.lang}) // at the session's rate and volume
		} else if r.opts.Speaker != nil {
			r.opts.Speaker.Stop()
		}
	} else {
		r.ended = ended
	}
	r.rate, r.volume = DefaultRate, DefaultVolume
	return r.on
}

// Tree is the tree the focus is in (a modal tree while one is up).
func (r *Reader) Tree() Tree { return r.tree }

// Focused returns the focused node and its index; ok is false for an
// empty tree.
func (r *Reader) Focused() (n Node, i int, ok bool) {
	if r.focus < 0 || r.focus >= len(r.tree.Nodes) {
		return Node{}, -1, false
	}
	return r.tree.Nodes[r.focus], r.focus, true
}

// SetTree gives the reader the screen just built. A tree of another
// screen is announced (in speech mode); the same screen built again (a
// new language, a choice made, new readings) keeps the focus where it
// was, and the focused item is said again only if it changed. A modal
// tree goes over the screen until ClearModal; a screen tree given
// meanwhile replaces the one under it.
func (r *Reader) SetTree(t Tree) {
	r.changed = true
	if r.base != nil && !t.Modal {
		if t.Screen != r.base.Screen {
			r.baseFocus = t.start()
		}
		r.baseFocus = min(r.baseFocus, max(len(t.Nodes)-1, 0))
		r.base = &t
		return
	}
	if t.Modal && r.base == nil {
		cur := r.tree
		r.base, r.baseFocus = &cur, r.focus
		r.tree, r.focus = t, t.start()
		r.announce()
		return
	}
	if t.Screen != r.tree.Screen {
		r.tree, r.focus = t, t.start()
		r.announce()
		return
	}
	old := r.tree
	before, _, had := r.Focused()
	r.tree = t
	r.focus = min(r.focus, max(len(t.Nodes)-1, 0))
	after, _, ok := r.Focused()
	if !ok || !r.on {
		return
	}
	if r.welcome {
		r.announce()
		return
	}
	var parts []string
	private := false
	if !had || before.State != after.State || label(before, r.lang) != label(after, r.lang) {
		text, p := r.nodeText()
		parts, private = append(parts, text), p
	}
	if r.activating { // what the action changed on the screen: "2 dots left"
		parts = append(parts, newTexts(old, t, r.lang)...)
	}
	if len(parts) > 0 {
		r.say(Utterance{Text: Sentences(parts...), Lang: r.lang, Private: private})
	}
}

// maxNewTexts is how many new texts an action's answer says at most.
const maxNewTexts = 3

// newTexts are the texts of t that old did not have (neither private
// nor actionable: what an action changed on the screen).
func newTexts(old, t Tree, lang string) []string {
	had := map[string]bool{}
	for _, n := range old.Nodes {
		had[label(n, lang)] = true
	}
	var out []string
	for _, n := range t.Nodes {
		if n.Action != nil || n.Private || (n.Role != RoleText && n.Role != RoleHeading) {
			continue
		}
		if l := label(n, lang); !had[l] && len(out) < maxNewTexts {
			out = append(out, l)
		}
	}
	return out
}

// ClearModal removes a modal tree: the screen under it comes back with
// its focus, which is said again, after said if given (why the modal
// went: "You have more time again."), so a person knows where they are.
func (r *Reader) ClearModal(said ...string) {
	if r.base == nil {
		return
	}
	r.tree, r.focus = *r.base, r.baseFocus
	r.base = nil
	r.changed = true
	if r.on {
		r.speakNode(said...)
	}
}

// Key handles a key press by name (KeyMap). It reports whether the key
// is one of the reader's. The first key press turns speech mode on and
// does nothing else: a person who cannot see the screen first hears
// where they are and which keys there are.
func (r *Reader) Key(name string) bool {
	cmd, ok := KeyMap[name]
	if !ok {
		return false
	}
	r.lastKey = r.opts.Now()
	if !r.on {
		r.Start()
		return true
	}
	r.Do(cmd)
	return true
}

// Do carries out a command.
func (r *Reader) Do(cmd Command) {
	switch cmd {
	case CmdPrevious, CmdNext:
		if len(r.tree.Nodes) == 0 {
			r.sayKey("a11y.empty")
			return
		}
		step := 1
		if cmd == CmdPrevious {
			step = -1
		}
		n := len(r.tree.Nodes)
		next := r.focus + step
		wrapped := next < 0 || next >= n
		r.focus = (next + n) % n
		if wrapped {
			r.speakNode(r.word("a11y.wrapped"))
			return
		}
		r.speakNode()
	case CmdEnter:
		n, _, ok := r.Focused()
		if !ok {
			r.sayKey("a11y.empty")
			return
		}
		if !n.Actionable() {
			r.speakNode()
			return
		}
		r.activate(n)
	case CmdBack:
		for _, n := range r.tree.Nodes {
			if n.Back && n.Actionable() {
				r.activate(n)
				return
			}
		}
		if r.tree.Home != nil {
			r.changed = false
			r.tree.Home()
			return
		}
		r.sayKey("a11y.no_back")
	case CmdHelp:
		if r.tree.Help == nil {
			r.sayKey("a11y.no_help")
			return
		}
		r.changed = false
		r.tree.Help()
	case CmdRepeat:
		if r.last.Text == "" {
			r.announce()
			return
		}
		r.last.Rate, r.last.Volume = r.rate, r.volume
		r.say(r.last)
	case CmdVolumeUp, CmdVolumeDown:
		step := VolumeStep
		if cmd == CmdVolumeDown {
			step = -step
		}
		r.volume = max(MinVolume, min(MaxVolume, r.volume+step))
		r.sayKey("a11y.volume", "n", r.volume)
	case CmdRateUp, CmdRateDown:
		step := RateStep
		if cmd == CmdRateDown {
			step = -step
		}
		r.rate = max(MinRate, min(MaxRate, r.rate+step))
		r.sayKey("a11y.rate", "n", r.rate*100/DefaultRate)
	}
}

// activate runs a node's action as a tap would. If the action brought
// no new tree (a key typed, a toggle without a new screen), the node is
// said again: a key's letter, a toggle's new state.
func (r *Reader) activate(n Node) {
	r.changed, r.activating = false, true
	defer func() { r.activating = false }()
	n.Action()
	if !r.changed && r.on {
		r.speakNode()
	}
}

// Say says text in the speech language, in speech mode only (errors,
// messages a screen shows without a new tree).
func (r *Reader) Say(text string) {
	if r.on {
		r.say(Utterance{Text: text, Lang: r.lang})
	}
}

// SayPrivate says text into the headphones only (what a person types),
// in speech mode.
func (r *Reader) SayPrivate(text string) {
	if r.on && r.headphones {
		r.say(Utterance{Text: text, Lang: r.lang, Private: true})
	}
}

// Alert says text even outside speech mode (the timeout warning is
// audible to everyone).
func (r *Reader) Alert(text string) { r.say(Utterance{Text: text, Lang: r.lang}) }

// T is the reader's word for key in the speech language.
func (r *Reader) T(key string, args ...any) string { return r.word(key, args...) }

func (r *Reader) word(key string, args ...any) string {
	if r.opts.Catalog == nil {
		return key
	}
	return r.opts.Catalog.T(r.lang, key, args...)
}

func (r *Reader) sayKey(key string, args ...any) {
	if r.on {
		r.say(Utterance{Text: r.word(key, args...), Lang: r.lang})
	}
}

// announce says the screen: the welcome once after speech mode started,
// the title and how many items it has, what it announces, then the
// focused item.
func (r *Reader) announce() {
	if !r.on {
		return
	}
	var parts []string
	if r.ended != "" {
		parts = append(parts, r.ended)
		r.ended = ""
	}
	if r.welcome {
		parts = append(parts, r.word("a11y.welcome"))
		r.welcome = false
	}
	if t := r.tree.title(r.lang); t != "" {
		parts = append(parts, t)
	}
	parts = append(parts, r.word("a11y.count", "n", len(r.tree.Nodes)))
	announced := ""
	if r.tree.Announce != nil {
		if announced = r.tree.Announce(r.lang); announced != "" {
			parts = append(parts, announced)
		}
	}
	text, private := r.nodeText()
	// The focused item is not said twice when the announcement has it
	// (the thanks screen's reference number, its first item).
	if text != "" && !(announced != "" && !private && strings.Contains(announced, text)) {
		parts = append(parts, text)
	}
	r.say(Utterance{Text: Sentences(parts...), Lang: r.lang, Private: private})
}

// speakNode says the focused item, after prefix words if any.
func (r *Reader) speakNode(prefix ...string) {
	if n, _, ok := r.Focused(); ok && n.Lang != "" && n.Lang != r.lang {
		r.say(Utterance{Text: label(n, n.Lang), Lang: n.Lang}) // one voice an utterance
		return
	}
	text, private := r.nodeText()
	r.say(Utterance{Text: Sentences(append(prefix, text)...), Lang: r.lang, Private: private})
}

// nodeText is what the focused item is said as: label, role, states,
// description. Private labels are said only into headphones; otherwise
// a word says why they are not.
func (r *Reader) nodeText() (string, bool) {
	n, _, ok := r.Focused()
	if !ok {
		return "", false
	}
	l := label(n, r.lang)
	private := false
	if n.Private {
		if r.headphones {
			private = true
		} else {
			l = r.word("a11y.private")
		}
	}
	parts := []string{l}
	// A letter key is said as its letter alone: "key" after each letter
	// would double the time to type.
	if w := n.Role.word(); w != "" && (n.Role != RoleKey || utf8.RuneCountInString(l) > 1) {
		parts = append(parts, r.word(w))
	}
	switch {
	case n.State&Selected != 0:
		parts = append(parts, r.word("a11y.state.selected"))
	case n.Role == RoleToggle && n.State&On != 0:
		parts = append(parts, r.word("a11y.state.on"))
	case n.Role == RoleToggle:
		parts = append(parts, r.word("a11y.state.off"))
	}
	if n.State&Disabled != 0 {
		parts = append(parts, r.word("a11y.state.disabled"))
	}
	if n.Hint != nil {
		parts = append(parts, n.Hint(r.lang))
	}
	if n.Value != nil {
		switch v := n.Value(r.lang); {
		case v == "":
			parts = append(parts, r.word("a11y.field.empty"))
		case n.Withheld != nil && !r.headphones:
			parts = append(parts, n.Withheld(r.lang))
		default:
			parts = append(parts, v)
			private = private || n.Withheld != nil
		}
	}
	sep := ", "
	if last, _ := utf8.DecodeLastRuneInString(l); strings.ContainsRune(".!?:", last) {
		sep = " " // "3 dots left. Heading", not "left., heading"
	}
	text := strings.Join(parts, sep)
	if n.Description != nil {
		text = Sentences(text, n.Description(r.lang))
	}
	return text, private
}

func label(n Node, lang string) string {
	if n.Label == nil {
		return ""
	}
	return n.Label(lang)
}

func (r *Reader) say(u Utterance) {
	if u.Rate == 0 {
		u.Rate = r.rate
	}
	if u.Volume == 0 {
		u.Volume = r.volume
	}
	r.last = u
	if r.opts.Speaker != nil {
		r.opts.Speaker.Say(u)
	}
}

// Sentences joins texts as sentences: each ends with a full stop unless
// it ends with punctuation already; empty ones are left out.
func Sentences(texts ...string) string {
	var b strings.Builder
	for _, t := range texts {
		t = strings.TrimSpace(t)
		if t == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(t)
		if last, _ := utf8.DecodeLastRuneInString(t); !unicode.IsPunct(last) {
			b.WriteByte('.')
		}
	}
	return b.String()
}
