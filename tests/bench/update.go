package main

// The update group: a terminal's updater applying a release.
//
//	update  update_apply_seconds (one updater round, from its start to the
//	        release committed: metadata refreshed, a 30 MiB release
//	        downloaded from a real hub-server without a rate limit,
//	        verified, unpacked, switched to, the agent restarted into it
//	        and the health gate held for a 1 s trial; median of
//	        BENCH_UPDATE_RUNS, default 3), update_release_mib
//
// It is tests/update's TestUpdateApplyBench, which has the hub, the
// terminal and the updater binary set up as its end-to-end tests do; run
// as a test with QH_BENCH=1, its figure lines are passed on.

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/quartierhub/quartierhub/tests/internal/harness"
)

func init() {
	groups["update"] = []string{"update_apply_seconds", "update_release_mib"}
}

func updateBench(ctx context.Context) error {
	root, err := harness.ModuleRoot(ctx)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "go", "test", "-count=1", "-timeout=10m", "-run", "^TestUpdateApplyBench$", "-v", "./tests/update")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "QH_BENCH=1", "CGO_ENABLED=0")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	var n int
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		m := figureLine.FindStringSubmatch(strings.TrimSpace(sc.Text()))
		if m == nil {
			logf("  %s", sc.Text())
			continue
		}
		fmt.Println(m[0])
		n++
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("update bench: %w", err)
	}
	if n != len(groups["update"]) {
		return fmt.Errorf("update bench: %d figures printed, want %d", n, len(groups["update"]))
	}
	return nil
}
