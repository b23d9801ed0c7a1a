// Command bench measures the terminal-to-hub path and prints one figure
// per line as `NAME VALUE UNIT` on stdout (everything else on stderr):
//
//	outbox      outbox_submit_per_s, outbox_submit_single_tx_per_s, ... (outboxbench)
//	ingest      sqlite_bulk_insert_per_s and the hub's ingest figures (ingestbench,
//	            run as its TestIngestBench because it is internal to hub-server)
//	drain       drain_1m_seconds, drain_records_per_s, agent_peak_rss_mb and
//	            hub_peak_rss_mb (VmHWM at the end of the drain; the agent's
//	            includes its memory-mapped outbox file), *_peak_anon_rss_mb
//	            (RssAnon sampled while draining), agent_cpu_s, hub_cpu_s,
//	            drain_vs_bulk_ratio
//
// The drain fills a terminal's outbox with BENCH_RECORDS (default
// 1,000,000) sensor records of 200-byte payloads, created over a simulated
// week, then starts a real hub process and a real `kiosk agent` process on
// it and measures from agent start until the outbox is empty; the hub's
// count is verified afterwards.
//
//	kiosk       kiosk_start_ms, kiosk_pss_mb, chromium_start_ms, chromium_pss_mb
//	            (the window against chromium --kiosk under Xvfb; see kiosk.go)
//
//	fleet       hub_p50_ms_N, hub_p99_ms_N, hub_cpu_cores_N, hub_rss_mb_N, hub_vs_bare_http_ratio, ...
//	            (simulated terminals against one hub; see fleet.go)
//
//	tuf         tuf_metadata_rps, tuf_metadata_p50_ms, tuf_metadata_p99_ms
//	            (update checks against a real hub's TUF repository; see tuf.go)
//
//	update      update_apply_seconds, update_release_mib
//	            (the terminal's updater applying a 30 MiB release; see update.go)
//
//	workshop    workshop_fold_events_per_s, workshop_fanout_p50_ms, workshop_fanout_p99_ms,
//	            workshop_fanout_p50_ms_400, workshop_fanout_p99_ms_400, workshop_hub_rss_mb_400
//	            (an idea from one terminal to the other terminals, the console and
//	            40 or 400 phones; the fold of a 10,000-event log; see workshop.go)
//
//	speech      speech_latency_p50_ms, speech_latency_p95_ms, speech_stop_p95_ms
//	            (a key press to espeak-ng's first audio sample; see speech.go)
//
//	sta         sta_latest_all_ms, sta_window_day_ms (+ _p95_ and _1d variants), sta_hub_rss_mb, sta_btree_depth
//	            (the SensorThings API over 1,000 terminals' minute data on SQLite; see sta.go)
//
//	go run ./tests/bench [-only outbox|ingest|drain|kiosk|fleet|tuf|update|workshop|speech|sta|FIGURE] [-dir DIR] [-keep] [-bulk ROWS_PER_S]
package main

import (
	"bufio"
	"context"
	"database/sql"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	_ "modernc.org/sqlite" // counts the hub's records

	"github.com/quartierhub/quartierhub/kiosk/agent"
	"github.com/quartierhub/quartierhub/kiosk/outbox"
	"github.com/quartierhub/quartierhub/kiosk/outbox/outboxbench"
	"github.com/quartierhub/quartierhub/tests/internal/harness"
)

func main() {
	only := flag.String("only", "", "run one group (outbox, ingest, drain) or the group of one figure")
	dir := flag.String("dir", "", "work directory on the disk to measure (default a new temp dir)")
	keep := flag.Bool("keep", false, "keep the work directory")
	bulk := flag.Float64("bulk", 0, "sqlite_bulk_insert_per_s measured earlier, for drain_vs_bulk_ratio when the ingest group is not run")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *only, *dir, *keep, *bulk); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// groups maps each group to the figures it prints (for -only NAME).
var groups = map[string][]string{
	"outbox": {"outbox_submit_per_s", "outbox_submit_single_tx_per_s", "outbox_submit_nofreelistsync_per_s", "outbox_group_commit_ratio"},
	"ingest": {"sqlite_bulk_insert_per_s", "hub_store_ingest_per_s", "hub_http_ingest_per_s", "hub_http_ingest_vs_bulk"},
	"drain":  {"drain_1m_seconds", "drain_seconds", "drain_records_per_s", "agent_peak_rss_mb", "hub_peak_rss_mb", "agent_peak_anon_rss_mb", "hub_peak_anon_rss_mb", "agent_cpu_s", "hub_cpu_s", "drain_vs_bulk_ratio"},
}

func selected(only, group string) bool {
	if only == "" || only == group {
		return true
	}
	for _, f := range groups[group] {
		if f == only {
			return true
		}
	}
	return false
}

func figure(name string, value float64, unit string) {
	prec := 1
	if value >= 1000 {
		prec = 0
	} else if value < 10 {
		prec = 2
	}
	fmt.Printf("%s %.*f %s\n", name, prec, value, unit)
}

func logf(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }

func run(ctx context.Context, only, dir string, keep bool, bulk float64) error {
	if only != "" && !selected(only, "outbox") && !selected(only, "ingest") && !selected(only, "drain") && !selected(only, "kiosk") && !selected(only, "fleet") && !selected(only, "tuf") && !selected(only, "update") && !selected(only, "workshop") && !selected(only, "speech") && !selected(only, "sta") {
		return fmt.Errorf("-only %q: not a group or figure", only)
	}
	records := 1_000_000
	if v := os.Getenv("BENCH_RECORDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return fmt.Errorf("BENCH_RECORDS=%q: want a positive integer", v)
		}
		records = n
	}
	var err error
	if dir == "" {
		if dir, err = os.MkdirTemp("", "qh-bench-"); err != nil {
			return err
		}
	} else if dir, err = os.MkdirTemp(dir, "qh-bench-"); err != nil {
		return err
	}
	if keep {
		logf("work directory %s kept", dir)
	} else {
		defer os.RemoveAll(dir)
	}

	if selected(only, "outbox") {
		logf("== outbox submit (outboxbench, 3 x 3 s)")
		obDir := filepath.Join(dir, "outboxbench")
		if err := os.MkdirAll(obDir, 0o700); err != nil {
			return err
		}
		r, err := outboxbench.Run(ctx, outboxbench.Opts{Dir: obDir})
		if err != nil {
			return err
		}
		for _, l := range r.Lines() {
			fmt.Println(l)
		}
	}
	if selected(only, "ingest") {
		logf("== hub ingest (ingestbench, %d records)", records)
		if bulk, err = ingestBench(ctx, records); err != nil {
			return err
		}
	}
	if selected(only, "drain") {
		logf("== drain of %d records through kiosk agent and hub-server", records)
		if err := drain(ctx, filepath.Join(dir, "drain"), records, bulk); err != nil {
			return err
		}
	}
	if selected(only, "kiosk") {
		logf("== kiosk window against chromium --kiosk, under Xvfb")
		if err := kioskBench(ctx, filepath.Join(dir, "kiosk")); err != nil {
			return err
		}
	}
	if selected(only, "tuf") {
		logf("== update checks against the hub's TUF repository (tuf.go)")
		if err := tufBench(ctx, filepath.Join(dir, "tuf")); err != nil {
			return err
		}
	}
	if selected(only, "update") {
		logf("== the updater applying a release from a real hub (update.go)")
		if err := updateBench(ctx); err != nil {
			return err
		}
	}
	if selected(only, "workshop") {
		logf("== workshops: an idea's way to everyone in the room, the fold (workshop.go)")
		if err := workshopBench(ctx, filepath.Join(dir, "workshop"), only); err != nil {
			return err
		}
	}
	if selected(only, "speech") {
		logf("== speech: key press to espeak-ng's first sample (speech.go)")
		if err := speechBench(ctx); err != nil {
			return err
		}
	}
	if selected(only, "sta") {
		logf("== sta: the SensorThings API over a history of minute data (sta.go)")
		if err := staBench(ctx, filepath.Join(dir, "sta")); err != nil {
			return err
		}
	}
	if selected(only, "fleet") {
		logf("== fleet of simulated terminals against one hub (fleet.go)")
		if err := fleetBench(ctx, filepath.Join(dir, "fleet")); err != nil {
			return err
		}
	}
	return nil
}

var figureLine = regexp.MustCompile(`^([a-z0-9_]+) ([0-9.eE+-]+) (\S+)$`)

// ingestBench runs hub-server/internal/ingestbench through its
// TestIngestBench (the package is internal to hub-server), passes its
// figures on and returns sqlite_bulk_insert_per_s.
func ingestBench(ctx context.Context, records int) (float64, error) {
	root, err := harness.ModuleRoot(ctx)
	if err != nil {
		return 0, err
	}
	cmd := exec.CommandContext(ctx, "go", "test", "-count=1", "-timeout=30m", "-run", "^TestIngestBench$", "-v", "./hub-server/internal/ingestbench")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "QH_BENCH=1", "QH_BENCH_RECORDS="+strconv.Itoa(records), "CGO_ENABLED=0")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	var bulk float64
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		m := figureLine.FindStringSubmatch(strings.TrimSpace(sc.Text()))
		if m == nil {
			logf("  %s", sc.Text())
			continue
		}
		fmt.Println(m[0])
		if m[1] == "sqlite_bulk_insert_per_s" {
			bulk, _ = strconv.ParseFloat(m[2], 64)
		}
	}
	if err := cmd.Wait(); err != nil {
		return 0, fmt.Errorf("ingestbench: %w", err)
	}
	if bulk == 0 {
		return 0, fmt.Errorf("ingestbench printed no sqlite_bulk_insert_per_s")
	}
	return bulk, nil
}

// drain measures how long a real agent needs to hand a full outbox to a
// real hub.
func drain(ctx context.Context, dir string, records int, bulk float64) error {
	bins, err := harness.Build(ctx, filepath.Join(dir, "bin"))
	if err != nil {
		return err
	}
	hub, err := harness.NewHub(bins, filepath.Join(dir, "hub"))
	if err != nil {
		return err
	}
	if err := hub.StartFresh(ctx); err != nil {
		return err
	}
	defer hub.Stop()
	ag, err := harness.NewAgent(bins, filepath.Join(dir, "terminal"))
	if err != nil {
		return err
	}
	tok, err := hub.Token(ctx, "bench-terminal", "Friedrichstadt")
	if err != nil {
		return err
	}
	if err := ag.Enroll(ctx, hub.URL(), tok); err != nil {
		return err
	}
	if err := fill(ctx, filepath.Join(ag.Dir, agent.OutboxFile), records); err != nil {
		return err
	}

	start := time.Now()
	if err := ag.Start(ctx); err != nil {
		return err
	}
	defer ag.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	lastLog := start
	var agentAnon, hubAnon float64 // peak RssAnon seen while polling
	for {
		st, err := ag.Client.Status(ctx)
		if err != nil {
			return err
		}
		for _, m := range []struct {
			pid  int
			peak *float64
		}{{ag.PID(), &agentAnon}, {hub.PID(), &hubAnon}} {
			if v, err := harness.AnonRSSMiB(m.pid); err == nil {
				*m.peak = max(*m.peak, v)
			}
		}
		left := harness.OutboxCount(st)
		if left == 0 {
			break
		}
		if st.Sync.LastError != "" {
			logf("  sync error: %s", st.Sync.LastError)
		}
		if time.Since(lastLog) >= 5*time.Second {
			logf("  %s: %d records left", time.Since(start).Round(time.Second), left)
			lastLog = time.Now()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	elapsed := time.Since(start)
	agentRSS, err1 := harness.PeakRSSMiB(ag.PID())
	hubRSS, err2 := harness.PeakRSSMiB(hub.PID())
	agentCPU, err3 := harness.CPUSeconds(ag.PID())
	hubCPU, err4 := harness.CPUSeconds(hub.PID())
	for _, err := range []error{err1, err2, err3, err4} {
		if err != nil {
			return err
		}
	}
	n, err := hubCount(ctx, filepath.Join(hub.Dir, "hub.db"))
	if err != nil {
		return err
	}
	if n != int64(records) {
		return fmt.Errorf("hub holds %d records after the drain, want %d", n, records)
	}
	logf("  hub holds %d records", n)

	name := "drain_1m_seconds"
	if records != 1_000_000 {
		name = "drain_seconds"
		logf("  (BENCH_RECORDS=%d: drain_seconds instead of drain_1m_seconds)", records)
	}
	rate := float64(records) / elapsed.Seconds()
	figure(name, elapsed.Seconds(), "s")
	figure("drain_records_per_s", rate, "records/s")
	figure("agent_peak_rss_mb", agentRSS, "MiB")
	figure("hub_peak_rss_mb", hubRSS, "MiB")
	figure("agent_peak_anon_rss_mb", agentAnon, "MiB")
	figure("hub_peak_anon_rss_mb", hubAnon, "MiB")
	figure("agent_cpu_s", agentCPU, "s")
	figure("hub_cpu_s", hubCPU, "s")
	if bulk > 0 {
		figure("drain_vs_bulk_ratio", rate/bulk, "ratio")
	}
	return nil
}

// fill stores n sensor records with 200-byte payloads in the outbox at
// path, as an agent offline for a week would hold them: created_at spread
// over the past week. This is setup: many concurrent submitters share
// group commits. The cap is raised for the fill because a million such
// records (303 accounted bytes each) exceed the default 256 MiB.
func fill(ctx context.Context, path string, n int) error {
	const week = 7 * 24 * time.Hour
	t0 := time.Now().Add(-week)
	step := week / time.Duration(n)
	var tick atomic.Int64
	clock := func() time.Time { return t0.Add(time.Duration(tick.Add(1)) * step) }
	ob, err := outbox.Open(path, outbox.Opts{MaxBytes: 1 << 30, Now: clock})
	if err != nil {
		return err
	}
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 1)
	for range 64 {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(n) || ctx.Err() != nil {
					return
				}
				if _, err := ob.Submit(ctx, "sensor_minute", outbox.ClassSensor, sensorPayload(i)); err != nil {
					select {
					case errs <- err:
					default:
					}
					return
				}
			}
		})
	}
	wg.Wait()
	if err := ob.Close(); err != nil {
		return err
	}
	select {
	case err := <-errs:
		return fmt.Errorf("fill: %w", err)
	default:
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	logf("  filled the outbox with %d records in %s (%.0f/s), file %d MiB", n, time.Since(start).Round(time.Millisecond),
		float64(n)/time.Since(start).Seconds(), fi.Size()>>20)
	return nil
}

// sensorPayload is a 200-byte sensor_minute body.
func sensorPayload(i int64) []byte {
	p := fmt.Sprintf(`{"sensor":"sds011-%d","minute":%d,"pm25":{"min":%.1f,"avg":%.1f,"max":%.1f},"pm10":{"min":%.1f,"avg":%.1f,"max":%.1f},"n":60,"pad":"`,
		i%4, i, float64(i%50), float64(i%50)+1.5, float64(i%50)+3.2, float64(i%80), float64(i%80)+2.1, float64(i%80)+4.4)
	return []byte(p + strings.Repeat("x", max(0, 200-len(p)-2)) + `"}`)
}

// hubCount counts the records in the hub's SQLite file (read-only query,
// the hub may still run).
func hubCount(ctx context.Context, path string) (int64, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=query_only(ON)")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var n int64
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM records`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count hub records: %w", err)
	}
	return n, nil
}
