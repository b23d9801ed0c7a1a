package terminalapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/fleet"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/hub-server/internal/terminalapi"
)

func (e *env) advance(d time.Duration) { e.now.Add(int64(d)) }

func (e *env) jsonReq(tm term, method, path string, v any) resp {
	e.t.Helper()
	var body []byte
	if v != nil {
		var err error
		if body, err = json.Marshal(v); err != nil {
			e.t.Fatal(err)
		}
	}
	return e.do(e.signed(tm, method, path, body, false))
}

func decode[T any](t *testing.T, r resp) T {
	t.Helper()
	var v T
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("%v in %s", err, r.body)
	}
	return v
}

func (e *env) putLayer(scope, doc string) {
	e.t.Helper()
	if _, err := e.st.PutConfigLayer(context.Background(), scope, []byte(doc), store.Audit{At: e.clock(), Actor: "test", Action: "config.set", Subject: scope}); err != nil {
		e.t.Fatal(err)
	}
	e.advance(2 * time.Second) // past the config cache's check interval
}

func heartbeatBody(paper string) api.Heartbeat {
	return api.Heartbeat{SoftwareVersion: "1.2.3", UptimeSeconds: 60,
		Devices:       []api.DeviceHealth{{Name: "printer", Kind: "escpos", State: "connected", Paper: paper}},
		Outbox:        map[string]api.Backlog{"resident": {Count: 2, Bytes: 100, OldestAgeSeconds: 5}},
		DiskFreeBytes: 10 << 30, DiskTotalBytes: 20 << 30}
}

func TestHeartbeatStoresStateAndOnline(t *testing.T) {
	var seen []string
	e := newEnv(t, nil, terminalapi.Opts{Fleet: terminalapi.FleetOpts{OnHeartbeat: func(t store.Terminal, hb *api.Heartbeat, _ time.Time) {
		seen = append(seen, t.Name+":"+hb.SoftwareVersion)
	}}})
	a := e.enrolled("jst-1")
	hb := heartbeatBody("ok")
	resp := decode[api.HeartbeatResponse](t, e.jsonReq(a, "POST", api.PathHeartbeat, hb))
	if !resp.HubTime.Equal(e.clock()) || resp.ConfigVersion == "" || len(resp.Commands) != 0 {
		t.Errorf("heartbeat answer %+v", resp)
	}
	h, err := e.st.Health(context.Background(), a.id)
	if err != nil {
		t.Fatal(err)
	}
	var got api.Heartbeat
	if err := json.Unmarshal(h.State, &got); err != nil || got.Devices[0].Paper != "ok" || got.Outbox["resident"].Count != 2 {
		t.Errorf("stored state %s", h.State)
	}
	term, _ := e.st.Terminal(context.Background(), a.id)
	if term.SoftwareVersion != "1.2.3" || !fleet.Online(term.LastSeenAt, e.clock(), 90*time.Second) {
		t.Errorf("terminal after heartbeat: %+v", term)
	}
	e.advance(5 * time.Minute)
	if term, _ := e.st.Terminal(context.Background(), a.id); fleet.Online(term.LastSeenAt, e.clock(), 90*time.Second) {
		t.Error("still online five minutes after the last heartbeat")
	}
	if len(seen) != 1 || seen[0] != "jst-1:1.2.3" {
		t.Errorf("OnHeartbeat calls %v", seen)
	}
	bad := e.do(e.signed(a, "POST", api.PathHeartbeat, []byte(`{"devices":"nope"}`), false))
	if bad.status != 400 || bad.errCode(t) != api.CodeBadRequest {
		t.Errorf("malformed heartbeat: %d %s", bad.status, bad.body)
	}
	unsigned, _ := http.NewRequest("POST", e.srv.URL+api.PathHeartbeat, strings.NewReader(`{}`))
	if r := e.do(unsigned); r.status != 401 {
		t.Errorf("unsigned heartbeat: %d", r.status)
	}
}

func TestConfigLayeredWithETag(t *testing.T) {
	e := newEnv(t, nil, terminalapi.Opts{})
	a, b := e.enrolled("jst-1"), e.enrolled("jst-2") // both in Friedrichstadt
	e.putLayer("global", `{"settings":{"heartbeat_interval":"30s","sync_interval":"30s"},"content":{"languages":["de","en"],"services":[{"id":"air","kind":"air","title":{"de":"Luft"}}]}}`)
	e.putLayer("quarter:Friedrichstadt", `{"content":{"quarter":{"de":"Friedrichstadt"},"languages":["de"]}}`)
	e.putLayer("terminal:jst-1", `{"settings":{"heartbeat_interval":"10s","sync_interval":null}}`)

	da := decode[api.ConfigDocument](t, e.jsonReq(a, "GET", api.PathConfig, nil))
	var cfg struct {
		Settings map[string]any `json:"settings"`
		Content  struct {
			Quarter   map[string]string `json:"quarter"`
			Languages []string          `json:"languages"`
			Services  []any             `json:"services"`
		} `json:"content"`
	}
	if err := json.Unmarshal(da.Document, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Settings["heartbeat_interval"] != "10s" || cfg.Settings["sync_interval"] != nil || len(cfg.Content.Languages) != 1 ||
		cfg.Content.Quarter["de"] != "Friedrichstadt" || len(cfg.Content.Services) != 1 {
		t.Errorf("effective config of jst-1: %s", da.Document)
	}
	if _, err := api.ValidateConfig(da.Document); err != nil {
		t.Errorf("effective config invalid: %v", err)
	}
	db := decode[api.ConfigDocument](t, e.jsonReq(b, "GET", api.PathConfig, nil))
	if db.Version == da.Version || strings.Contains(string(db.Document), `"10s"`) {
		t.Errorf("jst-2 sees jst-1's layer: %s", db.Document)
	}
	// ETag and 304.
	req := e.signed(a, "GET", api.PathConfig, nil, false)
	req.Header.Set("If-None-Match", `"`+da.Version+`"`)
	if r := e.do(req); r.status != http.StatusNotModified || r.header.Get("ETag") != `"`+da.Version+`"` || len(r.body) != 0 {
		t.Errorf("conditional GET: %d etag %q body %q", r.status, r.header.Get("ETag"), r.body)
	}
	// The same document is the same version; a change is a new one.
	again := decode[api.ConfigDocument](t, e.jsonReq(a, "GET", api.PathConfig, nil))
	if again.Version != da.Version {
		t.Errorf("version not stable: %s then %s", da.Version, again.Version)
	}
	e.putLayer("quarter:Friedrichstadt", `{"content":{"quarter":{"de":"Friedrichstadt"},"languages":["de","en"]}}`)
	req = e.signed(a, "GET", api.PathConfig, nil, false)
	req.Header.Set("If-None-Match", `"`+da.Version+`"`)
	if r := e.do(req); r.status != 200 {
		t.Errorf("GET after a change with the old ETag: %d", r.status)
	}
	hb := decode[api.HeartbeatResponse](t, e.jsonReq(a, "POST", api.PathHeartbeat, heartbeatBody("ok")))
	if hb.ConfigVersion == da.Version || hb.ConfigVersion == "" {
		t.Errorf("heartbeat config version %q after a change (was %q)", hb.ConfigVersion, da.Version)
	}
}

func TestMergeRule(t *testing.T) {
	doc, v1, err := fleet.Effective([]byte(`{"a":{"x":1,"y":[1,2],"z":"s"},"b":true,"c":{"d":1}}`),
		[]byte(`{"a":{"y":[3],"w":null,"z":null},"c":null,"e":{"f":null,"g":2.50}}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"a":{"x":1,"y":[3]},"b":true,"e":{"g":2.50}}`; string(doc) != want {
		t.Errorf("merged %s, want %s", doc, want)
	}
	_, v2, _ := fleet.Effective([]byte(`{"e":{"g":2.50},"b":true,"a":{"y":[3],"x":1}}`))
	if v1 != v2 {
		t.Error("equal documents with keys in another order have different versions")
	}
}

func TestCommandsOnlyForTheirTerminal(t *testing.T) {
	e := newEnv(t, nil, terminalapi.Opts{})
	a, b := e.enrolled("a"), e.enrolled("b")
	ctx := context.Background()
	mk := func(id, terminal, kind string, ttl time.Duration) store.Command {
		return store.Command{ID: id, GroupID: "G", TerminalID: terminal, Kind: kind, Target: "tag:x", CreatedAt: e.clock(),
			CreatedBy: "test", ExpiresAt: e.clock().Add(ttl), Message: "Wartung"}
	}
	if err := e.st.CreateCommands(ctx, []store.Command{mk("CA1", a.id, api.CommandMaintenanceOn, time.Hour), mk("CA2", a.id, api.CommandSyncNow, time.Minute)},
		store.Audit{At: e.clock(), Actor: "test", Action: "command.send"}); err != nil {
		t.Fatal(err)
	}
	la := decode[api.CommandList](t, e.jsonReq(a, "GET", api.PathCommands, nil))
	if len(la.Commands) != 2 || la.Commands[0].ID != "CA1" || la.Commands[0].Message != "Wartung" || la.Commands[0].State != api.CommandQueued {
		t.Errorf("a's commands %+v", la)
	}
	if lb := decode[api.CommandList](t, e.jsonReq(b, "GET", api.PathCommands, nil)); len(lb.Commands) != 0 {
		t.Errorf("b sees %+v", lb)
	}
	if r := e.jsonReq(b, "POST", api.CommandAckPath("CA1"), struct{}{}); r.status != 404 {
		t.Errorf("b acks a's command: %d %s", r.status, r.body)
	}
	if r := e.jsonReq(b, "POST", api.CommandResultPath("CA1"), api.CommandResult{OK: true}); r.status != 404 {
		t.Errorf("b reports on a's command: %d %s", r.status, r.body)
	}
	if ack := decode[api.CommandAck](t, e.jsonReq(a, "POST", api.CommandAckPath("CA1"), struct{}{})); ack.State != api.CommandDelivered {
		t.Errorf("ack %+v", ack)
	}
	if ack := decode[api.CommandAck](t, e.jsonReq(a, "POST", api.CommandResultPath("CA1"), api.CommandResult{OK: true, Detail: "on"})); ack.State != api.CommandDone {
		t.Errorf("result %+v", ack)
	}
	e.advance(2 * time.Minute) // CA2 expires
	if r := e.jsonReq(a, "POST", api.CommandAckPath("CA2"), struct{}{}); r.status != 409 || r.errCode(t) != api.CodeCommandClosed {
		t.Errorf("ack of an expired command: %d %s", r.status, r.body)
	}
	if hb := decode[api.HeartbeatResponse](t, e.jsonReq(a, "POST", api.PathHeartbeat, heartbeatBody("ok"))); len(hb.Commands) != 0 {
		t.Errorf("heartbeat still carries %+v", hb.Commands)
	}
	// Diagnostics are stored for the uploading terminal's command.
	if err := e.st.CreateCommands(ctx, []store.Command{mk("CB1", b.id, api.CommandCollectDiagnostics, time.Hour)},
		store.Audit{At: e.clock(), Actor: "test", Action: "command.send"}); err != nil {
		t.Fatal(err)
	}
	d := decode[api.DiagnosticsAck](t, e.jsonReq(b, "POST", api.PathDiagnostics, api.Diagnostics{CommandID: "CB1", Status: json.RawMessage(`{"version":"x"}`),
		Logs: []api.LogLine{{Time: e.clock(), Level: "INFO", Message: "agent started"}}}))
	got, err := e.st.Diagnostics(ctx, d.ID)
	if err != nil || got.TerminalID != b.id || !strings.Contains(string(got.Bundle), "agent started") {
		t.Errorf("diagnostics %+v, %v", got, err)
	}
}

func TestRevokedCallHook(t *testing.T) {
	var calls []string
	e := newEnv(t, nil, terminalapi.Opts{Fleet: terminalapi.FleetOpts{OnRevokedCall: func(t store.Terminal, _ time.Time) { calls = append(calls, t.Name) }}})
	a := e.enrolled("gone")
	if err := e.st.RevokeTerminal(context.Background(), a.id, e.clock()); err != nil {
		t.Fatal(err)
	}
	if r := e.jsonReq(a, "POST", api.PathHeartbeat, heartbeatBody("ok")); r.status != 401 {
		t.Errorf("revoked heartbeat: %d", r.status)
	}
	if len(calls) != 1 || calls[0] != "gone" {
		t.Errorf("revoked calls %v", calls)
	}
}
