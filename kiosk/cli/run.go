package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/quartierhub/quartierhub/kiosk/agent"
	"github.com/quartierhub/quartierhub/kiosk/config"
	"github.com/quartierhub/quartierhub/kiosk/localapi"
)

// WindowOpts is what the window needs to start.
type WindowOpts struct {
	// DataDir is the agent's data directory: the window talks to the agent
	// only through DATA/agent.sock, even when the agent runs in-process.
	DataDir string
	// Windowed opens a normal window instead of full screen (development).
	Windowed bool
	Version  string
	Logger   *slog.Logger
	// Speech is the configuration file's speech section (the voice and
	// the headphone jack live in the window's process).
	Speech config.Speech
}

// Window runs the touchscreen window until ctx ends. It is set by the
// kiosk command when it is built with cgo (kiosk/cmd/kiosk/window.go); a
// build without cgo has no window and `kiosk run` says so.
var Window func(ctx context.Context, opts WindowOpts) error

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("run", stderr)
	dir := fs.String("data", "", "data directory (outbox, identity, socket)")
	cfgPath := fs.String("config", "", "configuration file (an in-process agent's, and the window's speech section); optional")
	windowed := fs.Bool("windowed", false, "a normal window instead of full screen (development)")
	attach := fs.Bool("attach", false, "never run an agent in this process: wait for the one of DIR (the window unit; the agent is its own unit)")
	logLevel := fs.String("log-level", "info", "debug|info|warn|error")
	media := enrolMediaFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	d, err := needDir(*dir)
	if err != nil {
		return err
	}
	if Window == nil {
		return errors.New("this kiosk binary was built without cgo and has no window; build it with CGO_ENABLED=1")
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// The file's speech section is the window's even when it attaches.
	var cfg config.Config
	if *cfgPath != "" {
		if cfg, err = config.Load(*cfgPath); err != nil {
			return err
		}
	}
	// Attach to a running agent, or run one here.
	agentDone := make(chan error, 1)
	pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
	_, err = localapi.NewClient(d).Status(pctx)
	pcancel()
	if errors.Is(err, localapi.ErrNoAgent) && !*attach {
		a := agent.New(agent.Opts{DataDir: d, Version: Version, Config: cfg, Logger: log.With("part", "agent"), EnrolMedia: media()})
		go func() {
			err := a.Run(ctx)
			agentDone <- err
			cancel() // no agent, no window
		}()
		select {
		case <-a.Ready():
		case err := <-agentDone:
			return err
		}
		log.Info("agent started in-process", "data_dir", d)
	} else {
		close(agentDone)
		log.Info("attached to a running agent", "data_dir", d)
	}
	werr := Window(ctx, WindowOpts{DataDir: d, Windowed: *windowed, Version: Version, Logger: log.With("part", "window"), Speech: cfg.Speech})
	cancel()
	if aerr, ok := <-agentDone; ok && aerr != nil {
		return aerr
	}
	return werr
}
