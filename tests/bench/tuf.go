package main

// The tuf group: the hub's TUF repository under terminals' update checks.
//
//	tuf     tuf_metadata_rps (metadata requests answered per second),
//	        tuf_metadata_p50_ms, tuf_metadata_p99_ms (client-side latency)
//
// A real hub-server process on SQLite gets a repository the way an IT
// person makes one, through its command line (release keys, init, sign,
// add; BENCH_TUF_RELEASES releases of 1 MiB, default 5, so targets.json
// is of a realistic size). Then BENCH_TUF_WORKERS (default 16) closed
// loops run update checks for BENCH_TUF_SECONDS (default 10): each check
// is what a terminal's updater asks with consistent snapshots —
// timestamp.json, then N.snapshot.json and N.targets.json. Each check
// comes from the next of 128 loopback source addresses per worker
// (127.2.x.y, each with its own keep-alive connection), as terminals come
// from their own addresses; the hub's per-network limit (a burst of 60,
// then 10 a second) is thus never reached, and a 429 fails the bench,
// because it would measure the limit instead of the server.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quartierhub/quartierhub/tests/internal/harness"
)

func init() {
	groups["tuf"] = []string{"tuf_metadata_rps", "tuf_metadata_p50_ms", "tuf_metadata_p99_ms"}
}

const tufAddrsPerWorker = 128

func envInt(name string, def int) (int, error) {
	v := os.Getenv(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%s=%q: want a positive integer", name, v)
	}
	return n, nil
}

func tufBench(ctx context.Context, dir string) error {
	releases, err := envInt("BENCH_TUF_RELEASES", 5)
	if err != nil {
		return err
	}
	workers, err := envInt("BENCH_TUF_WORKERS", 16)
	if err != nil {
		return err
	}
	seconds, err := envInt("BENCH_TUF_SECONDS", 10)
	if err != nil {
		return err
	}
	bin, err := harness.BuildHub(ctx, filepath.Join(dir, "bin"))
	if err != nil {
		return err
	}
	hub, err := harness.NewHub(harness.Bins{Hub: bin}, filepath.Join(dir, "hub"))
	if err != nil {
		return err
	}
	if err := hub.StartFresh(ctx); err != nil {
		return err
	}
	defer hub.Stop()
	if err := publishReleases(ctx, bin, hub, filepath.Join(dir, "release"), releases); err != nil {
		return err
	}
	paths, err := checkPaths(ctx, hub.URL())
	if err != nil {
		return err
	}
	logf("  %d releases published; a check asks for %s", releases, strings.Join(paths, ", "))

	var (
		requests, limited atomic.Int64
		mu                sync.Mutex
		latencies         []time.Duration
		firstErr          error
	)
	runCtx, cancel := context.WithTimeout(ctx, time.Duration(seconds)*time.Second)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for w := range workers {
		clients := make([]*http.Client, tufAddrsPerWorker)
		for i := range clients {
			n := w*tufAddrsPerWorker + i
			src := &net.TCPAddr{IP: net.IPv4(127, 2, byte(n>>8), byte(n))}
			tr := &http.Transport{DialContext: (&net.Dialer{LocalAddr: src}).DialContext, MaxIdleConnsPerHost: 1}
			defer tr.CloseIdleConnections()
			clients[i] = &http.Client{Transport: tr}
		}
		wg.Go(func() {
			var mine []time.Duration
			defer func() {
				mu.Lock()
				latencies = append(latencies, mine...)
				mu.Unlock()
			}()
			for i := 0; runCtx.Err() == nil; i++ {
				c := clients[i%len(clients)]
				for _, p := range paths {
					t0 := time.Now()
					code, err := fetch(runCtx, c, hub.URL()+p)
					if runCtx.Err() != nil {
						return
					}
					switch {
					case err != nil || (code != http.StatusOK && code != http.StatusTooManyRequests):
						mu.Lock()
						if firstErr == nil {
							firstErr = fmt.Errorf("GET %s: %d %v", p, code, err)
						}
						mu.Unlock()
						cancel()
						return
					case code == http.StatusTooManyRequests:
						limited.Add(1)
					default:
						requests.Add(1)
						mine = append(mine, time.Since(t0))
					}
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if firstErr != nil {
		return fmt.Errorf("tuf: %w", firstErr)
	}
	if n := limited.Load(); n > 0 {
		return fmt.Errorf("tuf: %d requests were rate limited (429): the bench measured the limit, not the server", n)
	}
	if len(latencies) == 0 {
		return fmt.Errorf("tuf: no request answered")
	}
	slices.Sort(latencies)
	pct := func(p float64) float64 {
		return float64(latencies[int(p*float64(len(latencies)-1))]) / float64(time.Millisecond)
	}
	logf("  %d metadata requests by %d workers over %s; load %s", requests.Load(), workers, elapsed.Round(time.Millisecond), loadavg())
	figure("tuf_metadata_rps", float64(requests.Load())/elapsed.Seconds(), "requests/s")
	figure("tuf_metadata_p50_ms", pct(0.50), "ms")
	figure("tuf_metadata_p99_ms", pct(0.99), "ms")
	return nil
}

// fetch GETs url and reads the body whole.
func fetch(ctx context.Context, c *http.Client, url string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	res, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	_, err = io.Copy(io.Discard, res.Body)
	return res.StatusCode, err
}

// publishReleases makes the hub's repository through its command line:
// the ceremony, release init, then n releases signed and added.
func publishReleases(ctx context.Context, bin string, hub *harness.Hub, dir string, n int) error {
	keys := filepath.Join(dir, "keys")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	run := func(args ...string) error {
		out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("hub-server %s: %w\n%s", strings.Join(args[:2], " "), err, out)
		}
		return nil
	}
	k := func(f string) string { return filepath.Join(keys, f) }
	if err := run("release", "keys", "--out", keys); err != nil {
		return err
	}
	if err := run("release", "init", "--data", hub.Dir, "--root", k("root.json"), "--targets", k("targets.json"),
		"--snapshot-key", k("snapshot.key"), "--timestamp-key", k("timestamp.key")); err != nil {
		return err
	}
	previous := k("targets.json")
	for i := range n {
		v := fmt.Sprintf("1.%d.0", i)
		art := filepath.Join(dir, "quartierhub-kiosk_"+v+"_amd64.tar.gz")
		body := make([]byte, 1<<20)
		for j := range body {
			body[j] = byte(j*31 + i)
		}
		if err := os.WriteFile(art, body, 0o644); err != nil {
			return err
		}
		signed := filepath.Join(dir, fmt.Sprintf("targets-%d.json", i+2))
		if err := run("release", "sign", "--root", k("root.json"), "--targets-key", k("targets.key"), "--previous", previous,
			"--file", art, "--version", v, "--out", signed); err != nil {
			return err
		}
		if err := run("release", "add", "--data", hub.Dir, "--file", art, "--targets", signed, "--version", v); err != nil {
			return err
		}
		previous = signed
	}
	return nil
}

// checkPaths are the files an updater's check asks for, as the hub's
// timestamp names them.
func checkPaths(ctx context.Context, base string) ([]string, error) {
	meta := "/tuf/v1/metadata/"
	var stamp, snap struct {
		Signed struct {
			Meta map[string]struct {
				Version int64 `json:"version"`
			} `json:"meta"`
		} `json:"signed"`
	}
	get := func(p string, into any) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+p, nil)
		if err != nil {
			return err
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", p, res.Status)
		}
		return json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(into)
	}
	if err := get(meta+"timestamp.json", &stamp); err != nil {
		return nil, err
	}
	snapPath := fmt.Sprintf("%s%d.snapshot.json", meta, stamp.Signed.Meta["snapshot.json"].Version)
	if err := get(snapPath, &snap); err != nil {
		return nil, err
	}
	return []string{meta + "timestamp.json", snapPath, fmt.Sprintf("%s%d.targets.json", meta, snap.Signed.Meta["targets.json"].Version)}, nil
}
