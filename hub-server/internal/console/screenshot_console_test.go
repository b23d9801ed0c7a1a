package console

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/internal/testutil"
)

var shotSeq int

// screenshot uploads pic for a new screenshot command (as staff would
// have sent it) and returns the picture's ID.
func (tm *terminal) screenshot(pic []byte) string {
	tm.t.Helper()
	shotSeq++
	now := tm.h.clock.Now()
	command := fmt.Sprintf("SHOT-%s-%d", tm.name, shotSeq)
	if err := tm.h.st.CreateCommands(context.Background(), []store.Command{{ID: command, GroupID: command, TerminalID: tm.id,
		Kind: api.CommandScreenshot, Target: "terminal:" + tm.name, CreatedAt: now, CreatedBy: "test", ExpiresAt: now.Add(time.Hour)}},
		store.Audit{At: now, Actor: "test", Action: "command.send"}); err != nil {
		tm.t.Fatal(err)
	}
	return tm.uploadScreenshot(command, pic)
}

// uploadScreenshot uploads pic for command as the agent does.
func (tm *terminal) uploadScreenshot(command string, pic []byte) string {
	tm.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, tm.h.srv.URL+api.ScreenshotPath(command), bytes.NewReader(pic))
	req.Header.Set("Content-Type", "image/png")
	api.SignRequest(req, tm.priv, tm.id, tm.h.clock.Now(), pic)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		tm.t.Fatal(err)
	}
	defer res.Body.Close()
	var ack api.ScreenshotAck
	if res.StatusCode != 200 || json.NewDecoder(res.Body).Decode(&ack) != nil {
		tm.t.Fatalf("screenshot upload: %d", res.StatusCode)
	}
	return ack.ID
}

var imgRe = regexp.MustCompile(`<img id="screenshot" src="([^"]+)" width="(\d+)" height="(\d+)"`)

// Staff send a screenshot from the terminal page; the terminal's picture
// then shows there with its time, served as a PNG that is never cached;
// sending and every viewing are in the audit log.
func TestScreenshotOnTerminalPage(t *testing.T) {
	h := newHub(t, nil)
	h.addUser("admin", store.RoleAdmin)
	lib := h.enrolTerminal("jst-1", "Johannstadt")
	b := h.browser()
	b.mustLogin("admin")
	if p := b.get("/console/terminals/jst-1"); !strings.Contains(p.body, `id="screen"`) || imgRe.MatchString(p.body) {
		t.Fatalf("before any screenshot the page has no picture:\n%s", p.body)
	}
	form := url.Values{"scope": {"terminal"}, "target": {"jst-1"}, "kind": {api.CommandScreenshot}}
	if p := b.post("/console/commands", form); p.status != http.StatusSeeOther {
		t.Fatalf("send: %d %s", p.status, p.body)
	}
	cmds := lib.heartbeat(api.Heartbeat{SoftwareVersion: "1.2.3", Screen: "attract"}).Commands
	if len(cmds) != 1 || cmds[0].Kind != api.CommandScreenshot {
		t.Fatalf("the terminal's commands: %+v", cmds)
	}
	pic := testutil.PNG(t, 96, 60)
	h.clock.Advance(time.Minute)
	id := lib.uploadScreenshot(cmds[0].ID, pic)
	if st, body := lib.call(http.MethodPost, api.CommandResultPath(cmds[0].ID), api.CommandResult{OK: true, ScreenshotID: id}, nil); st != 200 {
		t.Fatalf("result: %d %s", st, body)
	}
	p := b.get("/console/terminals/jst-1")
	m := imgRe.FindStringSubmatch(p.body)
	if m == nil || m[2] != "96" || m[3] != "60" || !strings.HasSuffix(html.UnescapeString(m[1]), "/screenshots/"+id) {
		t.Fatalf("the page shows no picture %s:\n%s", id, p.body)
	}
	stored, err := h.st.Screenshot(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if taken := when(stored.ReceivedAt); !strings.Contains(p.body, "Taken "+taken) {
		t.Errorf("the page does not say when it was taken (%s)", taken)
	}
	img := b.get(html.UnescapeString(m[1]))
	if img.status != 200 || img.body != string(pic) || img.header.Get("Content-Type") != "image/png" ||
		img.header.Get("Cache-Control") != "no-store" || img.header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("picture: %d, %d bytes, %v", img.status, len(img.body), img.header)
	}
	if csp := img.header.Get("Content-Security-Policy"); !strings.Contains(p.header.Get("Content-Security-Policy"), "img-src 'self'") || csp == "" {
		t.Errorf("CSP: page %q, picture %q", p.header.Get("Content-Security-Policy"), csp)
	}
	b.get(html.UnescapeString(m[1]))
	entries, err := h.st.AuditEntries(context.Background(), store.AuditFilter{Subject: "terminal:jst-1"})
	if err != nil {
		t.Fatal(err)
	}
	views, sent := 0, 0
	for _, e := range entries {
		switch {
		case e.Action == "screenshot.view" && e.Actor == "admin" && e.Detail == id:
			views++
		case e.Action == "command.send" && e.Actor == "admin" && strings.HasPrefix(e.Detail, api.CommandScreenshot+" "):
			sent++
		}
	}
	if views != 2 || sent != 1 {
		t.Errorf("audit: %d views of %s (want 2), %d screenshot commands sent (want 1): %+v", views, id, sent, entries)
	}
}

// Moderators neither see nor fetch screenshots; a picture is found only
// under its own terminal; a screenshot is sent to one terminal only.
func TestScreenshotGuarded(t *testing.T) {
	h := newHub(t, nil)
	h.addUser("admin", store.RoleAdmin)
	h.addUser("mod", store.RoleModerator)
	h.addUser("view", store.RoleViewer)
	lib := h.enrolTerminal("jst-1", "Johannstadt")
	h.enrolTerminal("jst-2", "Johannstadt")
	id := lib.screenshot(testutil.PNG(t, 20, 10))
	mod := h.browser()
	mod.mustLogin("mod")
	if p := mod.get("/console/terminals/jst-1"); p.status != 200 || strings.Contains(p.body, `id="screen"`) || strings.Contains(p.body, id) {
		t.Errorf("a moderator's terminal page shows the screenshot: %d", p.status)
	}
	if p := mod.get("/console/terminals/jst-1/screenshots/" + id); p.status != http.StatusForbidden {
		t.Errorf("a moderator fetched the picture: %d", p.status)
	}
	view := h.browser()
	view.mustLogin("view")
	if p := view.get("/console/terminals/jst-1"); !imgRe.MatchString(p.body) || strings.Contains(p.body, `value="screenshot"`) {
		t.Errorf("a viewer sees the picture but gets no button to take one")
	}
	admin := h.browser()
	admin.mustLogin("admin")
	if p := admin.get("/console/terminals/jst-2/screenshots/" + id); p.status != http.StatusNotFound || strings.Contains(p.body, "PNG") {
		t.Errorf("jst-1's picture under jst-2: %d", p.status)
	}
	if p := admin.post("/console/commands", url.Values{"scope": {"quarter"}, "target": {"Johannstadt"}, "kind": {api.CommandScreenshot}}); p.status != http.StatusBadRequest {
		t.Errorf("a screenshot of a quarter: %d", p.status)
	}
	cs, _ := h.st.Commands(context.Background(), store.CommandFilter{})
	for _, c := range cs {
		if c.Target != "terminal:jst-1" {
			t.Errorf("queued for a quarter: %+v", c)
		}
	}
}

// A screenshot the window refused shows as the refusal, in the reader's
// language.
func TestScreenshotRefusalTranslated(t *testing.T) {
	h := newHub(t, nil)
	h.addUser("admin", store.RoleAdmin)
	lib := h.enrolTerminal("jst-1", "Johannstadt")
	b := h.browser()
	b.mustLogin("admin")
	b.post("/console/commands", url.Values{"scope": {"terminal"}, "target": {"jst-1"}, "kind": {api.CommandScreenshot}})
	cmds := lib.heartbeat(api.Heartbeat{SoftwareVersion: "1.2.3", Screen: "session"}).Commands
	if len(cmds) != 1 {
		t.Fatalf("commands: %+v", cmds)
	}
	if st, body := lib.call(http.MethodPost, api.CommandResultPath(cmds[0].ID), api.CommandResult{OK: false, Reason: api.ReasonResidentSession,
		Detail: "refused on screen report-describe"}, nil); st != 200 {
		t.Fatalf("result: %d %s", st, body)
	}
	for lang, want := range map[string]string{"en": "Refused: a resident is using the terminal", "de": "Abgelehnt: Jemand aus dem Quartier benutzt gerade das Terminal"} {
		p := b.getLang("/console/terminals/jst-1", lang)
		if !strings.Contains(p.body, want) || strings.Contains(p.body, "report-describe") {
			t.Errorf("%s: the command table lacks %q", lang, want)
		}
	}
}

// In a real browser, under the console's Content-Security-Policy: IT
// staff press the button, the terminal answers, and the picture loads
// on the terminal page at its size.
func TestBrowserScreenshot(t *testing.T) {
	ctx := newBrowser(t)
	h := newHub(t, nil)
	h.addUser("anna", store.RoleAdmin)
	lib := h.enrolTerminal("jst-library-1", "Johannstadt")
	lib.heartbeat(api.Heartbeat{SoftwareVersion: "1.2.3", Screen: "attract"})
	base := h.srv.URL
	run(t, ctx, "log in", chromedp.Navigate(base+"/console/"), chromedp.WaitVisible(chromedp.ID("#name")),
		chromedp.SendKeys(chromedp.ID("#name"), "anna"), chromedp.SendKeys(chromedp.ID("#password"), testPassword),
		chromedp.Submit(chromedp.ID("#password")), chromedp.WaitVisible(chromedp.CSS(`ul.counts`)))
	run(t, ctx, "take a screenshot", chromedp.Navigate(base+"/console/terminals/jst-library-1"), chromedp.WaitVisible(chromedp.ID("#h-screen")),
		chromedp.Click(chromedp.CSS(`#screen form button`)), chromedp.WaitVisible(chromedp.CSS(".flash")))
	cmds := lib.heartbeat(api.Heartbeat{SoftwareVersion: "1.2.3", Screen: "attract"}).Commands
	if len(cmds) != 1 || cmds[0].Kind != api.CommandScreenshot {
		t.Fatalf("the terminal's commands: %+v", cmds)
	}
	id := lib.uploadScreenshot(cmds[0].ID, testutil.PNG(t, 320, 200))
	lib.call(http.MethodPost, api.CommandResultPath(cmds[0].ID), api.CommandResult{OK: true, ScreenshotID: id}, nil)
	run(t, ctx, "the picture", chromedp.Navigate(base+"/console/terminals/jst-library-1"), chromedp.WaitVisible(chromedp.ID("#screenshot")))
	testutil.Eventually(t, "the picture loaded", func() bool {
		w, err := chromedp.Run(ctx, chromedp.Evaluate[int](`(() => { const i = document.getElementById("screenshot"); return i.complete ? i.naturalWidth : 0 })()`))
		return err == nil && w == 320
	})
	entries, err := h.st.AuditEntries(context.Background(), store.AuditFilter{Subject: "terminal:jst-library-1"})
	if err != nil {
		t.Fatal(err)
	}
	viewed := false
	for _, e := range entries {
		viewed = viewed || e.Action == "screenshot.view" && e.Actor == "anna" && e.Detail == id
	}
	if !viewed {
		t.Errorf("the browser's viewing is not audited: %+v", entries)
	}
}
