package ui

import (
	"context"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/kiosk/a11y"
	"github.com/quartierhub/quartierhub/kiosk/localapi"
	"github.com/quartierhub/quartierhub/kiosk/session"
	"github.com/quartierhub/quartierhub/kiosk/ui/backend"
)

// The problem report: category → description → place → confirm → thanks.

func (u *UI) step(n int) fyne.CanvasObject {
	return u.wrapped(u.tr("report.step", "n", n, "of", 4))
}

func (u *UI) categoryScreen() fyne.CanvasObject {
	s := u.sess.Current()
	grid := newColumns(14*theme.TextSize(), 2)
	for _, c := range u.content.ProblemCategories {
		on := s.Report.Category == c.ID
		grid.Add(u.newChoice(u.txt(c.Label), radioIcon(on), on, func() {
			s.Report.Category = c.ID
			u.show(ScreenDescribe, u.describeScreen)
		}))
	}
	return container.NewBorder(container.NewVBox(u.step(1), u.heading(u.tr("report.category.title"))), nil, nil, nil,
		u.vscroll(grid))
}

func (u *UI) describeScreen() fyne.CanvasObject {
	s := u.sess.Current()
	entry := u.textArea(s.Report.Text, u.tr("report.describe.placeholder"))
	u.fieldNode(u.tr("report.describe.title"), entry, session.MaxReportText)
	short := u.win.Canvas().Size().Height < 900 // the step only where there is room
	progress := func(t string) string {
		c := u.tr("report.describe.count", "n", len([]rune(t)), "max", session.MaxReportText)
		if short {
			return c
		}
		return u.tr("report.step", "n", 2, "of", 4) + " · " + c
	}
	count := widget.NewLabel(progress(s.Report.Text))
	kb := u.newKeyboard(s.Report.Text, session.MaxReportText, func(t string) {
		s.Report.Text = t
		entry.SetText(t)
		count.SetText(progress(t))
	})
	// A hardware keyboard or a paste can bring more, or control
	// characters; the session keeps what the hub takes.
	entry.OnChanged = func(t string) { s.Report.Text = api.CleanText(t, session.MaxReportText) }
	count.Alignment = fyne.TextAlignTrailing
	// Back and next flank the keyboard's last row (like a phone's enter
	// key), so the keyboard and the text keep their room on small screens.
	kb.back = u.button(u.tr("action.back"), theme.NavigateBackIcon(), widget.MediumImportance, func() { u.show(ScreenCategory, u.categoryScreen) })
	kb.next = u.button(u.tr("action.next"), theme.NavigateNextIcon(), widget.HighImportance, func() { u.show(ScreenPlace, u.placeScreen) })
	// As wide as the longest count, so typing never squeezes it.
	widest := widget.NewLabel(progress(strings.Repeat("x", session.MaxReportText))).MinSize().Width
	title := container.NewBorder(nil, nil, nil, container.New(minSize{widest, 0}, count), u.heading(u.tr("report.describe.title")))
	top := container.NewVBox(title, u.notice(theme.VisibilityOffIcon(), u.tr("report.describe.hint")))
	return container.NewBorder(top, kb.build(), nil, nil, entry)
}

func (u *UI) placeScreen() fyne.CanvasObject {
	s := u.sess.Current()
	places := append([]api.Place{u.content.TerminalPlace}, u.content.Places...)
	list := choiceList(len(places))
	for _, p := range places {
		on := s.Report.Place == p.ID
		list.Add(u.newChoice(u.txt(p.Name), radioIcon(on), on, func() {
			s.Report.Place = p.ID
			u.show(ScreenConfirm, u.confirmScreen)
		}))
	}
	back := u.button(u.tr("action.back"), theme.NavigateBackIcon(), widget.MediumImportance, func() { u.show(ScreenDescribe, u.describeScreen) })
	return container.NewBorder(container.NewVBox(u.step(3), u.heading(u.tr("report.place.title"))), container.NewGridWithColumns(2, back), nil, nil,
		u.vscroll(list))
}

// choiceList holds n choices: one under the other, or side by side
// where there are many and room for them, so all are in view.
func choiceList(n int) *fyne.Container {
	if n > 3 {
		return newColumns(14*theme.TextSize(), 2)
	}
	return container.NewVBox()
}

func radioIcon(on bool) fyne.Resource {
	if on {
		return theme.RadioButtonCheckedIcon()
	}
	return theme.RadioButtonIcon()
}

func (u *UI) category(id string) string {
	for _, c := range u.content.ProblemCategories {
		if c.ID == id {
			return u.txt(c.Label)
		}
	}
	return id
}

func (u *UI) place(id string) api.Place {
	for _, p := range u.content.Places {
		if p.ID == id {
			return p
		}
	}
	return u.content.TerminalPlace
}

func (u *UI) confirmScreen() fyne.CanvasObject {
	s := u.sess.Current()
	text := s.Report.Text
	if text == "" {
		text = u.tr("report.confirm.no_text")
	}
	form := widget.NewForm(
		u.formItem(u.tr("report.confirm.category"), u.category(s.Report.Category)),
		u.formItem(u.tr("report.confirm.text"), text),
		u.formItem(u.tr("report.confirm.place"), u.txt(u.place(s.Report.Place).Name)),
	)
	var receipt fyne.CanvasObject
	if u.printerOK {
		receipt = u.notice(theme.DocumentPrintIcon(), u.tr("report.confirm.receipt"))
	} else {
		receipt = u.notice(theme.WarningIcon(), u.tr(u.printerWhy)+" "+u.tr("report.confirm.no_receipt"))
	}
	nav := container.NewGridWithColumns(2,
		u.button(u.tr("action.back"), theme.NavigateBackIcon(), widget.MediumImportance, func() { u.show(ScreenPlace, u.placeScreen) }),
		u.button(u.tr("report.confirm.send"), theme.MailSendIcon(), widget.HighImportance, u.sendReport))
	return container.NewBorder(container.NewVBox(u.step(4), u.heading(u.tr("report.confirm.title"))), container.NewVBox(receipt, nav), nil, nil,
		u.vscroll(form))
}

// sendReport stores the report through the agent (durably, before we say
// "sent") and prints the receipt if the printer can.
func (u *UI) sendReport() {
	s := u.sess.Current()
	id := s.ID
	p := u.place(s.Report.Place)
	payload := map[string]any{
		"category": s.Report.Category, "text": api.CleanText(s.Report.Text, session.MaxReportText), "place": p.ID,
		"place_name": api.CleanText(p.Name.In(u.sess.DefaultLanguage(), "de"), api.MaxPlaceName), "language": s.Language,
	}
	if p.Lat != 0 || p.Lon != 0 {
		payload["lat"], payload["lon"] = p.Lat, p.Lon
	}
	printer := u.printerOK
	tr := session.Tr(u.tr)
	receiptLang := struct{ category, place, quarter string }{u.category(s.Report.Category), u.txt(p.Name), u.txt(u.content.Quarter)}
	hub := u.status.Terminal.HubURL
	var (
		resp     localapi.SubmitResponse
		err      error
		printErr error
		ref      string
	)
	u.show(ScreenConfirm, u.busyScreen)
	u.opts.Async(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		resp, err = u.be.Submit(ctx, localapi.SubmitRequest{Type: "problem_report", Payload: payload})
		if err != nil {
			return
		}
		ref = session.Reference(resp.ID)
		if printer {
			r := session.ReportReceipt(tr, receiptLang.quarter, ref, receiptLang.category, receiptLang.place, session.StatusURL(hub, ref), resp.CreatedAt.Local())
			_, printErr = u.be.Print(ctx, backend.Receipt(r))
		}
	}, func() {
		cur := u.sess.Current()
		if cur == nil || cur.ID != id {
			return // the session ended meanwhile; show nothing of it
		}
		if err != nil {
			u.log.Warn("report not stored", "err", err)
			u.showError(u.tr("error.submit"))
			return
		}
		cur.Reference = ref
		cur.Report = session.Report{}
		printed := printer && printErr == nil
		if printErr != nil {
			u.log.Warn("receipt not printed", "err", printErr)
		}
		u.show(ScreenThanks, func() fyne.CanvasObject { return u.thanksScreen(ref, printed) })
	})
}

// formItem is a line of a form, read as "name: value".
func (u *UI) formItem(name, value string) *widget.FormItem {
	l := plainWrapped(value)
	u.node(accNode{Node: a11y.Node{Role: a11y.RoleText, Target: l}, live: func() string { return name + ": " + l.Text }})
	return widget.NewFormItem(name, l)
}

func (u *UI) busyScreen() fyne.CanvasObject {
	u.subScreen = "busy" // a screen of its own to the screen reader
	msg := u.subheading(u.tr("busy"))
	msg.Alignment = fyne.TextAlignCenter
	return centre(640, container.NewVBox(widget.NewProgressBarInfinite(), msg))
}

func (u *UI) thanksScreen(ref string, printed bool) fyne.CanvasObject {
	// The line above the number and the number are one item, the number
	// spelled: a speech engine reads "K7EX" as a word.
	intro := plainWrapped(u.tr("report.thanks.reference"))
	refLabel := widget.NewLabel(ref)
	refLabel.Alignment = fyne.TextAlignCenter
	refLabel.SizeName = theme.SizeNameHeadingText
	refLabel.TextStyle.Bold = true
	spoken := intro.Text + " " + u.spell(ref)
	u.node(accNode{Node: a11y.Node{Role: a11y.RoleText, Target: intro}, live: func() string { return spoken }})
	box := container.NewVBox(u.heading(u.tr("report.thanks.title")), intro, refLabel)
	receipt := ""
	if printed {
		receipt = u.tr("a11y.receipt")
		box.Add(u.notice(theme.DocumentPrintIcon(), u.tr("report.thanks.printed")))
	} else {
		box.Add(u.notice(theme.WarningIcon(), u.tr("report.thanks.not_printed")))
	}
	if !u.syncOK {
		box.Add(u.notice(theme.MediaReplayIcon(), u.tr("report.thanks.offline")))
	}
	nav := container.NewGridWithColumns(2,
		u.button(u.tr("action.more"), theme.HomeIcon(), widget.MediumImportance, u.showHome),
		u.hinted(u.button(u.tr("action.done"), theme.ConfirmIcon(), widget.HighImportance, u.finish), "a11y.hint.done"))
	u.announce(spoken, receipt)
	return container.NewBorder(nil, nav, nil, nil, u.vscroll(box))
}

func (u *UI) showError(msg string) {
	u.show(ScreenError, func() fyne.CanvasObject {
		return container.NewVBox(u.heading(u.tr("error.title")), u.notice(theme.ErrorIcon(), msg),
			container.NewGridWithColumns(2, u.hinted(u.button(u.tr("action.home"), theme.HomeIcon(), widget.HighImportance, u.showHome), "a11y.hint.home")))
	})
}
