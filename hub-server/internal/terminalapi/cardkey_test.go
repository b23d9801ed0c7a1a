package terminalapi_test

import (
	"encoding/hex"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/terminalapi"
)

// A heartbeat naming another card key gets the deployment's; naming that
// one, or none (an older agent), gets no key. A second hub process on the
// same store hands out the same key.
func TestHeartbeatCardKey(t *testing.T) {
	e := newEnv(t, nil, terminalapi.Opts{})
	a := e.enrolled("jst-1")
	hb := heartbeatBody("ok")
	if r := e.jsonReq(a, "POST", api.PathHeartbeat, hb); strings.Contains(string(r.body), "card_key") {
		t.Fatalf("an agent naming no card key was sent one: %s", r.body)
	}
	hb.CardKeyID = api.CardKeyID([]byte("the terminal's own random key"))
	resp := decode[api.HeartbeatResponse](t, e.jsonReq(a, "POST", api.PathHeartbeat, hb))
	key, err := api.ParseCardKey(resp.CardKey)
	if err != nil {
		t.Fatalf("heartbeat naming another key: card_key %q: %v", resp.CardKey, err)
	}
	hb.CardKeyID = api.CardKeyID(key)
	if r := e.jsonReq(a, "POST", api.PathHeartbeat, hb); r.status != 200 || strings.Contains(string(r.body), "card_key") {
		t.Fatalf("heartbeat naming the deployment's key: %d %s", r.status, r.body)
	}

	// Another hub process: its own handler on the same store.
	other := httptest.NewServer(terminalapi.New(e.st, terminalapi.Opts{Now: func() time.Time { return e.clock() },
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}))
	t.Cleanup(other.Close)
	e2 := &env{t: t, st: e.st, srv: other}
	e2.now.Store(e.now.Load())
	b := e.enrolled("jst-2")
	hb.CardKeyID = "0123456789abcdef"
	resp2 := decode[api.HeartbeatResponse](t, e2.jsonReq(b, "POST", api.PathHeartbeat, hb))
	if resp2.CardKey != hex.EncodeToString(key) {
		t.Fatalf("the second hub process sends another key")
	}
	hb.CardKeyID = "0123456789ABCDEF"
	if r := e.jsonReq(a, "POST", api.PathHeartbeat, hb); r.status != 400 {
		t.Fatalf("a malformed card_key_id: %d %s", r.status, r.body)
	}
}
