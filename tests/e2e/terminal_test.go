package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/quartierhub/quartierhub/assets"
	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/kiosk/localapi"
	"github.com/quartierhub/quartierhub/kiosk/ui"
	"github.com/quartierhub/quartierhub/kiosk/ui/backend"
	"github.com/quartierhub/quartierhub/tests/internal/harness"
	"github.com/quartierhub/quartierhub/tests/internal/xvfb"
)

// A 1280 × 800 terminal: the real window lays out for it natively.
const screenW, screenH = 1280, 800

// terminal is a hub, devsim and an enrolled `kiosk run` on an Xvfb
// display, plus the shadow window that says where to click.
type terminal struct {
	t       *testing.T
	ctx     context.Context
	art     string // logs and screenshots; kept when the test fails
	x       *xvfb.Display
	hub     *harness.Hub
	data    string
	client  *localapi.Client
	kiosk   *exec.Cmd
	kLog    string
	devsim  string // control socket
	devOut  string // devsim's standard output and log
	shadow  *ui.UI
	shots   int
	screens int    // screen changes the window has logged so far
	speech  string // the speech transcript: what the window said
	jack    string // a FIFO standing in for the headphone jack's evdev device
}

func startTerminal(t *testing.T) *terminal {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	t.Cleanup(cancel)
	art, err := os.MkdirTemp("", "qh-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	tm := &terminal{t: t, ctx: ctx, art: art}
	t.Cleanup(func() {
		if t.Failed() || os.Getenv("E2E_KEEP") != "" {
			t.Logf("logs and screenshots kept in %s", art)
			return
		}
		os.RemoveAll(art)
	})

	xdir := filepath.Join(art, "x")
	must(t, os.MkdirAll(xdir, 0o755))
	if tm.x, err = xvfb.Start(ctx, xdir, screenW, screenH); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tm.x.Stop)

	if tm.hub, err = harness.NewHub(bins, filepath.Join(art, "hub")); err != nil {
		t.Fatal(err)
	}
	if err := tm.hub.StartFresh(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tm.hub.Stop() })

	// Devices: a card reader and a printer on ptys behind stable links.
	dev := filepath.Join(art, "dev")
	must(t, os.MkdirAll(dev, 0o755))
	tm.devsim, tm.devOut = filepath.Join(art, "devsim.sock"), filepath.Join(art, "devsim.out")
	out, err := os.Create(tm.devOut)
	must(t, err)
	ds := exec.Command(devsimBin, "--no-stdin", "--control", tm.devsim,
		"rdm6300="+filepath.Join(dev, "rfid"), "escpos="+filepath.Join(dev, "printer"))
	ds.Stdout, ds.Stderr = out, out
	must(t, ds.Start())
	t.Cleanup(func() { stop(ds); out.Close() })
	tm.wait("devsim's control socket", func() (bool, error) {
		c, err := net.Dial("unix", tm.devsim)
		if err != nil {
			return false, err
		}
		c.Close()
		return true, nil
	})

	// Enrol, configure, start the window with its agent in-process.
	tm.data = filepath.Join(art, "kiosk")
	ag, err := harness.NewAgent(bins, tm.data)
	must(t, err)
	tok, err := tm.hub.Token(ctx, "e2e-1", "Friedrichstadt")
	must(t, err)
	must(t, ag.Enroll(ctx, tm.hub.URL(), tok))
	// Speech with the real espeak-ng and aplay; Xvfb has no sound card,
	// so aplay plays into ALSA's null device and the transcript says
	// what a resident would hear.
	tm.speech, tm.jack = filepath.Join(art, "speech.txt"), filepath.Join(dev, "headphones")
	must(t, syscall.Mkfifo(tm.jack, 0o600))
	cfg := fmt.Sprintf(`{"devices": {
  "card_reader": {"kind": "rdm6300", "port": %q},
  "printer": {"kind": "escpos", "port": %q, "codepage": "cp858"}},
  "speech": {"player": ["aplay", "-q", "-D", "null"], "transcript": %q, "headphone_jack": %q}}`,
		filepath.Join(dev, "rfid"), filepath.Join(dev, "printer"), tm.speech, tm.jack)
	cfgPath := filepath.Join(art, "config.json")
	must(t, os.WriteFile(cfgPath, []byte(cfg), 0o600))
	tm.kLog = filepath.Join(art, "kiosk.log")
	klog, err := os.Create(tm.kLog)
	must(t, err)
	tm.kiosk = exec.Command(bins.Kiosk, "run", "--data", tm.data, "--config", cfgPath, "--log-level", "debug")
	// Scale 1: the shadow lays out in device-independent pixels, which
	// are screen pixels only at scale 1 (Fyne would pick 1 for Xvfb's
	// 96 dpi anyway; this makes it independent of user settings).
	tm.kiosk.Env = append(tm.x.Env(), "FYNE_SCALE=1")
	tm.kiosk.Stdout, tm.kiosk.Stderr = klog, klog
	must(t, tm.kiosk.Start())
	t.Cleanup(func() { stop(tm.kiosk); klog.Close() })
	tm.client = localapi.NewClient(tm.data)

	// Up: the window is mapped, full screen, and reports the attract
	// screen; the printer is ready (so the home screen's ticket tile and
	// the receipt are as in the shadow).
	if _, err := tm.x.X(ctx, "xdotool", "search", "--sync", "--onlyvisible", "--name", "^Quartierhub$"); err != nil {
		t.Fatalf("no window: %v\n%s", err, harness.Tail(tm.kLog, 30))
	}
	tm.wait("the window to report the attract screen and the printer to be ready", func() (bool, error) {
		st, err := tm.client.Status(ctx)
		if err != nil {
			return false, err
		}
		ok, _ := backend.PrinterState(st.Devices)
		return st.Fleet != nil && st.Fleet.Screen == ui.FleetAttract && ok, nil
	})
	geo, err := tm.x.X(ctx, "xdotool", "search", "--onlyvisible", "--name", "^Quartierhub$", "getwindowgeometry")
	must(t, err)
	if !strings.Contains(geo, "Position: 0,0") || !strings.Contains(geo, fmt.Sprintf("Geometry: %dx%d", screenW, screenH)) {
		t.Fatalf("the window is not full screen:\n%s", geo)
	}
	tm.screens = len(tm.loggedScreens())
	tm.newShadow()
	return tm
}

// newShadow builds the same UI in Fyne's test driver at the window's size,
// on the same agent's content and status, but with a backend that keeps
// nothing: it only tells where things are.
func (tm *terminal) newShadow() {
	cat, err := assets.Catalog()
	must(tm.t, err)
	app := test.NewTempApp(tm.t)
	w := app.NewWindow("")
	w.SetPadded(false)
	w.Resize(fyne.NewSize(screenW, screenH))
	tm.shadow = ui.New(app, w, readOnly{tm.client}, ui.Opts{Catalog: cat, Async: func(work, then func()) { work(); then() }})
	must(tm.t, tm.shadow.Load(tm.ctx))
	if c := w.Canvas().Size(); c.Width != screenW || c.Height != screenH {
		tm.t.Fatalf("shadow canvas %v", c)
	}
}

// tap clicks what is labelled label in the real window and taps it in
// the shadow; if the screen changes, it waits until the window logged the
// same new screen.
func (tm *terminal) tap(label string) {
	tm.t.Helper()
	before := tm.shadow.Screen()
	obj, pos, err := tm.shadow.Locate(label)
	if err != nil {
		tm.t.Fatal(err)
	}
	if err := tm.x.Click(tm.ctx, int(pos.X), int(pos.Y)); err != nil {
		tm.t.Fatal(err)
	}
	test.Tap(obj)
	if after := tm.shadow.Screen(); after != before {
		tm.waitScreen(after)
	}
}

// typeText types s on the on-screen keyboard, key by key.
func (tm *terminal) typeText(s string) {
	tm.t.Helper()
	for _, r := range s {
		key := string(r)
		if r == ' ' {
			key = "keyboard.space"
		} else if _, _, err := tm.shadow.Locate(key); err != nil {
			tm.tap("keyboard.shift")
		}
		tm.tap(key)
	}
}

// waitScreen waits until the window's next logged screen change is name.
func (tm *terminal) waitScreen(name string) {
	tm.t.Helper()
	tm.wait("the window to show "+name, func() (bool, error) {
		seen := tm.loggedScreens()
		if len(seen) <= tm.screens {
			return false, nil
		}
		if got := seen[tm.screens]; got != name {
			return false, fmt.Errorf("the window showed %s, the shadow %s", got, name)
		}
		tm.screens++
		return true, nil
	})
}

// loggedScreens are the screens the window logged, in order.
func (tm *terminal) loggedScreens() []string { return loggedScreens(tm.kLog) }

// loggedScreens are the screens a kiosk run with --log-level debug logged
// to logPath, in order.
func loggedScreens(logPath string) []string {
	b, _ := os.ReadFile(logPath)
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var l struct{ Msg, Part, Screen string }
		if json.Unmarshal(sc.Bytes(), &l) == nil && l.Msg == "screen" && l.Part == "window" {
			out = append(out, l.Screen)
		}
	}
	return out
}

// screenshot saves the screen as NN-name.png in the artefacts directory.
func (tm *terminal) screenshot(name string) {
	tm.t.Helper()
	tm.shots++
	p := filepath.Join(tm.art, fmt.Sprintf("%02d-%s.png", tm.shots, name))
	tm.x.Settle(150*time.Millisecond, 3*time.Second) // let the window paint what it was told to show
	if err := tm.x.Screenshot(p); err != nil {
		tm.t.Fatal(err)
	}
}

// devsimSend sends one command line to devsim's control socket and
// returns its answer ("ok", or what the command reports, e.g. the
// printer's transcript).
func (tm *terminal) devsimSend(line string) string {
	tm.t.Helper()
	c, err := net.Dial("unix", tm.devsim)
	must(tm.t, err)
	defer c.Close()
	fmt.Fprintln(c, line)
	_ = c.(*net.UnixConn).CloseWrite()
	reply, _ := io.ReadAll(c)
	if len(reply) == 0 || strings.HasPrefix(string(reply), "error:") {
		tm.t.Fatalf("devsim %q: %s", line, reply)
	}
	return string(reply)
}

func (tm *terminal) wait(what string, cond func() (bool, error)) {
	tm.t.Helper()
	ctx, cancel := context.WithTimeout(tm.ctx, 60*time.Second)
	defer cancel()
	if err := harness.WaitFor(ctx, what, cond); err != nil {
		tm.screenshot("failure")
		tm.t.Fatalf("%v\nkiosk log:\n%s", err, harness.Tail(tm.kLog, 20))
	}
}

// readOnly is the shadow's backend: content and status from the real
// agent, writes answered as if they worked, no events.
type readOnly struct{ c *localapi.Client }

func (r readOnly) Status(ctx context.Context) (localapi.Status, error) { return r.c.Status(ctx) }
func (r readOnly) Content(ctx context.Context) (api.Content, error)    { return r.c.Content(ctx) }
func (r readOnly) Events(ctx context.Context) (<-chan localapi.Event, error) {
	return make(chan localapi.Event), nil
}
func (r readOnly) Submit(context.Context, localapi.SubmitRequest) (localapi.SubmitResponse, error) {
	return localapi.SubmitResponse{ID: "00000000000000000000000000", CreatedAt: time.Now()}, nil
}
func (r readOnly) Print(context.Context, localapi.Receipt) (localapi.PrintResponse, error) {
	return localapi.PrintResponse{}, nil
}
func (r readOnly) Ticket(context.Context, localapi.TicketRequest) (localapi.Ticket, error) {
	return localapi.Ticket{Number: 1}, nil
}
func (r readOnly) Sensors(ctx context.Context) (localapi.SensorHistory, error) {
	return r.c.Sensors(ctx)
}
func (r readOnly) Respond(context.Context, localapi.SurveyResponse) (localapi.SubmitResponse, error) {
	return localapi.SubmitResponse{ID: "R"}, nil
}
func (r readOnly) SyncNow(context.Context) (localapi.SyncResponse, error) {
	return localapi.SyncResponse{}, nil
}

// The workshop: the view as the agent has it for the voter; a card's
// check-in is the agent's (a card is the same voter every time, so the
// shadow shows the real window's voter); a guest's and every action are
// answered as if they worked: the real window does them.
func (r readOnly) Workshop(ctx context.Context, voter string) (localapi.WorkshopView, error) {
	return r.c.Workshop(ctx, voter)
}
func (r readOnly) WorkshopCheckin(ctx context.Context, req localapi.WorkshopCheckinRequest) (localapi.WorkshopCheckin, error) {
	if req.CardHash != "" {
		return r.c.WorkshopCheckin(ctx, req)
	}
	return localapi.WorkshopCheckin{Voter: "v:shadow", Label: "shadow"}, nil
}
func (r readOnly) WorkshopIdea(context.Context, localapi.WorkshopIdeaRequest) (localapi.WorkshopIdeaResponse, error) {
	return localapi.WorkshopIdeaResponse{ID: "shadow", Pending: true}, nil
}
func (r readOnly) WorkshopDot(context.Context, localapi.WorkshopDotRequest) (localapi.WorkshopDotResponse, error) {
	return localapi.WorkshopDotResponse{ID: "shadow", Status: "pending"}, nil
}
func (r readOnly) WorkshopDotTake(context.Context, localapi.WorkshopDotTakeRequest) (localapi.WorkshopDotResponse, error) {
	return localapi.WorkshopDotResponse{ID: "shadow", Status: "taken"}, nil
}
func (r readOnly) WorkshopDone(context.Context, localapi.WorkshopDoneRequest) error { return nil }
func (r readOnly) WorkshopPrint(context.Context, localapi.WorkshopPrintRequest) (localapi.PrintResponse, error) {
	return localapi.PrintResponse{}, nil
}
func (r readOnly) WorkshopSwitch(ctx context.Context, _ localapi.WorkshopSwitchRequest) (localapi.WorkshopView, error) {
	return r.c.Workshop(ctx, "")
}
func (r readOnly) WorkshopLeave(ctx context.Context, _ localapi.WorkshopLeaveRequest) (localapi.WorkshopView, error) {
	return r.c.Workshop(ctx, "")
}

var _ backend.Backend = readOnly{}

func stop(c *exec.Cmd) {
	if c.Process == nil {
		return
	}
	_ = c.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = c.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = c.Process.Kill()
		<-done
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
