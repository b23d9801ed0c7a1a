package hub_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/fleet"
	"github.com/quartierhub/quartierhub/hub-server/internal/hub"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/hub-server/internal/workshops"
	"github.com/quartierhub/quartierhub/internal/testutil"
	"github.com/quartierhub/quartierhub/internal/workshop"
)

// logBuffer holds the hub's log for assertions.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// running is a hub started by start.
type running struct {
	*hub.Hub
	base   string // http://ADDR
	logs   *logBuffer
	cancel context.CancelFunc
	done   chan error // Run's result
}

// start builds a hub on a fresh SQLite data directory with cfg's other
// settings and runs it until the test ends.
func start(t *testing.T, cfg hub.Config) *running {
	t.Helper()
	logs := &logBuffer{}
	addrc := make(chan net.Addr, 1)
	cfg.Store = hub.Location{DataDir: t.TempDir()}
	cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
	cfg.OnListening = func(a net.Addr) { addrc <- a }
	if cfg.Listener == nil {
		cfg.Listen = "127.0.0.1:0"
	}
	ctx, cancel := context.WithCancel(context.Background())
	h, err := hub.New(ctx, cfg)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	r := &running{Hub: h, logs: logs, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- h.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-r.done
		h.Close()
	})
	select {
	case a := <-addrc:
		r.base = "http://" + a.String()
	case err := <-r.done:
		t.Fatalf("hub stopped before listening: %v\n%s", err, logs)
	}
	return r
}

// stopped waits for Run's result.
func (r *running) stopped(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.done:
		r.done <- err // for the cleanup
		return err
	case <-time.After(20 * time.Second):
		t.Fatalf("hub still running\n%s", r.logs)
		return nil
	}
}

func do(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	return do(t, req)
}

// webhook collects the alert notices it is sent.
type webhook struct {
	mu     sync.Mutex
	events []string
}

func (h *webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var ev fleet.WebhookAlert
	if err := json.NewDecoder(r.Body).Decode(&ev); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, ev.Event+" "+ev.Alert.Kind)
}

func (h *webhook) got() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.events...)
}

// One address serves the operations endpoints, the terminal API and the
// console; a heartbeat passes the batcher and the evaluator, and the
// notifier tells the webhook; the profiles are on their own address; on
// cancel every part stops and Run returns nil.
func TestHubServesAndStopsOnCancel(t *testing.T) {
	hook := &webhook{}
	hookSrv := httptest.NewServer(hook)
	defer hookSrv.Close()
	h := start(t, hub.Config{Pprof: "127.0.0.1:0", Fleet: hub.FleetConfig{Webhook: hookSrv.URL}})
	ctx := context.Background()

	// The terminal API: enrol with a token made in the hub's store.
	tok := "qht_engine-test-token"
	now := time.Now()
	if err := h.Store.CreateEnrolToken(ctx, store.EnrolToken{Hash: sha256.Sum256([]byte(tok)), TerminalName: "prohlis-1", Quarter: "Prohlis",
		CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	body, _ := json.Marshal(api.EnrollRequest{Token: tok, PublicKey: api.EncodePublicKey(pub), SoftwareVersion: "0.1.0"})
	req, _ := http.NewRequest("POST", h.base+api.PathEnroll, bytes.NewReader(body))
	code, rb := do(t, req)
	var er api.EnrollResponse
	if code != 200 || json.Unmarshal([]byte(rb), &er) != nil || er.Name != "prohlis-1" {
		t.Fatalf("enroll: %d %s", code, rb)
	}

	// A heartbeat with the printer out of paper: stored by the batcher,
	// an alert opened by the evaluator, the webhook told by the notifier.
	body, _ = json.Marshal(api.Heartbeat{SoftwareVersion: "0.1.0", Devices: []api.DeviceHealth{{Name: "printer", Kind: "escpos", State: "connected", Paper: "out"}}})
	req, _ = http.NewRequest("POST", h.base+api.PathHeartbeat, bytes.NewReader(body))
	api.SignRequest(req, priv, er.TerminalID, time.Now(), body)
	if code, rb := do(t, req); code != 200 {
		t.Fatalf("heartbeat: %d %s", code, rb)
	}
	if hl, err := h.Store.Health(ctx, er.TerminalID); err != nil || !strings.Contains(string(hl.State), `"paper":"out"`) {
		t.Errorf("stored health: %s, %v", hl.State, err)
	}
	als, err := h.Store.Alerts(ctx, store.AlertFilter{State: store.AlertOpen, TerminalID: er.TerminalID})
	if err != nil || len(als) != 1 || als[0].Kind != fleet.AlertPaperOut {
		t.Errorf("open alerts after the heartbeat: %+v, %v", als, err)
	}
	testutil.Eventually(t, "the webhook to hear of paper_out", func() bool {
		got := hook.got()
		return len(got) == 1 && got[0] == "alert.opened "+fleet.AlertPaperOut
	})

	// A workshop's live socket through the whole server (its middleware
	// passes the connection on); the hub's stop closes it below.
	spec := workshop.Spec{Title: "Elbwiesen", Question: "?", Terminals: []string{er.TerminalID}}
	ws, err := h.Workshops.Create(ctx, spec, "lead")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Workshops.GoToPhase(ctx, ws.ID, workshops.ModeratorActor("lead"), 0); err != nil {
		t.Fatal(err)
	}
	livePath := api.WorkshopLivePath(ws.ID) + "?after=0"
	live, _, err := websocket.Dial(ctx, h.base+livePath, &websocket.DialOptions{
		HTTPHeader: http.Header{"Authorization": {api.Sign(priv, er.TerminalID, "GET", livePath, time.Now(), nil)}}})
	if err != nil {
		t.Fatalf("live socket: %v", err)
	}
	defer live.CloseNow()
	if _, msg, err := live.Read(ctx); err != nil || !strings.Contains(string(msg), `"cursor":1`) {
		t.Fatalf("live socket's first push: %s, %v", msg, err)
	}

	// The console and the operations endpoints on the same address.
	if code, page := get(t, h.base+"/console/login"); code != 200 || !strings.Contains(page, "<form") {
		t.Errorf("console login page: %d\n%s", code, page)
	}
	if code, body := get(t, h.base+"/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("healthz: %d %q", code, body)
	}
	if code, metrics := get(t, h.base+"/metrics"); code != 200 ||
		!strings.Contains(metrics, `quartierhub_http_requests_total{code="200",method="POST",route="POST /api/v1/enroll"} 1`) ||
		!strings.Contains(metrics, `quartierhub_heartbeats_total 1`) {
		t.Errorf("metrics: %d\n%s", code, metrics)
	}

	// The profiles: on their own address only.
	m := regexp.MustCompile(`msg="pprof listening" addr=(\S+)`).FindStringSubmatch(h.logs.String())
	if m == nil {
		t.Fatalf("no pprof address in the log:\n%s", h.logs)
	}
	if code, _ := get(t, "http://"+m[1]+"/debug/pprof/cmdline"); code != 200 {
		t.Errorf("pprof on its address: %d", code)
	}
	if code, _ := get(t, h.base+"/debug/pprof/cmdline"); code == 200 {
		t.Error("pprof reachable through the hub's address")
	}

	h.cancel()
	if err := h.stopped(t); err != nil {
		t.Errorf("Run after cancel = %v", err)
	}
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, _, err := live.Read(rctx); websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Errorf("live socket after the hub stopped: %v", err)
	}
	if !strings.Contains(h.logs.String(), `msg="hub stopped"`) {
		t.Errorf("no clean shutdown in the log:\n%s", h.logs)
	}
	if _, err := http.Get("http://" + m[1] + "/debug/pprof/"); err == nil {
		t.Error("pprof still serving after Run returned")
	}
}

// When one part fails (here the server, its listener closed under it)
// Run stops the others and returns that failure.
func TestHubPartFailureStopsTheRest(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := start(t, hub.Config{Listener: ln})
	if code, _ := get(t, h.base+"/healthz"); code != 200 {
		t.Fatalf("healthz: %d", code)
	}
	ln.Close()
	err = h.stopped(t)
	if err == nil || !strings.Contains(err.Error(), "server:") {
		t.Errorf("Run after the server failed = %v, want the server's error", err)
	}
}

func TestNewRefusesHalfTLS(t *testing.T) {
	dir := t.TempDir()
	_, err := hub.New(context.Background(), hub.Config{Store: hub.Location{DataDir: dir}, TLSCertFile: "cert.pem"})
	if err == nil {
		t.Fatal("New with a certificate and no key succeeded")
	}
}
