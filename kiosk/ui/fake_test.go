package ui_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/quartierhub/quartierhub/assets"
	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/internal/i18n"
	ws "github.com/quartierhub/quartierhub/internal/workshop"
	"github.com/quartierhub/quartierhub/kiosk/localapi"
	"github.com/quartierhub/quartierhub/kiosk/ui"
)

// fake is an in-memory agent: it keeps what the window sends.
type fake struct {
	mu        sync.Mutex
	content   api.Content
	status    localapi.Status
	submitted []localapi.SubmitRequest
	printed   []localapi.Receipt
	responses []localapi.SurveyResponse
	answered  map[string]bool
	ticket    int
	failPrint error
	history   localapi.SensorHistory
	synced    int
	// ws is the terminal's workshop (nil: none; newFakeWorkshop).
	ws *fakeWorkshop
}

func newFake(t *testing.T) *fake {
	c, err := assets.DemoContent()
	if err != nil {
		t.Fatal(err)
	}
	c.ServicePIN, _ = api.HashPIN("2468", []byte("fixed-test-salt!"), 1000)
	c.ServiceCards = []string{strings.Repeat("ab", 32)}
	c.ModeratorPIN, _ = api.HashPIN("1357", []byte("fixed-test-salt?"), 1000)
	c.ModeratorCards = []string{strings.Repeat("cd", 32)}
	return &fake{content: c, answered: map[string]bool{}, status: localapi.Status{
		Version:  "test",
		Terminal: localapi.Terminal{Enrolled: true, TerminalID: "T1", Name: "demo-friedrichstadt-1", Quarter: "Friedrichstadt", HubURL: "https://hub.example"},
		Sync:     localapi.SyncStatus{HubReachable: true},
		Devices: []localapi.Device{
			{Name: "printer", Kind: "escpos", State: "connected", Detail: map[string]any{"printable": true, "paper": "ok"}},
			{Name: "pm-1", Kind: "sds011", State: "connected", Detail: map[string]any{"pm25": 8.4, "pm10": 14.0}},
			{Name: "co2-1", Kind: "mhz19", State: "connected", Detail: map[string]any{"co2": 612.0}},
		},
	}}
}

func (f *fake) Status(context.Context) (localapi.Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.status, nil
}
func (f *fake) Content(context.Context) (api.Content, error) { return f.content, nil }
func (f *fake) Events(ctx context.Context) (<-chan localapi.Event, error) {
	ch := make(chan localapi.Event)
	go func() { <-ctx.Done(); close(ch) }()
	return ch, nil
}

// hubTakes applies the hub's record rules, as the real agent does before
// it stores anything, so every flow test shows that what the window sends
// is taken.
func hubTakes(typ string, payload any) error {
	p, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	if err := api.ValidatePayload(typ, api.ClassResident, p); err != nil {
		return errors.Join(localapi.ErrInvalid, err)
	}
	return nil
}

func (f *fake) Submit(_ context.Context, r localapi.SubmitRequest) (localapi.SubmitResponse, error) {
	if err := hubTakes(r.Type, r.Payload); err != nil {
		return localapi.SubmitResponse{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.submitted = append(f.submitted, r)
	return localapi.SubmitResponse{ID: fmt.Sprintf("01JQ3V9ZK8M4T6W2XA7B5C9D%02d", len(f.submitted)), Type: r.Type, Class: "resident",
		CreatedAt: time.Date(2025, 3, 3, 9, 30, 0, 0, time.UTC)}, nil
}
func (f *fake) Print(_ context.Context, r localapi.Receipt) (localapi.PrintResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failPrint != nil {
		return localapi.PrintResponse{}, f.failPrint
	}
	f.printed = append(f.printed, r)
	return localapi.PrintResponse{Bytes: 100}, nil
}
func (f *fake) Ticket(ctx context.Context, req localapi.TicketRequest) (localapi.Ticket, error) {
	f.mu.Lock()
	f.ticket++
	n := f.ticket
	f.mu.Unlock()
	if err := hubTakes(api.RecordHelpTicket, map[string]any{"number": n, "day": "2025-03-03"}); err != nil {
		return localapi.Ticket{}, err
	}
	if _, err := f.Print(ctx, req.Receipt); err != nil {
		return localapi.Ticket{}, err
	}
	return localapi.Ticket{Number: n, Day: "2025-03-03"}, nil
}
func (f *fake) Sensors(context.Context) (localapi.SensorHistory, error) { return f.history, nil }
func (f *fake) Respond(_ context.Context, r localapi.SurveyResponse) (localapi.SubmitResponse, error) {
	if err := hubTakes(api.RecordSurveyResponse, r); err != nil {
		return localapi.SubmitResponse{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	k := r.Survey + "/" + r.Respondent
	if f.answered[k] {
		return localapi.SubmitResponse{}, localapi.ErrAlreadyAnswered
	}
	f.answered[k] = true
	f.responses = append(f.responses, r)
	return localapi.SubmitResponse{ID: "R"}, nil
}
func (f *fake) SyncNow(context.Context) (localapi.SyncResponse, error) {
	f.synced++
	return localapi.SyncResponse{Sent: 3, Batches: 1}, nil
}

// clock is a settable clock.
type clock struct{ t time.Time }

func (c *clock) Now() time.Time        { return c.t }
func (c *clock) Add(d time.Duration)   { c.t = c.t.Add(d) }
func syncRun(work func(), then func()) { work(); then() }

type harness struct {
	t   *testing.T
	u   *ui.UI
	w   fyne.Window
	be  *fake
	clk *clock
	cat *i18n.Catalog
}

func easyCatalog(t *testing.T) *i18n.Catalog {
	easy, err := assets.EasyCatalog()
	if err != nil {
		t.Fatal(err)
	}
	return easy
}

func catalog(t *testing.T) *i18n.Catalog {
	cat, err := assets.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

func newHarness(t *testing.T, be *fake) *harness {
	t.Helper()
	return newHarnessWith(t, be, fyne.NewSize(1920, 1080), nil)
}

// newHarnessWith is newHarness with a window of size and opts changed by
// set (if not nil).
func newHarnessWith(t *testing.T, be *fake, size fyne.Size, set func(*ui.Opts)) *harness {
	t.Helper()
	app := test.NewTempApp(t)
	w := app.NewWindow("")
	w.Resize(size)
	clk := &clock{t: time.Date(2025, 3, 3, 9, 30, 0, 0, time.Local)}
	cat := catalog(t)
	// The Leichte Sprache catalog as the real window has it: its switch
	// takes room in the bottom bar.
	opts := ui.Opts{Catalog: cat, EasyCatalog: easyCatalog(t), Now: clk.Now, Async: syncRun, Version: "test"}
	if set != nil {
		set(&opts)
	}
	u := ui.New(app, w, be, opts)
	if err := u.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, u: u, w: w, be: be, clk: clk, cat: opts.Catalog}
}

func (h *harness) lang() string {
	if s := h.u.Session(); s != nil {
		return s.Language
	}
	return "de"
}

// objects returns everything on the canvas, overlays last.
func (h *harness) objects() []fyne.CanvasObject {
	var out []fyne.CanvasObject
	c := h.w.Canvas()
	walk(c.Content(), func(o fyne.CanvasObject) { out = append(out, o) })
	for _, ov := range c.Overlays().List() {
		walk(ov, func(o fyne.CanvasObject) { out = append(out, o) })
	}
	return out
}

func walk(o fyne.CanvasObject, f func(fyne.CanvasObject)) {
	if o == nil || !o.Visible() {
		return
	}
	f(o)
	switch x := o.(type) {
	case *fyne.Container:
		for _, c := range x.Objects {
			walk(c, f)
		}
	case fyne.Widget:
		for _, c := range test.WidgetRenderer(x).Objects() {
			walk(c, f)
		}
	}
}

// tap taps the button or tile whose label is the translation of key (or
// the literal text, if key is not a translation key).
func (h *harness) tap(key string, args ...any) {
	h.t.Helper()
	label := key
	if h.cat.HasKey(key) {
		label = h.cat.T(h.lang(), key, args...)
	}
	for _, o := range h.objects() {
		switch x := o.(type) {
		case *widget.Button:
			if x.Text == label && !x.Disabled() {
				test.Tap(x)
				return
			}
		case interface{ TileTitle() string }:
			if x.TileTitle() == label {
				test.Tap(x.(fyne.Tappable))
				return
			}
		}
	}
	h.t.Fatalf("no enabled button %q on screen %s", label, h.u.Screen())
}

// has reports whether a visible label, button or tile shows text.
func (h *harness) has(text string) bool {
	for _, o := range h.objects() {
		switch x := o.(type) {
		case *widget.Label:
			if strings.Contains(x.Text, text) {
				return true
			}
		case *widget.Button:
			if x.Text == text {
				return true
			}
		case *widget.RichText:
			if strings.Contains(x.String(), text) {
				return true
			}
		}
	}
	return false
}

// typeKeys types s on the on-screen keyboard, with shift for capitals.
func (h *harness) typeKeys(s string) {
	h.t.Helper()
	for _, r := range s {
		if r == ' ' {
			h.tap("keyboard.space")
			continue
		}
		want := string(r)
		if !h.keyShown(want) {
			h.tap("keyboard.shift")
		}
		h.tap(want)
	}
}

func (h *harness) keyShown(k string) bool {
	for _, o := range h.objects() {
		if b, ok := o.(*widget.Button); ok && b.Text == k {
			return true
		}
	}
	return false
}

func (h *harness) expectScreen(name string) {
	h.t.Helper()
	if h.u.Screen() != name {
		h.t.Fatalf("screen %s, want %s", h.u.Screen(), name)
	}
}

// chooseLanguage switches to language l as a resident does: on the
// attract screen by its row of languages, elsewhere by the top bar's
// language button and the language screen, which returns to the screen
// before.
func (h *harness) chooseLanguage(l string) {
	h.t.Helper()
	if h.u.Screen() == ui.ScreenAttract {
		h.tap(h.cat.Name(l))
		return
	}
	before := h.u.Screen()
	h.tap(h.cat.Name(h.lang())) // the language button: the current language's own name
	h.expectScreen(ui.ScreenLanguage)
	h.tap(h.cat.Name(l))
	if h.u.Session().Language != l {
		h.t.Fatalf("chose %s, the session is in %s", l, h.u.Session().Language)
	}
	if before != ui.ScreenWorkshop && before != ui.ScreenAttract {
		h.expectScreen(before)
	}
}

func (h *harness) tapAttract() {
	h.t.Helper()
	for _, o := range h.objects() {
		if tl, ok := o.(interface{ AttractTapLayer() }); ok {
			test.Tap(tl.(fyne.Tappable))
			return
		}
	}
	h.t.Fatal("no tap layer on the attract screen")
}

// fakeWorkshop is the agent's workshop as the fake keeps it: the rules
// the window relies on (dots left, the item cap, pending while offline,
// a card's voter kept, refusals by code) without the engine's log.
type fakeWorkshop struct {
	view    localapi.WorkshopView // the shared part; Me is filled per voter
	cards   map[string]string     // card hash → voter
	labels  map[string]string     // voter → label
	guests  int
	mine    map[string]bool   // idea IDs written at this terminal, by voter
	authors map[string]string // idea ID → voter
	tables  map[string]int    // idea ID → café table
	dots    []localapi.WorkshopDot
	owner   map[string]string // dot ID → voter
	done    map[string]bool
	// refuse makes the next call of that name ("checkin", "idea", "dot")
	// fail with the code.
	refuse   map[string]string
	switched []localapi.WorkshopSwitchRequest
	left     int
	printed  []localapi.WorkshopPrintRequest
}

func newFakeWorkshop() *fakeWorkshop {
	return &fakeWorkshop{
		view: localapi.WorkshopView{Active: true, ID: "W1", Title: "Friedrichstraße neu denken",
			Question: "Was braucht die Friedrichstraße, damit Sie dort gern Zeit verbringen?", Lang: "de", Method: "simple",
			MaxIdeaChars: 140, JoinURL: "https://hub.example/w/K7P2QX", Started: true, JoinOpen: true, Online: true,
			Phase:     &localapi.WorkshopPhase{Index: 0, Count: 4, Kind: "ideas", Title: "Ideen sammeln", EndsAt: time.Date(2025, 3, 3, 9, 40, 0, 0, time.Local)},
			Available: []localapi.WorkshopSummary{{ID: "W1", Title: "Friedrichstraße neu denken"}, {ID: "W2", Title: "Spielplatz Weißeritzufer"}}},
		cards: map[string]string{}, labels: map[string]string{}, mine: map[string]bool{}, authors: map[string]string{}, tables: map[string]int{},
		owner: map[string]string{}, done: map[string]bool{}, refuse: map[string]string{},
	}
}

func refused(code string) error {
	return &localapi.WorkshopError{Code: code, Message: "refused: " + code, Status: 409}
}

func (f *fake) takeRefusal(name string) error {
	if code := f.ws.refuse[name]; code != "" {
		delete(f.ws.refuse, name)
		return refused(code)
	}
	return nil
}

func (f *fake) Workshop(_ context.Context, voter string) (localapi.WorkshopView, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ws == nil {
		return localapi.WorkshopView{Online: true}, nil
	}
	v := f.ws.view
	v.Ideas = append([]localapi.WorkshopIdea(nil), v.Ideas...)
	for i := range v.Ideas {
		v.Ideas[i].Mine = voter != "" && f.ws.authors[v.Ideas[i].ID] == voter
	}
	if label, ok := f.ws.labels[voter]; ok {
		me := &localapi.WorkshopMe{Voter: voter, Label: label, Done: f.ws.done[voter]}
		for _, d := range f.ws.dots {
			if f.ws.owner[d.ID] == voter {
				me.Dots = append(me.Dots, d)
			}
		}
		me.DotsLeft = f.dotsLeft(voter)
		v.Me = me
	}
	return v, nil
}

// dotsLeft: the round's dots less those counted or pending (over the
// limit and late ones use none up).
func (f *fake) dotsLeft(voter string) int {
	r := f.ws.view.Round
	if r == nil {
		return 0
	}
	n := r.Dots
	for _, d := range f.ws.dots {
		if f.ws.owner[d.ID] == voter && (d.Status == "counted" || d.Status == "pending") {
			n--
		}
	}
	return max(n, 0)
}

func (f *fake) WorkshopCheckin(_ context.Context, req localapi.WorkshopCheckinRequest) (localapi.WorkshopCheckin, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ws == nil {
		return localapi.WorkshopCheckin{}, refused(localapi.CodeNoWorkshop)
	}
	if err := f.takeRefusal("checkin"); err != nil {
		return localapi.WorkshopCheckin{}, err
	}
	if req.CardHash != "" {
		if v, ok := f.ws.cards[req.CardHash]; ok {
			return localapi.WorkshopCheckin{Voter: v, Label: f.ws.labels[v]}, nil
		}
	} else if !req.Guest {
		return localapi.WorkshopCheckin{}, refused("invalid")
	}
	if !f.ws.view.JoinOpen {
		return localapi.WorkshopCheckin{}, refused("join_closed")
	}
	f.ws.guests++
	voter := fmt.Sprintf("v:%020d", f.ws.guests)
	label := fmt.Sprintf("Gast %d", 16+f.ws.guests)
	if req.CardHash != "" {
		f.ws.cards[req.CardHash] = voter
		label = fmt.Sprintf("Karte %d", 16+f.ws.guests)
	}
	f.ws.labels[voter] = label
	f.ws.view.Counts.Voters++
	return localapi.WorkshopCheckin{Voter: voter, Label: label, New: true, Pending: !f.ws.view.Online}, nil
}

func (f *fake) WorkshopIdea(_ context.Context, req localapi.WorkshopIdeaRequest) (localapi.WorkshopIdeaResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.takeRefusal("idea"); err != nil {
		return localapi.WorkshopIdeaResponse{}, err
	}
	if _, ok := f.ws.labels[req.Voter]; !ok {
		return localapi.WorkshopIdeaResponse{}, refused(localapi.CodeUnknownVoter)
	}
	if p := f.ws.view.Phase; p == nil || p.Kind != "ideas" {
		return localapi.WorkshopIdeaResponse{}, refused("wrong_phase")
	}
	if n := len([]rune(req.Text)); n == 0 || n > f.ws.view.MaxIdeaChars || len([]rune(req.Author)) > ws.MaxAuthorName {
		return localapi.WorkshopIdeaResponse{}, refused(localapi.CodeTooLong)
	}
	if req.Table < 0 || req.Table > f.ws.view.Tables {
		return localapi.WorkshopIdeaResponse{}, refused("invalid")
	}
	author := req.Author
	if !f.ws.view.Named {
		author = "" // the engine keeps no names in an anonymous workshop
	}
	id := fmt.Sprintf("I%03d", len(f.ws.view.Ideas)+1)
	f.ws.view.Ideas = append(f.ws.view.Ideas, localapi.WorkshopIdea{ID: id, Text: req.Text, Author: author, Pending: !f.ws.view.Online})
	f.ws.authors[id] = req.Voter
	f.ws.tables[id] = req.Table
	f.ws.view.Counts.Ideas++
	return localapi.WorkshopIdeaResponse{ID: id, Pending: !f.ws.view.Online}, nil
}

func (f *fake) WorkshopDot(_ context.Context, req localapi.WorkshopDotRequest) (localapi.WorkshopDotResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.takeRefusal("dot"); err != nil {
		return localapi.WorkshopDotResponse{}, err
	}
	r := f.ws.view.Round
	if r == nil || r.Closed {
		return localapi.WorkshopDotResponse{}, refused("wrong_phase")
	}
	if !slices.Contains(r.Items, req.Item) {
		return localapi.WorkshopDotResponse{}, refused("unknown_item")
	}
	if f.dotsLeft(req.Voter) == 0 {
		return localapi.WorkshopDotResponse{}, refused(localapi.CodeNoDotsLeft)
	}
	on := 0
	for _, d := range f.ws.dots {
		if f.ws.owner[d.ID] == req.Voter && d.Item == req.Item {
			on++
		}
	}
	if r.MaxPerItem > 0 && on >= r.MaxPerItem {
		return localapi.WorkshopDotResponse{}, refused(localapi.CodeItemCap)
	}
	st := "counted"
	if !f.ws.view.Online {
		st = "pending"
	}
	d := localapi.WorkshopDot{ID: fmt.Sprintf("D%03d", len(f.ws.owner)+1), Item: req.Item, Status: st}
	f.ws.dots = append(f.ws.dots, d)
	f.ws.owner[d.ID] = req.Voter
	return localapi.WorkshopDotResponse{ID: d.ID, Status: st, DotsLeft: f.dotsLeft(req.Voter)}, nil
}

func (f *fake) WorkshopDotTake(_ context.Context, req localapi.WorkshopDotTakeRequest) (localapi.WorkshopDotResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, d := range f.ws.dots {
		if d.ID == req.Dot {
			if f.ws.owner[d.ID] != req.Voter {
				return localapi.WorkshopDotResponse{}, refused("not_allowed")
			}
			f.ws.dots = slices.Delete(f.ws.dots, i, i+1)
			return localapi.WorkshopDotResponse{ID: d.ID, Status: "taken", DotsLeft: f.dotsLeft(req.Voter)}, nil
		}
	}
	return localapi.WorkshopDotResponse{}, refused("unknown_item")
}

func (f *fake) WorkshopDone(_ context.Context, req localapi.WorkshopDoneRequest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.ws.labels[req.Voter]; !ok {
		return refused(localapi.CodeUnknownVoter)
	}
	if !f.ws.done[req.Voter] {
		f.ws.done[req.Voter] = true
		f.ws.view.Counts.Done++
	}
	return nil
}

func (f *fake) WorkshopPrint(_ context.Context, req localapi.WorkshopPrintRequest) (localapi.PrintResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failPrint != nil {
		return localapi.PrintResponse{}, errors.Join(localapi.ErrPrinter, f.failPrint)
	}
	f.ws.printed = append(f.ws.printed, req)
	return localapi.PrintResponse{Bytes: 100}, nil
}

// moderator: a service card and the service PIN, or a moderator's card
// and the moderator's PIN, as the agent checks them.
func (f *fake) moderator(card, pin string) bool {
	return slices.Contains(f.content.ServiceCards, card) && api.CheckPIN(f.content.ServicePIN, pin) ||
		slices.Contains(f.content.ModeratorCards, card) && api.CheckPIN(f.content.ModeratorPIN, pin)
}

func (f *fake) WorkshopSwitch(_ context.Context, req localapi.WorkshopSwitchRequest) (localapi.WorkshopView, error) {
	f.mu.Lock()
	if !f.moderator(req.CardHash, req.PIN) {
		f.mu.Unlock()
		return localapi.WorkshopView{}, refused(localapi.CodeBadCredentials)
	}
	var title string
	for _, a := range f.ws.view.Available {
		if a.ID == req.Workshop {
			title = a.Title
		}
	}
	if title == "" {
		f.mu.Unlock()
		return localapi.WorkshopView{}, refused(localapi.CodeNoSuchWorkshop)
	}
	f.ws.switched = append(f.ws.switched, req)
	f.ws.view.Active, f.ws.view.ID, f.ws.view.Title = true, req.Workshop, title
	f.mu.Unlock()
	return f.Workshop(context.Background(), "")
}

func (f *fake) WorkshopLeave(_ context.Context, req localapi.WorkshopLeaveRequest) (localapi.WorkshopView, error) {
	f.mu.Lock()
	if !f.moderator(req.CardHash, req.PIN) {
		f.mu.Unlock()
		return localapi.WorkshopView{}, refused(localapi.CodeBadCredentials)
	}
	f.ws.left++
	f.ws.view.Active = false
	f.mu.Unlock()
	return f.Workshop(context.Background(), "")
}
