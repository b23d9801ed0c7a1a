// Package ui is the resident's touchscreen window: Fyne screens on top of
// the session logic (kiosk/session), talking to the agent only through
// backend.Backend (over the local API socket in the real app; see
// kiosk/ui/backend for why it speaks the local API's types). It is the
// only package of the kiosk that imports Fyne. Screens are built from a
// fyne.App and fyne.Window passed in, so tests use test.NewTempApp; I/O
// runs off the UI goroutine and comes back through fyne.Do.
//
// Every string a resident reads comes from the translation files in
// assets/i18n (through internal/i18n) or from the hub's content.
//
// # Layout
//
// Screens reflow with the width they get rather than with fixed sizes
// (widgets.go): topBar, columns (as many as fit: home tiles 3/2,
// choices 2/1, air charts 3/2/1), flowCentre, centred and split. The
// display modes sit in the bottom bar so the top bar stays one row. A
// body scrolls only as a last resort (large text at 1024×768), so a
// windowed window never grows. TestEveryScreen checks every screen at
// 1920×1080, 1280×800 and 1024×768 × German, English, Ukrainian and
// Vietnamese (those the catalog has) × normal, large text and high
// contrast for texts or buttons outside the window,
// clipping, overlap and scrolling, and `make screenshots` renders them.
//
// # The pointer
//
// Fyne takes the pointer's shape from the last Cursorable object under
// it in tree order, so a hidden-cursor wrapper loses to every Button.
// With Opts.HideCursor a cursorShield (transparent, neither tappable nor
// hoverable) is the last object over the content, and the timeout
// warning is our own overlay (modal) rather than a widget.PopUp, whose
// backdrop showed the pointer.
//
// # Start and state
//
// The window shows a calm, untimed "starting" screen (ShowStarting)
// until the agent answers, then the attract screen; after
// Opts.StartTimeout it shows the out-of-order screen. It reports its
// state to the fleet (POST /v1/screen: attract, session, service,
// out_of_order) and logs {"msg":"screen","screen":NAME} at debug level
// on every change, which the end-to-end tests wait on. UI.Locate(label)
// gives a tappable's centre so those tests can click the real window
// where a shadow UI in Fyne's test driver says the control is.
//
// # Keys and the screen reader
//
// Every screen is also a kiosk/a11y tree, registered by the widget
// helpers as they build it (access.go), so keys and speech reach every
// control a tap reaches: a keypad or keyboard moves a focus ring of our
// own and Enter taps the focused control. The first key, or
// UI.Headphones(true), starts speech mode (Opts.Speaker says it). Help
// is the top bar's first button on every screen with a top bar.
//
// # Languages
//
// The top bar's second button, the current language's own name with a
// globe, opens the language screen (language.go): "language" in every
// offered language, then a choice per language in its own name and
// script, each said in its own voice — the content's screen languages,
// every speech-only language of the catalog (language.screen: Arabic,
// drawn with a note that it is spoken and which language the screen
// shows) and, where Opts.EasyCatalog has the language, Leichte Sprache
// (texts from that catalog first, for the session). A choice returns to
// the screen the resident came from, in the new language. The attract
// screen shows the languages in a row, each in its own name, each
// starting a session in it (Leichte Sprache too), for people who do not
// read the default language.
//
// The on-screen keyboard is the screen language's (keyboard_layouts.go):
// German QWERTZ, English QWERTY, Ukrainian and Russian ЙЦУКЕН with a key
// to Latin letters and back (for the session), Turkish Q (shift by
// Turkish casing: i/İ, ı/I), Vietnamese QWERTY with ă â ê ô ơ ư đ and
// five tone keys that put the tone on the last vowel typed (NFC). Its
// letters are said in the layout's language.
package ui

import (
	"context"
	"log/slog"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/internal/i18n"
	"github.com/quartierhub/quartierhub/kiosk/a11y"
	"github.com/quartierhub/quartierhub/kiosk/display"
	"github.com/quartierhub/quartierhub/kiosk/localapi"
	"github.com/quartierhub/quartierhub/kiosk/session"
	"github.com/quartierhub/quartierhub/kiosk/ui/backend"

	// Initialised before Fyne's lang package: no locale error under
	// LANG=C.UTF-8, in the kiosk binary (CLI commands too) and in tests.
	_ "github.com/quartierhub/quartierhub/kiosk/ui/fynelocale"
)

// Opts configures the window. Zero values are documented defaults.
type Opts struct {
	// Catalog holds the UI strings. Required.
	Catalog *i18n.Catalog
	// Now defaults to time.Now; the session timeouts and the clock use it.
	Now func() time.Time
	// Async runs backend calls; default: a new goroutine whose result comes
	// back through fyne.Do. Tests pass a synchronous runner.
	Async func(work func(), then func())
	// Version is shown in the service menu.
	Version string
	// HideCursor hides the mouse pointer over the window (touchscreens).
	HideCursor bool
	// StartTimeout is how long Start waits for the agent before it shows
	// the out-of-order screen (it keeps trying); default 60 s.
	StartTimeout time.Duration
	// StartRetry is the pause between Start's attempts; default 1 s.
	StartRetry time.Duration
	// OnStarted, if set, runs once Start has shown the first screen with
	// the agent's content (the window releases start-up memory then).
	OnStarted func()
	Logger    *slog.Logger
	// DisplaySettings, if set, returns the hub's display settings (the
	// agent's running configuration); the window polls it for the night
	// hours (night.go). Nil: never dark.
	DisplaySettings func(ctx context.Context) (*api.DisplaySettings, error)
	// Backlight, if set, is switched off while the screen is dark at
	// night (*display.Panel).
	Backlight interface {
		Set(on bool, done func(error))
	}
	// SessionLock, if set, is held during every resident's session, so
	// the updater does not restart the kiosk meanwhile (*session.Lock).
	SessionLock session.SessionLock
	// Speaker says what the screen reader says (kiosk/speech's espeak-ng
	// speaker); nil: the screen reader keeps its state (keys, focus ring)
	// and says nothing.
	Speaker a11y.Speaker
	// EasyCatalog holds the Leichte Sprache texts (assets.EasyI18n()):
	// choosing "Leichte Sprache" on the language screen makes the window
	// look a key up there first for the session. Nil: no such choice.
	EasyCatalog *i18n.Catalog
}

// WindowedSize is the window of `kiosk run --windowed` (development,
// demos): a 1280 × 800 terminal at full scale. The screens reflow for
// 1920 × 1080, 1280 × 800 and 1024 × 768 (TestEveryScreen checks all
// three), so the window may also be resized.
var WindowedSize = fyne.NewSize(1280, 800)

// Screen names (for tests, screenshots and logs).
const (
	ScreenStarting   = "starting"
	ScreenAttract    = "attract"
	ScreenHome       = "home"
	ScreenCategory   = "report-category"
	ScreenDescribe   = "report-describe"
	ScreenPlace      = "report-place"
	ScreenConfirm    = "report-confirm"
	ScreenThanks     = "report-thanks"
	ScreenAir        = "air"
	ScreenSurvey     = "survey"
	ScreenSurveyDone = "survey-done"
	ScreenTicket     = "ticket"
	ScreenInfo       = "info"
	ScreenError      = "error"
	ScreenOutOfOrder = "out-of-order"
	ScreenPIN        = "service-pin"
	ScreenService    = "service-menu"
)

// UI is the terminal window's state. All its fields are touched only on
// the Fyne goroutine.
type UI struct {
	app  fyne.App
	win  fyne.Window
	be   backend.Backend
	cat  *i18n.Catalog
	opts Opts
	log  *slog.Logger
	sess *session.Manager
	th   *kioskTheme

	content    api.Content
	status     localapi.Status
	printerOK  bool
	printerWhy string
	syncOK     bool
	latest     map[string]localapi.Reading
	outOfOrder bool
	// first is the first-run screen's state (firstrun.go)
	first firstRun

	name  string
	build func() fyne.CanvasObject
	clock *widget.Label

	warn      *modal
	warnLabel *widget.Label
	// service menu: PIN typed so far, whether the menu is open
	pin           string
	pinTries      int
	serviceMsg    string
	serviceLast   time.Time
	pendingStatus *localapi.Status

	// what can be tapped now (Locate), and the fleet state last reported
	targets, warnTargets []target
	buildingWarn         bool
	fleetSent            string
	fleetCh              chan string

	// night blanking (night.go)
	night display.Blanker
	dark  bool

	// the workshop (workshop.go)
	ws workshopUI

	// the screen reader (access.go): its model, the screen's items being
	// built, what the screen announces, the language a screen is built
	// in for another language's labels, the focus ring and key sink
	rd               *a11y.Reader
	nodes, warnNodes []accNode
	announced        string
	langOverride     string
	acc, warnAcc     *access
	shiftHeld        bool
	hadSession, easy bool
	helpShown        bool
	nodeGroup        int
	subScreen        string                           // a step of a screen the screen reader announces as a screen of its own
	scrolls          []*container.Scroll              // the screen's, for the focus to scroll
	placed           map[fyne.CanvasObject][]inScroll // where the items lie in the scrolls (access.go)
	typing           *keyboard                        // the screen's on-screen keyboard, which a hardware one types into
	latinKeys        *session.Session                 // the session that switched the on-screen keyboard to Latin letters (keyboard.go)
	swallowRune      bool
	attractTap       func()
	warnSecs         int
}

// New builds the window's state; Load then fills it from the backend and
// shows the attract screen.
func New(app fyne.App, win fyne.Window, be backend.Backend, opts Opts) *UI {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 60 * time.Second
	}
	if opts.StartRetry <= 0 {
		opts.StartRetry = time.Second
	}
	if opts.Async == nil {
		opts.Async = func(work, then func()) {
			go func() {
				work()
				fyne.Do(then)
			}()
		}
	}
	u := &UI{app: app, win: win, be: be, cat: opts.Catalog, opts: opts, log: opts.Logger,
		sess: session.NewManager(session.Opts{Now: opts.Now, Lock: opts.SessionLock}), th: &kioskTheme{},
		latest: map[string]localapi.Reading{}, fleetCh: make(chan string, 1)}
	app.Settings().SetTheme(u.th)
	u.rd = a11y.NewReader(a11y.Opts{Speaker: opts.Speaker, Catalog: opts.Catalog, Now: opts.Now, OnStart: u.speechStarted})
	return u
}

// ShowStarting shows the calm "starting" screen (on the Fyne goroutine,
// or before the window runs): the window is up before the agent answers.
func (u *UI) ShowStarting() { u.show(ScreenStarting, u.startingScreen) }

// Start brings the window up against the agent: it fetches content and
// status until the agent answers, then shows the attract screen and runs
// the window (Run) until ctx ends. If the agent has not answered after
// Opts.StartTimeout, the out-of-order screen replaces the starting screen
// (Start keeps trying). Call it in its own goroutine, after ShowStarting.
func (u *UI) Start(ctx context.Context) {
	giveUp := time.NewTimer(u.opts.StartTimeout)
	defer giveUp.Stop()
	for tries := 0; ctx.Err() == nil; tries++ {
		lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		c, st, err := u.Fetch(lctx)
		cancel()
		if err == nil {
			fyne.DoAndWait(func() { u.Apply(c, st) })
			if u.opts.OnStarted != nil {
				u.opts.OnStarted()
			}
			u.Run(ctx)
			return
		}
		if tries%30 == 0 { // not a line a second for as long as it takes
			u.log.Warn("waiting for the agent", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-giveUp.C:
			u.log.Error("the agent does not answer: out of order until it does", "waited", u.opts.StartTimeout)
			fyne.Do(func() { u.show(ScreenOutOfOrder, u.outOfOrderScreen) })
		case <-time.After(u.opts.StartRetry):
		}
	}
}

// Load fetches content, status and the workshop and shows the attract screen, all on
// the calling goroutine (tests, or before the window is shown).
func (u *UI) Load(ctx context.Context) error {
	c, st, err := u.Fetch(ctx)
	if err != nil {
		return err
	}
	u.Apply(c, st)
	u.refreshWorkshop()
	return nil
}

// Fetch gets content and status from the agent; it touches no widget, so
// it may run on any goroutine.
func (u *UI) Fetch(ctx context.Context) (api.Content, localapi.Status, error) {
	c, err := u.be.Content(ctx)
	if err != nil {
		return c, localapi.Status{}, err
	}
	st, err := u.be.Status(ctx)
	return c, st, err
}

// Apply shows fetched content and status (on the Fyne goroutine).
func (u *UI) Apply(c api.Content, st localapi.Status) {
	u.setContent(c)
	u.setStatus(st)
	u.showAttract()
}

func (u *UI) setContent(c api.Content) {
	u.content = c
	langs := c.Languages
	if len(langs) == 0 {
		langs = []string{"de", "en"}
	}
	var ok []string
	for _, l := range langs {
		if u.cat.Has(l) {
			ok = append(ok, l)
		}
	}
	if len(ok) == 0 {
		ok = u.cat.Languages()
	}
	u.content.Languages = ok
	u.sess.SetDefaultLanguage(ok[0])
	u.sess.SetTiming(time.Duration(c.SessionTimeoutSeconds)*time.Second, time.Duration(c.WarningSeconds)*time.Second)
}

func (u *UI) setStatus(st localapi.Status) {
	u.status = st
	u.printerOK, u.printerWhy = backend.PrinterState(st.Devices)
	u.syncOK = st.Sync.HubReachable && !st.Sync.Unauthorized
	for _, d := range st.Devices {
		for _, q := range session.Quantities {
			if v, ok := d.Detail[q].(float64); ok {
				u.latest[q] = localapi.Reading{Sensor: d.Name, Quantity: q, Value: v}
			}
		}
	}
}

// Run keeps the window live until ctx ends: the agent's events, a status
// poll for the sync indicator and the one-second tick for the clock and
// the session timeout. Call it in its own goroutine.
func (u *UI) Run(ctx context.Context) {
	fyne.Do(u.refreshWorkshop) // a workshop's attract screen, if the terminal is in one
	go u.followEvents(ctx)
	go u.reportScreens(ctx)
	go u.followDisplay(ctx)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	poll := time.NewTicker(10 * time.Second)
	defer poll.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			fyne.Do(u.Tick)
		case <-poll.C:
			pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			st, err := u.be.Status(pctx)
			cancel()
			if err == nil {
				fyne.Do(func() { u.setStatus(st); u.refreshIndicators() })
			}
			// The workshop follows its event; this catches one missed
			// while the event stream was down.
			fyne.Do(u.refreshWorkshop)
		}
	}
}

func (u *UI) followEvents(ctx context.Context) {
	backoff := time.Second
	for ctx.Err() == nil {
		ch, err := u.be.Events(ctx)
		if err != nil {
			u.log.Warn("event stream", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, 30*time.Second)
			continue
		}
		backoff = time.Second
		for e := range ch {
			fyne.Do(func() { u.HandleEvent(e) })
		}
	}
}

// HandleEvent applies one agent event (on the Fyne goroutine).
func (u *UI) HandleEvent(e localapi.Event) {
	switch e.Type {
	case localapi.EventCard:
		if e.Card != nil {
			u.card(e.Card.Presented, e.Card.Hash)
		}
	case localapi.EventReading:
		if r := e.Reading; r != nil && !r.WarmUp {
			u.latest[r.Quantity] = *r
			if u.name == ScreenAttract || u.name == ScreenAir {
				u.render()
			}
		}
	case localapi.EventDevice:
		if d := e.Device; d != nil {
			if ok, why, rel := backend.PrinterFromEvent(*d); rel {
				u.printerOK, u.printerWhy = ok, why
				u.refreshIndicators()
			}
		}
	case localapi.EventSync:
		if s := e.Sync; s != nil {
			u.status.Sync = *s
			u.syncOK = s.HubReachable && !s.Unauthorized
			u.refreshIndicators()
		}
	case localapi.EventMode:
		if m := e.Mode; m != nil {
			u.setOutOfOrder(m.OutOfOrder)
		}
	case localapi.EventCapture:
		if c := e.Capture; c != nil {
			u.capture(c.ID) // capture.go
		}
	case localapi.EventWorkshop:
		u.refreshWorkshop() // workshop.go
	}
}

func (u *UI) setOutOfOrder(on bool) {
	if on == u.outOfOrder {
		return
	}
	u.outOfOrder = on
	if on {
		u.sess.End(session.EndOutOfOrder)
		u.hideWarning()
		u.show(ScreenOutOfOrder, u.outOfOrderScreen)
		return
	}
	u.showAttract()
}

// card handles a card at the reader.
func (u *UI) card(presented bool, hash string) {
	if u.name == ScreenFirstRun || u.name == ScreenEnrolled {
		return // no residents, no service menu before the terminal is enrolled
	}
	if presented {
		// A service card opens the service menu; a moderator's card only
		// the workshop's screen of it (a service card that is also a
		// moderator's is a service card).
		service := session.IsServiceCard(hash, u.content.ServiceCards)
		if service || session.IsServiceCard(hash, u.content.ModeratorCards) {
			u.askPIN(hash, !service)
			return
		}
	}
	if u.outOfOrder || u.name == ScreenPIN || u.name == ScreenService || u.name == ScreenWorkshopModerator {
		return
	}
	_, started, ended := u.sess.Card(presented, hash)
	switch {
	case ended:
		u.hideWarning()
		u.showAttract()
	case u.ws.view.Active && presented && (started || participantScreen(u.name)):
		u.workshopCard(hash) // a participant checks in (workshop.go)
	case started:
		u.showHome()
	case u.name == ScreenSurvey:
		u.render() // a card may now allow a once-per-card survey
	}
}

// Tick updates the clock and enforces the session timeout.
func (u *UI) Tick() {
	if u.clock != nil {
		u.clock.SetText(u.opts.Now().Format("15:04"))
	}
	u.tickWorkshop()
	u.updateNight()
	if u.name == ScreenAttract || u.name == ScreenWorkshop || u.name == ScreenOutOfOrder || u.name == ScreenPIN || u.name == ScreenService || u.name == ScreenWorkshopModerator {
		if u.name == ScreenPIN || u.name == ScreenService || u.name == ScreenWorkshopModerator {
			u.serviceTick()
		}
		return
	}
	if u.name == ScreenFirstRun || u.name == ScreenEnrolled { // no session to time out
		if u.name == ScreenEnrolled && u.opts.Now().Sub(u.first.doneAt) >= EnrolledPause {
			u.leaveFirstRun()
		}
		return
	}
	st, left := u.sess.Check()
	switch st {
	case session.Idle:
		u.hideWarning()
		u.showAttract()
	case session.Warning:
		u.showWarning(left)
	default:
		u.closeWarning(true) // a key or a touch gave the session more time
	}
}

// Screen is the name of the screen shown.
func (u *UI) Screen() string { return u.name }

// Session is the running session (nil on the attract screen).
func (u *UI) Session() *session.Session { return u.sess.Current() }

// lang is the language to show now: the session's, unless that is a
// speech-only language (access.go: screenLang).
func (u *UI) lang() string {
	if u.langOverride != "" { // built for another language's labels
		return u.langOverride
	}
	return u.screenLang(u.speechLang())
}

// tr translates a UI string key, from the Leichte Sprache texts first
// while the session asks for them.
func (u *UI) tr(key string, args ...any) string {
	if e := u.opts.EasyCatalog; u.easy && e != nil && e.Has(u.lang()) && e.HasKey(key) {
		return e.T(u.lang(), key, args...)
	}
	return u.cat.T(u.lang(), key, args...)
}

// txt picks a content text in the current language.
func (u *UI) txt(t api.Text) string { return t.In(u.lang(), u.sess.DefaultLanguage()) }

// show switches to a screen.
func (u *UI) show(name string, build func() fyne.CanvasObject) {
	prev := u.name
	u.name, u.build = name, build
	if u.sess.Current() == nil && u.hadSession {
		u.hadSession = false
		u.sessionEnded()
	}
	u.hadSession = u.sess.Current() != nil
	u.render()
	u.noteScreen(prev, name)
}

// render rebuilds the current screen from state (after a language or
// display change, or new data). Widgets hold no state of their own that
// is not also in the session.
func (u *UI) render() {
	if u.build == nil {
		return
	}
	if u.renderNight() {
		return
	}
	s := u.sess.Current()
	hc, lt := false, false
	if s != nil {
		hc, lt = s.HighContrast, s.LargeText
	}
	if u.th.highContrast != hc || u.th.largeText != lt {
		u.th.highContrast, u.th.largeText = hc, lt
		u.app.Settings().SetTheme(&kioskTheme{highContrast: hc, largeText: lt})
		u.th = u.app.Settings().Theme().(*kioskTheme)
	}
	u.clock, u.ws.timer = nil, nil
	u.targets = nil
	u.nodes, u.announced, u.attractTap, u.helpShown, u.subScreen, u.scrolls, u.typing = nil, "", nil, false, "", nil, nil
	content := u.shielded(u.withAccess(u.frame(u.build())))
	// A box places each child by its MinSize before resizing it to the
	// box's width, but a wrapped label's height follows its width: on the
	// first layout it has no width yet, is given a too-short height and
	// overlaps what follows (most visibly with large text). Laying out
	// again, now that every label has its width, gives each its height.
	// This happens once before the content goes into the window too: a
	// window (not a full screen one) grows to the content's MinSize when
	// it is set, and a label without its width yet asks for a letter a
	// line (the out-of-order screen made a 1280 × 800 window 1607 high).
	settle := func() {
		for range 4 {
			before := content.MinSize()
			relayout(content)
			if content.MinSize() == before {
				break
			}
		}
	}
	if sz := u.win.Canvas().Size(); sz.Width > 0 && sz.Height > 0 {
		content.Resize(sz)
		settle()
	}
	u.win.SetContent(content)
	settle()
	u.focusKeys()
	u.handTree()
}

// relayout lays out o's containers again from the top down, including
// the content of scroll containers (which a Refresh alone leaves alone
// when its size has not changed).
func relayout(o fyne.CanvasObject) {
	switch x := o.(type) {
	case *fyne.Container:
		if x.Layout != nil {
			x.Layout.Layout(x.Objects, x.Size())
		}
		for _, c := range x.Objects {
			relayout(c)
		}
	case *container.Scroll:
		x.Refresh()
		relayout(x.Content)
	case *container.ThemeOverride:
		x.Refresh()
		relayout(x.Content)
	}
}

func (u *UI) refreshIndicators() {
	if u.name == ScreenFirstRun && u.enrolled() && !u.first.busy {
		u.showAttract() // enrolled meanwhile, by kiosk enroll on the shell
		return
	}
	switch u.name {
	case ScreenHome, ScreenAttract, ScreenConfirm, ScreenThanks, ScreenTicket, ScreenService, ScreenWorkshop:
		u.render()
	}
}

// act wraps a tap handler: every tap is activity that keeps the session.
func (u *UI) act(f func()) func() {
	return func() {
		u.sess.Touch()
		f()
	}
}

// showAttract shows the attract screen, or the first-run screen while
// the terminal has no identity.
func (u *UI) showAttract() {
	if !u.enrolled() {
		u.showFirstRun()
		return
	}
	u.forgetParticipant()
	if u.ws.view.Active {
		u.show(ScreenWorkshop, u.workshopAttractScreen)
		return
	}
	u.show(ScreenAttract, u.attractScreen)
}

// showHome shows the services, or in a workshop the participant's screen.
func (u *UI) showHome() {
	if u.ws.view.Active && u.sess.Current() != nil {
		u.showWorkshopStep()
		return
	}
	u.show(ScreenHome, u.homeScreen)
}

// startSession starts a session from a touch, optionally in lang.
func (u *UI) startSession(lang string) {
	s := u.sess.Start("")
	if lang != "" {
		s.Language = lang
	}
	u.showHome()
}

// finish ends the session (the resident is done) and returns to attract.
func (u *UI) finish() {
	u.sess.End(session.EndDone)
	u.hideWarning()
	u.showAttract()
}

func (u *UI) showWarning(left time.Duration) {
	secs := int(left.Round(time.Second) / time.Second)
	if u.warn != nil {
		u.warnLabel.SetText(u.tr("timeout.warning", "seconds", secs))
		return
	}
	u.warnSecs = secs
	u.warnTargets, u.warnNodes, u.buildingWarn = nil, nil, true
	box := u.warnBox(secs)
	u.buildingWarn = false
	u.warnAcc = u.newAccess()
	u.warn = newModal(box, 640, u.opts.HideCursor, u.warnAcc.layer, container.NewWithoutLayout(u.warnAcc.sink)) // a sink without size: see withAccess
	c := u.win.Canvas()
	u.warn.Resize(c.Size())
	c.Overlays().Add(u.warn)
	u.focusKeys()
	// Said aloud in speech mode as the warning's own screen, and to
	// everyone else too: the warning is to be heard, not only seen.
	wasOn := u.rd.On()
	u.rd.SetTree(u.tree("timeout-warning", u.warnNodes, true))
	if !wasOn {
		u.rd.Alert(a11y.Sentences(u.tr("timeout.title"), u.warnLabel.Text))
	}
	u.drawRing()
}

// warnBox builds the timeout warning's box (its labels registered in
// warnTargets and warnNodes while buildingWarn).
func (u *UI) warnBox(secs int) fyne.CanvasObject {
	label := widget.NewLabel(u.tr("timeout.warning", "seconds", secs))
	label.Wrapping = fyne.TextWrapWord
	label.Alignment = fyne.TextAlignCenter
	title := u.heading(u.tr("timeout.title"))
	u.textNode(a11y.RoleText, label)
	more := u.button(u.tr("timeout.more"), theme.HistoryIcon(), widget.HighImportance, func() {
		u.sess.Extend()
		u.closeWarning(true)
	})
	end := u.hinted(u.button(u.tr("action.finish"), theme.LogoutIcon(), widget.MediumImportance, u.finish), "a11y.hint.finish")
	if u.langOverride == "" {
		u.warnLabel = label
	}
	return container.NewVBox(title, label, container.NewGridWithColumns(2, end, more))
}

func (u *UI) hideWarning() { u.closeWarning(false) }

// closeWarning takes the timeout warning away. extended: the session
// has more time ("Mehr Zeit", or any key or touch); in speech mode that
// is said before the screen's focused item, so a person who cannot see
// the warning go knows why it went and where they are.
func (u *UI) closeWarning(extended bool) {
	if u.warn != nil {
		u.win.Canvas().Overlays().Remove(u.warn)
		u.warn, u.warnLabel, u.warnTargets, u.warnNodes, u.warnAcc = nil, nil, nil, nil, nil
		if extended {
			u.rd.ClearModal(u.rd.T("a11y.more_time"))
		} else {
			u.rd.ClearModal()
		}
		u.focusKeys()
		u.drawRing()
	}
}

// WarningShown reports whether the timeout warning is up (for tests).
func (u *UI) WarningShown() bool { return u.warn != nil }

// SessionTiming is the session timeout and warning in force now
// (longer in speech mode).
func (u *UI) SessionTiming() (timeout, warning time.Duration) { return u.sess.Timing() }

// LastEnd says why the last session ended (for tests and logs).
func (u *UI) LastEnd() (session.EndReason, int) { return u.sess.LastEnd() }
