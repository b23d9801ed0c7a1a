package terminalapi_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/hub-server/internal/terminalapi"
	"github.com/quartierhub/quartierhub/internal/testutil"
)

// The document checks itself with kin-openapi (getkin/kin-openapi: the
// maintained Go OpenAPI 3 library, used here only in tests, so the hub
// binary does not carry it): it must be valid OpenAPI 3.

func loadDoc(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPI)
	if err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.json is not valid OpenAPI 3: %v", err)
	}
	return doc
}

// Every route the handler registers is documented with its method, and
// every documented operation is a registered route.
func TestOpenAPIRoutes(t *testing.T) {
	doc := loadDoc(t)
	st := newEnv(t, nil, terminalapi.Opts{}).st
	var registered []string
	for _, r := range terminalapi.New(st, terminalapi.Opts{}).Routes() {
		method, path, ok := strings.Cut(r, " ")
		if !ok {
			t.Errorf("route %q has no method", r)
			continue
		}
		registered = append(registered, r)
		item := doc.Paths.Find(path)
		if item == nil || item.GetOperation(method) == nil {
			t.Errorf("route %s %s is not in openapi.json", method, path)
		}
	}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			if !slices.Contains(registered, method+" "+path) {
				t.Errorf("openapi.json documents %s %s, which the handler does not serve", method, path)
			}
		}
	}
}

// oasCheck sends real requests to the real handler and validates each
// request and response against the document: the status must be
// documented for the operation and the body must match its schema.
type oasCheck struct {
	t      *testing.T
	e      *env
	router routers.Router
	// statuses seen per operation ("POST /api/v1/enroll" → {200, 401}).
	seen map[string][]int
}

func (c *oasCheck) send(req *http.Request, body []byte, validRequest bool) resp {
	c.t.Helper()
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		c.t.Fatalf("%s %s: not in openapi.json: %v", req.Method, req.URL.Path, err)
	}
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts}
	if validRequest {
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			c.t.Errorf("%s %s: request does not match openapi.json: %v", req.Method, req.URL.Path, err)
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	r := c.e.do(req)
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: r.status, Header: r.header,
		Body: io.NopCloser(bytes.NewReader(r.body)), Options: opts}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		c.t.Errorf("%s %s → %d %s: response does not match openapi.json: %v", req.Method, route.Path, r.status, r.body, err)
	}
	op := req.Method + " " + route.Path
	c.seen[op] = append(c.seen[op], r.status)
	return r
}

func (c *oasCheck) signed(tm term, method, path string, v any, validRequest bool) resp {
	c.t.Helper()
	var body []byte
	switch v := v.(type) {
	case nil:
	case []byte:
		body = v
	default:
		body, _ = json.Marshal(v)
	}
	return c.send(c.e.signed(tm, method, path, body, false), body, validRequest)
}

func (c *oasCheck) plain(method, path string, body []byte, validRequest bool) resp {
	c.t.Helper()
	req, _ := http.NewRequest(method, c.e.srv.URL+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	return c.send(req, body, validRequest)
}

func TestOpenAPIResponses(t *testing.T) {
	doc := loadDoc(t)
	doc.Servers = nil // match any host (httptest's)
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	w := newWorkshopEnv(t, terminalapi.Opts{})
	e := w.env
	c := &oasCheck{t: t, e: e, router: router, seen: map[string][]int{}}
	ctx := context.Background()

	if r := c.plain("GET", api.PathOpenAPI, nil, true); r.status != 200 || !bytes.Equal(r.body, api.OpenAPI) {
		t.Errorf("openapi.json served: %d", r.status)
	}

	// Enrolment: ok, token used, malformed, name taken.
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	tok, tok2 := e.token("jst-1", time.Hour), e.token("jst-1", time.Hour)
	enrol := func(tok string) []byte {
		b, _ := json.Marshal(api.EnrollRequest{Token: tok, PublicKey: api.EncodePublicKey(pub), SoftwareVersion: "1.0.0"})
		return b
	}
	r := c.plain("POST", api.PathEnroll, enrol(tok), true)
	var er api.EnrollResponse
	if r.status != 200 || json.Unmarshal(r.body, &er) != nil {
		t.Fatalf("enroll: %d %s", r.status, r.body)
	}
	tm := term{er.TerminalID, priv}
	c.plain("POST", api.PathEnroll, enrol(tok), true)
	c.plain("POST", api.PathEnroll, []byte(`{"token":`), false)
	if r := c.plain("POST", api.PathEnroll, enrol(tok2), true); r.status != 409 {
		t.Errorf("second enrolment of a name: %d", r.status)
	}

	// Ping: ok, unsigned.
	c.signed(tm, "GET", api.PathPing, nil, true)
	c.plain("GET", api.PathPing, nil, false)

	// Records: stored, duplicates, malformed, invalid record, wrong type.
	recs := records(0, 3)
	c.signed(tm, "POST", api.PathRecords, api.Batch{Records: recs}, true)
	c.signed(tm, "POST", api.PathRecords, api.Batch{Records: recs}, true)
	c.signed(tm, "POST", api.PathRecords, []byte(`{"records":[`), false)
	c.signed(tm, "POST", api.PathRecords, []byte(`{"records":[{"id":"x","type":"t","class":"sensor","created_at":"2025-06-01T10:00:00Z","payload":{}}]}`), false)
	req := e.signed(tm, "POST", api.PathRecords, []byte(`{}`), false)
	req.Header.Set("Content-Type", "text/plain")
	c.send(req, []byte(`{}`), false)

	// Commands queued by staff, so heartbeat and list carry some.
	now := e.clock()
	if err := e.st.CreateCommands(ctx, []store.Command{
		{ID: "01JX00000000000000000000C1", GroupID: "G", TerminalID: tm.id, Kind: api.CommandSyncNow, Target: "terminal:jst-1", CreatedAt: now, CreatedBy: "t", ExpiresAt: now.Add(time.Hour)},
		{ID: "01JX00000000000000000000C2", GroupID: "G", TerminalID: tm.id, Kind: api.CommandMaintenanceOn, Message: "Wartung", Target: "terminal:jst-1", CreatedAt: now, CreatedBy: "t", ExpiresAt: now.Add(time.Hour)},
		{ID: "01JX00000000000000000000C3", GroupID: "G", TerminalID: tm.id, Kind: api.CommandCollectDiagnostics, Target: "terminal:jst-1", CreatedAt: now, CreatedBy: "t", ExpiresAt: now.Add(time.Hour)},
		{ID: "01JX00000000000000000000C4", GroupID: "G", TerminalID: tm.id, Kind: api.CommandScreenshot, Target: "terminal:jst-1", CreatedAt: now, CreatedBy: "t", ExpiresAt: now.Add(time.Hour)},
	}, store.Audit{At: now, Actor: "t", Action: "command.send"}); err != nil {
		t.Fatal(err)
	}
	e.putLayer("global", `{"settings":{"heartbeat_interval":"30s"},"content":{}}`)

	// Heartbeat: ok, malformed.
	if r := c.signed(tm, "POST", api.PathHeartbeat, heartbeatBody("ok"), true); !strings.Contains(string(r.body), "C1") {
		t.Errorf("heartbeat answer lacks the queued commands: %s", r.body)
	}
	c.signed(tm, "POST", api.PathHeartbeat, []byte(`[]`), false)
	// A heartbeat naming another card key: the answer carries the key.
	withKeyID := heartbeatBody("ok")
	withKeyID.CardKeyID = "0123456789abcdef"
	if r := c.signed(tm, "POST", api.PathHeartbeat, withKeyID, true); !strings.Contains(string(r.body), `"card_key":`) {
		t.Errorf("heartbeat answer lacks the card key: %s", r.body)
	}

	// Config: ok, then not modified.
	r = c.signed(tm, "GET", api.PathConfig, nil, true)
	req = e.signed(tm, "GET", api.PathConfig, nil, false)
	req.Header.Set("If-None-Match", r.header.Get("ETag"))
	if r := c.send(req, nil, true); r.status != 304 {
		t.Errorf("config with its ETag: %d", r.status)
	}

	// Commands: list, ack, unknown, result, contradicting result.
	c.signed(tm, "GET", api.PathCommands, nil, true)
	c.signed(tm, "POST", api.PathCommands+"/01JX00000000000000000000C1/ack", nil, true)
	c.signed(tm, "POST", api.PathCommands+"/NOPE/ack", nil, true)
	c.signed(tm, "POST", api.PathCommands+"/01JX00000000000000000000C1/result", api.CommandResult{OK: true, Detail: "synced"}, true)
	c.signed(tm, "POST", api.PathCommands+"/01JX00000000000000000000C1/result", api.CommandResult{OK: false}, true)
	c.signed(tm, "POST", api.PathCommands+"/01JX00000000000000000000C2/result", []byte(`{"ok":`), false)

	// Diagnostics: ok, malformed, not asked for by that command.
	c.signed(tm, "POST", api.PathDiagnostics, api.Diagnostics{CommandID: "01JX00000000000000000000C3", Status: json.RawMessage(`{"a":1}`),
		Logs: []api.LogLine{{Time: now, Level: "INFO", Message: "started"}}}, true)
	c.signed(tm, "POST", api.PathDiagnostics, []byte(`{"logs":5}`), false)
	if r := c.signed(tm, "POST", api.PathDiagnostics, api.Diagnostics{CommandID: "01JX00000000000000000000C2", Status: json.RawMessage(`{}`), Logs: []api.LogLine{}}, true); r.status != 409 {
		t.Errorf("diagnostics for a maintenance command: %d %s", r.status, r.body)
	}

	// Screenshot: ok, not a PNG, not asked for by that command.
	openapi3filter.RegisterBodyDecoder("image/png", openapi3filter.FileBodyDecoder)
	shot := func(command string, body []byte, valid bool) resp {
		req := e.signed(tm, "POST", api.ScreenshotPath(command), body, false)
		req.Header.Set("Content-Type", "image/png")
		return c.send(req, body, valid)
	}
	if r := shot("01JX00000000000000000000C4", testutil.PNG(t, 32, 20), true); r.status != 200 {
		t.Errorf("screenshot: %d %s", r.status, r.body)
	}
	shot("01JX00000000000000000000C4", []byte("GIF89a"), true)
	if r := shot("01JX00000000000000000000C2", testutil.PNG(t, 32, 20), true); r.status != 409 {
		t.Errorf("screenshot for a maintenance command: %d %s", r.status, r.body)
	}

	// Workshops: the list; events, after malformed, of a workshop the
	// terminal is not in; the live socket opened, and not an upgrade.
	wid := w.openWorkshop(t, tm)
	if r := c.signed(tm, "GET", api.PathWorkshops, nil, true); !strings.Contains(string(r.body), wid) {
		t.Errorf("workshops: %d %s", r.status, r.body)
	}
	c.signed(tm, "GET", api.WorkshopEventsPath(wid)+"?after=0", nil, true)
	c.signed(tm, "GET", api.WorkshopEventsPath(wid)+"?after=x", nil, false)
	c.signed(tm, "GET", api.WorkshopEventsPath("nope"), nil, true)
	c.signed(tm, "GET", api.WorkshopLivePath(wid), nil, true)
	l, res, err := w.dial(tm, wid, 0)
	if err != nil || res.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("live: %v %v", res, err)
	}
	l.conn.CloseNow()
	if res.StatusCode == http.StatusSwitchingProtocols && doc.Paths.Find(api.PathWorkshops+"/{id}/live").Get.Responses.Status(101) == nil {
		t.Error("openapi.json does not document the live socket's 101")
	}
	c.seen["GET "+api.PathWorkshops+"/{id}/live"] = append(c.seen["GET "+api.PathWorkshops+"/{id}/live"], res.StatusCode)

	// Revoked terminal: 401 on a signed endpoint.
	if err := e.st.RevokeTerminal(ctx, tm.id, now); err != nil {
		t.Fatal(err)
	}
	c.signed(tm, "GET", api.PathCommands, nil, true)
	c.signed(tm, "GET", api.PathConfig, nil, true)
	c.signed(tm, "GET", api.PathWorkshops, nil, true)

	// Every documented operation was exercised with a success and with a
	// documented failure where it has one.
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			key := method + " " + path
			got := c.seen[key]
			if !slices.ContainsFunc(got, func(s int) bool { return s < 400 }) {
				t.Errorf("%s: no successful request in the test (statuses %v)", key, got)
			}
			if len(op.Responses.Map()) > 1 && !slices.ContainsFunc(got, func(s int) bool { return s >= 400 }) {
				t.Errorf("%s: no failing request in the test (statuses %v)", key, got)
			}
		}
	}
	t.Log(fmt.Sprint(c.seen))
}
