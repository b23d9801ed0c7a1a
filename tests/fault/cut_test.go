package fault

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/kiosk/hubsync"
	"github.com/quartierhub/quartierhub/kiosk/outbox"
	"github.com/quartierhub/quartierhub/tests/internal/harness"
)

// TestConnectionCut puts a TCP proxy between the syncer and the hub that
// cuts connections at random byte offsets — requests half sent, answers
// half received — while records are submitted, then lets traffic through.
// Everything must arrive exactly once, and the hub must have acknowledged
// duplicates: proof that some cut hit after a batch was stored.
func TestConnectionCut(t *testing.T) {
	const wantCuts = 6
	rng := newRand(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	hub := startHub(t, ctx)
	px, err := newCutProxy(hub.Addr, rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64())))
	if err != nil {
		t.Fatal(err)
	}
	defer px.Close()
	creds := enrolInProcess(t, ctx, hub, "cut-test", "http://"+px.Addr())

	ob, err := outbox.Open(filepath.Join(t.TempDir(), "outbox.db"), outbox.Opts{})
	if err != nil {
		t.Fatal(err)
	}
	defer ob.Close()
	syncer := hubsync.New(ob, creds, hubsync.Opts{
		MaxBatchRecords: 100, MinBackoff: 5 * time.Millisecond, MaxBackoff: 100 * time.Millisecond,
		QuickRetries: 1, Rand: rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64())), Logger: quietLogger(),
	})
	runCtx, stopSync := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- syncer.Run(runCtx) }()
	defer func() { stopSync(); <-done }()

	px.SetCutting(true)
	led := newLedger()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 3 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				// Keep the backlog small: the cuts need requests, not records.
				if err := harness.WaitFor(ctx, "backlog below 1000", func() (bool, error) {
					s, err := ob.Stats()
					return err == nil && s.Resident.Count+s.Sensor.Count < 1000, err
				}); err != nil {
					t.Error(err)
					return
				}
				seq := fmt.Sprintf("c%d-%07d", w, i)
				typ, class := "sensor_minute", outbox.ClassSensor
				if i%7 == 0 {
					typ, class = "problem_report", outbox.ClassResident
				}
				led.attempt(seq)
				rec, err := ob.Submit(ctx, typ, class, payloadJSON(typ, seq, 200))
				if err != nil {
					t.Errorf("submit: %v", err)
					return
				}
				led.ack(seq, rec.ID)
			}
		})
	}
	err = harness.WaitFor(ctx, fmt.Sprintf("%d cuts each way", wantCuts), func() (bool, error) {
		up, down := px.Cuts()
		return up >= wantCuts && down >= wantCuts, nil
	})
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	px.SetCutting(false)

	err = harness.WaitFor(ctx, "outbox to drain", func() (bool, error) {
		res := syncer.SyncNow(ctx)
		s, err := ob.Stats()
		if err != nil {
			return false, err
		}
		left := s.Resident.Count + s.Event.Count + s.Sensor.Count
		return left == 0, fmt.Errorf("%d left, last round: %v", left, res.Err)
	})
	if err != nil {
		t.Fatal(err)
	}
	recs, err := hub.Export(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := checkExactlyOnce(t, led, recs)
	_, stored, _ := led.counts()
	if out.hubRecords != stored {
		t.Errorf("hub holds %d records, the outbox took %d", out.hubRecords, stored)
	}
	st := syncer.Status()
	up, down := px.Cuts()
	t.Logf("records %d; connections %d, cut sending %d, cut answering %d; duplicates acked by the hub %d",
		stored, px.Conns(), up, down, st.Duplicates)
	if st.Duplicates == 0 {
		t.Error("the hub acknowledged no duplicates: no cut hit after a batch was stored")
	}
}

// cutProxy forwards TCP connections to target. While cutting, each new
// connection gets a random byte budget in one direction — the request
// side (up to 8 KiB: inside a batch body) or the answer side (up to 200
// bytes: inside the hub's status line, headers or ack) — and is closed
// both ways when the budget runs out.
type cutProxy struct {
	ln      net.Listener
	target  string
	cutting atomic.Bool
	conns   atomic.Int64
	up      atomic.Int64
	down    atomic.Int64

	mu  sync.Mutex
	rng *rand.Rand
}

func newCutProxy(target string, rng *rand.Rand) (*cutProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &cutProxy{ln: ln, target: target, rng: rng}
	go p.serve()
	return p, nil
}

func (p *cutProxy) Addr() string           { return p.ln.Addr().String() }
func (p *cutProxy) Close() error           { return p.ln.Close() }
func (p *cutProxy) SetCutting(on bool)     { p.cutting.Store(on) }
func (p *cutProxy) Conns() int64           { return p.conns.Load() }
func (p *cutProxy) Cuts() (up, down int64) { return p.up.Load(), p.down.Load() }

func (p *cutProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.handle(c)
	}
}

func (p *cutProxy) handle(client net.Conn) {
	p.conns.Add(1)
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		client.Close()
		return
	}
	upBudget, downBudget := -1, -1
	p.mu.Lock()
	if p.cutting.Load() {
		if p.rng.IntN(2) == 0 {
			upBudget = p.rng.IntN(8 << 10)
		} else {
			downBudget = p.rng.IntN(200)
		}
	}
	p.mu.Unlock()
	var once sync.Once
	closeBoth := func() { once.Do(func() { client.Close(); server.Close() }) }
	go p.pipe(server, client, upBudget, &p.up, closeBoth)
	p.pipe(client, server, downBudget, &p.down, closeBoth)
}

// pipe copies src to dst; with a budget ≥ 0 it forwards only that many
// bytes and then cuts the connection (unless cutting was switched off).
func (p *cutProxy) pipe(dst, src net.Conn, budget int, cuts *atomic.Int64, closeBoth func()) {
	defer closeBoth()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if budget >= 0 && n > budget && p.cutting.Load() {
				_, _ = dst.Write(buf[:budget])
				cuts.Add(1)
				return
			}
			if budget >= 0 {
				budget = max(budget-n, 0)
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
