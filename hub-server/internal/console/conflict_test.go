package console

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/teststores"
)

var versionRe = regexp.MustCompile(`name="version" value="(\d+)"`)

// formVersionIn is the version field of the first form on a page.
func formVersionIn(t *testing.T, p page) string {
	t.Helper()
	m := versionRe.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no version field on the page (%d)", p.status)
	}
	return m[1]
}

// TestConfigEditConflict: two people edit the same layer; the second
// save is refused with a conflict page in the person's language that
// keeps their text and shows the saved version; it is audited; saving
// again from that page is a deliberate replacement.
func TestConfigEditConflict(t *testing.T) { teststores.EachKind(t, testConfigEditConflict) }

func testConfigEditConflict(t *testing.T, kind string) {
	h := newHubOn(t, kind, nil)
	ctx := context.Background()
	h.addUser("anna", store.RoleAdmin)
	h.addUser("mod", store.RoleModerator)
	if err := h.st.SetUserLang(ctx, mustUser(t, h, "mod").ID, "de", store.Audit{At: h.clock.Now(), Actor: "test", Action: "user.lang"}); err != nil {
		t.Fatal(err)
	}
	const scope = "quarter:Johannstadt"
	if _, err := h.st.PutConfigLayer(ctx, scope, []byte(`{"content": {"announcements": []}}`), store.Audit{At: h.clock.Now(), Actor: "test", Action: "config.set"}); err != nil {
		t.Fatal(err)
	}
	a, m := h.browser(), h.browser()
	a.mustLogin("anna")
	m.mustLogin("mod")
	va := formVersionIn(t, a.get("/console/config/edit?scope="+url.QueryEscape(scope)))
	vm := formVersionIn(t, m.get("/console/config/edit?scope="+url.QueryEscape(scope)))
	if va != "1" || vm != "1" {
		t.Fatalf("editors loaded versions %s and %s, want 1", va, vm)
	}
	annaDoc := `{"content": {"announcements": [{"id": "fest", "title": {"de": "Stadtteilfest"}}]}}`
	modDoc := `{"content": {"announcements": [{"id": "markt", "title": {"de": "Wochenmarkt <am Platz>"}}]}}`
	if p := a.post("/console/config/edit", url.Values{"scope": {scope}, "document": {annaDoc}, "op": {"save"}, "version": {va}}); p.status != http.StatusSeeOther {
		t.Fatalf("first save: %d", p.status)
	}
	p := m.post("/console/config/edit", url.Values{"scope": {scope}, "document": {modDoc}, "op": {"save"}, "version": {vm}})
	if p.status != http.StatusConflict {
		t.Fatalf("second save on the old version: %d, want 409", p.status)
	}
	text := html.UnescapeString(between(p.body, `<textarea id="document"`, "</textarea>"))
	saved := html.UnescapeString(between(p.body, `id="config-current"`, "</details>"))
	switch {
	case !strings.Contains(p.body, "Jemand anderes hat diese Ebene gespeichert"):
		t.Errorf("no German conflict message:\n%s", p.body)
	case !strings.Contains(text, "Wochenmarkt <am Platz>"):
		t.Errorf("the person's text is not kept in the editor: %q", text)
	case !strings.Contains(saved, "Stadtteilfest") || !strings.Contains(saved, "2"):
		t.Errorf("the saved version is not shown: %q", saved)
	}
	if l, _ := h.con.currentLayer(ctx, scope); l.Version != 2 || string(l.Document) != annaDoc {
		t.Fatalf("stored: version %d %s, want the first save", l.Version, l.Document)
	}
	if log, _ := h.st.AuditEntries(ctx, store.AuditFilter{Action: "config.conflict"}); len(log) != 1 || log[0].Actor != "mod" || log[0].Subject != scope {
		t.Fatalf("conflict audit: %+v", log)
	}
	// From the conflict page, saving again replaces the saved version.
	if p := m.post("/console/config/edit", url.Values{"scope": {scope}, "document": {modDoc}, "op": {"save"}, "version": {formVersionIn(t, p)}}); p.status != http.StatusSeeOther {
		t.Fatalf("save from the conflict page: %d", p.status)
	}
	if l, _ := h.con.currentLayer(ctx, scope); l.Version != 3 || string(l.Document) != modDoc {
		t.Fatalf("stored: version %d %s, want the moderator's", l.Version, l.Document)
	}

	// Several editors saving the same version at the same moment: one
	// wins, every other gets the conflict page.
	const editors = 5
	bs := make([]*browser, editors)
	for i := range bs {
		bs[i] = h.browser()
		bs[i].mustLogin("anna")
	}
	var wg sync.WaitGroup
	status := make([]int, editors)
	for i, b := range bs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			doc := `{"content": {"announcements": [{"id": "e` + string(rune('a'+i)) + `", "title": {"de": "x"}}]}}`
			form := url.Values{"scope": {scope}, "document": {doc}, "op": {"save"}, "version": {"3"}, "csrf": {b.csrf}}
			req, _ := http.NewRequest(http.MethodPost, h.srv.URL+"/console/config/edit", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			res, err := b.c.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			res.Body.Close()
			status[i] = res.StatusCode
		}()
	}
	wg.Wait()
	won := 0
	for _, s := range status {
		switch s {
		case http.StatusSeeOther:
			won++
		case http.StatusConflict:
		default:
			t.Errorf("concurrent save: %d", s)
		}
	}
	if l, _ := h.con.currentLayer(ctx, scope); won != 1 || l.Version != 4 {
		t.Fatalf("concurrent saves: %d won (%v), stored version %d; want 1 and 4", won, status, l.Version)
	}
}

func mustUser(t *testing.T, h *hub, name string) store.User {
	t.Helper()
	u, err := h.st.UserByName(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestAnnouncementEditConflict: two moderators add an announcement on the
// same version; the second is told, keeps what they typed, and the
// first one's announcement is in the list.
func TestAnnouncementEditConflict(t *testing.T) {
	h := newHub(t, nil)
	h.addUser("m1", store.RoleModerator)
	h.addUser("m2", store.RoleModerator)
	const scope = "quarter:Johannstadt"
	b1, b2 := h.browser(), h.browser()
	b1.mustLogin("m1")
	b2.mustLogin("m2")
	editor := "/console/config/edit?view=announcements&scope=" + url.QueryEscape(scope)
	v1, v2 := formVersionIn(t, b1.get(editor)), formVersionIn(t, b2.get(editor))
	add := func(b *browser, title, version string) page {
		return b.post("/console/config/edit", url.Values{"scope": {scope}, "op": {"ann_save"}, "version": {version}, "title_de": {title}})
	}
	if p := add(b1, "Stadtteilfest", v1); p.status != http.StatusSeeOther {
		t.Fatalf("first: %d", p.status)
	}
	p := add(b2, "Wochenmarkt", v2)
	if p.status != http.StatusConflict || !strings.Contains(p.body, "Someone changed this layer") || !strings.Contains(p.body, `value="Wochenmarkt"`) ||
		!strings.Contains(p.body, "Stadtteilfest") {
		t.Fatalf("second on the old version: %d, want 409 with the typed title kept and the first one listed", p.status)
	}
	l, _ := h.con.currentLayer(context.Background(), scope)
	if l.Version != 1 || strings.Contains(string(l.Document), "Wochenmarkt") {
		t.Fatalf("stored version %d: %s", l.Version, l.Document)
	}
	if p := add(b2, "Wochenmarkt", formVersionIn(t, p)); p.status != http.StatusSeeOther {
		t.Fatalf("again from the conflict page: %d", p.status)
	}
	if l, _ := h.con.currentLayer(context.Background(), scope); !strings.Contains(string(l.Document), "Wochenmarkt") || !strings.Contains(string(l.Document), "Stadtteilfest") {
		t.Fatalf("after the second try: %s", l.Document)
	}
}

// TestReportEditConflict: two moderators work on one report; the second
// save is refused, keeps their note, and the first one's state stays.
func TestReportEditConflict(t *testing.T) { teststores.EachKind(t, testReportEditConflict) }

func testReportEditConflict(t *testing.T, kind string) {
	h := newHubOn(t, kind, nil)
	h.addUser("m1", store.RoleModerator)
	h.addUser("m2", store.RoleModerator)
	term := h.enrolTerminal("jst-1", "Johannstadt")
	id := term.upload("problem_report", map[string]string{"category": "litter", "text": "Müll"})
	path := "/console/reports/jst-1/" + id
	b1, b2 := h.browser(), h.browser()
	b1.mustLogin("m1")
	b2.mustLogin("m2")
	v1, v2 := formVersionIn(t, b1.get(path)), formVersionIn(t, b2.get(path))
	if p := b1.post(path, url.Values{"status": {"in_progress"}, "public_note": {"Wird geprüft."}, "version": {v1}}); p.status != http.StatusSeeOther {
		t.Fatalf("first: %d", p.status)
	}
	// m2's page still says "new"; resolving is a valid move from both.
	p := b2.post(path, url.Values{"status": {"resolved"}, "public_note": {"Erledigt – m2"}, "version": {v2}})
	if p.status != http.StatusConflict || !strings.Contains(p.body, "Someone else changed this report") || !strings.Contains(p.body, "Erledigt – m2</textarea>") {
		t.Fatalf("second on the old state: %d, want 409 keeping the note", p.status)
	}
	rs, _ := h.st.Reports(context.Background(), store.ReportFilter{TerminalID: term.id, RecordID: id})
	if rs[0].Status != store.ReportInProgress || rs[0].PublicNote != "Wird geprüft." || rs[0].UpdatedBy != "m1" {
		t.Fatalf("stored %+v, want m1's", rs[0].ReportStatus)
	}
	// Saving again from the conflict page works.
	if p := b2.post(path, url.Values{"status": {"resolved"}, "public_note": {"Erledigt – m2"}, "version": {formVersionIn(t, p)}}); p.status != http.StatusSeeOther {
		t.Fatalf("again: %d", p.status)
	}
}

// TestUserEditConflict: an admin's users page older than another
// admin's change saves nothing — here it would have enabled a user who
// was just disabled.
func TestUserEditConflict(t *testing.T) { teststores.EachKind(t, testUserEditConflict) }

func testUserEditConflict(t *testing.T, kind string) {
	h := newHubOn(t, kind, nil)
	h.addUser("a1", store.RoleAdmin)
	h.addUser("a2", store.RoleAdmin)
	h.addUser("mod", store.RoleModerator)
	b1, b2 := h.browser(), h.browser()
	b1.mustLogin("a1")
	b2.mustLogin("a2")
	form := func(b *browser) string {
		p := b.get("/console/users")
		row := between(p.body, `action="/console/users/mod"`, "</form>")
		return formVersionIn(t, page{body: row})
	}
	v1, v2 := form(b1), form(b2)
	if p := b1.post("/console/users/mod", url.Values{"role": {"moderator"}, "disabled": {"yes"}, "version": {v1}}); p.status != http.StatusSeeOther {
		t.Fatalf("disable: %d", p.status)
	}
	before := mustUser(t, h, "mod")
	// a2's form still shows mod enabled; a password reset on it would
	// have posted "not disabled" too.
	p := b2.post("/console/users/mod", url.Values{"role": {"moderator"}, "password": {"a new long password"}, "version": {v2}})
	if p.status != http.StatusConflict || !strings.Contains(p.body, "Someone else changed this user") {
		t.Fatalf("stale form: %d, want 409", p.status)
	}
	if after := mustUser(t, h, "mod"); !after.Disabled() || after.PasswordHash != before.PasswordHash || after.Version != before.Version {
		t.Fatalf("the stale form changed the user: %+v", after)
	}
}
