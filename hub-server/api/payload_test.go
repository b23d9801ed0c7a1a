package api_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	segjson "github.com/segmentio/encoding/json"

	"github.com/quartierhub/quartierhub/hub-server/api"
)

// batchOf is an upload body with one record of type typ and the payload
// text payload, decoded as the hub decodes it (segmentio's ZeroCopy,
// hub-server/internal/terminalapi) and as encoding/json does.
func batchOf(t *testing.T, typ, class, payload string) []api.Record {
	t.Helper()
	body := `{"records":[{"id":"01JX5Z7D3Q8W2V4N6M0P9R1S2T","type":"` + typ + `","class":"` + class +
		`","created_at":"2025-06-01T10:00:00Z","payload":` + payload + `}]}`
	var hub, std api.Batch
	if _, err := segjson.Parse([]byte(body), &hub, segjson.ZeroCopy); err != nil {
		return nil // the decoder refuses it already
	}
	if err := json.Unmarshal([]byte(body), &std); err != nil {
		t.Fatalf("encoding/json refuses what the hub's decoder takes: %v", err)
	}
	return []api.Record{hub.Records[0], std.Records[0]}
}

// TestValidateRefusesTextAnExportCannotCarry: text the hub would store and
// then export as lines that are not UTF-8, or as CSV cells with control
// characters, is refused with a reason; proper text, escapes included,
// passes.
func TestValidateRefusesTextAnExportCannotCarry(t *testing.T) {
	for name, payload := range map[string]string{
		"invalid UTF-8":               "{\"v\":\"Gr\xfc\xdfe\"}",
		"invalid UTF-8 in a name":     "{\"\xff\":1}",
		"truncated UTF-8":             "{\"v\":\"\xe2\x82\"}",
		"lone high surrogate":         `{"v":"\ud800"}`,
		"lone low surrogate":          `{"v":"x\uDC00y"}`,
		"high surrogate, then letter": `{"v":"\ud83dA"}`,
		"high surrogate, then BMP":    `{"v":"\ud83d\u0041"}`,
		"surrogate at the end":        `{"v":"\ud83d"}`,
		"surrogate in a name":         `{"\ud800":1}`,
	} {
		recs := batchOf(t, "sensor_minute", api.ClassSensor, payload)
		for i, r := range recs {
			if err := r.Validate(); err == nil {
				t.Errorf("%s (decoder %d): accepted %q", name, i, r.Payload)
			} else if strings.Contains(err.Error(), "\n") {
				t.Errorf("%s: reason is not one line: %q", name, err)
			}
		}
	}
	for name, payload := range map[string]string{
		"umlauts":           `{"v":"Grüße"}`,
		"escaped pair":      `{"v":"\ud83d\ude00"}`,
		"escaped backslash": `{"v":"\\ud800"}`,
		"escaped quote":     `{"v":"\"\ud83d\ude00\""}`,
		"control escape":    `{"v":"a\u0000b\u001b"}`, // stays escaped in an export
		"nested":            `{"a":[{"b":"\u00e4"}],"c":null}`,
	} {
		recs := batchOf(t, "sensor_minute", api.ClassSensor, payload)
		if recs == nil {
			t.Fatalf("%s: decoder refused %s", name, payload)
		}
		for _, r := range recs {
			if err := r.Validate(); err != nil {
				t.Errorf("%s: refused %s: %v", name, payload, err)
			}
		}
	}
}

// TestResidentPayloadRules: the record types residents create must carry
// their fields, and nothing else; what the terminal's window sends passes.
func TestResidentPayloadRules(t *testing.T) {
	respondent := strings.Repeat("ab", 32)
	good := []struct{ typ, payload string }{
		{"problem_report", `{"category":"litter"}`},
		{"problem_report", `{"category":"litter","text":"Glas am Spielplatz\nbitte schnell","place":"terminal","place_name":"Hier am Terminal (Haltestelle)","language":"de","lat":51.0553,"lon":13.7235}`},
		{"problem_report", `{"category":"light","text":"","place":"","place_name":"","language":"en","lat":null}`},
		{"problem_report", `{"category":"x","text":"` + strings.Repeat("ä", api.MaxReportText) + `"}`},
		{"survey_response", `{"survey":"park-2025","respondent":"` + respondent + `","once":"card","language":"de","answers":{"q1":{"choices":["a","b"]},"q2":{"scale":4},"q3":{"text":"Mehr Bänke"}}}`},
		{"survey_response", `{"survey":"s","respondent":"` + respondent + `","once":"session","language":"en","answers":{}}`},
		{"survey_response", `{"survey":"s","respondent":"` + respondent + `","once":"session","language":"en","answers":{"q":{"scale":0}}}`},
		{"help_ticket", `{"number":1,"day":"2025-06-01"}`},
		{"survey.answer_v2", `{"anything":["goes",1]}`}, // a type without rules
	}
	for _, c := range good {
		if err := api.ValidatePayload(c.typ, api.ClassResident, []byte(c.payload)); err != nil {
			t.Errorf("%s %s: %v", c.typ, c.payload, err)
		}
		r := api.Record{ID: "01JX5Z7D3Q8W2V4N6M0P9R1S2T", Type: c.typ, Class: api.ClassResident, CreatedAt: refTime, Payload: json.RawMessage(c.payload)}
		if err := r.Validate(); err != nil {
			t.Errorf("hub: %s %s: %v", c.typ, c.payload, err)
		}
	}
	bad := []struct{ typ, class, payload, why string }{
		{"Bad Type!", "resident", `{}`, "type must be"},
		{"problem_report", "resident", `{"text":"` + strings.Repeat("x", 70<<10) + `"}`, "larger than"},
		{"problem_report", "resident", `{"foo":1,"bar":"x"}`, `unknown field "foo"`},
		{"problem_report", "resident", `{"text":"kaputt"}`, `"category" is required`},
		{"problem_report", "resident", `{"category":""}`, `"category" is required`},
		{"problem_report", "resident", `{"category":"Litter!"}`, `"category" must be an id`},
		{"problem_report", "resident", `{"category":7}`, `"category" must be a string`},
		{"problem_report", "event", `{"category":"litter"}`, `class must be "resident"`},
		{"problem_report", "resident", `{"category":"litter","Category":"x"}`, `unknown field "Category"`},
		{"problem_report", "resident", `{"category":"litter","category":"glass"}`, "given twice"},
		{"problem_report", "resident", `{"category":"x","text":"` + strings.Repeat("x", api.MaxReportText+1) + `"}`, "at most 500"},
		{"problem_report", "resident", `{"category":"x","text":"a\u0000b"}`, "control character U+0000"},
		{"problem_report", "resident", `{"category":"x","text":"a\rb"}`, "control character U+000D"},
		{"problem_report", "resident", `{"category":"x","text":"a\u0085b"}`, "control character U+0085"},
		{"problem_report", "resident", `{"category":"x","place_name":"` + strings.Repeat("x", api.MaxPlaceName+1) + `"}`, `"place_name" has`},
		{"problem_report", "resident", `{"category":"x","place":"Am Brunnen"}`, `"place" must be an id`},
		{"problem_report", "resident", `{"category":"x","language":"DE"}`, `"language" must be`},
		{"problem_report", "resident", `{"category":"x","lat":91}`, `"lat" must be from -90 to 90`},
		{"problem_report", "resident", `{"category":"x","lon":"13.7"}`, `"lon" must be a number`},
		{"survey_response", "resident", `{"respondent":"` + respondent + `","once":"card"}`, `"survey" is required`},
		{"survey_response", "resident", `{"survey":"s","respondent":"abc","once":"card"}`, `"respondent" must be 64`},
		{"survey_response", "resident", `{"survey":"s","once":"card"}`, `"respondent" is required`},
		{"survey_response", "resident", `{"survey":"s","respondent":"` + respondent + `","once":"daily"}`, `"once" must be`},
		{"survey_response", "resident", `{"survey":"s","respondent":"` + respondent + `","once":"card","answers":[]}`, "must be a JSON object"},
		{"survey_response", "resident", `{"survey":"s","respondent":"` + respondent + `","once":"card","answers":{"q":{}}}`, "exactly one of"},
		{"survey_response", "resident", `{"survey":"s","respondent":"` + respondent + `","once":"card","answers":{"q":{"scale":1,"text":"x"}}}`, "exactly one of"},
		{"survey_response", "resident", `{"survey":"s","respondent":"` + respondent + `","once":"card","answers":{"q":{"scale":1.5}}}`, `"scale" must be an integer`},
		{"survey_response", "resident", `{"survey":"s","respondent":"` + respondent + `","once":"card","answers":{"q":{"choices":["a","a"]}}}`, "chosen twice"},
		{"survey_response", "resident", `{"survey":"s","respondent":"` + respondent + `","once":"card","answers":{"q":{"choices":[]}}}`, `"choices" is empty`},
		{"survey_response", "resident", `{"survey":"s","respondent":"` + respondent + `","once":"card","answers":{"Q 1":{"scale":1}}}`, "not a question id"},
		{"survey_response", "resident", `{"survey":"s","respondent":"` + respondent + `","once":"card","answers":{"q":{"text":"` + strings.Repeat("x", api.MaxSurveyText+1) + `"}}}`, "at most 500"},
		{"survey_response", "resident", `{"survey":"s","respondent":"` + respondent + `","once":"card","answers":{"q":{"text":"x","extra":1}}}`, `unknown field "extra"`},
		{"help_ticket", "resident", `{"day":"2025-06-01"}`, `"number" is required`},
		{"help_ticket", "resident", `{"number":0,"day":"2025-06-01"}`, "positive integer"},
		{"help_ticket", "resident", `{"number":3,"day":"1.6.2025"}`, "YYYY-MM-DD"},
		{"sensor_minute", "sensor", `{"v":1} x`, "not valid JSON"},
		{"sensor_minute", "sensor", `[1]`, "must be a JSON object"},
	}
	for _, c := range bad {
		err := api.ValidatePayload(c.typ, c.class, []byte(c.payload))
		if err == nil || !strings.Contains(err.Error(), c.why) {
			t.Errorf("%s %.80s: %v, want %q", c.typ, c.payload, err, c.why)
			continue
		}
		if strings.Contains(err.Error(), "\n") || !utf8.ValidString(err.Error()) {
			t.Errorf("%s: reason %q is not one line of text", c.typ, err)
		}
		if !json.Valid([]byte(c.payload)) {
			continue // the hub's decoder refuses it before Validate
		}
		r := api.Record{ID: "01JX5Z7D3Q8W2V4N6M0P9R1S2T", Type: c.typ, Class: c.class, CreatedAt: refTime, Payload: json.RawMessage(c.payload)}
		if err := r.Validate(); err == nil {
			t.Errorf("hub: %s %.80s accepted, want %q", c.typ, c.payload, c.why)
		}
	}
}

func TestCleanText(t *testing.T) {
	for in, want := range map[string]string{
		"Grüße\r\nzweite Zeile\r":         "Grüße\nzweite Zeile\n",
		"a\x00b\x1bc\u0085d\te":           "abcd\te",
		"\xffok":                          "\uFFFDok",
		strings.Repeat("ä", 600) + "tail": strings.Repeat("ä", 500),
	} {
		got := api.CleanText(in, 500)
		if got != want {
			t.Errorf("CleanText(%.20q) = %.20q…, want %.20q…", in, got, want)
		}
		p, _ := json.Marshal(map[string]string{"category": "x", "text": got})
		if err := api.ValidatePayload("problem_report", api.ClassResident, p); err != nil {
			t.Errorf("cleaned text refused: %v", err)
		}
	}
}

var refTime = time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC)

// TestContentIDsFitReports: what the window copies from content into a
// report (the place's id, the language) is checked when content is, so
// no configuration can make the window send reports the hub refuses.
func TestContentIDsFitReports(t *testing.T) {
	base := api.Content{Quarter: api.Text{"de": "Q"}, Languages: []string{"de", "en"},
		Services:          []api.Service{{ID: "r", Kind: api.ServiceReport, Title: api.Text{"de": "Melden"}}},
		ProblemCategories: []api.Category{{ID: "litter", Label: api.Text{"de": "Müll"}}},
		TerminalPlace:     api.Place{ID: "terminal", Name: api.Text{"de": "Hier"}}}
	if err := base.Validate(); err != nil {
		t.Fatalf("good content: %v", err)
	}
	c := base
	c.TerminalPlace.ID = "Am Brunnen"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "terminal place id") {
		t.Errorf("terminal place id %q: %v", c.TerminalPlace.ID, err)
	}
	c = base
	c.Languages = []string{"de", "d e"}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "language") {
		t.Errorf("language %q: %v", c.Languages[1], err)
	}
}

// FuzzValidatePayload: the payload rules never panic, and what they let
// through is what the hub can export and the console can read: valid
// UTF-8 JSON, and for a problem report its known fields only, with a
// category.
func FuzzValidatePayload(f *testing.F) {
	for _, s := range []struct{ typ, payload string }{
		{"problem_report", `{"category":"litter","text":"Glas\nam Spielplatz","place":"terminal","place_name":"Hier","language":"de","lat":51.05,"lon":13.72}`},
		{"problem_report", `{"category":"x","text":"\ud83d\ude00 \u00e4"}`},
		{"problem_report", `{"category":"x","text":"\ud800"}`},
		{"problem_report", "{\"category\":\"x\",\"text\":\"\xff\"}"},
		{"survey_response", `{"survey":"s","respondent":"` + strings.Repeat("ab", 32) + `","once":"card","language":"de","answers":{"q":{"choices":["a"]},"r":{"scale":3},"t":{"text":"ok"}}}`},
		{"help_ticket", `{"number":7,"day":"2025-06-01"}`},
		{"sensor_minute", `{"pm25":{"mean":8.1,"min":7,"max":9},"n":60}`},
		{"sensor_minute", `{"a":"\\u0000\"\\"}`},
	} {
		f.Add(s.typ, []byte(s.payload))
	}
	f.Fuzz(func(t *testing.T, typ string, payload []byte) {
		class := api.ClassResident
		if strings.HasPrefix(typ, "sensor") {
			class = api.ClassSensor
		}
		if api.ValidatePayload(typ, class, payload) != nil {
			return
		}
		if !utf8.Valid(payload) {
			t.Fatalf("accepted invalid UTF-8 %q", payload)
		}
		var v any
		if err := json.Unmarshal(payload, &v); err != nil {
			t.Fatalf("accepted what encoding/json refuses: %v", err)
		}
		if typ == api.RecordProblemReport {
			dec := json.NewDecoder(bytes.NewReader(payload))
			dec.DisallowUnknownFields()
			var p api.ProblemReport
			if err := dec.Decode(&p); err != nil || p.Category == "" {
				t.Fatalf("accepted problem report %q: %v", payload, err)
			}
		}
	})
}
