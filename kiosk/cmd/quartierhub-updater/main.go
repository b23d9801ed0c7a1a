// Command quartierhub-updater is the terminal's software updater, a root
// service of its own (quartierhub-updater.service): it installs the kiosk
// release the hub offers, verified through TUF against the root pinned at
// install, and rolls it back if it fails its health gate. The engine is
// kiosk/updater; this is its configuration from flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"golang.org/x/time/rate"

	"github.com/quartierhub/quartierhub/kiosk/updater"
	"github.com/quartierhub/quartierhub/kiosk/updater/handoff"
)

// version is the packaged kiosk's Debian version (the same package ships
// both), set at build time with -ldflags "-X main.version=V".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "quartierhub-updater:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("quartierhub-updater", flag.ContinueOnError)
	kioskData := fs.String("kiosk-data", "/var/lib/quartierhub-kiosk", "the agent's data directory: hub address (identity.json), the offer, the session lock, the agent's socket")
	dir := fs.String("dir", handoff.DefaultUpdaterDir, "the updater's state directory (journal, status, releases, current)")
	root := fs.String("root", updater.DefaultRootPath, "the TUF root pinned at install")
	units := fs.String("units", "quartierhub-agent.service,quartierhub-window.service", "comma-separated units restarted into a new release and watched by the health gate")
	trial := fs.Duration("trial", 10*time.Minute, "health gate length")
	window := fs.String("window", "always", "the terminal's own maintenance window, HH:MM-HH:MM local time, or always (an offer's window must be open as well)")
	interval := fs.Duration("interval", 5*time.Minute, "pause between update rounds")
	jitter := fs.Duration("jitter", 15*time.Minute, "at most this long a random pause before a download, to spread a fleet's")
	rateLimit := fs.Int("rate-limit", 1<<20, "download bytes per second; 0 unlimited")
	logLevel := fs.String("log-level", "info", "debug|info|warn|error")
	once := fs.Bool("once", false, "run one round after the recovery and exit, non-zero if it failed")
	printVersion := fs.Bool("version", false, "print the version and exit")
	check := fs.Bool("check", false, "check what the updater needs (root, hub address, clock, units, agent), print it and exit; changes nothing")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *printVersion {
		fmt.Println(version)
		return nil
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	w, err := updater.ParseWindow(*window)
	if err != nil {
		return fmt.Errorf("--window: %w", err)
	}
	var unitList []string
	for u := range strings.SplitSeq(*units, ",") {
		if u = strings.TrimSpace(u); u != "" {
			unitList = append(unitList, u)
		}
	}
	if *rateLimit < 0 {
		return errors.New("--rate-limit must not be negative")
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	d := updater.Daemon{
		Config: updater.Config{
			Dir: *dir, RootPath: *root, InstalledVersion: updater.PackageVersion(version), Units: unitList, Window: w,
			Trial: *trial, Jitter: *jitter, RateLimit: rate.Limit(*rateLimit),
			Rand:        rand.Int64N,
			ClockSynced: updater.ClockSynced,
			Services:    updater.Systemctl{},
			Log:         log,
		},
		KioskDataDir:   *kioskData,
		Interval:       *interval,
		Once:           *once,
		PackageVersion: version,
	}
	if *check {
		return printCheck(d.Check(ctx))
	}
	log.Info("updater started", "version", version, "dir", *dir, "kiosk_data", *kioskData)
	err = d.Run(ctx)
	if ctx.Err() != nil {
		log.Info("updater stopped")
		return nil
	}
	return err
}

func printCheck(items []updater.CheckItem) error {
	failed := 0
	for _, it := range items {
		if it.Err != nil {
			failed++
			fmt.Printf("FAIL %s: %v\n", it.What, it.Err)
		} else {
			fmt.Printf("ok   %s\n", it.What)
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d checks failed", failed, len(items))
	}
	return nil
}
