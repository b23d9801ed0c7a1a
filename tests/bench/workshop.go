package main

// The workshop group (issue 11): how fast an idea reaches everyone in the
// room, and how fast the fold is.
//
//	workshop  workshop_fold_events_per_s (internal/workshop's
//	          BenchmarkFold10k: a realistic 10,000-event log folded),
//	          workshop_fanout_p50_ms, workshop_fanout_p99_ms (4 terminals,
//	          40 phones), workshop_fanout_p50_ms_400,
//	          workshop_fanout_p99_ms_400 (400 phones),
//	          workshop_hub_rss_mb_400 (the hub's VmHWM after the 400-phone run)
//
// The fanout runs a real hub-server process (SQLite) and four real
// `kiosk agent` processes enrolled with it, in an open workshop's ideas
// phase; the console is logged in with its staff live socket (the run
// page), and every phone is a guest that opened the phone page, joined
// and holds the page's live socket, each from its own loopback address
// as phones in a room come from their own. One trial: a participant
// enters an idea on one terminal's local API (the terminals take turns);
// the latency is until each observer sees the idea count reach the new
// number: the three other terminals (their local API, read when the
// agent's event stream says the workshop changed), the console's socket
// and every phone's socket. p50 and p99 are over all (trial, observer)
// pairs. BENCH_WORKSHOP_TRIALS sets the trials per run (default 40),
// BENCH_WORKSHOP_PHONES=N one run with N phones instead of the two; a
// trial starts at most every 200 ms (a terminal sends at most five
// messages a second on its socket; a room types slower still).

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/quartierhub/quartierhub/kiosk/localapi"
	"github.com/quartierhub/quartierhub/tests/internal/harness"
)

func init() {
	groups["workshop"] = []string{"workshop_fold_events_per_s", "workshop_fanout_p50_ms", "workshop_fanout_p99_ms",
		"workshop_fanout_p50_ms_400", "workshop_fanout_p99_ms_400", "workshop_hub_rss_mb_400"}
}

func workshopBench(ctx context.Context, dir string, only string) error {
	if only == "" || only == "workshop" || only == "workshop_fold_events_per_s" {
		if err := foldBench(ctx); err != nil {
			return err
		}
		if only == "workshop_fold_events_per_s" {
			return nil
		}
	}
	trials, err := envInt("BENCH_WORKSHOP_TRIALS", 40)
	if err != nil {
		return err
	}
	return fanoutBench(ctx, dir, trials)
}

// foldBench runs BenchmarkFold10k (its log is built by test code of the
// package) and passes its events/s on.
func foldBench(ctx context.Context) error {
	root, err := harness.ModuleRoot(ctx)
	if err != nil {
		return err
	}
	logf("  BenchmarkFold10k (internal/workshop)")
	cmd := exec.CommandContext(ctx, "go", "test", "-count=1", "-run", "^$", "-bench", "^BenchmarkFold10k$", "-benchtime", "3s", "./internal/workshop")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("BenchmarkFold10k: %w\n%s", err, out)
	}
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) == 0 || !strings.HasPrefix(f[0], "BenchmarkFold10k") {
			continue
		}
		logf("  %s", strings.TrimSpace(line))
		for i := 1; i < len(f); i++ {
			if f[i] == "events/s" {
				v, err := strconv.ParseFloat(f[i-1], 64)
				if err != nil {
					return fmt.Errorf("BenchmarkFold10k: %q: %w", line, err)
				}
				figure("workshop_fold_events_per_s", v, "events/s")
				return nil
			}
		}
	}
	return fmt.Errorf("BenchmarkFold10k printed no events/s:\n%s", out)
}

// room is the fanout's set-up: a hub, four agents in an open workshop,
// the console logged in.
type room struct {
	hub      *harness.Hub
	agents   []*harness.Agent
	voters   []string // one guest per terminal, who enters the ideas
	id, code string
	console  *harness.Console
	ideas    int // ideas entered so far
}

func fanoutBench(ctx context.Context, dir string, trials int) error {
	bins, err := harness.Build(ctx, filepath.Join(dir, "bin"))
	if err != nil {
		return err
	}
	r, err := newRoom(ctx, bins, dir)
	if err != nil {
		return err
	}
	defer r.stop()
	runs := []struct {
		phones int
		suffix string
	}{{40, ""}, {400, "_400"}}
	if v := os.Getenv("BENCH_WORKSHOP_PHONES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fmt.Errorf("BENCH_WORKSHOP_PHONES=%q: want a number of phones", v)
		}
		runs = runs[:1]
		runs[0].phones = n
		logf("  BENCH_WORKSHOP_PHONES=%d: one run, its figures named as the 40-phone run's", n)
	}
	for _, run := range runs {
		logf("  %d terminals, the console, %d phones, %d ideas", len(r.agents), run.phones, trials)
		lat, worst, byKind, err := r.fanout(ctx, run.phones, trials)
		if err != nil {
			return fmt.Errorf("fanout with %d phones: %w\nhub log:\n%s", run.phones, err, harness.Tail(r.hub.Log, 20))
		}
		logf("  %d deliveries; slowest observer per idea: p50 %.1f ms, max %.1f ms", len(lat), percentile(worst, 50), slices.Max(worst))
		for _, k := range []string{"terminals", "console", "phones"} {
			if v := byKind[k]; len(v) > 0 {
				logf("  %-9s p50 %.1f ms, p99 %.1f ms", k, percentile(v, 50), percentile(v, 99))
			}
		}
		figure("workshop_fanout_p50_ms"+run.suffix, percentile(lat, 50), "ms")
		figure("workshop_fanout_p99_ms"+run.suffix, percentile(lat, 99), "ms")
		if run.phones == 400 {
			rss, err := harness.PeakRSSMiB(r.hub.PID())
			if err != nil {
				return err
			}
			figure("workshop_hub_rss_mb_400", rss, "MiB")
		}
	}
	return nil
}

// percentile of ms values (nearest rank).
func percentile(v []float64, p float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	i := int(float64(len(s))*p/100+0.999999) - 1
	return s[max(0, min(i, len(s)-1))]
}

func newRoom(ctx context.Context, bins harness.Bins, dir string) (*room, error) {
	hub, err := harness.NewHub(bins, filepath.Join(dir, "hub"))
	if err != nil {
		return nil, err
	}
	if err := hub.StartFresh(ctx); err != nil {
		return nil, err
	}
	r := &room{hub: hub}
	var terminals []string
	for i := range 4 {
		ag, err := harness.NewAgent(bins, filepath.Join(dir, fmt.Sprintf("terminal%d", i)))
		if err != nil {
			r.stop()
			return nil, err
		}
		tok, err := hub.Token(ctx, fmt.Sprintf("bench-workshop-%d", i), "Johannstadt")
		if err == nil {
			err = ag.Enroll(ctx, hub.URL(), tok)
		}
		var id string
		if err == nil {
			id, err = harness.TerminalID(ag.Dir)
		}
		if err != nil {
			r.stop()
			return nil, err
		}
		r.agents = append(r.agents, ag)
		terminals = append(terminals, id)
	}
	spec := fmt.Sprintf(`{"title":"Bench","question":"Was soll aus dem Platz werden?","lang":"de","method":"simple","phones":true,"terminals":["%s"]}`,
		strings.Join(terminals, `","`))
	if r.id, r.code, err = hub.CreateWorkshop(ctx, []byte(spec)); err != nil {
		r.stop()
		return nil, err
	}
	// Open before the agents start: their first look finds it.
	if err := hub.WorkshopPhase(ctx, r.id, "0"); err != nil {
		r.stop()
		return nil, err
	}
	for _, ag := range r.agents {
		if err := ag.Start(ctx); err != nil {
			r.stop()
			return nil, err
		}
	}
	for i, ag := range r.agents {
		err := harness.WaitFor(ctx, fmt.Sprintf("terminal %d online in the workshop", i), func() (bool, error) {
			v, err := ag.Client.Workshop(ctx, "")
			return err == nil && v.Active && v.ID == r.id && v.Online, err
		})
		if err != nil {
			r.stop()
			return nil, fmt.Errorf("%w\nagent log:\n%s", err, harness.Tail(ag.Log, 20))
		}
		c, err := ag.Client.WorkshopCheckin(ctx, localapi.WorkshopCheckinRequest{Guest: true})
		if err != nil {
			r.stop()
			return nil, err
		}
		r.voters = append(r.voters, c.Voter)
	}
	if r.console, err = hub.NewConsole(ctx, "bench"); err != nil {
		r.stop()
		return nil, err
	}
	return r, nil
}

func (r *room) stop() {
	for _, ag := range r.agents {
		if ag.PID() != 0 {
			_ = ag.Stop()
		}
	}
	if r.hub.PID() != 0 {
		_ = r.hub.Stop()
	}
}

// sights are what the observers have seen: each one's idea count and
// when it first reached each number. Readers never block on it (a
// blocked reader would stall the hub's writes to its socket).
type sights struct {
	mu      sync.Mutex
	count   []int
	reached [][]time.Time // [observer][n]: first seen with at least n ideas
	changed chan struct{}
}

func newSights(observers int) *sights {
	return &sights{count: make([]int, observers), reached: make([][]time.Time, observers), changed: make(chan struct{}, 1)}
}

func (s *sights) report(who, ideas int) {
	now := time.Now()
	s.mu.Lock()
	for n := s.count[who] + 1; n <= ideas; n++ {
		for len(s.reached[who]) <= n {
			s.reached[who] = append(s.reached[who], time.Time{})
		}
		s.reached[who][n] = now
	}
	s.count[who] = max(s.count[who], ideas)
	s.mu.Unlock()
	select {
	case s.changed <- struct{}{}:
	default:
	}
}

// below lists the observers but skip that have not seen n ideas.
func (s *sights) below(n, skip int) []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []int
	for o, c := range s.count {
		if o != skip && c < n {
			out = append(out, o)
		}
	}
	return out
}

// at is when observer o first saw n ideas.
func (s *sights) at(o, n int) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reached[o][n]
}

// fanout connects phones, runs trials and returns every delivery's
// latency and each trial's slowest, in ms.
func (r *room) fanout(ctx context.Context, phones, trials int) (lat, worst []float64, byKind map[string][]float64, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	const firstPhone = 5 // observers: 0-3 the terminals, 4 the console, then the phones
	seen := newSights(firstPhone + phones)
	byKind = map[string][]float64{}
	report := seen.report
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	errs := make(chan error, 1)
	fail := func(err error) {
		if ctx.Err() == nil {
			select {
			case errs <- err:
			default:
			}
		}
	}
	// Observers 0-3: the terminals (their event stream, then the view).
	for i, ag := range r.agents {
		evs, err := ag.Client.Events(ctx)
		if err != nil {
			return nil, nil, nil, err
		}
		wg.Go(func() {
			for e := range evs {
				if e.Type != localapi.EventWorkshop {
					continue
				}
				v, err := ag.Client.Workshop(ctx, "")
				if err != nil {
					fail(fmt.Errorf("terminal %d view: %w", i, err))
					return
				}
				report(i, v.Counts.Ideas)
			}
		})
	}
	// Observer 4: the console's run page.
	conn, err := r.console.WorkshopLive(ctx, r.id, "run")
	if err != nil {
		return nil, nil, nil, err
	}
	defer conn.CloseNow()
	wg.Go(func() {
		for {
			var m struct {
				Counts struct {
					Ideas int `json:"ideas"`
				} `json:"counts"`
			}
			if err := harness.ReadLive(ctx, conn, &m); err != nil {
				fail(fmt.Errorf("console live: %w", err))
				return
			}
			report(4, m.Counts.Ideas)
		}
	})
	// Observers 5…: the phones, each joined, from 127.3.x.y.
	var conns []*websocket.Conn
	defer func() {
		for _, c := range conns {
			c.CloseNow()
		}
	}()
	for i := range phones {
		p := harness.NewPhone(r.hub.URL(), r.code, fmt.Sprintf("127.3.%d.%d", 1+i/200, 1+i%200))
		defer p.Close()
		if _, _, err := p.Post(ctx, "join", url.Values{}); err != nil {
			return nil, nil, nil, fmt.Errorf("phone %d join: %w", i, err)
		}
		c, err := p.Live(ctx)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("phone %d: %w", i, err)
		}
		conns = append(conns, c)
		who := firstPhone + i
		wg.Go(func() {
			for {
				var m struct {
					View struct {
						IdeaCount int `json:"idea_count"`
					} `json:"view"`
				}
				if err := harness.ReadLive(ctx, c, &m); err != nil {
					fail(fmt.Errorf("phone %d live: %w", who-firstPhone, err))
					return
				}
				report(who, m.View.IdeaCount)
			}
		})
	}
	waitAll := func(n int, what string, from int) error {
		timeout := time.NewTimer(30 * time.Second)
		defer timeout.Stop()
		for {
			missing := seen.below(n, from)
			if len(missing) == 0 {
				return nil
			}
			select {
			case <-seen.changed:
			case err := <-errs:
				return err
			case <-timeout.C:
				return fmt.Errorf("%s: observers %v (0-3 terminals, 4 console, 5… phones) still below %d ideas after 30 s", what, missing, n)
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	// Everyone must see the ideas so far before the first trial.
	if err := waitAll(r.ideas, "before the first idea", -1); err != nil {
		return nil, nil, nil, err
	}
	pace := time.NewTicker(200 * time.Millisecond)
	defer pace.Stop()
	for k := range trials {
		select {
		case <-pace.C:
		case <-ctx.Done():
			return nil, nil, nil, ctx.Err()
		}
		from := k % len(r.agents)
		start := time.Now()
		if _, err := r.agents[from].Client.WorkshopIdea(ctx, localapi.WorkshopIdeaRequest{Voter: r.voters[from],
			Text: fmt.Sprintf("Idee %d: mehr Bänke und Schatten am Platz (%d Telefone)", r.ideas+1, phones)}); err != nil {
			return nil, nil, nil, fmt.Errorf("idea on terminal %d: %w", from, err)
		}
		r.ideas++
		if err := waitAll(r.ideas, fmt.Sprintf("idea %d from terminal %d", r.ideas, from), from); err != nil {
			return nil, nil, nil, err
		}
		var slowest float64
		for o := range firstPhone + phones {
			if o == from {
				continue
			}
			ms := float64(seen.at(o, r.ideas).Sub(start).Microseconds()) / 1000
			lat = append(lat, ms)
			kind := "phones"
			if o < 4 {
				kind = "terminals"
			} else if o == 4 {
				kind = "console"
			}
			byKind[kind] = append(byKind[kind], ms)
			slowest = max(slowest, ms)
		}
		worst = append(worst, slowest)
	}
	return lat, worst, byKind, nil
}
