package ui_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/internal/userr"
	"github.com/quartierhub/quartierhub/kiosk/localapi"
	"github.com/quartierhub/quartierhub/kiosk/ui"
)

// newAgent is the fake agent of a terminal without identity: Enrol
// answers as answer says, and a success gives the agent its identity.
type newAgent struct {
	*fake
	mu     sync.Mutex
	got    []localapi.EnrolRequest
	answer func(localapi.EnrolRequest) (localapi.EnrolResponse, error)
}

func (n *newAgent) Enrol(_ context.Context, req localapi.EnrolRequest) (localapi.EnrolResponse, error) {
	n.mu.Lock()
	n.got = append(n.got, req)
	answer := n.answer
	n.mu.Unlock()
	resp, err := answer(req)
	if err == nil {
		n.fake.mu.Lock()
		n.fake.status.Terminal = localapi.Terminal{Enrolled: true, TerminalID: resp.TerminalID, Name: resp.Name, Quarter: resp.Quarter, HubURL: resp.HubURL}
		n.fake.mu.Unlock()
	}
	return resp, err
}

func (n *newAgent) requests() []localapi.EnrolRequest {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]localapi.EnrolRequest(nil), n.got...)
}

var welcome = localapi.EnrolResponse{TerminalID: "01JT", Name: "kiosk-7", Quarter: "Johannstadt", HubURL: "https://hub.example", Source: "typed"}

func refuse(reason, msg string) func(localapi.EnrolRequest) (localapi.EnrolResponse, error) {
	return func(localapi.EnrolRequest) (localapi.EnrolResponse, error) {
		return localapi.EnrolResponse{}, userr.New(msg, &localapi.EnrolFailure{Reason: reason})
	}
}

func firstBoot(t *testing.T) (*harness, *newAgent) {
	t.Helper()
	return firstBootAt(t, fullHD)
}

func firstBootAt(t *testing.T, size fyne.Size) (*harness, *newAgent) {
	t.Helper()
	be := &newAgent{fake: newFake(t), answer: func(localapi.EnrolRequest) (localapi.EnrolResponse, error) { return welcome, nil }}
	be.status.Terminal = localapi.Terminal{}
	app := test.NewTempApp(t)
	w := app.NewWindow("")
	w.Resize(size)
	clk := &clock{t: time.Date(2025, 3, 3, 9, 30, 0, 0, time.Local)}
	cat := catalog(t)
	u := ui.New(app, w, be, ui.Opts{Catalog: cat, Now: clk.Now, Async: syncRun, Version: "test"})
	if err := u.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, u: u, w: w, be: be.fake, clk: clk, cat: cat}, be
}

// focusedEntry is the text field that has the keyboard's focus.
func (h *harness) focusedEntry() *widget.Entry {
	h.t.Helper()
	e, ok := h.w.Canvas().Focused().(*widget.Entry)
	if !ok {
		h.t.Fatalf("no text field has the focus on screen %s (%T)", h.u.Screen(), h.w.Canvas().Focused())
	}
	return e
}

// entry is the first-run field labelled key.
func (h *harness) entry(key string) *widget.Entry {
	h.t.Helper()
	obj, _, err := h.u.Locate(key)
	if err != nil {
		h.t.Fatal(err)
	}
	return obj.(*widget.Entry)
}

func enter(e *widget.Entry) { e.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn}) }

// A terminal without identity shows the first-run screen and nothing
// else: cards (the service card too) and time do not leave it.
func TestFirstRunWithoutIdentity(t *testing.T) {
	h, _ := firstBoot(t)
	h.expectScreen(ui.ScreenFirstRun)
	if !h.has(h.cat.T("de", "firstrun.title")) || !h.has(h.cat.T("de", "firstrun.text")) {
		t.Fatal("the first-run screen does not explain itself")
	}
	for _, card := range []string{h.be.content.ServiceCards[0], strings.Repeat("cd", 32)} {
		h.u.HandleEvent(localapi.Event{Type: localapi.EventCard, Card: &localapi.CardEvent{Presented: true, Hash: card}})
		h.expectScreen(ui.ScreenFirstRun)
		h.u.HandleEvent(localapi.Event{Type: localapi.EventCard, Card: &localapi.CardEvent{Presented: false, Hash: card}})
	}
	h.clk.Add(time.Hour)
	h.u.Tick()
	h.expectScreen(ui.ScreenFirstRun)
	if _, _, err := h.u.Locate(ui.AttractArea); err == nil {
		t.Fatal("the attract screen can be tapped before enrolment")
	}
}

// A handheld scanner types the console's QR code text and Enter into the
// focused field: the terminal enrols, shows its name, and after a pause
// starts the resident app.
func TestFirstRunScannerEnrols(t *testing.T) {
	h, be := firstBoot(t)
	uri := api.EnrolmentURI("https://hub.example", "tok-1")
	field := h.focusedEntry()
	test.Type(field, uri)
	enter(field)
	if got := be.requests(); len(got) != 1 || got[0].URI != uri || got[0].Token != "" || got[0].FromMedia {
		t.Fatalf("asked the agent %+v", got)
	}
	h.expectScreen(ui.ScreenEnrolled)
	if !h.has("kiosk-7") || !h.has(h.cat.T("de", "firstrun.done.text", "quarter", "Johannstadt", "hub", "https://hub.example")) {
		t.Fatal("the success screen does not name the terminal")
	}
	h.clk.Add(ui.EnrolledPause - time.Second)
	h.u.Tick()
	h.expectScreen(ui.ScreenEnrolled)
	h.clk.Add(time.Second)
	h.u.Tick()
	h.expectScreen(ui.ScreenAttract)
	h.tapAttract()
	h.expectScreen(ui.ScreenHome)
}

// Token and hub typed; a refusal says why in the terminal's language
// and keeps what was typed; the next try enrols and Continue starts the
// resident app.
func TestFirstRunTypedTokenKeptOnFailure(t *testing.T) {
	h, be := firstBoot(t)
	be.answer = refuse(localapi.EnrolTokenUsed, "the hub refused the enrolment: enrolment token already used")
	test.Type(h.entry(ui.FieldToken), "tok-1")
	test.Type(h.entry(ui.FieldHub), "https://hub.example")
	h.tap("firstrun.enrol")
	h.expectScreen(ui.ScreenFirstRun)
	if !h.has(h.cat.T("de", "firstrun.error.enrol_token_used")) || !h.has("enrolment token already used") {
		t.Fatal("the refusal is not explained")
	}
	if tok, hub := h.entry(ui.FieldToken).Text, h.entry(ui.FieldHub).Text; tok != "tok-1" || hub != "https://hub.example" {
		t.Fatalf("after the failure the fields hold %q and %q", tok, hub)
	}
	if h.focusedEntry() != h.entry(ui.FieldToken) {
		t.Fatal("the token field lost the focus: a scanner's next code would go nowhere")
	}
	be.answer = func(localapi.EnrolRequest) (localapi.EnrolResponse, error) { return welcome, nil }
	enter(h.entry(ui.FieldHub))
	got := be.requests()
	if len(got) != 2 || got[1].Token != "tok-1" || got[1].Hub != "https://hub.example" || got[1].URI != "" {
		t.Fatalf("asked the agent %+v", got)
	}
	h.expectScreen(ui.ScreenEnrolled)
	h.tap("firstrun.continue")
	h.expectScreen(ui.ScreenAttract)
}

// A token without a hub address is not sent; the screen says what is
// missing.
func TestFirstRunNeedsHubAndToken(t *testing.T) {
	h, be := firstBoot(t)
	test.Type(h.entry(ui.FieldToken), "tok-1")
	h.tap("firstrun.enrol")
	if len(be.requests()) != 0 || !h.has(h.cat.T("de", "firstrun.error.enrol_invalid")) {
		t.Fatalf("requests %+v", be.requests())
	}
}

// The USB stick: the agent reads it; the window only asks and shows the
// outcome.
func TestFirstRunFromUSBStick(t *testing.T) {
	h, be := firstBoot(t)
	be.answer = refuse(localapi.EnrolNoMedia, "no quartierhub-enrol.txt on a USB stick")
	h.tap("firstrun.media")
	h.expectScreen(ui.ScreenFirstRun)
	if !h.has(h.cat.T("de", "firstrun.error.enrol_no_media")) {
		t.Fatal("no word about the missing file")
	}
	be.answer = func(localapi.EnrolRequest) (localapi.EnrolResponse, error) {
		r := welcome
		r.Source = "media"
		return r, nil
	}
	h.tap("firstrun.media")
	if got := be.requests(); len(got) != 2 || !got[1].FromMedia {
		t.Fatalf("asked the agent %+v", got)
	}
	h.expectScreen(ui.ScreenEnrolled)
}

// Enrolled meanwhile (kiosk enroll on the shell): the agent refuses, and
// the window serves residents instead of asking again.
func TestFirstRunEnrolledMeanwhile(t *testing.T) {
	h, be := firstBoot(t)
	be.answer = refuse(localapi.EnrolAlreadyDone, "this terminal is already enrolled as kiosk-7")
	test.Type(h.entry(ui.FieldToken), api.EnrolmentURI("https://hub.example", "tok-1"))
	h.tap("firstrun.enrol")
	h.expectScreen(ui.ScreenAttract)
}

// Every reason an enrolment can fail has words in every language.
func TestFirstRunReasonsTranslated(t *testing.T) {
	cat := catalog(t)
	for _, r := range localapi.EnrolReasons() {
		if !cat.HasKey("firstrun.error." + r) {
			t.Errorf("no translation of firstrun.error.%s in every language", r)
		}
	}
}

// The first-run screens fit the terminals' screens as every other screen
// does (TestEveryScreen's checks): empty, with a refusal explained, busy,
// and the success screen.
func TestFirstRunScreensFit(t *testing.T) {
	for _, size := range screenSizes {
		t.Run(fmt.Sprintf("%.0fx%.0f", size.Width, size.Height), func(t *testing.T) {
			h, be := firstBootAt(t, size)
			check := func(name string) {
				t.Helper()
				checkFits(t, h, name, size)
				checkTouchTargets(t, h, name)
				checkNoTextOverlaps(t, h, name)
				checkInsideAndUnclipped(t, h, name)
				checkNothingScrolls(t, h, name)
				if *screenshots != "" {
					writePNG(t, filepath.Join(*screenshots, fmt.Sprintf("%s-%.0fx%.0f.png", name, size.Width, size.Height)), h.w)
				}
			}
			check("first-run")
			be.answer = refuse(localapi.EnrolSeveralOnMedia, "2 files quartierhub-enrol.txt found (/media/a/quartierhub-enrol.txt /media/b/quartierhub-enrol.txt): leave one stick with one")
			h.tap("firstrun.media")
			check("first-run-refused")
			be.answer = func(localapi.EnrolRequest) (localapi.EnrolResponse, error) { return welcome, nil }
			h.tap("firstrun.media")
			check("first-run-done")
		})
	}
}
