package console

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/rollout"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/teststores"
	"github.com/quartierhub/quartierhub/internal/testutil"
)

// chromium finds the browser; in CI (CI=true) a missing browser fails.
func chromium(t *testing.T) string {
	for _, n := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("console browser tests need Chromium: apt-get install -y chromium (make deps-test installs it)")
	}
	t.Skip("no Chromium on PATH (apt-get install -y chromium); skipping the browser tests")
	return ""
}

func newBrowser(t *testing.T) context.Context {
	path := chromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelT(); cancelC(); cancelA() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// shots writes full-page screenshots when CONSOLE_SCREENSHOTS names a
// directory (docs/screenshots is where the repository keeps them).
type shots struct {
	t   *testing.T
	dir string
}

func (s shots) take(name string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if s.dir == "" {
			return nil
		}
		buf, err := chromedp.FullScreenshot(100)(ctx, t)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(s.dir, "console-"+name+".png"), buf, 0o644)
	})
}

func run(t *testing.T, ctx context.Context, what string, acts ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, acts...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func textOf(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("read %s: %v", sel, err)
	}
	return s
}

// TestBrowserFlow is what an IT person does: log in, find an offline
// terminal, send it a command, see it delivered when the terminal comes
// back, edit content and see the terminal pick it up.
func TestBrowserFlow(t *testing.T) { teststores.EachKind(t, testBrowserFlow) }

func testBrowserFlow(t *testing.T, kind string) {
	ctx := newBrowser(t)
	h := newHubOn(t, kind, nil)
	sh := shots{t: t, dir: os.Getenv("CONSOLE_SCREENSHOTS")}
	h.addUser("anna", store.RoleAdmin)
	lib := h.enrolTerminal("jst-library-1", "Johannstadt")
	lib.heartbeat(api.Heartbeat{SoftwareVersion: "1.2.3", Devices: []api.DeviceHealth{
		{Name: "printer", Kind: "escpos", State: "connected", Paper: "ok"}, {Name: "pm-1", Kind: "sds011", State: "connected"}}})
	h.clock.Advance(10 * time.Minute) // the library terminal is now offline
	tram := h.enrolTerminal("fst-tram-1", "Friedrichstadt")
	tram.heartbeat(api.Heartbeat{SoftwareVersion: "1.2.3", Devices: []api.DeviceHealth{{Name: "printer", Kind: "escpos", State: "connected", Paper: "out"}},
		Outbox: map[string]api.Backlog{"resident": {Count: 3, OldestAgeSeconds: 40}}})
	h.st.OpenAlert(context.Background(), store.Alert{ID: "A1", TerminalID: tram.id, Kind: "paper_out", Detail: "printer: paper out",
		FirstSeen: h.clock.Now(), LastSeen: h.clock.Now()}) // as the evaluator would
	h.enrolTerminal("prohlis-center-1", "Dresden-Ost/Prohlis")
	base := h.srv.URL

	// Log in (the console sends a stranger to the login page first).
	run(t, ctx, "login page", chromedp.Navigate(base+"/console/"), chromedp.WaitVisible(chromedp.ID("#name")), sh.take("login"))
	run(t, ctx, "log in",
		chromedp.SendKeys(chromedp.ID("#name"), "anna"), chromedp.SendKeys(chromedp.ID("#password"), testPassword),
		chromedp.Submit(chromedp.ID("#password")), chromedp.WaitVisible(chromedp.CSS(`ul.counts`)))
	if s := textOf(t, ctx, "h1"); s != "Fleet" {
		t.Fatalf("after login: h1 %q", s)
	}
	run(t, ctx, "fleet shot", sh.take("fleet"))

	// Find the offline terminal with the filters.
	run(t, ctx, "filter offline",
		chromedp.SetValue(chromedp.ID("#f-status"), "offline"), chromedp.Submit(chromedp.ID("#f-status")),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/console/terminals/jst-library-1"]`)))
	if body := textOf(t, ctx, "tbody"); strings.Contains(body, "fst-tram-1") || !strings.Contains(body, "Offline") {
		t.Fatalf("offline filter shows: %q", body)
	}
	run(t, ctx, "open terminal", chromedp.Click(chromedp.CSS(`a[href="/console/terminals/jst-library-1"]`)), chromedp.WaitVisible(chromedp.ID("#h-health")))

	// Send it a command; it waits.
	run(t, ctx, "send command",
		chromedp.SetValue(chromedp.ID("#kind"), api.CommandTestPrint), chromedp.Click(chromedp.CSS(`#commands button.primary`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)))
	if s := textOf(t, ctx, "#command-table tbody"); !strings.Contains(s, "Print a test receipt") || !strings.Contains(s, "Waiting for the terminal") {
		t.Fatalf("command table: %q", s)
	}

	// The terminal comes back: its heartbeat carries the command; it
	// acknowledges and reports the result over the real API.
	resp := lib.heartbeat(api.Heartbeat{SoftwareVersion: "1.2.3"})
	if len(resp.Commands) != 1 || resp.Commands[0].Kind != api.CommandTestPrint {
		t.Fatalf("heartbeat answer commands: %+v", resp.Commands)
	}
	cid := resp.Commands[0].ID
	if st, b := lib.call(http.MethodPost, api.CommandAckPath(cid), nil, nil); st != 200 {
		t.Fatalf("ack: %d %s", st, b)
	}
	run(t, ctx, "reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("#command-table")))
	if s := textOf(t, ctx, "#command-table tbody"); !strings.Contains(s, "Delivered") {
		t.Fatalf("after the terminal took it: %q", s)
	}
	if st, b := lib.call(http.MethodPost, api.CommandResultPath(cid), api.CommandResult{OK: true, Detail: "printed"}, nil); st != 200 {
		t.Fatalf("result: %d %s", st, b)
	}
	run(t, ctx, "reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("#command-table")))
	if s := textOf(t, ctx, "#command-table tbody"); !strings.Contains(s, "Done") || !strings.Contains(s, "printed") {
		t.Fatalf("after the result: %q", s)
	}
	if s := textOf(t, ctx, "h1"); !strings.Contains(s, "Online") {
		t.Fatalf("terminal header after its return: %q", s)
	}
	run(t, ctx, "terminal shot", sh.take("terminal"))

	// Edit content with validation and preview; the terminal picks it up.
	content := strings.Replace(testContent, `"problem_categories"`,
		`"announcements": [{"id": "fest", "title": {"de": "Stadtteilfest am Samstag", "en": "Street party on Saturday"}}], "problem_categories"`, 1)
	run(t, ctx, "edit config",
		chromedp.Navigate(base+"/console/config/edit?scope=global"), chromedp.WaitVisible(chromedp.ID("#document")),
		chromedp.SetValue(chromedp.ID("#document"), `{"content": {"services": []}}`),
		chromedp.Click(chromedp.CSS(`button[value="preview"]`)), chromedp.WaitVisible(chromedp.ID("#config-errors")))
	if s := textOf(t, ctx, "#config-errors"); !strings.Contains(s, "invalid configuration") {
		t.Fatalf("validation message: %q", s)
	}
	run(t, ctx, "preview",
		chromedp.SetValue(chromedp.ID("#document"), content),
		chromedp.Click(chromedp.CSS(`button[value="preview"]`)), chromedp.WaitVisible(chromedp.ID("#h-preview")), sh.take("config-preview"))
	if s := textOf(t, ctx, ".preview"); !strings.Contains(s, "Stadtteilfest am Samstag") || !strings.Contains(s, "Problem melden") {
		t.Fatalf("preview: %q", s)
	}
	run(t, ctx, "save", chromedp.Click(chromedp.CSS(`button[value="save"]`)), chromedp.WaitVisible(chromedp.CSS(".flash")))
	hb := lib.heartbeat(api.Heartbeat{SoftwareVersion: "1.2.3"})
	var doc api.ConfigDocument
	testutil.EventuallyOK(t, "the new content at the terminal", func() error {
		if st, _ := lib.call(http.MethodGet, api.PathConfig, nil, &doc); st == 200 && strings.Contains(string(doc.Document), "Stadtteilfest") {
			return nil
		}
		hb = lib.heartbeat(api.Heartbeat{SoftwareVersion: "1.2.3"})
		return fmt.Errorf("it has %s", doc.Document)
	}, testutil.Every(50*time.Millisecond))
	if hb.ConfigVersion == "" {
		t.Fatal("heartbeat answer names no configuration version")
	}
	lib.heartbeat(api.Heartbeat{SoftwareVersion: "1.2.3", ConfigVersion: doc.Version})
	run(t, ctx, "terminal config state", chromedp.Navigate(base+"/console/terminals/jst-library-1"), chromedp.WaitVisible(chromedp.ID("#h-health")))
	if s := textOf(t, ctx, ".facts"); !strings.Contains(s, "up to date") {
		t.Fatalf("terminal page after pick-up: %q", s)
	}

	// Acknowledge the tram's alert on the alerts page: the form goes, who
	// and the note show, the alert stays open.
	run(t, ctx, "acknowledge alert",
		chromedp.Navigate(base+"/console/alerts"), chromedp.WaitVisible(chromedp.ID("#note-A1")),
		chromedp.SendKeys(chromedp.ID("#note-A1"), "new roll on the way"), chromedp.Submit(chromedp.ID("#note-A1")),
		chromedp.WaitNotPresent(chromedp.ID("#note-A1")), chromedp.WaitVisible(chromedp.ID("#alert-table")))
	if s := textOf(t, ctx, "#alert-table tbody"); !strings.Contains(s, "by anna") || !strings.Contains(s, "new roll on the way") || !strings.Contains(s, "Open") {
		t.Errorf("alerts page after acknowledging: %q", s)
	}

	// The audit log names every step.
	run(t, ctx, "audit", chromedp.Navigate(base+"/console/audit"), chromedp.WaitVisible(chromedp.CSS("table")), sh.take("audit"))
	audit := textOf(t, ctx, "tbody")
	for _, a := range []string{"user.login", "command.send", "config.set", "alert.ack"} {
		if !strings.Contains(audit, a) {
			t.Errorf("audit page lacks %s", a)
		}
	}

	if sh.dir != "" {
		screenshotTour(t, ctx, h, sh, lib)
	}
}

// screenshotTour fills the remaining pages with data and photographs them.
func screenshotTour(t *testing.T, ctx context.Context, h *hub, sh shots, lib *terminal) {
	base := h.srv.URL
	ref := ""
	for i, r := range []api.ProblemReport{
		{Category: "litter", Text: "Überquellender Mülleimer an der Haltestelle", PlaceName: "Haltestelle Pfotenhauerstraße", Language: "de"},
		{Category: "light", Text: "Laterne flackert seit Tagen", PlaceName: "Bibliothek", Language: "de"},
		{Category: "litter", Text: "Sperrmüll am Gehweg", PlaceName: "Bonhoefferplatz", Language: "de"},
	} {
		id := lib.upload(api.RecordProblemReport, r)
		if i == 0 {
			ref = api.ReportReference(id)
			run(t, ctx, "report", chromedp.Navigate(base+"/console/reports/jst-library-1/"+id), chromedp.WaitVisible(chromedp.ID("#public_note")),
				chromedp.Click(chromedp.CSS(`input[value="in_progress"]`)),
				chromedp.SendKeys(chromedp.ID("#public_note"), "Die Stadtreinigung ist informiert."),
				chromedp.Click(chromedp.CSS(`form button.primary`)), chromedp.WaitVisible(chromedp.CSS(".flash")), sh.take("report"))
		}
	}
	four, five, two := 4, 5, 2
	for _, a := range []map[string]api.SurveyAnswer{
		{"want": {Choices: []string{"yes"}}, "score": {Scale: &four}, "idea": {Text: "Mehr Bänke und Schatten"}},
		{"want": {Choices: []string{"yes"}}, "score": {Scale: &five}},
		{"want": {Choices: []string{"no"}}, "score": {Scale: &two}, "idea": {Text: "Lieber Parkplätze"}},
	} {
		lib.upload(api.RecordSurveyResponse, api.SurveyResponse{Survey: "park", Respondent: strings.Repeat("b", 64), Once: "session", Language: "de", Answers: a})
	}
	diag := lib.diagnostics(api.Diagnostics{Status: []byte(`{"version":"1.2.3","sync":{"hub_reachable":true,"consecutive_failures":0}}`), Logs: []api.LogLine{
		{Time: h.clock.Now().Add(-time.Minute), Level: "INFO", Message: "agent started", Attrs: map[string]string{"version": "1.2.3"}},
		{Time: h.clock.Now(), Level: "WARN", Message: "sync failed", Attrs: map[string]string{"component": "sync", "failures": "2"}},
	}})
	if tram, err := h.st.TerminalByName(context.Background(), "fst-tram-1"); err == nil {
		now := h.clock.Now()
		h.st.CreateAlertMute(context.Background(), store.AlertMute{ID: "M1", TerminalID: tram.ID, Kind: "paper_out", Reason: "Papier ist bestellt",
			CreatedAt: now, CreatedBy: "anna", Until: now.Add(24 * time.Hour)}, store.Audit{At: now, Actor: "anna", Action: "alert.mute"})
	}
	run(t, ctx, "pages",
		chromedp.Navigate(base+"/console/terminals/fst-tram-1"), chromedp.WaitVisible(chromedp.ID("#terminal-alerts")),
		chromedp.Click(chromedp.CSS("#alerts details summary")), chromedp.WaitVisible(chromedp.ID("#mute-reason")), sh.take("terminal-alerts"),
		chromedp.Navigate(base+"/console/terminals/jst-library-1/diagnostics/"+diag), chromedp.WaitVisible(chromedp.ID("#log-table")), sh.take("diagnostics"),
		chromedp.Navigate(base+"/console/reports"), chromedp.WaitVisible(chromedp.CSS("table")), sh.take("reports"),
		chromedp.Navigate(base+"/console/surveys"), chromedp.WaitVisible(chromedp.CSS(".survey")), sh.take("surveys"),
		chromedp.Navigate(base+"/console/alerts"), chromedp.WaitVisible(chromedp.CSS("table")), sh.take("alerts"),
		chromedp.Navigate(base+"/console/users"), chromedp.WaitVisible(chromedp.CSS("table")), sh.take("users"),
		chromedp.Navigate(base+"/console/enrol"), chromedp.WaitVisible(chromedp.ID("#name")),
		chromedp.SendKeys(chromedp.ID("#name"), "jst-pool-1"), chromedp.SendKeys(chromedp.ID("#quarter"), "Johannstadt"),
		chromedp.Submit(chromedp.ID("#quarter")), chromedp.WaitVisible(chromedp.CSS("svg.qr")), sh.take("enrol-token"),
		chromedp.Navigate(base+"/status/"+ref), chromedp.WaitVisible(chromedp.CSS(".status-card")), sh.take("status"),
		chromedp.EmulateViewport(640, 900, chromedp.EmulateScale(2)),
		chromedp.Navigate(base+"/console/"), chromedp.WaitVisible(chromedp.CSS("ul.counts")), sh.take("fleet-zoom200"),
	)
}

// TestBrowserPublishAndRollout is the update path in a real browser:
// publish a release with the files the signer made (the form's CSRF
// token travels first, as the upload's guard needs), start a rollout
// with the "pilot" terminals as canaries, pause it.
func TestBrowserPublishAndRollout(t *testing.T) {
	ctx := newBrowser(t)
	st := teststores.Open(t, teststores.SQLite)
	repo, signer := newRepo(t, st, time.Now(), false)
	h := newHubWith(t, st, func(o *Opts) {
		o.Releases, o.Rollouts, o.TempDir = repo, rollout.New(st, rollout.Opts{}), t.TempDir()
	})
	sh := shots{t: t, dir: os.Getenv("CONSOLE_SCREENSHOTS")}
	h.addUser("anna", store.RoleAdmin)
	pilot := h.enrolTerminal("jst-library-1", "Johannstadt")
	if err := st.SetTerminalTags(context.Background(), pilot.id, []string{"pilot"}, store.Audit{At: time.Now(), Actor: "test", Action: "terminal.tag"}); err != nil {
		t.Fatal(err)
	}
	h.enrolTerminal("fst-tram-1", "Friedrichstadt")
	dir := t.TempDir()
	artifact := []byte("kiosk 1.4.0 release tarball")
	art, targets := filepath.Join(dir, "quartierhub-kiosk_1.4.0_amd64.tar.gz"), filepath.Join(dir, "targets.json")
	if err := os.WriteFile(art, artifact, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(targets, signer.sign("1.4.0", artifact), 0o644); err != nil {
		t.Fatal(err)
	}
	base := h.srv.URL
	run(t, ctx, "log in", chromedp.Navigate(base+"/console/login?next=/console/releases"), chromedp.WaitVisible(chromedp.ID("#name")),
		chromedp.SendKeys(chromedp.ID("#name"), "anna"), chromedp.SendKeys(chromedp.ID("#password"), testPassword),
		chromedp.Submit(chromedp.ID("#password")), chromedp.WaitVisible(chromedp.ID("#releases")))
	run(t, ctx, "publish",
		chromedp.SendKeys(chromedp.ID("#version"), "1.4.0"),
		chromedp.SetUploadFiles(chromedp.ID("#targets"), []string{targets}), chromedp.SetUploadFiles(chromedp.ID("#artifact"), []string{art}),
		chromedp.Click(chromedp.CSS(`form[action="/console/releases"] button.primary`)), chromedp.WaitVisible(chromedp.CSS(".flash")), sh.take("releases"))
	if got := textOf(t, ctx, "#releases tbody"); !strings.Contains(got, "1.4.0") || !strings.Contains(got, "anna") {
		t.Fatalf("releases after publishing: %q", got)
	}
	run(t, ctx, "start rollout",
		chromedp.Click(chromedp.CSS(`nav a[href="/console/rollouts"]`)), chromedp.WaitVisible(chromedp.ID("#start")),
		chromedp.SetValue(chromedp.ID("#version"), "1.4.0"), chromedp.Click(chromedp.CSS(`input[name="canary_tag"][value="pilot"]`)), sh.take("rollout-start"),
		chromedp.Click(chromedp.CSS(`#start button.primary`)), chromedp.WaitVisible(chromedp.ID("#stages")))
	if got := textOf(t, ctx, "h1"); !strings.Contains(got, "Rollout of 1.4.0") || !strings.Contains(got, "Running") {
		t.Fatalf("rollout page h1: %q", got)
	}
	if got := textOf(t, ctx, "#members"); !strings.Contains(got, "jst-library-1") || !strings.Contains(got, "canary") {
		t.Fatalf("members: %q", got)
	}
	run(t, ctx, "pause", chromedp.SendKeys(chromedp.ID("#pause-reason"), "waiting for the library's opening hours"),
		chromedp.Submit(chromedp.ID("#pause-reason")), chromedp.WaitVisible(chromedp.ID("#rollout-reason")), sh.take("rollout"))
	if got := textOf(t, ctx, "h1"); !strings.Contains(got, "Paused") {
		t.Fatalf("after pausing: %q", got)
	}
	run(t, ctx, "windows", chromedp.Navigate(base+"/console/windows"), chromedp.WaitVisible(chromedp.ID("#window-default")), sh.take("windows"))
}
