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

// button is a large button; every tap counts as activity.
func (u *UI) button(label string, icon fyne.Resource, imp widget.Importance, tapped func()) fyne.CanvasObject {
	b := widget.NewButtonWithIcon(label, icon, u.act(tapped))
	b.Importance = imp
	u.addTarget(b, func() string { return b.Text })
	return touch(b)
}

// disabledButton is a button that cannot be used now; why says why, in
// words, next to it.
func (u *UI) disabledButton(label string, icon fyne.Resource, why string) fyne.CanvasObject {
	b := widget.NewButtonWithIcon(label, icon, nil)
	b.Disable()
	return container.NewVBox(touch(b), wrapped(why))
}

func heading(s string) *widget.Label {
	l := widget.NewLabel(s)
	l.SizeName = theme.SizeNameHeadingText
	l.TextStyle.Bold = true
	l.Wrapping = fyne.TextWrapWord
	return l
}

func subheading(s string) *widget.Label {
	l := widget.NewLabel(s)
	l.SizeName = theme.SizeNameSubHeadingText
	l.TextStyle.Bold = true
	l.Wrapping = fyne.TextWrapWord
	return l
}

func wrapped(s string) *widget.Label {
	l := widget.NewLabel(s)
	l.Wrapping = fyne.TextWrapWord
	return l
}

// notice is a message with an icon (so it is not told by colour alone).
func notice(icon fyne.Resource, s string) fyne.CanvasObject {
	img := widget.NewIcon(icon)
	return container.NewBorder(nil, nil, container.New(minSize{40, 40}, img), nil, wrapped(s))
}

// tile is a home screen service: a large button with a title and a line
// of explanation.
type tile struct {
	widget.BaseWidget
	Title, Subtitle string
	icon            fyne.Resource
	onTap           func()
	disabled        bool
}

func newTile(title, sub string, icon fyne.Resource, tapped func()) *tile {
	t := &tile{Title: title, Subtitle: sub, icon: icon, onTap: tapped}
	t.ExtendBaseWidget(t)
	return t
}

// Tapped lets tests (and the screen reader of the future) tap the tile.
func (t *tile) Tapped(*fyne.PointEvent) {
	if !t.disabled && t.onTap != nil {
		t.onTap()
	}
}

func (t *tile) CreateRenderer() fyne.WidgetRenderer {
	b := widget.NewButton("", func() { t.Tapped(nil) })
	b.Importance = widget.HighImportance
	if t.disabled {
		b.Disable()
	}
	sTxt := widget.NewRichText(&widget.TextSegment{Text: t.Subtitle, Style: widget.RichTextStyle{ColorName: onPrimary(t.disabled), SizeName: theme.SizeNameText}})
	sTxt.Wrapping = fyne.TextWrapWord
	tRich := widget.NewRichText(&widget.TextSegment{Text: t.Title, Style: widget.RichTextStyle{ColorName: onPrimary(t.disabled), SizeName: theme.SizeNameSubHeadingText, TextStyle: fyne.TextStyle{Bold: true}}})
	tRich.Wrapping = fyne.TextWrapWord
	icon := widget.NewIcon(theme.NewColoredResource(t.icon, onPrimary(t.disabled)))
	body := container.NewBorder(nil, nil, container.New(minSize{56, 56}, icon), nil, container.NewVBox(tRich, sTxt))
	c := container.New(minSize{MinTouch * 3, MinTouch * 2}, b, container.NewPadded(body))
	return widget.NewSimpleRenderer(c)
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

// frame puts a screen between the top bar (quarter, sync, languages,
// display modes) and, during a session, the bottom bar (home, finish).
func (u *UI) frame(body fyne.CanvasObject) fyne.CanvasObject {
	if u.name == ScreenOutOfOrder || u.name == ScreenStarting || u.name == ScreenPIN || u.name == ScreenService {
		return container.NewPadded(body)
	}
	quarter := widget.NewLabel(u.txt(u.content.Quarter))
	quarter.TextStyle.Bold = true
	quarter.SizeName = theme.SizeNameSubHeadingText
	var langs []fyne.CanvasObject
	for _, l := range u.content.Languages {
		icon := theme.RadioButtonIcon()
		imp := widget.MediumImportance
		if l == u.lang() {
			icon, imp = theme.RadioButtonCheckedIcon(), widget.HighImportance
		}
		langs = append(langs, u.button(u.cat.Name(l), icon, imp, func() { u.setLanguage(l) }))
	}
	right := container.NewHBox(langs...)
	s := u.sess.Current()
	if s != nil {
		right.Add(widget.NewSeparator())
		right.Add(u.toggle(u.tr("display.large"), s.LargeText, func() { s.LargeText = !s.LargeText; u.render() }))
		right.Add(u.toggle(u.tr("display.contrast"), s.HighContrast, func() { s.HighContrast = !s.HighContrast; u.render() }))
	}
	top := container.NewBorder(nil, nil, container.NewHBox(quarter, u.syncIndicator()), right)
	var bottom fyne.CanvasObject
	if s != nil && u.name != ScreenHome {
		bottom = container.NewBorder(nil, nil,
			u.button(u.tr("action.home"), theme.HomeIcon(), widget.MediumImportance, u.showHome),
			u.button(u.tr("action.finish"), theme.LogoutIcon(), widget.MediumImportance, u.finish))
	} else if s != nil {
		bottom = container.NewBorder(nil, nil, nil,
			u.button(u.tr("action.finish"), theme.LogoutIcon(), widget.MediumImportance, u.finish))
	}
	var bar fyne.CanvasObject = layout.NewSpacer()
	if bottom != nil {
		bar = container.NewVBox(widget.NewSeparator(), bottom)
	}
	return container.NewBorder(container.NewVBox(top, widget.NewSeparator()), bar, nil, nil, container.NewPadded(body))
}

// toggle is an on/off button whose state shows as a ticked box and in
// its label, not by colour.
func (u *UI) toggle(label string, on bool, f func()) fyne.CanvasObject {
	icon := theme.CheckButtonIcon()
	if on {
		icon = theme.CheckButtonCheckedIcon()
	}
	return u.button(label, icon, widget.MediumImportance, f)
}

func (u *UI) setLanguage(l string) {
	s := u.sess.Current()
	if s == nil {
		u.startSession(l)
		return
	}
	s.Language = l
	u.render()
}

// syncIndicator is discreet: an icon and a short word.
func (u *UI) syncIndicator() fyne.CanvasObject {
	icon, text := theme.ConfirmIcon(), u.tr("sync.online")
	if !u.syncOK {
		icon, text = theme.MediaReplayIcon(), u.tr("sync.offline")
	}
	l := widget.NewLabel(text)
	l.SizeName = theme.SizeNameCaptionText
	return container.NewHBox(container.New(minSize{32, 32}, widget.NewIcon(icon)), l)
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
}

func newModal(box fyne.CanvasObject, width float32, shield bool) *modal {
	m := &modal{box: box, width: width, shield: shield}
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
	objs := []fyne.CanvasObject{dim, panel, m.box}
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
	if len(r.objs) > 3 {
		r.objs[3].Move(fyne.NewPos(0, 0))
		r.objs[3].Resize(size)
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
