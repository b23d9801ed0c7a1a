package ui_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"

	"github.com/quartierhub/quartierhub/kiosk/localapi"
	"github.com/quartierhub/quartierhub/kiosk/session"
	"github.com/quartierhub/quartierhub/kiosk/ui"
	"github.com/quartierhub/quartierhub/kiosk/ui/backend"
)

func newWorkshopHarness(t *testing.T) *harness {
	t.Helper()
	be := newFake(t)
	be.ws = newFakeWorkshop()
	return newHarness(t, be)
}

// card presents (on) or removes a card.
func (h *harness) card(on bool, hash string) {
	h.u.HandleEvent(localapi.Event{Type: localapi.EventCard, Card: &localapi.CardEvent{Presented: on, Hash: hash}})
}

// workshopChanged is the agent's "workshop" event.
func (h *harness) workshopChanged() {
	h.u.HandleEvent(localapi.Event{Type: localapi.EventWorkshop, Workshop: &localapi.WorkshopNote{Workshop: "W1"}})
}

// tapItem taps a vote item's button: action is the button's translation
// key, item the item's text.
func (h *harness) tapItem(action, item string) {
	h.t.Helper()
	obj, _, err := h.u.Locate(ui.ItemAction(h.cat.T(h.lang(), action), item))
	if err != nil {
		h.t.Fatal(err)
	}
	test.Tap(obj)
}

// itemEnabled reports whether a vote item's button can be tapped.
func (h *harness) itemEnabled(action, item string) bool {
	_, _, err := h.u.Locate(ui.ItemAction(h.cat.T(h.lang(), action), item))
	return err == nil
}

func (h *harness) tr(key string, args ...any) string { return h.cat.T(h.lang(), key, args...) }

func (h *harness) mustShow(key string, args ...any) {
	h.t.Helper()
	if s := h.tr(key, args...); !h.has(s) {
		h.t.Fatalf("screen %s does not show %q", h.u.Screen(), s)
	}
}

// The attract screen of a workshop: its title and question, the phase
// with its timer counting down, how to take part; a card checks its
// holder in, ideas go to the agent, "I'm done" too; the session's end
// forgets the voter and nothing of them is left on the screen; the same
// card later is the same voter again (its ideas are still its own).
func TestWorkshopCardParticipant(t *testing.T) {
	h := newWorkshopHarness(t)
	be := h.be
	h.expectScreen(ui.ScreenWorkshop)
	h.mustShow("workshop.attract.card")
	if !h.has("Friedrichstraße neu denken") || !h.has(be.ws.view.Question) {
		t.Fatal("the workshop's title or question is missing")
	}
	h.mustShow("workshop.phase.line", "n", 1, "of", 4, "title", "Ideen sammeln")
	if !h.has(h.tr("workshop.phase.left", "time", "10:00")) {
		t.Fatal("no timer on the workshop's attract screen")
	}
	h.clk.Add(65 * time.Second)
	h.u.Tick()
	if !h.has(h.tr("workshop.phase.left", "time", "8:55")) {
		t.Fatal("the timer does not count down")
	}

	h.card(true, "c1")
	h.expectScreen(ui.ScreenWorkshopIdeas)
	voter := h.u.Voter()
	if voter == "" || be.ws.cards["c1"] != voter {
		t.Fatalf("voter %q, the agent's %q", voter, be.ws.cards["c1"])
	}
	h.mustShow("workshop.me", "label", "Karte 17")
	h.typeKeys("Mehr Bänke")
	h.mustShow("workshop.ideas.count", "n", 10, "max", 140)
	h.tap("workshop.ideas.send")
	if got := be.ws.view.Ideas; len(got) != 1 || got[0].Text != "Mehr Bänke" || be.ws.authors[got[0].ID] != voter {
		t.Fatalf("ideas at the agent: %+v", got)
	}
	h.mustShow("workshop.ideas.mine", "n", 1)
	h.mustShow("workshop.ideas.count", "n", 0, "max", 140)
	if !h.has("Mehr Bänke") {
		t.Fatal("the voter's own idea is not listed")
	}
	h.tap("workshop.ideas.done")
	if !be.ws.done[voter] {
		t.Fatal("I'm done did not reach the agent")
	}
	h.mustShow("workshop.ideas.done_thanks")

	// The card taken away after a while ends the session.
	h.typeKeys("Halb")
	h.clk.Add(10 * time.Second)
	h.card(false, "c1")
	h.expectScreen(ui.ScreenWorkshop)
	if why, _ := h.u.LastEnd(); why != session.EndCardRemoved {
		t.Fatalf("end %v", why)
	}
	if h.u.Voter() != "" || h.u.WorkshopView().Me != nil || h.has("Mehr Bänke") || h.has("Karte 17") {
		t.Fatal("the last participant is still on the screen")
	}
	// A guest now starts from nothing: no draft, no ideas of the card.
	h.tap("workshop.attract.guest")
	h.expectScreen(ui.ScreenWorkshopIdeas)
	if h.has("Halb") || h.has("Mehr Bänke") || h.has(h.tr("workshop.ideas.mine", "n", 1)) {
		t.Fatal("the next participant sees the last one's draft or ideas")
	}
	h.mustShow("workshop.me", "label", "Gast 18")
	h.tap("action.finish")
	h.expectScreen(ui.ScreenWorkshop)
	h.mustShow("workshop.attract.counts", "voters", 2, "ideas", 1)

	// Joining closed: no guest numbers, said so; a card that checked in
	// before still comes back.
	be.mu.Lock()
	be.ws.view.JoinOpen = false
	be.mu.Unlock()
	h.workshopChanged()
	h.mustShow("workshop.reason.join_closed")
	if _, _, err := h.u.Locate("workshop.attract.guest"); err == nil {
		t.Fatal("a guest number offered while joining is closed")
	}
	h.card(true, "c2")
	h.expectScreen(ui.ScreenWorkshopJoin)
	h.mustShow("workshop.reason.join_closed")
	h.tap("action.finish")

	h.card(true, "c1")
	if h.u.Voter() != voter {
		t.Fatal("the same card is another voter")
	}
	h.mustShow("workshop.ideas.mine", "n", 1)
}

// A guest session times out like every session: the warning, then back
// to the workshop's screen with nothing of the guest kept.
func TestWorkshopGuestTimesOut(t *testing.T) {
	h := newWorkshopHarness(t)
	h.tapAttract()
	h.expectScreen(ui.ScreenWorkshopJoin)
	h.mustShow("workshop.join.card")
	h.tap("workshop.attract.guest")
	h.expectScreen(ui.ScreenWorkshopIdeas)
	h.typeKeys("Bäume")
	h.clk.Add(121 * time.Second)
	h.u.Tick()
	if !h.u.WarningShown() {
		t.Fatal("no timeout warning")
	}
	h.clk.Add(30 * time.Second)
	h.u.Tick()
	h.expectScreen(ui.ScreenWorkshop)
	if why, _ := h.u.LastEnd(); why != session.EndTimeout || h.u.Voter() != "" {
		t.Fatalf("end %v, voter %q", why, h.u.Voter())
	}
	h.tap("workshop.attract.guest")
	if h.has("Bäume") {
		t.Fatal("the next guest sees the last one's draft")
	}
}

// Offline: a calm note on every workshop screen, and an idea is kept
// (said so) and listed as still to be sent.
func TestWorkshopOfflineKeepsInput(t *testing.T) {
	be := newFake(t)
	be.ws = newFakeWorkshop()
	be.ws.view.Online = false
	h := newHarness(t, be)
	h.mustShow("workshop.offline")
	h.tap("workshop.attract.guest")
	h.mustShow("workshop.offline")
	h.typeKeys("Trinkbrunnen")
	h.tap("workshop.ideas.send")
	if !h.has("Trinkbrunnen – " + h.tr("workshop.pending")) {
		t.Fatal("the pending idea is not marked as still to be sent")
	}
	// Back online: the agent's event brings the news.
	be.mu.Lock()
	be.ws.view.Online = true
	be.ws.view.Ideas[0].Pending = false
	be.mu.Unlock()
	h.workshopChanged()
	if h.has(h.tr("workshop.offline")) {
		t.Fatal("still offline after the agent said online")
	}
}

// Refusals say why in the participant's language: every code the agent
// may answer has words in every language, and a refused check-in shows
// them (in English once the participant chose English).
func TestWorkshopRefusalsTranslated(t *testing.T) {
	h := newWorkshopHarness(t)
	for _, code := range backend.WorkshopRefusals {
		if !h.cat.HasKey("workshop.reason." + code) {
			t.Errorf("no words for refusal %q", code)
		}
	}
	h.chooseLanguage("en")
	h.expectScreen(ui.ScreenWorkshopJoin)
	h.be.ws.refuse["checkin"] = "join_closed"
	h.tap("workshop.attract.guest")
	h.expectScreen(ui.ScreenWorkshopJoin)
	if !h.has("Check-in is closed. Please ask the moderator.") {
		t.Fatal("the refusal is not said in English")
	}
	h.tap("workshop.attract.guest")
	h.expectScreen(ui.ScreenWorkshopIdeas)
	h.be.ws.refuse["idea"] = "not_open"
	h.typeKeys("x")
	h.tap("workshop.ideas.send")
	h.mustShow("workshop.reason.not_open")
	h.be.ws.refuse["idea"] = "something_new"
	h.tap("workshop.ideas.send")
	h.mustShow("workshop.reason.other")
	if !h.has("x") {
		t.Fatal("a refused idea's text was lost")
	}
}

func votingWorkshop(be *fake) {
	w := be.ws
	w.view.Phase = &localapi.WorkshopPhase{Index: 2, Count: 4, Kind: "vote", Title: "Punkte vergeben"}
	w.view.Ideas = []localapi.WorkshopIdea{
		{ID: "I001", Text: "Mehr Bänke im Schatten"}, {ID: "I002", Text: "Trinkbrunnen am Platz"},
		{ID: "I003", Text: "Tempo 20"}, {ID: "I004", Text: "Bäume statt Parkplätze"}}
	w.view.Round = &localapi.WorkshopRound{N: 1, On: "ideas", Dots: 3, MaxPerItem: 2, Items: []string{"I001", "I002", "I003", "I004"}}
}

// Dot voting: dots left, one's own dots on each item in words (counted,
// waiting to be sent, over the limit), the item cap and the dots running
// out disable "give a dot", a dot taken back; totals only once revealed.
func TestWorkshopDotVoting(t *testing.T) {
	be := newFake(t)
	be.ws = newFakeWorkshop()
	votingWorkshop(be)
	h := newHarness(t, be)
	h.tap("workshop.attract.guest")
	h.expectScreen(ui.ScreenWorkshopVote)
	h.mustShow("workshop.vote.left", "left", 3, "of", 3)
	h.tapItem("workshop.vote.add", "Tempo 20")
	h.tapItem("workshop.vote.add", "Tempo 20")
	h.mustShow("workshop.dots.counted", "n", 2)
	h.mustShow("workshop.vote.left", "left", 1, "of", 3)
	if h.itemEnabled("workshop.vote.add", "Tempo 20") || !h.itemEnabled("workshop.vote.add", "Trinkbrunnen am Platz") {
		t.Fatal("the item cap does not hold, or holds for another item")
	}
	h.mustShow("workshop.vote.item_full")

	// Offline, a dot waits to be sent.
	be.mu.Lock()
	be.ws.view.Online = false
	be.mu.Unlock()
	h.workshopChanged()
	h.tapItem("workshop.vote.add", "Trinkbrunnen am Platz")
	h.mustShow("workshop.dots.pending", "n", 1)
	h.mustShow("workshop.vote.none_left")
	for _, it := range []string{"Mehr Bänke im Schatten", "Bäume statt Parkplätze"} {
		if h.itemEnabled("workshop.vote.add", it) {
			t.Fatalf("a dot can be given with none left (%s)", it)
		}
	}
	if h.has(h.tr("workshop.vote.total", "n", 2)) {
		t.Fatal("a total shows before the reveal")
	}

	// The hub's order put one of the dots over the voter's limit (it
	// was spent on another terminal too): said in words, and it is the
	// one "take back" takes first.
	be.mu.Lock()
	be.ws.dots[1].Status = "over_limit"
	be.ws.view.Online = true
	be.mu.Unlock()
	h.workshopChanged()
	h.mustShow("workshop.dots.over", "n", 1)
	h.mustShow("workshop.dots.counted", "n", 1)
	h.tapItem("workshop.vote.take", "Tempo 20")
	if len(be.ws.dots) != 2 || be.ws.dots[0].Status != "counted" {
		t.Fatalf("dots at the agent after taking one back: %+v", be.ws.dots)
	}
	if h.has(h.tr("workshop.dots.over", "n", 1)) {
		t.Fatal("the dot over the limit is still shown")
	}

	// Revealed: every item's total.
	be.mu.Lock()
	be.ws.view.Round.Revealed = true
	be.ws.view.Results = []localapi.WorkshopResult{{Item: "I003", Text: "Tempo 20", Dots: 9, Rank: 1}, {Item: "I002", Text: "Trinkbrunnen am Platz", Dots: 8, Rank: 2, NearTie: true}}
	be.mu.Unlock()
	h.workshopChanged()
	h.mustShow("workshop.vote.total", "n", 9)
	h.mustShow("workshop.vote.total", "n", 0)
}

// The themes as the moderator forms them, read-only, following the
// agent's events; then the results, near ties marked in words.
func TestWorkshopThemesAndResults(t *testing.T) {
	be := newFake(t)
	be.ws = newFakeWorkshop()
	votingWorkshop(be)
	be.ws.view.Round = nil
	be.ws.view.Phase = &localapi.WorkshopPhase{Index: 1, Count: 4, Kind: "cluster", Title: "Themen bilden"}
	h := newHarness(t, be)
	h.card(true, "c9")
	h.expectScreen(ui.ScreenWorkshopThemes)
	h.mustShow("workshop.themes.none")
	h.mustShow("workshop.themes.unsorted", "n", 4)
	be.mu.Lock()
	be.ws.view.Themes = []localapi.WorkshopTheme{{ID: "T1", Name: "Aufenthalt", Ideas: []string{"I001", "I004"}}}
	be.ws.view.Ideas[0].Theme, be.ws.view.Ideas[3].Theme = "T1", "T1"
	be.mu.Unlock()
	h.workshopChanged()
	h.expectScreen(ui.ScreenWorkshopThemes)
	if !h.has("Aufenthalt") || !h.has("• Bäume statt Parkplätze") {
		t.Fatal("the new theme does not show")
	}
	h.mustShow("workshop.themes.unsorted", "n", 2)

	be.mu.Lock()
	be.ws.view.Phase = &localapi.WorkshopPhase{Index: 3, Count: 4, Kind: "results", Title: "Ergebnis"}
	be.ws.view.Round = &localapi.WorkshopRound{N: 1, On: "themes", Dots: 3, Items: []string{"T1"}, Revealed: true, Closed: true}
	be.ws.view.Results = []localapi.WorkshopResult{
		{Item: "I003", Text: "Tempo 20", Dots: 9, Rank: 1, NearTie: true}, {Item: "I002", Text: "Trinkbrunnen am Platz", Dots: 8, Rank: 2, NearTie: true},
		{Item: "T1", Text: "Aufenthalt", Dots: 3, Rank: 3}}
	be.mu.Unlock()
	h.workshopChanged()
	h.expectScreen(ui.ScreenWorkshopResults)
	if !h.has("Tempo 20 – "+h.tr("workshop.results.near_tie")) || h.has("Aufenthalt – "+h.tr("workshop.results.near_tie")) {
		t.Fatal("near ties are not marked as such")
	}
	h.mustShow("workshop.results.dots", "n", 9)
}

// The terminal joins and leaves workshop mode as the agent says: the
// attract screen changes, and a participant's session ends when the
// workshop goes (its voter belongs to it).
func TestWorkshopModeFollowsTheAgent(t *testing.T) {
	be := newFake(t)
	h := newHarness(t, be)
	h.expectScreen(ui.ScreenAttract)
	be.mu.Lock()
	be.ws = newFakeWorkshop()
	be.mu.Unlock()
	h.workshopChanged()
	h.expectScreen(ui.ScreenWorkshop)
	h.tap("workshop.attract.guest")
	h.expectScreen(ui.ScreenWorkshopIdeas)
	be.mu.Lock()
	be.ws.view.Active = false
	be.mu.Unlock()
	h.workshopChanged()
	h.expectScreen(ui.ScreenAttract)
	if h.u.Session() != nil || h.u.Voter() != "" {
		t.Fatal("the participant's session outlived the workshop")
	}
	// A resident's session is not cut short by a workshop starting.
	h.tapAttract()
	h.expectScreen(ui.ScreenHome)
	be.mu.Lock()
	be.ws.view.Active = true
	be.mu.Unlock()
	h.workshopChanged()
	h.expectScreen(ui.ScreenHome)
	h.tap("action.finish")
	h.expectScreen(ui.ScreenWorkshop)
}

// A moderator at the terminal: service card and PIN, then the workshop
// screen of the service menu switches to another open workshop (the
// agent gets the card and the PIN), prints the summary and leaves
// workshop mode; closing forgets card and PIN.
func TestWorkshopModeratorAtTheTerminal(t *testing.T) {
	h := newWorkshopHarness(t)
	be := h.be
	service := be.content.ServiceCards[0]
	h.card(true, service)
	for _, k := range "2468" {
		h.tap(string(k))
	}
	h.tap("service.pin.ok")
	h.expectScreen(ui.ScreenService)
	h.tap("workshop.mod.open")
	h.expectScreen(ui.ScreenWorkshopModerator)
	h.mustShow("workshop.mod.current", "title", "Friedrichstraße neu denken")
	h.tap("Spielplatz Weißeritzufer")
	if len(be.ws.switched) != 1 || be.ws.switched[0].Workshop != "W2" || be.ws.switched[0].CardHash != service || be.ws.switched[0].PIN != "2468" {
		t.Fatalf("switch requests %+v", be.ws.switched)
	}
	h.mustShow("workshop.mod.switched")
	h.mustShow("workshop.mod.current", "title", "Spielplatz Weißeritzufer")
	h.tap("workshop.mod.print")
	if len(be.ws.printed) != 1 || be.ws.printed[0].Lang != "de" {
		t.Fatalf("print requests %+v", be.ws.printed)
	}
	h.mustShow("workshop.mod.printed")
	be.failPrint = errTest
	h.tap("workshop.mod.print")
	h.mustShow("workshop.reason.printer_unavailable")
	h.tap("workshop.mod.leave")
	if be.ws.left != 1 {
		t.Fatal("leave did not reach the agent")
	}
	h.mustShow("workshop.mod.none")
	h.tap("service.close")
	h.expectScreen(ui.ScreenAttract)

	// The menu idles out like the service menu.
	h.card(true, service)
	for _, k := range "2468" {
		h.tap(string(k))
	}
	h.tap("service.pin.ok")
	h.tap("workshop.mod.open")
	h.clk.Add(ui.ServiceIdle)
	h.u.Tick()
	h.expectScreen(ui.ScreenAttract)
	// A wrong PIN (the agent checks it again) is said so.
	h.card(true, service)
	for _, k := range "2468" {
		h.tap(string(k))
	}
	h.tap("service.pin.ok")
	h.tap("workshop.mod.open")
	be.content.ServicePIN = strings.Repeat("0", 10)
	h.tap("Friedrichstraße neu denken")
	h.mustShow("workshop.reason.bad_credentials")
}

type testError string

func (e testError) Error() string { return string(e) }

const errTest = testError("paper out")

// visitWorkshop drives the window through a workshop's screens (for
// TestEveryScreen): its attract screen, check-in, a café's table, a
// named idea's first name, ideas, the themes, dots (counted, waiting to
// be sent, over the limit, offline), results, and the moderator's screen.
func visitWorkshop(t *testing.T, lang, mode string, size fyne.Size, f func(h *harness, name string)) {
	be := newFake(t)
	be.ws = newFakeWorkshop()
	cafeWorkshop(be)
	namedWorkshop(be)
	be.ws.view.Phase.EndsAt = time.Date(2025, 3, 3, 9, 40, 0, 0, time.Local)
	be.ws.view.Tables = 12 // the most a café has
	h := newHarnessWith(t, be, size, nil)
	phase := func(set func(w *fakeWorkshop)) {
		be.mu.Lock()
		set(be.ws)
		be.mu.Unlock()
		h.workshopChanged()
	}
	if mode == "normal" && lang == "de" {
		f(h, "workshop-attract")
	}
	if lang == "de" {
		h.tapAttract()
	} else {
		h.chooseLanguage(lang)
	}
	if mode == "large" {
		h.tap("display.large")
	}
	if mode == "contrast" {
		h.tap("display.contrast")
	}
	f(h, "workshop-join")
	h.tap("workshop.attract.guest")
	f(h, "workshop-table")
	h.tap("workshop.table.n", "n", 12)
	h.tap("workshop.name.add")
	h.typeText(map[string]string{"de": "Marie-Luise", "en": "Marie-Luise", "uk": "Марія", "ru": "Мария", "tr": "Ayşe", "vi": "Marie-Luise"}[lang])
	f(h, "workshop-name")
	h.tap("workshop.name.ok")
	ideas := map[string][2]string{ // on the session language's keyboard
		"de": {"Mehr Schatten am Spielplatz", "Bänke"}, "en": {"More shade at the playground", "Benches"},
		"uk": {"Більше тіні", "Лавки"}, "ru": {"Больше тени", "Скамейки"},
		"tr": {"Oyun alanında daha çok gölge", "Banklar"}, "vi": {"Thêm bóng mát ở sân chơi", "Ghế"},
	}[lang]
	h.typeText(ideas[0])
	h.tap("workshop.ideas.send")
	h.typeText(ideas[1])
	f(h, "workshop-ideas")
	phase(func(w *fakeWorkshop) {
		votingWorkshop(be)
		w.view.Ideas[0].Theme, w.view.Ideas[3].Theme, w.view.Ideas[1].Theme = "T1", "T1", "T2"
		w.view.Ideas[0].Author = "Marie-Luise"
		w.view.Themes = []localapi.WorkshopTheme{{ID: "T1", Name: "Aufenthalt", Ideas: []string{"I001", "I004"}}, {ID: "T2", Name: "Wasser", Ideas: []string{"I002"}}}
		w.view.Round = nil
		w.view.Phase = &localapi.WorkshopPhase{Index: 1, Count: 4, Kind: "cluster", Title: "Themen bilden", EndsAt: h.clk.t.Add(5 * time.Minute)}
	})
	f(h, "workshop-themes")
	phase(func(w *fakeWorkshop) {
		votingWorkshop(be)
		w.view.Phase.EndsAt = h.clk.t.Add(3 * time.Minute)
		w.view.Ideas[0].Author = "Marie-Luise"
	})
	h.tapItem("workshop.vote.add", "Tempo 20")
	h.tapItem("workshop.vote.add", "Tempo 20")
	phase(func(w *fakeWorkshop) {
		w.dots[1].Status = "over_limit"
		w.view.Online = false
	})
	h.tapItem("workshop.vote.add", "Trinkbrunnen am Platz")
	f(h, "workshop-vote")
	phase(func(w *fakeWorkshop) {
		w.view.Online = true
		w.view.Phase = &localapi.WorkshopPhase{Index: 3, Count: 4, Kind: "results", Title: "Ergebnis"}
		w.view.Round.Revealed, w.view.Round.Closed = true, true
		w.view.Results = []localapi.WorkshopResult{
			{Item: "I003", Text: "Tempo 20", Dots: 9, Rank: 1, NearTie: true}, {Item: "I002", Text: "Trinkbrunnen am Platz", Dots: 8, Rank: 2, NearTie: true},
			{Item: "I001", Text: "Mehr Bänke im Schatten", Dots: 5, Rank: 3}, {Item: "I004", Text: "Bäume statt Parkplätze", Dots: 2, Rank: 4}}
	})
	f(h, "workshop-results")
	if mode == "normal" {
		h.tap("action.finish")
		h.card(true, be.content.ServiceCards[0])
		for _, k := range "2468" {
			h.tap(string(k))
		}
		h.tap("service.pin.ok")
		h.tap("workshop.mod.open")
		f(h, "workshop-moderate")
	}
}

// A card whose check-in raced another of the same card (a reader that
// reads it twice) is refused as a duplicate once; the window asks again
// and gets the card's voter.
func TestWorkshopCardCheckInRaced(t *testing.T) {
	h := newWorkshopHarness(t)
	h.be.ws.refuse["checkin"] = "duplicate"
	h.card(true, "c5")
	h.expectScreen(ui.ScreenWorkshopIdeas)
	if h.u.Voter() == "" || h.u.Voter() != h.be.ws.cards["c5"] {
		t.Fatalf("voter %q", h.u.Voter())
	}
	// A guest's duplicate is not asked again: said as it is.
	h.tap("action.finish")
	h.be.ws.refuse["checkin"] = "duplicate"
	h.tap("workshop.attract.guest")
	h.expectScreen(ui.ScreenWorkshopJoin)
	h.mustShow("workshop.reason.duplicate")
}

// innerScroll is the scrolled list of a workshop screen (the last
// scroll container: the frame's body is the first).
func (h *harness) innerScroll() *container.Scroll {
	var last *container.Scroll
	for _, o := range h.objects() {
		if s, ok := o.(*container.Scroll); ok {
			last = s
		}
	}
	if last == nil {
		h.t.Fatal("no scroll on " + h.u.Screen())
	}
	return last
}

// A long vote list keeps its place when a dot is given further down,
// and news it does not show (another voter's hidden dot) does not build
// it again at all.
func TestWorkshopVoteListKeepsItsPlace(t *testing.T) {
	be := newFake(t)
	be.ws = newFakeWorkshop()
	votingWorkshop(be)
	for i := 5; i <= 14; i++ {
		id := fmt.Sprintf("I%03d", i)
		be.ws.view.Ideas = append(be.ws.view.Ideas, localapi.WorkshopIdea{ID: id, Text: fmt.Sprintf("Idee Nummer %d", i)})
		be.ws.view.Round.Items = append(be.ws.view.Round.Items, id)
	}
	h := newHarnessWith(t, be, fyne.NewSize(1280, 800), nil)
	h.tap("workshop.attract.guest")
	h.expectScreen(ui.ScreenWorkshopVote)
	sc := h.innerScroll()
	if sc.Content.MinSize().Height <= sc.Size().Height {
		t.Fatal("the list fits: nothing to scroll in this test")
	}
	sc.Offset = fyne.NewPos(0, 300)
	sc.Refresh()
	h.tapItem("workshop.vote.add", "Idee Nummer 9")
	if len(be.ws.dots) != 1 || be.ws.dots[0].Item != "I009" {
		t.Fatalf("dots %+v", be.ws.dots)
	}
	after := h.innerScroll()
	if after == sc || after.Offset.Y != 300 {
		t.Fatalf("after the dot: same list %v, offset %v", after == sc, after.Offset)
	}
	be.mu.Lock()
	be.ws.view.Counts.Dots += 5
	be.mu.Unlock()
	h.workshopChanged()
	if h.innerScroll() != after {
		t.Fatal("news the screen does not show built it again")
	}
}

// pinPad types pin on the PIN pad and confirms it.
func (h *harness) pinPad(pin string) {
	h.t.Helper()
	for _, k := range pin {
		h.tap(string(k))
	}
	h.tap("service.pin.ok")
}

// A moderator's card (content.moderator_cards) with the moderator's PIN
// opens the workshop's screen at the terminal and nothing else of the
// service menu: the service PIN does not open it, it ends a
// participant's session without checking the card in, the agent gets
// the moderator's card and PIN with a switch, and it closes and idles
// out as the service menu does, forgetting card and PIN.
func TestWorkshopModeratorCard(t *testing.T) {
	h := newWorkshopHarness(t)
	be := h.be
	mod := be.content.ModeratorCards[0]
	h.tap("workshop.attract.guest")
	h.expectScreen(ui.ScreenWorkshopIdeas)
	h.card(true, mod)
	h.expectScreen(ui.ScreenPIN)
	h.mustShow("workshop.mod.pin_title")
	if h.u.Session() != nil || h.u.Voter() != "" || be.ws.cards[mod] != "" {
		t.Fatal("the moderator's card left the participant's session running, or checked in")
	}
	h.pinPad("2468") // the service PIN is not the moderator's
	h.expectScreen(ui.ScreenPIN)
	h.mustShow("service.pin.wrong")
	h.pinPad("1357")
	h.expectScreen(ui.ScreenWorkshopModerator)
	for _, key := range []string{"service.test_print", "service.sync_now", "service.refresh", "workshop.mod.open"} {
		if h.keyShown(h.tr(key)) {
			t.Fatalf("the moderator's screen offers %q of the service menu", key)
		}
	}
	h.mustShow("workshop.mod.current", "title", "Friedrichstraße neu denken")
	h.tap("Spielplatz Weißeritzufer")
	if len(be.ws.switched) != 1 || be.ws.switched[0].CardHash != mod || be.ws.switched[0].PIN != "1357" || be.ws.switched[0].Workshop != "W2" {
		t.Fatalf("switch requests %+v", be.ws.switched)
	}
	h.mustShow("workshop.mod.switched")
	h.tap("workshop.mod.print")
	if len(be.ws.printed) != 1 {
		t.Fatalf("print requests %+v", be.ws.printed)
	}
	h.tap("service.close")
	h.expectScreen(ui.ScreenWorkshop)

	// Idles out like the service menu; a service card afterwards gets the
	// whole service menu with the service PIN, not the moderator's.
	h.card(true, mod)
	h.pinPad("1357")
	h.expectScreen(ui.ScreenWorkshopModerator)
	h.clk.Add(ui.ServiceIdle)
	h.u.Tick()
	h.expectScreen(ui.ScreenWorkshop)
	h.card(true, be.content.ServiceCards[0])
	h.mustShow("service.pin.title")
	h.pinPad("1357")
	h.expectScreen(ui.ScreenPIN)
	h.pinPad("2468")
	h.expectScreen(ui.ScreenService)
	h.tap("service.close")

	// Three wrong PINs close the pad; a card with no moderator's PIN
	// configured opens nothing.
	h.card(true, mod)
	for range 3 {
		h.pinPad("0000")
	}
	h.expectScreen(ui.ScreenWorkshop)
	be.content.ModeratorPIN = ""
	h.u.Apply(be.content, be.status)
	h.card(true, mod)
	h.pinPad("1357")
	h.expectScreen(ui.ScreenPIN)
	h.mustShow("service.pin.wrong")
}

// namedWorkshop lets ideas carry a first name.
func namedWorkshop(be *fake) { be.ws.view.Named = true }

// Named ideas: the ideas screen offers an optional first name, typed on
// the on-screen keyboard (at most workshop.MaxAuthorName characters),
// sent with each idea and shown with it where participants see ideas;
// the next participant starts without it; an anonymous workshop offers
// no name and sends none.
func TestWorkshopNamedIdeas(t *testing.T) {
	be := newFake(t)
	be.ws = newFakeWorkshop()
	namedWorkshop(be)
	h := newHarness(t, be)
	h.tap("workshop.attract.guest")
	h.expectScreen(ui.ScreenWorkshopIdeas)
	h.tap("workshop.name.add")
	h.expectScreen(ui.ScreenWorkshopIdeas)
	h.mustShow("workshop.name.hint")
	h.typeKeys("Anna")
	h.tap("workshop.name.ok")
	h.mustShow("workshop.name.shown", "name", "Anna")
	h.typeKeys("Mehr Bänke")
	h.tap("workshop.ideas.send")
	if got := be.ws.view.Ideas; len(got) != 1 || got[0].Text != "Mehr Bänke" || got[0].Author != "Anna" {
		t.Fatalf("ideas at the agent: %+v", got)
	}
	if !h.has(h.tr("workshop.ideas.signed", "text", "Mehr Bänke", "name", "Anna")) {
		t.Fatal("the idea is not shown with its writer's name")
	}
	// The name is capped by the keyboard; "no name" sends none.
	h.tap(h.tr("workshop.name.shown", "name", "Anna"))
	h.typeKeys(strings.Repeat("x", 50))
	h.tap("workshop.name.ok")
	h.mustShow("workshop.name.shown", "name", "Anna"+strings.Repeat("x", backend.MaxAuthorName-4))
	h.tap(h.tr("workshop.name.shown", "name", "Anna"+strings.Repeat("x", backend.MaxAuthorName-4)))
	h.tap("workshop.name.none")
	h.mustShow("workshop.name.add")
	h.typeKeys("Schatten")
	h.tap("workshop.ideas.send")
	if got := be.ws.view.Ideas; len(got) != 2 || got[1].Author != "" {
		t.Fatalf("an idea without a name: %+v", got)
	}

	// The themes and the vote show the names too.
	be.mu.Lock()
	be.ws.view.Phase = &localapi.WorkshopPhase{Index: 1, Count: 4, Kind: "cluster", Title: "Themen bilden"}
	be.ws.view.Themes = []localapi.WorkshopTheme{{ID: "T1", Name: "Sitzen", Ideas: []string{"I001"}}}
	be.ws.view.Ideas[0].Theme = "T1"
	be.mu.Unlock()
	h.workshopChanged()
	h.expectScreen(ui.ScreenWorkshopThemes)
	if !h.has("• " + h.tr("workshop.ideas.signed", "text", "Mehr Bänke", "name", "Anna")) {
		t.Fatal("the themes screen does not show the writer's name")
	}
	be.mu.Lock()
	be.ws.view.Phase = &localapi.WorkshopPhase{Index: 2, Count: 4, Kind: "vote", Title: "Punkte"}
	be.ws.view.Round = &localapi.WorkshopRound{N: 1, On: "ideas", Dots: 2, Items: []string{"I001", "I002"}}
	be.mu.Unlock()
	h.workshopChanged()
	h.expectScreen(ui.ScreenWorkshopVote)
	if !h.has(h.tr("workshop.ideas.signed", "text", "Mehr Bänke", "name", "Anna")) {
		t.Fatal("the vote does not show the writer's name")
	}
	h.tapItem("workshop.vote.add", "Mehr Bänke") // the item is still found by its text

	// The next participant starts without the last one's name.
	be.mu.Lock()
	be.ws.view.Phase = &localapi.WorkshopPhase{Index: 0, Count: 4, Kind: "ideas", Title: "Ideen"}
	be.ws.view.Round = nil
	be.mu.Unlock()
	h.workshopChanged()
	h.tap(h.tr("workshop.name.add"))
	h.typeKeys("Ben")
	h.tap("workshop.name.ok")
	h.tap("action.finish")
	h.tap("workshop.attract.guest")
	h.mustShow("workshop.name.add")
	if h.has(h.tr("workshop.name.shown", "name", "Ben")) {
		t.Fatal("the next participant has the last one's name")
	}

	// Anonymous: no name offered, none sent even if one was typed before.
	be.mu.Lock()
	be.ws.view.Named = false
	be.mu.Unlock()
	h.workshopChanged()
	if h.has(h.tr("workshop.name.add")) {
		t.Fatal("an anonymous workshop offers a name")
	}
	h.typeKeys("Ohne")
	h.tap("workshop.ideas.send")
	if got := be.ws.view.Ideas; got[len(got)-1].Author != "" || got[len(got)-1].Text != "Ohne" {
		t.Fatalf("an anonymous idea: %+v", got[len(got)-1])
	}
}

// cafeWorkshop is a café with three tables in its first round.
func cafeWorkshop(be *fake) {
	be.ws.view.Method, be.ws.view.Tables = "cafe", 3
	be.ws.view.Phase = &localapi.WorkshopPhase{Index: 0, Count: 5, Kind: "ideas", Title: "Runde 1", Round: 1}
}

// A café: before writing ideas a participant picks their table, once a
// session and round; it is shown on the ideas screen and sent with each
// idea; a new round asks again, the next participant too.
func TestWorkshopCafeTable(t *testing.T) {
	be := newFake(t)
	be.ws = newFakeWorkshop()
	cafeWorkshop(be)
	h := newHarness(t, be)
	h.card(true, "c1")
	h.expectScreen(ui.ScreenWorkshopTable)
	h.mustShow("workshop.table.title")
	h.tap("workshop.table.n", "n", 2)
	h.expectScreen(ui.ScreenWorkshopIdeas)
	h.mustShow("workshop.table.n", "n", 2)
	h.typeKeys("Ein Brunnen")
	h.tap("workshop.ideas.send")
	h.typeKeys("Mehr Licht")
	h.tap("workshop.ideas.send")
	if got := be.ws.view.Ideas; len(got) != 2 || be.ws.tables[got[0].ID] != 2 || be.ws.tables[got[1].ID] != 2 {
		t.Fatalf("ideas %+v tables %v", got, be.ws.tables)
	}
	// News that does not change the round keeps the table.
	be.mu.Lock()
	be.ws.view.Counts.Voters += 3
	be.mu.Unlock()
	h.workshopChanged()
	h.expectScreen(ui.ScreenWorkshopIdeas)

	// The second round: the table is asked again.
	be.mu.Lock()
	be.ws.view.Phase = &localapi.WorkshopPhase{Index: 1, Count: 5, Kind: "ideas", Title: "Runde 2", Round: 2}
	be.mu.Unlock()
	h.workshopChanged()
	h.expectScreen(ui.ScreenWorkshopTable)
	h.tap("workshop.table.n", "n", 3)
	h.typeKeys("Bänke")
	h.tap("workshop.ideas.send")
	if got := be.ws.view.Ideas; len(got) != 3 || be.ws.tables[got[2].ID] != 3 {
		t.Fatalf("second round's idea at table %d", be.ws.tables[got[2].ID])
	}
	h.clk.Add(10 * time.Second)
	h.card(false, "c1")
	h.expectScreen(ui.ScreenWorkshop)
	h.tap("workshop.attract.guest")
	h.expectScreen(ui.ScreenWorkshopTable)

	// Not a café: no table asked, none sent.
	be.mu.Lock()
	be.ws.view.Method, be.ws.view.Tables = "simple", 0
	be.ws.view.Phase = &localapi.WorkshopPhase{Index: 0, Count: 4, Kind: "ideas", Title: "Ideen"}
	be.mu.Unlock()
	h.workshopChanged()
	h.expectScreen(ui.ScreenWorkshopIdeas)
	h.typeKeys("Bäume")
	h.tap("workshop.ideas.send")
	if got := be.ws.view.Ideas; len(got) != 4 || be.ws.tables[got[3].ID] != 0 {
		t.Fatalf("an idea outside a café at table %d", be.ws.tables[got[3].ID])
	}
}
