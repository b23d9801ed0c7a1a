package cli_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/csv"
	"encoding/json"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/cli"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/teststores"
)

func TestMain(m *testing.M) { teststores.Main(m) }

// syncBuffer is a bytes.Buffer safe for the serving goroutine's logs.
type syncBuffer struct {
	ch chan struct{}
	b  bytes.Buffer
}

func newSyncBuffer() *syncBuffer {
	s := &syncBuffer{ch: make(chan struct{}, 1)}
	s.ch <- struct{}{}
	return s
}
func (s *syncBuffer) Write(p []byte) (int, error) {
	<-s.ch
	defer func() { s.ch <- struct{}{} }()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string {
	<-s.ch
	defer func() { s.ch <- struct{}{} }()
	return s.b.String()
}

func run(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = cli.Main(context.Background(), args, cli.Opts{Stdout: &out, Stderr: &errb})
	return out.String(), errb.String(), code
}

func send(t *testing.T, req *http.Request) (int, []byte) {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(res.Body)
	return res.StatusCode, b.Bytes()
}

// TestTokenEnrolIngestExport walks the whole path an operator takes: serve,
// token create (a second store on the same file while the hub runs),
// enrolment and upload by a terminal, export.
func TestTokenEnrolIngestExport(t *testing.T) {
	teststores.EachKind(t, func(t *testing.T, kind string) { testTokenEnrolIngestExport(t, teststores.Location(t, kind)) })
}

// with appends the store location flags to a command line.
func with(loc []string, args ...string) []string { return append(args, loc...) }

func testTokenEnrolIngestExport(t *testing.T, loc []string) {
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	logs := newSyncBuffer()
	served := make(chan int, 1)
	go func() {
		served <- cli.Main(ctx, with(loc, "serve", "--listen", "127.0.0.1:0"),
			cli.Opts{Stdout: logs, Stderr: logs, OnListening: func(a net.Addr) { addrc <- a }})
	}()
	var base string
	select {
	case a := <-addrc:
		base = "http://" + a.String()
	case code := <-served:
		t.Fatalf("serve exited %d: %s", code, logs.String())
	}

	tok, errOut, code := run(t, with(loc, "token", "create", "--terminal", "prohlis-1", "--quarter", "Prohlis", "--ttl", "1h")...)
	tok = strings.TrimSpace(tok)
	if code != 0 || !strings.HasPrefix(tok, "qht_") || len(tok) < 4+27 {
		t.Fatalf("token create: %d %q %q", code, tok, errOut)
	}

	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	body, _ := json.Marshal(api.EnrollRequest{Token: tok, PublicKey: api.EncodePublicKey(pub), SoftwareVersion: "0.1.0"})
	req, _ := http.NewRequest("POST", base+api.PathEnroll, bytes.NewReader(body))
	status, rb := send(t, req)
	var er api.EnrollResponse
	if status != 200 || json.Unmarshal(rb, &er) != nil || er.Name != "prohlis-1" {
		t.Fatalf("enroll: %d %s", status, rb)
	}

	t1 := time.Date(2025, 6, 1, 12, 0, 0, 123456789, time.FixedZone("CEST", 2*3600))
	recs := []api.Record{
		{ID: "01JX0000000000000000000001", Type: "sensor.sds011", Class: api.ClassSensor, CreatedAt: t1, Payload: json.RawMessage(`{"pm25":4.2,"note":"a,b \"c\""}`)},
		{ID: "01JX0000000000000000000002", Type: "sensor.mhz19", Class: api.ClassSensor, CreatedAt: t1.Add(time.Second), Payload: json.RawMessage(`{"co2":612}`)},
		{ID: "01JX0000000000000000000003", Type: "sensor.sds011", Class: api.ClassSensor, CreatedAt: t1.Add(2 * time.Second), Payload: json.RawMessage(`{"pm25":5}`)},
	}
	body, _ = json.Marshal(api.Batch{Records: recs})
	req, _ = http.NewRequest("POST", base+api.PathRecords, bytes.NewReader(body))
	api.SignRequest(req, priv, er.TerminalID, time.Now(), body)
	if status, rb := send(t, req); status != 200 || !strings.Contains(string(rb), `"stored":3`) {
		t.Fatalf("records: %d %s", status, rb)
	}

	req, _ = http.NewRequest("GET", base+"/metrics", nil)
	if status, rb := send(t, req); status != 200 || !strings.Contains(string(rb), `quartierhub_ingest_records_total{result="stored"} 3`) ||
		!strings.Contains(string(rb), `quartierhub_http_requests_total{code="200",method="POST",route="POST /api/v1/records"} 1`) {
		t.Errorf("metrics after an upload: %d\n%s", status, rb)
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		req, _ = http.NewRequest("GET", base+p, nil)
		if status, rb := send(t, req); status != 200 {
			t.Errorf("%s: %d %s", p, status, rb)
		}
	}

	out, errOut, code := run(t, with(loc, "export", "--type", "sensor.sds011", "--format", "jsonl")...)
	if code != 0 {
		t.Fatalf("export jsonl: %d %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("jsonl export has %d lines:\n%s", len(lines), out)
	}
	seen := map[string]bool{}
	for _, l := range lines {
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		if len(m) != 6 {
			t.Errorf("line %q: want exactly id, terminal, type, created_at, received_at, payload", l)
		}
		var line cli.ExportJSONLine
		json.Unmarshal([]byte(l), &line)
		seen[line.ID] = true
		received, err := time.Parse(time.RFC3339Nano, line.ReceivedAt)
		if line.Terminal != "prohlis-1" || line.Type != "sensor.sds011" || !strings.HasSuffix(line.CreatedAt, "Z") ||
			err != nil || time.Since(received) > time.Hour {
			t.Errorf("line %+v", line)
		}
		if line.ID == recs[0].ID && (line.CreatedAt != "2025-06-01T10:00:00.123456789Z" || string(line.Payload) != string(recs[0].Payload)) {
			t.Errorf("first record exported as %+v", line)
		}
	}
	if !seen[recs[0].ID] || !seen[recs[2].ID] {
		t.Errorf("jsonl export misses records: %v", seen)
	}

	out, errOut, code = run(t, with(loc, "export", "--format", "csv")...)
	if code != 0 {
		t.Fatalf("export csv: %d %s", code, errOut)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatalf("csv: %v\n%s", err, out)
	}
	if len(rows) != 4 || strings.Join(rows[0], ",") != "id,terminal,type,created_at,received_at,payload" {
		t.Fatalf("csv export:\n%s", out)
	}
	for _, row := range rows[1:] {
		if row[0] == recs[0].ID && (row[1] != "prohlis-1" || row[3] != "2025-06-01T10:00:00.123456789Z" || row[5] != string(recs[0].Payload)) {
			t.Errorf("csv row %q", row)
		}
	}

	out, _, code = run(t, with(loc, "terminal", "list")...)
	if code != 0 || !strings.Contains(out, er.TerminalID) || !strings.Contains(out, "prohlis-1") || !strings.Contains(out, "active") {
		t.Errorf("terminal list: %d\n%s", code, out)
	}
	if _, errOut, code := run(t, with(loc, "token", "create", "--terminal", "prohlis-1", "--quarter", "Prohlis")...); code != 1 || strings.Count(errOut, "\n") != 1 {
		t.Errorf("token for an enrolled name: %d %q", code, errOut)
	}
	if out, _, code := run(t, with(loc, "terminal", "revoke", "--id", er.TerminalID)...); code != 0 || !strings.Contains(out, "revoked") {
		t.Errorf("revoke: %d %s", code, out)
	}
	req, _ = http.NewRequest("GET", base+api.PathPing, nil)
	api.SignRequest(req, priv, er.TerminalID, time.Now(), nil)
	if status, rb := send(t, req); status != 401 {
		t.Errorf("ping after CLI revoke: %d %s", status, rb)
	}

	cancel()
	if code := <-served; code != 0 {
		t.Errorf("serve exit %d: %s", code, logs.String())
	}
	if l := logs.String(); strings.Contains(l, "pm25") || strings.Contains(l, tok) {
		t.Errorf("logs contain payload or token:\n%s", l)
	}
}

func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		code int
	}{
		{nil, 2},
		{[]string{"frobnicate"}, 2},
		{[]string{"token", "create", "--terminal", "x", "--quarter", "q"}, 2},
		{[]string{"token", "create", "--data", dir, "--terminal", "x"}, 2},
		{[]string{"token", "create", "--data", dir, "--terminal", "x", "--quarter", "q"}, 1}, // no hub.db yet
		{[]string{"export", "--data", dir, "--bogus"}, 2},
		{[]string{"terminal", "list", "--data", filepath.Join(dir, "none")}, 1},
		{[]string{"command", "send", "--data", dir, "--quarter", "q", "--kind", "screenshot"}, 2}, // one terminal only
	} {
		_, errOut, code := run(t, tc.args...)
		if code != tc.code || !strings.HasPrefix(errOut, "hub-server: ") {
			t.Errorf("%v: exit %d, stderr %q; want exit %d", tc.args, code, errOut, tc.code)
		}
		if tc.code == 1 && strings.Count(errOut, "\n") != 1 {
			t.Errorf("%v: error is not one line: %q", tc.args, errOut)
		}
	}
}

func TestNewTokenIsRandomAndURLSafe(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		tok, err := cli.NewToken(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if seen[tok] || strings.ContainsAny(tok, "+/=") || len(tok) != len("qht_")+27 {
			t.Fatalf("token %q", tok)
		}
		seen[tok] = true
	}
	fixed, _ := cli.NewToken(bytes.NewReader(make([]byte, 20)))
	if fixed != "qht_"+strings.Repeat("A", 27) {
		t.Errorf("token from zero entropy = %q", fixed)
	}
}
