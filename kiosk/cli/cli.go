// Package cli implements the kiosk command line: the agent itself and the
// commands IT staff and scripts use to talk to it.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/quartierhub/quartierhub/internal/userr"
	"github.com/quartierhub/quartierhub/kiosk/agent"
	"github.com/quartierhub/quartierhub/kiosk/config"
	"github.com/quartierhub/quartierhub/kiosk/hubsync"
	"github.com/quartierhub/quartierhub/kiosk/localapi"
	"github.com/quartierhub/quartierhub/kiosk/outbox"
	"github.com/quartierhub/quartierhub/kiosk/updater/handoff"
)

// Version is set at build time with -ldflags.
var Version = "dev"

const usage = `usage: kiosk COMMAND [flags]

commands:
  agent     --data DIR [--config FILE] run the headless agent (outbox, sync, devices, local API)
  run       --data DIR [--config FILE] [--windowed] [--attach]
                                       open the touchscreen window (with the agent in
                                       this process unless one already runs on DIR or
                                       --attach says to wait for it)
  enroll    --hub URL --token T --data DIR  (or --uri QR_TEXT instead of --hub and --token)
                                       enrol this terminal with a hub (one-time token)
  status    --data DIR [--json]        show enrolment, hub, sync, outbox and devices
  submit    --data DIR --type TYPE --payload JSON [--class C]
                                       store a record durably; prints its id
  sync-now  --data DIR                 send the outbox to the hub now
  devices scan [--rules] [--json]      list the serial devices with what a udev rule
                                       needs, and the rule that pins each to a
                                       stable name under /dev/quartierhub
  session weston-ini --data DIR --out FILE [--base FILE] [--output NAME]
                                       write the compositor's weston.ini with the hub's
                                       rotation (the compositor unit runs it)
  workshop  status|checkin|idea|dot|undot|done|print --data DIR [--json] …
                                       a workshop on this terminal over the local API
                                       (kiosk workshop help for the subcommands)
`

// Main runs the command in args and returns the exit code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stderr, usage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmds := map[string]func(context.Context, []string, io.Writer, io.Writer) error{
		"agent":    cmdAgent,
		"enroll":   cmdEnroll,
		"status":   cmdStatus,
		"submit":   cmdSubmit,
		"sync-now": cmdSyncNow,
		"run":      cmdRun,
		"devices":  cmdDevices,
		"session":  cmdSession,
		"workshop": cmdWorkshop,
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "kiosk: unknown command %q\n%s", args[0], usage)
		return 2
	}
	if err := cmd(ctx, args[1:], stdout, stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		if errors.Is(err, agent.ErrRestart) {
			fmt.Fprintln(stderr, "kiosk agent: restarting on the hub's command")
			return agent.ExitCodeRestart
		}
		fmt.Fprintf(stderr, "kiosk %s: %s\n", args[0], oneLine(userr.Message(err, err.Error())))
		return 1
	}
	return 0
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("kiosk "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func needDir(dir string) (string, error) {
	if dir == "" {
		return "", errors.New("--data DIR is required")
	}
	return filepath.Abs(dir)
}

func cmdAgent(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("agent", stderr)
	dir := fs.String("data", "", "data directory (outbox, identity, socket)")
	cfgPath := fs.String("config", "", "configuration file (devices, limits); optional")
	logLevel := fs.String("log-level", "info", "debug|info|warn|error")
	media := enrolMediaFlag(fs)
	updaterDir := fs.String("updater-dir", handoff.DefaultUpdaterDir, "the updater's state directory, whose status the heartbeats report; \"\" reports none")
	if err := fs.Parse(args); err != nil {
		return err
	}
	d, err := needDir(*dir)
	if err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	var cfg config.Config
	if *cfgPath != "" {
		if cfg, err = config.Load(*cfgPath); err != nil {
			return err
		}
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))
	return agent.New(agent.Opts{DataDir: d, Version: Version, Config: cfg, Logger: log, EnrolMedia: media(), UpdaterDir: *updaterDir}).Run(ctx)
}

func cmdEnroll(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("enroll", stderr)
	dir := fs.String("data", "", "data directory")
	hub := fs.String("hub", "", "hub URL, e.g. https://hub.example.org")
	token := fs.String("token", "", "one-time enrolment token from the hub")
	uri := fs.String("uri", "", "the console's enrolment QR code text (quartierhub-enrol:?hub=…&token=…), e.g. typed by a handheld scanner; replaces --hub and --token")
	force := fs.Bool("force", false, "replace an existing identity")
	if err := fs.Parse(args); err != nil {
		return err
	}
	d, err := needDir(*dir)
	if err != nil {
		return err
	}
	if *uri != "" {
		if *hub, *token, err = hubsync.ParseEnrolmentText(*uri); err != nil {
			return userr.New("--uri is not an enrolment QR code from the hub console", err)
		}
	}
	if *hub == "" || *token == "" {
		return userr.New("enroll needs --hub and --token (or --uri with the console's QR code text)", nil)
	}
	id, err := hubsync.EnrollInto(ctx, d, *hub, *token, *force, hubsync.EnrollOpts{SoftwareVersion: Version})
	if errors.Is(err, hubsync.ErrAlreadyEnrolled) {
		return userr.New(userr.Message(err, "")+"; use --force to replace it", err)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "enrolled as %s (%s) in %s, terminal id %s\n", id.Name, id.Quarter, id.HubURL, id.TerminalID)
	// An agent already running on d (a packaged terminal's) backed off
	// while it had no identity; a sync round now shows the terminal online
	// in the console at once instead of after its backoff. No agent: fine.
	nudge, cancel := context.WithTimeout(ctx, enrolNudgeTimeout)
	defer cancel()
	if _, err := localapi.NewClient(d).SyncNow(nudge); err == nil {
		fmt.Fprintln(stdout, "the running agent has synchronised with the hub")
	}
	return nil
}

// enrolNudgeTimeout bounds the sync round `kiosk enroll` asks of a running
// agent; the enrolment has succeeded whatever the round's outcome.
const enrolNudgeTimeout = 20 * time.Second

func cmdStatus(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("status", stderr)
	dir := fs.String("data", "", "data directory")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	d, err := needDir(*dir)
	if err != nil {
		return err
	}
	st, err := localapi.NewClient(d).Status(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	printStatus(stdout, st)
	return nil
}

func printStatus(w io.Writer, st localapi.Status) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	defer tw.Flush()
	if st.Terminal.Enrolled {
		fmt.Fprintf(tw, "terminal\t%s (%s), id %s\n", st.Terminal.Name, st.Terminal.Quarter, st.Terminal.TerminalID)
		fmt.Fprintf(tw, "hub\t%s, %s\n", st.Terminal.HubURL, reach(st.Sync))
	} else {
		fmt.Fprintf(tw, "terminal\tnot enrolled %s\n", st.Terminal.Error)
	}
	fmt.Fprintf(tw, "last sync\t%s\n", ago(st.Sync.LastSync))
	if st.Sync.LastError != "" {
		fmt.Fprintf(tw, "last error\t%s\n", st.Sync.LastError)
	}
	for _, c := range outbox.Classes {
		cs := st.Outbox.Classes[c.String()]
		fmt.Fprintf(tw, "outbox %s\t%d records, %d bytes, oldest %s\n", c, cs.Count, cs.Bytes, age(cs.OldestAgeSeconds))
	}
	for _, dv := range st.Devices {
		fmt.Fprintf(tw, "device %s\t%s %s %s\n", dv.Name, dv.State, dv.Path, dv.Error)
	}
	fmt.Fprintf(tw, "version\t%s\n", st.Version)
}

func reach(s localapi.SyncStatus) string {
	switch {
	case s.Unauthorized:
		return "refuses this terminal"
	case s.HubReachable:
		return "reachable"
	case s.LastAttempt.IsZero():
		return "not tried yet"
	}
	return "unreachable"
}

func ago(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return time.Since(t).Round(time.Second).String() + " ago"
}

func age(secs float64) string {
	if secs == 0 {
		return "-"
	}
	return (time.Duration(secs) * time.Second).String()
}

func cmdSubmit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("submit", stderr)
	dir := fs.String("data", "", "data directory")
	typ := fs.String("type", "", "record type, e.g. problem_report")
	class := fs.String("class", "", "resident|event|sensor (default: from the type)")
	payload := fs.String("payload", "", "the record as a JSON object")
	if err := fs.Parse(args); err != nil {
		return err
	}
	d, err := needDir(*dir)
	if err != nil {
		return err
	}
	if *typ == "" {
		return errors.New("--type is required")
	}
	var obj map[string]any
	dec := json.NewDecoder(strings.NewReader(*payload))
	dec.UseNumber()
	if err := dec.Decode(&obj); err != nil || obj == nil {
		return userr.New("--payload must be a JSON object, e.g. '{\"text\":\"…\"}'", err)
	}
	req := localapi.SubmitRequest{Type: *typ, Class: *class, Payload: obj}
	resp, err := localapi.NewClient(d).Submit(ctx, req)
	if errors.Is(err, localapi.ErrNoAgent) {
		// No agent: store it ourselves; the agent sends it when it runs.
		resp, err = submitDirect(ctx, d, req)
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, resp.ID)
	return nil
}

func submitDirect(ctx context.Context, dir string, req localapi.SubmitRequest) (localapi.SubmitResponse, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return localapi.SubmitResponse{}, err
	}
	ob, err := outbox.Open(filepath.Join(dir, agent.OutboxFile), outbox.Opts{})
	if err != nil {
		return localapi.SubmitResponse{}, err
	}
	defer ob.Close()
	rec, err := agent.SubmitTo(ctx, ob, req)
	if err != nil {
		return localapi.SubmitResponse{}, err
	}
	return localapi.SubmitResponse{ID: rec.ID, Type: rec.Type, Class: rec.Class.String(), CreatedAt: rec.CreatedAt}, nil
}

func cmdSyncNow(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("sync-now", stderr)
	dir := fs.String("data", "", "data directory")
	if err := fs.Parse(args); err != nil {
		return err
	}
	d, err := needDir(*dir)
	if err != nil {
		return err
	}
	c := localapi.NewClient(d)
	res, err := c.SyncNow(ctx)
	if err != nil {
		return err
	}
	left := int64(0)
	if st, err := c.Status(ctx); err == nil {
		for _, cs := range st.Outbox.Classes {
			left += cs.Count
		}
	}
	fmt.Fprintf(stdout, "sent %d records in %d batches; %d waiting in the outbox\n", res.Sent, res.Batches, left)
	return nil
}
