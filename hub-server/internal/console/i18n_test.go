package console

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// getLang is a GET with the browser's Accept-Language header.
func (b *browser) getLang(path, accept string) page {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.h.srv.URL+path, nil)
	if accept != "" {
		req.Header.Set("Accept-Language", accept)
	}
	return b.do(req)
}

func wantIn(t *testing.T, what string, p page, lang string, texts ...string) {
	t.Helper()
	if !strings.Contains(p.body, `<html lang="`+lang+`">`) || p.header.Get("Content-Language") != lang {
		t.Errorf("%s: page language %q (Content-Language %q), want %s", what, between(p.body, `<html lang="`, `"`), p.header.Get("Content-Language"), lang)
	}
	for _, s := range texts {
		if !strings.Contains(p.body, s) {
			t.Errorf("%s: page lacks %q", what, s)
		}
	}
}

func between(s, a, b string) string {
	_, rest, _ := strings.Cut(s, a)
	v, _, _ := strings.Cut(rest, b)
	return v
}

func TestConsoleLanguage(t *testing.T) {
	h := newHub(t, nil)
	h.addUser("anna", store.RoleAdmin)
	h.addUser("bert", store.RoleViewer)
	ctx := context.Background()

	// Visitors: the browser decides; English when it names neither.
	v := h.browser()
	wantIn(t, "login, no Accept-Language", v.getLang("/console/login", ""), "en", ">Log in<")
	wantIn(t, "login, fr", v.getLang("/console/login", "fr-FR,fr;q=0.9"), "en", ">Log in<")
	wantIn(t, "login, de", v.getLang("/console/login", "de-DE,de;q=0.9,en;q=0.8"), "de", ">Anmelden<", "Benutzername", `href="/console/login?lang=en"`)
	wantIn(t, "login, en before de", v.getLang("/console/login", "en-GB,en;q=0.9,de;q=0.8"), "en", `href="/console/login?lang=de"`)
	// The switch link picks German and the cookie keeps it.
	wantIn(t, "login ?lang=de", v.getLang("/console/login?lang=de", "en"), "de", ">Anmelden<", `aria-current="true">Deutsch<`)
	wantIn(t, "login after the switch", v.getLang("/console/login", "en"), "de", ">Anmelden<")
	if p := v.getLang("/console/login?lang=xx", "en"); !strings.Contains(p.body, ">Anmelden<") {
		t.Error("an unknown ?lang= changed the language")
	}

	// A user without a choice follows the browser; an error from Go
	// (T-marked, translated when rendered) too.
	a := h.browser()
	a.mustLogin("anna")
	wantIn(t, "fleet, en", a.getLang("/console/", "en-US"), "en", ">Fleet<")
	wantIn(t, "fleet, de", a.getLang("/console/", "de"), "de", ">Flotte<", ">Störungen<", `name="op" value="lang"`)
	req, _ := http.NewRequest(http.MethodPost, h.srv.URL+"/console/account", strings.NewReader(url.Values{"csrf": {a.csrf}, "current": {"wrong password!"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept-Language", "de")
	if p := a.do(req); p.status != http.StatusBadRequest || !strings.Contains(p.body, "Das aktuelle Passwort ist falsch.") {
		t.Errorf("German error from Go: %d", p.status)
	}

	// The header switch stores the choice: it beats the browser.
	p := a.post("/console/account", url.Values{"op": {"lang"}, "lang": {"de"}, "next": {"/console/alerts?all=1"}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/console/alerts?all=1&done=lang" {
		t.Fatalf("switch: %d → %q", p.status, p.header.Get("Location"))
	}
	wantIn(t, "alerts after choosing German", a.getLang("/console/alerts?all=1&done=lang", "en-US,en"), "de", "<h1>Störungen</h1>", "Sprache gespeichert.")
	if l, _ := h.st.UserLang(ctx, userID(t, h, "anna")); l != "de" {
		t.Fatalf("stored language %q", l)
	}
	if log, _ := h.st.AuditEntries(ctx, store.AuditFilter{Action: "user.lang"}); len(log) != 1 || log[0].Actor != "anna" || log[0].Detail != "de" {
		t.Fatalf("audit of the language: %+v", log)
	}
	// A switch cannot send the user off the console.
	if p := a.post("/console/account", url.Values{"op": {"lang"}, "lang": {"en"}, "next": {"https://evil.example/"}}); p.header.Get("Location") != "/console/?done=lang" {
		t.Errorf("next outside the console: %q", p.header.Get("Location"))
	}
	if p := a.post("/console/account", url.Values{"op": {"lang"}, "lang": {"fr"}}); p.status != http.StatusBadRequest {
		t.Errorf("unknown language: %d, want 400", p.status)
	}

	// An admin sets bert's language on the users page.
	if p := a.post("/console/users/bert", url.Values{"lang": {"de"}, "version": {h.userVersion("bert")}}); p.status != http.StatusSeeOther {
		t.Fatalf("admin sets bert's language: %d", p.status)
	}
	if p := a.get("/console/users"); !strings.Contains(p.body, `<option value="de" lang="de" selected>Deutsch</option>`) {
		t.Error("the users page does not show bert's language")
	}
	b := h.browser()
	b.mustLogin("bert")
	wantIn(t, "bert's fleet", b.getLang("/console/", "en"), "de", ">Flotte<")
	wantIn(t, "bert's account", b.getLang("/console/account", "en"), "de", "Sprache der Konsole", `value="de" checked`)
	// Back to "as the browser asks" on his own Account page.
	if p := b.post("/console/account", url.Values{"op": {"lang"}, "lang": {""}, "next": {"/console/account"}}); p.status != http.StatusSeeOther {
		t.Fatalf("bert clears his language: %d", p.status)
	}
	wantIn(t, "bert follows the browser again", b.getLang("/console/", "en"), "en", ">Fleet<")
	// The viewer may change his own language, not another user's.
	if p := b.post("/console/users/anna", url.Values{"lang": {"en"}}); p.status != http.StatusForbidden {
		t.Errorf("viewer sets another user's language: %d", p.status)
	}
}

func userID(t *testing.T, h *hub, name string) string {
	t.Helper()
	u, err := h.st.UserByName(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

func TestPublicStatusLanguage(t *testing.T) {
	h := newHub(t, nil)
	h.addUser("anna", store.RoleAdmin)
	term := h.enrolTerminal("jst-1", "Johannstadt")
	admin := h.browser()
	admin.mustLogin("anna")
	admin.post("/console/config/edit", url.Values{"scope": {"global"}, "document": {testContent}, "op": {"save"}})
	ref := api.ReportReference(term.upload(api.RecordProblemReport, api.ProblemReport{Category: "litter", Text: "x", Language: "de"}))

	r := h.browser()
	// German by default (Dresden), also for a browser asking for neither.
	for _, accept := range []string{"", "fr-FR", "de-DE,de;q=0.9,en;q=0.8"} {
		wantIn(t, "status, Accept-Language "+accept, r.getLang("/status/"+ref, accept), "de",
			"Stand Ihrer Meldung", ">Neu<", "Müll", "Ihre Meldung ist angekommen.", `href="/status/`+ref+`?lang=en"`)
	}
	// English when the browser prefers it: texts, status and category.
	wantIn(t, "status, en", r.getLang("/status/"+ref, "en-US,en;q=0.9,de;q=0.5"), "en", "Status of your report", ">New<", "Litter")
	// Dates in German.
	month := []string{"Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November", "Dezember"}[time.Now().Month()-1]
	if p := r.getLang("/status/"+ref, ""); !strings.Contains(p.body, month) {
		t.Errorf("German page without a German month name (%s)", month)
	}
	// Unknown and invalid references, both languages.
	if p := r.getLang("/status/ZZZZ-ZZZZ", "de"); p.status != 404 || !strings.Contains(p.body, "Die Vorgangsnummer <strong class=\"nowrap\">ZZZZ-ZZZZ</strong> ist uns noch nicht bekannt.") {
		t.Errorf("unknown reference, de: %d", p.status)
	}
	if p := r.getLang("/status/ZZZZ-ZZZZ", "en"); !strings.Contains(p.body, "We do not know the reference <strong class=\"nowrap\">ZZZZ-ZZZZ</strong> yet.") {
		t.Error("unknown reference, en")
	}
	// The switch: English, kept by the cookie for the lookup form.
	wantIn(t, "status ?lang=en", r.getLang("/status/"+ref+"?lang=en", "de"), "en", "Status of your report", `href="/status/`+ref+`?lang=de"`)
	wantIn(t, "lookup after the switch", r.getLang("/status?ref="+ref, "de"), "en", "Status of your report")
}

// annForm posts one announcement form.
func annPost(b *browser, scope, op, orig string, version int64, f map[string]string) page {
	b.t.Helper()
	v := url.Values{"scope": {scope}, "op": {op}, "orig": {orig}, "version": {jsonInt(version)}}
	for k, s := range f {
		v.Set(k, s)
	}
	return b.post("/console/config/edit", v)
}

func jsonInt(n int64) string { b, _ := json.Marshal(n); return string(b) }

func layerOf(t *testing.T, h *hub, scope string) *store.ConfigLayer {
	t.Helper()
	ls, err := h.st.ConfigLayers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for i := range ls {
		if ls[i].Scope == scope {
			return &ls[i]
		}
	}
	return nil
}

func TestAnnouncementEditor(t *testing.T) {
	h := newHub(t, nil)
	h.addUser("anna", store.RoleAdmin)
	h.addUser("mod", store.RoleModerator)
	h.addUser("vera", store.RoleViewer)
	term := h.enrolTerminal("jst-1", "Johannstadt")
	admin := h.browser()
	admin.mustLogin("anna")
	admin.post("/console/config/edit", url.Values{"scope": {"global"}, "document": {testContent}, "op": {"save"}})
	const scope = "quarter:Johannstadt"
	// The quarter layer has settings and an announcement with a Turkish
	// title, which the form does not edit and must keep.
	quarter := `{"settings": {"heartbeat_interval": "30s"}, "content": {"announcements": [
	  {"id": "fest", "title": {"de": "Stadtteilfest", "tr": "Mahalle şenliği"}, "until": "2099-01-01T00:00:00Z"}]}}`
	if p := admin.post("/console/config/edit", url.Values{"scope": {scope}, "document": {quarter}, "op": {"save"}}); p.status != http.StatusSeeOther {
		t.Fatalf("quarter layer: %d", p.status)
	}

	mod := h.browser()
	mod.mustLogin("mod")
	p := mod.get("/console/config/edit?view=announcements&scope=" + url.QueryEscape(scope))
	if p.status != 200 || !strings.Contains(p.body, "Stadtteilfest") || !strings.Contains(p.body, `value="ann_save"`) {
		t.Fatalf("editor page: %d", p.status)
	}
	// A terminal's layer without a list of its own names what its
	// terminals show instead: the quarter's announcements.
	if p := mod.get("/console/config/edit?view=announcements&scope=terminal:jst-1"); !strings.Contains(p.body, "Shown now from the layer") ||
		!strings.Contains(p.body, ">quarter:Johannstadt</a>") || !strings.Contains(p.body, "<strong>Stadtteilfest</strong>") {
		t.Error("the terminal's editor does not show the inherited announcements")
	}
	stored := func() int64 { return layerOf(t, h, scope).Version }
	if stored() != 1 {
		t.Fatalf("version %d", stored())
	}

	// Refused: no title; a date that is none; until before from. Each
	// with a message that says what to fix; nothing stored.
	for _, tc := range []struct {
		f    map[string]string
		want string
	}{
		{map[string]string{"body_de": "ohne Titel"}, "Give the announcement a title, in German or English."},
		{map[string]string{"title_de": "Bürgerbüro geschlossen", "until": "2026-13-45T10:00"}, "“Shown until” is not a date: 2026-13-45T10:00. Write it like 2026-12-04 18:00."},
		{map[string]string{"title_de": "Bürgerbüro geschlossen", "from": "Freitag"}, "“Shown from” is not a date: Freitag."},
		{map[string]string{"title_de": "Bürgerbüro geschlossen", "from": "2026-12-05T08:00", "until": "2026-12-04T18:00"}, "“Shown until” must be later than “Shown from”."},
		{map[string]string{"title_de": strings.Repeat("x", 121)}, "The title may have at most 120 characters (it has 121)."},
	} {
		for _, op := range []string{"ann_save", "ann_preview"} {
			p := annPost(mod, scope, op, "", 1, tc.f)
			if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, tc.want) {
				t.Errorf("%s %v: %d, want 422 with %q", op, tc.f, p.status, tc.want)
			}
		}
	}
	if stored() != 1 {
		t.Fatal("a refused announcement was stored")
	}
	// In German for a user who chose it.
	mod.post("/console/account", url.Values{"op": {"lang"}, "lang": {"de"}})
	if p := annPost(mod, scope, "ann_save", "", 1, map[string]string{"title_de": "x", "until": "bald"}); !strings.Contains(p.body, "„Anzeigen bis“ ist kein Datum: bald.") {
		t.Error("German date message missing")
	}
	mod.post("/console/account", url.Values{"op": {"lang"}, "lang": {"en"}})

	// Check and preview: valid, shows it as the terminal would; not stored.
	add := map[string]string{"title_de": "Bürgerbüro geschlossen", "title_en": "Citizens' office closed",
		"body_de": "Am Freitag bleibt das Bürgerbüro zu.", "from": "2026-12-04T00:00", "until": "2026-12-05T00:00"}
	p = annPost(mod, scope, "ann_preview", "", 1, add)
	if p.status != 200 || !strings.Contains(p.body, "The configuration is valid.") || !strings.Contains(p.body, "jst-1") ||
		!strings.Contains(p.body, `value="Bürgerbüro geschlossen"`) {
		t.Fatalf("preview: %d", p.status)
	}
	if stored() != 1 {
		t.Fatal("the preview stored the layer")
	}
	// Add.
	if p := annPost(mod, scope, "ann_save", "", 1, add); p.status != http.StatusSeeOther {
		t.Fatalf("add: %d %s", p.status, between(p.body, `role="alert"`, "</div>"))
	}
	if stored() != 2 {
		t.Fatalf("version after adding: %d", stored())
	}
	var doc api.ConfigDocument
	if st, _ := term.call(http.MethodGet, api.PathConfig, nil, &doc); st != 200 {
		t.Fatalf("terminal config: %d", st)
	}
	var cfg struct {
		Settings map[string]any `json:"settings"`
		Content  api.Content    `json:"content"`
	}
	if err := json.Unmarshal(doc.Document, &cfg); err != nil {
		t.Fatal(err)
	}
	anns := cfg.Content.Announcements
	if len(anns) != 2 || anns[1].ID != "buergerbuero-geschlossen" || anns[1].Title["en"] != "Citizens' office closed" ||
		anns[1].Body["de"] != "Am Freitag bleibt das Bürgerbüro zu." || anns[1].Body["en"] != "" {
		t.Fatalf("the terminal gets %+v", anns)
	}
	wantFrom := time.Date(2026, 12, 4, 0, 0, 0, 0, time.Local)
	if !anns[1].From.Equal(wantFrom) || !anns[1].Until.Equal(wantFrom.Add(24*time.Hour)) {
		t.Fatalf("dates: %v – %v, want %v – +24h (hub's local time)", anns[1].From, anns[1].Until, wantFrom)
	}
	if cfg.Settings["heartbeat_interval"] != "30s" || anns[0].Title["tr"] != "Mahalle şenliği" {
		t.Fatalf("the editor lost parts of the layer: settings %v, fest %v", cfg.Settings, anns[0].Title)
	}

	// Edit: a stale form (version 1) is refused, nothing saved.
	p = annPost(mod, scope, "ann_save", "fest", 1, map[string]string{"title_de": "Großes Stadtteilfest"})
	if p.status != http.StatusConflict || !strings.Contains(p.body, "it is now version 2") || stored() != 2 {
		t.Fatalf("stale edit: %d, version %d", p.status, stored())
	}
	p = annPost(mod, scope, "ann_save", "fest", 2, map[string]string{"title_de": "Großes Stadtteilfest", "title_en": "Big street party"})
	if p.status != http.StatusSeeOther {
		t.Fatalf("edit: %d", p.status)
	}
	l := layerOf(t, h, scope)
	for _, want := range []string{`"de": "Großes Stadtteilfest"`, `"tr": "Mahalle şenliği"`, `"en": "Big street party"`, `"heartbeat_interval": "30s"`} {
		if !strings.Contains(string(l.Document), want) {
			t.Errorf("after editing, the layer lacks %s:\n%s", want, l.Document)
		}
	}
	if strings.Contains(string(l.Document), `"until"`) && strings.Count(string(l.Document), `"until"`) != 1 {
		t.Error("the edit kept an emptied date")
	}

	// Delete.
	if p := annPost(mod, scope, "ann_delete", "fest", 3, nil); p.status != http.StatusSeeOther {
		t.Fatalf("delete: %d", p.status)
	}
	if l := layerOf(t, h, scope); l.Version != 4 || strings.Contains(string(l.Document), "fest\"") || !strings.Contains(string(l.Document), "buergerbuero-geschlossen") {
		t.Fatalf("after deleting: v%d %s", l.Version, l.Document)
	}
	if p := annPost(mod, scope, "ann_delete", "fest", 4, nil); p.status != http.StatusConflict {
		t.Errorf("deleting it again: %d, want 409", p.status)
	}

	// Audited like config saves.
	log, _ := h.st.AuditEntries(context.Background(), store.AuditFilter{Action: "config.set", Actor: "mod"})
	var details []string
	for _, e := range log {
		details = append(details, e.Detail)
	}
	if strings.Join(details, "|") != "announcement deleted: fest|announcement changed: fest|announcement added: buergerbuero-geschlossen" {
		t.Fatalf("audit: %q", details)
	}

	// A viewer sees the list, no forms, and may not post.
	v := h.browser()
	v.mustLogin("vera")
	if p := v.get("/console/config/edit?view=announcements&scope=" + url.QueryEscape(scope)); p.status != 200 || strings.Contains(p.body, "ann_save") || !strings.Contains(p.body, "Bürgerbüro geschlossen") {
		t.Errorf("viewer's page: %d", p.status)
	}
	if p := annPost(v, scope, "ann_delete", "buergerbuero-geschlossen", 4, nil); p.status != http.StatusForbidden || stored() != 4 {
		t.Errorf("viewer deletes: %d", p.status)
	}
}

// TestStatusCategoryBeforeContent: a report made while the terminal still
// showed the built-in demo content (the hub served none yet) names its
// category in the resident's language on the public page, not by its ID.
func TestStatusCategoryBeforeContent(t *testing.T) {
	h := newHub(t, nil)
	term := h.enrolTerminal("fst-1", "Friedrichstadt")
	ref := api.ReportReference(term.upload(api.RecordProblemReport, api.ProblemReport{Category: "lighting", Language: "de"}))
	r := h.browser()
	de := r.getLang("/status/"+ref, "de")
	wantIn(t, "status, de", de, "de", "<dd>Straßenlicht kaputt</dd>")
	wantIn(t, "status, en", r.getLang("/status/"+ref+"?lang=en", ""), "en", "<dd>Street light broken</dd>")
	if strings.Contains(de.body, "<dd>lighting</dd>") {
		t.Error("the German status page names the category by its ID")
	}
}

// codeTextRe finds the text of an element: what a person reads.
var codeTextRe = regexp.MustCompile(`>([^<>]+)<`)

// TestPagesNameCodesInTheirLanguage: wherever the console shows a code
// (a terminal, command, device or alert state, a role, an outbox class,
// a language, a problem category), a German page shows its German name
// and an English page its English one, never the code itself.
func TestPagesNameCodesInTheirLanguage(t *testing.T) {
	h := newHub(t, nil)
	h.addUser("anna", store.RoleAdmin)
	h.addUser("vera", store.RoleViewer)
	ctx := context.Background()
	admin := h.browser()
	admin.mustLogin("anna")
	admin.post("/console/config/edit", url.Values{"scope": {"global"}, "document": {testContent}, "op": {"save"}, "version": {"0"}})
	term := h.enrolTerminal("jst-1", "Johannstadt")
	admin.post("/console/commands", url.Values{"scope": {"terminal"}, "target": {"jst-1"}, "kind": {api.CommandTestPrint}})
	term.heartbeat(api.Heartbeat{SoftwareVersion: "1.2.3", Devices: []api.DeviceHealth{
		{Name: "printer", Kind: "escpos", State: "connected", Paper: "near_end"}, {Name: "pm-1", Kind: "sds011", State: "lost"}},
		Outbox: map[string]api.Backlog{api.ClassResident: {Count: 2, OldestAgeSeconds: 30}, api.ClassSensor: {Count: 9, OldestAgeSeconds: 60}}})
	now := h.clock.Now()
	if _, err := h.st.OpenAlert(ctx, store.Alert{ID: "A1", TerminalID: term.id, Kind: "sensor_fault", Detail: "pm-1 lost", FirstSeen: now, LastSeen: now}); err != nil {
		t.Fatal(err)
	}
	rec := term.upload(api.RecordProblemReport, api.ProblemReport{Category: "litter", Text: "x", Language: "de"})
	viewer := h.browser()
	viewer.mustLogin("vera")

	for _, tc := range []struct {
		lang string
		want map[string][]string // page → texts it must show
	}{
		{"de", map[string][]string{
			"/console/":                       {"printer – Papier: Fast leer", "pm-1: Getrennt", ">Sensorstörung<"},
			"/console/terminals/jst-1":        {">Eingaben<", ">Messwerte<", ">Testbeleg drucken<", ">Wartet auf das Terminal<"},
			"/console/reports":                {">Müll<"},
			"/console/reports/jst-1/" + rec:   {"<dt>Sprache</dt><dd>Deutsch</dd>", "<dt>Kategorie</dt><dd>Müll</dd>"},
			"/console/terminals/jst-1/revoke": {"Ihre Rolle (Lesezugriff) erlaubt das nicht."},
		}},
		{"en", map[string][]string{
			"/console/":                       {"printer – paper: Nearly empty", "pm-1: Disconnected", ">Sensor fault<"},
			"/console/terminals/jst-1":        {">resident<", ">sensor<", ">Print a test receipt<"},
			"/console/reports":                {">Litter<"},
			"/console/reports/jst-1/" + rec:   {"<dt>Language</dt><dd>German</dd>", "<dt>Category</dt><dd>Litter</dd>"},
			"/console/terminals/jst-1/revoke": {"Your role (Viewer) does not allow this."},
		}},
	} {
		for _, b := range []*browser{admin, viewer} {
			b.post("/console/account", url.Values{"op": {"lang"}, "lang": {tc.lang}})
		}
		for path, texts := range tc.want {
			var p page
			if strings.HasSuffix(path, "/revoke") {
				p = viewer.post(path, url.Values{"confirm": {"jst-1"}})
			} else {
				p = admin.get(path)
			}
			wantIn(t, tc.lang+" "+path, p, tc.lang, texts...)
			if tc.lang != "de" {
				continue
			}
			// Codes that are German words too (online) are left out.
			codes := map[string]bool{"de": true, "en": true, "litter": true}
			for _, c := range labelCodes() {
				codes[c] = !strings.EqualFold(label(c).In("de"), c)
			}
			for _, m := range codeTextRe.FindAllStringSubmatch(p.body, -1) {
				if s := strings.TrimSpace(m[1]); codes[s] {
					t.Errorf("de %s shows the code %q", path, s)
				}
			}
		}
	}
}
