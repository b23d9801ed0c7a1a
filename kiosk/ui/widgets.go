package ui

import (
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
	if u.name == ScreenOutOfOrder || u.name == ScreenPIN || u.name == ScreenService {
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

// noCursor hides the mouse pointer over its content: residents touch.
type noCursor struct {
	widget.BaseWidget
	content fyne.CanvasObject
}

func newNoCursor(c fyne.CanvasObject) *noCursor {
	n := &noCursor{content: c}
	n.ExtendBaseWidget(n)
	return n
}

func (n *noCursor) Cursor() desktop.Cursor { return desktop.HiddenCursor }

func (n *noCursor) CreateRenderer() fyne.WidgetRenderer { return widget.NewSimpleRenderer(n.content) }
