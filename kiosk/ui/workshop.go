package ui

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
	"rsc.io/qr"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/kiosk/a11y"
	"github.com/quartierhub/quartierhub/kiosk/localapi"
	"github.com/quartierhub/quartierhub/kiosk/session"
	"github.com/quartierhub/quartierhub/kiosk/ui/backend"
)

// The workshop screens. While the agent says the terminal takes part in
// a workshop (GET /v1/workshop: Active), the attract screen is the
// workshop's (title, question, phase and timer, the phones' join QR
// code) and a session is a participant's: a card or a guest number
// checks in, then the screen follows the workshop's phase (ideas, the
// themes as they form, dots, results). The session's usual rules hold
// (timeout with a warning, card removed, End): when it ends the window
// forgets the voter, the draft and every message of it. The agent's
// "workshop" event makes the window fetch the view again.
//
// What a participant reads is decided in kiosk/ui/backend (Workshop,
// no Fyne); this file lays it out.

// Workshop screen names.
const (
	ScreenWorkshop          = "workshop"          // the attract screen of a workshop
	ScreenWorkshopJoin      = "workshop-join"     // check in: card or guest number
	ScreenWorkshopWait      = "workshop-wait"     // not begun, or over
	ScreenWorkshopIdeas     = "workshop-ideas"    // write ideas
	ScreenWorkshopThemes    = "workshop-themes"   // the themes, read-only
	ScreenWorkshopVote      = "workshop-vote"     // place dots
	ScreenWorkshopResults   = "workshop-results"  // the ranking
	ScreenWorkshopModerator = "workshop-moderate" // a moderator's choice at the terminal (service or moderator's card + PIN)
	ScreenWorkshopTable     = "workshop-table"    // a café's participant names their table
)

// workshopUI is the window's workshop state (touched on the Fyne
// goroutine only).
type workshopUI struct {
	view            backend.Workshop
	fetching, again bool

	// The participant, valid only while the session with this ID runs
	// (voterNow); showAttract forgets all of it.
	session      string
	voter, label string
	draft        string
	// msg is the translation key of what the last action brought (a
	// refusal or a confirmation), bad whether it was refused.
	msg string
	bad bool

	// timer is the phase's countdown on the screen shown (Tick sets it).
	timer *widget.Label
	// list is the scrolled list of the screen listOf; built again (a
	// dot given, the agent's news) it keeps where it was scrolled to.
	list   *container.Scroll
	listOf string

	// author is the participant's first name for their ideas (named
	// workshops; "" for none), naming whether the keyboard edits it.
	author string
	naming bool
	// table is the participant's café table, chosen in café round
	// tableRound (a new round asks again).
	table, tableRound int

	// The moderator: the service or moderator's card and PIN that opened
	// the service menu or the workshop's screen, kept only while it is
	// open (closeService forgets them); modOnly: a moderator's card, which
	// opens the workshop's screen and nothing else of the service menu.
	modCard, modPIN string
	modMsg          string
	modOnly         bool
}

// participant screens, by the backend's step.
var workshopSteps = map[string]string{
	backend.StepWait:    ScreenWorkshopWait,
	backend.StepIdeas:   ScreenWorkshopIdeas,
	backend.StepThemes:  ScreenWorkshopThemes,
	backend.StepVote:    ScreenWorkshopVote,
	backend.StepResults: ScreenWorkshopResults,
}

// participantScreen reports whether name is a participant's screen.
func participantScreen(name string) bool {
	return name == ScreenWorkshopJoin || strings.HasPrefix(name, "workshop-") && name != ScreenWorkshopModerator
}

// WorkshopView is the workshop as the window last fetched it (tests).
func (u *UI) WorkshopView() backend.Workshop { return u.ws.view }

// Voter is the checked-in participant's voter ID, "" if none (tests).
func (u *UI) Voter() string { return u.voterNow() }

// voterNow is the checked-in voter of the running session, or "".
func (u *UI) voterNow() string {
	if s := u.sess.Current(); s != nil && s.ID == u.ws.session {
		return u.ws.voter
	}
	return ""
}

// forgetParticipant drops everything of the last participant.
func (u *UI) forgetParticipant() {
	u.ws.session, u.ws.voter, u.ws.label, u.ws.draft, u.ws.msg, u.ws.bad = "", "", "", "", "", false
	u.ws.author, u.ws.naming, u.ws.table, u.ws.tableRound = "", false, 0, 0
	u.ws.list, u.ws.listOf = nil, ""
	u.ws.view.Me = nil
	for i := range u.ws.view.Ideas {
		u.ws.view.Ideas[i].Mine = false
	}
	for i := range u.ws.view.Items {
		u.ws.view.Items[i].Mine = nil
	}
}

// refreshWorkshop fetches the workshop (for the voter checked in now)
// and applies it; calls while one runs coalesce into one more.
func (u *UI) refreshWorkshop() {
	if u.ws.fetching {
		u.ws.again = true
		return
	}
	u.ws.fetching = true
	voter := u.voterNow()
	var v localapi.WorkshopView
	var err error
	u.opts.Async(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		v, err = u.be.Workshop(ctx, voter)
	}, func() {
		u.ws.fetching = false
		if err != nil {
			// An agent without workshops, or a moment without an answer:
			// the screen stays as it is (the next event or poll tries again).
			u.log.Debug("workshop view", "err", err)
		} else {
			u.applyWorkshop(backend.WorkshopOf(v), voter)
		}
		if u.ws.again {
			u.ws.again = false
			u.refreshWorkshop()
		}
	})
}

// applyWorkshop shows a fetched view: the workshop attract screen when
// the terminal joins a workshop, the normal one when it leaves, the
// participant's screen for the phase now.
func (u *UI) applyWorkshop(v backend.Workshop, voter string) {
	if voter != u.voterNow() { // the session changed meanwhile: nothing of that voter
		v.Me = nil
		for i := range v.Ideas {
			v.Ideas[i].Mine = false
		}
		for i := range v.Items {
			v.Items[i].Mine = nil
		}
	}
	was := u.ws.view
	u.ws.view = v
	switch {
	case u.name == ScreenWorkshopModerator || u.name == ScreenService:
		if u.name == ScreenWorkshopModerator {
			u.render()
		}
	case was.Active != v.Active || was.ID != v.ID:
		// Into, out of or to another workshop: a participant's voter
		// belongs to the old one, a resident's session to the services.
		if participantScreen(u.name) || u.name == ScreenWorkshop {
			if u.sess.Current() != nil {
				u.sess.End(session.EndDone)
				u.hideWarning()
			}
			u.showAttract()
		} else if u.name == ScreenAttract {
			u.showAttract()
		}
	case u.name == ScreenWorkshop:
		u.render()
	case participantScreen(u.name) && u.name != ScreenWorkshopJoin:
		if u.stepScreen() != u.name {
			u.showWorkshopStep()
		} else if shows(u.name, was) != shows(u.name, v) {
			// Only for news this screen shows: the keyboard is not
			// rebuilt under the fingers of someone typing for another's
			// idea, nor a list for another's hidden dot.
			u.render()
		}
	}
}

// shows is what the participant's screen name shows of w (compared to
// tell whether news changes it): the connection, the phase, the voter,
// and the screen's own part.
func shows(name string, w backend.Workshop) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%t|%+v|%t|%t|", w.Online, w.Phase, w.Started, w.Ended)
	if w.Me != nil {
		fmt.Fprintf(&b, "%+v|", *w.Me)
	}
	switch name {
	case ScreenWorkshopIdeas:
		fmt.Fprintf(&b, "%d|%t|%d|%+v", w.MaxIdeaChars, w.Named, w.Tables, w.MyIdeas())
	case ScreenWorkshopTable:
		fmt.Fprintf(&b, "%d", w.Tables)
	case ScreenWorkshopThemes:
		fmt.Fprintf(&b, "%+v|%+v|%+v", w.Themes, w.Unsorted(), w.Parked())
	case ScreenWorkshopVote:
		if w.Round != nil {
			fmt.Fprintf(&b, "%+v|", *w.Round)
		}
		fmt.Fprintf(&b, "%+v", w.Items)
	default:
		fmt.Fprintf(&b, "%+v|%s|%s", w.Results, w.Title, w.Question)
	}
	return b.String()
}

// scrolled puts a screen's list in a scroll that keeps its place when
// the same screen is built again.
func (u *UI) scrolled(list fyne.CanvasObject) *container.Scroll {
	sc := u.vscroll(list)
	if u.ws.list != nil && u.ws.listOf == u.name {
		sc.Offset = u.ws.list.Offset
	}
	u.ws.list, u.ws.listOf = sc, u.name
	return sc
}

// stepScreen is the participant's screen for the phase now: a café's
// ideas phase first asks for the table.
func (u *UI) stepScreen() string {
	name := workshopSteps[u.ws.view.Step()]
	if name == ScreenWorkshopIdeas && u.ws.view.AsksTable() && u.cafeTable() == 0 {
		return ScreenWorkshopTable
	}
	return name
}

// cafeTable is the participant's table in this café round, 0 if none
// was chosen (or the workshop asks for none).
func (u *UI) cafeTable() int {
	if w := u.ws.view; !w.AsksTable() || u.ws.tableRound != w.Phase.Round || u.ws.table > w.Tables {
		return 0
	}
	return u.ws.table
}

// showWorkshopStep shows the participant the screen of the phase now
// (or the check-in, without a voter).
func (u *UI) showWorkshopStep() {
	if u.voterNow() == "" {
		u.show(ScreenWorkshopJoin, u.workshopJoinScreen)
		return
	}
	name := u.stepScreen()
	if name != ScreenWorkshopIdeas {
		u.ws.naming = false // the name's keyboard belongs to the ideas screen
	}
	switch name {
	case ScreenWorkshopTable:
		u.show(name, u.workshopTableScreen)
	case ScreenWorkshopIdeas:
		u.show(name, u.workshopIdeasScreen)
	case ScreenWorkshopThemes:
		u.show(name, u.workshopThemesScreen)
	case ScreenWorkshopVote:
		u.show(name, u.workshopVoteScreen)
	case ScreenWorkshopResults:
		u.show(name, u.workshopResultsScreen)
	default:
		u.show(ScreenWorkshopWait, u.workshopWaitScreen)
	}
}

// refusal is the translation key that says why err happened.
func (u *UI) refusal(err error) string {
	code := backend.WorkshopRefusal(err)
	if key := "workshop.reason." + code; code != "" && u.cat.HasKey(key) {
		return key
	}
	return "workshop.reason.other"
}

// workshopCard checks the card's holder in (the session already runs).
func (u *UI) workshopCard(hash string) {
	if u.voterNow() != "" {
		return // checked in: another card on the reader does not take over
	}
	u.workshopCheckIn(localapi.WorkshopCheckinRequest{CardHash: hash})
}

// workshopCheckIn checks the session's participant in and shows the
// phase's screen.
func (u *UI) workshopCheckIn(req localapi.WorkshopCheckinRequest) {
	s := u.sess.Current()
	if s == nil {
		s = u.sess.Start("")
	}
	id := s.ID
	var (
		resp      localapi.WorkshopCheckin
		view      localapi.WorkshopView
		err, verr error
	)
	u.ws.msg = ""
	u.show(ScreenWorkshopJoin, u.busyScreen)
	u.opts.Async(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		resp, err = u.be.WorkshopCheckin(ctx, req)
		if req.CardHash != "" && backend.WorkshopRefusal(err) == "duplicate" {
			// The same card's check-in raced this one (a reader that
			// reads a card twice): now it has its voter, which a card
			// gets back.
			resp, err = u.be.WorkshopCheckin(ctx, req)
		}
		if err == nil {
			view, verr = u.be.Workshop(ctx, resp.Voter)
		}
	}, func() {
		if cur := u.sess.Current(); cur == nil || cur.ID != id {
			return // the session ended meanwhile
		}
		if err != nil {
			u.log.Info("workshop check-in refused", "code", backend.WorkshopRefusal(err))
			u.ws.msg, u.ws.bad = u.refusal(err), true
			u.show(ScreenWorkshopJoin, u.workshopJoinScreen)
			return
		}
		u.ws.session, u.ws.voter, u.ws.label = id, resp.Voter, resp.Label
		if verr == nil {
			u.ws.view = backend.WorkshopOf(view)
		}
		u.showWorkshopStep()
	})
}

// workshopAct runs one participant action, then fetches the view for
// the voter and shows the phase's screen with what came of it: ok (a
// translation key) or why it was refused.
func (u *UI) workshopAct(ok string, do func(ctx context.Context, voter string) error, after func()) {
	s := u.sess.Current()
	voter := u.voterNow()
	if s == nil || voter == "" {
		return
	}
	id := s.ID
	var (
		err, verr error
		view      localapi.WorkshopView
	)
	u.opts.Async(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err = do(ctx, voter)
		view, verr = u.be.Workshop(ctx, voter)
	}, func() {
		if cur := u.sess.Current(); cur == nil || cur.ID != id {
			return
		}
		if verr == nil {
			u.ws.view = backend.WorkshopOf(view)
		}
		u.ws.msg, u.ws.bad = ok, false
		if err != nil {
			u.log.Info("workshop action refused", "code", backend.WorkshopRefusal(err))
			u.ws.msg, u.ws.bad = u.refusal(err), true
		} else if after != nil {
			after()
		}
		u.showWorkshopStep()
	})
}

func (u *UI) sendIdea() {
	text := strings.TrimSpace(api.CleanText(u.ws.draft, u.ideaMax()))
	if text == "" {
		u.ws.msg, u.ws.bad = "workshop.ideas.empty", true
		u.showWorkshopStep()
		return
	}
	ok := "workshop.ideas.sent"
	if !u.ws.view.Online {
		ok = "workshop.ideas.kept"
	}
	req := localapi.WorkshopIdeaRequest{Text: text, Table: u.cafeTable()}
	if u.ws.view.Named {
		req.Author = strings.TrimSpace(api.CleanText(u.ws.author, backend.MaxAuthorName))
	}
	u.workshopAct(ok, func(ctx context.Context, voter string) error {
		req.Voter = voter
		_, err := u.be.WorkshopIdea(ctx, req)
		return err
	}, func() { u.ws.draft = "" })
}

func (u *UI) ideasDone() {
	u.workshopAct("workshop.ideas.done_thanks", func(ctx context.Context, voter string) error {
		return u.be.WorkshopDone(ctx, localapi.WorkshopDoneRequest{Voter: voter})
	}, nil)
}

func (u *UI) addDot(item string) {
	u.workshopAct("", func(ctx context.Context, voter string) error {
		_, err := u.be.WorkshopDot(ctx, localapi.WorkshopDotRequest{Voter: voter, Item: item})
		return err
	}, nil)
}

func (u *UI) takeDot(dot string) {
	u.workshopAct("", func(ctx context.Context, voter string) error {
		_, err := u.be.WorkshopDotTake(ctx, localapi.WorkshopDotTakeRequest{Voter: voter, Dot: dot})
		return err
	}, nil)
}

// ideaMax is the longest idea the workshop takes.
func (u *UI) ideaMax() int {
	if n := u.ws.view.MaxIdeaChars; n > 0 {
		return n
	}
	return 280
}

// tickWorkshop counts the phase's timer down on the screen shown.
func (u *UI) tickWorkshop() {
	if u.ws.timer != nil {
		u.ws.timer.SetText(u.phaseLine())
	}
}

// phaseLine: "Phase 2 of 4: Ideen sammeln · noch 4:59".
func (u *UI) phaseLine() string {
	w := u.ws.view
	var line string
	switch {
	case w.Ended:
		line = u.tr("workshop.phase.ended")
	case !w.Started || w.Phase.Kind == "":
		line = u.tr("workshop.phase.not_started")
	default:
		title := w.Phase.Title
		if title == "" {
			title = u.tr("workshop.phase." + w.Phase.Kind)
		}
		line = u.tr("workshop.phase.line", "n", w.Phase.Index+1, "of", max(w.Phase.Count, w.Phase.Index+1), "title", title)
	}
	if left, ok := w.TimeLeft(u.opts.Now()); ok && !w.Ended {
		if left == 0 {
			line += " · " + u.tr("workshop.phase.time_up")
		} else {
			line += " · " + u.tr("workshop.phase.left", "time", backend.Clock(left))
		}
	}
	return line
}

// offlineBanner is the calm note that input waits for the hub.
func (u *UI) offlineBanner() fyne.CanvasObject {
	if u.ws.view.Online {
		return nil
	}
	return u.notice(theme.MediaReplayIcon(), u.tr("workshop.offline"))
}

// qrImage draws text as a QR code, side at least side, black on white
// whatever the theme (scanners want dark on light).
func qrImage(text string, side float32) fyne.CanvasObject {
	code, err := qr.Encode(text, qr.M)
	if err != nil {
		return nil
	}
	// Its modules into a plain bitmap with the 4-module quiet zone
	// scanners need; drawn scaled by whole pixels, never smoothed.
	n := code.Size + 8
	bits := image.NewGray(image.Rect(0, 0, n, n))
	for i := range bits.Pix {
		bits.Pix[i] = 0xff
	}
	for y := range code.Size {
		for x := range code.Size {
			if code.Black(x, y) {
				bits.SetGray(x+4, y+4, color.Gray{})
			}
		}
	}
	img := canvas.NewImageFromImage(bits)
	img.ScaleMode = canvas.ImageScalePixels
	img.FillMode = canvas.ImageFillContain
	img.SetMinSize(fyne.NewSize(side, side))
	return img
}

// workshopAttractScreen is the attract screen of a workshop.
func (u *UI) workshopAttractScreen() fyne.CanvasObject {
	w := u.ws.view
	short := u.short()
	title := u.heading(w.Title)
	question := u.subheading(w.Question)
	if short {
		question = u.wrapped(w.Question)
		question.TextStyle.Bold = true
	}
	u.ws.timer = u.wrapped(u.phaseLine())
	phase := container.NewBorder(nil, nil, container.New(minSize{40, 40}, widget.NewIcon(theme.HistoryIcon())), nil, u.ws.timer)
	left := container.NewVBox(title, question, phase)
	if w.Started && !w.Ended {
		left.Add(u.notice(theme.AccountIcon(), u.tr("workshop.attract.counts", "voters", w.Voters, "ideas", w.IdeaCount)))
	}
	left.Add(widget.NewSeparator())
	if b := u.offlineBanner(); b != nil {
		left.Add(b)
	}
	left.Add(u.notice(theme.LoginIcon(), u.tr("workshop.attract.card")))
	if !w.JoinOpen { // a guest number would be refused: say so at once
		left.Add(u.notice(theme.InfoIcon(), u.tr("workshop.reason.join_closed")))
	} else {
		left.Add(container.NewGridWithColumns(1, u.button(u.tr("workshop.attract.guest"), theme.ContentAddIcon(), widget.HighImportance, func() {
			u.workshopCheckIn(localapi.WorkshopCheckinRequest{Guest: true})
		})))
	}
	var body fyne.CanvasObject = left
	if w.JoinURL != "" {
		side := float32(420) // readable from a step away
		if short {
			side = 220
		}
		if q := qrImage(w.JoinURL, side); q != nil {
			caption := u.wrapped(u.tr("workshop.attract.phone"))
			caption.Alignment = fyne.TextAlignCenter
			url := widget.NewLabel(w.JoinURL)
			url.Alignment = fyne.TextAlignCenter
			url.SizeName = theme.SizeNameCaptionText
			url.Truncation = fyne.TextTruncateEllipsis
			right := container.NewVBox(caption, container.NewCenter(q), url)
			body = container.New(split{0.6}, left, right)
		}
	}
	tl := newTapLayer(func() { u.startSession("") })
	u.addTarget(tl, func() string { return AttractArea })
	u.attractTap = tl.onTap
	for i := range u.nodes { // Enter on any of its items starts a session, as a touch
		if u.nodes[i].Action == nil {
			u.nodes[i].Action = tl.onTap
		}
	}
	return container.NewStack(tl, body)
}

// workshopHead is the top of a participant's screen: the phase and its
// timer, who is checked in, the offline note and the last action's
// outcome.
func (u *UI) workshopHead() *fyne.Container {
	u.ws.timer = u.wrapped(u.phaseLine())
	u.ws.timer.TextStyle.Bold = true
	var who fyne.CanvasObject
	if u.ws.label != "" {
		me := u.tr("workshop.me", "label", u.ws.label)
		if t := u.cafeTable(); t > 0 {
			me += " · " + u.tr("workshop.table.n", "n", t)
		}
		l := widget.NewLabel(me)
		l.TextStyle.Bold = true
		who = container.NewHBox(container.New(minSize{32, 32}, widget.NewIcon(theme.AccountIcon())), l)
	}
	head := container.NewVBox(container.NewBorder(nil, nil, nil, who, u.ws.timer))
	if b := u.offlineBanner(); b != nil {
		head.Add(b)
	}
	if m := u.ws.view.Me; m != nil && m.Removed {
		head.Add(u.notice(theme.WarningIcon(), u.tr("workshop.reason.removed")))
	}
	if u.ws.msg != "" {
		icon := theme.ConfirmIcon()
		if u.ws.bad {
			icon = theme.WarningIcon()
		}
		head.Add(u.notice(icon, u.tr(u.ws.msg)))
	}
	return head
}

// quietSuccess takes an idea's "sent" or "kept" note off the head of
// the ideas screen and returns it: the emptied text box says it (the
// keyboard needs the room).
func (u *UI) quietSuccess() string {
	if m := u.ws.msg; !u.ws.bad && (m == "workshop.ideas.sent" || m == "workshop.ideas.kept") {
		u.ws.msg = ""
		return m
	}
	return ""
}

// workshopJoinScreen asks a participant to check in.
func (u *UI) workshopJoinScreen() fyne.CanvasObject {
	w := u.ws.view
	box := container.NewVBox(u.heading(u.tr("workshop.join.title")), u.wrapped(w.Question))
	if u.ws.msg != "" {
		box.Add(u.notice(theme.WarningIcon(), u.tr(u.ws.msg)))
	}
	box.Add(u.notice(theme.AccountIcon(), u.tr("workshop.join.card")))
	if w.JoinOpen {
		box.Add(u.wrapped(u.tr("workshop.join.or")))
		box.Add(container.NewGridWithColumns(2, u.button(u.tr("workshop.attract.guest"), theme.ContentAddIcon(), widget.HighImportance, func() {
			u.workshopCheckIn(localapi.WorkshopCheckinRequest{Guest: true})
		})))
	} else if u.ws.msg != "workshop.reason.join_closed" {
		box.Add(u.notice(theme.InfoIcon(), u.tr("workshop.reason.join_closed")))
	}
	box.Add(u.notice(theme.VisibilityOffIcon(), u.tr("workshop.join.private")))
	return box
}

// workshopWaitScreen: the workshop has not begun, or is over.
func (u *UI) workshopWaitScreen() fyne.CanvasObject {
	w := u.ws.view
	key := "workshop.wait.soon"
	if w.Ended {
		key = "workshop.wait.ended"
	}
	box := u.workshopHead()
	box.Add(u.heading(w.Title))
	box.Add(u.wrapped(w.Question))
	box.Add(u.notice(theme.InfoIcon(), u.tr(key)))
	return box
}

// workshopIdeasScreen: an idea on the on-screen keyboard, the length
// left, the voter's own ideas, "I'm done".
func (u *UI) workshopIdeasScreen() fyne.CanvasObject {
	w := u.ws.view
	if w.Named && u.ws.naming {
		return u.workshopNameScreen()
	}
	maxLen := u.ideaMax()
	placeholder := u.tr("workshop.ideas.placeholder")
	if said := u.quietSuccess(); said != "" {
		placeholder = u.tr(said) + " " + u.tr("workshop.ideas.next")
	}
	entry := u.textArea(u.ws.draft, placeholder)
	u.fieldNode(w.Question, entry, maxLen)
	if u.short() {
		entry.SetMinRowsVisible(1) // an idea is short; it grows where there is room
	}
	counter := func(t string) string {
		return u.tr("workshop.ideas.count", "n", len([]rune(t)), "max", maxLen)
	}
	count := widget.NewLabel(counter(u.ws.draft))
	count.Alignment = fyne.TextAlignTrailing
	kb := u.newKeyboard(u.ws.draft, maxLen, func(t string) {
		u.ws.draft = t
		entry.SetText(t)
		count.SetText(counter(t))
	})
	// A hardware keyboard or a paste: the agent takes what the cap allows.
	entry.OnChanged = func(t string) { u.ws.draft = api.CleanText(t, maxLen) }
	kb.back = u.button(u.tr("workshop.ideas.done"), theme.ConfirmIcon(), widget.MediumImportance, u.ideasDone)
	kb.next = u.button(u.tr("workshop.ideas.send"), theme.MailSendIcon(), widget.HighImportance, u.sendIdea)
	widest := widget.NewLabel(counter(strings.Repeat("x", maxLen))).MinSize().Width
	q := u.subheading(w.Question)
	if u.short() { // one line: the keyboard needs the room
		q = widget.NewLabel(w.Question)
		q.TextStyle.Bold = true
		q.Truncation = fyne.TextTruncateEllipsis
	}
	short := u.short()
	top := u.workshopHead()
	var right fyne.CanvasObject = container.New(minSize{widest, 0}, count)
	if w.Named { // the name beside the count: the keyboard needs the rows
		label := u.tr("workshop.name.add")
		if u.ws.author != "" {
			label = u.tr("workshop.name.shown", "name", u.ws.author)
		}
		right = container.NewHBox(u.button(label, theme.AccountIcon(), widget.MediumImportance, func() {
			u.ws.naming = true
			u.render()
		}), right)
	}
	top.Add(container.NewBorder(nil, nil, nil, right, q))
	mine := w.MyIdeas()
	show := 3
	if short { // the keyboard needs the room: the note of what sending did instead
		show = 0
	}
	for k, i := range mine[max(0, len(mine)-show):] {
		icon, text := theme.ConfirmIcon(), u.signed(backend.Short(i.Text, 90), i.Author)
		if i.Pending {
			icon, text = theme.MediaReplayIcon(), text+" – "+u.tr("workshop.pending")
		}
		if k == 0 {
			text = u.tr("workshop.ideas.mine", "n", len(mine)) + " " + text
		}
		top.Add(u.notice(icon, text))
	}
	return container.NewBorder(top, kb.build(), nil, nil, entry)
}

// workshopNameScreen is the ideas screen while the participant types
// the first name their ideas carry (named workshops; optional).
func (u *UI) workshopNameScreen() fyne.CanvasObject {
	entry := widget.NewEntry()
	entry.SetPlaceHolder(u.tr("workshop.name.placeholder"))
	entry.SetText(u.ws.author)
	u.fieldNode(u.tr("workshop.name.title"), entry, backend.MaxAuthorName)
	counter := func(t string) string {
		return u.tr("workshop.ideas.count", "n", len([]rune(t)), "max", backend.MaxAuthorName)
	}
	count := widget.NewLabel(counter(u.ws.author))
	count.Alignment = fyne.TextAlignTrailing
	kb := u.newKeyboard(u.ws.author, backend.MaxAuthorName, func(t string) {
		u.ws.author = t
		entry.SetText(t)
		count.SetText(counter(t))
	})
	entry.OnChanged = func(t string) { u.ws.author = api.CleanText(t, backend.MaxAuthorName) }
	kb.back = u.button(u.tr("workshop.name.none"), theme.CancelIcon(), widget.MediumImportance, func() {
		u.ws.author, u.ws.naming = "", false
		u.render()
	})
	kb.next = u.button(u.tr("workshop.name.ok"), theme.ConfirmIcon(), widget.HighImportance, func() {
		u.ws.author, u.ws.naming = strings.TrimSpace(api.CleanText(u.ws.author, backend.MaxAuthorName)), false
		u.render()
	})
	widest := widget.NewLabel(counter(strings.Repeat("x", backend.MaxAuthorName))).MinSize().Width
	right := container.New(minSize{widest, 0}, count)
	top := u.workshopHead()
	hint := u.notice(theme.VisibilityIcon(), u.tr("workshop.name.hint"))
	if u.short() { // the hint says what the title would: the keyboard needs the room
		top.Add(container.NewBorder(nil, nil, nil, right, hint))
	} else {
		top.Add(container.NewBorder(nil, nil, nil, right, u.title(u.tr("workshop.name.title"))))
		top.Add(hint)
	}
	return container.NewBorder(top, kb.build(), nil, nil, container.NewVBox(entry))
}

// workshopTableScreen: a café's participant names the table they sit
// at, once a session and round; their ideas then carry it.
func (u *UI) workshopTableScreen() fyne.CanvasObject {
	w := u.ws.view
	top := u.workshopHead()
	top.Add(u.title(u.tr("workshop.table.title")))
	top.Add(u.wrapped(u.tr("workshop.table.hint")))
	tables := newColumns(8*theme.TextSize(), 4)
	for n := 1; n <= w.Tables; n++ {
		tables.Add(u.newChoice(u.tr("workshop.table.n", "n", n), radioIcon(false), false, func() {
			u.ws.table, u.ws.tableRound, u.ws.msg = n, w.Phase.Round, ""
			u.showWorkshopStep()
		}))
	}
	return container.NewBorder(top, nil, nil, nil, u.scrolled(tables))
}

// signed is an idea's text with its writer's first name, if it has one.
func (u *UI) signed(text, author string) string {
	if author == "" {
		return text
	}
	return u.tr("workshop.ideas.signed", "text", text, "name", author)
}

// workshopThemesScreen: the themes as the moderator forms them.
func (u *UI) workshopThemesScreen() fyne.CanvasObject {
	w := u.ws.view
	top := u.workshopHead()
	top.Add(u.title(u.tr("workshop.themes.title")))
	if !u.short() {
		top.Add(u.wrapped(u.tr("workshop.themes.hint")))
	}
	cols := newColumns(16*theme.TextSize(), 3)
	bullets := func(ideas []backend.Idea) string {
		lines := make([]string, len(ideas))
		for i, t := range ideas {
			lines[i] = "• " + u.signed(backend.Short(t.Text, 80), t.Author)
		}
		return strings.Join(lines, "\n")
	}
	for _, t := range w.Themes {
		card := container.NewVBox(u.subheading(t.Name))
		if len(t.Ideas) == 0 {
			card.Add(u.wrapped(u.tr("workshop.themes.empty")))
		} else {
			card.Add(u.wrapped(bullets(t.Ideas)))
		}
		cols.Add(card)
	}
	if len(w.Themes) == 0 {
		top.Add(u.notice(theme.InfoIcon(), u.tr("workshop.themes.none")))
	}
	if n := len(w.Unsorted()); n > 0 {
		top.Add(u.notice(theme.ListIcon(), u.tr("workshop.themes.unsorted", "n", n)))
	}
	if p := w.Parked(); len(p) > 0 {
		cols.Add(container.NewVBox(u.subheading(u.tr("workshop.themes.parking")), u.wrapped(bullets(p))))
	}
	return container.NewBorder(top, nil, nil, nil, u.scrolled(cols))
}

// ItemAction is the label Locate takes for a vote item's button: the
// action's words and the item's text ("Add a dot: More benches").
func ItemAction(action, item string) string { return action + ": " + item }

// itemButton is a vote item's button; its Locate label names the item.
func (u *UI) itemButton(label, item string, icon fyne.Resource, imp widget.Importance, enabled bool, tapped func()) fyne.CanvasObject {
	b := widget.NewButtonWithIcon(label, icon, u.act(tapped))
	b.Importance = imp
	if !enabled {
		b.Disable()
	}
	u.addTarget(b, func() string { return ItemAction(b.Text, item) })
	var state a11y.State
	if !enabled {
		state = a11y.Disabled
	}
	u.node(accNode{Node: a11y.Node{Role: a11y.RoleButton, State: state, Action: b.OnTapped, Target: b},
		live: func() string { return ItemAction(b.Text, item) }})
	return touch(b)
}

// workshopVoteScreen: every item a row with the voter's dots on it in
// words and an icon (counted, waiting to be sent, over the limit), − and +.
func (u *UI) workshopVoteScreen() fyne.CanvasObject {
	w := u.ws.view
	top := u.workshopHead()
	title := u.tr("workshop.vote.title")
	if w.Round != nil && w.Round.OnThemes {
		title = u.tr("workshop.vote.title_themes")
	}
	var left fyne.CanvasObject
	if w.Me != nil && w.Round != nil {
		l := u.subheading(u.tr("workshop.vote.left", "left", w.Me.DotsLeft, "of", w.Round.Dots))
		l.Wrapping = fyne.TextWrapOff
		left = l
	}
	top.Add(container.NewBorder(nil, nil, nil, left, u.title(title)))
	switch {
	case w.Round != nil && w.Round.Closed:
		top.Add(u.notice(theme.InfoIcon(), u.tr("workshop.vote.closed")))
	case w.Me != nil && w.Me.DotsLeft <= 0:
		top.Add(u.notice(theme.InfoIcon(), u.tr("workshop.vote.none_left")))
	}
	list := container.NewVBox()
	for k, it := range w.Items {
		canAdd, why := w.CanAdd(it)
		line, icon := u.dotsLine(it)
		if !canAdd && why == "workshop.vote.item_full" {
			line = strings.TrimPrefix(line+" · "+u.tr(why), " · ")
		}
		// The item's text and the voter's dots on it as two paragraphs
		// of one text (one padding), the icon beside them.
		segs := []widget.RichTextSegment{&widget.TextSegment{Text: u.signed(it.Text, it.Author),
			Style: widget.RichTextStyle{ColorName: theme.ColorNameForeground, SizeName: theme.SizeNameText, TextStyle: fyne.TextStyle{Bold: true}}}}
		if line != "" {
			segs = append(segs, &widget.TextSegment{Text: line, Style: widget.RichTextStyle{ColorName: theme.ColorNameForeground, SizeName: theme.SizeNameText}})
		}
		about := widget.NewRichText(segs...)
		about.Wrapping = fyne.TextWrapWord
		var mark fyne.CanvasObject
		if line != "" {
			mark = container.NewVBox(layout.NewSpacer(), container.New(minSize{40, 40}, widget.NewIcon(icon)), layout.NewSpacer())
		}
		dot := it.Takeable()
		buttons := container.NewHBox(
			u.itemButton(u.tr("workshop.vote.take"), it.Text, theme.ContentRemoveIcon(), widget.MediumImportance, dot != "", func() { u.takeDot(dot) }),
			u.itemButton(u.tr("workshop.vote.add"), it.Text, theme.ContentAddIcon(), widget.HighImportance, canAdd, func() { u.addDot(it.ID) }))
		if k > 0 {
			list.Add(widget.NewSeparator())
		}
		list.Add(container.NewBorder(nil, nil, mark, container.NewVBox(layout.NewSpacer(), buttons, layout.NewSpacer()), about))
	}
	// Many items scroll under the head (dragged like a phone's list).
	return container.NewBorder(top, nil, nil, nil, u.scrolled(list))
}

// dotsLine is the item's total once revealed and the voter's dots on it
// in words, with the icon of the one that most needs attention (over the
// limit, late, waiting, counted): never colour alone.
func (u *UI) dotsLine(it backend.VoteItem) (string, fyne.Resource) {
	var parts []string
	if it.Total >= 0 {
		parts = append(parts, u.tr("workshop.vote.total", "n", it.Total))
	}
	c := it.Count()
	icon := theme.InfoIcon()
	var mine []string
	for _, s := range []struct {
		n    int
		icon fyne.Resource
		key  string
	}{
		{c.Counted, theme.ConfirmIcon(), "workshop.dots.counted"},
		{c.Pending, theme.MediaReplayIcon(), "workshop.dots.pending"},
		{c.Late, theme.HistoryIcon(), "workshop.dots.late"},
		{c.Over, theme.WarningIcon(), "workshop.dots.over"},
	} {
		if s.n > 0 {
			mine = append(mine, u.tr(s.key, "n", s.n))
			icon = s.icon
		}
	}
	if len(mine) > 0 {
		parts = append(parts, u.tr("workshop.dots.mine", "list", strings.Join(mine, " · ")))
	}
	return strings.Join(parts, " · "), icon
}

// title is a screen's heading, a size smaller on a short screen.
func (u *UI) title(s string) *widget.Label {
	if u.short() {
		return u.subheading(s)
	}
	return u.heading(s)
}

// workshopResultsScreen: the ranking, near ties marked in words.
func (u *UI) workshopResultsScreen() fyne.CanvasObject {
	w := u.ws.view
	top := u.workshopHead()
	top.Add(u.title(u.tr("workshop.results.title")))
	top.Add(u.wrapped(w.Question))
	list := container.NewVBox()
	if len(w.Results) == 0 {
		list.Add(u.notice(theme.InfoIcon(), u.tr("workshop.results.hidden")))
	}
	shown := 8
	if u.short() {
		shown = 5
	}
	for i, r := range w.Results {
		if i == shown {
			list.Add(u.wrapped(u.tr("workshop.results.more", "n", len(w.Results)-shown)))
			break
		}
		rank := u.subheading(u.tr("workshop.results.rank", "n", r.Rank))
		rank.Wrapping = fyne.TextWrapOff
		dots := widget.NewLabel(u.tr("workshop.results.dots", "n", r.Dots))
		dots.TextStyle.Bold = true
		text := u.wrapped(u.signed(r.Text, r.Author))
		if r.NearTie {
			text.SetText(u.signed(r.Text, r.Author) + " – " + u.tr("workshop.results.near_tie"))
			list.Add(container.NewBorder(nil, nil, container.NewHBox(rank, container.New(minSize{40, 40}, widget.NewIcon(theme.WarningIcon()))), dots, text))
			continue
		}
		list.Add(container.NewBorder(nil, nil, rank, dots, text))
	}
	return container.NewBorder(top, nil, nil, nil, u.scrolled(list))
}

// workshopModeratorScreen: a moderator (service or moderator's card and PIN) puts the
// terminal into one of the workshops the hub lists for it, takes it out
// of workshop mode, or prints the summary.
func (u *UI) workshopModeratorScreen() fyne.CanvasObject {
	w := u.ws.view
	box := container.NewVBox(u.heading(u.tr("workshop.mod.title")))
	if u.ws.modMsg != "" {
		box.Add(u.notice(theme.InfoIcon(), u.tr(u.ws.modMsg)))
	}
	if w.Active {
		box.Add(u.notice(theme.ConfirmIcon(), u.tr("workshop.mod.current", "title", w.Title)))
		box.Add(u.wrapped(u.phaseLine()))
		box.Add(u.wrapped(u.tr("workshop.mod.counts", "voters", w.Voters, "done", w.Done)))
	} else {
		box.Add(u.notice(theme.InfoIcon(), u.tr("workshop.mod.none")))
	}
	box.Add(u.subheading(u.tr("workshop.mod.choose")))
	if len(w.Open) == 0 {
		box.Add(u.wrapped(u.tr("workshop.mod.no_open")))
	}
	list := choiceList(len(w.Open))
	for _, c := range w.Open {
		list.Add(u.newChoice(c.Title, radioIcon(c.Current), c.Current, func() {
			u.serviceLast = u.opts.Now()
			if !c.Current {
				u.switchWorkshop(c.ID)
			}
		}))
	}
	box.Add(list)
	actions := newColumns(0, 3)
	if w.Active {
		actions.Add(u.sbutton(u.tr("workshop.mod.print"), theme.DocumentPrintIcon(), widget.MediumImportance, u.printSummary))
		actions.Add(u.sbutton(u.tr("workshop.mod.leave"), theme.LogoutIcon(), widget.MediumImportance, u.leaveWorkshop))
	}
	actions.Add(u.sbutton(u.tr("service.close"), theme.CancelIcon(), widget.HighImportance, u.closeService))
	return container.NewBorder(nil, actions, nil, nil, box)
}

func (u *UI) showWorkshopModerator() {
	u.ws.modMsg = ""
	u.show(ScreenWorkshopModerator, u.workshopModeratorScreen)
	u.refreshWorkshop()
}

// moderate runs a moderator's call and shows its outcome.
func (u *UI) moderate(ok string, do func(ctx context.Context) (*localapi.WorkshopView, error)) {
	var (
		v   *localapi.WorkshopView
		err error
	)
	u.opts.Async(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		v, err = do(ctx)
	}, func() {
		if u.name != ScreenWorkshopModerator {
			return
		}
		u.ws.modMsg = ok
		if err != nil {
			u.log.Warn("workshop: moderator's action refused", "code", backend.WorkshopRefusal(err))
			u.ws.modMsg = u.refusal(err)
		}
		if v != nil {
			u.ws.view = backend.WorkshopOf(*v)
		}
		u.render()
	})
}

func (u *UI) switchWorkshop(id string) {
	card, pin := u.ws.modCard, u.ws.modPIN
	u.moderate("workshop.mod.switched", func(ctx context.Context) (*localapi.WorkshopView, error) {
		v, err := u.be.WorkshopSwitch(ctx, localapi.WorkshopSwitchRequest{Workshop: id, CardHash: card, PIN: pin})
		if err != nil {
			return nil, err
		}
		return &v, nil
	})
}

func (u *UI) leaveWorkshop() {
	card, pin := u.ws.modCard, u.ws.modPIN
	u.moderate("workshop.mod.left", func(ctx context.Context) (*localapi.WorkshopView, error) {
		v, err := u.be.WorkshopLeave(ctx, localapi.WorkshopLeaveRequest{CardHash: card, PIN: pin})
		if err != nil {
			return nil, err
		}
		return &v, nil
	})
}

func (u *UI) printSummary() {
	lang := u.lang()
	u.moderate("workshop.mod.printed", func(ctx context.Context) (*localapi.WorkshopView, error) {
		_, err := u.be.WorkshopPrint(ctx, localapi.WorkshopPrintRequest{Lang: lang})
		return nil, err
	})
}
