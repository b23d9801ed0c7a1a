package console

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/teststores"
	"github.com/quartierhub/quartierhub/hub-server/internal/terminalapi"
)

// cheap keeps test logins fast; DefaultParams is tested on its own.
var cheap = Params{MemoryKiB: 64, Time: 1, Threads: 1}

const testPassword = "correct horse battery"

// clock is a settable clock; zero offset is real time.
type clock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return time.Now().Add(c.off) }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

func TestMain(m *testing.M) { teststores.Main(m) }

// hub is a real hub: a store, terminal API and console behind one
// httptest server, as `hub-server serve` wires them.
type hub struct {
	t     *testing.T
	st    store.Store
	srv   *httptest.Server
	con   *Console
	clock *clock
}

// newHub is a hub on a SQLite store.
func newHub(t *testing.T, mod func(*Opts)) *hub {
	t.Helper()
	return newHubOn(t, teststores.SQLite, mod)
}

// newHubOn is a hub on a new, empty store of kind (see teststores).
func newHubOn(t *testing.T, kind string, mod func(*Opts)) *hub {
	t.Helper()
	return newHubWith(t, teststores.Open(t, kind), mod)
}

// newHubWith is a hub on st.
func newHubWith(t *testing.T, st store.Store, mod func(*Opts)) *hub {
	t.Helper()
	h := &hub{t: t, st: st, clock: &clock{}}
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	o := Opts{Now: h.clock.Now, Logger: log, Params: cheap}
	if mod != nil {
		mod(&o)
	}
	var err error
	h.con, err = New(st, o)
	if err != nil {
		t.Fatal(err)
	}
	tapi := terminalapi.New(st, terminalapi.Opts{Now: h.clock.Now, Logger: log})
	mux := http.NewServeMux()
	mux.Handle("/api/", tapi)
	mux.Handle("/", h.con)
	h.srv = httptest.NewServer(mux)
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hub) addUser(name, role string) {
	h.t.Helper()
	if err := CreateUser(context.Background(), h.st, name, role, testPassword, cheap, time.Now(), rand.Reader, store.Audit{At: time.Now(), Actor: "test"}); err != nil {
		h.t.Fatal(err)
	}
}

// browser is an HTTP client with cookies that does not follow redirects.
type browser struct {
	t    *testing.T
	h    *hub
	c    *http.Client
	csrf string
}

func (h *hub) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: h.t, h: h, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type page struct {
	status int
	body   string
	header http.Header
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	p := page{status: res.StatusCode, body: string(body), header: res.Header}
	if m := csrfRe.FindStringSubmatch(p.body); m != nil {
		b.csrf = html.UnescapeString(m[1])
	}
	return p
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (b *browser) get(path string) page {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.h.srv.URL+path, nil)
	return b.do(req)
}

// post sends a form with the browser's current CSRF token unless the
// form sets "csrf" itself.
func (b *browser) post(path string, form url.Values) page {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", b.csrf)
	}
	req, _ := http.NewRequest(http.MethodPost, b.h.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

func (b *browser) login(name, pw string) page {
	b.t.Helper()
	b.get("/console/login")
	return b.post("/console/login", url.Values{"name": {name}, "password": {pw}})
}

func (b *browser) mustLogin(name string) {
	b.t.Helper()
	if p := b.login(name, testPassword); p.status != http.StatusSeeOther {
		b.t.Fatalf("login %s: %d %s", name, p.status, p.body)
	}
	b.get("/console/account") // picks up the session's CSRF token
}

// terminal is a simulated terminal speaking the signed terminal API.
type terminal struct {
	t    *testing.T
	h    *hub
	id   string
	name string
	priv ed25519.PrivateKey
}

// enrolTerminal creates a token in the store and enrols a terminal with it.
func (h *hub) enrolTerminal(name, quarter string) *terminal {
	h.t.Helper()
	tok := "qht_test_" + name
	now := h.clock.Now()
	if err := h.st.CreateEnrolToken(context.Background(), tokenFor(tok, name, quarter, now)); err != nil {
		h.t.Fatal(err)
	}
	return h.enrolWith(tok, name)
}

func (h *hub) enrolWith(token, name string) *terminal {
	h.t.Helper()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	body, _ := json.Marshal(api.EnrollRequest{Token: token, PublicKey: api.EncodePublicKey(priv.Public().(ed25519.PublicKey)), SoftwareVersion: "1.2.3"})
	res, err := http.Post(h.srv.URL+api.PathEnroll, "application/json", bytes.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	var er api.EnrollResponse
	if res.StatusCode != 200 || json.NewDecoder(res.Body).Decode(&er) != nil {
		h.t.Fatalf("enrol %s: %d", name, res.StatusCode)
	}
	return &terminal{t: h.t, h: h, id: er.TerminalID, name: name, priv: priv}
}

// call makes a signed request and decodes a 200 answer into out.
func (tm *terminal) call(method, path string, in, out any) (int, string) {
	tm.t.Helper()
	var body []byte
	if in != nil {
		body, _ = json.Marshal(in)
	}
	req, _ := http.NewRequest(method, tm.h.srv.URL+path, bytes.NewReader(body))
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	api.SignRequest(req, tm.priv, tm.id, tm.h.clock.Now(), body)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		tm.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode == 200 && out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			tm.t.Fatalf("%s %s: %v", method, path, err)
		}
	}
	return res.StatusCode, string(b)
}

func (tm *terminal) heartbeat(hb api.Heartbeat) api.HeartbeatResponse {
	tm.t.Helper()
	var out api.HeartbeatResponse
	if st, b := tm.call(http.MethodPost, api.PathHeartbeat, hb, &out); st != 200 {
		tm.t.Fatalf("heartbeat: %d %s", st, b)
	}
	return out
}

var recordSeq int

func (tm *terminal) upload(typ string, payload any) string {
	tm.t.Helper()
	recordSeq++
	id := fmt.Sprintf("01JX%010d%012d", recordSeq, recordSeq*7919)
	id = strings.NewReplacer("I", "1", "L", "1", "O", "0", "U", "V").Replace(id)
	return tm.uploadAs(id, typ, payload)
}

// uploadAs uploads one resident record with the given ID.
func (tm *terminal) uploadAs(id, typ string, payload any) string {
	tm.t.Helper()
	p, _ := json.Marshal(payload)
	rec := api.Record{ID: id, Type: typ, Class: api.ClassResident, CreatedAt: tm.h.clock.Now(), Payload: p}
	if st, b := tm.call(http.MethodPost, api.PathRecords, api.Batch{Records: []api.Record{rec}}, nil); st != 200 {
		tm.t.Fatalf("upload: %d %s", st, b)
	}
	return id
}

func tokenFor(tok, name, quarter string, now time.Time) store.EnrolToken {
	return store.EnrolToken{Hash: sha(tok), TerminalName: name, Quarter: quarter, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
}

func sha(s string) [32]byte {
	var out [32]byte
	b, _ := hex.DecodeString(hashID(s))
	copy(out[:], b)
	return out
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

var tokenRe = regexp.MustCompile(`qht_[A-Za-z0-9_-]{27}`)

// layerVersion is the version of scope's current layer ("0": none), as
// the editor's form carries it.
func (h *hub) layerVersion(scope string) string {
	h.t.Helper()
	l, err := h.con.currentLayer(context.Background(), scope)
	if err != nil {
		h.t.Fatal(err)
	}
	if l == nil {
		return "0"
	}
	return fmt.Sprint(l.Version)
}

// userVersion is the user's version, as the users page's form carries it.
func (h *hub) userVersion(name string) string {
	h.t.Helper()
	u, err := h.st.UserByName(context.Background(), name)
	if err != nil {
		h.t.Fatal(err)
	}
	return fmt.Sprint(u.Version)
}

// reportVersion is the version of a report's state, as its form carries it.
func (h *hub) reportVersion(terminalID, record string) string {
	h.t.Helper()
	rs, err := h.st.Reports(context.Background(), store.ReportFilter{TerminalID: terminalID, RecordID: record})
	if err != nil || len(rs) != 1 {
		h.t.Fatalf("report %s: %d, %v", record, len(rs), err)
	}
	return fmt.Sprint(rs[0].Version)
}
