package terminalapi_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/teststores"
	"github.com/quartierhub/quartierhub/hub-server/internal/terminalapi"
)

var t0 = time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC)

type env struct {
	t   *testing.T
	st  store.Store
	srv *httptest.Server
	now atomic.Int64 // hub clock, unix nanos
	seq atomic.Int64 // makes tokens unique
}

func newEnv(t *testing.T, wrap func(terminalapi.Store) terminalapi.Store, o terminalapi.Opts) *env {
	t.Helper()
	kind := teststores.SQLite
	if strings.HasPrefix(t.Name(), "TestPostgres/") {
		kind = teststores.Postgres
	}
	st := teststores.Open(t, kind)
	e := &env{t: t, st: st}
	e.now.Store(t0.UnixNano())
	o.Now = func() time.Time { return time.Unix(0, e.now.Load()).UTC() }
	o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	var s terminalapi.Store = st
	if wrap != nil {
		s = wrap(st)
	}
	e.srv = httptest.NewServer(terminalapi.New(s, o))
	t.Cleanup(e.srv.Close)
	return e
}

func (e *env) clock() time.Time { return time.Unix(0, e.now.Load()).UTC() }

func (e *env) token(name string, ttl time.Duration) string {
	e.t.Helper()
	tok := fmt.Sprintf("tok-%s-%d", name, e.seq.Add(1))
	if err := e.st.CreateEnrolToken(context.Background(), store.EnrolToken{Hash: sha256.Sum256([]byte(tok)), TerminalName: name,
		Quarter: "Friedrichstadt", CreatedAt: e.clock(), ExpiresAt: e.clock().Add(ttl)}); err != nil {
		e.t.Fatal(err)
	}
	return tok
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) errCode(t *testing.T) string {
	t.Helper()
	var ae api.Error
	if err := json.Unmarshal(r.body, &ae); err != nil || ae.Error == "" {
		t.Fatalf("status %d body %q is not an api.Error", r.status, r.body)
	}
	return ae.Code
}

func (e *env) do(req *http.Request) resp {
	e.t.Helper()
	res, err := e.srv.Client().Do(req)
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

func (e *env) enroll(tok string, pub ed25519.PublicKey) resp {
	body, _ := json.Marshal(api.EnrollRequest{Token: tok, PublicKey: api.EncodePublicKey(pub), SoftwareVersion: "0.1.0"})
	req, _ := http.NewRequest("POST", e.srv.URL+api.PathEnroll, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	return e.do(req)
}

// term is a terminal as the kiosk side sees it.
type term struct {
	id   string
	priv ed25519.PrivateKey
}

func (e *env) enrolled(name string) term {
	e.t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		e.t.Fatal(err)
	}
	r := e.enroll(e.token(name, time.Hour), pub)
	if r.status != 200 {
		e.t.Fatalf("enroll: %d %s", r.status, r.body)
	}
	var er api.EnrollResponse
	if err := json.Unmarshal(r.body, &er); err != nil {
		e.t.Fatal(err)
	}
	return term{er.TerminalID, priv}
}

// signed builds a request signed by tm at the hub's current time.
func (e *env) signed(tm term, method, path string, body []byte, gz bool) *http.Request {
	req, _ := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if gz {
		req.Header.Set("Content-Encoding", "gzip")
	}
	api.SignRequest(req, tm.priv, tm.id, e.clock(), body)
	return req
}

func batchJSON(t *testing.T, recs []api.Record) []byte {
	t.Helper()
	b, err := json.Marshal(api.Batch{Records: recs})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func recordID(n int) string {
	const digits = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	b := []byte("01JX0000000000000000000000")
	for i := len(b) - 1; n > 0; i-- {
		b[i] = digits[n%32]
		n /= 32
	}
	return string(b)
}

func records(from, n int) []api.Record {
	recs := make([]api.Record, n)
	for i := range recs {
		recs[i] = api.Record{ID: recordID(from + i), Type: "sensor.sds011", Class: api.ClassSensor,
			CreatedAt: t0.Add(time.Duration(from+i) * time.Second), Payload: json.RawMessage(fmt.Sprintf(`{"pm25":%d}`, from+i))}
	}
	return recs
}

func (e *env) post(tm term, recs []api.Record, gz bool) resp {
	e.t.Helper()
	body := batchJSON(e.t, recs)
	if gz {
		body = gzipped(e.t, body)
	}
	return e.do(e.signed(tm, "POST", api.PathRecords, body, gz))
}

func ack(t *testing.T, r resp) api.BatchAck {
	t.Helper()
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var a api.BatchAck
	if err := json.Unmarshal(r.body, &a); err != nil {
		t.Fatal(err)
	}
	return a
}

func (e *env) stored() int {
	e.t.Helper()
	n := 0
	if err := e.st.ExportRecords(context.Background(), store.ExportFilter{}, func(*store.ExportedRecord) error { n++; return nil }); err != nil {
		e.t.Fatal(err)
	}
	return n
}

func TestEnrolAndPing(t *testing.T) {
	e := newEnv(t, nil, terminalapi.Opts{})
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	r := e.enroll(e.token("fs-1", time.Hour), pub)
	if r.status != 200 {
		t.Fatalf("enroll: %d %s", r.status, r.body)
	}
	var er api.EnrollResponse
	if err := json.Unmarshal(r.body, &er); err != nil {
		t.Fatal(err)
	}
	if !api.ValidRecordID(er.TerminalID) || er.Name != "fs-1" || er.Quarter != "Friedrichstadt" || !er.HubTime.Equal(t0) {
		t.Errorf("enroll response %+v", er)
	}
	stored, err := e.st.Terminal(context.Background(), er.TerminalID)
	if err != nil || !stored.PublicKey.Equal(pub) || stored.SoftwareVersion != "0.1.0" {
		t.Fatalf("stored terminal %+v, %v", stored, err)
	}
	e.now.Add(int64(time.Hour))
	r = e.do(e.signed(term{er.TerminalID, priv}, "GET", api.PathPing, nil, false))
	var pr api.PingResponse
	if r.status != 200 || json.Unmarshal(r.body, &pr) != nil || pr.TerminalID != er.TerminalID || !pr.HubTime.Equal(t0.Add(time.Hour)) {
		t.Fatalf("ping: %d %s", r.status, r.body)
	}
	if got, _ := e.st.Terminal(context.Background(), er.TerminalID); !got.LastSeenAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("last seen after ping = %v", got.LastSeenAt)
	}
}

func TestEnrolRefusals(t *testing.T) {
	e := newEnv(t, nil, terminalapi.Opts{})
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	used := e.token("a", time.Hour)
	if r := e.enroll(used, pub); r.status != 200 {
		t.Fatalf("first use: %d %s", r.status, r.body)
	}
	expiring := e.token("b", time.Minute)
	taken := e.token("a2", time.Hour)
	sameName := e.token("a2", time.Hour)
	if r := e.enroll(taken, pub); r.status != 200 {
		t.Fatalf("enrol a2: %d %s", r.status, r.body)
	}
	e.now.Add(int64(time.Minute))
	for _, tc := range []struct {
		name, tok string
		status    int
		code      string
	}{
		{"reused", used, 401, api.CodeTokenUsed},
		{"expired", expiring, 401, api.CodeTokenExpired},
		{"unknown", "qht_nosuchtoken", 401, api.CodeTokenUnknown},
		{"empty", "", 401, api.CodeTokenUnknown},
		{"name taken", sameName, 409, api.CodeNameTaken},
	} {
		r := e.enroll(tc.tok, pub)
		if r.status != tc.status || r.errCode(t) != tc.code {
			t.Errorf("%s token: %d %s, want %d %s", tc.name, r.status, r.body, tc.status, tc.code)
		}
	}
	req, _ := http.NewRequest("POST", e.srv.URL+api.PathEnroll, strings.NewReader(`{"token":"x","public_key":"AAAA"}`))
	if r := e.do(req); r.status != 400 || r.errCode(t) != api.CodeBadRequest {
		t.Errorf("short public key: %d %s", r.status, r.body)
	}
	req, _ = http.NewRequest("POST", e.srv.URL+api.PathEnroll, strings.NewReader(`{"token":`))
	if r := e.do(req); r.status != 400 {
		t.Errorf("malformed JSON: %d %s", r.status, r.body)
	}
}

func TestAuthRefusals(t *testing.T) {
	e := newEnv(t, nil, terminalapi.Opts{})
	a, b, revoked := e.enrolled("a"), e.enrolled("b"), e.enrolled("r")
	if err := e.st.RevokeTerminal(context.Background(), revoked.id, t0); err != nil {
		t.Fatal(err)
	}
	body := batchJSON(t, records(0, 3))
	_, strangerKey, _ := ed25519.GenerateKey(rand.Reader)
	for _, tc := range []struct {
		name string
		req  func() *http.Request
		code string
	}{
		{"no header", func() *http.Request {
			r := e.signed(a, "POST", api.PathRecords, body, false)
			r.Header.Del("Authorization")
			return r
		}, api.CodeAuthMalformed},
		{"other scheme", func() *http.Request {
			r := e.signed(a, "POST", api.PathRecords, body, false)
			r.Header.Set("Authorization", "Bearer x")
			return r
		}, api.CodeAuthMalformed},
		{"unknown terminal", func() *http.Request {
			return e.signed(term{"01JX0000000000000000000000", strangerKey}, "POST", api.PathRecords, body, false)
		}, api.CodeTerminalUnknown},
		{"revoked terminal", func() *http.Request { return e.signed(revoked, "POST", api.PathRecords, body, false) }, api.CodeRevoked},
		{"A's key claiming B", func() *http.Request {
			return e.signed(term{b.id, a.priv}, "POST", api.PathRecords, body, false)
		}, api.CodeBadSignature},
		{"tampered body", func() *http.Request {
			r := e.signed(a, "POST", api.PathRecords, body, false)
			tampered := bytes.Replace(body, []byte(`"pm25":1`), []byte(`"pm25":9`), 1)
			r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(tampered)), int64(len(tampered))
			return r
		}, api.CodeBadSignature},
		{"signed for another path", func() *http.Request {
			r := e.signed(a, "POST", api.PathRecords, body, false)
			r.Header.Set("Authorization", api.Sign(a.priv, a.id, "POST", api.PathPing, e.clock(), body))
			return r
		}, api.CodeBadSignature},
		{"stale timestamp", func() *http.Request {
			r := e.signed(a, "POST", api.PathRecords, body, false)
			r.Header.Set("Authorization", api.Sign(a.priv, a.id, "POST", api.PathRecords, e.clock().Add(-api.MaxClockSkew-time.Second), body))
			return r
		}, api.CodeClockSkew},
		{"future timestamp", func() *http.Request {
			r := e.signed(a, "POST", api.PathRecords, body, false)
			r.Header.Set("Authorization", api.Sign(a.priv, a.id, "POST", api.PathRecords, e.clock().Add(api.MaxClockSkew+time.Second), body))
			return r
		}, api.CodeClockSkew},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(tc.req())
			if r.status != 401 || r.errCode(t) != tc.code {
				t.Errorf("got %d %s, want 401 %s", r.status, r.body, tc.code)
			}
		})
	}
	if n := e.stored(); n != 0 {
		t.Errorf("%d records stored by refused requests", n)
	}
	// The skew window is inclusive and the good request passes.
	r := e.signed(a, "POST", api.PathRecords, body, false)
	r.Header.Set("Authorization", api.Sign(a.priv, a.id, "POST", api.PathRecords, e.clock().Add(-api.MaxClockSkew), body))
	if got := ack(t, e.do(r)); got.Stored != 3 {
		t.Errorf("ack %+v", got)
	}
}

func TestRevokedAfterUse(t *testing.T) {
	e := newEnv(t, nil, terminalapi.Opts{})
	a := e.enrolled("a")
	ack(t, e.post(a, records(0, 2), false))
	if err := e.st.RevokeTerminal(context.Background(), a.id, t0); err != nil {
		t.Fatal(err)
	}
	if r := e.post(a, records(2, 2), false); r.status != 401 || r.errCode(t) != api.CodeRevoked {
		t.Errorf("after revocation: %d %s", r.status, r.body)
	}
	if r := e.do(e.signed(a, "GET", api.PathPing, nil, false)); r.status != 401 {
		t.Errorf("ping after revocation: %d %s", r.status, r.body)
	}
}

func TestIngestIdempotent(t *testing.T) {
	e := newEnv(t, nil, terminalapi.Opts{})
	a, b := e.enrolled("a"), e.enrolled("b")
	recs := records(0, 250)
	if got := ack(t, e.post(a, recs, true)); got != (api.BatchAck{Stored: 250}) {
		t.Errorf("first: %+v", got)
	}
	if got := ack(t, e.post(a, recs, true)); got != (api.BatchAck{Duplicates: 250}) {
		t.Errorf("replay: %+v", got)
	}
	if got := ack(t, e.post(b, recs, false)); got != (api.BatchAck{Stored: 250}) {
		t.Errorf("same IDs from terminal b: %+v", got)
	}
	if n := e.stored(); n != 500 {
		t.Errorf("stored %d, want 500", n)
	}
}

func TestIngestGzipAndPlain(t *testing.T) {
	e := newEnv(t, nil, terminalapi.Opts{})
	a := e.enrolled("a")
	if got := ack(t, e.post(a, records(0, 10), false)); got.Stored != 10 {
		t.Errorf("plain: %+v", got)
	}
	if got := ack(t, e.post(a, records(10, 10), true)); got.Stored != 10 {
		t.Errorf("gzip: %+v", got)
	}
	// A gzip body without the header is not JSON; a plain body labelled gzip is not gzip.
	gz := gzipped(t, batchJSON(t, records(20, 1)))
	if r := e.do(e.signed(a, "POST", api.PathRecords, gz, false)); r.status != 400 {
		t.Errorf("gzip body sent as plain: %d %s", r.status, r.body)
	}
	if r := e.do(e.signed(a, "POST", api.PathRecords, batchJSON(t, records(20, 1)), true)); r.status != 400 {
		t.Errorf("plain body labelled gzip: %d %s", r.status, r.body)
	}
	req := e.signed(a, "POST", api.PathRecords, batchJSON(t, records(20, 1)), false)
	req.Header.Set("Content-Encoding", "br")
	if r := e.do(req); r.status != 415 {
		t.Errorf("brotli: %d %s", r.status, r.body)
	}
	if got := ack(t, e.post(a, nil, false)); got != (api.BatchAck{}) {
		t.Errorf("empty batch: %+v", got)
	}
	if n := e.stored(); n != 20 {
		t.Errorf("stored %d, want 20", n)
	}
}

func TestIngestAllOrNothing(t *testing.T) {
	e := newEnv(t, nil, terminalapi.Opts{})
	a := e.enrolled("a")
	for _, tc := range []struct {
		name  string
		spoil func(*api.Record)
	}{
		{"lower-case id", func(r *api.Record) { r.ID = strings.ToLower(r.ID) }},
		{"short id", func(r *api.Record) { r.ID = r.ID[:25] }},
		{"id with U", func(r *api.Record) { r.ID = "01JXU" + r.ID[5:] }},
		{"empty type", func(r *api.Record) { r.Type = "" }},
		{"type with space", func(r *api.Record) { r.Type = "sensor reading" }},
		{"bad class", func(r *api.Record) { r.Class = "secret" }},
		{"zero created_at", func(r *api.Record) { r.CreatedAt = time.Time{} }},
		{"payload array", func(r *api.Record) { r.Payload = json.RawMessage(`[1]`) }},
		{"payload missing", func(r *api.Record) { r.Payload = nil }},
		{"payload too big", func(r *api.Record) {
			r.Payload = json.RawMessage(`{"x":"` + strings.Repeat("a", api.MaxPayloadBytes) + `"}`)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recs := records(0, 100)
			tc.spoil(&recs[57])
			r := e.post(a, recs, true)
			if r.status != 400 || r.errCode(t) != api.CodeInvalidRecord || !strings.Contains(string(r.body), "record 57") {
				t.Errorf("got %d %s, want 400 invalid_record naming record 57", r.status, r.body)
			}
		})
	}
	for name, body := range map[string]string{
		"truncated":     `{"records":[{"id":"01JX0000000000000000000001"`,
		"trailing data": `{"records":[]} {}`,
		"wrong type":    `{"records":{}}`,
		"bad time":      `{"records":[{"id":"01JX0000000000000000000001","type":"a","class":"event","created_at":"yesterday","payload":{}}]}`,
	} {
		if r := e.do(e.signed(a, "POST", api.PathRecords, []byte(body), false)); r.status != 400 || r.errCode(t) != api.CodeBadRequest {
			t.Errorf("%s JSON: %d %s", name, r.status, r.body)
		}
	}
	if n := e.stored(); n != 0 {
		t.Errorf("refused batches stored %d records", n)
	}
}

func TestIngestTooLarge(t *testing.T) {
	e := newEnv(t, nil, terminalapi.Opts{})
	a := e.enrolled("a")
	if r := e.post(a, records(0, api.MaxBatchRecords+1), true); r.status != 413 || r.errCode(t) != api.CodeTooLarge {
		t.Errorf("too many records: %d %s", r.status, r.body)
	}
	big := []byte(`{"records":[],"pad":"` + strings.Repeat("x", api.MaxBatchBytesUncompressed) + `"}`)
	if r := e.do(e.signed(a, "POST", api.PathRecords, big, false)); r.status != 413 {
		t.Errorf("plain body over the limit: %d %s", r.status, r.body)
	}
	if r := e.do(e.signed(a, "POST", api.PathRecords, gzipped(t, big), true)); r.status != 413 {
		t.Errorf("gzip body inflating over the limit: %d %s", r.status, r.body)
	}
	noise := make([]byte, api.MaxBatchBytes)
	rand.Read(noise)
	if r := e.do(e.signed(a, "POST", api.PathRecords, gzipped(t, noise), true)); r.status != 413 {
		t.Errorf("gzip body over the wire limit: %d %s", r.status, r.body)
	}
	if n := e.stored(); n != 0 {
		t.Errorf("stored %d", n)
	}
	if got := ack(t, e.post(a, records(0, api.MaxBatchRecords), true)); got.Stored != api.MaxBatchRecords {
		t.Errorf("a full batch: %+v", got)
	}
}

// blockingStore holds IngestBatch until released, to fill the hub.
type blockingStore struct {
	terminalapi.Store
	entered chan struct{}
	release chan struct{}
}

func (s *blockingStore) IngestBatch(ctx context.Context, id string, recs []api.Record, at time.Time) (api.BatchAck, error) {
	s.entered <- struct{}{}
	<-s.release
	return s.Store.IngestBatch(ctx, id, recs, at)
}

// doAsync sends req and puts its status on done (-1 when it got no
// answer), for uploads that wait in the store while the test goes on.
func (e *env) doAsync(req *http.Request, done chan<- resp) {
	res, err := e.srv.Client().Do(req)
	if err != nil {
		done <- resp{status: -1}
		return
	}
	res.Body.Close()
	done <- resp{status: res.StatusCode}
}

// smallUploadCharge is what an upload of records(_, 10) is charged,
// rounded up: the fixed overhead and its body.
const smallUploadCharge = 16<<10 + 2<<10

func TestOverloadAnswers503(t *testing.T) {
	bs := &blockingStore{entered: make(chan struct{}, 2), release: make(chan struct{})}
	e := newEnv(t, func(s terminalapi.Store) terminalapi.Store { bs.Store = s; return bs },
		terminalapi.Opts{MaxIngestBytes: 2*smallUploadCharge + 1<<10, RetryAfter: 7 * time.Second})
	a := e.enrolled("a")
	done := make(chan resp, 2)
	for i := range 2 {
		req := e.signed(e.enrolled(fmt.Sprintf("t%d", i)), "POST", api.PathRecords, batchJSON(t, records(i*10, 10)), false)
		go e.doAsync(req, done)
	}
	<-bs.entered
	<-bs.entered
	r := e.post(a, records(100, 10), false)
	if r.status != 503 || r.header.Get("Retry-After") != "7" || r.errCode(t) != api.CodeOverloaded {
		t.Errorf("third upload while two hold the budget: %d Retry-After %q %s", r.status, r.header.Get("Retry-After"), r.body)
	}
	close(bs.release)
	for range 2 {
		if r := <-done; r.status != 200 {
			t.Errorf("admitted upload: %d", r.status)
		}
	}
	if got := ack(t, e.post(a, records(100, 10), false)); got.Stored != 10 {
		t.Errorf("after the load: %+v", got)
	}
}

// Admission counts bytes, not requests: many small uploads are in
// progress at once, while a large one that would not fit beside them is
// answered 503 (its decompressed size, from the gzip trailer, is
// charged) and accepted once they are done.
func TestAdmissionByBytes(t *testing.T) {
	const small = 20
	bs := &blockingStore{entered: make(chan struct{}, small), release: make(chan struct{})}
	e := newEnv(t, func(s terminalapi.Store) terminalapi.Store { bs.Store = s; return bs },
		terminalapi.Opts{MaxIngestBytes: small*smallUploadCharge + 100<<10})
	a := e.enrolled("a")
	done := make(chan resp, small)
	for i := range small {
		req := e.signed(e.enrolled(fmt.Sprintf("t%d", i)), "POST", api.PathRecords, batchJSON(t, records(i*10, 10)), false)
		go e.doAsync(req, done)
	}
	for range small {
		<-bs.entered
	}
	large := batchJSON(t, records(1000, 3000))
	if len(large) < 200<<10 {
		t.Fatalf("large batch is only %d bytes", len(large))
	}
	r := e.post(a, records(1000, 3000), true)
	if r.status != 503 || r.errCode(t) != api.CodeOverloaded {
		t.Errorf("large upload beside %d small ones: %d %s", small, r.status, r.body)
	}
	close(bs.release)
	for range small {
		if r := <-done; r.status != 200 {
			t.Errorf("small upload: %d", r.status)
		}
	}
	if got := ack(t, e.post(a, records(1000, 3000), true)); got.Stored != 3000 {
		t.Errorf("large upload alone: %+v", got)
	}
}

// A gzip stream that inflates beyond what its trailer announces is
// charged for it before it may go on.
func TestAdmissionChargesInflation(t *testing.T) {
	e := newEnv(t, nil, terminalapi.Opts{MaxIngestBytes: 200 << 10})
	a := e.enrolled("a")
	body := gzipped(t, batchJSON(t, records(0, 3000)))
	binary.LittleEndian.PutUint32(body[len(body)-4:], 1000) // a lie
	r := e.do(e.signed(a, "POST", api.PathRecords, body, true))
	if r.status != 503 || r.errCode(t) != api.CodeOverloaded {
		t.Errorf("upload inflating beyond its trailer and the budget: %d %s", r.status, r.body)
	}
	if got := ack(t, e.post(a, records(0, 10), true)); got.Stored != 10 {
		t.Errorf("honest upload afterwards (budget given back): %+v", got)
	}
}

func TestUnknownPathIsJSON404(t *testing.T) {
	e := newEnv(t, nil, terminalapi.Opts{})
	res, err := e.srv.Client().Get(e.srv.URL + "/api/v1/nothing")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var ae api.Error
	if res.StatusCode != 404 || json.NewDecoder(res.Body).Decode(&ae) != nil || ae.Code != api.CodeNotFound {
		t.Errorf("%d %+v", res.StatusCode, ae)
	}
}

// A terminal pipelines its uploads (hubsync sends two at once, and may
// retry after a cut while the hub still stores the old one): up to
// api.MaxBodiesInFlight of them are in progress together; one more is
// answered 429. One upload at a time halved the drain and, with the
// Retry-After, slowed a backlog to a batch every five seconds.
func TestPipelinedUploadsPass(t *testing.T) {
	bs := &blockingStore{entered: make(chan struct{}, api.MaxBodiesInFlight), release: make(chan struct{})}
	e := newEnv(t, func(s terminalapi.Store) terminalapi.Store { bs.Store = s; return bs }, terminalapi.Opts{})
	var releaseOnce sync.Once
	release := func() { releaseOnce.Do(func() { close(bs.release) }) }
	t.Cleanup(release) // a failed test must not leave handlers blocked in the store
	a := e.enrolled("a")
	done := make(chan resp, api.MaxBodiesInFlight)
	for i := range api.MaxBodiesInFlight {
		req := e.signed(a, "POST", api.PathRecords, batchJSON(t, records(i*10, 10)), false)
		go e.doAsync(req, done)
	}
	for i := range api.MaxBodiesInFlight {
		select {
		case <-bs.entered:
		case r := <-done:
			t.Fatalf("upload %d of %d in flight answered %d before the store was reached", i+1, api.MaxBodiesInFlight, r.status)
		}
	}
	if r := e.post(a, records(100, 10), false); r.status != http.StatusTooManyRequests || r.errCode(t) != api.CodeTooManyRequests {
		t.Errorf("one more upload in flight: %d %s", r.status, r.body)
	}
	release()
	for range api.MaxBodiesInFlight {
		if r := <-done; r.status != http.StatusOK {
			t.Errorf("pipelined upload: %d", r.status)
		}
	}
}
