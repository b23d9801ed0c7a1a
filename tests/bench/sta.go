package main

// The sta group: the hub's SensorThings API (/sta/v1.1) over a year-like
// history of per-minute air data, on SQLite.
//
//	sta     sta_latest_all_ms, sta_latest_all_p95_ms (the latest observation
//	        of every datastream: Datastreams with $expand=Observations($top=1;
//	        $orderby=phenomenonTime desc), every @iot.nextLink followed; one
//	        figure is the sum of its pages), sta_window_day_ms,
//	        sta_window_day_p95_ms (one datastream's day of minutes, the shape
//	        FROST's Grafana plugin sends), sta_hub_rss_mb (the hub's VmRSS
//	        after the run), sta_hub_peak_rss_mb, sta_observations,
//	        sta_history_days, sta_db_mib, sta_btree_depth; the same with _1d
//	        for a history of one day; sta_seed_rows_per_s when it seeded.
//
// STA_BENCH_TERMINALS (default 1000) terminals with three datastreams
// each (PM2.5, PM10 of an SDS011, CO2 of an MH-Z19B; every tenth terminal
// indoors, its CO2 published hourly), STA_BENCH_DAYS (default 3: 12.9
// million observations, seeded in 50 s on this 2-core machine when quiet;
// 7 days, 30 million, took six minutes while other builds ran) days of
// minutes. A year (1.58 billion observations, ~80 GB) cannot be seeded in
// a bench run here; the queries are index seeks whose cost grows with the
// B-tree's depth (logarithmic in the rows), so the group measures two
// history lengths, one day and STA_BENCH_DAYS, and prints the pages of
// each level of both trees and of a year's. The seeded databases are
// cached in STA_BENCH_CACHE (default $XDG_CACHE_HOME/quartierhub-bench/sta),
// keyed by the hub's migrations and the knobs; a real `hub-server serve`
// then runs on each cached database (both at once, their repetitions
// alternating, so the load of a shared machine falls on both histories
// alike) and is asked through HTTP: STA_BENCH_REPS (default 30) measured
// repetitions of each query after 3 warm-ups (1 when slow), each from its
// own loopback address (the per-client limit is not what is measured; a
// 429 fails the group), fewer (at least 5) once STA_BENCH_BUDGET (default
// 45s) per query and history is spent.

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/quartierhub/quartierhub/tests/internal/harness"
)

func init() {
	var figs []string
	for _, suffix := range []string{"", "_1d"} {
		for _, f := range []string{"sta_latest_all_ms", "sta_latest_all_p95_ms", "sta_window_day_ms", "sta_window_day_p95_ms",
			"sta_hub_rss_mb", "sta_hub_peak_rss_mb", "sta_observations", "sta_history_days", "sta_db_mib", "sta_btree_depth"} {
			figs = append(figs, f+suffix)
		}
	}
	groups["sta"] = append(figs, "sta_seed_rows_per_s")
}

const staYearDays = 365

// staPageSize is the page size asked for the latest of every datastream:
// the hub's cap, as a dashboard that wants every datastream asks (three
// pages for 3,000 datastreams). FROST's default page of 100 costs a
// request per 100 datastreams more: about twice the time here.
const staPageSize = 1000

func staBench(ctx context.Context, dir string) error {
	terminals, err := envInt("STA_BENCH_TERMINALS", 1000)
	if err != nil {
		return err
	}
	days, err := envInt("STA_BENCH_DAYS", 3)
	if err != nil {
		return err
	}
	reps, err := envInt("STA_BENCH_REPS", 30)
	if err != nil {
		return err
	}
	budget := 45 * time.Second
	if v := os.Getenv("STA_BENCH_BUDGET"); v != "" {
		if budget, err = time.ParseDuration(v); err != nil || budget <= 0 {
			return fmt.Errorf("STA_BENCH_BUDGET=%q: want a positive duration", v)
		}
	}
	cacheDir := os.Getenv("STA_BENCH_CACHE")
	if cacheDir == "" {
		c, err := os.UserCacheDir()
		if err != nil {
			return fmt.Errorf("sta: no cache directory (set STA_BENCH_CACHE): %w", err)
		}
		cacheDir = filepath.Join(c, "quartierhub-bench", "sta")
	}
	hubBin, err := harness.BuildHub(ctx, filepath.Join(dir, "bin"))
	if err != nil {
		return err
	}
	schema, err := staSchemaKey(ctx)
	if err != nil {
		return err
	}
	staPruneCache(cacheDir, schema)
	lengths := []int{1, days}
	if days == 1 {
		lengths = lengths[:1]
	}
	var runs []*staRun
	defer func() {
		for _, r := range runs {
			r.stop()
		}
	}()
	for _, d := range lengths {
		suffix := "_1d"
		if d == days {
			suffix = ""
		}
		start := time.Now()
		hubDir, info, cached, err := staCachedHub(ctx, hubBin, cacheDir, schema, terminals, d)
		if err != nil {
			return err
		}
		if cached {
			logf("== sta: %d terminals × %d day(s) from the cache %s", terminals, d, filepath.Dir(hubDir))
		} else {
			rate := float64(info.Observations+info.Hourly) / info.SeedSeconds
			logf("== sta: seeded %d terminals × %d day(s) in %s: %d observations and %d hourly rows in %.0f s (%.0f rows/s), the minute index in %.0f s",
				terminals, d, time.Since(start).Round(time.Second), info.Observations, info.Hourly, info.SeedSeconds, rate, info.IndexSeconds)
			if d == days {
				figure("sta_seed_rows_per_s", rate, "rows/s")
			}
		}
		r, err := staStart(ctx, hubBin, hubDir, info, suffix)
		if err != nil {
			return fmt.Errorf("sta (%d days): %w", d, err)
		}
		runs = append(runs, r)
	}
	logf("== sta: both histories' hubs run; their repetitions alternate, so the machine's load (shared with builds) falls on both alike")
	return staMeasure(ctx, runs, reps, budget)
}

// staExpect is what the database says the API must answer.
type staExpect struct {
	latest      map[int64]int64 // datastream → start minute of its latest published observation
	windowDS    int64
	windowDay   int64 // unix minute the day starts
	windowCount int
	obsRoot     int64
	indexRoot   int64
}

// staReadExpect reads the expected answers from the database before the
// hub starts (read-only).
func staReadExpect(ctx context.Context, path string, info staSeedInfo) (staExpect, error) {
	e := staExpect{latest: map[int64]int64{}}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=query_only(ON)")
	if err != nil {
		return e, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT d.id, d.resolution, d.last_minute FROM datastreams d JOIN terminal_sites s ON s.terminal_num = d.terminal_num WHERE d.resolution <> 'off'`)
	if err != nil {
		return e, err
	}
	for rows.Next() {
		var id, last int64
		var res string
		if err := rows.Scan(&id, &res, &last); err != nil {
			rows.Close()
			return e, err
		}
		if res == "hour" {
			last -= last % 60
		}
		e.latest[id] = last
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return e, err
	}
	// The window: the last day of an outdoor terminal's PM2.5, in the
	// middle of the ids.
	num := int64(info.Terminals/2 + 1)
	if num%10 == 0 {
		num++
	}
	e.windowDS = 3*(num-1) + 1
	e.windowDay = info.EndMinute - 1440
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM observations WHERE datastream_id = ? AND minute >= ? AND minute < ?`,
		e.windowDS, e.windowDay, e.windowDay+1440).Scan(&e.windowCount); err != nil {
		return e, err
	}
	for name, root := range map[string]*int64{"observations": &e.obsRoot, "observations_minute": &e.indexRoot} {
		if err := db.QueryRowContext(ctx, `SELECT rootpage FROM sqlite_master WHERE name = ?`, name).Scan(root); err != nil {
			return e, fmt.Errorf("root page of %s: %w", name, err)
		}
	}
	return e, nil
}

// staRun is one history's hub and what it must answer.
type staRun struct {
	suffix     string
	info       staSeedInfo
	exp        staExpect
	dbPath     string
	dbBytes    int64
	depth      int
	hub        *harness.Hub
	stopped    bool
	latestURL  string
	windowURL  string
	latest     []float64
	window     []float64
	latestSeen bool
	windowSeen bool
}

func (r *staRun) stop() error {
	if r.stopped {
		return nil
	}
	r.stopped = true
	return r.hub.Stop()
}

// staStart reads what the database at hubDir must answer, prints its
// shape and starts a hub on it.
func staStart(ctx context.Context, hubBin, hubDir string, info staSeedInfo, suffix string) (*staRun, error) {
	r := &staRun{suffix: suffix, info: info, dbPath: filepath.Join(hubDir, "hub.db")}
	var err error
	if r.exp, err = staReadExpect(ctx, r.dbPath, info); err != nil {
		return nil, err
	}
	fi, err := os.Stat(r.dbPath)
	if err != nil {
		return nil, err
	}
	r.dbBytes = fi.Size()
	depth, fanout, perLeaf, err := staBtree(r.dbPath, r.exp.obsRoot)
	if err != nil {
		return nil, err
	}
	r.depth = depth
	idxDepth, _, _, err := staBtree(r.dbPath, r.exp.indexRoot)
	if err != nil {
		return nil, err
	}
	logf("  %d datastreams, %d observations (%d day(s) of minutes: %s to %s), %d hourly rows; hub.db %d MiB",
		len(r.exp.latest), info.Observations, info.Days, time.Unix(info.FirstMinute*60, 0).UTC().Format(time.RFC3339),
		time.Unix(info.EndMinute*60, 0).UTC().Format(time.RFC3339), info.Hourly, r.dbBytes>>20)
	yearRows := float64(info.Observations) * staYearDays / float64(info.Days)
	logf("  observations B-tree: depth %d (~%d rows a leaf page, ~%d children an interior page: WITHOUT ROWID keeps whole rows in interior cells; %d by that estimate), the minute index depth %d; a year (%.2g rows) would be depth %d",
		depth, perLeaf, fanout, staDepthFor(float64(info.Observations), perLeaf, fanout), idxDepth, yearRows, staDepthFor(yearRows, perLeaf, fanout))
	levels, yearLevels := staLevels(float64(info.Observations), perLeaf, fanout), staLevels(yearRows, perLeaf, fanout)
	logf("  pages a level, root to leaves: %s here, %s for a year", staCounts(levels), staCounts(yearLevels))
	logf("  why the figures hold for a year: both queries are index seeks — one root-to-leaf walk per datastream (latest) or one walk and 1,440 adjacent")
	logf("  rows (a day) — never a scan of the history. A walk reads depth pages; those above SQLite's page cache (the hub's default, 2 MiB = %d pages", staCachePages)
	logf("  a connection: here the top %d level(s), for a year %d) come from the OS cache: the cost grows with log_%d(rows), one level per %dx the rows,",
		staCachedLevels(levels), staCachedLevels(yearLevels), fanout, fanout)
	logf("  not with the history's length; the JSON and HTTP work per answer does not depend on it at all")

	if r.hub, err = harness.NewHub(harness.Bins{Hub: hubBin}, hubDir); err != nil {
		return nil, err
	}
	if err := r.hub.StartFresh(ctx); err != nil {
		return nil, err
	}
	if err := staWaitDayFiles(ctx, hubDir, info); err != nil {
		return nil, err
	}
	base := r.hub.URL() + "/sta/v1.1"
	r.latestURL = base + "/Datastreams?" + staQuery(url.Values{
		"$select": {"id,name"},
		"$expand": {"Observations($top=1;$orderby=phenomenonTime desc)"},
		"$top":    {strconv.Itoa(staPageSize)},
	})
	day := time.Unix(r.exp.windowDay*60, 0).UTC()
	r.windowURL = fmt.Sprintf("%s/Datastreams(%d)/Observations?", base, r.exp.windowDS) + staQuery(url.Values{
		"$filter":  {fmt.Sprintf("phenomenonTime ge %s and phenomenonTime lt %s", day.Format(time.RFC3339), day.Add(24*time.Hour).Format(time.RFC3339))},
		"$orderby": {"phenomenonTime asc"},
		"$top":     {"1440"},
		"$select":  {"result,phenomenonTime"},
	})
	return r, nil
}

// staWaitDayFiles waits until the hub has made the open data day files
// (internal/opendata) of the history's finished days: it makes them when
// it starts, a minute of CPU or more per day of 1,000 terminals, which
// would otherwise be measured along with the API. Once made they stay in
// the cached data directory.
func staWaitDayFiles(ctx context.Context, hubDir string, info staSeedInfo) error {
	var want []string
	now := time.Now()
	for m := max(info.FirstMinute, info.EndMinute-31*1440); m < info.EndMinute; m += 1440 {
		day := time.Unix(m*60, 0).UTC()
		if day.Add(25 * time.Hour).After(now) { // opendata.DefaultSettle after its end
			continue
		}
		want = append(want, filepath.Join(hubDir, "cache", "open-data", "air", day.Format(time.DateOnly)+".csv.gz"))
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, 20*time.Minute)
	defer cancel()
	err := harness.WaitFor(ctx, "the hub's open data day files", func() (bool, error) {
		for _, f := range want {
			if _, err := os.Stat(f); err != nil {
				return false, err
			}
		}
		return true, nil
	})
	if err != nil {
		return err
	}
	if d := time.Since(start); d > time.Second {
		logf("  the hub made its open data day files (%d days) in %s; measured after that", len(want), d.Round(time.Second))
	}
	return nil
}

// staMeasure times both queries on every run's hub, alternating between
// the runs, and prints the figures.
func staMeasure(ctx context.Context, runs []*staRun, reps int, budget time.Duration) error {
	nextAddr := 0
	client := func() *http.Client {
		nextAddr++
		src := &net.TCPAddr{IP: net.IPv4(127, 3, byte(nextAddr>>8), byte(nextAddr))}
		return &http.Client{Timeout: time.Minute, Transport: &http.Transport{DialContext: (&net.Dialer{LocalAddr: src}).DialContext, MaxIdleConnsPerHost: 1}}
	}
	latest := func(r *staRun) (time.Duration, error) {
		d, pages, err := staLatestAll(ctx, client(), r.latestURL, r.exp)
		if err != nil {
			return 0, fmt.Errorf("sta (%d days): latest of every datastream: %w", r.info.Days, err)
		}
		if !r.latestSeen {
			r.latestSeen = true
			logf("  %d day(s): latest of every datastream: %d pages, %s: GET %s", r.info.Days, pages, d.Round(time.Millisecond), r.latestURL)
		}
		return d, nil
	}
	window := func(r *staRun) (time.Duration, error) {
		d, pages, err := staWindow(ctx, client(), r.windowURL, r.exp)
		if err != nil {
			return 0, fmt.Errorf("sta (%d days): a day of one datastream: %w", r.info.Days, err)
		}
		if !r.windowSeen {
			r.windowSeen = true
			logf("  %d day(s): a day of datastream %d: %d observations, %d pages, %s: GET %s", r.info.Days, r.exp.windowDS, r.exp.windowCount, pages, d.Round(time.Millisecond), r.windowURL)
		}
		return d, nil
	}
	for _, q := range []struct {
		fn  func(*staRun) (time.Duration, error)
		out func(*staRun) *[]float64
	}{
		{latest, func(r *staRun) *[]float64 { return &r.latest }},
		{window, func(r *staRun) *[]float64 { return &r.window }},
	} {
		n, err := staRepeat(reps, budget*time.Duration(len(runs)), func(measured bool) (time.Duration, error) {
			var total time.Duration
			for _, r := range runs {
				d, err := q.fn(r)
				if err != nil {
					return 0, err
				}
				if measured {
					*q.out(r) = append(*q.out(r), ms(d))
				}
				total += d
			}
			return total, nil
		})
		if err != nil {
			return err
		}
		logf("  %d repetitions after the warm-ups; load %s", n, loadavg())
	}
	for _, r := range runs {
		rss, err := staRSSMiB(r.hub.PID())
		if err != nil {
			return err
		}
		peak, err := harness.PeakRSSMiB(r.hub.PID())
		if err != nil {
			return err
		}
		figure("sta_latest_all_ms"+r.suffix, percentile(r.latest, 50), "ms")
		figure("sta_latest_all_p95_ms"+r.suffix, percentile(r.latest, 95), "ms")
		figure("sta_window_day_ms"+r.suffix, percentile(r.window, 50), "ms")
		figure("sta_window_day_p95_ms"+r.suffix, percentile(r.window, 95), "ms")
		figure("sta_hub_rss_mb"+r.suffix, rss, "MiB")
		figure("sta_hub_peak_rss_mb"+r.suffix, peak, "MiB")
		figure("sta_observations"+r.suffix, float64(r.info.Observations), "rows")
		figure("sta_history_days"+r.suffix, float64(r.info.Days), "days")
		figure("sta_db_mib"+r.suffix, float64(r.dbBytes)/(1<<20), "MiB")
		figure("sta_btree_depth"+r.suffix, float64(r.depth), "levels")
	}
	for _, r := range runs {
		if err := r.stop(); err != nil {
			return fmt.Errorf("stop the hub: %w", err)
		}
		if err := staCheckUnchanged(ctx, r.dbPath, r.info); err != nil {
			return err
		}
	}
	return nil
}

// staRepeat runs fn for warm-ups (three, or one when it takes more than a
// tenth of the budget), then up to reps measured times, fewer (at least
// five) once budget is spent, so a slow answer cannot stretch the group
// to an hour. It returns the measured repetitions.
func staRepeat(reps int, budget time.Duration, fn func(measured bool) (time.Duration, error)) (int, error) {
	d, err := fn(false)
	if err != nil {
		return 0, err
	}
	if d < budget/10 {
		for range 2 {
			if _, err := fn(false); err != nil {
				return 0, err
			}
		}
	}
	n := 0
	start := time.Now()
	for n < reps && (n < 5 || time.Since(start) < budget) {
		if _, err := fn(true); err != nil {
			return n, err
		}
		n++
	}
	if n < reps {
		logf("  (%d of %d repetitions: the %s budget was spent)", n, reps, budget)
	}
	return n, nil
}

// staCachePages is SQLite's default page cache (cache_size -2000: 2,048,000
// bytes) in 4 KiB pages; the hub does not change it.
const staCachePages = 2048000 / 4096

// staLevels is the pages of each level of a B-tree of rows, root first.
func staLevels(rows float64, perLeaf, fanout int) []float64 {
	if perLeaf <= 0 || fanout <= 1 {
		return nil
	}
	levels := []float64{math.Ceil(rows / float64(perLeaf))}
	for levels[0] > 1 {
		levels = append([]float64{math.Ceil(levels[0] / float64(fanout))}, levels...)
	}
	return levels
}

// staCachedLevels is how many levels from the root fit in staCachePages.
func staCachedLevels(levels []float64) int {
	sum := 0.0
	for i, n := range levels {
		if sum += n; sum > staCachePages {
			return i
		}
	}
	return len(levels)
}

func staCounts(levels []float64) string {
	parts := make([]string, len(levels))
	for i, n := range levels {
		parts[i] = strconv.FormatFloat(n, 'f', 0, 64)
	}
	return strings.Join(parts, " / ")
}

// staDepthFor is the depth of a B-tree of rows with perLeaf rows a leaf
// and fanout children an interior page.
func staDepthFor(rows float64, perLeaf, fanout int) int { return len(staLevels(rows, perLeaf, fanout)) }

// staQuery encodes v with %20 for spaces, as clients send it.
func staQuery(v url.Values) string {
	return strings.ReplaceAll(v.Encode(), "+", "%20")
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// staGet fetches u and returns the body and the time to its last byte.
func staGet(ctx context.Context, c *http.Client, u string) ([]byte, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, 0, err
	}
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	d := time.Since(start)
	if err != nil {
		return nil, 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, 0, fmt.Errorf("GET %s: %s: %.500s", u, resp.Status, body)
	}
	return body, d, nil
}

// staPage is a collection answer.
type staPage struct {
	Value    []json.RawMessage `json:"value"`
	NextLink string            `json:"@iot.nextLink"`
}

// staLatestAll reads every datastream's latest observation, following
// the next links, checks them against the database and returns the sum
// of the pages' times.
func staLatestAll(ctx context.Context, c *http.Client, u string, exp staExpect) (time.Duration, int, error) {
	defer c.CloseIdleConnections()
	var total time.Duration
	seen := map[int64]bool{}
	pages := 0
	for u != "" {
		body, d, err := staGet(ctx, c, u)
		if err != nil {
			return 0, pages, err
		}
		total += d
		pages++
		var p staPage
		if err := json.Unmarshal(body, &p); err != nil {
			return 0, pages, fmt.Errorf("page %d: %w", pages, err)
		}
		for _, raw := range p.Value {
			var ds struct {
				ID           int64 `json:"@iot.id"`
				Observations []struct {
					PhenomenonTime string `json:"phenomenonTime"`
				} `json:"Observations"`
			}
			if err := json.Unmarshal(raw, &ds); err != nil {
				return 0, pages, fmt.Errorf("page %d: %w", pages, err)
			}
			want, ok := exp.latest[ds.ID]
			if !ok || seen[ds.ID] {
				return 0, pages, fmt.Errorf("datastream %d: unexpected or repeated", ds.ID)
			}
			seen[ds.ID] = true
			if len(ds.Observations) != 1 {
				return 0, pages, fmt.Errorf("datastream %d: %d observations, want 1: %.300s", ds.ID, len(ds.Observations), raw)
			}
			got, err := staIntervalStart(ds.Observations[0].PhenomenonTime)
			if err != nil {
				return 0, pages, fmt.Errorf("datastream %d: %w", ds.ID, err)
			}
			if got != want {
				return 0, pages, fmt.Errorf("datastream %d: latest observation at %s, the database's is %s", ds.ID,
					time.Unix(got*60, 0).UTC().Format(time.RFC3339), time.Unix(want*60, 0).UTC().Format(time.RFC3339))
			}
		}
		u = p.NextLink
	}
	if len(seen) != len(exp.latest) {
		return 0, pages, fmt.Errorf("read %d datastreams, the database publishes %d", len(seen), len(exp.latest))
	}
	return total, pages, nil
}

// staWindow reads one datastream's day and checks it.
func staWindow(ctx context.Context, c *http.Client, u string, exp staExpect) (time.Duration, int, error) {
	defer c.CloseIdleConnections()
	var total time.Duration
	pages, n := 0, 0
	prev := int64(-1)
	for u != "" {
		body, d, err := staGet(ctx, c, u)
		if err != nil {
			return 0, pages, err
		}
		total += d
		pages++
		var p struct {
			Value []struct {
				Result         *float64 `json:"result"`
				PhenomenonTime string   `json:"phenomenonTime"`
			} `json:"value"`
			NextLink string `json:"@iot.nextLink"`
		}
		if err := json.Unmarshal(body, &p); err != nil {
			return 0, pages, fmt.Errorf("page %d: %w", pages, err)
		}
		for _, o := range p.Value {
			m, err := staIntervalStart(o.PhenomenonTime)
			if err != nil {
				return 0, pages, err
			}
			if o.Result == nil || m <= prev || m < exp.windowDay || m >= exp.windowDay+1440 {
				return 0, pages, fmt.Errorf("observation %d (%q, result %v) out of order, outside the day or without a result", n, o.PhenomenonTime, o.Result)
			}
			prev = m
			n++
		}
		u = p.NextLink
	}
	if n != exp.windowCount {
		return 0, pages, fmt.Errorf("%d observations, the database holds %d for the day", n, exp.windowCount)
	}
	return total, pages, nil
}

// staIntervalStart parses the start of a phenomenonTime ("start/end" or
// an instant) into unix minutes.
func staIntervalStart(s string) (int64, error) {
	start, _, _ := strings.Cut(s, "/")
	t, err := time.Parse(time.RFC3339, start)
	if err != nil {
		return 0, fmt.Errorf("phenomenonTime %q: %w", s, err)
	}
	return t.Unix() / 60, nil
}

// staRSSMiB is the process's resident set now (VmRSS).
func staRSSMiB(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

// staCheckUnchanged checks that the hub left the observations as seeded
// (the cache is reused: a hub that rewrote them would change the next
// run's data).
func staCheckUnchanged(ctx context.Context, path string, info staSeedInfo) error {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=query_only(ON)")
	if err != nil {
		return err
	}
	defer db.Close()
	var n, h, first, last int64
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*), MIN(first_minute), MAX(last_minute) FROM datastreams`).Scan(&n, &first, &last); err != nil {
		return err
	}
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM observations_hourly`).Scan(&h); err != nil {
		return err
	}
	if n != int64(3*info.Terminals) || h != info.Hourly || first < info.FirstMinute || last >= info.EndMinute {
		return fmt.Errorf("the hub changed the seeded data: %d datastreams (want %d), %d hourly rows (want %d), minutes %d..%d (want within %d..%d)",
			n, 3*info.Terminals, h, info.Hourly, first, last, info.FirstMinute, info.EndMinute)
	}
	return nil
}
