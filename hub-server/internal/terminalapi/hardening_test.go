package terminalapi_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/netlimit"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/hub-server/internal/terminalapi"
)

// nested is n levels of arrays around 1.
func nested(n int) string { return strings.Repeat("[", n) + "1" + strings.Repeat("]", n) }

// The upload that used to end the hub process with a fatal stack
// overflow in the batch decoder: 3.9 KB of gzip holding two million
// brackets. Now it is refused, and the hub goes on serving.
func TestBracketBombRefused(t *testing.T) {
	e := newEnv(t, nil, terminalapi.Opts{})
	a := e.enrolled("a")
	bomb := gzipped(t, bytes.Repeat([]byte("["), 2_000_000))
	if len(bomb) > 8<<10 {
		t.Fatalf("bomb is %d bytes", len(bomb))
	}
	r := e.do(e.signed(a, "POST", api.PathRecords, bomb, true))
	if r.status != 400 || r.errCode(t) != api.CodeBadRequest || !strings.Contains(string(r.body), "nested too deeply") {
		t.Errorf("bracket bomb: %d %s", r.status, r.body)
	}
	if got := ack(t, e.post(a, records(0, 5), true)); got.Stored != 5 {
		t.Errorf("upload after the bomb: %+v", got)
	}
}

// A batch of millions of empty records (kilobytes gzipped) is refused
// before it is decoded: it used to take seconds and ~2 GB of memory to
// learn that it has too many records.
func TestRecordFloodRefusedCheaply(t *testing.T) {
	e := newEnv(t, nil, terminalapi.Opts{})
	a := e.enrolled("a")
	flood := []byte(`{"records":[{}` + strings.Repeat(`,{}`, api.MaxBatchBytesUncompressed/3-10) + `]}`)
	body := gzipped(t, flood)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	r := e.do(e.signed(a, "POST", api.PathRecords, body, true))
	runtime.ReadMemStats(&after)
	if r.status != 413 || r.errCode(t) != api.CodeTooLarge {
		t.Errorf("record flood: %d %s", r.status, r.body)
	}
	// The body inflates to 16 MiB; decoding it used to allocate ~2 GB.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 200<<20 {
		t.Errorf("refusing the flood allocated %d MiB", alloc>>20)
	}
}

// Every JSON body a terminal sends is checked for depth and width before
// it is decoded, and a deep payload or status is not stored for the hub
// to decode later.
func TestDeepJSONRefusedEverywhere(t *testing.T) {
	e := newEnv(t, nil, terminalapi.Opts{})
	a := e.enrolled("a")
	if err := e.st.CreateCommands(context.Background(), []store.Command{{ID: "C1", GroupID: "G", TerminalID: a.id, Kind: api.CommandCollectDiagnostics,
		Target: "terminal:a", CreatedAt: e.clock(), CreatedBy: "test", ExpiresAt: e.clock().Add(time.Hour)}},
		store.Audit{At: e.clock(), Actor: "test", Action: "command.send"}); err != nil {
		t.Fatal(err)
	}
	deepPayload := records(0, 1)
	deepPayload[0].Payload = json.RawMessage(`{"a":` + nested(200) + `}`)
	for _, tc := range []struct {
		name, method, path string
		body               string
	}{
		{"record payload", "POST", api.PathRecords, string(batchJSON(t, deepPayload))},
		{"heartbeat", "POST", api.PathHeartbeat, `{"devices":[{"name":"p","kind":"escpos","state":"connected","error":"x"}],"outbox":` + nested(5000) + `}`},
		{"diagnostics status", "POST", api.PathDiagnostics, `{"command_id":"C1","status":` + nested(5000) + `,"logs":[]}`},
		{"command result", "POST", api.CommandResultPath("C1"), `{"ok":true,"x":` + nested(2000) + `}`},
		{"wide heartbeat", "POST", api.PathHeartbeat, `{"outbox":{"a":{"count":1}},"x":[` + strings.Repeat("0,", api.MaxJSONElements) + `0]}`},
	} {
		r := e.do(e.signed(a, tc.method, tc.path, []byte(tc.body), false))
		if r.status != 400 && r.status != 413 || !strings.Contains(string(r.body), "too deeply") && !strings.Contains(string(r.body), "too many elements") {
			t.Errorf("%s: %d %s", tc.name, r.status, r.body)
		}
	}
	if n := e.stored(); n != 0 {
		t.Errorf("%d records stored", n)
	}
	if l, err := e.st.DiagnosticsList(context.Background(), a.id, 10); err != nil || len(l) != 0 {
		t.Errorf("diagnostics stored: %v, %v", l, err)
	}
	// Enrolment, the one body from strangers: refused, the token unspent.
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	tok := e.token("b", time.Hour)
	body, _ := json.Marshal(api.EnrollRequest{Token: tok, PublicKey: api.EncodePublicKey(pub)})
	deep := append(body[:len(body)-1:len(body)-1], `,"x":`+nested(5000)+`}`...)
	req, _ := http.NewRequest("POST", e.srv.URL+api.PathEnroll, bytes.NewReader(deep))
	if r := e.do(req); r.status != 400 || !strings.Contains(string(r.body), "too deeply") {
		t.Errorf("deep enrolment: %d %s", r.status, r.body)
	}
	if r := e.enroll(tok, pub); r.status != 200 {
		t.Errorf("enrolment with the same token afterwards: %d %s", r.status, r.body)
	}
}

// lookups reports every terminal the handler looks up, which it does for
// each request once the request's headers are in.
type lookups struct {
	terminalapi.Store
	seen chan string
}

func (l *lookups) Terminal(ctx context.Context, id string) (store.Terminal, error) {
	t, err := l.Store.Terminal(ctx, id)
	l.seen <- id
	return t, err
}

// stranger sends the headers of a request claiming to be terminal id,
// with a random signature (and, if digest, a Content-Digest), announces
// length bytes of body and trickles them a byte every 50 ms until the
// test ends. The channel receives the answer's status if one comes.
func (e *env) stranger(id, path string, length int, digest bool) <-chan int {
	e.t.Helper()
	conn, err := net.Dial("tcp", e.srv.Listener.Addr().String())
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { conn.Close() })
	sig := make([]byte, ed25519.SignatureSize)
	rand.Read(sig)
	head := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: hub\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"+
		"Authorization: %s terminal=%s,ts=%d,sig=%s\r\n", path, length, api.AuthScheme, id, e.clock().Unix(), base64.StdEncoding.EncodeToString(sig))
	if digest {
		head += api.DigestHeader + ": " + api.ContentDigest([]byte("whatever")) + "\r\n"
	}
	if _, err := io.WriteString(conn, head+"\r\n{"); err != nil {
		e.t.Fatal(err)
	}
	status := make(chan int, 1)
	go func() {
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			status <- -1
			return
		}
		res.Body.Close()
		status <- res.StatusCode
	}()
	go func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for range tick.C {
			if _, err := conn.Write([]byte(" ")); err != nil {
				return
			}
		}
	}()
	return status
}

// Strangers who know terminal IDs and trickle uploads with made-up
// signatures used to hold the whole upload budget: every terminal's
// uploads failed with 503 for as long as they trickled. Now each
// terminal ID gives them api.MaxBodiesInFlight slots, charged to a budget of their own; a
// terminal's signed upload, checked by its Content-Digest before its
// body is read, is not affected even when they use its own ID.
func TestStrangersTricklingDoNotBlockUploads(t *testing.T) {
	// Five strangers' bodies are as much as the upload budget holds.
	const claimed = 1 << 20
	l := &lookups{seen: make(chan string, 10000)}
	e := newEnv(t, func(s terminalapi.Store) terminalapi.Store { l.Store = s; return l },
		terminalapi.Opts{MaxIngestBytes: 5*(claimed+16<<10) + 8<<10})
	a, b, c := e.enrolled("a"), e.enrolled("b"), e.enrolled("c")
	var answered []<-chan int
	for range 5 {
		answered = append(answered, e.stranger(a.id, api.PathRecords, claimed, false), e.stranger(b.id, api.PathRecords, claimed, false))
	}
	statuses := make(chan int, len(answered))
	for _, ch := range answered {
		go func() { statuses <- <-ch }()
	}
	// Wait until the hub has dealt with every stranger's headers: looked
	// its terminal up or answered it.
	var answers []int
	timeout := time.After(10 * time.Second)
	for dealt := 0; dealt < len(answered); dealt++ {
		select {
		case id := <-l.seen:
			if id != a.id && id != b.id {
				dealt--
			}
		case s := <-statuses:
			answers = append(answers, s)
		case <-timeout:
			t.Fatalf("the hub dealt with %d of %d strangers", dealt, len(answered))
		}
	}
	if got := ack(t, e.post(a, records(0, 5), true)); got.Stored != 5 {
		t.Errorf("a's own upload while strangers trickle in its name: %+v", got)
	}
	if got := ack(t, e.post(c, records(100, 5), true)); got.Stored != 5 {
		t.Errorf("c's upload while strangers trickle: %+v", got)
	}
	// A terminal without Content-Digest (from before it) still gets in.
	legacy := e.signed(c, "POST", api.PathRecords, batchJSON(t, records(200, 5)), false)
	legacy.Header.Del(api.DigestHeader)
	if got := ack(t, e.do(legacy)); got.Stored != 5 {
		t.Errorf("c's upload without Content-Digest: %+v", got)
	}
	// All but api.MaxBodiesInFlight strangers per terminal ID were
	// turned away at once.
	refused := len(answered) - 2*api.MaxBodiesInFlight
	for len(answers) < refused {
		select {
		case s := <-statuses:
			answers = append(answers, s)
		case <-timeout:
			t.Fatalf("strangers answered %v, want %d of 429", answers, refused)
		}
	}
	if slices.ContainsFunc(answers, func(s int) bool { return s != http.StatusTooManyRequests }) {
		t.Errorf("strangers answered %v, want 429", answers)
	}
	// A stranger sending a digest is refused before it sends its body.
	select {
	case s := <-e.stranger(a.id, api.PathRecords, 1<<20, true):
		if s != http.StatusUnauthorized {
			t.Errorf("stranger with a digest: %d", s)
		}
	case <-time.After(10 * time.Second):
		t.Error("stranger with a digest: the hub waits for its body")
	}
}

// A body that arrives too slowly is cut off with 408, and its slot given
// back.
func TestSlowBodyCutOff(t *testing.T) {
	e := newEnv(t, nil, terminalapi.Opts{BodyTimeout: 300 * time.Millisecond, MinBodyRate: 1 << 30})
	a := e.enrolled("a")
	select {
	case s := <-e.stranger(a.id, api.PathHeartbeat, 10<<10, false):
		if s != http.StatusRequestTimeout {
			t.Errorf("trickling heartbeat: %d", s)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("trickling heartbeat not cut off")
	}
	legacy := e.signed(a, "POST", api.PathHeartbeat, mustJSON(t, heartbeatBody("ok")), false)
	legacy.Header.Del(api.DigestHeader)
	if r := e.do(legacy); r.status != 200 {
		t.Errorf("heartbeat without digest after the cut-off: %d %s", r.status, r.body)
	}
	// Enrolment, open to anyone, has the same deadline.
	select {
	case s := <-e.stranger("", api.PathEnroll, 10<<10, false):
		if s != http.StatusRequestTimeout {
			t.Errorf("trickling enrolment: %d", s)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("trickling enrolment not cut off")
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// doFrom sends req from the local address ip (any 127.x works on Linux).
func (e *env) doFrom(ip string, req *http.Request) resp {
	e.t.Helper()
	tr := &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}).DialContext}
	defer tr.CloseIdleConnections()
	res, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp{res.StatusCode, res.Header, b}
}

func (e *env) enrolFrom(ip, tok string, pub ed25519.PublicKey) resp {
	e.t.Helper()
	body := mustJSON(e.t, api.EnrollRequest{Token: tok, PublicKey: api.EncodePublicKey(pub), SoftwareVersion: "0.1.0"})
	req, _ := http.NewRequest("POST", e.srv.URL+api.PathEnroll, bytes.NewReader(body))
	return e.doFrom(ip, req)
}

// Failed enrolment attempts are limited per client network and overall,
// so guessing tokens gets nowhere; a throttled attempt is answered 429
// with Retry-After before its token is looked at. Good tokens cost
// nothing: a fleet enrols from one network at once.
func TestEnrolThrottled(t *testing.T) {
	e := newEnv(t, nil, terminalapi.Opts{EnrolPerNetwork: netlimit.Limits{Every: 10 * time.Second, Burst: 5},
		EnrolOverall: netlimit.Limits{Every: time.Second, Burst: 8}})
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	for i := range 12 {
		if r := e.enrolFrom("127.0.0.1", e.token(fmt.Sprint("fleet", i), time.Hour), pub); r.status != 200 {
			t.Fatalf("fleet enrolment %d: %d %s", i, r.status, r.body)
		}
	}
	good := e.token("a", time.Hour)
	for i := range 5 {
		if r := e.enrolFrom("127.0.0.1", fmt.Sprintf("qht_guess%d", i), pub); r.status != 401 {
			t.Fatalf("guess %d: %d %s", i, r.status, r.body)
		}
	}
	for _, tok := range []string{"qht_guess5", good} {
		r := e.enrolFrom("127.0.0.1", tok, pub)
		if r.status != 429 || r.errCode(t) != api.CodeTooManyRequests || r.header.Get("Retry-After") != "10" {
			t.Errorf("attempt beyond the burst: %d Retry-After %q %s", r.status, r.header.Get("Retry-After"), r.body)
		}
	}
	// Another network has its own limit, but all share the overall one.
	for i := range 3 {
		if r := e.enrolFrom("127.0.0.2", fmt.Sprintf("qht_other%d", i), pub); r.status != 401 {
			t.Errorf("other network, guess %d: %d %s", i, r.status, r.body)
		}
	}
	if r := e.enrolFrom("127.0.0.2", "qht_other3", pub); r.status != 429 || r.header.Get("Retry-After") != "1" {
		t.Errorf("beyond the overall limit: %d Retry-After %q %s", r.status, r.header.Get("Retry-After"), r.body)
	}
	// In time the limits fill again, and the token was not spent.
	e.advance(10 * time.Second)
	if r := e.enrolFrom("127.0.0.1", good, pub); r.status != 200 {
		t.Errorf("after the wait: %d %s", r.status, r.body)
	}
}

// Diagnostics bundles are taken only for the terminal's open
// collect_diagnostics command, once per command; without one, the body
// is refused before it is read. Storage is bounded per terminal.
func TestDiagnosticsOnlyWhenAsked(t *testing.T) {
	e := newEnv(t, nil, terminalapi.Opts{KeepDiagnostics: store.DiagnosticsKeep{PerTerminal: 2, TotalBytes: 1 << 30}})
	a := e.enrolled("a")
	ctx := context.Background()
	bundle := func(command string) api.Diagnostics {
		return api.Diagnostics{CommandID: command, Status: json.RawMessage(`{"version":"1"}`), Logs: []api.LogLine{{Time: e.clock(), Level: "INFO", Message: "x"}}}
	}
	if r := e.jsonReq(a, "POST", api.PathDiagnostics, bundle("")); r.status != 409 || r.errCode(t) != api.CodeNotRequested {
		t.Errorf("unasked bundle: %d %s", r.status, r.body)
	}
	// Refused from its headers: the hub answers while the body is unsent.
	body := mustJSON(t, bundle(""))
	conn, err := net.Dial("tcp", e.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	req := e.signed(a, "POST", api.PathDiagnostics, body, false)
	head := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: hub\r\nContent-Type: application/json\r\nContent-Length: %d\r\nAuthorization: %s\r\n%s: %s\r\n\r\n",
		api.PathDiagnostics, len(body), req.Header.Get("Authorization"), api.DigestHeader, req.Header.Get(api.DigestHeader))
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if res, err := http.ReadResponse(bufio.NewReader(conn), nil); err != nil || res.StatusCode != 409 {
		t.Errorf("unasked bundle, body unsent: %v %v", res, err)
	}

	var cmds []store.Command
	for _, id := range []string{"D1", "D2", "D3"} {
		cmds = append(cmds, store.Command{ID: id, GroupID: "G", TerminalID: a.id, Kind: api.CommandCollectDiagnostics, Target: "terminal:a",
			CreatedAt: e.clock(), CreatedBy: "test", ExpiresAt: e.clock().Add(time.Hour)})
	}
	cmds = append(cmds, store.Command{ID: "M1", GroupID: "G", TerminalID: a.id, Kind: api.CommandMaintenanceOn, Target: "terminal:a",
		CreatedAt: e.clock(), CreatedBy: "test", ExpiresAt: e.clock().Add(time.Hour)})
	if err := e.st.CreateCommands(ctx, cmds, store.Audit{At: e.clock(), Actor: "test", Action: "command.send"}); err != nil {
		t.Fatal(err)
	}
	if r := e.jsonReq(a, "POST", api.PathDiagnostics, bundle("M1")); r.status != 409 || r.errCode(t) != api.CodeNotRequested {
		t.Errorf("bundle for a maintenance command: %d %s", r.status, r.body)
	}
	first := decode[api.DiagnosticsAck](t, e.jsonReq(a, "POST", api.PathDiagnostics, bundle("D1")))
	e.advance(time.Second)
	if again := decode[api.DiagnosticsAck](t, e.jsonReq(a, "POST", api.PathDiagnostics, bundle("D1"))); again.ID != first.ID {
		t.Errorf("repeated upload for D1 stored %s beside %s", again.ID, first.ID)
	}
	for _, c := range []string{"D2", "D3"} {
		e.advance(time.Second)
		decode[api.DiagnosticsAck](t, e.jsonReq(a, "POST", api.PathDiagnostics, bundle(c)))
	}
	l, err := e.st.DiagnosticsList(ctx, a.id, 0)
	if err != nil || len(l) != 2 || l[0].CommandID != "D3" || l[1].CommandID != "D2" {
		t.Errorf("stored bundles %+v, %v; want D3's and D2's", l, err)
	}
	if _, err := e.st.FinishCommand(ctx, a.id, "D3", true, "uploaded", e.clock()); err != nil {
		t.Fatal(err)
	}
	e.advance(time.Second)
	if r := e.jsonReq(a, "POST", api.PathDiagnostics, bundle("D3")); r.status != 200 {
		t.Errorf("a repeat after the result still gets its bundle back: %d %s", r.status, r.body)
	}
}

// A command's result detail is kept and shown to IT staff: bounded.
func TestCommandResultDetailBounded(t *testing.T) {
	e := newEnv(t, nil, terminalapi.Opts{})
	a := e.enrolled("a")
	if err := e.st.CreateCommands(context.Background(), []store.Command{{ID: "C1", GroupID: "G", TerminalID: a.id, Kind: api.CommandSyncNow,
		Target: "terminal:a", CreatedAt: e.clock(), CreatedBy: "test", ExpiresAt: e.clock().Add(time.Hour)}},
		store.Audit{At: e.clock(), Actor: "test", Action: "command.send"}); err != nil {
		t.Fatal(err)
	}
	if r := e.jsonReq(a, "POST", api.CommandResultPath("C1"), api.CommandResult{OK: true, Detail: strings.Repeat("x", api.MaxCommandDetail+1)}); r.status != 400 {
		t.Errorf("detail over the limit: %d %s", r.status, r.body)
	}
	if r := e.jsonReq(a, "POST", api.CommandResultPath("C1"), api.CommandResult{OK: true, Detail: strings.Repeat("x", api.MaxCommandDetail)}); r.status != 200 {
		t.Errorf("detail at the limit: %d %s", r.status, r.body)
	}
}
