package backend_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/kiosk/localapi"
	"github.com/quartierhub/quartierhub/kiosk/receipt"
	"github.com/quartierhub/quartierhub/kiosk/session"
	"github.com/quartierhub/quartierhub/kiosk/ui/backend"
)

// A receipt crosses the socket with every field the window set.
func TestReceiptOnTheWire(t *testing.T) {
	r := receipt.Receipt{Blocks: []receipt.Block{
		{Kind: receipt.Text, Text: "Nr. {number}", Align: receipt.Centre, Bold: true, Size: 4},
		{Kind: receipt.QR, Text: "https://hub/status/AB", Align: receipt.Right, Lines: 6},
		{Kind: receipt.Feed, Lines: 3},
		{Kind: receipt.Cut},
		{Kind: "sparkle"}, // the agent refuses it by name
	}}
	b, err := json.Marshal(localapi.PrintRequest{Receipt: backend.Receipt(r)})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"receipt":{"blocks":[` +
		`{"kind":"text","text":"Nr. {number}","align":"centre","bold":true,"size":4},` +
		`{"kind":"qr","text":"https://hub/status/AB","align":"right","lines":6},` +
		`{"kind":"feed","lines":3},{"kind":"cut"},{"kind":"sparkle"}]}}`
	if string(b) != want {
		t.Fatalf("wire:\n%s\nwant\n%s", b, want)
	}
}

// A survey response crosses the socket as the hub's survey_response
// payload, every answer kind included.
func TestSurveyResponseOnTheWire(t *testing.T) {
	sv := api.Survey{ID: "park", Once: api.OncePerSession, Questions: []api.Question{
		{ID: "one", Kind: api.QuestionSingle}, {ID: "scale", Kind: api.QuestionScale, Min: 1, Max: 5},
		{ID: "free", Kind: api.QuestionText}, {ID: "skipped", Kind: api.QuestionText}}}
	s := &session.Session{ID: "x", Language: "en", Answered: map[string]bool{}}
	session.BeginSurvey(s, sv)
	s.Survey.Toggle(sv.Questions[0], "b")
	s.Survey.Scale["scale"] = 4
	s.Survey.Text["free"] = "mehr Bänke"
	who := strings.Repeat("ab", 32)
	b, err := json.Marshal(backend.SurveyResponse(session.Response(sv, s, who)))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"survey":"park","respondent":"` + who + `","once":"session","language":"en","answers":` +
		`{"free":{"text":"mehr Bänke"},"one":{"choices":["b"]},"scale":{"scale":4}}}`
	if string(b) != want {
		t.Fatalf("wire:\n%s\nwant\n%s", b, want)
	}
	if err := api.ValidatePayload(api.RecordSurveyResponse, api.ClassResident, b); err != nil {
		t.Fatalf("the hub refuses it: %v", err)
	}
	// Nothing answered is still an object, which the hub takes.
	session.BeginSurvey(s, sv)
	b, _ = json.Marshal(backend.SurveyResponse(session.Response(sv, s, who)))
	if !strings.HasSuffix(string(b), `"answers":{}}`) {
		t.Fatalf("no answers: %s", b)
	}
}

// The window reads the printer's state from the status and the events as
// the session logic says.
func TestPrinterFromTheWire(t *testing.T) {
	devs := []localapi.Device{
		{Name: "pm-1", State: "connected"},
		{Name: "printer", Kind: "escpos", State: "connected", Since: time.Now(), Detail: map[string]any{"printable": false, "paper": "out"}},
	}
	if ok, why := backend.PrinterState(devs); ok || why != session.PrinterPaperOut {
		t.Fatalf("paper out: %v %q", ok, why)
	}
	if ok, why := backend.PrinterState(devs[:1]); ok || why != session.PrinterMissing {
		t.Fatalf("no printer: %v %q", ok, why)
	}
	ok, why, rel := backend.PrinterFromEvent(localapi.DeviceEvent{Device: "printer", Kind: "escpos", State: "printer_cover_open"})
	if ok || why != session.PrinterCoverOpen || !rel {
		t.Fatalf("cover open: %v %q %v", ok, why, rel)
	}
	if _, _, rel := backend.PrinterFromEvent(localapi.DeviceEvent{Device: "pm-1", State: "lost"}); rel {
		t.Fatal("another device's event changed the printer")
	}
}
