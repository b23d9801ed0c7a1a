package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/quartierhub/quartierhub/assets"
	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/kiosk/agent"
	"github.com/quartierhub/quartierhub/kiosk/identity"
	"github.com/quartierhub/quartierhub/kiosk/localapi"
	"github.com/quartierhub/quartierhub/kiosk/ui"
	"github.com/quartierhub/quartierhub/tests/internal/harness"
)

// First boot of a real terminal: `kiosk run` on an empty data directory
// (its agent in-process, full screen on a 1280 × 800 display) shows the
// first-run screen with the token field focused; the token and the hub's
// address are typed on the keyboard (xdotool, as a person or a handheld
// scanner types), Enter enrols with the real hub, the window names the
// terminal, starts the resident app by itself, and a touch opens the
// home screen. The hub lists the terminal.
func TestFirstBootEnrolsFromTheWindow(t *testing.T) {
	needDisplay(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	art, x := windowedDisplay(t, ctx, "qh-e2e-firstboot-", screenW, screenH)

	hub, err := harness.NewHub(bins, filepath.Join(art, "hub"))
	must(t, err)
	must(t, hub.StartFresh(ctx))
	t.Cleanup(func() { _ = hub.Stop() })
	token, err := hub.Token(ctx, "e2e-first", "Johannstadt")
	must(t, err)

	data := filepath.Join(art, "kiosk")
	kLog := filepath.Join(art, "kiosk.log")
	klog, err := os.Create(kLog)
	must(t, err)
	k := exec.Command(bins.Kiosk, "run", "--data", data, "--log-level", "debug")
	k.Env = append(x.Env(), "FYNE_SCALE=1")
	k.Stdout, k.Stderr = klog, klog
	must(t, k.Start())
	t.Cleanup(func() { stop(k); klog.Close() })

	waitScreens := func(what string, want ...string) {
		t.Helper()
		wctx, wcancel := context.WithTimeout(ctx, 60*time.Second)
		defer wcancel()
		err := harness.WaitFor(wctx, what, func() (bool, error) {
			s := loggedScreens(kLog)
			return len(s) >= len(want) && slices.Equal(s[len(s)-len(want):], want), nil
		})
		if err != nil {
			t.Fatalf("%v: screens %v\n%s", err, loggedScreens(kLog), harness.Tail(kLog, 30))
		}
	}
	waitScreens("the first-run screen", ui.ScreenFirstRun)
	if s := loggedScreens(kLog); slices.Contains(s, ui.ScreenAttract) {
		t.Fatalf("a terminal without identity showed %v", s)
	}
	start := time.Now()
	x.Settle(150*time.Millisecond, 3*time.Second)
	must(t, x.Screenshot(filepath.Join(art, "1-first-run.png")))

	// The token field has the focus; Tab goes on to the hub's address.
	xdo := func(args ...string) {
		t.Helper()
		if out, err := x.X(ctx, "xdotool", args...); err != nil {
			t.Fatalf("xdotool %v: %v %s", args, err, out)
		}
	}
	xdo("type", "--delay", "15", token)
	xdo("key", "Tab")
	xdo("type", "--delay", "15", hub.URL())
	x.Settle(150*time.Millisecond, 3*time.Second)
	must(t, x.Screenshot(filepath.Join(art, "2-typed.png")))
	xdo("key", "Return")

	waitScreens("the success screen", ui.ScreenFirstRun, ui.ScreenEnrolled)
	enrolledIn := time.Since(start)
	x.Settle(150*time.Millisecond, 3*time.Second)
	must(t, x.Screenshot(filepath.Join(art, "3-enrolled.png")))
	id, err := identity.Load(data)
	must(t, err)
	if id.Name != "e2e-first" || id.Quarter != "Johannstadt" || id.HubURL != hub.URL() {
		t.Fatalf("identity %s", id)
	}

	// The resident app starts by itself after the pause; a touch opens
	// the home screen.
	waitScreens("the attract screen after the pause", ui.ScreenEnrolled, ui.ScreenAttract)
	x.Settle(150*time.Millisecond, 3*time.Second)
	must(t, x.Click(ctx, screenW/2, screenH/2))
	waitScreens("the home screen", ui.ScreenAttract, ui.ScreenHome)
	x.Settle(150*time.Millisecond, 3*time.Second)
	must(t, x.Screenshot(filepath.Join(art, "4-home.png")))

	st, err := localapi.NewClient(data).Status(ctx)
	must(t, err)
	if !st.Terminal.Enrolled || st.Terminal.TerminalID != id.TerminalID {
		t.Fatalf("agent status %+v", st.Terminal)
	}
	out, err := hub.CLI(ctx, "terminal", "list", "--data", hub.Dir)
	must(t, err)
	if !strings.Contains(string(out), "e2e-first") {
		t.Fatalf("the hub does not list the terminal:\n%s", out)
	}
	// The first-run endpoint is closed now, whatever the window does.
	_, err = localapi.NewClient(data).Enrol(ctx, localapi.EnrolRequest{Hub: hub.URL(), Token: token})
	if localapi.EnrolReason(err) != localapi.EnrolAlreadyDone {
		t.Fatalf("enrolling again: %v", err)
	}
	t.Logf("typed to enrolled in %v (screenshots in %s when kept)", enrolledIn.Round(10*time.Millisecond), art)
}

// First boot from a USB stick: the console's QR code text in
// quartierhub-enrol.txt on a "stick" below the media directory (a
// temporary one, --enrol-media); a tap on "read from USB stick" in the
// real window and the agent enrols with the real hub.
func TestFirstBootFromUSBStick(t *testing.T) {
	needDisplay(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	art, x := windowedDisplay(t, ctx, "qh-e2e-firstboot-usb-", screenW, screenH)

	hub, err := harness.NewHub(bins, filepath.Join(art, "hub"))
	must(t, err)
	must(t, hub.StartFresh(ctx))
	t.Cleanup(func() { _ = hub.Stop() })
	token, err := hub.Token(ctx, "e2e-usb", "Johannstadt")
	must(t, err)
	media := filepath.Join(art, "media")
	stick := filepath.Join(media, "kiosk", "ENROL")
	must(t, os.MkdirAll(stick, 0o755))
	must(t, os.WriteFile(filepath.Join(stick, agent.EnrolFile), []byte(api.EnrolmentURI(hub.URL(), token)+"\r\n"), 0o644))

	data := filepath.Join(art, "kiosk")
	kLog := filepath.Join(art, "kiosk.log")
	klog, err := os.Create(kLog)
	must(t, err)
	k := exec.Command(bins.Kiosk, "run", "--data", data, "--log-level", "debug", "--enrol-media", media)
	k.Env = append(x.Env(), "FYNE_SCALE=1")
	k.Stdout, k.Stderr = klog, klog
	must(t, k.Start())
	t.Cleanup(func() { stop(k); klog.Close() })
	wait := func(what, screen string) {
		t.Helper()
		wctx, wcancel := context.WithTimeout(ctx, 60*time.Second)
		defer wcancel()
		if err := harness.WaitFor(wctx, what, func() (bool, error) {
			return slices.Contains(loggedScreens(kLog), screen), nil
		}); err != nil {
			t.Fatalf("%v: screens %v\n%s", err, loggedScreens(kLog), harness.Tail(kLog, 30))
		}
	}
	wait("the first-run screen", ui.ScreenFirstRun)

	// Where the button is: the same screen in Fyne's test driver.
	cat, err := assets.Catalog()
	must(t, err)
	app := test.NewTempApp(t)
	w := app.NewWindow("")
	w.SetPadded(false)
	w.Resize(fyne.NewSize(screenW, screenH))
	shadow := ui.New(app, w, readOnly{localapi.NewClient(data)}, ui.Opts{Catalog: cat, Async: func(work, then func()) { work(); then() }})
	must(t, shadow.Load(ctx))
	_, pos, err := shadow.Locate("firstrun.media")
	must(t, err)
	x.Settle(150*time.Millisecond, 3*time.Second)
	must(t, x.Click(ctx, int(pos.X), int(pos.Y)))

	wait("the success screen", ui.ScreenEnrolled)
	x.Settle(150*time.Millisecond, 3*time.Second)
	must(t, x.Screenshot(filepath.Join(art, "enrolled-from-usb.png")))
	id, err := identity.Load(data)
	must(t, err)
	if id.Name != "e2e-usb" || id.HubURL != hub.URL() {
		t.Fatalf("identity %s", id)
	}
}
