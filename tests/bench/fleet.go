package main

// The fleet group: simulated terminals (tests/fleetsim) against one real
// hub-server process.
//
//	fleet   hub_p50_ms_N, hub_p99_ms_N (client-side latency over every
//	        request of the window), hub_cpu_cores_N (hub CPU time over the
//	        window / window), hub_rss_mb_N (VmHWM of a hub process started
//	        for this N), sim_cpu_cores_N, sim_rss_mb_N (the simulator
//	        itself: this process), sim_late_pct_N (share of the
//	        simulator's scheduled actions that started more than 1 s
//	        late: it kept up if ~0), sim_lag_p99_ms_N, fleet_conn_mode_N
//	        (keepalive or per_request, see below), hub_heartbeats_per_s,
//	        bare_http_per_s, hub_vs_bare_http_ratio
//
// for N in BENCH_FLEET_SIZES (default 1000,10000,50000). Each N: a fresh
// hub process on the same database, N terminals with their phases spread
// over the schedules, one heartbeat interval (30 s) of ramp-up, then
// BENCH_FLEET_WINDOW (default 45s) measured; N/1000 commands (at least 5)
// are sent to random terminals during the window. The fleet (the largest
// N) is enrolled once, through the real enrolment endpoint, on a hub
// whose data directory is on /dev/shm when there is one (setup only: the
// measured hub runs on a copy on the disk under -dir).
//
// Connection mode: each terminal holds one keep-alive connection when the
// descriptor limit (RLIMIT_NOFILE, raised as far as allowed) holds one
// per terminal in the hub and in this process; otherwise (50,000 in a
// container whose hard limit is 20,000) every request opens its own
// connection (fleetsim.PerRequest), as terminals behind NAT/LTE routers
// that drop idle TCP connections do — each terminal keeps its own key,
// token and source address, and the hub pays a TCP handshake per request.
//
// hub_vs_bare_http_ratio: 64 terminals send heartbeats back to back for
// 10 s, each on its own connection (fleetsim.ClosedLoop), to the hub and
// then, with the same client code, to tests/fleetsim/barehttp.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/quartierhub/quartierhub/tests/fleetsim"
	"github.com/quartierhub/quartierhub/tests/internal/harness"
)

func init() {
	var figs []string
	for _, n := range []string{"1000", "10000", "50000"} {
		for _, f := range []string{"hub_p50_ms_", "hub_p99_ms_", "hub_cpu_cores_", "hub_rss_mb_", "sim_cpu_cores_", "sim_rss_mb_",
			"sim_late_pct_", "sim_lag_p99_ms_", "fleet_conn_mode_", "hub_listen_overflows_", "fleet_ramped_up_"} {
			figs = append(figs, f+n)
		}
	}
	groups["fleet"] = append(figs, "hub_heartbeats_per_s", "bare_http_per_s", "hub_vs_bare_http_ratio")
}

const closedLoopClients = 64

func fleetSizes() ([]int, time.Duration, error) {
	sizes := []int{1000, 10000, 50000}
	if v := os.Getenv("BENCH_FLEET_SIZES"); v != "" {
		sizes = nil
		for _, s := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil || n <= 0 {
				return nil, 0, fmt.Errorf("BENCH_FLEET_SIZES=%q: want positive integers separated by commas", v)
			}
			sizes = append(sizes, n)
		}
	}
	window := 45 * time.Second
	if v := os.Getenv("BENCH_FLEET_WINDOW"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return nil, 0, fmt.Errorf("BENCH_FLEET_WINDOW=%q: want a positive duration", v)
		}
		window = d
	}
	return sizes, window, nil
}

func fleetBench(ctx context.Context, dir string) error {
	sizes, window, err := fleetSizes()
	if err != nil {
		return err
	}
	largest := max(closedLoopClients, sizes[0])
	for _, n := range sizes {
		largest = max(largest, n)
	}
	// Every terminal holds a connection here and at the hub; the hub
	// inherits the limit.
	lim, err := fleetsim.RaiseFileLimit(uint64(2*largest + 10000))
	if err != nil {
		return err
	}
	logf("  RLIMIT_NOFILE %d (hub and simulator)", lim)
	// With keep-alive the hub holds one descriptor per terminal
	// connection (plus its database, log and listener); so does this
	// process. A size the limit cannot hold runs with a connection per
	// request instead of failing dials.
	mode := func(n int) fleetsim.ConnMode {
		if uint64(n)+1000 > lim {
			return fleetsim.PerRequest
		}
		return fleetsim.KeepAlive
	}
	bins, err := harness.Build(ctx, filepath.Join(dir, "bin"))
	if err != nil {
		return err
	}
	bare := filepath.Join(dir, "bin", "barehttp")
	if err := goBuild(ctx, bare, "./tests/fleetsim/barehttp"); err != nil {
		return err
	}

	hubDir := filepath.Join(dir, "hub")
	ids, err := enrolFleet(ctx, bins, hubDir, largest)
	if err != nil {
		return err
	}

	if err := bareRatio(ctx, bins, hubDir, bare, ids[:closedLoopClients]); err != nil {
		return err
	}
	for _, n := range sizes {
		m := mode(n)
		logf("== fleet of %d terminals, %s connections: %s ramp-up, %s window; load %s", n, m, 30*time.Second, window, loadavg())
		if m == fleetsim.PerRequest {
			logf("  RLIMIT_NOFILE %d cannot hold a keep-alive connection per terminal (raising it needs CAP_SYS_RESOURCE): a new connection per request", lim)
		}
		fmt.Printf("fleet_conn_mode_%d %s\n", n, m)
		if err := fleetRun(ctx, bins, hubDir, ids[:n], window, m); err != nil {
			return fmt.Errorf("fleet %d: %w", n, err)
		}
	}
	return nil
}

func goBuild(ctx context.Context, out, pkg string) error {
	root, err := harness.ModuleRoot(ctx)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w\n%s", pkg, err, msg)
	}
	return nil
}

// enrolFleet enrols n terminals and leaves the hub's database in hubDir.
// The setup hub runs on /dev/shm when available: enrolment is one
// synchronous SQLite transaction per terminal, which on this disk would
// take minutes for 50,000, and it is not what is measured.
func enrolFleet(ctx context.Context, bins harness.Bins, hubDir string, n int) ([]fleetsim.Identity, error) {
	setupDir := hubDir
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		d, err := os.MkdirTemp("/dev/shm", "qh-fleet-")
		if err == nil {
			defer os.RemoveAll(d)
			setupDir = filepath.Join(d, "hub")
		}
	}
	start := time.Now()
	hub, err := harness.NewHub(bins, setupDir)
	if err != nil {
		return nil, err
	}
	if err := hub.StartFresh(ctx); err != nil {
		return nil, err
	}
	stopped := false
	defer func() {
		if !stopped {
			hub.Stop()
		}
	}()
	if err := fleetsim.SetConfig(ctx, hub, fleetsim.DemoConfig); err != nil {
		return nil, err
	}
	ids, err := fleetsim.EnrollFleet(ctx, hub, "fleet", "Johannstadt", n, 32)
	if err != nil {
		return nil, err
	}
	stopped = true
	if err := hub.Stop(); err != nil {
		return nil, err
	}
	if setupDir != hubDir {
		if err := copyDir(setupDir, hubDir); err != nil {
			return nil, err
		}
	}
	logf("  enrolled %d terminals (token bulk + POST %s each) in %s, on %s", n, "/api/v1/enroll", time.Since(start).Round(100*time.Millisecond), setupDir)
	return ids, nil
}

// copyDir copies the regular files of src (the hub's database) into dst.
func copyDir(src, dst string) error {
	if err := os.MkdirAll(dst, 0o750); err != nil {
		return err
	}
	ents, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if !e.Type().IsRegular() || strings.HasSuffix(e.Name(), ".log") {
			continue
		}
		in, err := os.Open(filepath.Join(src, e.Name()))
		if err != nil {
			return err
		}
		out, err := os.Create(filepath.Join(dst, e.Name()))
		if err == nil {
			_, err = io.Copy(out, in)
			err = errorsJoin(err, out.Sync(), out.Close())
		}
		in.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

func errorsJoin(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// startHub starts a fresh hub process on hubDir.
func startHub(ctx context.Context, bins harness.Bins, hubDir string) (*harness.Hub, error) {
	hub, err := harness.NewHub(bins, hubDir)
	if err != nil {
		return nil, err
	}
	return hub, hub.StartFresh(ctx)
}

// bareRatio measures closed-loop heartbeats/s of the hub and of a bare
// net/http server with the same client.
func bareRatio(ctx context.Context, bins harness.Bins, hubDir, bareBin string, ids []fleetsim.Identity) error {
	const d = 10 * time.Second
	logf("== closed loop: %d terminals sending heartbeats back to back for %s, hub then bare net/http", len(ids), d)
	hub, err := startHub(ctx, bins, hubDir)
	if err != nil {
		return err
	}
	hs, err := fleetsim.ClosedLoop(ctx, hub.URL(), ids, d)
	cpu, _ := harness.CPUSeconds(hub.PID())
	if serr := hub.Stop(); err == nil {
		err = serr
	}
	if err != nil {
		return err
	}
	logf("  hub:  %s  (%.0f/s, hub CPU %.1f s in all)", hs.All, hs.PerSecond(), cpu)
	if hs.All.Failed > 0 {
		return fmt.Errorf("closed loop against the hub: %d failures: %v", hs.All.Failed, hs.Errors)
	}

	cmd := exec.CommandContext(ctx, bareBin)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		return fmt.Errorf("barehttp: no address: %w", err)
	}
	bs, err := fleetsim.ClosedLoop(ctx, "http://"+strings.TrimSpace(addr), ids, d)
	if err != nil {
		return err
	}
	logf("  bare: %s  (%.0f/s)", bs.All, bs.PerSecond())
	if bs.All.Failed > 0 {
		return fmt.Errorf("closed loop against barehttp: %d failures: %v", bs.All.Failed, bs.Errors)
	}
	figure("hub_heartbeats_per_s", hs.PerSecond(), "heartbeats/s")
	figure("bare_http_per_s", bs.PerSecond(), "requests/s")
	figure("hub_vs_bare_http_ratio", hs.PerSecond()/bs.PerSecond(), "ratio")
	return nil
}

// fleetRun runs one fleet size against a fresh hub process: the fleet
// ramps up, one window is measured while commands go out, then the
// figures are reported.
func fleetRun(ctx context.Context, bins harness.Bins, hubDir string, ids []fleetsim.Identity, window time.Duration, mode fleetsim.ConnMode) error {
	hub, err := startHub(ctx, bins, hubDir)
	if err != nil {
		return err
	}
	defer hub.Stop()
	f, err := newFleet(hub, ids, mode)
	if err != nil {
		return err
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- f.Run(runCtx) }()

	rampedUp, err := rampUp(ctx, f, len(ids))
	if err != nil {
		return err
	}
	f.Reset()
	w, err := measureWindow(ctx, hub, f, ids, window)
	if err != nil {
		return err
	}
	online, oerr := fleetsim.Online(ctx, hub)
	stop()
	<-done

	w.log(f, online, oerr)
	w.figures(rampedUp)
	return nil
}

// newFleet simulates the terminals ids against hub. Per request, the
// sockets in flight stay within this process's descriptor limit (and so
// within the hub's, which is the same).
func newFleet(hub *harness.Hub, ids []fleetsim.Identity, mode fleetsim.ConnMode) (*fleetsim.Fleet, error) {
	return fleetsim.New(fleetsim.Opts{HubURL: hub.URL(), ConnMode: mode, MaxInFlight: max(1000, int(fileLimit())-3000)}, ids)
}

// rampUp waits until every terminal connected and sent its first
// heartbeat (and fetched the configuration) within its first heartbeat
// interval, and at least 30 s. If the hub (or this shared machine)
// cannot keep up, the window is still measured after 90 s, and the
// figures say so: every terminal not yet served is an action late
// (sim_late_pct), and rampedUp (fleet_ramped_up_N) is false.
func rampUp(ctx context.Context, f *fleetsim.Fleet, n int) (rampedUp bool, err error) {
	rampStart := time.Now()
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for f.MinCount(fleetsim.KindHeartbeat) < 1 || time.Since(rampStart) < 30*time.Second {
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-tick.C:
		}
		s := f.Stats()
		logf("  ramp-up %s: %d connections, %s", time.Since(rampStart).Round(time.Second), f.Dials(), s.All)
		if time.Since(rampStart) > 90*time.Second {
			logf("  ramp-up: only %d of %d terminals heartbeated within 90 s (load %s); measuring anyway; errors: %s", f.Reached(fleetsim.KindHeartbeat, 1), n, loadavg(),
				strings.Join(s.Errors[:min(5, len(s.Errors))], "; "))
			return false, nil
		}
	}
	return true, nil
}

// fleetWindow is what one measured window saw.
type fleetWindow struct {
	n              int
	st             fleetsim.Stats
	behind         int
	overflows      int64   // TcpExt ListenOverflows during the window
	hubCPU, simCPU float64 // CPU seconds spent in the window
	hubRSS, simRSS float64 // MiB: the hub's peak, this process's largest seen
	sent           int     // commands
}

// measureWindow measures the hub and this process for window while
// n/1000 commands (at least 5) go to random terminals.
func measureWindow(ctx context.Context, hub *harness.Hub, f *fleetsim.Fleet, ids []fleetsim.Identity, window time.Duration) (fleetWindow, error) {
	w := fleetWindow{n: len(ids)}
	pid := hub.PID()
	hubCPU0, err := harness.CPUSeconds(pid)
	if err != nil {
		return w, err
	}
	simCPU0 := selfCPUSeconds()
	overflows0 := listenOverflows()
	if w.sent, w.simRSS, err = sendCommands(ctx, hub, ids, window); err != nil {
		return w, err
	}
	w.st = f.Stats()
	w.behind = f.Behind()
	w.overflows = listenOverflows() - overflows0
	hubCPU1, err := harness.CPUSeconds(pid)
	if err != nil {
		return w, err
	}
	w.hubCPU, w.simCPU = hubCPU1-hubCPU0, selfCPUSeconds()-simCPU0
	w.hubRSS, err = harness.PeakRSSMiB(pid)
	return w, err
}

// sendCommands sends sync_now commands to random terminals, spread so
// that the terminals' next heartbeats (within 30 s) pick them up inside
// the window, and returns when the window is over with how many it sent
// and the largest RSS this process had meanwhile.
func sendCommands(ctx context.Context, hub *harness.Hub, ids []fleetsim.Identity, window time.Duration) (sent int, simRSS float64, err error) {
	n := len(ids)
	start := time.Now()
	commands := max(5, n/1000)
	rng := mrand.New(mrand.NewPCG(uint64(n), 1))
	noteRSS := func() {
		if v, err := procStatusMiB(os.Getpid(), "VmRSS:"); err == nil {
			simRSS = max(simRSS, v)
		}
	}
	span := max(window-35*time.Second, window/2)
	for time.Since(start) < window {
		at := start.Add(span * time.Duration(sent+1) / time.Duration(commands+1))
		if sent >= commands {
			at = start.Add(window)
		}
		select {
		case <-ctx.Done():
			return sent, simRSS, ctx.Err()
		case <-time.After(max(time.Until(at), 0)):
		}
		if sent < commands {
			if err := fleetsim.SendCommand(ctx, hub, ids[rng.IntN(n)].Name, "sync_now"); err != nil {
				return sent, simRSS, err
			}
			sent++
		}
		noteRSS()
	}
	noteRSS()
	return sent, simRSS, nil
}

// log writes what the window saw, per request kind and in all.
func (w fleetWindow) log(f *fleetsim.Fleet, online int, onlineErr error) {
	st := w.st
	for _, k := range st.Kinds {
		logf("  %s", k)
	}
	logf("  %s  (%.0f requests/s, %d connections dialled, %d commands sent)", st.All, st.PerSecond(), f.Dials(), w.sent)
	logf("  kernel: %d connections dropped because the hub's listen queue was full (TcpExt ListenOverflows, whole machine)", w.overflows)
	logf("  simulator: %d scheduled actions started, %d (%.2f %%) more than %s late, lag p50 %s p99 %s; %d of %d terminals behind at the end; load %s",
		st.Actions, st.Late, 100*st.LateRatio(), fleetsim.LateAfter, st.LagP50, st.LagP99, w.behind, w.n, loadavg())
	if len(st.Errors) > 0 {
		logf("  failures: %s", strings.Join(st.Errors[:min(8, len(st.Errors))], "; "))
	}
	if onlineErr != nil {
		logf("  terminal list: %v", onlineErr)
	} else {
		logf("  hub lists %d of %d terminals online", online, w.n)
	}
}

// figures prints the window's figures for its fleet size.
func (w fleetWindow) figures(rampedUp bool) {
	st := w.st
	elapsed := st.Elapsed.Seconds()
	sfx := "_" + strconv.Itoa(w.n)
	figure("hub_p50_ms"+sfx, st.All.P50.Seconds()*1000, "ms")
	figure("hub_p99_ms"+sfx, st.All.P99.Seconds()*1000, "ms")
	figure("hub_cpu_cores"+sfx, w.hubCPU/elapsed, "cores")
	figure("hub_rss_mb"+sfx, w.hubRSS, "MiB")
	figure("sim_cpu_cores"+sfx, w.simCPU/elapsed, "cores")
	figure("sim_rss_mb"+sfx, w.simRSS, "MiB")
	figure("sim_late_pct"+sfx, 100*st.LateRatio(), "%")
	figure("sim_lag_p99_ms"+sfx, st.LagP99.Seconds()*1000, "ms")
	figure("hub_listen_overflows"+sfx, float64(w.overflows), "connections")
	ramped := 0.0
	if rampedUp {
		ramped = 1
	}
	figure("fleet_ramped_up"+sfx, ramped, "bool")
}

// listenOverflows is the machine's TcpExt ListenOverflows counter: SYNs
// dropped because a listener's accept queue was full (the client retries
// after 1 s, 3 s, …, which shows as seconds of latency).
func listenOverflows() int64 {
	b, err := os.ReadFile("/proc/net/netstat")
	if err != nil {
		return 0
	}
	lines := strings.Split(string(b), "\n")
	for i := 0; i+1 < len(lines); i += 2 {
		names, values := strings.Fields(lines[i]), strings.Fields(lines[i+1])
		if len(names) == 0 || names[0] != "TcpExt:" || len(values) != len(names) {
			continue
		}
		for j, name := range names {
			if name == "ListenOverflows" {
				v, _ := strconv.ParseInt(values[j], 10, 64)
				return v
			}
		}
	}
	return 0
}

// loadavg is /proc/loadavg's first three fields: other work on the
// machine shows in every figure.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}

// fileLimit is this process's RLIMIT_NOFILE.
func fileLimit() uint64 {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0
	}
	return lim.Cur
}

// selfCPUSeconds is this process's user+system CPU time.
func selfCPUSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// procStatusMiB reads a kB field of /proc/PID/status in MiB.
func procStatusMiB(pid int, field string) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}
