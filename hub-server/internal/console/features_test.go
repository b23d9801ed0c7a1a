package console

import (
	"context"
	"encoding/csv"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// testContent is a complete, valid content section.
const testContent = `{"content": {
  "version": "1", "quarter": {"de": "Johannstadt", "en": "Johannstadt"}, "languages": ["de", "en"],
  "services": [
    {"id": "report", "kind": "report", "title": {"de": "Problem melden", "en": "Report a problem"}},
    {"id": "umfrage", "kind": "survey", "target": "park", "title": {"de": "Umfrage Park", "en": "Park survey"}}
  ],
  "problem_categories": [{"id": "litter", "label": {"de": "Müll", "en": "Litter"}}, {"id": "light", "label": {"de": "Beleuchtung", "en": "Lighting"}}],
  "surveys": [{"id": "park", "once": "session", "title": {"de": "Neuer Park", "en": "New park"}, "questions": [
    {"id": "want", "kind": "single", "text": {"de": "Wollen Sie den Park?", "en": "Do you want the park?"},
     "options": [{"id": "yes", "label": {"de": "Ja"}}, {"id": "no", "label": {"de": "Nein"}}]},
    {"id": "score", "kind": "scale", "min": 1, "max": 5, "text": {"de": "Wie wichtig?"}},
    {"id": "idea", "kind": "text", "text": {"de": "Ihre Idee"}, "optional": true}]}],
  "terminal_place": {"id": "here", "name": {"de": "Bibliothek"}},
  "help_desk": {"name": {"de": "Bürgerbüro"}}
}}`

func TestEnrolFromConsole(t *testing.T) {
	h := newHub(t, nil)
	h.addUser("anna", store.RoleAdmin)
	b := h.browser()
	b.mustLogin("anna")
	if p := b.post("/console/enrol", url.Values{"name": {"Bad Name!"}, "quarter": {"Johannstadt"}}); p.status != http.StatusBadRequest {
		t.Fatalf("bad name: %d", p.status)
	}
	p := b.post("/console/enrol", url.Values{"name": {"jst-library-1"}, "quarter": {"Johannstadt"}})
	tok := tokenRe.FindString(p.body)
	if p.status != 200 || tok == "" {
		t.Fatalf("token page: %d %q", p.status, tok)
	}
	if !strings.Contains(p.body, "kiosk enroll --hub "+h.srv.URL+" --token "+tok) {
		t.Fatal("the token page does not show the kiosk command with the hub's address")
	}
	// The QR code's text is what the page prints next to it.
	if !strings.Contains(p.body, strings.ReplaceAll(api.EnrolmentURI(h.srv.URL, tok), "&", "&amp;")) || !strings.Contains(p.body, `<svg class="qr"`) {
		t.Fatal("no enrolment URI / QR code")
	}
	term := h.enrolWith(tok, "jst-library-1")
	term.heartbeat(api.Heartbeat{SoftwareVersion: "1.2.3"})
	fleet := b.get("/console/?quarter=Johannstadt&status=online")
	if !strings.Contains(fleet.body, `href="/console/terminals/jst-library-1"`) {
		t.Fatal("the enrolled terminal is not in the fleet as online")
	}
	if p := b.post("/console/enrol", url.Values{"name": {"jst-library-1"}, "quarter": {"Johannstadt"}}); p.status != http.StatusConflict {
		t.Fatalf("second token for an enrolled name: %d", p.status)
	}
	if log, _ := h.st.AuditEntries(context.Background(), store.AuditFilter{Action: "terminal.token"}); len(log) != 1 || strings.Contains(log[0].Detail, tok) {
		t.Fatalf("audit of the token: %+v (must exist, must not hold the token)", log)
	}
}

func TestConfigEditing(t *testing.T) {
	h := newHub(t, nil)
	h.addUser("anna", store.RoleAdmin)
	h.addUser("mod", store.RoleModerator)
	term := h.enrolTerminal("jst-1", "Johannstadt")
	admin := h.browser()
	admin.mustLogin("anna")
	// Invalid: a service pointing nowhere; nothing is stored.
	bad := strings.Replace(testContent, `"target": "park"`, `"target": "nowhere"`, 1)
	p := admin.post("/console/config/edit", url.Values{"scope": {"global"}, "document": {bad}, "op": {"save"}})
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "nowhere") {
		t.Fatalf("invalid content: %d", p.status)
	}
	if ls, _ := h.st.ConfigLayers(context.Background()); len(ls) != 0 {
		t.Fatal("an invalid layer was stored")
	}
	// Preview: valid, reaches jst-1, shows the tiles; still nothing stored.
	p = admin.post("/console/config/edit", url.Values{"scope": {"global"}, "document": {testContent}, "op": {"preview"}})
	if p.status != 200 || !strings.Contains(p.body, "Problem melden") || !strings.Contains(p.body, "jst-1") {
		t.Fatalf("preview: %d", p.status)
	}
	if ls, _ := h.st.ConfigLayers(context.Background()); len(ls) != 0 {
		t.Fatal("preview stored the layer")
	}
	if p := admin.post("/console/config/edit", url.Values{"scope": {"global"}, "document": {testContent}, "op": {"save"}}); p.status != http.StatusSeeOther {
		t.Fatalf("save: %d", p.status)
	}
	var doc api.ConfigDocument
	if st, _ := term.call(http.MethodGet, api.PathConfig, nil, &doc); st != 200 || !strings.Contains(string(doc.Document), "Problem melden") {
		t.Fatalf("terminal config: %d %s", st, doc.Document)
	}
	// A moderator may change content, not settings.
	mod := h.browser()
	mod.mustLogin("mod")
	ann := `{"content": {"announcements": [{"id": "fest", "title": {"de": "Stadtteilfest"}}]}}`
	if p := mod.post("/console/config/edit", url.Values{"scope": {"quarter:Johannstadt"}, "document": {ann}, "op": {"save"}}); p.status != http.StatusSeeOther {
		t.Fatalf("moderator content: %d %s", p.status, p.body)
	}
	withSettings := `{"content": {"announcements": []}, "settings": {"heartbeat_interval": "5s"}}`
	if p := mod.post("/console/config/edit", url.Values{"scope": {"quarter:Johannstadt"}, "document": {withSettings}, "op": {"save"}, "version": {h.layerVersion("quarter:Johannstadt")}}); p.status != http.StatusUnprocessableEntity {
		t.Fatalf("moderator settings: %d, want 422", p.status)
	}
	if p := admin.post("/console/config/edit", url.Values{"scope": {"quarter:Johannstadt"}, "document": {withSettings}, "op": {"save"}, "version": {h.layerVersion("quarter:Johannstadt")}}); p.status != http.StatusSeeOther {
		t.Fatalf("admin settings: %d", p.status)
	}
}

func TestReportsWorkflowAndPublicPage(t *testing.T) {
	h := newHub(t, nil)
	h.addUser("mod", store.RoleModerator)
	h.addUser("anna", store.RoleAdmin)
	term := h.enrolTerminal("jst-1", "Johannstadt")
	admin := h.browser()
	admin.mustLogin("anna")
	admin.post("/console/config/edit", url.Values{"scope": {"global"}, "document": {testContent}, "op": {"save"}})
	const secret = "Herr Meier wirft Müll"
	id := term.upload(api.RecordProblemReport, api.ProblemReport{Category: "litter", Text: secret, PlaceName: "Bonhoefferplatz", Language: "de"})
	ref := api.ReportReference(id)

	pub := h.browser()
	// English (the page is German by default; the switch's cookie keeps it).
	p := pub.get("/status/" + strings.ToLower(strings.ReplaceAll(ref, "-", "")) + "?lang=en")
	if p.status != 200 || !strings.Contains(p.body, ref) || !strings.Contains(p.body, "Litter") || !strings.Contains(p.body, "New") {
		t.Fatalf("public page: %d", p.status)
	}
	for _, private := range []string{secret, "jst-1", "Bonhoefferplatz", id} {
		if strings.Contains(p.body, private) {
			t.Errorf("public page shows %q", private)
		}
	}
	if p := pub.get("/status/ZZZZ-ZZZZ"); p.status != 404 {
		t.Errorf("unknown reference: %d", p.status)
	}
	if p := pub.get("/status/not-a-ref!"); p.status != 404 || !strings.Contains(p.body, "not a reference") {
		t.Errorf("invalid reference: %d", p.status)
	}

	mod := h.browser()
	mod.mustLogin("mod")
	path := "/console/reports/jst-1/" + id
	if p := mod.post(path, url.Values{"status": {"resolved"}, "public_note": {"Abgeholt."}, "publish_text": {"yes"}}); p.status != http.StatusSeeOther {
		t.Fatalf("resolve: %d", p.status)
	}
	p = pub.get("/status/" + ref)
	if !strings.Contains(p.body, "Resolved") || !strings.Contains(p.body, "Abgeholt.") || !strings.Contains(p.body, secret) {
		t.Fatalf("public page after resolving with publishing: %s", p.body)
	}
	// Workflow: resolved cannot go back to new.
	if p := mod.post(path, url.Values{"status": {"new"}, "version": {h.reportVersion(term.id, id)}}); p.status != http.StatusBadRequest {
		t.Fatalf("resolved → new: %d, want 400", p.status)
	}
	if !CanMove("resolved", "in_progress") || CanMove("in_progress", "new") || !CanMove("new", "rejected") {
		t.Fatal("workflow table changed")
	}
	// List filter and CSV export (with a formula-looking text defused).
	term.upload(api.RecordProblemReport, api.ProblemReport{Category: "light", Text: "=HYPERLINK(\"x\")"})
	if p := mod.get("/console/reports?status=resolved"); !strings.Contains(p.body, ref) || strings.Contains(p.body, "HYPERLINK") {
		t.Fatal("status filter")
	}
	csvPage := mod.get("/console/reports.csv")
	rows, err := csv.NewReader(strings.NewReader(csvPage.body)).ReadAll()
	if err != nil || len(rows) != 3 || strings.Join(rows[0], ",") != strings.Join(ReportCSVHeader, ",") {
		t.Fatalf("csv: %v %q", err, rows)
	}
	for _, r := range rows[1:] {
		if strings.HasPrefix(r[8], "=") {
			t.Errorf("csv cell not defused: %q", r[8])
		}
	}
	if log, _ := h.st.AuditEntries(context.Background(), store.AuditFilter{Action: "report."}); len(log) != 1 || strings.Contains(log[0].Detail, secret) {
		t.Fatalf("report audit: %+v", log)
	}
}

func TestSurveyResults(t *testing.T) {
	h := newHub(t, nil)
	h.addUser("vera", store.RoleViewer)
	h.addUser("anna", store.RoleAdmin)
	term := h.enrolTerminal("jst-1", "Johannstadt")
	admin := h.browser()
	admin.mustLogin("anna")
	admin.post("/console/config/edit", url.Values{"scope": {"global"}, "document": {testContent}, "op": {"save"}})
	four, two := 4, 2
	for _, a := range []map[string]api.SurveyAnswer{
		{"want": {Choices: []string{"yes"}}, "score": {Scale: &four}, "idea": {Text: "Mehr Bänke"}},
		{"want": {Choices: []string{"yes"}}, "score": {Scale: &two}},
		{"want": {Choices: []string{"no"}}},
	} {
		term.upload(api.RecordSurveyResponse, api.SurveyResponse{Survey: "park", Respondent: strings.Repeat("a", 64), Once: "session", Language: "de", Answers: a})
	}
	v := h.browser()
	v.mustLogin("vera")
	p := v.get("/console/surveys")
	for _, want := range []string{"Neuer Park", "3 responses", `value="2">67 %`, `value="1">33 %`, "Average: 3.0", "Mehr Bänke"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("survey page lacks %q", want)
		}
	}
	rows, err := csv.NewReader(strings.NewReader(v.get("/console/surveys.csv?survey=park").body)).ReadAll()
	if err != nil || len(rows) != 1+6 {
		t.Fatalf("survey csv: %v, %d rows, want 7", err, len(rows))
	}
	for _, r := range rows {
		if strings.Contains(strings.Join(r, ","), strings.Repeat("a", 64)) {
			t.Fatal("csv holds the respondent hash")
		}
	}
}

// A new hub has no content: the global layer's editor starts from the
// example, which checks and saves as it is, and a terminal then gets it.
func TestNewHubStartsFromExampleContent(t *testing.T) {
	h := newHub(t, nil)
	h.addUser("anna", store.RoleAdmin)
	term := h.enrolTerminal("jst-1", "Johannstadt")
	admin := h.browser()
	admin.mustLogin("anna")
	p := admin.get("/console/config/edit?scope=global&lang=en")
	if p.status != 200 || !strings.Contains(p.body, `id="example-note"`) {
		t.Fatalf("editor of a new hub: %d, no example note", p.status)
	}
	i := strings.Index(p.body, `id="document"`)
	start := strings.Index(p.body[i:], ">") + i + 1
	end := strings.Index(p.body[start:], "</textarea>") + start
	doc := html.UnescapeString(p.body[start:end])
	if !strings.Contains(doc, `"problem_categories"`) {
		t.Fatalf("the editor does not hold the example: %.200s", doc)
	}
	if p := admin.post("/console/config/edit", url.Values{"scope": {"global"}, "document": {doc}, "op": {"save"}}); p.status != http.StatusSeeOther {
		t.Fatalf("saving the example as it is: %d %s", p.status, p.body)
	}
	var got api.ConfigDocument
	if st, _ := term.call(http.MethodGet, api.PathConfig, nil, &got); st != 200 || !strings.Contains(string(got.Document), `"problem_categories"`) {
		t.Fatalf("terminal config: %d", st)
	}
	// Once the layer exists, the editor shows it and no example note.
	if p := admin.get("/console/config/edit?scope=global"); strings.Contains(p.body, `id="example-note"`) {
		t.Error("the example note stays after the layer is saved")
	}
	// Other scopes start empty: a quarter's layer holds only what differs.
	if p := admin.get("/console/config/edit?scope=quarter:Johannstadt"); strings.Contains(p.body, `id="example-note"`) {
		t.Error("a quarter's editor offers the whole example")
	}
}
