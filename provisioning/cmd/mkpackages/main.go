// Command mkpackages builds Quartierhub's Debian packages from built
// binaries (see provisioning/packaging; `make packages` runs it):
//
//	mkpackages --bin bin --out dist [--version 1.2.3] [--root .] [--tuf-root root.json]
//	mkpackages --print-version
//
// Without --version, the version comes from `git describe --tags --always
// --dirty` and the commit's time (packaging.DebianVersion has the rule).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/quartierhub/quartierhub/provisioning/packaging"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "mkpackages:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("mkpackages", flag.ContinueOnError)
	bin := fs.String("bin", "bin", "directory with the built binaries (kiosk, hub-server)")
	out := fs.String("out", "dist", "directory for the .deb files")
	version := fs.String("version", "", "Debian version; default from git describe and the commit's time")
	root := fs.String("root", ".", "the repository's root")
	arch := fs.String("arch", "amd64", "Debian architecture of the binaries")
	printVersion := fs.Bool("print-version", false, "print the version (--version or git's) and stop")
	tufRoot := fs.String("tuf-root", "", "the TUF root.json of the release keys' ceremony, pinned in quartierhub-kiosk for its updater; without it the updater stays off")
	if err := fs.Parse(args); err != nil {
		return err
	}
	describe, err := git(ctx, *root, "describe", "--tags", "--always", "--dirty")
	if err != nil {
		return err
	}
	secs, err := git(ctx, *root, "log", "-1", "--format=%ct")
	if err != nil {
		return err
	}
	unix, err := strconv.ParseInt(secs, 10, 64)
	if err != nil {
		return fmt.Errorf("commit time %q: %w", secs, err)
	}
	commit := time.Unix(unix, 0).UTC()
	v := *version
	if v == "" {
		if v, err = packaging.DebianVersion(describe, commit); err != nil {
			return err
		}
	}
	if *printVersion {
		fmt.Println(v)
		return nil
	}
	inputs := map[string]string{}
	if *tufRoot != "" {
		if err := packaging.CheckTUFRoot(*tufRoot); err != nil {
			return err
		}
		inputs[packaging.InputTUFRoot] = *tufRoot
	} else {
		fmt.Fprintln(os.Stderr, "mkpackages: no --tuf-root: quartierhub-kiosk's updater will not start (make packages TUF_ROOT=root.json)")
	}
	start := time.Now()
	debs, err := packaging.Build(ctx, packaging.Manifest(v), packaging.Options{
		Root: *root, BinDir: *bin, OutDir: *out, Version: v, Arch: *arch,
		Time: commit, Change: "Built from git " + describe + ".", Inputs: inputs,
	})
	if err != nil {
		return err
	}
	for _, d := range debs {
		st, err := os.Stat(d)
		if err != nil {
			return err
		}
		fmt.Printf("%s\t%d bytes\n", filepath.Join(*out, filepath.Base(d)), st.Size())
	}
	fmt.Printf("version %s, %d packages in %.1fs\n", v, len(debs), time.Since(start).Seconds())
	return nil
}

func git(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	out, err := cmd.Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = strings.TrimSpace(string(ee.Stderr))
		}
		return "", fmt.Errorf("git %s: %w %s", strings.Join(args, " "), err, msg)
	}
	return strings.TrimSpace(string(out)), nil
}
