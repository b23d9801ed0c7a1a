package console

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/teststores"
)

// TestCSRFRefused: a state-changing POST without the session's token,
// with another token, or from another site changes nothing.
func TestCSRFRefused(t *testing.T) { teststores.EachKind(t, testCSRFRefused) }

func testCSRFRefused(t *testing.T, kind string) {
	h := newHubOn(t, kind, nil)
	h.addUser("anna", store.RoleAdmin)
	term := h.enrolTerminal("jst-1", "Johannstadt")
	b := h.browser()
	b.mustLogin("anna")
	form := func(csrf string) url.Values {
		return url.Values{"confirm": {"jst-1"}, "csrf": {csrf}}
	}
	for name, p := range map[string]page{
		"no token":    b.post("/console/terminals/jst-1/revoke", url.Values{"confirm": {"jst-1"}, "csrf": {""}}),
		"wrong token": b.post("/console/terminals/jst-1/revoke", form("forged-token-forged-token-forged-token")),
	} {
		if p.status != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", name, p.status)
		}
	}
	// The right token, but the browser says the form came from elsewhere.
	for hdr, v := range map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"} {
		req, _ := http.NewRequest(http.MethodPost, h.srv.URL+"/console/terminals/jst-1/revoke", strings.NewReader(form(b.csrf).Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set(hdr, v)
		if p := b.do(req); p.status != http.StatusForbidden {
			t.Errorf("%s %s: %d, want 403", hdr, v, p.status)
		}
	}
	// A token of another session does not work either.
	h.addUser("bert", store.RoleAdmin)
	other := h.browser()
	other.mustLogin("bert")
	if p := b.post("/console/terminals/jst-1/revoke", form(other.csrf)); p.status != http.StatusForbidden {
		t.Errorf("other session's token: %d, want 403", p.status)
	}
	if tt, _ := h.st.Terminal(context.Background(), term.id); tt.Revoked() {
		t.Fatal("a refused request revoked the terminal")
	}
	if p := b.post("/console/terminals/jst-1/revoke", form(b.csrf)); p.status != http.StatusSeeOther {
		t.Fatalf("with the right token: %d", p.status)
	}
	if tt, _ := h.st.Terminal(context.Background(), term.id); !tt.Revoked() {
		t.Fatal("the terminal was not revoked")
	}
	// Login form: double-submit cookie required.
	fresh := h.browser()
	if p := fresh.post("/console/login", url.Values{"name": {"anna"}, "password": {testPassword}, "csrf": {"x"}}); p.status != http.StatusForbidden {
		t.Errorf("login without the form's cookie: %d, want 403", p.status)
	}
}

func TestLoginRateLimit(t *testing.T) { teststores.EachKind(t, testLoginRateLimit) }

func testLoginRateLimit(t *testing.T, kind string) {
	h := newHubOn(t, kind, nil)
	h.addUser("anna", store.RoleAdmin)
	b := h.browser()
	for i := 0; i < 5; i++ {
		if p := b.login("anna", "wrong password!"); p.status != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i+1, p.status)
		}
	}
	p := b.login("anna", testPassword)
	if p.status != http.StatusTooManyRequests || p.header.Get("Retry-After") == "" {
		t.Fatalf("after 5 failures the right password: %d, want 429 with Retry-After", p.status)
	}
	// Another name from the same address is not held up.
	h.addUser("bert", store.RoleViewer)
	if p := h.browser().login("bert", testPassword); p.status != http.StatusSeeOther {
		t.Fatalf("other user: %d", p.status)
	}
	// The wait grows with every failure after the free ones.
	h.clock.Advance(2 * time.Second)
	b.login("anna", "wrong again!!!")
	h.clock.Advance(1500 * time.Millisecond)
	if p := b.login("anna", testPassword); p.status != http.StatusTooManyRequests {
		t.Fatalf("after a 6th failure, 1.5 s later: %d, want 429 (wait is 2 s)", p.status)
	}
	h.clock.Advance(time.Second)
	if p := b.login("anna", testPassword); p.status != http.StatusSeeOther {
		t.Fatalf("after the wait: %d, want login", p.status)
	}
	if n, _, _ := h.st.LoginFailures(context.Background(), h.con.throttleKey(&http.Request{RemoteAddr: "127.0.0.1:1"}, "anna")); n != 0 {
		t.Fatalf("failures after a good login: %d", n)
	}
}

func TestSessionCookieAndLifetime(t *testing.T) { teststores.EachKind(t, testSessionCookieAndLifetime) }

func testSessionCookieAndLifetime(t *testing.T, kind string) {
	h := newHubOn(t, kind, nil)
	h.addUser("anna", store.RoleAdmin)
	b := h.browser()
	p := b.login("anna", testPassword)
	var ck *http.Cookie
	for _, c := range (&http.Response{Header: p.header}).Cookies() {
		if c.Name == cookieName && c.Value != "" {
			ck = c
		}
	}
	if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Secure || ck.Path != "/" {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Lax, Path=/, not Secure on plain HTTP", ck)
	}
	if _, err := h.st.Session(context.Background(), ck.Value, time.Now()); err == nil {
		t.Fatal("the store holds the cookie value itself")
	}
	if p := b.get("/console/"); p.status != 200 {
		t.Fatalf("fleet: %d", p.status)
	}
	h.clock.Advance(31 * time.Minute)
	if p := b.get("/console/"); p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), "/console/login") {
		t.Fatalf("after 31 idle minutes: %d %s, want the login page", p.status, p.header.Get("Location"))
	}
	b.mustLogin("anna")
	if p := b.post("/console/logout", nil); p.status != http.StatusSeeOther {
		t.Fatalf("logout: %d", p.status)
	}
	if p := b.get("/console/"); p.status != http.StatusSeeOther {
		t.Fatalf("after logout: %d", p.status)
	}

	// Behind a TLS proxy that says so: Secure and the __Host- prefix.
	hp := newHubOn(t, kind, func(o *Opts) { o.TrustProxy = true })
	hp.addUser("anna", store.RoleAdmin)
	https := map[string]string{"X-Forwarded-Proto": "https"}
	// The test's cookie jar keeps no Secure cookie for the http:// test
	// server, so the cookies go by hand (TestHostPrefixCookies has more).
	lp := rawDo(t, http.MethodGet, hp.srv.URL+"/console/login", nil, https)
	form := url.Values{"name": {"anna"}, "password": {testPassword}, "csrf": {between(lp.body, `name="csrf" value="`, `"`)}}
	res := rawDo(t, http.MethodPost, hp.srv.URL+"/console/login", form, https, cookieIn(lp, hostPrefix+loginCookieName))
	if c := cookieIn(res, secureCookieName); c == nil || c.Value == "" || !c.Secure || !c.HttpOnly {
		t.Fatalf("behind an HTTPS proxy: no Secure %s cookie (status %d, cookies %v)", secureCookieName, res.status, res.header["Set-Cookie"])
	}
}

func TestDisabledUserAndRoleChangeEndSessions(t *testing.T) {
	teststores.EachKind(t, testDisabledUserAndRoleChangeEndSessions)
}

func testDisabledUserAndRoleChangeEndSessions(t *testing.T, kind string) {
	h := newHubOn(t, kind, nil)
	h.addUser("anna", store.RoleAdmin)
	h.addUser("mod", store.RoleModerator)
	admin, mod := h.browser(), h.browser()
	admin.mustLogin("anna")
	mod.mustLogin("mod")
	if p := admin.post("/console/users/mod", url.Values{"role": {"moderator"}, "disabled": {"yes"}, "version": {h.userVersion("mod")}}); p.status != http.StatusSeeOther {
		t.Fatalf("disable: %d %s", p.status, p.body)
	}
	if p := mod.get("/console/reports"); p.status != http.StatusSeeOther {
		t.Fatalf("disabled user's session still works: %d", p.status)
	}
	if p := h.browser().login("mod", testPassword); p.status != http.StatusUnauthorized {
		t.Fatalf("disabled user logs in: %d", p.status)
	}
	// An admin cannot lock themselves out.
	if p := admin.post("/console/users/anna", url.Values{"role": {"viewer"}, "version": {h.userVersion("anna")}}); p.status != http.StatusBadRequest {
		t.Fatalf("self-demotion: %d", p.status)
	}
}

// TestTerminalIsolation: a terminal cannot see or act on another's
// commands or configuration; a revoked terminal is refused; a renewed
// credential replaces the old key.
func TestTerminalIsolation(t *testing.T) { teststores.EachKind(t, testTerminalIsolation) }

func testTerminalIsolation(t *testing.T, kind string) {
	h := newHubOn(t, kind, nil)
	h.addUser("anna", store.RoleAdmin)
	t1 := h.enrolTerminal("jst-1", "Johannstadt")
	t2 := h.enrolTerminal("jst-2", "Johannstadt")
	b := h.browser()
	b.mustLogin("anna")
	b.post("/console/commands", url.Values{"scope": {"terminal"}, "target": {"jst-1"}, "kind": {api.CommandTestPrint}})
	b.post("/console/config/edit", url.Values{"scope": {"terminal:jst-1"}, "document": {`{"settings": {"sync_interval": "17s"}}`}, "op": {"save"}})

	var l1, l2 api.CommandList
	t1.call(http.MethodGet, api.PathCommands, nil, &l1)
	t2.call(http.MethodGet, api.PathCommands, nil, &l2)
	if len(l1.Commands) != 1 || len(l2.Commands) != 0 {
		t.Fatalf("commands: jst-1 sees %d, jst-2 sees %d; want 1 and 0", len(l1.Commands), len(l2.Commands))
	}
	cmd := l1.Commands[0].ID
	if st, _ := t2.call(http.MethodPost, api.CommandAckPath(cmd), nil, nil); st != http.StatusNotFound {
		t.Errorf("jst-2 acks jst-1's command: %d, want 404", st)
	}
	if st, _ := t2.call(http.MethodPost, api.CommandResultPath(cmd), api.CommandResult{OK: false, Detail: "forged"}, nil); st != http.StatusNotFound {
		t.Errorf("jst-2 reports jst-1's command: %d, want 404", st)
	}
	var d1, d2 api.ConfigDocument
	t1.call(http.MethodGet, api.PathConfig, nil, &d1)
	t2.call(http.MethodGet, api.PathConfig, nil, &d2)
	if !strings.Contains(string(d1.Document), "17s") || strings.Contains(string(d2.Document), "17s") {
		t.Errorf("config: jst-1 %s, jst-2 %s; the terminal layer must reach jst-1 only", d1.Document, d2.Document)
	}
	// A request signed by jst-2's key in jst-1's name is refused.
	forged := &terminal{t: t, h: h, id: t1.id, priv: t2.priv}
	if st, _ := forged.call(http.MethodGet, api.PathCommands, nil, nil); st != http.StatusUnauthorized {
		t.Errorf("jst-2's key as jst-1: %d, want 401", st)
	}

	// Revoke in the console: refused from then on.
	b.post("/console/terminals/jst-1/revoke", url.Values{"confirm": {"jst-1"}})
	if st, body := t1.call(http.MethodGet, api.PathPing, nil, nil); st != http.StatusUnauthorized || !strings.Contains(body, api.CodeRevoked) {
		t.Fatalf("revoked terminal: %d %s", st, body)
	}
	if st, _ := t2.call(http.MethodGet, api.PathPing, nil, nil); st != 200 {
		t.Fatalf("the other terminal after revoke: %d", st)
	}
	// Renew its credentials: the token page shows the token; enrolling
	// with it keeps the ID, and only the new key works.
	p := b.post("/console/terminals/jst-1/rotate", nil)
	tok := tokenRe.FindString(p.body)
	if p.status != 200 || tok == "" || !strings.Contains(p.body, "--force") || !strings.Contains(p.body, "<svg class=\"qr\"") {
		t.Fatalf("rotate page: %d, token %q", p.status, tok)
	}
	t1b := h.enrolWith(tok, "jst-1")
	if t1b.id != t1.id {
		t.Fatalf("rotation changed the ID: %s → %s", t1.id, t1b.id)
	}
	if st, _ := t1b.call(http.MethodGet, api.PathPing, nil, nil); st != 200 {
		t.Fatalf("new key: %d", st)
	}
	if st, _ := t1.call(http.MethodGet, api.PathPing, nil, nil); st != http.StatusUnauthorized {
		t.Fatalf("old key after rotation: %d, want 401", st)
	}
}
