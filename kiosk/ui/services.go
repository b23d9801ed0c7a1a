package ui

import (
	"context"
	"errors"
	"strconv"
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

// showInfo shows an information page from the content.
func (u *UI) showInfo(id string) {
	u.show(ScreenInfo, func() fyne.CanvasObject {
		for _, p := range u.content.Pages {
			if p.ID == id {
				body := container.NewVBox()
				for _, para := range strings.Split(u.txt(p.Body), "\n\n") {
					body.Add(u.wrapped(para))
				}
				return container.NewBorder(u.heading(u.txt(p.Title)), nil, nil, nil, u.vscroll(body))
			}
		}
		return u.wrapped(u.tr("error.missing"))
	})
}

// ticketScreen: draw a waiting number for the help desk.
func (u *UI) ticketScreen() fyne.CanvasObject {
	desk := u.txt(u.content.HelpDesk.Name)
	box := container.NewVBox(u.heading(u.tr("ticket.title")))
	hours := u.txt(u.content.HelpDesk.Hours)
	if s := u.sess.Current(); s != nil && s.Ticket != 0 {
		// Drawn: the number, large, and what to do with it.
		u.subScreen = "drawn"
		box.Add(u.ticketNumber(s.Ticket))
		u.announce(u.tr("ticket.your_number"), strconv.Itoa(s.Ticket), u.tr("a11y.receipt"))
		if hours != "" {
			box.Add(u.wrapped(u.tr("ticket.hours", "hours", hours)))
		}
		// A way on, as after a report: done (ends the session) or more.
		return container.NewBorder(nil, container.NewGridWithColumns(2,
			u.button(u.tr("action.more"), theme.HomeIcon(), widget.MediumImportance, u.showHome),
			u.hinted(u.button(u.tr("action.done"), theme.ConfirmIcon(), widget.HighImportance, u.finish), "a11y.hint.done")), nil, nil, box)
	}
	box.Add(u.wrapped(u.tr("ticket.intro", "desk", desk)))
	if hours != "" {
		box.Add(u.wrapped(u.tr("ticket.hours", "hours", hours)))
	}
	if !u.printerOK {
		box.Add(u.disabledButton(u.tr("ticket.draw"), theme.DocumentPrintIcon(), u.tr(u.printerWhy)+" "+u.tr("ticket.unavailable")))
		return box
	}
	box.Add(u.button(u.tr("ticket.draw"), theme.DocumentPrintIcon(), widget.HighImportance, u.drawTicket))
	return box
}

func (u *UI) ticketNumber(n int) fyne.CanvasObject {
	num := u.heading(strconv.Itoa(n))
	num.Alignment = fyne.TextAlignCenter
	num.SizeName = sizeNameClock // the one thing to remember: large
	if u.short() {
		num.SizeName = sizeNameClockSmall
	}
	num.Wrapping = fyne.TextWrapOff
	return container.NewVBox(u.wrapped(u.tr("ticket.your_number")), num, u.notice(theme.DocumentPrintIcon(), u.tr("ticket.printed")))
}

func (u *UI) drawTicket() {
	s := u.sess.Current()
	id := s.ID
	r := session.TicketReceipt(session.Tr(u.tr), u.txt(u.content.HelpDesk.Name), u.txt(u.content.HelpDesk.Hours), u.opts.Now())
	var t localapi.Ticket
	var err error
	u.show(ScreenTicket, u.busyScreen)
	u.opts.Async(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		t, err = u.be.Ticket(ctx, localapi.TicketRequest{Receipt: backend.Receipt(r)})
	}, func() {
		cur := u.sess.Current()
		if cur == nil || cur.ID != id {
			return
		}
		if err != nil {
			u.log.Warn("ticket", "err", err)
			if errors.Is(err, localapi.ErrPrinter) {
				u.printerOK, u.printerWhy = false, session.PrinterFault
			}
			u.showError(u.tr("error.ticket"))
			return
		}
		cur.Ticket = t.Number
		u.show(ScreenTicket, u.ticketScreen)
	})
}

// showSurvey opens a survey (or the first open one).
func (u *UI) showSurvey(id string) {
	s := u.sess.Current()
	for _, sv := range u.content.Surveys {
		if (id == "" || sv.ID == id) && sv.OpenAt(u.opts.Now()) {
			session.BeginSurvey(s, sv)
			s.Survey.Step = -1
			u.show(ScreenSurvey, func() fyne.CanvasObject { return u.surveyScreen(sv) })
			return
		}
	}
	u.showError(u.tr("survey.closed"))
}

func (u *UI) surveyScreen(sv api.Survey) fyne.CanvasObject {
	s := u.sess.Current()
	d := &s.Survey
	u.subScreen = strconv.Itoa(d.Step) // each question is a screen of its own to the screen reader
	title := u.heading(u.txt(sv.Title))
	if d.Step < 0 {
		box := container.NewVBox(title, u.wrapped(u.txt(sv.Intro)))
		_, err := session.Respondent(sv, s)
		switch {
		case errors.Is(err, session.ErrNeedsCard):
			box.Add(u.notice(theme.InfoIcon(), u.tr("survey.needs_card")))
			// Not a dead end for someone without a card.
			box.Add(u.notice(theme.HomeIcon(), u.tr("survey.no_card")))
		case errors.Is(err, session.ErrAnswered):
			box.Add(u.notice(theme.InfoIcon(), u.tr("survey.already")))
		default:
			if sv.Once == api.OncePerCard {
				box.Add(u.notice(theme.VisibilityOffIcon(), u.tr("survey.card_anonymous")))
			}
			box.Add(u.button(u.tr("survey.start"), theme.NavigateNextIcon(), widget.HighImportance, func() { d.Step = 0; u.render() }))
		}
		return box
	}
	q := sv.Questions[d.Step]
	var answer fyne.CanvasObject
	switch q.Kind {
	case api.QuestionSingle, api.QuestionMultiple:
		list := choiceList(len(q.Options))
		for _, o := range q.Options {
			on := d.Chosen(q, o.ID)
			icon := radioIcon(on)
			if q.Kind == api.QuestionMultiple {
				icon = theme.CheckButtonIcon()
				if on {
					icon = theme.CheckButtonCheckedIcon()
				}
			}
			list.Add(u.newChoice(u.txt(o.Label), icon, on, func() { d.Toggle(q, o.ID); u.render() }))
		}
		answer = list
	case api.QuestionScale:
		row := container.NewGridWithColumns(q.Max - q.Min + 1)
		for v := q.Min; v <= q.Max; v++ {
			cur, ok := d.Scale[q.ID]
			icon, imp := theme.RadioButtonIcon(), widget.MediumImportance
			if ok && cur == v {
				icon, imp = theme.RadioButtonCheckedIcon(), widget.HighImportance
			}
			var state a11y.State
			if ok && cur == v {
				state = a11y.Selected
			}
			row.Add(u.buttonAs(a11y.RoleChoice, state, strconv.Itoa(v), icon, imp, func() { d.Scale[q.ID] = v; u.render() }))
		}
		// Half the width each: a wrapped label at a Border's side gets only
		// its minimum width, one letter a line.
		maxEnd := u.wrapped(u.tr("survey.scale_max", "n", q.Max, "label", u.txt(q.MaxLabel)))
		maxEnd.Alignment = fyne.TextAlignTrailing
		ends := container.NewGridWithColumns(2, u.wrapped(u.tr("survey.scale_min", "n", q.Min, "label", u.txt(q.MinLabel))), maxEnd)
		answer = container.NewVBox(row, ends)
	}
	back := u.button(u.tr("action.back"), theme.NavigateBackIcon(), widget.MediumImportance, func() { d.Step--; u.render() })
	last := d.Step == len(sv.Questions)-1
	var next, why fyne.CanvasObject
	switch {
	case !q.Optional && !d.Answered(q):
		// Why "next" cannot be used yet, above the buttons: they stay
		// where they are when it can.
		next, why = u.inactiveButton(u.tr("action.next"), theme.NavigateNextIcon()), u.notice(theme.InfoIcon(), u.tr("survey.answer_first"))
	case last:
		next = u.button(u.tr("survey.send"), theme.MailSendIcon(), widget.HighImportance, func() { u.sendSurvey(sv) })
	default:
		next = u.button(u.tr("action.next"), theme.NavigateNextIcon(), widget.HighImportance, func() { d.Step++; u.render() })
	}
	qn := widget.NewLabel(u.tr("survey.question", "n", d.Step+1, "of", len(sv.Questions)))
	u.textNode(a11y.RoleText, qn)
	top := container.NewVBox(container.NewBorder(nil, nil, nil, qn, title), u.subheading(u.txt(q.Text)))
	if q.Kind == api.QuestionText {
		if u.short() { // the question only, so the keyboard fits
			top = container.NewVBox(container.NewBorder(nil, nil, nil, qn, u.subheading(u.txt(q.Text))))
		}
		// The text and the keyboard, back and next beside its last row
		// (as when describing a problem).
		entry := u.textArea(d.Text[q.ID], u.tr("survey.text_placeholder"))
		u.fieldNode(u.txt(q.Text), entry, session.MaxSurveyText)
		entry.OnChanged = func(t string) { d.Text[q.ID] = api.CleanText(t, session.MaxSurveyText) }
		kb := u.newKeyboard(d.Text[q.ID], session.MaxSurveyText, func(t string) {
			was := d.Answered(q)
			d.Text[q.ID] = t
			entry.SetText(t)
			if d.Answered(q) != was { // "next" comes (or goes) with the first letter
				u.render()
			}
		})
		kb.back, kb.next = back, next
		if why != nil {
			top.Add(why)
		}
		return container.NewBorder(top, kb.build(), nil, nil, entry)
	}
	nav := container.NewVBox(container.NewGridWithColumns(2, back, next))
	if why != nil {
		nav.Objects = append([]fyne.CanvasObject{why}, nav.Objects...)
	}
	return container.NewBorder(top, nav, nil, nil, u.vscroll(answer))
}

func (u *UI) sendSurvey(sv api.Survey) {
	s := u.sess.Current()
	id := s.ID
	who, err := session.Respondent(sv, s)
	if err != nil {
		u.render()
		return
	}
	resp := backend.SurveyResponse(session.Response(sv, s, who))
	u.show(ScreenSurvey, u.busyScreen)
	u.opts.Async(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err = u.be.Respond(ctx, resp)
	}, func() {
		cur := u.sess.Current()
		if cur == nil || cur.ID != id {
			return
		}
		msg := u.tr("survey.thanks")
		switch {
		case errors.Is(err, localapi.ErrAlreadyAnswered):
			msg = u.tr("survey.already")
		case err != nil:
			u.log.Warn("survey response not stored", "err", err)
			u.showError(u.tr("error.submit"))
			return
		}
		cur.Answered[sv.ID] = true
		cur.Survey = session.SurveyDraft{}
		u.show(ScreenSurveyDone, func() fyne.CanvasObject {
			return container.NewVBox(u.heading(msg), container.NewGridWithColumns(2,
				u.button(u.tr("action.more"), theme.HomeIcon(), widget.MediumImportance, u.showHome),
				u.hinted(u.button(u.tr("action.done"), theme.ConfirmIcon(), widget.HighImportance, u.finish), "a11y.hint.done")))
		})
	})
}

// outOfOrderScreen says so in every language, since nobody can choose.
func (u *UI) outOfOrderScreen() fyne.CanvasObject {
	return u.everyLanguage(theme.WarningIcon(), "outoforder.title", "outoforder.text")
}

// startingScreen is shown until the agent first answers: calm words, no
// animation (the window starts on a slow board, sharing it with the agent).
func (u *UI) startingScreen() fyne.CanvasObject {
	return u.everyLanguage(theme.HistoryIcon(), "start.title", "start.text")
}

// everyLanguage is a notice in every language of the terminal (all the
// catalogue's screen languages before the content is known), each said
// in its own voice. More than three go in two columns: six one under
// the other do not fit a 1280 × 800 screen.
func (u *UI) everyLanguage(icon fyne.Resource, title, text string) fyne.CanvasObject {
	langs := u.content.Languages
	if len(langs) == 0 {
		for _, l := range u.cat.Languages() {
			if !u.speechOnly(l) { // not drawn (access.go: screenLang)
				langs = append(langs, l)
			}
		}
	}
	var cells []fyne.CanvasObject
	for _, l := range langs {
		h := u.subheading(u.cat.T(l, title))
		u.ownLanguage(l, false)
		h.Alignment = fyne.TextAlignCenter
		t := u.wrapped(u.cat.T(l, text))
		u.ownLanguage(l, false)
		t.Alignment = fyne.TextAlignCenter
		cells = append(cells, container.NewVBox(h, t))
	}
	var list fyne.CanvasObject = container.NewVBox(cells...)
	if len(cells) > 3 {
		list = newColumns(16*theme.TextSize(), 2, cells...)
	}
	return centre(1200, container.NewVBox(container.New(minSize{96, 96}, widget.NewIcon(icon)), list))
}
