package ui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/quartierhub/quartierhub/kiosk/a11y"
)

// MinTouch is the smallest side of anything a resident taps, in
// device-independent pixels (at least 48 × 48, per EN 301 549 guidance;
// we use more because many residents tap imprecisely).
const MinTouch = 64

// minSize makes its single child at least w × h.
type minSize struct{ w, h float32 }

func (m minSize) MinSize(objs []fyne.CanvasObject) fyne.Size {
	s := fyne.NewSize(m.w, m.h)
	for _, o := range objs {
		s = s.Max(o.MinSize())
	}
	return s
}

func (m minSize) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	for _, o := range objs {
		o.Move(fyne.NewPos(0, 0))
		o.Resize(size)
	}
}

// touch wraps a tappable so it is never smaller than MinTouch.
func touch(o fyne.CanvasObject) fyne.CanvasObject {
	return container.New(minSize{MinTouch, MinTouch}, o)
}

// button is a large button; every tap counts as activity. Enter on its
// node in the screen reader is the same tap. A back arrow makes it the
// screen's way back (the Back key).
func (u *UI) button(label string, icon fyne.Resource, imp widget.Importance, tapped func()) fyne.CanvasObject {
	return u.buttonAs(a11y.RoleButton, 0, label, icon, imp, tapped)
}

func (u *UI) buttonAs(role a11y.Role, state a11y.State, label string, icon fyne.Resource, imp widget.Importance, tapped func()) fyne.CanvasObject {
	b := widget.NewButtonWithIcon(label, icon, u.act(tapped))
	b.Importance = imp
	u.addTarget(b, func() string { return b.Text })
	u.node(accNode{Node: a11y.Node{Role: role, State: state, Action: b.OnTapped, Back: icon == theme.NavigateBackIcon(), Target: b},
		live: func() string { return b.Text }})
	return touch(b)
}

// disabledButton is a button that cannot be used now; why says why, in
// words, next to it.
func (u *UI) disabledButton(label string, icon fyne.Resource, why string) fyne.CanvasObject {
	return container.NewVBox(u.inactiveButton(label, icon), u.wrapped(why))
}

// inactiveButton is a button that cannot be used now (said as such).
func (u *UI) inactiveButton(label string, icon fyne.Resource) fyne.CanvasObject {
	b := widget.NewButtonWithIcon(label, icon, nil)
	b.Disable()
	u.node(accNode{Node: a11y.Node{Role: a11y.RoleButton, State: a11y.Disabled, Target: b}, live: func() string { return b.Text }})
	return touch(b)
}

func (u *UI) heading(s string) *widget.Label {
	l := widget.NewLabel(s)
	l.SizeName = theme.SizeNameHeadingText
	l.TextStyle.Bold = true
	l.Wrapping = fyne.TextWrapWord
	u.textNode(a11y.RoleHeading, l)
	return l
}

func (u *UI) subheading(s string) *widget.Label {
	l := widget.NewLabel(s)
	l.SizeName = theme.SizeNameSubHeadingText
	l.TextStyle.Bold = true
	l.Wrapping = fyne.TextWrapWord
	u.textNode(a11y.RoleHeading, l)
	return l
}

func (u *UI) wrapped(s string) *widget.Label {
	l := plainWrapped(s)
	u.textNode(a11y.RoleText, l)
	return l
}

// plainWrapped is a wrapped label the screen reader does not read by
// itself (its text is part of another item's).
func plainWrapped(s string) *widget.Label {
	l := widget.NewLabel(s)
	l.Wrapping = fyne.TextWrapWord
	return l
}

// notice is a message with an icon (so it is not told by colour alone).
func (u *UI) notice(icon fyne.Resource, s string) fyne.CanvasObject {
	img := widget.NewIcon(icon)
	return container.NewBorder(nil, nil, container.New(minSize{40, 40}, img), nil, u.wrapped(s))
}

// tile is a home screen service: a large button with a title and a line
// of explanation.
type tile struct {
	widget.BaseWidget
	Title, Subtitle string
	icon            fyne.Resource
	onTap           func()
	disabled        bool
	// choice: one answer among several (a category, a place, a survey
	// option), its label wrapping where it is long; selected shows it
	// chosen (filled, and by its ticked icon).
	choice, selected bool
}

// newChoice is an answer to choose: as wide as its place, its label
// wrapped if it must (long German words on a small screen), at least
// MinTouch high.
func (u *UI) newChoice(label string, icon fyne.Resource, selected bool, tapped func()) *tile {
	t := &tile{Title: label, icon: icon, onTap: u.act(tapped), choice: true, selected: selected}
	t.ExtendBaseWidget(t)
	u.addTarget(t, func() string { return t.Title })
	var state a11y.State
	if selected {
		state = a11y.Selected
	}
	u.node(accNode{Node: a11y.Node{Role: a11y.RoleChoice, State: state, Action: func() { t.Tapped(nil) }, Target: t},
		live: func() string { return t.Title }})
	return t
}

// tile is a home screen service (disabled: it cannot be used now, and
// its subtitle says why).
func (u *UI) tile(title, sub string, icon fyne.Resource, disabled bool, tapped func()) *tile {
	t := &tile{Title: title, Subtitle: sub, icon: icon, onTap: u.act(tapped), disabled: disabled}
	t.ExtendBaseWidget(t)
	u.addTarget(t, func() string { return t.Title })
	var state a11y.State
	if disabled {
		state = a11y.Disabled
	}
	u.node(accNode{Node: a11y.Node{Role: a11y.RoleButton, State: state, Action: func() { t.Tapped(nil) }, Target: t},
		live: func() string { return t.Title }, desc: func() string { return t.Subtitle }})
	return t
}

// Tapped lets tests (and the screen reader of the future) tap the tile.
func (t *tile) Tapped(*fyne.PointEvent) {
	if !t.disabled && t.onTap != nil {
		t.onTap()
	}
}

func (t *tile) CreateRenderer() fyne.WidgetRenderer {
	if t.choice {
		return t.choiceRenderer()
	}
	b := widget.NewButton("", func() { t.Tapped(nil) })
	b.Importance = widget.HighImportance
	if t.disabled {
		b.Disable()
	}
	// Title and explanation as two paragraphs of one text: one text's
	// padding, not two, keeps tiles low enough for three rows on a
	// 1024 × 768 screen.
	text := widget.NewRichText(
		&widget.TextSegment{Text: t.Title, Style: widget.RichTextStyle{ColorName: onPrimary(t.disabled), SizeName: theme.SizeNameSubHeadingText, TextStyle: fyne.TextStyle{Bold: true}}},
		&widget.TextSegment{Text: t.Subtitle, Style: widget.RichTextStyle{ColorName: onPrimary(t.disabled), SizeName: theme.SizeNameText}})
	text.Wrapping = fyne.TextWrapWord
	icon := widget.NewIcon(theme.NewColoredResource(t.icon, onPrimary(t.disabled)))
	body := container.NewBorder(nil, nil, container.New(minSize{56, 56}, icon), nil, text)
	c := container.New(minSize{MinTouch * 3, MinTouch * 2}, b, container.NewPadded(body))
	return widget.NewSimpleRenderer(c)
}

func (t *tile) choiceRenderer() fyne.WidgetRenderer {
	b := widget.NewButton("", func() { t.Tapped(nil) })
	fg := theme.ColorNameForeground
	if t.selected {
		b.Importance, fg = widget.HighImportance, theme.ColorNameForegroundOnPrimary
	}
	text := widget.NewRichText(&widget.TextSegment{Text: t.Title, Style: widget.RichTextStyle{ColorName: fg, SizeName: theme.SizeNameText, TextStyle: fyne.TextStyle{Bold: true}}})
	text.Wrapping = fyne.TextWrapWord
	icon := widget.NewIcon(theme.NewColoredResource(t.icon, fg))
	body := container.NewBorder(nil, nil, container.New(minSize{40, 40}, icon), nil, text)
	return widget.NewSimpleRenderer(container.New(minSize{MinTouch * 2, MinTouch}, b, container.NewPadded(body)))
}

func onPrimary(disabled bool) fyne.ThemeColorName {
	if disabled {
		return theme.ColorNameDisabled
	}
	return theme.ColorNameForegroundOnPrimary
}

// tapLayer turns a whole area into one tap target (the attract screen).
type tapLayer struct {
	widget.BaseWidget
	onTap func()
}

func newTapLayer(f func()) *tapLayer {
	t := &tapLayer{onTap: f}
	t.ExtendBaseWidget(t)
	return t
}

func (t *tapLayer) Tapped(*fyne.PointEvent) { t.onTap() }

func (t *tapLayer) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(canvas.NewRectangle(theme.Color(theme.ColorNameBackground)))
}

// frame puts a screen between the top bar (quarter, sync, help, the
// language button: language.go) and, during a session, the bottom bar
// (home, display modes, finish).
func (u *UI) frame(body fyne.CanvasObject) fyne.CanvasObject {
	if u.name == ScreenOutOfOrder || u.name == ScreenStarting || u.name == ScreenPIN || u.name == ScreenService || u.name == ScreenWorkshopModerator || u.name == ScreenFirstRun || u.name == ScreenEnrolled {
		// In a scroll too: its MinSize is small, so a (not full screen)
		// window never grows to what its wrapped texts ask for before
		// they know their width (the out-of-order screen made a 1280 × 800
		// window 1607 high).
		return u.vscroll(container.NewPadded(body))
	}
	u.nodeGroup = 1
	defer func() { u.nodeGroup = 0 }()
	quarter := widget.NewLabel(u.txt(u.content.Quarter))
	quarter.TextStyle.Bold = true
	quarter.SizeName = theme.SizeNameSubHeadingText
	right := []fyne.CanvasObject{u.helpButton()}
	if u.name != ScreenLanguage { // there it would lead where it is
		right = append(right, u.languageButton())
	}
	s := u.sess.Current()
	top := container.New(&topBar{gap: theme.Padding()}, append([]fyne.CanvasObject{container.NewHBox(quarter, u.syncIndicator())}, right...)...)
	// The bottom bar during a session: home, the display modes (here,
	// not up in the top bar, so that stays one row on smaller screens and
	// the content keeps its height), finish.
	var bottom fyne.CanvasObject
	u.nodeGroup = 2
	if s != nil {
		var home fyne.CanvasObject
		if u.name != ScreenHome && !participantScreen(u.name) { // a participant's home is the phase's screen
			home = u.hinted(u.button(u.tr("action.home"), theme.HomeIcon(), widget.MediumImportance, u.showHome), "a11y.hint.home")
		}
		modes := container.New(&flowCentre{gap: theme.Padding()},
			u.toggle(u.tr("display.large"), s.LargeText, func() { s.LargeText = !s.LargeText; u.render() }),
			u.toggle(u.tr("display.contrast"), s.HighContrast, func() { s.HighContrast = !s.HighContrast; u.render() }))
		if home == nil {
			home = layout.NewSpacer()
		}
		bottom = container.New(&bottomBar{gap: theme.Padding()}, home, modes,
			u.hinted(u.button(u.tr("action.finish"), theme.LogoutIcon(), widget.MediumImportance, u.finish), "a11y.hint.finish"))
	}
	var bar fyne.CanvasObject = layout.NewSpacer()
	if bottom != nil {
		bar = container.NewVBox(widget.NewSeparator(), bottom)
	}
	// The body scrolls as a whole only where the screen is too small for
	// it (large text on a small terminal); screens keep their own
	// scrolling lists and their navigation in view where they fit.
	return container.NewBorder(container.NewVBox(top, widget.NewSeparator()), bar, nil, nil, u.vscroll(container.NewPadded(body)))
}

// toggle is an on/off button whose state shows as a ticked box and in
// its label, not by colour.
func (u *UI) toggle(label string, on bool, f func()) fyne.CanvasObject {
	icon, state := theme.CheckButtonIcon(), a11y.State(0)
	if on {
		icon, state = theme.CheckButtonCheckedIcon(), a11y.On
	}
	return u.buttonAs(a11y.RoleToggle, state, label, icon, widget.MediumImportance, f)
}

// syncIndicator is discreet: an icon and a short word.
func (u *UI) syncIndicator() fyne.CanvasObject {
	icon, text := theme.ConfirmIcon(), u.tr("sync.online")
	if !u.syncOK {
		icon, text = theme.MediaReplayIcon(), u.tr("sync.offline")
	}
	l := widget.NewLabel(text)
	l.SizeName = theme.SizeNameCaptionText
	// In the middle of the bar's height, level with the quarter's name.
	return container.NewHBox(container.New(minSize{32, 32}, widget.NewIcon(icon)), container.NewVBox(layout.NewSpacer(), l, layout.NewSpacer()))
}

// TileTitle names a tile for tests.
func (t *tile) TileTitle() string { return t.Title }

// AttractTapLayer marks the attract screen's tap area for tests.
func (t *tapLayer) AttractTapLayer() {}

// cursorShield keeps the mouse pointer hidden: residents touch. Fyne
// takes the pointer's shape from the *last* Cursorable object under it in
// tree order, so a HiddenCursor wrapper around the content is overridden
// by every Button (whose Cursor is the arrow). The shield is the last,
// topmost object over the whole window (and over the timeout warning):
// invisible, neither tappable nor hoverable, so taps, hover and scrolling
// still reach what lies under it, but its HiddenCursor always wins.
type cursorShield struct{ widget.BaseWidget }

func newCursorShield() *cursorShield {
	s := &cursorShield{}
	s.ExtendBaseWidget(s)
	return s
}

func (*cursorShield) Cursor() desktop.Cursor { return desktop.HiddenCursor }

func (*cursorShield) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(canvas.NewRectangle(color.Transparent))
}

// shielded puts the cursor shield over o when the pointer is to be hidden.
func (u *UI) shielded(o fyne.CanvasObject) fyne.CanvasObject {
	if !u.opts.HideCursor {
		return o
	}
	return container.NewStack(o, newCursorShield())
}

// modal is the timeout warning: a dimmed backdrop over the whole window
// that swallows taps, the framed box in its middle (the frame in the
// foreground colour, so it stands out in high contrast too) and, when the
// pointer is hidden, the cursor shield over both. It is a canvas overlay
// of our own rather than a widget.PopUp, whose backdrop shows the pointer.
type modal struct {
	widget.BaseWidget
	box    fyne.CanvasObject
	width  float32
	shield bool
	// over lie over the whole modal (the focus ring's layer, the key sink)
	over []fyne.CanvasObject
}

func newModal(box fyne.CanvasObject, width float32, shield bool, over ...fyne.CanvasObject) *modal {
	m := &modal{box: box, width: width, shield: shield, over: over}
	m.ExtendBaseWidget(m)
	return m
}

// Tapped: a tap beside the box does nothing (the warning stays).
func (*modal) Tapped(*fyne.PointEvent) {}

func (m *modal) CreateRenderer() fyne.WidgetRenderer {
	dim := canvas.NewRectangle(theme.Color(theme.ColorNameShadow))
	panel := canvas.NewRectangle(theme.Color(theme.ColorNameOverlayBackground))
	panel.StrokeColor = theme.Color(theme.ColorNameForeground)
	panel.StrokeWidth = 2
	objs := append([]fyne.CanvasObject{dim, panel, m.box}, m.over...)
	if m.shield {
		objs = append(objs, newCursorShield())
	}
	return &modalRenderer{m: m, objs: objs}
}

type modalRenderer struct {
	m    *modal
	objs []fyne.CanvasObject
}

func (r *modalRenderer) Layout(size fyne.Size) {
	pad := theme.Padding() * 4
	inner := r.boxSize(size)
	r.objs[0].Move(fyne.NewPos(0, 0))
	r.objs[0].Resize(size)
	pos := fyne.NewPos((size.Width-inner.Width)/2, (size.Height-inner.Height)/2)
	r.objs[1].Move(pos)
	r.objs[1].Resize(inner)
	r.objs[2].Move(pos.AddXY(pad, pad))
	r.objs[2].Resize(inner.SubtractWidthHeight(2*pad, 2*pad))
	for _, o := range r.objs[3:] { // what lies over it all
		o.Move(fyne.NewPos(0, 0))
		o.Resize(size)
	}
}

// boxSize is the framed box's size: its content's, at least m.width
// wide, at most the window. Wrapping labels know their height only once
// they have their width, so the content is sized to the width first.
func (r *modalRenderer) boxSize(size fyne.Size) fyne.Size {
	pad := theme.Padding() * 4
	w := min(max(r.m.box.MinSize().Width+2*pad, r.m.width), size.Width)
	r.m.box.Resize(fyne.NewSize(w-2*pad, r.m.box.MinSize().Height))
	return fyne.NewSize(w, min(r.m.box.MinSize().Height+2*pad, size.Height))
}

func (r *modalRenderer) MinSize() fyne.Size {
	pad := theme.Padding() * 4
	return r.m.box.MinSize().AddWidthHeight(2*pad, 2*pad)
}

func (r *modalRenderer) Refresh() {
	r.objs[0].(*canvas.Rectangle).FillColor = theme.Color(theme.ColorNameShadow)
	p := r.objs[1].(*canvas.Rectangle)
	p.FillColor, p.StrokeColor = theme.Color(theme.ColorNameOverlayBackground), theme.Color(theme.ColorNameForeground)
	r.Layout(r.m.Size())
	canvas.Refresh(r.m)
}

func (r *modalRenderer) Objects() []fyne.CanvasObject { return r.objs }
func (*modalRenderer) Destroy()                       {}

// The layouts below reflow with the width they are given, so one screen
// serves a 1920 × 1080 terminal as well as a 1280 × 800 or 1024 × 768
// one. Like a wrapping label, their MinSize height follows the width they
// were last laid out at (render lays out again until sizes settle); their
// MinSize width is what they need at least (their widest part), never
// their preferred width, so they never push the window wider.

// topBar lays out the window's top bar: objs[0] is the left group
// (quarter, sync state), the rest are buttons (languages, display
// modes). They share one row, buttons to the right, when that fits;
// otherwise the buttons follow on rows of their own below, wrapping.
type topBar struct {
	gap   float32
	width float32
}

func (b *topBar) rows(objs []fyne.CanvasObject, width float32) (oneRow bool, rows [][]fyne.CanvasObject) {
	left, items := objs[0], objs[1:]
	natural := left.MinSize().Width
	for _, o := range items {
		natural += b.gap + o.MinSize().Width
	}
	if width <= 0 || natural <= width {
		return true, nil
	}
	return false, flowRows(items, width, b.gap)
}

func (b *topBar) MinSize(objs []fyne.CanvasObject) fyne.Size {
	var w, h float32
	for _, o := range objs {
		w = max(w, o.MinSize().Width)
	}
	one, rows := b.rows(objs, b.width)
	if one {
		for _, o := range objs {
			h = max(h, o.MinSize().Height)
		}
		return fyne.NewSize(w, h)
	}
	h = objs[0].MinSize().Height
	for _, r := range rows {
		h += b.gap + rowHeight(r)
	}
	return fyne.NewSize(w, h)
}

func (b *topBar) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	b.width = size.Width
	one, rows := b.rows(objs, size.Width)
	left := objs[0]
	if one {
		left.Resize(fyne.NewSize(left.MinSize().Width, size.Height))
		left.Move(fyne.NewPos(0, 0))
		x := size.Width
		for i := len(objs) - 1; i >= 1; i-- {
			m := objs[i].MinSize()
			x -= m.Width
			objs[i].Resize(fyne.NewSize(m.Width, size.Height))
			objs[i].Move(fyne.NewPos(x, 0))
			x -= b.gap
		}
		return
	}
	lh := left.MinSize().Height
	left.Resize(fyne.NewSize(size.Width, lh))
	left.Move(fyne.NewPos(0, 0))
	y := lh + b.gap
	for _, r := range rows {
		h := rowHeight(r)
		var x float32
		for _, o := range r {
			w := min(o.MinSize().Width, size.Width)
			o.Resize(fyne.NewSize(w, h))
			o.Move(fyne.NewPos(x, y))
			x += w + b.gap
		}
		y += h + b.gap
	}
}

// bottomBar lays out the bottom bar: objs[0] at the left (home),
// objs[1] in the middle (the display modes, a flowCentre), objs[2] at
// the right (finish). Where the middle's widest part does not fit
// between the sides (long words in large text on a small screen), the
// sides share a row and the middle gets a row of its own below.
type bottomBar struct {
	gap   float32
	width float32
}

func (b *bottomBar) oneRow(objs []fyne.CanvasObject, width float32) bool {
	return width <= 0 || objs[0].MinSize().Width+objs[1].MinSize().Width+objs[2].MinSize().Width+2*b.gap <= width
}

func (b *bottomBar) MinSize(objs []fyne.CanvasObject) fyne.Size {
	l, m, r := objs[0].MinSize(), objs[1].MinSize(), objs[2].MinSize()
	w := max(l.Width+b.gap+r.Width, m.Width)
	if b.oneRow(objs, b.width) {
		return fyne.NewSize(w, max(l.Height, m.Height, r.Height))
	}
	return fyne.NewSize(w, max(l.Height, r.Height)+b.gap+m.Height)
}

func (b *bottomBar) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	b.width = size.Width
	left, mid, right := objs[0], objs[1], objs[2]
	lw, rw := left.MinSize().Width, right.MinSize().Width
	if b.oneRow(objs, size.Width) {
		mw := size.Width - lw - rw - 2*b.gap
		mid.Resize(fyne.NewSize(mw, mid.MinSize().Height)) // width first: its rows follow it
		h := size.Height
		left.Move(fyne.NewPos(0, 0))
		left.Resize(fyne.NewSize(lw, h))
		mid.Move(fyne.NewPos(lw+b.gap, 0))
		mid.Resize(fyne.NewSize(mw, h))
		right.Move(fyne.NewPos(size.Width-rw, 0))
		right.Resize(fyne.NewSize(rw, h))
		return
	}
	top := max(left.MinSize().Height, right.MinSize().Height)
	left.Move(fyne.NewPos(0, 0))
	left.Resize(fyne.NewSize(lw, top))
	right.Move(fyne.NewPos(size.Width-rw, 0))
	right.Resize(fyne.NewSize(rw, top))
	mid.Move(fyne.NewPos(0, top+b.gap))
	mid.Resize(fyne.NewSize(size.Width, max(size.Height-top-b.gap, 0)))
}

// flowRows splits objs into rows no wider than width (one object a row
// at least).
func flowRows(objs []fyne.CanvasObject, width, gap float32) [][]fyne.CanvasObject {
	var rows [][]fyne.CanvasObject
	var row []fyne.CanvasObject
	var x float32
	for _, o := range objs {
		w := o.MinSize().Width
		if len(row) > 0 && x+gap+w > width {
			rows = append(rows, row)
			row, x = nil, 0
		}
		if len(row) > 0 {
			x += gap
		}
		row = append(row, o)
		x += w
	}
	if len(row) > 0 {
		rows = append(rows, row)
	}
	return rows
}

func rowHeight(row []fyne.CanvasObject) float32 {
	var h float32
	for _, o := range row {
		h = max(h, o.MinSize().Height)
	}
	return h
}

// columns is a grid with as many columns as cells of at least cellWidth
// fit (1 to most), all cells of a row as tall as its tallest.
type columns struct {
	cellWidth float32
	most      int
	gap       float32
	width     float32
}

func newColumns(cellWidth float32, most int, objs ...fyne.CanvasObject) *fyne.Container {
	return container.New(&columns{cellWidth: cellWidth, most: most, gap: theme.Padding()}, objs...)
}

func (c *columns) count(objs []fyne.CanvasObject, width float32) int {
	if width <= 0 {
		return 1
	}
	cell := c.cellWidth
	for _, o := range objs {
		cell = max(cell, o.MinSize().Width)
	}
	n := int((width + c.gap) / (cell + c.gap))
	return max(1, min(n, c.most))
}

func (c *columns) visible(objs []fyne.CanvasObject) []fyne.CanvasObject {
	var out []fyne.CanvasObject
	for _, o := range objs {
		if o.Visible() {
			out = append(out, o)
		}
	}
	return out
}

func (c *columns) MinSize(objs []fyne.CanvasObject) fyne.Size {
	objs = c.visible(objs)
	n := c.count(objs, c.width)
	var w, h float32
	for i := 0; i < len(objs); i += n {
		if i > 0 {
			h += c.gap
		}
		h += rowHeight(objs[i:min(i+n, len(objs))])
	}
	for _, o := range objs {
		w = max(w, o.MinSize().Width)
	}
	return fyne.NewSize(w, h)
}

func (c *columns) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	c.width = size.Width
	objs = c.visible(objs)
	n := c.count(objs, size.Width)
	cw := (size.Width - c.gap*float32(n-1)) / float32(n)
	var y float32
	for i := 0; i < len(objs); i += n {
		row := objs[i:min(i+n, len(objs))]
		for k, o := range row { // widths first: wrapped texts' heights follow them
			o.Resize(fyne.NewSize(cw, o.MinSize().Height))
			o.Move(fyne.NewPos(float32(k)*(cw+c.gap), y))
		}
		h := rowHeight(row)
		for _, o := range row {
			o.Resize(fyne.NewSize(cw, h))
		}
		y += h + c.gap
	}
}

// centred puts its one object in the middle, as wide as it may be up to
// width (a wrapping label in a plain Center shrinks to a letter a line,
// and a fixed width would not fit smaller screens).
type centred struct{ width float32 }

func centre(width float32, o fyne.CanvasObject) *fyne.Container {
	return container.New(centred{width}, o)
}

func (c centred) MinSize(objs []fyne.CanvasObject) fyne.Size { return objs[0].MinSize() }

func (c centred) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	o := objs[0]
	w := max(min(c.width, size.Width), o.MinSize().Width)
	o.Resize(fyne.NewSize(w, o.MinSize().Height)) // width first: wrapped heights follow it
	h := min(o.MinSize().Height, size.Height)
	o.Resize(fyne.NewSize(w, h))
	o.Move(fyne.NewPos((size.Width-w)/2, (size.Height-h)/2))
}

// flowCentre lays its objects out in centred rows, wrapping when the
// width is too small for one row.
type flowCentre struct {
	gap   float32
	width float32
}

func (f *flowCentre) MinSize(objs []fyne.CanvasObject) fyne.Size {
	var w, h float32
	for _, o := range objs {
		w = max(w, o.MinSize().Width)
	}
	width := f.width
	if width <= 0 {
		width = 1 << 20
	}
	for i, r := range flowRows(objs, width, f.gap) {
		if i > 0 {
			h += f.gap
		}
		h += rowHeight(r)
	}
	return fyne.NewSize(w, h)
}

func (f *flowCentre) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	f.width = size.Width
	rows := flowRows(objs, size.Width, f.gap)
	var total float32
	for i, r := range rows {
		if i > 0 {
			total += f.gap
		}
		total += rowHeight(r)
	}
	y := max(0, (size.Height-total)/2)
	for _, r := range rows {
		h := rowHeight(r)
		var rw float32
		for i, o := range r {
			if i > 0 {
				rw += f.gap
			}
			rw += min(o.MinSize().Width, size.Width)
		}
		x := max(0, (size.Width-rw)/2)
		for _, o := range r {
			w := min(o.MinSize().Width, size.Width)
			o.Resize(fyne.NewSize(w, h))
			o.Move(fyne.NewPos(x, y))
			x += w + f.gap
		}
		y += h + f.gap
	}
}

// split puts two objects side by side, the first taking share of the
// width (the attract screen: the air's short lines, then the news).
type split struct{ share float32 }

func (s split) MinSize(objs []fyne.CanvasObject) fyne.Size {
	a, b := objs[0].MinSize(), objs[1].MinSize()
	return fyne.NewSize(a.Width+b.Width+theme.Padding(), max(a.Height, b.Height))
}

func (s split) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	w := max(objs[0].MinSize().Width, (size.Width-theme.Padding())*s.share)
	objs[0].Move(fyne.NewPos(0, 0))
	objs[0].Resize(fyne.NewSize(w, size.Height))
	objs[1].Move(fyne.NewPos(w+theme.Padding(), 0))
	objs[1].Resize(fyne.NewSize(size.Width-w-theme.Padding(), size.Height))
}
