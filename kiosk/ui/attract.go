package ui

import (
	"fmt"
	"strconv"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/quartierhub/quartierhub/kiosk/a11y"
	"github.com/quartierhub/quartierhub/kiosk/session"
)

// attractScreen waits for a resident: the quarter, the time, the air now,
// current announcements. A touch anywhere or a card starts a session.
func (u *UI) attractScreen() fyne.CanvasObject {
	now := u.opts.Now()
	welcome := u.heading(u.tr("attract.welcome", "quarter", u.txt(u.content.Quarter)))
	welcome.Alignment = fyne.TextAlignCenter
	u.clock = u.heading(now.Format("15:04"))
	u.clock.SizeName = sizeNameClock
	u.clock.Wrapping = fyne.TextWrapOff
	u.clock.Alignment = fyne.TextAlignCenter
	date := widget.NewLabel(u.date())
	date.Alignment = fyne.TextAlignCenter
	u.textNode(a11y.RoleText, date)

	var news []fyne.CanvasObject
	for _, a := range u.content.Announcements {
		if !a.ValidAt(now) {
			continue
		}
		// Title and text as paragraphs of one text (one padding, not two).
		t := widget.NewRichText(
			&widget.TextSegment{Text: u.txt(a.Title), Style: widget.RichTextStyle{ColorName: theme.ColorNameForeground, SizeName: theme.SizeNameText, TextStyle: fyne.TextStyle{Bold: true}}},
			&widget.TextSegment{Text: u.txt(a.Body), Style: widget.RichTextStyle{ColorName: theme.ColorNameForeground, SizeName: theme.SizeNameText}})
		t.Wrapping = fyne.TextWrapWord
		u.node(accNode{Node: a11y.Node{Role: a11y.RoleText, Target: t}, live: func() string { return a11y.Sentences(u.txt(a.Title), u.txt(a.Body)) }})
		news = append(news, container.NewBorder(nil, nil, container.New(minSize{40, 40}, widget.NewIcon(theme.InfoIcon())), nil, t))
	}
	left := container.NewVBox(u.subheading(u.tr("attract.air")), u.airSummary())
	right := container.NewVBox(u.subheading(u.tr("attract.news")))
	if len(news) == 0 {
		right.Add(u.wrapped(u.tr("attract.no_news")))
	}
	right.Objects = append(right.Objects, news...)
	prompt := u.subheading(u.tr("attract.touch"))
	prompt.Alignment = fyne.TextAlignCenter
	// Not in a Center: a wrapping label there shrinks to one letter per
	// line and its height pushes the screen far beyond the display.
	hand := container.NewBorder(nil, nil, container.New(minSize{56, 56}, widget.NewIcon(theme.NavigateNextIcon())), nil, prompt)
	head := container.NewVBox(welcome, u.clock, date)
	foot := container.NewVBox(widget.NewSeparator(), hand)
	if h := u.win.Canvas().Size().Height; h > 0 && h < 900 {
		// A shorter screen: the clock and the date beside the welcome and
		// what to do, so the languages' row has its room below.
		welcome.Alignment = fyne.TextAlignLeading
		u.clock.Alignment, date.Alignment = fyne.TextAlignTrailing, fyne.TextAlignTrailing
		date.TextStyle.Bold = true
		head = container.NewBorder(nil, nil, nil, container.NewVBox(u.clock, date), container.NewVBox(welcome, hand))
		foot = container.NewVBox(widget.NewSeparator())
		if h < 800 {
			u.clock.SizeName = sizeNameClockSmall
		}
	}
	tl := newTapLayer(func() { u.startSession("") })
	u.addTarget(tl, func() string { return AttractArea })
	u.attractTap = tl.onTap
	// Enter anywhere on the attract screen starts a session, as a touch;
	// the languages below start one in theirs.
	for i := range u.nodes {
		u.nodes[i].Action = tl.onTap
	}
	foot.Add(u.attractLanguages())
	body := container.NewBorder(head, foot, nil, nil,
		container.New(split{0.4}, left, right))
	return container.NewStack(tl, body)
}

// date is today in words: "Montag, 3. März 2025".
func (u *UI) date() string {
	now := u.opts.Now()
	return u.tr("format.date", "weekday", u.tr("weekday."+strconv.Itoa(int(now.Weekday()))),
		"day", now.Day(), "month", u.tr("month."+strconv.Itoa(int(now.Month()))), "year", now.Year())
}

// airSummary is the live values with their meaning in words.
func (u *UI) airSummary() fyne.CanvasObject {
	box := container.NewVBox()
	any := false
	for _, q := range session.Quantities {
		r, ok := u.latest[q]
		if !ok {
			continue
		}
		any = true
		box.Add(u.airLine(q, r.Value))
	}
	if !any {
		box.Add(u.wrapped(u.tr("air.none")))
	}
	return box
}

// airLine: "Feinstaub PM2,5: 12 µg/m³ – gut", with a level mark.
func (u *UI) airLine(q string, v float64) fyne.CanvasObject {
	return container.NewBorder(nil, nil, levelMark(session.LevelOf(q, v)), nil, u.wrapped(u.airText(q, v)))
}

// airText is a value with its meaning in words.
func (u *UI) airText(q string, v float64) string {
	return u.tr("air.line", "name", u.tr("air."+q+".name"), "value", u.number(v), "unit", u.tr("air."+q+".unit"),
		"level", u.tr(fmt.Sprintf("air.level.%d", session.LevelOf(q, v))))
}

// levelMark shows a level as a shape as well as a colour: 1–2 a tick,
// 3 an exclamation, 4–5 a warning sign.
func levelMark(l session.Level) fyne.CanvasObject {
	icon := theme.ConfirmIcon()
	switch {
	case l == 3:
		icon = theme.InfoIcon()
	case l >= 4:
		icon = theme.WarningIcon()
	}
	return container.New(minSize{40, 40}, widget.NewIcon(icon))
}

// number formats a value in the current language's way.
func (u *UI) number(v float64) string {
	s := strconv.FormatFloat(v, 'f', 0, 64)
	if v < 100 && v != float64(int(v)) {
		s = strconv.FormatFloat(v, 'f', 1, 64)
	}
	if sep := u.tr("format.decimal"); sep != "." {
		for i := range len(s) {
			if s[i] == '.' {
				s = s[:i] + sep + s[i+1:]
				break
			}
		}
	}
	return s
}

// homeScreen: large service tiles from the hub's content.
func (u *UI) homeScreen() fyne.CanvasObject {
	grid := newColumns(14*theme.TextSize(), 3)
	for _, svc := range u.content.Services {
		sub := u.txt(svc.Subtitle)
		off := svc.Kind == "ticket" && !u.printerOK
		if off {
			sub = u.tr(u.printerWhy) + " " + u.tr("ticket.unavailable")
		}
		grid.Add(u.tile(u.txt(svc.Title), sub, serviceIcon(svc.Kind, svc.Icon), off, func() { u.openService(svc.ID) }))
	}
	var tiles fyne.CanvasObject = grid
	if u.short() { // less padding in the tiles: all rows in view in large text too
		tiles = container.NewThemeOverride(grid, tightTheme{u.app.Settings().Theme()})
	}
	var title fyne.CanvasObject = u.heading(u.tr("home.title"))
	if u.short() && u.th.largeText { // the tiles' room: they say what to do
		title = nil
	}
	return container.NewBorder(title, nil, nil, nil, u.vscroll(container.NewVBox(tiles, layout.NewSpacer())))
}

func serviceIcon(kind, name string) fyne.Resource {
	if name == "" {
		name = kind
	}
	switch name {
	case "report":
		return theme.WarningIcon()
	case "air":
		return theme.VisibilityIcon()
	case "survey":
		return theme.ListIcon()
	case "ticket":
		return theme.DocumentPrintIcon()
	case "privacy":
		return theme.VisibilityOffIcon()
	case "help":
		return theme.QuestionIcon()
	}
	return theme.InfoIcon()
}

// openService opens a home tile.
func (u *UI) openService(id string) {
	for _, svc := range u.content.Services {
		if svc.ID != id {
			continue
		}
		switch svc.Kind {
		case "report":
			u.sess.Current().Report = session.Report{}
			u.show(ScreenCategory, u.categoryScreen)
		case "air":
			u.showAir()
		case "survey":
			u.showSurvey(svc.Target)
		case "ticket":
			u.show(ScreenTicket, u.ticketScreen)
		case "info":
			u.showInfo(svc.Target)
		}
	}
}
