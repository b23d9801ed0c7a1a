package cli_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/cli"
	"github.com/quartierhub/quartierhub/hub-server/internal/fleet"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/teststores"
	"github.com/quartierhub/quartierhub/internal/testutil"
)

type hubProc struct {
	base   string
	logs   *syncBuffer
	cancel context.CancelFunc
	done   chan int
}

func startServe(t *testing.T, args ...string) *hubProc {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := &hubProc{logs: newSyncBuffer(), cancel: cancel, done: make(chan int, 1)}
	addrc := make(chan net.Addr, 1)
	go func() {
		p.done <- cli.Main(ctx, append([]string{"serve", "--listen", "127.0.0.1:0"}, args...),
			cli.Opts{Stdout: p.logs, Stderr: p.logs, OnListening: func(a net.Addr) { addrc <- a }})
	}()
	select {
	case a := <-addrc:
		p.base = "http://" + a.String()
	case code := <-p.done:
		t.Fatalf("serve exited %d: %s", code, p.logs.String())
	}
	t.Cleanup(func() {
		cancel()
		if code := <-p.done; code != 0 {
			t.Errorf("serve exit %d: %s", code, p.logs.String())
		}
	})
	return p
}

type webhook struct {
	mu     sync.Mutex
	events []string
}

func (w *webhook) ServeHTTP(_ http.ResponseWriter, r *http.Request) {
	var ev fleet.WebhookAlert
	if json.NewDecoder(r.Body).Decode(&ev) == nil {
		w.mu.Lock()
		w.events = append(w.events, ev.Event+" "+ev.Alert.Kind)
		w.mu.Unlock()
	}
}

func (w *webhook) got() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.events...)
}

// Two hub processes on one PostgreSQL database, no load balancer: one
// terminal talks to both in turn. Both accept its heartbeats and uploads,
// uploads stay idempotent across them, an alert opened through one is
// resolved through the other (which never saw it open), and the webhook
// hears each opening and resolution once although both processes run a
// notifier — only the lease holder does its work.
func TestTwoServesOneDatabase(t *testing.T) {
	db := teststores.PostgresURL(t)
	hook := &webhook{}
	hs := httptest.NewServer(hook)
	defer hs.Close()
	flags := []string{"--db", db, "--webhook", hs.URL, "--webhook-poll", "100ms"}
	a, b := startServe(t, flags...), startServe(t, flags...)

	tok, errOut, code := run(t, "token", "create", "--db", db, "--terminal", "jst-1", "--quarter", "Johannstadt")
	if code != 0 {
		t.Fatalf("token create: %s", errOut)
	}
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	body, _ := json.Marshal(api.EnrollRequest{Token: strings.TrimSpace(tok), PublicKey: api.EncodePublicKey(pub), SoftwareVersion: "1.0.0"})
	req, _ := http.NewRequest("POST", b.base+api.PathEnroll, bytes.NewReader(body))
	status, rb := send(t, req)
	var er api.EnrollResponse
	if status != 200 || json.Unmarshal(rb, &er) != nil {
		t.Fatalf("enroll via b: %d %s", status, rb)
	}
	// The same token through the other process: already used.
	req, _ = http.NewRequest("POST", a.base+api.PathEnroll, bytes.NewReader(body))
	if status, rb := send(t, req); status != 401 || !strings.Contains(string(rb), api.CodeTokenUsed) {
		t.Errorf("token reused via a: %d %s", status, rb)
	}

	signed := func(p *hubProc, path string, v any) (int, []byte) {
		t.Helper()
		body, _ := json.Marshal(v)
		req, _ := http.NewRequest("POST", p.base+path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		api.SignRequest(req, priv, er.TerminalID, time.Now(), body)
		return send(t, req)
	}
	beat := func(p *hubProc, paper string) {
		t.Helper()
		hb := api.Heartbeat{SoftwareVersion: "1.0.0", Devices: []api.DeviceHealth{{Name: "printer", Kind: "escpos", State: "connected", Paper: paper}},
			DiskFreeBytes: 10 << 30, DiskTotalBytes: 20 << 30}
		if status, rb := signed(p, api.PathHeartbeat, hb); status != 200 {
			t.Fatalf("heartbeat (%s) to %s: %d %s", paper, p.base, status, rb)
		}
	}
	beat(b, "ok")  // b loads its view of the open alerts: none
	beat(a, "out") // a opens paper_out
	beat(a, "out") // still out: no second alert
	beat(b, "ok")  // b resolves what a opened

	batch := api.Batch{Records: []api.Record{
		{ID: "01JX0000000000000000000001", Type: "sensor.sds011", Class: api.ClassSensor, CreatedAt: time.Now(), Payload: json.RawMessage(`{"pm25":1}`)},
		{ID: "01JX0000000000000000000002", Type: "sensor.sds011", Class: api.ClassSensor, CreatedAt: time.Now(), Payload: json.RawMessage(`{"pm25":2}`)},
	}}
	for i, p := range []*hubProc{a, b} {
		status, rb := signed(p, api.PathRecords, batch)
		var ack api.BatchAck
		if status != 200 || json.Unmarshal(rb, &ack) != nil || (i == 0 && ack.Stored != 2) || (i == 1 && ack.Duplicates != 2) {
			t.Errorf("upload %d: %d %s", i, status, rb)
		}
	}

	want := []string{"alert.opened paper_out", "alert.resolved paper_out"}
	testutil.Eventually(t, "two notices at the webhook", func() bool { return len(hook.got()) >= len(want) })
	// Both notifiers poll every 100ms: thirty polls give a second sender
	// every chance to repeat a notice.
	time.Sleep(3 * time.Second)
	if got := hook.got(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("webhook got %q, want %q", got, want)
	}
	out, _, _ := run(t, "alert", "list", "--db", db, "--all")
	if strings.Count(out, "paper_out") != 1 {
		t.Errorf("alert list:\n%s", out)
	}
	for _, p := range []*hubProc{a, b} {
		req, _ := http.NewRequest("GET", p.base+"/metrics", nil)
		if status, rb := send(t, req); status != 200 || !strings.Contains(string(rb), "quartierhub_heartbeats_total ") {
			t.Errorf("metrics of %s: %d", p.base, status)
		}
	}
	leaders := strings.Count(a.logs.String()+b.logs.String(), "leading=true")
	if leaders != 1 {
		t.Errorf("%d processes lead the fleet singletons, want 1", leaders)
	}
}
