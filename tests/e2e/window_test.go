package e2e

import (
	"context"
	"fmt"
	"image"
	"image/png"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"

	"github.com/quartierhub/quartierhub/kiosk/localapi"
	"github.com/quartierhub/quartierhub/kiosk/ui"
	"github.com/quartierhub/quartierhub/tests/internal/harness"
	"github.com/quartierhub/quartierhub/tests/internal/xvfb"
)

// No mouse pointer on the terminal, not even over a button (Fyne's
// buttons bring their own). Xvfb draws the pointer into its framebuffer
// (the screenshots of a windowed kiosk show it), so: point at one side of
// a large button, then at the other side of the same button (same hover
// state), and the first spot must look the same in both pictures.
func TestPointerHiddenOverButtons(t *testing.T) {
	needDisplay(t)
	tm := startTerminal(t)
	tm.tap(ui.AttractArea)
	obj, centre, err := tm.shadow.Locate("Problem melden")
	must(t, err)
	w := obj.(fyne.CanvasObject).Size().Width
	p1 := image.Pt(int(centre.X-w/4), int(centre.Y))
	p2 := image.Pt(int(centre.X+w/4), int(centre.Y))
	// The window logs the home screen before it paints it; on a busy
	// machine the paint can come later than any quiet spell, so wait until
	// the tile's inner edge shows the tile's dark fill, not the light
	// attract screen.
	edge := image.Pt(int(centre.X-w/2)+3, int(centre.Y))
	tm.wait("the home screen painted", func() (bool, error) {
		probe := filepath.Join(tm.art, "probe.png")
		if err := tm.x.Screenshot(probe); err != nil {
			return false, err
		}
		f, err := os.Open(probe)
		if err != nil {
			return false, err
		}
		defer f.Close()
		img, err := png.Decode(f)
		if err != nil {
			return false, err
		}
		r, g, b, _ := img.At(edge.X, edge.Y).RGBA()
		return (r+g+b)/3 < 0x6000, nil
	})
	a, b := tm.pointAndShoot(p1, "pointer-left"), tm.pointAndShoot(p2, "pointer-right")
	// An arrow pointer reaches down and right of its hot spot.
	for _, p := range []image.Point{p1, p2} {
		box := image.Rect(p.X-4, p.Y-4, p.X+32, p.Y+32)
		if n := differing(a, b, box); n > 0 {
			t.Errorf("%d pixels near %v change when the pointer leaves: the pointer is drawn (screenshots in %s)", n, p, tm.art)
		}
	}
}

// pointAndShoot moves the pointer to p, lets the window paint and returns
// the screen (also saved as a screenshot).
func (tm *terminal) pointAndShoot(p image.Point, name string) image.Image {
	tm.t.Helper()
	if _, err := tm.x.X(tm.ctx, "xdotool", "mousemove", strconv.Itoa(p.X), strconv.Itoa(p.Y)); err != nil {
		tm.t.Fatal(err)
	}
	tm.screenshot(name)
	f, err := os.Open(filepath.Join(tm.art, fmt.Sprintf("%02d-%s.png", tm.shots, name)))
	must(tm.t, err)
	defer f.Close()
	img, err := png.Decode(f)
	must(tm.t, err)
	return img
}

func differing(a, b image.Image, r image.Rectangle) int {
	n := 0
	r = r.Intersect(a.Bounds())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if a.At(x, y) != b.At(x, y) {
				n++
			}
		}
	}
	return n
}

// `kiosk run --windowed` on a 1280 × 800 display (under LANG=C.UTF-8): the
// window fits it, logs nothing about its locale, and
// while the agent does not answer (here: a socket that accepts and says
// nothing) the window shows the starting screen, not an empty one.
func TestWindowedStartsBeforeTheAgent(t *testing.T) {
	needDisplay(t)
	const w, h = 1280, 800
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	art, x := windowedDisplay(t, ctx, "qh-e2e-windowed-", w, h)

	data := filepath.Join(art, "kiosk")
	must(t, os.MkdirAll(data, 0o700))
	ln, err := net.Listen("unix", filepath.Join(data, localapi.SocketName))
	must(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() { // accept and hold: an agent that hangs
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()

	kLog := filepath.Join(art, "kiosk.log")
	klog, err := os.Create(kLog)
	must(t, err)
	k := exec.Command(bins.Kiosk, "run", "--data", data, "--windowed", "--log-level", "debug")
	k.Env = localeC(x.Env()) // FYNE_SCALE unset; the locale Fyne cannot parse
	k.Stdout, k.Stderr = klog, klog
	must(t, k.Start())
	t.Cleanup(func() { stop(k); klog.Close() })

	if _, err := x.X(ctx, "xdotool", "search", "--sync", "--onlyvisible", "--name", "^Quartierhub$"); err != nil {
		t.Fatalf("no window: %v\n%s", err, harness.Tail(kLog, 30))
	}
	wctx, wcancel := context.WithTimeout(ctx, 60*time.Second)
	defer wcancel()
	err = harness.WaitFor(wctx, "the starting screen", func() (bool, error) {
		s := loggedScreens(kLog)
		return len(s) > 0 && s[0] == ui.ScreenStarting, nil
	})
	if err != nil {
		t.Fatalf("%v: screens %v\n%s", err, loggedScreens(kLog), harness.Tail(kLog, 30))
	}
	geo, err := x.X(ctx, "xdotool", "search", "--onlyvisible", "--name", "^Quartierhub$", "getwindowgeometry")
	must(t, err)
	m := regexp.MustCompile(`Geometry: (\d+)x(\d+)`).FindStringSubmatch(geo)
	if m == nil {
		t.Fatalf("no geometry in %q", geo)
	}
	gw, _ := strconv.Atoi(m[1])
	gh, _ := strconv.Atoi(m[2])
	if gw > w || gh > h || gw < w/2 || gh < h/2 {
		t.Errorf("the windowed window is %dx%d on a %dx%d display", gw, gh, w, h)
	}
	x.Settle(150*time.Millisecond, 3*time.Second)
	must(t, x.Screenshot(filepath.Join(art, "starting.png")))
	if s := loggedScreens(kLog); len(s) != 1 {
		t.Errorf("screens %v with an agent that never answered", s)
	}
	if b, err := os.ReadFile(kLog); err == nil && strings.Contains(string(b), "locale") {
		t.Errorf("the window logged about its locale under LANG=C.UTF-8:\n%s", harness.Tail(kLog, 30))
	}
}

// The windowed kiosk (a real agent in-process) put out of order: the
// window stays 1280 × 800 on a 1280 × 800 display. A window that is not
// full screen grows to its content's MinSize, and the out-of-order
// screen's wrapped texts, before they knew their width, asked for
// 1607 px height: the texts sat below the bottom of the screen.
func TestWindowedOutOfOrderFits(t *testing.T) {
	needDisplay(t)
	const w, h = 1280, 800
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	art, x := windowedDisplay(t, ctx, "qh-e2e-ooo-", w, h)

	data := filepath.Join(art, "kiosk")
	must(t, os.MkdirAll(data, 0o700))
	must(t, os.WriteFile(filepath.Join(data, "out-of-order"), []byte("e2e\n"), 0o600))
	kLog := filepath.Join(art, "kiosk.log")
	klog, err := os.Create(kLog)
	must(t, err)
	k := exec.Command(bins.Kiosk, "run", "--data", data, "--windowed", "--log-level", "debug")
	k.Env = x.Env()
	k.Stdout, k.Stderr = klog, klog
	must(t, k.Start())
	t.Cleanup(func() { stop(k); klog.Close() })

	wctx, wcancel := context.WithTimeout(ctx, 60*time.Second)
	defer wcancel()
	err = harness.WaitFor(wctx, "the out-of-order screen", func() (bool, error) {
		return slices.Contains(loggedScreens(kLog), ui.ScreenOutOfOrder), nil
	})
	if err != nil {
		t.Fatalf("%v: screens %v\n%s", err, loggedScreens(kLog), harness.Tail(kLog, 30))
	}
	x.Settle(150*time.Millisecond, 3*time.Second)
	must(t, x.Screenshot(filepath.Join(art, "out-of-order.png")))
	geo, err := x.X(ctx, "xdotool", "search", "--onlyvisible", "--name", "^Quartierhub$", "getwindowgeometry")
	must(t, err)
	m := regexp.MustCompile(`Geometry: (\d+)x(\d+)`).FindStringSubmatch(geo)
	if m == nil {
		t.Fatalf("no geometry in %q", geo)
	}
	if gw, _ := strconv.Atoi(m[1]); gw > w {
		t.Errorf("the out-of-order window is %s px wide on a %d px display", m[1], w)
	}
	if gh, _ := strconv.Atoi(m[2]); gh > h {
		t.Errorf("the out-of-order window is %s px high on a %d px display", m[2], h)
	}
}

// windowedDisplay makes an artefacts directory (kept when the test fails
// or E2E_KEEP is set) and starts a w × h Xvfb display for one test.
func windowedDisplay(t *testing.T, ctx context.Context, prefix string, w, h int) (string, *xvfb.Display) {
	t.Helper()
	art, err := os.MkdirTemp("", prefix)
	must(t, err)
	t.Cleanup(func() {
		if t.Failed() || os.Getenv("E2E_KEEP") != "" {
			t.Logf("logs and screenshots kept in %s", art)
			return
		}
		os.RemoveAll(art)
	})
	xdir := filepath.Join(art, "x")
	must(t, os.MkdirAll(xdir, 0o755))
	x, err := xvfb.Start(ctx, xdir, w, h)
	must(t, err)
	t.Cleanup(x.Stop)
	return art, x
}
