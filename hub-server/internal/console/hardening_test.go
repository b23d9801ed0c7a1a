package console

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/teststores"
)

// TestStaticServesOnlyStatic: the static route serves the files of
// static/ and nothing else: no template through an encoded "..", no
// directory listing anywhere.
func TestStaticServesOnlyStatic(t *testing.T) {
	h := newHub(t, nil)
	b := h.browser()
	if p := b.get("/console/static/style.css"); p.status != http.StatusOK || !strings.Contains(p.header.Get("Content-Type"), "text/css") {
		t.Fatalf("style.css: %d %s", p.status, p.header.Get("Content-Type"))
	}
	for _, path := range []string{
		"/console/static/%2e%2e/templates/layout.html",
		"/console/static/%2E%2E/templates/layout.html",
		"/console/static/..%2ftemplates/layout.html",
		"/console/static/%2e%2e/",
		"/console/static/%2e%2e",
		"/console/static/",
		"/console/static/.",
		"/console/static/%2e/",
		"/console/static/style.css/",
	} {
		p := b.get(path)
		if p.status == http.StatusOK || strings.Contains(p.body, "{{") || strings.Contains(p.body, "<pre>") || strings.Contains(p.body, "style.css</a>") {
			t.Errorf("GET %s: %d, want no file and no listing\n%.300s", path, p.status, p.body)
		}
	}
}

// rawGet and rawPost send a request with exactly the given cookies and
// headers, as a client that ignores cookie rules (an attacker) would.
func rawDo(t *testing.T, method, url string, body url.Values, hdr map[string]string, cookies ...*http.Cookie) page {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = strings.NewReader(body.Encode())
	}
	req, _ := http.NewRequest(method, url, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return page{status: res.StatusCode, body: string(b), header: res.Header}
}

func cookieIn(p page, name string) *http.Cookie {
	for _, c := range (&http.Response{Header: p.header}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// TestHostPrefixCookies: over HTTPS the console sets and accepts only
// the __Host- names of its cookies (session, login form token, language),
// so a cookie planted without the prefix (by a sibling subdomain or over
// plain HTTP) is never believed; over plain HTTP only the plain names.
func TestHostPrefixCookies(t *testing.T) { teststores.EachKind(t, testHostPrefixCookies) }

func testHostPrefixCookies(t *testing.T, kind string) {
	h := newHubOn(t, kind, func(o *Opts) { o.TrustProxy = true })
	h.addUser("anna", store.RoleAdmin)
	https := map[string]string{"X-Forwarded-Proto": "https"}
	u := h.srv.URL

	// Log in over HTTPS: every cookie carries the prefix.
	lp := rawDo(t, http.MethodGet, u+"/console/login", nil, https)
	if cookieIn(lp, loginCookieName) != nil {
		t.Fatalf("over HTTPS the login form set the unprefixed %s", loginCookieName)
	}
	lc := cookieIn(lp, hostPrefix+loginCookieName)
	if lc == nil || !lc.Secure || lc.Path != "/" || lc.Domain != "" {
		t.Fatalf("login form cookie over HTTPS: %+v, want a Secure __Host- cookie", lc)
	}
	// The login form's token in an unprefixed cookie is refused.
	forged := url.Values{"name": {"anna"}, "password": {testPassword}, "csrf": {"planted-token"}}
	if p := rawDo(t, http.MethodPost, u+"/console/login", forged, https, &http.Cookie{Name: loginCookieName, Value: "planted-token"}); p.status != http.StatusForbidden {
		t.Fatalf("login with a planted unprefixed form cookie: %d, want 403", p.status)
	}
	tok := between(lp.body, `name="csrf" value="`, `"`)
	good := url.Values{"name": {"anna"}, "password": {testPassword}, "csrf": {tok}}
	res := rawDo(t, http.MethodPost, u+"/console/login", good, https, lc)
	sc := cookieIn(res, secureCookieName)
	if res.status != http.StatusSeeOther || sc == nil || sc.Value == "" || cookieIn(res, cookieName) != nil {
		t.Fatalf("login over HTTPS: %d, session cookie %+v; want only %s", res.status, sc, secureCookieName)
	}
	// The session works under its prefixed name only.
	if p := rawDo(t, http.MethodGet, u+"/console/", nil, https, sc); p.status != http.StatusOK {
		t.Fatalf("prefixed session cookie over HTTPS: %d", p.status)
	}
	plain := &http.Cookie{Name: cookieName, Value: sc.Value}
	if p := rawDo(t, http.MethodGet, u+"/console/", nil, https, plain); p.status != http.StatusSeeOther {
		t.Fatalf("unprefixed session cookie over HTTPS: %d, want the login page", p.status)
	}
	// Over plain HTTP the prefixed name means nothing.
	if p := rawDo(t, http.MethodGet, u+"/console/", nil, nil, sc); p.status != http.StatusSeeOther {
		t.Fatalf("prefixed session cookie over plain HTTP: %d, want the login page", p.status)
	}

	// The language: a visitor's pick over HTTPS is a __Host- cookie, and
	// an unprefixed one is ignored.
	sw := rawDo(t, http.MethodGet, u+"/status?lang=en", nil, https)
	if cookieIn(sw, langCookie) != nil || cookieIn(sw, hostPrefix+langCookie) == nil {
		t.Fatalf("language switch over HTTPS set %v, want only %s", sw.header["Set-Cookie"], hostPrefix+langCookie)
	}
	if p := rawDo(t, http.MethodGet, u+"/status", nil, https, &http.Cookie{Name: langCookie, Value: "en"}); !strings.Contains(p.body, `<html lang="de">`) {
		t.Errorf("an unprefixed language cookie over HTTPS changed the status page's language")
	}
	if p := rawDo(t, http.MethodGet, u+"/status", nil, https, &http.Cookie{Name: hostPrefix + langCookie, Value: "en"}); !strings.Contains(p.body, `<html lang="en">`) {
		t.Errorf("the prefixed language cookie over HTTPS was not honoured")
	}
	if p := rawDo(t, http.MethodGet, u+"/status", nil, nil, &http.Cookie{Name: langCookie, Value: "en"}); !strings.Contains(p.body, `<html lang="en">`) {
		t.Errorf("the language cookie over plain HTTP was not honoured")
	}
}

// TestConfigEditorBoundsJSON: a layer pasted into the JSON editor is
// bounded in size, nesting depth and list length before it is decoded;
// such a document is refused with a plain message and nothing is stored.
func TestConfigEditorBoundsJSON(t *testing.T) {
	h := newHub(t, nil)
	h.addUser("anna", store.RoleAdmin)
	b := h.browser()
	b.mustLogin("anna")
	nest := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	for name, tc := range map[string]struct{ doc, want string }{
		"one level too deep": {`{"content": {"pages": ` + nest(api.MaxJSONDepth-1) + `}}`, "levels deep"},
		"deep":               {`{"content": {"pages": ` + nest(9000) + `}}`, "levels deep"},
		"long list":          {`{"content": {"places": [` + strings.Repeat("0,", api.MaxJSONElements) + `0]}}`, "more than"},
		"large":              {`{"content": {"version": "` + strings.Repeat("x", api.MaxConfigBytes) + `"}}`, "at most"},
	} {
		p := b.post("/console/config/edit", url.Values{"scope": {"global"}, "document": {tc.doc}, "op": {"save"}, "version": {"0"}})
		if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, tc.want) {
			t.Errorf("%s: %d, want 422 saying %q\n%.500s", name, p.status, tc.want, between(p.body, `id="config-errors"`, "</div>"))
		}
	}
	if ls, _ := h.st.ConfigLayers(context.Background()); len(ls) != 0 {
		t.Fatalf("%d layers stored from refused documents", len(ls))
	}
	// Just within the limits is fine.
	ok := `{"content": {"pages": ` + nest(api.MaxJSONDepth-2) + `}}`
	if p := b.post("/console/config/edit", url.Values{"scope": {"global"}, "document": {ok}, "op": {"save"}, "version": {"0"}}); p.status != http.StatusSeeOther {
		t.Fatalf("a layer %d levels deep: %d", api.MaxJSONDepth, p.status)
	}
}

// TestOneReportPerReference: a terminal uploads a record ID another
// terminal used already (or one ending in the same 8 characters): the
// public page still shows exactly one report — the one received first —
// and never the other terminal's text, even when a moderator published
// both; the console says the reference is shared.
func TestOneReportPerReference(t *testing.T) { teststores.EachKind(t, testOneReportPerReference) }

func testOneReportPerReference(t *testing.T, kind string) {
	h := newHubOn(t, kind, nil)
	h.addUser("mod", store.RoleModerator)
	t1 := h.enrolTerminal("jst-1", "Johannstadt")
	t2 := h.enrolTerminal("jst-2", "Striesen")
	id := t1.upload(api.RecordProblemReport, api.ProblemReport{Category: "litter", Text: "Worte von Terminal eins"})
	h.clock.Advance(time.Minute)
	t2.uploadAs(id, api.RecordProblemReport, api.ProblemReport{Category: "bench", Text: "Worte von Terminal zwei"})
	ref := api.ReportReference(id)
	pub := h.browser()
	p := pub.get("/status/" + ref + "?lang=en")
	if p.status != http.StatusOK || strings.Count(p.body, `class="card status-card"`) != 1 || !strings.Contains(p.body, "Johannstadt") || strings.Contains(p.body, "Striesen") {
		t.Fatalf("public page: %d, %d reports; want exactly jst-1's", p.status, strings.Count(p.body, `class="card status-card"`))
	}
	// A moderator publishes both residents' texts.
	mod := h.browser()
	mod.mustLogin("mod")
	for _, tm := range []*terminal{t1, t2} {
		path := "/console/reports/" + tm.name + "/" + id
		if p := mod.post(path, url.Values{"status": {"in_progress"}, "publish_text": {"yes"}, "version": {h.reportVersion(tm.id, id)}}); p.status != http.StatusSeeOther {
			t.Fatalf("publish %s: %d", tm.name, p.status)
		}
		note := mod.get(path)
		if !strings.Contains(note.body, `id="ref-shared"`) {
			t.Errorf("the console does not say that %s's reference is shared", tm.name)
		}
	}
	p = pub.get("/status/" + ref)
	if strings.Count(p.body, `class="card status-card"`) != 1 || strings.Contains(p.body, "Terminal zwei") || strings.Contains(p.body, "Terminal eins") {
		t.Fatalf("public page after publishing both: %d reports, shows a resident's text of a shared reference:\n%s", strings.Count(p.body, `class="card status-card"`), between(p.body, "<main", "</main>"))
	}
	// A reference of its own shows the published text as before.
	own := t1.upload(api.RecordProblemReport, api.ProblemReport{Category: "litter", Text: "Eigene Worte"})
	mod.post("/console/reports/jst-1/"+own, url.Values{"status": {"in_progress"}, "publish_text": {"yes"}, "version": {"0"}})
	if p := pub.get("/status/" + api.ReportReference(own)); !strings.Contains(p.body, "Eigene Worte") {
		t.Fatalf("an unshared published text is not shown")
	}
}
