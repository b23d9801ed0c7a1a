package agenthub

import (
	"bytes"
	"context"
	"html"
	"image/png"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/quartierhub/quartierhub/assets"
	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/kiosk/localapi"
	"github.com/quartierhub/quartierhub/kiosk/ui"
)

// console is IT staff's browser on the hub's console.
type console struct {
	t    *testing.T
	base string
	c    *http.Client
	csrf string
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// newConsole adds an admin with the hub's CLI and logs in as them.
func (e *e2e) newConsole() *console {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hubCLITimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.hub.Bin, "user", "add", "--data", e.hub.Dir, "--name", "it", "--role", "admin", "--password-stdin")
	cmd.Stdin = strings.NewReader("a long enough passphrase\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		e.t.Fatalf("user add: %v: %s", err, out)
	}
	jar, _ := cookiejar.New(nil)
	c := &console{t: e.t, base: e.hub.URL(), c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	c.get("/console/login")
	if st, _, _ := c.post("/console/login", url.Values{"name": {"it"}, "password": {"a long enough passphrase"}}); st != http.StatusSeeOther {
		e.t.Fatalf("login: %d", st)
	}
	c.get("/console/account") // the session's CSRF token
	return c
}

func (c *console) do(req *http.Request) (int, http.Header, []byte) {
	c.t.Helper()
	req.Header.Set("Accept-Language", "en")
	res, err := c.c.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	if m := csrfRe.FindSubmatch(b); m != nil {
		c.csrf = html.UnescapeString(string(m[1]))
	}
	return res.StatusCode, res.Header, b
}

func (c *console) get(path string) (int, http.Header, []byte) {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.base+path, nil)
	return c.do(req)
}

func (c *console) post(path string, form url.Values) (int, http.Header, []byte) {
	c.t.Helper()
	form.Set("csrf", c.csrf)
	req, _ := http.NewRequest(http.MethodPost, c.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

// screenshot sends a screenshot command from the terminal page's button.
func (c *console) screenshot() {
	c.t.Helper()
	if st, _, b := c.post("/console/commands", url.Values{"scope": {"terminal"}, "target": {terminalName}, "kind": {api.CommandScreenshot}}); st != http.StatusSeeOther {
		c.t.Fatalf("send screenshot: %d %s", st, b)
	}
}

var shotRe = regexp.MustCompile(`<img id="screenshot" src="([^"]+)" width="(\d+)" height="(\d+)"`)

// A screenshot end to end: IT staff press the terminal page's button in
// the hub's console, the real agent takes the command from the real hub
// and asks the real window (kiosk/ui on Fyne's test driver, following
// the agent's event stream over its socket) for a picture; the window
// gives it on the attract screen, the picture reaches the hub and the
// terminal page shows it, and looking at it is audited. While a
// resident's session is open the window refuses, and the page says so.
func TestScreenshotEndToEnd(t *testing.T) {
	e := newE2E(t)
	ctx := context.Background()
	e.put("global", `{"content":`+validContent+`}`)
	r := e.start()
	until(t, r, "configuration applied", func() bool {
		cr, err := r.c.RemoteConfig(ctx)
		return err == nil && cr.Version != ""
	})

	// The window, on the agent's socket.
	cat, err := assets.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	app := test.NewTempApp(t)
	w := app.NewWindow("")
	w.Resize(fyne.NewSize(1280, 800))
	wc := localapi.NewClient(e.dir)
	u := ui.New(app, w, wc, ui.Opts{Catalog: cat, Async: func(work, then func()) { work(); then() }})
	if err := u.Load(ctx); err != nil {
		t.Fatal(err)
	}
	wctx, stopWindow := context.WithCancel(ctx)
	defer stopWindow()
	events, err := wc.Events(wctx)
	if err != nil {
		t.Fatal(err)
	}
	// The window's one goroutine from here on: it answers captures.
	go func() {
		for ev := range events {
			if ev.Type == localapi.EventCapture {
				u.HandleEvent(ev)
			}
		}
	}()

	con := e.newConsole()
	con.screenshot()
	var id string
	until(t, r, "a screenshot command done", func() bool {
		out := string(e.cli("command", "list", "--terminal", terminalName))
		for line := range strings.Lines(out) {
			if f := strings.Fields(line); len(f) > 3 && f[2] == api.CommandScreenshot && f[3] == api.CommandDone {
				id = f[0]
				return true
			}
		}
		return false
	})
	t.Logf("result: %s", e.command(id).Result)
	_, _, page := con.get("/console/terminals/" + terminalName)
	m := shotRe.FindSubmatch(page)
	if m == nil || string(m[2]) != "1280" || string(m[3]) != "800" {
		t.Fatalf("the terminal page shows no 1280 × 800 picture:\n%s", page)
	}
	st, hdr, pic := con.get(html.UnescapeString(string(m[1])))
	if st != 200 || hdr.Get("Content-Type") != "image/png" || hdr.Get("Cache-Control") != "no-store" {
		t.Fatalf("picture: %d %v", st, hdr)
	}
	img, err := png.Decode(bytes.NewReader(pic))
	if err != nil || img.Bounds().Dx() != 1280 || img.Bounds().Dy() != 800 {
		t.Fatalf("picture: %v, %v", img.Bounds(), err)
	}
	if _, _, audit := con.get("/console/audit"); !bytes.Contains(audit, []byte("screenshot.view")) {
		t.Errorf("viewing the picture is not in the audit log")
	}

	// A resident at the terminal: the window refuses. (The event
	// goroutine is idle: no capture is asked while the card is read.)
	u.HandleEvent(localapi.Event{Type: localapi.EventCard, Card: &localapi.CardEvent{Presented: true, Hash: "resident-card"}})
	if u.Screen() != ui.ScreenHome || u.Session() == nil {
		t.Fatalf("no session after a card: screen %s", u.Screen())
	}
	con.screenshot()
	until(t, r, "the second screenshot refused", func() bool {
		_, _, page := con.get("/console/terminals/" + terminalName)
		return bytes.Contains(page, []byte("Refused: a resident is using the terminal"))
	})
	if _, _, page := con.get("/console/terminals/" + terminalName); !bytes.Contains(page, m[1]) {
		t.Error("the refused screenshot replaced the picture on the page")
	}
	stopWindow()
	r.stop(t)
}
