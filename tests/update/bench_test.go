package update

import (
	"crypto/rand"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/provisioning/release"
)

// benchSize is the release's size on the wire, the 30 MB.
const benchSize = 30 << 20

// TestUpdateApplyBench measures update_apply_seconds for make bench
// (tests/bench runs it with QH_BENCH=1 and passes its figure lines on):
// one updater round from its start until the release is committed, on a
// terminal whose agent holds the hub's offer — refreshing the metadata,
// downloading the 30 MB release from the real hub without a rate limit,
// verifying it, unpacking it beside the package, switching, restarting
// the agent into it and holding the health gate for a 1 s trial (the
// agent's check included). The median of BENCH_UPDATE_RUNS (default 3)
// fresh terminals.
func TestUpdateApplyBench(t *testing.T) {
	if os.Getenv("QH_BENCH") == "" {
		t.Skip("a benchmark: make bench runs it (QH_BENCH=1)")
	}
	runs := 3
	if v := os.Getenv("BENCH_UPDATE_RUNS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			t.Fatalf("BENCH_UPDATE_RUNS=%q: want a positive integer", v)
		}
		runs = n
	}
	w := newWorld(t)
	// The kiosk binary and incompressible data to make up 30 MB.
	probe, err := release.WriteFile(t.TempDir(), good, "amd64", bins.kiosk[good])
	if err != nil {
		t.Fatal(err)
	}
	pad := make([]byte, max(0, benchSize-size(probe)))
	rand.Read(pad)
	art := w.publishWith(good, bins.kiosk[good], release.File{Name: "share/bench-padding.bin", Data: pad})
	t.Logf("release of %.1f MiB", float64(size(art))/(1<<20))
	w.startAgent(packaged)
	w.startRollout(good)

	var took []time.Duration
	for i := range runs {
		if i > 0 {
			if err := w.units.Stop(agentUnit); err != nil {
				t.Fatal(err)
			}
			if err := os.RemoveAll(w.updDir); err != nil {
				t.Fatal(err)
			}
			w.startAgent(packaged)
		}
		start := time.Now()
		out, err := w.updaterOnce("--trial", "1s")
		d := time.Since(start)
		if err != nil || !strings.Contains(out, `"outcome":"committed"`) {
			t.Fatalf("run %d: %v\n%s", i+1, err, out)
		}
		w.agentRuns(good)
		took = append(took, d)
		t.Logf("run %d: %s", i+1, d.Round(time.Millisecond))
	}
	slices.Sort(took)
	fmt.Printf("update_apply_seconds %.2f s\n", took[len(took)/2].Seconds())
	fmt.Printf("update_release_mib %.1f MiB\n", float64(size(art))/(1<<20))
}
