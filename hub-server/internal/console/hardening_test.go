package console

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
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
	// Over a saved layer too: the editor names what is wrong (it used to
	// answer as if someone else had saved meanwhile).
	if p := b.post("/console/config/edit", url.Values{"scope": {"global"}, "document": {`{"content": {"pages": ` + nest(9000) + `}}`}, "op": {"preview"}, "version": {"1"}}); p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "levels deep") {
		t.Errorf("too deep over version 1: %d, want 422 saying how deep", p.status)
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

// lookupFrom asks the console for path as a client at addr (host:port),
// straight through its handler so each request can come from elsewhere.
func lookupFrom(h *hub, addr, path string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.RemoteAddr = addr
	rec := httptest.NewRecorder()
	h.con.ServeHTTP(rec, req)
	return rec
}

// TestStatusLookupRateLimit: lookups on the public status page are
// limited per client network (IPv4 address, IPv6 /64) with a plain 429
// page in the resident's language; the limit refills; other networks are
// not held up; the table of networks stays bounded however many
// addresses ask.
func TestStatusLookupRateLimit(t *testing.T) {
	h := newHub(t, func(o *Opts) { o.StatusLookupBurst, o.StatusLookupEvery, o.StatusLookupClients = 3, time.Minute, 50 })
	const a = "198.51.100.7:5000"
	for i := range 3 {
		if rec := lookupFrom(h, a, "/status/ABCD-000"+itoa(i)); rec.Code != http.StatusNotFound {
			t.Fatalf("lookup %d: %d, want 404 (unknown reference)", i+1, rec.Code)
		}
	}
	rec := lookupFrom(h, a, "/status/ABCD-0003")
	body := rec.Body.String()
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" || !strings.Contains(body, "Sie haben in kurzer Zeit viele Vorgangsnummern abgefragt") {
		t.Fatalf("4th lookup: %d, Retry-After %q; want 429 with the German page\n%s", rec.Code, rec.Header().Get("Retry-After"), body)
	}
	req := httptest.NewRequest(http.MethodGet, "/status?ref=ABCD-0004", nil)
	req.RemoteAddr, req.Header["Accept-Language"] = a, []string{"en"}
	rec = httptest.NewRecorder()
	h.con.ServeHTTP(rec, req)
	if rec.Code != http.StatusTooManyRequests || !strings.Contains(rec.Body.String(), "You have looked up many reference numbers") {
		t.Fatalf("?ref= form, English: %d", rec.Code)
	}
	// The page without a lookup stays open; another address is not held up.
	if rec := lookupFrom(h, a, "/status"); rec.Code != http.StatusOK {
		t.Fatalf("the empty form: %d", rec.Code)
	}
	if rec := lookupFrom(h, "203.0.113.9:1", "/status/ABCD-0005"); rec.Code != http.StatusNotFound {
		t.Fatalf("another address: %d", rec.Code)
	}
	// One IPv6 /64 is one client.
	for i := range 3 {
		lookupFrom(h, "[2001:db8:1:2::"+itoa(i+1)+"]:443", "/status/ABCD-0006")
	}
	if rec := lookupFrom(h, "[2001:db8:1:2:ffff::1]:443", "/status/ABCD-0006"); rec.Code != http.StatusTooManyRequests {
		t.Fatalf("4th lookup from the same /64: %d, want 429", rec.Code)
	}
	// After a minute one more lookup goes.
	h.clock.Advance(time.Minute + time.Second)
	if rec := lookupFrom(h, a, "/status/ABCD-0007"); rec.Code != http.StatusNotFound {
		t.Fatalf("after the refill: %d", rec.Code)
	}
	// Many addresses: the table stays at its bound, and the addresses
	// beyond it share one limit.
	limited := 0
	for i := range 2000 {
		addr := "10." + itoa(i/250) + "." + itoa(i%250) + ".1:80"
		if lookupFrom(h, addr, "/status/ABCD-0008").Code == http.StatusTooManyRequests {
			limited++
		}
	}
	if n := h.con.lookups.Len(); n > 50 {
		t.Fatalf("%d networks tracked, want at most 50", n)
	}
	if limited < 1900 {
		t.Fatalf("only %d of 2000 lookups from new addresses beyond the table were limited", limited)
	}
	// Quiet networks make room again.
	h.clock.Advance(10 * time.Minute)
	if rec := lookupFrom(h, "192.0.2.200:1", "/status/ABCD-0009"); rec.Code != http.StatusNotFound {
		t.Fatalf("a new address once the others are quiet: %d", rec.Code)
	}
}

// TestTerminalTagsBounded: a terminal's tag list is bounded; a longer
// one is refused and the stored tags stay.
func TestTerminalTagsBounded(t *testing.T) {
	h := newHub(t, nil)
	h.addUser("anna", store.RoleAdmin)
	term := h.enrolTerminal("jst-1", "Johannstadt")
	b := h.browser()
	b.mustLogin("anna")
	tags := func(n int) string {
		var s []string
		for i := range n {
			s = append(s, "t"+itoa(i))
		}
		return strings.Join(s, ",")
	}
	if p := b.post("/console/terminals/jst-1/tags", url.Values{"tags": {tags(maxTags)}}); p.status != http.StatusSeeOther {
		t.Fatalf("%d tags: %d", maxTags, p.status)
	}
	if p := b.post("/console/terminals/jst-1/tags", url.Values{"tags": {tags(5000)}}); p.status != http.StatusBadRequest {
		t.Fatalf("5000 tags: %d, want 400", p.status)
	}
	if got, _ := h.st.Terminal(context.Background(), term.id); len(got.Tags) != maxTags {
		t.Fatalf("%d tags stored, want the %d saved before", len(got.Tags), maxTags)
	}
}
