package outbox

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const crashChildEnv = "OUTBOX_CRASH_CHILD"

// TestCrashChild is not a test of its own: TestKill9 runs the test binary
// again with crashChildEnv set, and this submits and acknowledges records
// until it is killed. It prints "S id" after Submit returned, "a id" before
// Ack and "A id" after Ack returned; each line is one write(2), which a
// pipe keeps whole.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashChildEnv)
	if path == "" {
		t.Skip("runs only as TestKill9's child")
	}
	o, err := Open(path, Opts{})
	if err != nil {
		fmt.Fprintf(os.Stderr, "child open: %v\n", err)
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out sync.Mutex
	say := func(tag string, ids ...string) {
		var b strings.Builder
		for _, id := range ids {
			b.WriteString(tag + " " + id + "\n")
		}
		out.Lock()
		_, _ = os.Stdout.WriteString(b.String())
		out.Unlock()
	}
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				class := Classes[(w+i)%3]
				r, err := o.Submit(ctx, "crash", class, payload(i, 100+(w*37+i*11)%900))
				if err != nil {
					return
				}
				say("S", r.ID)
			}
		})
	}
	wg.Go(func() {
		for ctx.Err() == nil {
			rs, err := o.Peek(ctx, 400, 1<<20)
			if err != nil {
				return
			}
			if len(rs) < 400 { // let a backlog build up
				time.Sleep(time.Millisecond)
				continue
			}
			ids := ids(rs[:100])
			say("a", ids...)
			if o.Ack(ctx, ids) != nil {
				return
			}
			say("A", ids...)
		}
	})
	wg.Wait()
	os.Exit(3) // not killed within a minute
}

func TestKill9(t *testing.T) {
	if os.Getenv(crashChildEnv) != "" {
		t.Skip("child")
	}
	kills := 4
	if testing.Short() {
		kills = 2
	}
	if s := os.Getenv("OUTBOX_KILLS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("OUTBOX_KILLS=%q: %v", s, err)
		}
		kills = n
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("OUTBOX_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("OUTBOX_SEED=%d kills=%d", seed, kills)
	rng := rand.New(rand.NewPCG(seed, 0))
	path := dbPath(t)

	submitted := map[string]bool{} // id -> printed as submitted
	acked := map[string]bool{}     // Ack returned
	acking := map[string]bool{}    // Ack called; may or may not have committed
	for k := range kills {
		delay := time.Duration(20+rng.IntN(400)) * time.Millisecond
		lines := runAndKill(t, path, delay)
		for _, l := range lines {
			tag, id, _ := strings.Cut(l, " ")
			switch tag {
			case "S":
				submitted[id] = true
			case "a":
				acking[id] = true
			case "A":
				acked[id] = true
			}
		}

		o, err := Open(path, Opts{})
		if err != nil {
			t.Fatalf("kill %d: reopen: %v", k, err)
		}
		stored := map[string]int{}
		var perClass [numClasses]int64
		for _, r := range all(t, o) {
			stored[r.ID]++
			perClass[r.Class.idx()]++
		}
		s := stats(t, o)
		if err := o.Close(); err != nil {
			t.Fatal(err)
		}
		checkFile(t, path)

		missing := 0
		for id := range submitted {
			switch {
			case acked[id]:
				if stored[id] != 0 {
					t.Errorf("kill %d: acked %s still stored", k, id)
				}
			case acking[id]:
			case stored[id] != 1:
				missing++
				if missing < 5 {
					t.Errorf("kill %d: submitted %s stored %d times", k, id, stored[id])
				}
			}
		}
		if missing > 0 {
			t.Fatalf("kill %d (after %s): %d confirmed records lost", k, delay, missing)
		}
		for _, c := range Classes {
			if got := s.Class(c).Count; got != perClass[c.idx()] {
				t.Errorf("kill %d: stats %s count %d, scanned %d", k, c, got, perClass[c.idx()])
			}
		}
		t.Logf("kill %d after %s: %d lines, %d confirmed so far, %d stored", k, delay, len(lines), len(submitted), len(stored))
	}
}

// runAndKill starts the child on path, SIGKILLs it after delay and returns
// the complete lines it printed.
func runAndKill(t *testing.T, path string, delay time.Duration) []string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+path)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var lines []string
	done := make(chan error, 1)
	go func() {
		r := bufio.NewReader(stdout)
		for {
			l, err := r.ReadString('\n')
			if err != nil { // a line cut by the kill has no newline: ignore it
				if err == io.EOF {
					err = nil
				}
				done <- err
				return
			}
			if strings.HasPrefix(l, "S ") || strings.HasPrefix(l, "a ") || strings.HasPrefix(l, "A ") {
				lines = append(lines, strings.TrimSuffix(l, "\n"))
			}
		}
	}()
	time.Sleep(delay) // the random moment of the crash, not synchronisation
	if err := cmd.Process.Kill(); err != nil {
		t.Fatalf("kill: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("read child output: %v", err)
	}
	if err := cmd.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("child ended by itself: %v", err)
	}
	return lines
}
