package main

// The kiosk group: the touchscreen window against Chromium in kiosk mode
// showing an equivalent static page, on the same Xvfb display, in the same
// run, alternating, BENCH_KIOSK_RUNS (default 3) times each; medians.
//
//	kiosk_start_ms     fork of `kiosk run` (attached to an agent already
//	                   running, so the figure is the window's) to its first
//	                   interactive frame
//	kiosk_pss_mb       PSS summed over every process of its session, read
//	                   from /proc/PID/smaps_rollup after the attract screen
//	                   has been up for 5 s
//	chromium_start_ms  the same for chromium --kiosk file://…/home.html
//	chromium_pss_mb    (six tiles like the kiosk's home screen)
//	kiosk_agent_pss_mb the agent the window talks to, for context (a
//	                   browser-based terminal would need it too)
//	kiosk_vs_chromium_start, kiosk_vs_chromium_pss   ratios (targets ≤ 0.5
//	                   and ≤ 0.33)
//
// First interactive frame: the first frame on the X server's screen that
// shows the complete first screen — the attract screen with its content,
// or the loaded page — measured from outside and alike for both: the Xvfb
// framebuffer is sampled every 5 ms from the fork on, and the moment of
// the last change before the screen stays unchanged for 2 s is the frame.
// Both programs draw from the loop that also dispatches input, so that
// frame is live. Each program runs in its own session (setsid): PSS is
// summed over that session's processes and only they are stopped.

import (
	"context"
	"errors"
	"fmt"
	"image/color"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/quartierhub/quartierhub/tests/internal/harness"
	"github.com/quartierhub/quartierhub/tests/internal/xvfb"
)

func init() {
	groups["kiosk"] = []string{"kiosk_start_ms", "kiosk_pss_mb", "chromium_start_ms", "chromium_pss_mb",
		"kiosk_agent_pss_mb", "kiosk_vs_chromium_start", "kiosk_vs_chromium_pss"}
}

var (
	paperColour = color.RGBA{0xf7, 0xf6, 0xf2, 0xff} // the kiosk theme's background
	inkColour   = color.RGBA{0x1a, 0x1a, 0x1a, 0xff} // and its text
)

func kioskBench(ctx context.Context, dir string) error {
	if miss := xvfb.Missing(); len(miss) > 0 {
		return fmt.Errorf("kiosk: missing %s", strings.Join(miss, ", "))
	}
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		return errors.New("kiosk: chromium is not installed (apt-get install chromium)")
	}
	runs := 3
	if v := os.Getenv("BENCH_KIOSK_RUNS"); v != "" {
		if runs, err = strconv.Atoi(v); err != nil || runs < 1 {
			return fmt.Errorf("BENCH_KIOSK_RUNS=%q: want a positive integer", v)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	root, err := harness.ModuleRoot(ctx)
	if err != nil {
		return err
	}
	kioskBin := filepath.Join(dir, "kiosk")
	build := exec.CommandContext(ctx, "go", "build", "-o", kioskBin, "./kiosk/cmd/kiosk")
	build.Dir, build.Env = root, append(os.Environ(), "CGO_ENABLED=1")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("kiosk: go build (cgo): %w\n%s", err, out)
	}
	page := filepath.Join(dir, "home.html")
	if err := os.WriteFile(page, []byte(homePage), 0o644); err != nil {
		return err
	}

	xdir := filepath.Join(dir, "x")
	if err := os.MkdirAll(xdir, 0o755); err != nil {
		return err
	}
	x, err := xvfb.Start(ctx, xdir, 1920, 1080)
	if err != nil {
		return err
	}
	defer x.Stop()

	ag, err := harness.NewAgent(harness.Bins{Kiosk: kioskBin}, filepath.Join(dir, "agent"))
	if err != nil {
		return err
	}
	if err := ag.Start(ctx); err != nil {
		return err
	}
	defer ag.Stop()

	var kStart, kPSS, cStart, cPSS []float64
	for i := range runs {
		k, err := measure(ctx, x, filepath.Join(dir, fmt.Sprintf("kiosk-%d", i)), kioskBin,
			"run", "--data", ag.Dir, "--log-level", "warn")
		if err != nil {
			return fmt.Errorf("kiosk run %d: %w", i+1, err)
		}
		logf("kiosk    run %d: first frame %.0f ms, PSS %.1f MiB in %d processes", i+1, k.startMS, k.pssMB, k.procs)
		profile, err := os.MkdirTemp(dir, "chromium-profile-")
		if err != nil {
			return err
		}
		c, err := measure(ctx, x, filepath.Join(dir, fmt.Sprintf("chromium-%d", i)), chromium,
			"--kiosk", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
			"--disable-component-update", "--disable-sync", "--user-data-dir="+profile,
			// Without a window manager --kiosk does not fill the screen.
			"--window-position=0,0", "--window-size=1920,1080", "file://"+page)
		if err != nil {
			return fmt.Errorf("chromium run %d: %w", i+1, err)
		}
		logf("chromium run %d: first frame %.0f ms, PSS %.1f MiB in %d processes", i+1, c.startMS, c.pssMB, c.procs)
		kStart, kPSS = append(kStart, k.startMS), append(kPSS, k.pssMB)
		cStart, cPSS = append(cStart, c.startMS), append(cPSS, c.pssMB)
	}
	agentPSS, _, err := sessionPSS(ag.PID())
	if err != nil {
		return err
	}
	figure("kiosk_start_ms", median(kStart), "ms")
	figure("kiosk_pss_mb", median(kPSS), "MiB")
	figure("chromium_start_ms", median(cStart), "ms")
	figure("chromium_pss_mb", median(cPSS), "MiB")
	figure("kiosk_agent_pss_mb", agentPSS, "MiB")
	figure("kiosk_vs_chromium_start", median(kStart)/median(cStart), "ratio")
	figure("kiosk_vs_chromium_pss", median(kPSS)/median(cPSS), "ratio")
	return nil
}

type measured struct {
	startMS, pssMB float64
	procs          int
}

// measure starts name in its own session on the display, waits for its
// first interactive frame (see the top of the file), lets it run 5 s,
// sums its session's PSS, screenshots it to base.png and stops its session.
func measure(ctx context.Context, x *xvfb.Display, base, name string, args ...string) (measured, error) {
	const quiet, sample = 2 * time.Second, 5 * time.Millisecond
	logFile, err := os.Create(base + ".log")
	if err != nil {
		return measured{}, err
	}
	defer logFile.Close()
	// The previous program's window must be gone from the screen first.
	if !x.Settle(500*time.Millisecond, 10*time.Second) {
		return measured{}, errors.New("the screen does not settle before the start")
	}
	before := x.Fingerprint()
	cmd := exec.Command(name, args...)
	cmd.Env = x.Env()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return measured{}, err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	defer stopSession(cmd.Process.Pid, exited)

	last, lastChange, firstChange, changes := before, time.Time{}, time.Time{}, 0
	deadline := t0.Add(60 * time.Second)
	for {
		select {
		case <-exited:
			return measured{}, fmt.Errorf("%s exited: %s", filepath.Base(name), harness.Tail(base+".log", 10))
		case <-ctx.Done():
			return measured{}, ctx.Err()
		case <-time.After(sample):
		}
		now := time.Now()
		if fp := x.Fingerprint(); fp != last {
			last, lastChange = fp, now
			changes++
			if os.Getenv("BENCH_KIOSK_FRAMES") != "" { // every change as a PNG, to see what the time went on
				_ = x.Screenshot(fmt.Sprintf("%s-change-%02d-%dms.png", base, changes, now.Sub(t0).Milliseconds()))
			}
			if firstChange.IsZero() {
				firstChange = now
			}
		}
		// Settled on the first screen: still for `quiet`, and showing it
		// (mostly background, some text), not a blank or black window.
		if !lastChange.IsZero() && now.Sub(lastChange) >= quiet && firstScreen(x) {
			break
		}
		if now.After(deadline) {
			_ = x.Screenshot(base + ".png")
			return measured{}, fmt.Errorf("the first screen was not up and still within 60 s; see %s.png", base)
		}
	}
	if err := x.Screenshot(base + ".png"); err != nil {
		return measured{}, err
	}
	m := measured{startMS: float64(lastChange.Sub(t0).Microseconds()) / 1000}
	logf("  %s: first change of the screen after %d ms, last after %.0f ms, %d changes", filepath.Base(name),
		firstChange.Sub(t0).Milliseconds(), m.startMS, changes)
	select { // "after the first screen has run for 5 s"
	case <-time.After(5*time.Second - time.Since(lastChange)):
	case <-ctx.Done():
		return measured{}, ctx.Err()
	}
	if m.pssMB, m.procs, err = sessionPSS(cmd.Process.Pid); err != nil {
		return measured{}, err
	}
	return m, nil
}

// firstScreen reports whether the screen shows a first screen in the
// kiosk theme's colours: at least a third background, and text.
func firstScreen(x *xvfb.Display) bool {
	n, err := x.Count(4, paperColour, inkColour)
	return err == nil && n[0] >= (1920/4)*(1080/4)/3 && n[1] >= 200
}

// session returns the processes whose session id is sid.
func session(sid int) []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// Fields after the command name: state ppid pgrp session …
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(f) > 3 && f[3] == strconv.Itoa(sid) {
			out = append(out, pid)
		}
	}
	return out
}

// sessionPSS sums Pss over the session led by pid (or just pid's own
// session, for a process that did not start one).
func sessionPSS(pid int) (float64, int, error) {
	pids := session(pid)
	if len(pids) == 0 {
		pids = []int{pid}
	}
	var kb float64
	for _, p := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", p))
		if err != nil {
			continue // gone meanwhile
		}
		for _, line := range strings.Split(string(b), "\n") {
			if rest, ok := strings.CutPrefix(line, "Pss:"); ok {
				v, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
				if err != nil {
					return 0, 0, err
				}
				kb += v
			}
		}
	}
	if kb == 0 {
		return 0, 0, fmt.Errorf("no PSS for session %d", pid)
	}
	return kb / 1024, len(pids), nil
}

// stopSession sends SIGTERM to every process of the session led by pid,
// then SIGKILL to what is left after 10 s.
func stopSession(pid int, exited <-chan struct{}) {
	for _, p := range session(pid) {
		_ = syscall.Kill(p, syscall.SIGTERM)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(session(pid)) > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond) // a process's exit has no event to wait on
	}
	for _, p := range session(pid) {
		_ = syscall.Kill(p, syscall.SIGKILL)
	}
	<-exited
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// homePage is the kiosk's home screen as a static page: top bar, heading,
// six tiles with icon, title and subtitle, in the kiosk theme's colours.
const homePage = `<!doctype html>
<html lang="de"><head><meta charset="utf-8"><title>Quartierhub</title>
<meta name="google" content="notranslate">
<style>
html,body{margin:0;height:100%;background:#f7f6f2;color:#1a1a1a;font-family:"Noto Sans",sans-serif}
header{display:flex;align-items:center;justify-content:space-between;padding:4px 12px;border-bottom:1px solid #c8c8c8}
header b{font-size:24px}
header nav button{font:inherit;font-size:20px;min-height:64px;padding:0 16px;border:0;border-radius:4px;background:#e3e6ea;color:#1a1a1a;margin-left:6px}
header nav button.on{background:#0b3d6e;color:#fff;font-weight:bold}
main{padding:16px}
h1{font-size:34px;margin:8px 4px 16px}
.grid{display:grid;grid-template-columns:repeat(3,1fr);gap:8px}
.tile{display:flex;align-items:center;gap:20px;min-height:176px;padding:0 20px;border:0;border-radius:4px;background:#0b3d6e;color:#fff;text-align:left;font:inherit}
.tile svg{flex:none;width:56px;height:56px;fill:#fff}
.tile strong{display:block;font-size:26px;margin-bottom:18px}
.tile span{font-size:22px}
footer{position:fixed;bottom:0;left:0;right:0;border-top:1px solid #c8c8c8;padding:6px 12px;text-align:right}
footer button{font:inherit;font-size:22px;font-weight:bold;min-height:64px;padding:0 16px;border:0;border-radius:4px;background:#e3e6ea}
</style></head><body>
<header><div><b>Friedrichstadt</b> &#10003; Verbunden</div>
<nav><button class="on">&#9673; Deutsch</button><button>&#9711; English</button><button>&#9744; Große Schrift</button><button>&#9744; Starker Kontrast</button></nav></header>
<main><h1>Was möchten Sie tun?</h1><div class="grid">
<button class="tile"><svg viewBox="0 0 24 24"><path d="M1 21h22L12 2 1 21zm12-3h-2v-2h2v2zm0-4h-2v-4h2v4z"/></svg><div><strong>Problem melden</strong><span>Müll, Licht, Wege, Spielplätze</span></div></button>
<button class="tile"><svg viewBox="0 0 24 24"><path d="M12 4.5C7 4.5 2.7 7.6 1 12c1.7 4.4 6 7.5 11 7.5s9.3-3.1 11-7.5c-1.7-4.4-6-7.5-11-7.5zM12 17a5 5 0 110-10 5 5 0 010 10zm0-8a3 3 0 100 6 3 3 0 000-6z"/></svg><div><strong>Luft und Klima</strong><span>Feinstaub und CO₂ hier, jetzt</span></div></button>
<button class="tile"><svg viewBox="0 0 24 24"><path d="M3 13h2v-2H3v2zm0 4h2v-2H3v2zm0-8h2V7H3v2zm4 4h14v-2H7v2zm0 4h14v-2H7v2zM7 7v2h14V7H7z"/></svg><div><strong>Umfrage: Friedrichstraße</strong><span>Ihre Meinung zählt, anonym</span></div></button>
<button class="tile"><svg viewBox="0 0 24 24"><path d="M19 8H5c-1.7 0-3 1.3-3 3v6h4v4h12v-4h4v-6c0-1.7-1.3-3-3-3zm-3 11H8v-5h8v5zm3-7a1 1 0 110-2 1 1 0 010 2zm-1-9H6v4h12V3z"/></svg><div><strong>Wartenummer</strong><span>Für die Beratung im Quartiersbüro</span></div></button>
<button class="tile"><svg viewBox="0 0 24 24"><path d="M11 7h2v2h-2V7zm0 4h2v6h-2v-6zm1-9a10 10 0 100 20 10 10 0 000-20zm0 18a8 8 0 110-16 8 8 0 010 16z"/></svg><div><strong>Das Quartier</strong><span>Was hier entsteht</span></div></button>
<button class="tile"><svg viewBox="0 0 24 24"><path d="M11 7h2v2h-2V7zm0 4h2v6h-2v-6zm1-9a10 10 0 100 20 10 10 0 000-20zm0 18a8 8 0 110-16 8 8 0 010 16z"/></svg><div><strong>Hilfe und Beratung</strong><span>Wo Sie Unterstützung finden</span></div></button>
</div></main>
<footer><button>Beenden</button></footer>
</body></html>
`
