package hub_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"html"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/console"
	"github.com/quartierhub/quartierhub/hub-server/internal/hub"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/hub-server/internal/tufrepo"
	"github.com/quartierhub/quartierhub/tests/fleetsim"
)

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// staff is a browser session in a hub's console.
type staff struct {
	t    *testing.T
	base string
	c    *http.Client
	csrf string
}

func (s *staff) send(req *http.Request) (int, string, string) {
	s.t.Helper()
	res, err := s.c.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if m := csrfRe.FindSubmatch(b); m != nil {
		s.csrf = html.UnescapeString(string(m[1]))
	}
	return res.StatusCode, string(b), res.Header.Get("Location")
}

func (s *staff) get(path string) (int, string) {
	req, _ := http.NewRequest(http.MethodGet, s.base+path, nil)
	code, body, _ := s.send(req)
	return code, body
}

func (s *staff) post(path string, form url.Values) (int, string, string) {
	form.Set("csrf", s.csrf)
	req, _ := http.NewRequest(http.MethodPost, s.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return s.send(req)
}

// publish uploads a release as the releases page's form does.
func (s *staff) publish(version string, targets, artifact []byte) (int, string) {
	s.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("csrf", s.csrf)
	mw.WriteField("version", version)
	w, _ := mw.CreateFormFile("targets", "targets.json")
	w.Write(targets)
	w, _ = mw.CreateFormFile("artifact", "release.tar.gz")
	w.Write(artifact)
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, s.base+"/console/releases", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	code, page, _ := s.send(req)
	return code, page
}

// TestConsolePublishesAndRollsOut: the hub's console publishes into the
// hub's own TUF repository, reading the online keys that release init
// installed while the hub ran, and starts a rollout of the release on
// the hub's rollout engine.
func TestConsolePublishesAndRollsOut(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	addrc := make(chan net.Addr, 1)
	h, err := hub.New(ctx, hub.Config{Store: hub.Location{DataDir: data}, Listen: "127.0.0.1:0",
		Logger: slog.New(slog.NewTextHandler(&logBuffer{}, nil)), OnListening: func(a net.Addr) { addrc <- a }})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- h.Run(runCtx) }()
	defer func() { cancel(); <-done }()
	base := "http://" + (<-addrc).String()

	const pw = "correct horse battery"
	now := time.Now()
	if err := console.CreateUser(ctx, h.Store, "anna", store.RoleAdmin, pw, console.Params{MemoryKiB: 64, Time: 1, Threads: 1}, now, rand.Reader,
		store.Audit{At: now, Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	s := &staff{t: t, base: base, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	s.get("/console/login")
	if code, body, _ := s.post("/console/login", url.Values{"name": {"anna"}, "password": {pw}}); code != http.StatusSeeOther {
		t.Fatalf("login: %d\n%s", code, body)
	}
	s.get("/console/releases")

	keys := filepath.Join(t.TempDir(), "ceremony")
	if err := tufrepo.Ceremony(keys, now, nil); err != nil {
		t.Fatal(err)
	}
	root, _ := os.ReadFile(filepath.Join(keys, tufrepo.RootFile))
	first, _ := os.ReadFile(filepath.Join(keys, tufrepo.FirstTargetsFile))
	targetsKey, err := tufrepo.ReadKey(filepath.Join(keys, tufrepo.TargetsKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	artifact := []byte("kiosk 1.4.0 release")
	signed, err := tufrepo.SignTargets(tufrepo.SignRequest{Root: root, Previous: first, TargetsKey: targetsKey, Artifact: artifact,
		Custom: tufrepo.Custom{Version: "1.4.0"}, Expires: now.Add(30 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	// Before release init the console says what to do.
	if code, page := s.publish("1.4.0", signed, artifact); code != http.StatusConflict || !strings.Contains(page, "hub-server release init") {
		t.Fatalf("publish before release init: %d\n%s", code, page)
	}
	if err := tufrepo.InstallOnlineKeys(data, filepath.Join(keys, tufrepo.SnapshotKeyFile), filepath.Join(keys, tufrepo.TimestampKeyFile)); err != nil {
		t.Fatal(err)
	}
	online, err := tufrepo.LoadOnlineKeys(data)
	if err != nil {
		t.Fatal(err)
	}
	if err := tufrepo.New(h.Store, online).Init(ctx, root, first, now); err != nil {
		t.Fatal(err)
	}
	if code, page := s.publish("1.4.0", signed, artifact); code != http.StatusSeeOther {
		t.Fatalf("publish: %d\n%s", code, page)
	}
	if code, body := get(t, base+"/tuf/v1/metadata/2.targets.json"); code != 200 || !strings.Contains(body, "quartierhub-kiosk_1.4.0_amd64.tar.gz") {
		t.Fatalf("the repository does not serve the new targets.json: %d", code)
	}

	// A rollout of it, the canary chosen by name.
	tok := "console-test-token"
	if err := h.Store.CreateEnrolToken(ctx, store.EnrolToken{Hash: sha256.Sum256([]byte(tok)), TerminalName: "t-1", Quarter: "Johannstadt",
		CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := fleetsim.Enroll(ctx, base, []fleetsim.NamedToken{{Name: "t-1", Token: tok}}, 1, nil); err != nil {
		t.Fatal(err)
	}
	if code, page := s.get("/console/rollouts"); code != 200 || !strings.Contains(page, `<option value="1.4.0"`) {
		t.Fatalf("rollouts page: %d\n%s", code, page)
	}
	form := url.Values{"version": {"1.4.0"}, "success_percent": {"95"}, "fail_count": {"0"}, "fail_percent": {"10"}, "canary": {"t-1"},
		"stage_name": {"canary", "all"}, "stage_percent": {"0", "100"}, "stage_soak": {"60", "0"}}
	code, page, loc := s.post("/console/rollouts", form)
	if code != http.StatusSeeOther || !strings.HasPrefix(loc, "/console/rollouts/") {
		t.Fatalf("start: %d %s\n%s", code, loc, page)
	}
	ro, err := h.Store.ActiveRollout(ctx)
	if err != nil || ro.Version != "1.4.0" || ro.CreatedBy != "anna" {
		t.Fatalf("active rollout: %+v, %v", ro, err)
	}
}
