package session

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/rand"
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
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/kiosk/display"
	"github.com/quartierhub/quartierhub/kiosk/identity"
	"github.com/quartierhub/quartierhub/tests/internal/harness"
	"github.com/quartierhub/quartierhub/tests/internal/xvfb"
)

// The panel's size: Weston's x11 output, the outer Xvfb's screen.
const panelW, panelH = 1280, 800

// paper is the kiosk theme's background (kiosk/ui/theme.go): the first
// screen is mostly paper, with dark ink for its texts.
var paper = [3]int{0xf7, 0xf6, 0xf2}

// nested is Weston (x11 backend, kiosk-shell, the packaged weston.ini) in
// an Xvfb, with the kiosk window on Weston's Xwayland.
type nested struct {
	t         *testing.T
	ctx       context.Context
	dir, data string
	outer     *xvfb.Display
	inner     string // Xwayland's DISPLAY
	weston    *exec.Cmd
	kiosk     *exec.Cmd
	wlog      string
	klog      string
	kNotify   *notifications
	started   time.Time
}

// notifications is a NOTIFY_SOCKET as systemd provides it, recording
// what arrives.
type notifications struct {
	path string
	mu   sync.Mutex
	got  []string
	at   []time.Time
	new  chan struct{}
}

func listenNotify(t *testing.T, dir, name string) *notifications {
	t.Helper()
	n := &notifications{path: filepath.Join(dir, name), new: make(chan struct{}, 1)}
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: n.path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, 4096)
		for {
			k, err := c.Read(buf)
			if err != nil {
				return
			}
			n.mu.Lock()
			for _, l := range strings.Split(string(buf[:k]), "\n") {
				if l != "" {
					n.got = append(n.got, l)
					n.at = append(n.at, time.Now())
				}
			}
			n.mu.Unlock()
			select {
			case n.new <- struct{}{}:
			default:
			}
		}
	}()
	return n
}

// wait returns when a notification equal to msg has arrived, and when.
func (n *notifications) wait(ctx context.Context, msg string) (time.Time, error) {
	for {
		n.mu.Lock()
		for i, g := range n.got {
			if g == msg {
				at := n.at[i]
				n.mu.Unlock()
				return at, nil
			}
		}
		n.mu.Unlock()
		select {
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("no %s on NOTIFY_SOCKET: %w", msg, ctx.Err())
		case <-n.new:
		}
	}
}

// startNested starts Xvfb, Weston with the packaged weston.ini as the
// compositor unit writes it (with rotation from the agent's
// compositor.json), and the kiosk window with a NOTIFY_SOCKET and a
// watchdog, and returns once the window said READY=1.
func startNested(t *testing.T, rotation int) *nested {
	t.Helper()
	needSession(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	dir := t.TempDir()
	n := &nested{t: t, ctx: ctx, dir: dir, data: filepath.Join(dir, "kiosk"),
		wlog: filepath.Join(dir, "weston.log"), klog: filepath.Join(dir, "kiosk.log")}
	// Screenshots and logs stay for a failed run.
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("weston log:\n%s\nkiosk log:\n%s", harness.Tail(n.wlog, 15), harness.Tail(n.klog, 15))
		}
	})
	var err error
	if n.outer, err = xvfb.Start(ctx, dir, panelW, panelH); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.outer.Stop)

	// An enrolled terminal whose hub is away: the agent in the window's
	// process starts, the window shows the attract screen.
	_, key, err := ed25519.GenerateKey(rand.Reader)
	must(t, err)
	must(t, os.MkdirAll(n.data, 0o700))
	must(t, identity.Save(n.data, identity.Identity{TerminalID: "T-session", Name: "session test", Quarter: "Johannstadt",
		HubURL: "http://127.0.0.1:9", EnrolledAt: time.Now(), Key: key}))
	_, err = display.WriteCompositor(n.data, display.Compositor{Rotation: rotation})
	must(t, err)

	// The compositor unit's ExecStartPre, with the x11 backend's output.
	ini := filepath.Join(dir, "run", "weston.ini")
	out, err := exec.CommandContext(ctx, kioskBin, "session", "weston-ini", "--data", n.data,
		"--base", filepath.Join(repoRoot, "provisioning", "session", "weston.ini"), "--out", ini,
		"--output", "X1", "--sys-drm", filepath.Join(dir, "no-drm")).CombinedOutput()
	if err != nil {
		t.Fatalf("kiosk session weston-ini: %v\n%s", err, out)
	}

	runtime := filepath.Join(dir, "xdg")
	must(t, os.Mkdir(runtime, 0o700))
	wNotify := listenNotify(t, dir, "weston.notify")
	wl, err := os.Create(n.wlog)
	must(t, err)
	t.Cleanup(func() { wl.Close() })
	// The unit's command line, with the nested backend instead of DRM.
	n.weston = exec.Command("weston", "--backend=x11-backend.so", "--use-pixman", "--width="+strconv.Itoa(panelW), "--height="+strconv.Itoa(panelH),
		"--shell=kiosk-shell.so", "--xwayland", "--modules=systemd-notify.so", "--idle-time=0", "--config="+ini,
		"--socket=qh-session-"+strconv.Itoa(os.Getpid())+"-"+strconv.Itoa(rotation))
	n.weston.Env = append(n.outer.Env(), "XDG_RUNTIME_DIR="+runtime, "NOTIFY_SOCKET="+wNotify.path, "WATCHDOG_USEC=2000000")
	n.weston.Stdout, n.weston.Stderr = wl, wl
	n.weston.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	must(t, n.weston.Start())
	t.Cleanup(func() { stopGroup(n.weston) })
	if _, err := wNotify.wait(ctx, "READY=1"); err != nil {
		t.Fatalf("weston: %v", err)
	}
	// systemd-notify.so feeds the compositor unit's watchdog.
	if _, err := wNotify.wait(ctx, "WATCHDOG=1"); err != nil {
		t.Fatalf("weston: %v", err)
	}
	listening := regexp.MustCompile(`xserver listening on display (:\d+)`)
	must(t, harness.WaitFor(ctx, "Xwayland's display", func() (bool, error) {
		b, _ := os.ReadFile(n.wlog)
		if m := listening.FindSubmatch(b); m != nil {
			n.inner = string(m[1])
			return true, nil
		}
		return false, nil
	}))

	n.kNotify = listenNotify(t, dir, "kiosk.notify")
	kl, err := os.Create(n.klog)
	must(t, err)
	t.Cleanup(func() { kl.Close() })
	n.kiosk = exec.Command(kioskBin, "run", "--data", n.data, "--log-level", "debug")
	n.kiosk.Env = append(envWithout("DISPLAY", "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"),
		"DISPLAY="+n.inner, "NOTIFY_SOCKET="+n.kNotify.path, "WATCHDOG_USEC=2000000")
	n.kiosk.Stdout, n.kiosk.Stderr = kl, kl
	n.kiosk.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	n.started = time.Now()
	must(t, n.kiosk.Start())
	t.Cleanup(func() { stopGroup(n.kiosk) })
	return n
}

func envWithout(names ...string) []string {
	var out []string
next:
	for _, e := range os.Environ() {
		for _, n := range names {
			if strings.HasPrefix(e, n+"=") {
				continue next
			}
		}
		out = append(out, e)
	}
	return out
}

func stopGroup(c *exec.Cmd) {
	if c.Process == nil {
		return
	}
	_ = syscall.Kill(-c.Process.Pid, syscall.SIGTERM)
	_ = c.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = c.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
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

// alive tells whether c still runs (and is not a zombie).
func alive(c *exec.Cmd) bool {
	if c.Process == nil || syscall.Kill(c.Process.Pid, 0) != nil {
		return false
	}
	st, _ := os.ReadFile("/proc/" + strconv.Itoa(c.Process.Pid) + "/stat")
	f := strings.Fields(string(st[strings.LastIndexByte(string(st), ')')+1:]))
	return len(f) > 0 && f[0] != "Z"
}

// shot saves the outer screen (what the panel shows) and decodes it.
func (n *nested) shot(name string) image.Image {
	n.t.Helper()
	path := filepath.Join(n.dir, name+".png")
	must(n.t, n.outer.Screenshot(path))
	f, err := os.Open(path)
	must(n.t, err)
	defer f.Close()
	img, err := png.Decode(f)
	must(n.t, err)
	return img
}

// kioskScreen tells whether img shows the kiosk's screen over the whole
// panel: its paper background fills much of it (Weston's background is
// black), its texts put dark ink on some of it — the attract screen, or
// the home screen with its dark blue tiles (about 49 % paper and 33 %
// ink at 1280 × 800) once a key has turned speech on and started a
// session —, and every corner region
// (the kiosk's bars; Weston's black background if the window did not
// cover the output) is light.
func kioskScreen(img image.Image) (bool, string) {
	b := img.Bounds()
	var total, light, ink int
	for y := b.Min.Y; y < b.Max.Y; y += 4 {
		for x := b.Min.X; x < b.Max.X; x += 4 {
			r, g, bl, _ := img.At(x, y).RGBA()
			c := [3]int{int(r >> 8), int(g >> 8), int(bl >> 8)}
			total++
			if near(c, paper, 6) {
				light++
			}
			if c[0]+c[1]+c[2] < 3*0x50 {
				ink++
			}
		}
	}
	why := fmt.Sprintf("%d%% paper, %.1f%% ink", 100*light/total, 100*float64(ink)/float64(total))
	if light*100 < total*40 || ink*1000 < total*2 || ink*100 > total*40 {
		return false, why
	}
	for _, p := range []image.Point{{b.Min.X + 2, b.Min.Y + 2}, {b.Max.X - 3, b.Min.Y + 2}, {b.Min.X + 2, b.Max.Y - 3}, {b.Max.X - 3, b.Max.Y - 3}} {
		r, g, bl, _ := img.At(p.X, p.Y).RGBA()
		if (r+g+bl)>>8 < 3*0xc0 {
			return false, why + fmt.Sprintf(", dark corner at %v", p)
		}
	}
	return true, why
}

func near(a, b [3]int, tol int) bool {
	for i := range a {
		if d := a[i] - b[i]; d > tol || d < -tol {
			return false
		}
	}
	return true
}

// readyAndShown waits for the window's READY=1 and checks that the panel
// shows the kiosk's screen at that moment.
func (n *nested) readyAndShown() {
	n.t.Helper()
	at, err := n.kNotify.wait(n.ctx, "READY=1")
	if err != nil {
		n.t.Fatalf("kiosk: %v", err)
	}
	img := n.shot("ready")
	n.t.Logf("READY=1 %.1f s after the start", at.Sub(n.started).Seconds())
	if ok, why := kioskScreen(img); !ok {
		n.t.Fatalf("at READY=1 the panel does not show the kiosk's screen (%s; %s)", why, filepath.Join(n.dir, "ready.png"))
	}
}

// windowID is the kiosk window's X id on Xwayland.
func (n *nested) windowID() string {
	n.t.Helper()
	cmd := exec.CommandContext(n.ctx, "xdotool", "search", "--onlyvisible", "--name", "^Quartierhub$")
	cmd.Env = append(envWithout("DISPLAY"), "DISPLAY="+n.inner)
	out, err := cmd.Output()
	if err != nil {
		n.t.Fatalf("no kiosk window on %s: %v", n.inner, err)
	}
	return strings.TrimSpace(string(out))
}

// The window comes up inside Weston's kiosk-shell: READY=1 once the
// kiosk's first screen is on the panel, full screen; the watchdog is fed;
// and the key combinations that would switch the VT, kill the X server,
// close the window or open a shell's menu reach the window as plain keys
// (Weston acts on none of them), which ignores them: window and
// compositor stay, and so does the screen.
func TestKioskInWestonKeepsTheScreen(t *testing.T) {
	n := startNested(t, 0)
	n.readyAndShown()
	if _, err := n.kNotify.wait(n.ctx, "WATCHDOG=1"); err != nil {
		t.Fatalf("kiosk: %v", err)
	}
	wid := n.windowID()
	geo := n.innerX("xdotool", "getwindowgeometry", wid)
	if !strings.Contains(geo, fmt.Sprintf("Geometry: %dx%d", panelW, panelH)) {
		t.Fatalf("the kiosk window is not full screen:\n%s", geo)
	}

	// xev watches the keys the kiosk window gets.
	xevLog := filepath.Join(n.dir, "xev.log")
	xl, err := os.Create(xevLog)
	must(t, err)
	defer xl.Close()
	// Line by line: xev buffers a file's output otherwise.
	xev := exec.Command("stdbuf", "-oL", "xev", "-id", wid, "-event", "keyboard")
	xev.Env = append(envWithout("DISPLAY"), "DISPLAY="+n.inner)
	xev.Stdout = xl
	xev.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	must(t, xev.Start())
	defer stopGroup(xev)
	// The outer display's keyboard goes to the window under the pointer:
	// Weston's. A Shift until xev sees it: then xev is watching and the
	// window has the keyboard.
	_, err = n.outer.X(n.ctx, "xdotool", "mousemove", strconv.Itoa(panelW/2), strconv.Itoa(panelH/2))
	must(t, err)
	must(t, harness.WaitFor(n.ctx, "xev watching the window's keys", func() (bool, error) {
		if _, err := n.outer.X(n.ctx, "xdotool", "key", "shift"); err != nil {
			return false, err
		}
		time.Sleep(100 * time.Millisecond) // the key's way through Weston and Xwayland
		return slices.Contains(keyPresses(xevLog), "Shift_L"), nil
	}))
	for _, c := range []struct {
		keys string
		// want is the main key as the window sees it; none for Ctrl+Alt+Fn,
		// which the outer Xvfb's XKB takes as its own VT switch before
		// Weston sees it (on the terminal, Weston's DRM backend would get
		// it; vt-switching=false keeps it from switching).
		want []string
	}{
		{"ctrl+alt+BackSpace", []string{"BackSpace", "Terminate_Server"}},
		{"ctrl+alt+F1", nil},
		{"ctrl+alt+F2", nil},
		{"ctrl+alt+F7", nil},
		{"alt+F4", []string{"F4"}},
		{"super", []string{"Super_L"}},
		{"super+q", []string{"q", "Q"}},
		{"alt+Tab", []string{"Tab", "ISO_Left_Tab"}},
		{"ctrl+alt+Delete", []string{"Delete"}},
		// desktop-shell's force-kill, zoom and debug bindings
		{"super+k", []string{"k", "K"}},
		{"super+alt+Up", []string{"Up"}},
		{"super+shift+space", []string{"space"}},
		{"Escape", []string{"Escape"}},
	} {
		before := len(keyPresses(xevLog))
		// The combination, then a Shift: once the window has the Shift,
		// Weston has handled the combination before it.
		_, err := n.outer.X(n.ctx, "xdotool", "key", c.keys, "shift")
		must(t, err)
		kctx, kcancel := context.WithTimeout(n.ctx, 15*time.Second)
		err = harness.WaitFor(kctx, c.keys+" handled", func() (bool, error) {
			got := keyPresses(xevLog)[before:]
			return len(got) > 0 && got[len(got)-1] == "Shift_L", nil
		})
		kcancel()
		if err != nil {
			t.Fatalf("after %s the window gets no keys: %v (weston running %v, window running %v)", c.keys, err, alive(n.weston), alive(n.kiosk))
		}
		got := keyPresses(xevLog)[before:]
		if len(c.want) > 0 && !slices.ContainsFunc(got, func(k string) bool { return slices.Contains(c.want, k) }) {
			t.Fatalf("%s never reached the window (Weston took it?); the window got %v", c.keys, got)
		}
		if !alive(n.weston) || !alive(n.kiosk) {
			t.Fatalf("after %s: weston running %v, window running %v", c.keys, alive(n.weston), alive(n.kiosk))
		}
	}
	// Whatever the keys did, it has been drawn by now.
	n.outer.Settle(300*time.Millisecond, 5*time.Second)
	if got := n.windowID(); got != wid {
		t.Fatalf("the kiosk window is %s, was %s", got, wid)
	}
	if ok, why := kioskScreen(n.shot("after-keys")); !ok {
		t.Fatalf("after the keys the panel does not show the kiosk (%s)", why)
	}
	if !alive(n.weston) || !alive(n.kiosk) {
		t.Fatalf("weston running %v, window running %v", alive(n.weston), alive(n.kiosk))
	}
}

// innerX runs an X client on Xwayland's display.
func (n *nested) innerX(name string, args ...string) string {
	n.t.Helper()
	cmd := exec.CommandContext(n.ctx, name, args...)
	cmd.Env = append(envWithout("DISPLAY"), "DISPLAY="+n.inner)
	out, err := cmd.CombinedOutput()
	if err != nil {
		n.t.Fatalf("%s %v on %s: %v\n%s", name, args, n.inner, err, out)
	}
	return string(out)
}

var keyPress = regexp.MustCompile(`KeyPress event[^\n]*\n[^\n]*\n\s*state 0x[0-9a-f]+, keycode \d+ \(keysym 0x[0-9a-f]+, (\w+)\)`)

// keyPresses lists the keysyms of the KeyPress events in xev's log.
func keyPresses(path string) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var b strings.Builder
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		b.WriteString(sc.Text() + "\n")
	}
	var out []string
	for _, m := range keyPress.FindAllStringSubmatch(b.String(), -1) {
		out = append(out, m[1])
	}
	return out
}

// The hub's rotation (the agent's compositor.json) turns the picture:
// the generated weston.ini has the transform and Xwayland's screen, with
// the kiosk window on all of it, is portrait on the landscape panel.
func TestRotationFromSettings(t *testing.T) {
	n := startNested(t, 90)
	b, err := os.ReadFile(filepath.Join(n.dir, "run", "weston.ini"))
	must(t, err)
	if !strings.Contains(string(b), "[output]\nname=X1\ntransform=rotate-90\n") {
		t.Fatalf("weston.ini has no rotated output:\n%s", b)
	}
	n.readyAndShown()
	if geo := strings.Fields(n.innerX("xdotool", "getdisplaygeometry")); len(geo) != 2 || geo[0] != strconv.Itoa(panelH) || geo[1] != strconv.Itoa(panelW) {
		t.Fatalf("Xwayland's screen is %v, want %dx%d (portrait)", geo, panelH, panelW)
	}
	geo := n.innerX("xdotool", "getwindowgeometry", n.windowID())
	if !strings.Contains(geo, fmt.Sprintf("Geometry: %dx%d", panelH, panelW)) {
		t.Fatalf("the kiosk window is not portrait full screen:\n%s", geo)
	}
}
