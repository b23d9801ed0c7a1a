package terminalapi_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
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
	deepPayload := records(0, 1)
	deepPayload[0].Payload = json.RawMessage(`{"a":` + nested(200) + `}`)
	for _, tc := range []struct {
		name, method, path string
		body               string
	}{
		{"record payload", "POST", api.PathRecords, string(batchJSON(t, deepPayload))},
		{"heartbeat", "POST", api.PathHeartbeat, `{"devices":[{"name":"p","kind":"escpos","state":"connected","error":"x"}],"outbox":` + nested(5000) + `}`},
		{"diagnostics status", "POST", api.PathDiagnostics, `{"status":` + nested(5000) + `,"logs":[]}`},
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
