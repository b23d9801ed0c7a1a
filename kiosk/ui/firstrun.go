package ui

// The first-run screen: a terminal without identity enrols here, once.
// A USB barcode scanner types the console's enrolment QR code text and
// Enter into the focused field; IT staff may type the token and the hub
// address instead, or have the agent read quartierhub-enrol.txt from a
// USB stick (the agent reads media, not the window). The agent enrols
// (POST /v1/enrol) and refuses once the terminal has an identity, so
// nothing here is reachable after enrolment. There is no "re-enrol" in
// the service menu: a new enrolment makes a new terminal at the hub and
// may point the terminal at another hub, which a card and a four-digit
// PIN should not decide; `kiosk enroll --force` on the terminal's shell
// does it.

import (
	"context"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/internal/userr"
	"github.com/quartierhub/quartierhub/kiosk/localapi"
	"github.com/quartierhub/quartierhub/kiosk/ui/backend"
)

// Screens of the first run.
const (
	ScreenFirstRun = "first-run"
	ScreenEnrolled = "first-run-done"
)

// EnrolledPause is how long the success screen stays before the resident
// app starts by itself.
const EnrolledPause = 10 * time.Second

// firstRun is the first-run screen's state: what was typed stays through
// a failure.
type firstRun struct {
	token, hub string
	busy       bool
	// failure: the reason (a localapi Enrol* code) and the agent's words
	reason, detail string
	done           localapi.EnrolResponse
	doneAt         time.Time
	fetched        *fetched // content and status after the enrolment
	// field is the token field while it takes input: the scanner types
	// into whatever has the focus, so it gets it.
	field *widget.Entry
}

type fetched struct {
	content api.Content
	status  localapi.Status
	err     error
}

// FirstRunField labels the first-run screen's text fields for Locate.
const (
	FieldToken = "firstrun.token"
	FieldHub   = "firstrun.hub"
)

func (u *UI) enrolled() bool { return u.status.Terminal.Enrolled }

func (u *UI) showFirstRun() {
	u.show(ScreenFirstRun, u.firstRunScreen)
	u.focusFirstRun()
}

// renderFirstRun shows the first-run screen's new state.
func (u *UI) renderFirstRun() {
	if u.name == ScreenFirstRun {
		u.render()
		u.focusFirstRun()
	}
}

func (u *UI) focusFirstRun() {
	if fr := &u.first; u.name == ScreenFirstRun && !fr.busy && fr.field != nil {
		u.win.Canvas().Focus(fr.field)
	}
}

func (u *UI) firstRunScreen() fyne.CanvasObject {
	fr := &u.first
	fr.field = nil
	token := widget.NewEntry()
	token.SetPlaceHolder(u.tr("firstrun.token.placeholder"))
	token.SetText(fr.token)
	token.OnChanged = func(s string) { fr.token = s }
	token.OnSubmitted = func(string) { u.enrol(false) }
	hub := widget.NewEntry()
	hub.SetPlaceHolder(u.tr("firstrun.hub.placeholder"))
	hub.SetText(fr.hub)
	hub.OnChanged = func(s string) { fr.hub = s }
	hub.OnSubmitted = func(string) { u.enrol(false) }
	u.addTarget(token, func() string { return u.tr(FieldToken) })
	u.addTarget(hub, func() string { return u.tr(FieldHub) })
	form := widget.NewForm(widget.NewFormItem(u.tr("firstrun.token"), token), widget.NewFormItem(u.tr("firstrun.hub"), hub))
	box := container.NewVBox(u.heading(u.tr("firstrun.title")), u.wrapped(u.tr("firstrun.text")), form)
	if fr.reason != "" {
		box.Add(u.notice(theme.ErrorIcon(), u.tr("firstrun.error."+fr.reason)))
		if fr.detail != "" {
			box.Add(u.wrapped(u.tr("firstrun.detail", "detail", fr.detail)))
		}
	}
	if fr.busy {
		token.Disable()
		hub.Disable()
		msg := u.subheading(u.tr("firstrun.busy"))
		msg.Alignment = fyne.TextAlignCenter
		box.Add(container.NewVBox(widget.NewProgressBarInfinite(), msg))
	} else {
		box.Add(newColumns(0, 2,
			u.button(u.tr("firstrun.media"), theme.StorageIcon(), widget.MediumImportance, func() { u.enrol(true) }),
			u.button(u.tr("firstrun.enrol"), theme.ConfirmIcon(), widget.HighImportance, func() { u.enrol(false) })))
		fr.field = token
	}
	return centre(900, box)
}

// enrolRequest is what the fields say: the QR code text when the token
// field holds one (a scanner typed it), else the token and hub typed.
func (fr *firstRun) enrolRequest(fromMedia bool) localapi.EnrolRequest {
	if fromMedia {
		return localapi.EnrolRequest{FromMedia: true}
	}
	t := strings.TrimSpace(fr.token)
	if strings.HasPrefix(t, api.EnrolmentScheme+":") {
		return localapi.EnrolRequest{URI: t}
	}
	return localapi.EnrolRequest{Hub: strings.TrimSpace(fr.hub), Token: t}
}

// enrol asks the agent to enrol; the fields keep their text whatever
// the outcome.
func (u *UI) enrol(fromMedia bool) {
	fr := &u.first
	if fr.busy || u.name != ScreenFirstRun {
		return
	}
	req := fr.enrolRequest(fromMedia)
	if !fromMedia && req.URI == "" && (req.Token == "" || req.Hub == "") {
		fr.reason, fr.detail = localapi.EnrolInvalid, ""
		u.renderFirstRun()
		return
	}
	en, ok := u.be.(backend.Enroller)
	if !ok {
		fr.reason, fr.detail = localapi.EnrolFailed, ""
		u.renderFirstRun()
		return
	}
	fr.busy, fr.reason, fr.detail = true, "", ""
	u.renderFirstRun()
	var resp localapi.EnrolResponse
	var err error
	var after *fetched
	u.opts.Async(func() {
		// The hub may take its time; the agent tries a few times.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		resp, err = en.Enrol(ctx, req)
		if err == nil {
			c, st, ferr := u.Fetch(ctx)
			after = &fetched{c, st, ferr}
		}
	}, func() {
		fr.busy = false
		if err != nil {
			fr.reason, fr.detail = localapi.EnrolReason(err), userr.Message(err, "")
			u.log.Warn("enrolment failed", "reason", fr.reason, "err", err)
			if fr.reason == localapi.EnrolAlreadyDone {
				// Enrolled meanwhile (kiosk enroll on the shell): serve.
				u.status.Terminal.Enrolled = true
				u.showAttract()
				return
			}
			u.renderFirstRun()
			return
		}
		fr.token, fr.hub = "", "" // the token is spent; the hub is known now
		fr.done, fr.doneAt, fr.fetched = resp, u.opts.Now(), after
		u.status.Terminal = localapi.Terminal{Enrolled: true, TerminalID: resp.TerminalID, Name: resp.Name, Quarter: resp.Quarter, HubURL: resp.HubURL}
		u.show(ScreenEnrolled, u.enrolledScreen)
	})
}

func (u *UI) enrolledScreen() fyne.CanvasObject {
	d := u.first.done
	title, name := u.heading(u.tr("firstrun.done.title")), u.heading(d.Name)
	title.Alignment, name.Alignment = fyne.TextAlignCenter, fyne.TextAlignCenter
	box := container.NewVBox(container.New(minSize{96, 96}, widget.NewIcon(theme.ConfirmIcon())),
		title, name,
		u.wrapped(u.tr("firstrun.done.text", "quarter", d.Quarter, "hub", d.HubURL)),
		u.button(u.tr("firstrun.continue"), theme.NavigateNextIcon(), widget.HighImportance, u.leaveFirstRun))
	return centre(900, box)
}

// leaveFirstRun starts the resident app with what the agent said after
// the enrolment (the attract screen).
func (u *UI) leaveFirstRun() {
	if u.name != ScreenEnrolled {
		return
	}
	if f := u.first.fetched; f != nil && f.err == nil {
		u.setContent(f.content)
		u.setStatus(f.status)
	}
	u.status.Terminal.Enrolled = true
	u.first = firstRun{}
	u.showAttract()
}
