package ui

import (
	"image/color"
	"sort"
	"strings"
	"unicode"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/quartierhub/quartierhub/kiosk/a11y"
)

// The screen reader's side of the window (kiosk/a11y has the model).
//
// Every screen's accessibility tree is built by the same calls that
// build its widgets: u.button, u.toggle, u.newChoice, u.tile, u.heading,
// u.subheading, u.wrapped, u.notice, the keyboard's and the PIN pad's
// keys each register a node as they make their widget (u.hinted adds a
// button's hint, u.fieldNode makes a text field an item); the tree puts
// them in the order a person meets them on the laid-out screen (the
// body top down and left to right, the top bar with help and the
// language button, the bottom bar). render hands the tree to the reader. A
// label in another language than the screen's (speech in a speech-only
// language, the label test) comes from building the same screen once
// more in that language, with nothing shown: the tree cannot drift from
// the screen because there is no second description of it.
//
// Keys come from the window's canvas: an invisible keySink holds Fyne's
// focus (so Tab reaches us rather than Fyne's own focus chain) and
// passes key names to the reader; the canvas's OnTypedKey catches keys
// when nothing holds the focus (a text field tapped takes it until the
// screen is built again). The focus
// ring is a rectangle of our own over the screen, in the theme's focus
// colour (navy on paper, yellow on black: both far above 3:1).

// accNode is a node being built: the a11y.Node without its per-language
// label, and the label as the widget shows it now.
type accNode struct {
	a11y.Node
	live, desc func() string
	// value and withheld: a text field's (a11y.Node.Value, Withheld).
	value, withheld func() string
	hint            func() string
	// group: the screen's body (0), the top bar (1), the bottom bar (2)
	group int
}

// ScreenHelp is the help screen for the screen before it.
const ScreenHelp = "help"

// focusRingWidth and focusRingGap: the ring's stroke, and the room
// between it and what it surrounds (so it meets the background, not
// the control's own fill).
const (
	focusRingWidth = 4
	focusRingGap   = 3
)

// node registers an item of the screen (or of the timeout warning)
// being built.
func (u *UI) node(n accNode) {
	if n.live == nil || strings.TrimSpace(n.live()) == "" {
		return // nothing to say: an empty line, a spacer
	}
	n.group = u.nodeGroup
	if u.buildingWarn {
		u.warnNodes = append(u.warnNodes, n)
		return
	}
	u.nodes = append(u.nodes, n)
}

// textNode registers a label as a text or heading.
func (u *UI) textNode(role a11y.Role, l *widget.Label) {
	u.node(accNode{Node: a11y.Node{Role: role, Target: l}, live: func() string { return l.Text }})
}

// announce sets what the screen being built says right after its
// title (reference numbers, a ticket's number, the receipt).
func (u *UI) announce(parts ...string) {
	u.announced = a11y.Sentences(parts...)
}

// charNames are the catalog keys of the names of characters a code or
// the on-screen keyboard has that a speech engine says nothing for.
var charNames = map[rune]string{
	'-': "a11y.char.hyphen", ',': "a11y.char.comma", '.': "a11y.char.period", '!': "a11y.char.exclamation",
	'?': "a11y.char.question", '@': "a11y.char.at", '/': "a11y.char.slash", '(': "a11y.char.paren_open",
	')': "a11y.char.paren_close", ':': "a11y.char.colon", '\'': "a11y.char.apostrophe", '&': "a11y.char.ampersand",
}

// charName is what r is said as in the screen's language, "" for a
// character without a name here.
func (u *UI) charName(r rune) string {
	if k, ok := charNames[r]; ok {
		return u.tr(k)
	}
	return ""
}

// hinted gives the item just made (a button) a hint, said after its
// role: what it does where its label does not say (key: a11y.hint.*).
func (u *UI) hinted(o fyne.CanvasObject, key string) fyne.CanvasObject {
	list := &u.nodes
	if u.buildingWarn {
		list = &u.warnNodes
	}
	if n := len(*list); n > 0 {
		hint := u.tr(key)
		(*list)[n-1].hint = func() string { return hint }
	}
	return o
}

// fieldNode registers a text field (what the on-screen keyboard
// writes) as an item: its title, then its text and how long it is. The
// text is personal: said only into headphones, else how many characters
// it has.
func (u *UI) fieldNode(title string, e *widget.Entry, max int) {
	runes := func() int { return len([]rune(e.Text)) }
	u.node(accNode{Node: a11y.Node{Role: a11y.RoleField, Target: e}, live: func() string { return title },
		value: func() string {
			if e.Text == "" {
				return ""
			}
			return a11y.Sentences(e.Text, u.tr("a11y.field.count", "n", runes(), "max", max))
		},
		withheld: func() string { return u.tr("a11y.field.typed", "n", runes()) }})
}

// spell is a code (a reference number) as it is said: character by
// character (a11y.Spell).
func (u *UI) spell(code string) string { return a11y.Spell(code, u.charName) }

// built is a screen's items built again in another language.
type built struct {
	labels, descs, values, withheld, hints []string
	announce                               string
}

// buildIn builds the screen shown (or the timeout warning) again in
// lang and returns its items' labels; nothing of it is shown, and the
// window's state is as before.
func (u *UI) buildIn(lang string, warning bool) built {
	saved := u.saveBuild()
	defer u.restoreBuild(saved)
	u.langOverride = lang
	u.nodes, u.warnNodes, u.announced = nil, nil, ""
	list := &u.nodes
	if warning {
		u.buildingWarn = true
		u.warnBox(u.warnSecs)
		list = &u.warnNodes
	} else if u.build != nil {
		u.frame(u.build())
	}
	var b built
	for _, n := range *list {
		b.labels = append(b.labels, n.live())
		d := ""
		if n.desc != nil {
			d = n.desc()
		}
		b.descs = append(b.descs, d)
		v, w := "", ""
		if n.value != nil {
			v = n.value()
		}
		if n.withheld != nil {
			w = n.withheld()
		}
		b.values, b.withheld = append(b.values, v), append(b.withheld, w)
		hint := ""
		if n.hint != nil {
			hint = n.hint()
		}
		b.hints = append(b.hints, hint)
	}
	b.announce = u.announced
	return b
}

// buildState is what building a screen sets on the UI, kept while a
// screen is built without being shown (another language's labels, a
// capture painted in software).
type buildState struct {
	clock, timer, warnLabel *widget.Label
	targets, warnTargets    []target
	nodes, warnNodes        []accNode
	announced, subScreen    string
	field                   *widget.Entry
	attractTap              func()
	buildingWarn, helpShown bool
	langOverride            string
	scrolls                 []*container.Scroll
	typing                  *keyboard
}

func (u *UI) saveBuild() buildState {
	return buildState{u.clock, u.ws.timer, u.warnLabel, u.targets, u.warnTargets, u.nodes, u.warnNodes, u.announced, u.subScreen,
		u.first.field, u.attractTap, u.buildingWarn, u.helpShown, u.langOverride, u.scrolls, u.typing}
}

func (u *UI) restoreBuild(s buildState) {
	u.clock, u.ws.timer, u.warnLabel, u.targets, u.warnTargets, u.nodes, u.warnNodes, u.announced, u.subScreen,
		u.first.field, u.attractTap, u.buildingWarn, u.helpShown, u.langOverride, u.scrolls, u.typing =
		s.clock, s.timer, s.warnLabel, s.targets, s.warnTargets, s.nodes, s.warnNodes, s.announced, s.subScreen,
		s.field, s.attractTap, s.buildingWarn, s.helpShown, s.langOverride, s.scrolls, s.typing
}

// tree turns the nodes just built into the reader's tree. Labels in the
// screen's language are read from the widgets when spoken (a keyboard
// key's letter changes with shift, the warning's seconds count down);
// others build the screen again, once per language.
func (u *UI) tree(name string, nodes []accNode, warning bool) a11y.Tree {
	shown := u.lang()
	order := u.visualOrder(nodes)
	cache := map[string]*built{}
	in := func(lang string) *built {
		b, ok := cache[lang]
		if !ok {
			bb := u.buildIn(lang, warning)
			if len(bb.labels) != len(nodes) { // cannot happen: same state, same screen
				u.log.Warn("a11y: the screen built in another language has other items", "screen", name, "lang", lang)
			}
			b = &bb
			cache[lang] = b
		}
		return b
	}
	t := a11y.Tree{Screen: name, Modal: warning}
	// inLang is a text of item i in a language: read from the widgets in
	// the screen's, else from the screen built in lang.
	inLang := func(i int, shownText func() string, of func(*built) []string) func(string) string {
		if shownText == nil {
			return nil
		}
		return func(lang string) string {
			if lang != shown {
				if b := in(lang); len(of(b)) == len(nodes) {
					return of(b)[i]
				}
			}
			return shownText()
		}
	}
	for _, i := range order {
		an := nodes[i]
		n := an.Node
		live, desc := an.live, an.desc
		n.Label = func(lang string) string {
			if lang != shown {
				if b := in(lang); i < len(b.labels) && len(b.labels) == len(nodes) {
					return b.labels[i]
				}
			}
			return live()
		}
		if desc != nil {
			n.Description = func(lang string) string {
				if lang != shown {
					if b := in(lang); len(b.descs) == len(nodes) {
						return b.descs[i]
					}
				}
				return desc()
			}
		}
		n.Value = inLang(i, an.value, func(b *built) []string { return b.values })
		n.Withheld = inLang(i, an.withheld, func(b *built) []string { return b.withheld })
		n.Hint = inLang(i, an.hint, func(b *built) []string { return b.hints })
		t.Nodes = append(t.Nodes, n)
	}
	if !warning {
		if ann := u.announced; ann != "" {
			t.Announce = func(lang string) string {
				if lang != shown {
					return in(lang).announce
				}
				return ann
			}
		}
		if u.helpShown {
			t.Help = u.showHelp
		}
		if u.sess.Current() != nil && u.name != ScreenHome && !participantScreen(u.name) {
			t.Home = u.act(u.showHome)
		}
	}
	return t
}

// visualOrder is the order a person meets the items in: the body, then
// the top bar, then the bottom bar, each from the top down and left to
// right as laid out (screens build their parts in whatever order their
// containers need).
func (u *UI) visualOrder(nodes []accNode) []int {
	d := u.app.Driver()
	type place struct {
		i, group int
		y, x     float32
	}
	ps := make([]place, len(nodes))
	for i, n := range nodes {
		ps[i] = place{i: i, group: n.group}
		if o, ok := n.Target.(fyne.CanvasObject); ok {
			at := d.AbsolutePositionForObject(o)
			ps[i].y, ps[i].x = float32(int(at.Y/8)), at.X // a row: within 8 px
		}
	}
	sort.SliceStable(ps, func(a, b int) bool {
		pa, pb := ps[a], ps[b]
		if pa.group != pb.group {
			return pa.group < pb.group
		}
		if pa.y != pb.y {
			return pa.y < pb.y
		}
		return pa.x < pb.x
	})
	out := make([]int, len(ps))
	for k, p := range ps {
		out[k] = p.i
	}
	return out
}

// speechLang is the language of speech: the session's (or the
// terminal's default) even where the screen shows another (a
// speech-only language).
func (u *UI) speechLang() string {
	if s := u.sess.Current(); s != nil {
		return s.Language
	}
	return u.sess.DefaultLanguage()
}

// screenLang is the language the screen shows for the speech language
// l: a catalog language the window cannot draw (Arabic: Fyne lays out
// no right-to-left text and does not shape Arabic) names the language
// its screen shows instead in its "language.screen" key.
func (u *UI) screenLang(l string) string {
	if !u.speechOnly(l) {
		return l
	}
	v := u.cat.T(l, screenLangKey)
	for _, offered := range u.content.Languages {
		if offered == v {
			return v
		}
	}
	return u.sess.DefaultLanguage() // the named language is not offered here
}

// speechOnly reports whether l is a language the screen does not show.
func (u *UI) speechOnly(l string) bool {
	if !u.cat.HasKey(screenLangKey) {
		return false
	}
	v := u.cat.T(l, screenLangKey)
	return v != "" && v != l && u.cat.Has(v)
}

// screenLangKey names, in each catalog, the language its screen shows:
// itself, or for a speech-only language (Arabic) another (assets'
// package doc). Catalogs without the key show every language themselves.
const screenLangKey = "language.screen"

// ownLanguage marks the language button just made as said in its own
// language (its name, "Українська", in its own voice).
func (u *UI) ownLanguage(l string, chosen bool) {
	if n := len(u.nodes); n > 0 && !u.buildingWarn {
		u.nodes[n-1].Lang = l
		if chosen {
			u.nodes[n-1].State = a11y.Selected
		}
	}
}

// handTree gives the reader the screen just rendered and draws the
// focus ring.
func (u *UI) handTree() {
	u.rd.SetLanguage(u.speechLang())
	name := u.name
	if u.subScreen != "" {
		name += "/" + u.subScreen
	}
	u.rd.SetTree(u.tree(name, u.nodes, false))
	u.placeInScrolls(u.nodes)
	u.drawRing()
}

// speechStarted: speech mode came on (the first key, or headphones).
// Timeouts grow; on an attract screen a session starts, as a touch
// would start it.
func (u *UI) speechStarted() {
	u.sess.SetSpeechMode(true)
	if u.sess.Current() == nil && u.attractTap != nil && (u.name == ScreenAttract || u.name == ScreenWorkshop) {
		u.attractTap()
	}
}

// sessionEnded: volume and rate return to the defaults; speech mode
// ends unless headphones are plugged in.
func (u *UI) sessionEnded() {
	u.easy = false
	u.sess.SetSpeechMode(u.rd.EndSession())
}

// Headphones tells the window that headphones were plugged in or out
// (kiosk/speech's jack watcher, through kiosk/cmd; call it on the Fyne
// goroutine, with fyne.Do). Plugging them in starts speech mode on any
// screen.
func (u *UI) Headphones(plugged bool) {
	u.rd.SetHeadphones(plugged)
	u.drawRing()
}

// Reader is the window's screen reader (for tests and wiring).
func (u *UI) Reader() *a11y.Reader { return u.rd }

// Key handles a key press by name (a fyne.KeyName, or a keypad key as
// keyName writes it), as the window's canvas does: for keys from
// elsewhere than the window (on the Fyne goroutine).
func (u *UI) Key(name string) bool {
	if u.name == ScreenFirstRun || u.dark {
		return false // a technician types there; a dark screen wakes by touch
	}
	if k := u.typing; k != nil && typingKeys[name] {
		if name == string(fyne.KeyBackspace) {
			u.sess.Touch()
			k.backspace()
		}
		return true // the character comes as a rune (typedRune)
	}
	was := u.rd.On()
	if !u.rd.Key(name) {
		return false
	}
	if was {
		u.sess.Touch() // a key is activity, as a tap is
	}
	u.drawRing()
	return true
}

// typingKeys are keys a keyboard types with while a screen has a text
// to write (the on-screen keyboard): there Backspace deletes and + - * /
// are characters; Escape is back, and a numeric keypad's keys keep
// their meaning.
var typingKeys = map[string]bool{"BackSpace": true, "+": true, "-": true, "*": true, "/": true}

// typedRune types a character from a hardware keyboard into the text of
// the screen shown, as its on-screen key would; it is said only into
// headphones (what a person writes may be personal).
func (u *UI) typedRune(r rune) {
	if u.swallowRune { // the character of a numeric keypad's key
		u.swallowRune = false
		return
	}
	k := u.typing
	if k == nil || !unicode.IsPrint(r) || u.name == ScreenFirstRun || u.dark {
		return
	}
	u.sess.Touch()
	k.typed(string(r))
	if u.rd.Headphones() {
		said := string(r)
		if key, ok := charNames[r]; ok {
			said = u.rd.T(key) // a punctuation mark alone is silent in espeak-ng
		}
		u.rd.SayPrivate(said)
	}
}

// keypadKeys are the X11 key codes of a numeric keypad's keys, which
// Fyne names like the main row's ("8", "+").
var keypadKeys = map[int]string{
	79: "KP_7", 80: "KP_8", 81: "KP_9", 82: "KP_Subtract", 83: "KP_4", 84: "KP_5", 85: "KP_6",
	86: "KP_Add", 87: "KP_1", 88: "KP_2", 89: "KP_3", 90: "KP_0", 63: "KP_Multiply", 106: "KP_Divide",
}

// keyName is the name the reader's key map uses for a key event.
func (u *UI) keyName(ev *fyne.KeyEvent) string {
	u.swallowRune = false
	if k, ok := keypadKeys[ev.Physical.ScanCode]; ok && ev.Name != fyne.KeyEnter {
		u.swallowRune = true // its character follows: not typed
		return k
	}
	if ev.Name == fyne.KeyTab && u.shiftHeld {
		return "Shift+Tab"
	}
	return string(ev.Name)
}

func (u *UI) typedKey(ev *fyne.KeyEvent) { u.Key(u.keyName(ev)) }

// keySink holds the canvas's focus so every key reaches the reader
// (Tab too: Fyne would otherwise move its own focus between buttons).
// It draws nothing and takes no taps.
type keySink struct {
	widget.BaseWidget
	u *UI
}

func newKeySink(u *UI) *keySink {
	s := &keySink{u: u}
	s.ExtendBaseWidget(s)
	return s
}

func (s *keySink) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(canvas.NewRectangle(color.Transparent))
}
func (*keySink) FocusGained()                {}
func (*keySink) FocusLost()                  {}
func (s *keySink) TypedRune(r rune)          { s.u.typedRune(r) }
func (*keySink) AcceptsTab() bool            { return true }
func (s *keySink) TypedKey(e *fyne.KeyEvent) { s.u.typedKey(e) }
func (s *keySink) KeyDown(e *fyne.KeyEvent) {
	if e.Name == desktop.KeyShiftLeft || e.Name == desktop.KeyShiftRight {
		s.u.shiftHeld = true
	}
}
func (s *keySink) KeyUp(e *fyne.KeyEvent) {
	if e.Name == desktop.KeyShiftLeft || e.Name == desktop.KeyShiftRight {
		s.u.shiftHeld = false
	}
}

// access is the focus ring's layer and the key sink over a screen or
// over the timeout warning (an overlay has its own focus).
type access struct {
	ring  *canvas.Rectangle
	layer *fyne.Container
	sink  *keySink
}

func (u *UI) newAccess() *access {
	a := &access{ring: canvas.NewRectangle(color.Transparent), sink: newKeySink(u)}
	a.ring.StrokeWidth = focusRingWidth
	a.ring.CornerRadius = theme.Size(theme.SizeNameInputRadius)
	a.ring.Hide()
	a.layer = container.NewWithoutLayout(a.ring)
	return a
}

// withAccess puts the focus ring's layer and the key sink over the
// screen.
func (u *UI) withAccess(o fyne.CanvasObject) fyne.CanvasObject {
	u.acc = u.newAccess()
	// The sink has no size: the GLFW driver gives a click to the topmost
	// Tappable *or Focusable* object under it, so a sink over the whole
	// screen swallowed every tap. Focus needs no area.
	return container.NewStack(o, u.acc.layer, container.NewWithoutLayout(u.acc.sink))
}

// current is the access layer keys and the ring are on now.
func (u *UI) current() *access {
	if u.warn != nil && u.warnAcc != nil {
		return u.warnAcc
	}
	return u.acc
}

// focusKeys gives the canvas's focus to the key sink and catches keys
// that reach the canvas itself.
func (u *UI) focusKeys() {
	c := u.win.Canvas()
	c.SetOnTypedKey(u.typedKey)
	if a := u.current(); a != nil && u.name != ScreenFirstRun {
		c.Focus(a.sink)
	}
}

// drawRing draws the focus ring around the focused item while keys are
// in use (speech mode), or hides it.
func (u *UI) drawRing() {
	for _, a := range []*access{u.acc, u.warnAcc} {
		if a != nil {
			a.ring.Hide()
		}
	}
	a := u.current()
	if a == nil {
		return
	}
	n, _, ok := u.rd.Focused()
	target, isObj := n.Target.(fyne.CanvasObject)
	if !u.rd.On() || !ok || !isObj || !target.Visible() {
		return
	}
	a.ring.FillColor = color.Transparent
	a.ring.StrokeColor = theme.Color(theme.ColorNameFocus)
	d := u.app.Driver()
	abs := d.AbsolutePositionForObject(target)
	if y, ok := u.scrollTo(target, focusRingGap+focusRingWidth); ok {
		abs.Y = y
	}
	at := abs.Subtract(d.AbsolutePositionForObject(a.layer))
	out := float32(focusRingGap + focusRingWidth)
	a.ring.Move(at.SubtractXY(out, out))
	a.ring.Resize(target.Size().AddWidthHeight(2*out, 2*out))
	a.ring.Show()
	a.ring.Refresh()
}

// vscroll is a vertical scroll the focus ring scrolls to its item.
func (u *UI) vscroll(o fyne.CanvasObject) *container.Scroll {
	s := container.NewVScroll(o)
	u.scrolls = append(u.scrolls, s)
	return s
}

// inScroll is where an item lies in a scroll's content.
type inScroll struct {
	s   *container.Scroll
	top float32 // the item's top below the content's
}

// placeInScrolls notes, for every item of the screen just laid out, the
// scrolls holding it (innermost first) and where in their content: the
// driver's position of an object inside a scroll does not always follow
// the scroll, its content's does, and an item's place in the content
// does not change with scrolling.
func (u *UI) placeInScrolls(nodes []accNode) {
	d := u.app.Driver()
	u.placed = map[fyne.CanvasObject][]inScroll{}
	depth := map[*container.Scroll]int{} // how many of the screen's scrolls hold each
	for _, s := range u.scrolls {
		for _, outer := range u.scrolls {
			if outer != s && holds(outer.Content, s) {
				depth[s]++
			}
		}
	}
	for _, n := range nodes {
		o, ok := n.Target.(fyne.CanvasObject)
		if !ok {
			continue
		}
		at := d.AbsolutePositionForObject(o)
		var in []inScroll
		for _, s := range u.scrolls {
			c, cs := d.AbsolutePositionForObject(s.Content), s.Content.Size()
			if s.Visible() && at.X >= c.X && at.Y >= c.Y && at.X < c.X+cs.Width && at.Y < c.Y+cs.Height { // its top left corner
				in = append(in, inScroll{s, at.Y - c.Y})
			}
		}
		// Innermost first: the scroll inside another has more around it.
		// (Not the smaller content: an inner list that scrolls has more
		// content than the outer body that holds it.)
		sort.SliceStable(in, func(a, b int) bool { return depth[in[a].s] > depth[in[b].s] })
		u.placed[o] = in
	}
}

// holds reports whether o is, or has somewhere inside it, target
// (through containers, scrolls and theme overrides: what screens put
// scrolls in).
func holds(o, target fyne.CanvasObject) bool {
	if o == target {
		return true
	}
	switch x := o.(type) {
	case *fyne.Container:
		for _, c := range x.Objects {
			if holds(c, target) {
				return true
			}
		}
	case *container.Scroll:
		return holds(x.Content, target)
	case *container.ThemeOverride:
		return holds(x.Content, target)
	}
	return false
}

// scrollTo scrolls the scrolls holding o, innermost first, so all of o
// and margin around it are in view where they can (a keyboard user on a
// small screen follows the focus ring), and returns o's top in canvas
// coordinates, or false if o is in no scroll.
func (u *UI) scrollTo(o fyne.CanvasObject, margin float32) (float32, bool) {
	in := u.placed[o]
	if len(in) == 0 {
		return 0, false
	}
	d := u.app.Driver()
	h := o.Size().Height
	for _, p := range in {
		s := p.s
		view := d.AbsolutePositionForObject(s).Y
		y := d.AbsolutePositionForObject(s.Content).Y + p.top
		top, bottom := y-margin-view, y+h+margin-view // in the scroll's viewport
		off := s.Offset.Y
		switch {
		case top < 0:
			off += top
		case bottom > s.Size().Height:
			off += min(bottom-s.Size().Height, top) // its top stays in view
		default:
			continue
		}
		s.ScrollToOffset(fyne.NewPos(s.Offset.X, max(off, 0)))
	}
	return d.AbsolutePositionForObject(in[0].s.Content).Y + in[0].top, true
}

// FocusRing is the focus ring's rectangle in canvas coordinates, and
// whether it is shown (for tests).
func (u *UI) FocusRing() (fyne.Position, fyne.Size, bool) {
	a := u.current()
	if a == nil || !a.ring.Visible() {
		return fyne.Position{}, fyne.Size{}, false
	}
	return u.app.Driver().AbsolutePositionForObject(a.ring), a.ring.Size(), true
}

// helpButton is the same in every screen's top bar.
func (u *UI) helpButton() fyne.CanvasObject {
	u.helpShown = true
	return u.button(u.tr("a11y.help"), theme.QuestionIcon(), widget.MediumImportance, u.showHelp)
}

// helpKey is the help text for the screen shown: help.SCREEN, else the
// general help, else the reader's "no help here".
func (u *UI) helpKey(screen string) string {
	for _, k := range []string{"help." + screen, "help.general"} {
		if u.cat.HasKey(k) {
			return k
		}
	}
	return "a11y.no_help"
}

// showHelp shows help for the screen shown; back returns to it. On the
// attract screen it starts a session, as every button there does.
func (u *UI) showHelp() {
	if u.name == ScreenHelp {
		return
	}
	key := u.helpKey(u.name) // the attract screen's own help, though a session starts
	if u.sess.Current() == nil {
		u.sess.Start("")
		u.showHome()
	}
	name, build := u.name, u.build
	u.show(ScreenHelp, func() fyne.CanvasObject {
		box := container.NewVBox(u.heading(u.tr("a11y.help")), u.wrapped(u.tr(key)))
		back := u.button(u.tr("action.back"), theme.NavigateBackIcon(), widget.HighImportance, func() { u.show(name, build) })
		return container.NewBorder(nil, container.NewGridWithColumns(2, back), nil, nil, u.vscroll(box))
	})
}
