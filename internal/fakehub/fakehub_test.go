package fakehub_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/internal/fakehub"
	"github.com/quartierhub/quartierhub/internal/testutil"
	"github.com/quartierhub/quartierhub/kiosk/hubsync"
)

// terminal signs requests as the kiosk does (api.SignRequest, with
// Content-Digest for a body).
type terminal struct {
	t   *testing.T
	hub *fakehub.Hub
	id  string
	key ed25519.PrivateKey
	// at is the signing time (now when zero); noDigest signs as older
	// terminals did, without Content-Digest.
	at       time.Time
	noDigest bool
}

func newTerminal(t *testing.T, hub *fakehub.Hub, id string) *terminal {
	return &terminal{t: t, hub: hub, id: id, key: hub.NewTerminal(id)}
}

type answer struct {
	status int
	header http.Header
	body   []byte
	err    error // transport or body read error
}

func (a answer) code() string {
	var e api.Error
	_ = json.Unmarshal(a.body, &e)
	return e.Code
}

func (tm *terminal) send(method, path string, body []byte, header ...string) answer {
	tm.t.Helper()
	req, err := http.NewRequest(method, tm.hub.URL()+path, bytes.NewReader(body))
	if err != nil {
		tm.t.Fatal(err)
	}
	at := tm.at
	if at.IsZero() {
		at = time.Now()
	}
	api.SignRequest(req, tm.key, tm.id, at, body)
	if tm.noDigest {
		req.Header.Del(api.DigestHeader)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return do(req)
}

// client opens a connection per request: Go's transport sends a GET again
// on its own when a reused connection closes without an answer, which
// would hide a fault.
var client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

func do(req *http.Request) answer {
	resp, err := client.Do(req)
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, header: resp.Header, body: b, err: err}
}

func (tm *terminal) json(method, path string, in, out any) answer {
	tm.t.Helper()
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			tm.t.Fatal(err)
		}
	}
	a := tm.send(method, path, body)
	if a.err == nil && a.status == http.StatusOK && out != nil {
		if err := json.Unmarshal(a.body, out); err != nil {
			tm.t.Fatalf("%s %s: %v in %s", method, path, err, a.body)
		}
	}
	return a
}

var recordN int

func record(typ string) api.Record {
	recordN++
	return api.Record{ID: fmt.Sprintf("01JX%022d", recordN), Type: typ, Class: api.ClassEvent,
		CreatedAt: time.Date(2025, 5, 1, 10, 0, 0, 0, time.UTC), Payload: json.RawMessage(`{"n":1}`)}
}

func gzipped(t *testing.T, b api.Batch) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if err := json.NewEncoder(zw).Encode(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func (tm *terminal) upload(recs ...api.Record) answer {
	tm.t.Helper()
	return tm.send(http.MethodPost, api.PathRecords, gzipped(tm.t, api.Batch{Records: recs}), "Content-Encoding", "gzip")
}

func ack(t *testing.T, a answer) api.BatchAck {
	t.Helper()
	var ack api.BatchAck
	if a.err != nil || a.status != http.StatusOK || json.Unmarshal(a.body, &ack) != nil {
		t.Fatalf("upload: %d %s %v", a.status, a.body, a.err)
	}
	return ack
}

// The real enrolment client enrols; a token works once, a name once.
func TestEnrolment(t *testing.T) {
	hub := fakehub.Start(t, fakehub.Opts{})
	hub.AddToken("qht_one", "jst-1", "Johannstadt")
	hub.AddToken("qht_same_name", "jst-1", "Johannstadt")
	ctx := context.Background()
	id, err := hubsync.Enroll(ctx, hub.URL(), "qht_one", hubsync.EnrollOpts{SoftwareVersion: "test"})
	if err != nil || id.Name != "jst-1" || id.Quarter != "Johannstadt" || !api.ValidRecordID(id.TerminalID) {
		t.Fatalf("enrolment: %+v, %v", id, err)
	}
	for tok, why := range map[string]string{"qht_one": "already used", "qht_unknown": "unknown", "qht_same_name": "already enrolled"} {
		if _, err := hubsync.Enroll(ctx, hub.URL(), tok, hubsync.EnrollOpts{}); err == nil || !strings.Contains(err.Error(), why) {
			t.Errorf("token %s: %v, want %q", tok, err, why)
		}
	}
	// The new key signs for the new terminal.
	tm := &terminal{t: t, hub: hub, id: id.TerminalID, key: id.Key}
	var ping api.PingResponse
	if a := tm.json(http.MethodGet, api.PathPing, nil, &ping); a.status != http.StatusOK || ping.TerminalID != id.TerminalID {
		t.Fatalf("ping after enrolment: %d %s", a.status, a.body)
	}
}

// Signatures are checked as the real hub checks them: with or without
// Content-Digest, the clock, the terminal and its revocation.
func TestSignatures(t *testing.T) {
	hub := fakehub.Start(t, fakehub.Opts{})
	tm := newTerminal(t, hub, "T1")
	hb, _ := json.Marshal(api.Heartbeat{SoftwareVersion: "1"})
	if a := tm.send(http.MethodPost, api.PathHeartbeat, hb); a.status != http.StatusOK {
		t.Fatalf("signed with Content-Digest: %d %s", a.status, a.body)
	}
	old := *tm
	old.noDigest = true
	if a := old.send(http.MethodPost, api.PathHeartbeat, hb); a.status != http.StatusOK {
		t.Fatalf("signed without Content-Digest: %d %s", a.status, a.body)
	}

	wrongKey := *tm
	_, wrongKey.key, _ = ed25519.GenerateKey(nil)
	stale := *tm
	stale.at = time.Now().Add(-api.MaxClockSkew - time.Minute)
	stranger := *tm
	stranger.id = "T-unknown"
	for name, c := range map[string]struct {
		a    answer
		code string
	}{
		"wrong key":       {wrongKey.send(http.MethodPost, api.PathHeartbeat, hb), api.CodeBadSignature},
		"wrong key, bare": {func() answer { w := wrongKey; w.noDigest = true; return w.send(http.MethodPost, api.PathHeartbeat, hb) }(), api.CodeBadSignature},
		"body not as digested": {tm.send(http.MethodPost, api.PathHeartbeat, hb,
			api.DigestHeader, api.ContentDigest([]byte(`{"other":1}`))), api.CodeBadSignature},
		"malformed digest": {tm.send(http.MethodPost, api.PathHeartbeat, hb, api.DigestHeader, "sha-256=nonsense"), api.CodeBadRequest},
		"malformed header": {tm.send(http.MethodGet, api.PathPing, nil, "Authorization", "Bearer x"), api.CodeAuthMalformed},
		"stale clock":      {stale.send(http.MethodGet, api.PathPing, nil), api.CodeClockSkew},
		"unknown terminal": {stranger.send(http.MethodGet, api.PathPing, nil), api.CodeTerminalUnknown},
	} {
		want := http.StatusUnauthorized
		if c.code == api.CodeBadRequest {
			want = http.StatusBadRequest
		}
		if c.a.status != want || c.a.code() != c.code {
			t.Errorf("%s: %d %s, want %d %s", name, c.a.status, c.a.body, want, c.code)
		}
	}
	if n := len(hub.Heartbeats()); n != 2 {
		t.Errorf("%d heartbeats kept, want the 2 signed ones", n)
	}
	hub.Revoke("T1")
	if a := tm.send(http.MethodGet, api.PathPing, nil); a.status != http.StatusUnauthorized || a.code() != api.CodeRevoked {
		t.Errorf("revoked: %d %s", a.status, a.body)
	}
}

// Records are acknowledged with duplicates, stored once per terminal,
// validated all or nothing; a refused record refuses its batch.
func TestRecordsAckAndDuplicates(t *testing.T) {
	hub := fakehub.Start(t, fakehub.Opts{})
	t1, t2 := newTerminal(t, hub, "T1"), newTerminal(t, hub, "T2")
	a, b, c := record("a"), record("b"), record("c")
	if got := ack(t, t1.upload(a, b)); got != (api.BatchAck{Stored: 2}) {
		t.Fatalf("first batch %+v", got)
	}
	if got := ack(t, t1.upload(b, a, c)); got != (api.BatchAck{Stored: 1, Duplicates: 2}) {
		t.Fatalf("batch again with one new %+v", got)
	}
	plain, _ := json.Marshal(api.Batch{Records: []api.Record{a}})
	if got := ack(t, t2.send(http.MethodPost, api.PathRecords, plain)); got != (api.BatchAck{Stored: 1}) {
		t.Fatalf("the same ID from another terminal, plain JSON: %+v", got)
	}
	bad := record("d")
	bad.Payload = json.RawMessage(`[1]`)
	if r := t1.upload(record("e"), bad); r.status != http.StatusBadRequest || r.code() != api.CodeInvalidRecord || !strings.Contains(string(r.body), "record 1:") {
		t.Fatalf("invalid record: %d %s", r.status, r.body)
	}
	poison := record("f")
	hub.RefuseRecord(poison.ID, "payload too strange")
	if r := t1.upload(record("g"), poison); r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "record 1: payload too strange") {
		t.Fatalf("refused record: %d %s", r.status, r.body)
	}
	var types []string
	for _, r := range hub.Records() {
		types = append(types, r.Type)
	}
	if strings.Join(types, ",") != "a,b,c,a" || hub.Duplicates() != 2 || len(hub.RecordsOf("a")) != 2 {
		t.Fatalf("stored %v with %d duplicates", types, hub.Duplicates())
	}
	// Every batch handled, refused ones too, as it came.
	if got := hub.Batches(); len(got) != 5 || strings.Join(got[1], ",") != b.ID+","+a.ID+","+c.ID || got[4][1] != poison.ID {
		t.Fatalf("batches %v", got)
	}
}

// Heartbeats are kept and answered with the configuration version; the
// configuration carries its version as ETag and answers 304 to it.
func TestHeartbeatAndConfigETag(t *testing.T) {
	hub := fakehub.Start(t, fakehub.Opts{})
	tm := newTerminal(t, hub, "T1")
	var hr api.HeartbeatResponse
	if a := tm.json(http.MethodPost, api.PathHeartbeat, api.Heartbeat{SoftwareVersion: "1.0"}, &hr); a.status != http.StatusOK || hr.ConfigVersion != "" || hr.Commands == nil {
		t.Fatalf("heartbeat without configuration: %d %s", a.status, a.body)
	}
	v := hub.SetConfig(`{"settings":{"heartbeat_interval":"30s"}}`)
	tm.json(http.MethodPost, api.PathHeartbeat, api.Heartbeat{SoftwareVersion: "1.1", ConfigVersion: "old"}, &hr)
	if hr.ConfigVersion != v || v == "" {
		t.Fatalf("heartbeat answer names %q, want %q", hr.ConfigVersion, v)
	}
	if hbs := hub.Heartbeats(); len(hbs) != 2 || hbs[1].SoftwareVersion != "1.1" || hbs[1].ConfigVersion != "old" {
		t.Fatalf("heartbeats kept: %+v", hbs)
	}
	var doc api.ConfigDocument
	a := tm.json(http.MethodGet, api.PathConfig, nil, &doc)
	if a.status != http.StatusOK || doc.Version != v || !strings.Contains(string(doc.Document), "heartbeat_interval") || a.header.Get("ETag") != `"`+v+`"` {
		t.Fatalf("config: %d %s, ETag %s", a.status, a.body, a.header.Get("ETag"))
	}
	if a := tm.send(http.MethodGet, api.PathConfig, nil, "If-None-Match", `"`+v+`"`); a.status != http.StatusNotModified || len(a.body) != 0 {
		t.Fatalf("config with its ETag: %d %s", a.status, a.body)
	}
	if a := tm.send(http.MethodGet, api.PathConfig, nil, "If-None-Match", `"older"`); a.status != http.StatusOK {
		t.Fatalf("config with an old ETag: %d", a.status)
	}
	if n := hub.ConfigServed(v); n != 2 {
		t.Fatalf("version served %d times, want 2 (the 304 not counted)", n)
	}
}

// Commands go queued → delivered → done as the real hub's do, through the
// kiosk's own fleet client.
func TestCommandsAndDiagnostics(t *testing.T) {
	hub := fakehub.Start(t, fakehub.Opts{})
	key := hub.NewTerminal("T1")
	hub.NewTerminal("T2")
	fc := hubsync.NewFleetClient(func() (string, string, ed25519.PrivateKey, error) { return hub.URL(), "T1", key, nil }, hubsync.FleetClientOpts{})
	ctx := context.Background()
	diag := hub.SendCommand("T1", api.CommandCollectDiagnostics, "", time.Hour)
	expired := hub.SendCommand("T1", api.CommandSyncNow, "", -time.Minute)
	other := hub.SendCommand("T2", api.CommandRestart, "", time.Hour)

	hr, err := fc.Heartbeat(ctx, &api.Heartbeat{})
	if err != nil || len(hr.Commands) != 1 || hr.Commands[0].ID != diag || hr.Commands[0].State != api.CommandQueued {
		t.Fatalf("open commands on the heartbeat: %+v, %v", hr.Commands, err)
	}
	if cl, err := fc.Commands(ctx); err != nil || len(cl) != 1 || cl[0].ID != diag {
		t.Fatalf("command list: %+v, %v", cl, err)
	}
	if ca, err := fc.AckCommand(ctx, diag); err != nil || ca.State != api.CommandDelivered {
		t.Fatalf("ack: %+v, %v", ca, err)
	}
	id, err := fc.UploadDiagnostics(ctx, &api.Diagnostics{CommandID: diag, Status: json.RawMessage(`{"version":"1"}`), Logs: []api.LogLine{{Message: "hello"}}})
	if err != nil || id == "" {
		t.Fatalf("diagnostics: %q, %v", id, err)
	}
	for range 2 { // a repeated report is accepted
		if ca, err := fc.CommandResult(ctx, diag, api.CommandResult{OK: true, Detail: "collected", DiagnosticsID: id}); err != nil || ca.State != api.CommandDone {
			t.Fatalf("result: %+v, %v", ca, err)
		}
	}
	if c, _ := hub.Command(diag); c.State != api.CommandDone || c.Result != "collected (diagnostics "+id+")" {
		t.Fatalf("command at the hub: %+v", c)
	}
	if bs := hub.Diagnostics(); len(bs) != 1 || bs[0].ID != id || bs[0].TerminalID != "T1" || bs[0].Logs[0].Message != "hello" {
		t.Fatalf("bundles: %+v", bs)
	}
	var he *hubsync.HubError
	if _, err := fc.AckCommand(ctx, diag); !errors.As(err, &he) || he.Status != http.StatusConflict || he.Code != api.CodeCommandClosed {
		t.Fatalf("ack of a finished command: %v", err)
	}
	if _, err := fc.AckCommand(ctx, expired); !errors.As(err, &he) || he.Code != api.CodeCommandClosed {
		t.Fatalf("ack of an expired command: %v", err)
	}
	if c, _ := hub.Command(expired); c.State != api.CommandExpired {
		t.Fatalf("expired command is %s", c.State)
	}
	if _, err := fc.AckCommand(ctx, other); !errors.As(err, &he) || he.Status != http.StatusNotFound {
		t.Fatalf("ack of another terminal's command: %v", err)
	}
}

// A status fault answers the next N requests of its path with the
// status and Retry-After, then the hub is itself again.
func TestFaultStatusForTheNextRequests(t *testing.T) {
	hub := fakehub.Start(t, fakehub.Opts{})
	tm := newTerminal(t, hub, "T1")
	hub.Inject(api.PathRecords, 2, fakehub.Fault{Status: http.StatusServiceUnavailable, RetryAfter: 42 * time.Second})
	if a := tm.json(http.MethodGet, api.PathPing, nil, nil); a.status != http.StatusOK {
		t.Fatalf("another path met the fault: %d", a.status)
	}
	r := record("a")
	for i := range 2 {
		a := tm.upload(r)
		if a.status != http.StatusServiceUnavailable || a.header.Get("Retry-After") != "42" || a.code() != api.CodeOverloaded {
			t.Fatalf("upload %d: %d %s Retry-After %q", i, a.status, a.body, a.header.Get("Retry-After"))
		}
	}
	if got := ack(t, tm.upload(r)); got.Stored != 1 {
		t.Fatalf("third upload %+v", got)
	}
	reqs := hub.Requests()
	if len(reqs) != 4 || reqs[1].Fault == nil || reqs[1].Status != 503 || reqs[3].Fault != nil || reqs[3].Status != 200 || reqs[3].ContentEncoding != "gzip" || reqs[3].Terminal != "T1" {
		t.Fatalf("request log %+v", reqs)
	}
	if hub.Count(api.PathRecords) != 3 || hub.Count("") != 4 {
		t.Fatalf("counts %d %d", hub.Count(api.PathRecords), hub.Count(""))
	}
}

// Always keeps a fault until ClearFaults; "" is every path, a trailing
// "/" every path under it.
func TestFaultAlwaysAndPathPatterns(t *testing.T) {
	hub := fakehub.Start(t, fakehub.Opts{})
	tm := newTerminal(t, hub, "T1")
	hub.Inject("", fakehub.Always, fakehub.Fault{Status: http.StatusInternalServerError})
	for range 3 {
		if a := tm.send(http.MethodGet, api.PathPing, nil); a.status != http.StatusInternalServerError || a.code() != api.CodeInternal {
			t.Fatalf("ping under an Always fault: %d %s", a.status, a.body)
		}
	}
	hub.ClearFaults()
	hub.Inject(api.PathCommands+"/", 1, fakehub.Fault{Status: http.StatusTooManyRequests, Code: "custom"})
	id := hub.SendCommand("T1", api.CommandSyncNow, "", time.Hour)
	if a := tm.send(http.MethodGet, api.PathCommands, nil); a.status != http.StatusOK {
		t.Fatalf("the command list is not under %s/: %d", api.PathCommands, a.status)
	}
	if a := tm.json(http.MethodPost, api.CommandAckPath(id), struct{}{}, nil); a.status != http.StatusTooManyRequests || a.code() != "custom" {
		t.Fatalf("ack under the fault: %d %s", a.status, a.body)
	}
	if a := tm.json(http.MethodPost, api.CommandAckPath(id), struct{}{}, nil); a.status != http.StatusOK {
		t.Fatalf("ack after the fault: %d %s", a.status, a.body)
	}
}

// Drop closes the connection before the request is handled: nothing is
// stored. CutBody handles it and cuts the answer: stored, unheard.
func TestFaultDropAndCutBody(t *testing.T) {
	hub := fakehub.Start(t, fakehub.Opts{})
	tm := newTerminal(t, hub, "T1")
	hub.Inject(api.PathRecords, 1, fakehub.Fault{Drop: true})
	if a := tm.upload(record("dropped")); a.err == nil {
		t.Fatalf("dropped upload answered %d %s", a.status, a.body)
	}
	if n := len(hub.Records()); n != 0 {
		t.Fatalf("a dropped upload stored %d records", n)
	}
	hub.Inject(api.PathRecords, 1, fakehub.Fault{CutBody: true})
	r := record("cut")
	a := tm.upload(r)
	if a.err == nil || !errors.Is(a.err, io.ErrUnexpectedEOF) || a.status != http.StatusOK {
		t.Fatalf("cut answer: %d %q %v", a.status, a.body, a.err)
	}
	if got := hub.RecordsOf("cut"); len(got) != 1 {
		t.Fatalf("the cut upload was not stored: %+v", hub.Records())
	}
	if got := ack(t, tm.upload(r)); got.Duplicates != 1 {
		t.Fatalf("the upload again: %+v", got)
	}
	// A 304 has no body to cut: nothing of it arrives.
	v := hub.SetConfig(`{}`)
	hub.Inject(api.PathConfig, 1, fakehub.Fault{CutBody: true})
	if a := tm.send(http.MethodGet, api.PathConfig, nil, "If-None-Match", `"`+v+`"`); a.err == nil {
		t.Fatalf("cut 304 arrived: %d", a.status)
	}
	reqs := hub.Requests()
	if reqs[0].Status != 0 || reqs[1].Status != http.StatusOK || reqs[1].Fault == nil || !reqs[1].Fault.CutBody {
		t.Fatalf("request log %+v", reqs)
	}
}

// Delay holds the answer; a client that gives up is let go, and so is
// one whose hub stops.
func TestFaultDelay(t *testing.T) {
	hub := fakehub.Start(t, fakehub.Opts{})
	tm := newTerminal(t, hub, "T1")
	hub.Inject(api.PathPing, 1, fakehub.Fault{Delay: 300 * time.Millisecond})
	start := time.Now()
	if a := tm.send(http.MethodGet, api.PathPing, nil); a.status != http.StatusOK || time.Since(start) < 300*time.Millisecond {
		t.Fatalf("delayed ping: %d after %v", a.status, time.Since(start))
	}
	hub.Inject(api.PathPing, 1, fakehub.Fault{Delay: time.Hour})
	done := make(chan answer, 1)
	go func() { done <- tm.send(http.MethodGet, api.PathPing, nil) }()
	testutil.Eventually(t, "the second ping held", func() bool { return hub.Count(api.PathPing) == 2 })
	stopped := time.Now()
	hub.Stop()
	if a := <-done; a.err == nil || time.Since(stopped) > 10*time.Second {
		t.Fatalf("a request held for an hour answered %d when the hub stopped", a.status)
	}
}

// Hold keeps a request until the test lets it go; the hub has seen it
// meanwhile but not handled it.
func TestFaultHold(t *testing.T) {
	hub := fakehub.Start(t, fakehub.Opts{})
	tm := newTerminal(t, hub, "T1")
	release := make(chan struct{})
	hub.Inject(api.PathRecords, 1, fakehub.Fault{Hold: release})
	body := gzipped(t, api.Batch{Records: []api.Record{record("held")}})
	done := make(chan answer, 1)
	go func() { done <- tm.send(http.MethodPost, api.PathRecords, body, "Content-Encoding", "gzip") }()
	testutil.Eventually(t, "the upload at the hub", func() bool { return hub.Count(api.PathRecords) == 1 })
	select {
	case a := <-done:
		t.Fatalf("a held upload was answered: %d %s", a.status, a.body)
	default:
	}
	if n := len(hub.Records()); n != 0 {
		t.Fatalf("a held upload stored %d records", n)
	}
	close(release)
	if got := ack(t, <-done); got.Stored != 1 {
		t.Fatalf("released upload %+v", got)
	}
}

// Stop takes the hub away; Restart brings it back at the same address
// with what it held.
func TestStopAndRestart(t *testing.T) {
	hub := fakehub.Start(t, fakehub.Opts{})
	tm := newTerminal(t, hub, "T1")
	url := hub.URL()
	ack(t, tm.upload(record("before")))
	hub.Stop()
	if a := tm.send(http.MethodGet, api.PathPing, nil); a.err == nil {
		t.Fatalf("a stopped hub answered %d", a.status)
	}
	hub.Restart()
	if hub.URL() != url {
		t.Fatalf("restarted at %s, was %s", hub.URL(), url)
	}
	if got := ack(t, tm.upload(record("after"))); got.Stored != 1 || len(hub.Records()) != 2 {
		t.Fatalf("after the restart: %+v, %d records", got, len(hub.Records()))
	}
}

// The hub's clock decides freshness: a terminal on a fast clock is
// accepted by a hub on the same clock.
func TestHubClock(t *testing.T) {
	later := time.Now().Add(time.Hour)
	hub := fakehub.Start(t, fakehub.Opts{Now: func() time.Time { return later }})
	tm := newTerminal(t, hub, "T1")
	if a := tm.send(http.MethodGet, api.PathPing, nil); a.status != http.StatusUnauthorized || a.code() != api.CodeClockSkew {
		t.Fatalf("a terminal an hour behind: %d %s", a.status, a.body)
	}
	tm.at = later
	if a := tm.send(http.MethodGet, api.PathPing, nil); a.status != http.StatusOK {
		t.Fatalf("a terminal on the hub's clock: %d %s", a.status, a.body)
	}
}

// The deployment's card key goes, as from the real hub, only to a
// heartbeat naming another key, and only once one is set.
func TestHeartbeatCardKey(t *testing.T) {
	hub := fakehub.Start(t, fakehub.Opts{})
	tm := newTerminal(t, hub, "T1")
	own := api.Heartbeat{CardKeyID: api.CardKeyID([]byte("own"))}
	var hr api.HeartbeatResponse
	if tm.json(http.MethodPost, api.PathHeartbeat, own, &hr); hr.CardKey != "" {
		t.Fatalf("a key sent before one is set: %q", hr.CardKey)
	}
	key := bytes.Repeat([]byte{7}, api.CardKeyLen)
	hub.SetCardKey(key)
	for name, c := range map[string]struct {
		hb   api.Heartbeat
		want bool
	}{"another key": {own, true}, "the deployment's": {api.Heartbeat{CardKeyID: api.CardKeyID(key)}, false}, "an older agent": {api.Heartbeat{}, false}} {
		hr = api.HeartbeatResponse{}
		if a := tm.json(http.MethodPost, api.PathHeartbeat, c.hb, &hr); a.status != http.StatusOK {
			t.Fatalf("%s: %d %s", name, a.status, a.body)
		}
		if got, err := api.ParseCardKey(hr.CardKey); c.want && (err != nil || !bytes.Equal(got, key)) || !c.want && hr.CardKey != "" {
			t.Errorf("%s: card_key %q", name, hr.CardKey)
		}
	}
}
