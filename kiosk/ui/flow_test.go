package ui_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/quartierhub/quartierhub/kiosk/localapi"
	"github.com/quartierhub/quartierhub/kiosk/session"
	"github.com/quartierhub/quartierhub/kiosk/ui"
)

func TestReportFlow(t *testing.T) {
	be := newFake(t)
	h := newHarness(t, be)
	h.expectScreen(ui.ScreenAttract)
	test.AssertRendersToMarkup(t, "attract_de.xml", h.w.Canvas())

	h.tapAttract()
	h.expectScreen(ui.ScreenHome)
	test.AssertRendersToMarkup(t, "home_de.xml", h.w.Canvas())
	h.tap("Problem melden")
	h.expectScreen(ui.ScreenCategory)
	h.tap("Müll oder Sperrmüll")
	h.expectScreen(ui.ScreenDescribe)
	h.typeKeys("Glas am Spielplatz, Größe ÄÖÜ")
	h.tap("keyboard.delete")
	h.typeKeys("Ü!")
	test.AssertRendersToMarkup(t, "describe_de.xml", h.w.Canvas())
	h.tap("action.next")
	h.expectScreen(ui.ScreenPlace)
	h.tap("Yenidze / Weißeritzstraße")
	h.expectScreen(ui.ScreenConfirm)
	if !h.has("Glas am Spielplatz, Größe ÄÖÜ!") {
		t.Fatal("the confirm screen does not show the typed text")
	}
	h.tap("report.confirm.send")
	h.expectScreen(ui.ScreenThanks)
	test.AssertRendersToMarkup(t, "thanks_de.xml", h.w.Canvas())

	if len(be.submitted) != 1 {
		t.Fatalf("%d records submitted", len(be.submitted))
	}
	p := be.submitted[0].Payload.(map[string]any)
	if be.submitted[0].Type != "problem_report" || p["category"] != "litter" || p["text"] != "Glas am Spielplatz, Größe ÄÖÜ!" || p["place"] != "yenidze" || p["language"] != "de" {
		t.Fatalf("submitted %+v", be.submitted[0])
	}
	ref := session.Reference("01JQ3V9ZK8M4T6W2XA7B5C9D01")
	if !h.has(ref) {
		t.Fatalf("reference %s not shown", ref)
	}
	if len(be.printed) != 1 {
		t.Fatalf("%d receipts printed", len(be.printed))
	}
	var sawRef, sawQR bool
	for _, b := range be.printed[0].Blocks {
		sawRef = sawRef || b.Kind == localapi.BlockText && b.Text == ref
		sawQR = sawQR || b.Kind == localapi.BlockQR && b.Text == "https://hub.example/status/"+ref
	}
	if !sawRef || !sawQR {
		t.Fatalf("receipt lacks reference or QR: %+v", be.printed[0])
	}
	h.tap("action.done")
	h.expectScreen(ui.ScreenAttract)
	if h.u.Session() != nil {
		t.Fatal("session still running after done")
	}
}

func TestLanguageSwitchEveryScreenAndReset(t *testing.T) {
	h := newHarness(t, newFake(t))
	h.chooseLanguage("en") // on the attract screen: starts a session in English
	h.expectScreen(ui.ScreenHome)
	if !h.has("What would you like to do?") {
		t.Fatal("home is not in English")
	}
	test.AssertRendersToMarkup(t, "home_en.xml", h.w.Canvas())
	h.tap("Report a problem")
	h.tap("Litter or bulky waste")
	h.typeKeys("Broken glass")
	h.chooseLanguage("de")
	h.expectScreen(ui.ScreenDescribe)
	if !h.has("Beschreiben Sie das Problem") || h.u.Session().Report.Text != "Broken glass" {
		t.Fatal("switching language lost the screen or the text")
	}
	h.chooseLanguage("en")
	h.tap("action.finish")
	h.expectScreen(ui.ScreenAttract)
	if !h.has(h.cat.T("de", "attract.touch")) {
		t.Fatal("language not reset to German after the session")
	}
}

func TestTimeoutWarningMoreTimeAndWipe(t *testing.T) {
	h := newHarness(t, newFake(t))
	h.tapAttract()
	h.tap("Problem melden")
	h.tap("Müll oder Sperrmüll")
	h.typeKeys("Geheim")
	h.tap("display.large")
	h.clk.Add(119 * time.Second)
	h.u.Tick()
	if h.u.WarningShown() {
		t.Fatal("warning before the timeout")
	}
	h.clk.Add(time.Second)
	h.u.Tick()
	if !h.u.WarningShown() || !h.has(h.cat.T("de", "timeout.warning", "seconds", 30)) {
		t.Fatal("no timeout warning with the seconds left")
	}
	h.tap("timeout.more")
	if h.u.WarningShown() || h.u.Screen() != ui.ScreenDescribe || h.u.Session().Report.Text != "Geheim" {
		t.Fatal("more time did not keep the session")
	}
	h.clk.Add(150 * time.Second)
	h.u.Tick()
	h.expectScreen(ui.ScreenAttract)
	if h.u.WarningShown() {
		t.Fatal("warning still up after the session ended")
	}
	// The next resident sees nothing of the previous session.
	h.tapAttract()
	s := h.u.Session()
	if s.Report != (session.Report{}) || s.LargeText || s.Language != "de" {
		t.Fatalf("next session inherits %+v", *s)
	}
	h.tap("Problem melden")
	h.tap("Müll oder Sperrmüll")
	for _, o := range h.objects() {
		if e, ok := o.(*widget.Entry); ok && e.Text != "" {
			t.Fatalf("the entry shows %q from the previous session", e.Text)
		}
	}
	if h.has("Geheim") {
		t.Fatal("the previous session's text is on screen")
	}
}

func TestPrinterProblemDisablesOnlyPrinting(t *testing.T) {
	be := newFake(t)
	be.status.Devices[0].Detail = map[string]any{"printable": false, "paper": "out"}
	h := newHarness(t, be)
	h.tapAttract()
	if !h.has(h.cat.T("de", "printer.paper_out")) {
		t.Fatal("no explanation why tickets are off")
	}
	for _, o := range h.objects() {
		if tl, ok := o.(interface{ TileTitle() string }); ok && tl.TileTitle() == "Wartenummer" {
			test.Tap(o.(fyne.Tappable))
		}
	}
	h.expectScreen(ui.ScreenHome) // the disabled tile did nothing
	h.tap("Problem melden")
	h.tap("Graffiti oder Schmiererei")
	h.tap("action.next")
	h.tap("Neptunbrunnen, Friedrichstraße")
	if !h.has(h.cat.T("de", "report.confirm.no_receipt")) {
		t.Fatal("confirm does not say there is no receipt")
	}
	h.tap("report.confirm.send")
	h.expectScreen(ui.ScreenThanks)
	if len(be.submitted) != 1 || len(be.printed) != 0 || !h.has(h.cat.T("de", "report.thanks.not_printed")) {
		t.Fatal("report without printer: wrong outcome")
	}
	// The printer comes back: an event re-enables tickets.
	h.tap("action.more")
	h.u.HandleEvent(localapi.Event{Type: localapi.EventDevice, Device: &localapi.DeviceEvent{Device: "printer", State: "printer_recovered"}})
	h.tap("Wartenummer")
	h.expectScreen(ui.ScreenTicket)
	h.tap("ticket.draw")
	if s := h.u.Session(); s.Ticket != 1 || len(be.printed) != 1 || !h.has(h.cat.T("de", "ticket.your_number")) {
		t.Fatal("ticket not drawn after the printer recovered")
	}
}

func TestPrintFailureStillThanks(t *testing.T) {
	be := newFake(t)
	be.failPrint = errors.New("paper out")
	h := newHarness(t, be)
	h.tapAttract()
	h.tap("Problem melden")
	h.tap("Etwas anderes")
	h.tap("action.next")
	h.tap(h.cat.T("de", "report.place.title")[:0] + "Hier am Terminal (Haltestelle Bahnhof Mitte)")
	h.tap("report.confirm.send")
	h.expectScreen(ui.ScreenThanks)
	if !h.has(h.cat.T("de", "report.thanks.not_printed")) {
		t.Fatal("a failed print must say so")
	}
}

func TestCardSessions(t *testing.T) {
	be := newFake(t)
	h := newHarness(t, be)
	card := func(on bool, hash string) {
		h.u.HandleEvent(localapi.Event{Type: localapi.EventCard, Card: &localapi.CardEvent{Presented: on, Hash: hash}})
	}
	card(true, "c1")
	h.expectScreen(ui.ScreenHome)
	if h.u.Session().CardHash != "c1" {
		t.Fatal("card session without the card's hash")
	}
	h.clk.Add(10 * time.Second)
	card(false, "c1")
	h.expectScreen(ui.ScreenAttract)
	if why, _ := h.u.LastEnd(); why != session.EndCardRemoved {
		t.Fatalf("end reason %v", why)
	}
	// The survey once per card: without a card it asks for one, with a
	// card it runs once.
	h.tapAttract()
	h.tap("Umfrage: Friedrichstraße")
	h.expectScreen(ui.ScreenSurvey)
	if !h.has(h.cat.T("de", "survey.needs_card")) {
		t.Fatal("once-per-card survey did not ask for a card")
	}
	card(true, "c2")
	h.clk.Add(time.Second)
	card(false, "c2")
	h.tap("survey.start")
	h.tap("4")
	h.tap("action.next")
	h.tap("mit dem Rad")
	h.tap("action.next")
	h.tap("Sitzbänke")
	h.tap("bessere Beleuchtung")
	h.tap("Sitzbänke")
	h.tap("action.next")
	h.typeKeys("Mehr Grün")
	h.tap("survey.send")
	h.expectScreen(ui.ScreenSurveyDone)
	if len(be.responses) != 1 {
		t.Fatalf("%d responses", len(be.responses))
	}
	r := be.responses[0]
	if *r.Answers["safety"].Scale != 4 || r.Answers["mode"].Choices[0] != "bike" || strings.Join(r.Answers["wishes"].Choices, ",") != "light" || r.Answers["comment"].Text != "Mehr Grün" {
		t.Fatalf("response %+v", r)
	}
	if strings.Contains(r.Respondent, "c2") || len(r.Respondent) != 64 {
		t.Fatalf("respondent %q must be a hash", r.Respondent)
	}
	h.tap("action.done")
	// Same card, new session: the agent refuses a second response.
	card(true, "c2")
	h.tap("Umfrage: Friedrichstraße")
	h.tap("survey.start")
	h.tap("2")
	h.tap("action.next")
	h.tap("zu Fuß")
	h.tap("action.next")
	h.tap("Spielflächen")
	h.tap("action.next")
	h.tap("survey.send")
	if !h.has(h.cat.T("de", "survey.already")) || len(be.responses) != 1 {
		t.Fatal("a second response with the same card was accepted")
	}
}

func TestServiceMenu(t *testing.T) {
	be := newFake(t)
	h := newHarness(t, be)
	h.u.HandleEvent(localapi.Event{Type: localapi.EventCard, Card: &localapi.CardEvent{Presented: true, Hash: strings.Repeat("ab", 32)}})
	h.expectScreen(ui.ScreenPIN)
	for _, k := range "1111" {
		h.tap(string(k))
	}
	h.tap("service.pin.ok")
	h.expectScreen(ui.ScreenPIN)
	if !h.has(h.cat.T("de", "service.pin.wrong")) {
		t.Fatal("wrong PIN not refused")
	}
	for _, k := range "2468" {
		h.tap(string(k))
	}
	h.tap("service.pin.ok")
	h.expectScreen(ui.ScreenService)
	if !h.has("demo-friedrichstadt-1") || !h.has("https://hub.example") {
		t.Fatal("service menu lacks enrolment")
	}
	h.tap("service.test_print")
	if len(be.printed) != 1 || !h.has(h.cat.T("de", "service.printed")) {
		t.Fatal("test print")
	}
	h.tap("service.sync_now")
	if be.synced != 1 {
		t.Fatal("sync now")
	}
	h.clk.Add(ui.ServiceIdle)
	h.u.Tick()
	h.expectScreen(ui.ScreenAttract)
}

func TestOutOfOrder(t *testing.T) {
	h := newHarness(t, newFake(t))
	h.tapAttract()
	h.u.HandleEvent(localapi.Event{Type: localapi.EventMode, Mode: &localapi.Mode{OutOfOrder: true}})
	h.expectScreen(ui.ScreenOutOfOrder)
	if h.u.Session() != nil || !h.has(h.cat.T("de", "outoforder.title")) || !h.has(h.cat.T("en", "outoforder.title")) {
		t.Fatal("out of order must end the session and say so in every language")
	}
	test.AssertRendersToMarkup(t, "outoforder.xml", h.w.Canvas())
	h.u.HandleEvent(localapi.Event{Type: localapi.EventCard, Card: &localapi.CardEvent{Presented: true, Hash: "c"}})
	h.expectScreen(ui.ScreenOutOfOrder)
	h.u.HandleEvent(localapi.Event{Type: localapi.EventMode, Mode: &localapi.Mode{OutOfOrder: false}})
	h.expectScreen(ui.ScreenAttract)
}

func TestAirScreen(t *testing.T) {
	be := newFake(t)
	base := time.Date(2025, 3, 3, 9, 30, 0, 0, time.Local)
	for i := range 24 * 6 {
		at := base.Add(-24*time.Hour + time.Duration(i)*10*time.Minute)
		be.history.Minutes = append(be.history.Minutes,
			localapi.Minute{Quantity: "pm25", Minute: at, Mean: 5 + float64(i%30)},
			localapi.Minute{Quantity: "co2", Minute: at, Mean: 450 + float64(i)})
	}
	be.history.Latest = []localapi.Reading{{Quantity: "pm25", Value: 31.5}, {Quantity: "pm10", Value: 12}, {Quantity: "co2", Value: 1500}}
	h := newHarness(t, be)
	h.tapAttract()
	h.tap("Luft und Klima")
	h.expectScreen(ui.ScreenAir)
	for _, want := range []string{"Feinstaub PM2,5: 31,5 µg/m³ – schlecht", h.cat.T("de", "air.advice.pm25.4"), "Kohlendioxid (CO₂): 1500 ppm – schlecht"} {
		if !h.has(want) {
			t.Errorf("air screen lacks %q", want)
		}
	}
	h.u.HandleEvent(localapi.Event{Type: localapi.EventReading, Reading: &localapi.Reading{Quantity: "pm25", Value: 4}})
	if !h.has("Feinstaub PM2,5: 4 µg/m³ – sehr gut") {
		t.Fatal("live reading not shown")
	}
}

func TestInfoPage(t *testing.T) {
	h := newHarness(t, newFake(t))
	h.tapAttract()
	h.tap("Ihre Daten")
	h.expectScreen(ui.ScreenInfo)
	if !h.has("Sie brauchen kein Konto.") {
		t.Fatal("info page text missing")
	}
}

// A hardware keyboard or a paste reaches the text area past the on-screen
// keyboard's limit and with control characters; what is sent is still a
// report the hub takes (the fake applies the hub's rules), and the
// confirm screen shows what is sent.
func TestReportTextTypedPastTheKeyboardIsWhatTheHubTakes(t *testing.T) {
	be := newFake(t)
	h := newHarness(t, be)
	h.tapAttract()
	h.tap("Problem melden")
	h.tap("Müll oder Sperrmüll")
	h.expectScreen(ui.ScreenDescribe)
	var entry *widget.Entry
	for _, o := range h.objects() {
		if e, ok := o.(*widget.Entry); ok {
			entry = e
		}
	}
	if entry == nil {
		t.Fatal("no text area on the describe screen")
	}
	entry.SetText("Zeile eins\r\nZeile zwei\x1b[31m\x00 " + strings.Repeat("ä", 600))
	h.tap("action.next")
	h.tap("Yenidze / Weißeritzstraße")
	h.expectScreen(ui.ScreenConfirm)
	h.tap("report.confirm.send")
	h.expectScreen(ui.ScreenThanks)
	if len(be.submitted) != 1 {
		t.Fatalf("%d records submitted", len(be.submitted))
	}
	text := be.submitted[0].Payload.(map[string]any)["text"].(string)
	want := "Zeile eins\nZeile zwei[31m " + strings.Repeat("ä", session.MaxReportText-len([]rune("Zeile eins\nZeile zwei[31m ")))
	if text != want {
		t.Fatalf("sent text %.60q… (%d characters), want %.60q… (%d)", text, len([]rune(text)), want, len([]rune(want)))
	}
}
