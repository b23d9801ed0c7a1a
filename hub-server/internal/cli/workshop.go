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
	"text/tabwriter"
	"time"

	"github.com/google/renameio/v2"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/hub-server/internal/workshops"
	"github.com/quartierhub/quartierhub/internal/userr"
	"github.com/quartierhub/quartierhub/internal/workshop"
)

// workshopService opens the store and a workshop service on it (not
// run: the command appends and reads; a running hub learns of the
// appends by PostgreSQL's notification or, on SQLite, by polling).
func workshopService(ctx context.Context, data *storeLoc, o Opts) (*workshops.Service, func(), error) {
	svc, st, err := workshopServiceOn(ctx, data, o)
	if err != nil {
		return nil, nil, err
	}
	return svc, func() { st.Close() }, nil
}

// workshopServiceOn is workshopService with its store, for commands that
// read more of it.
func workshopServiceOn(ctx context.Context, data *storeLoc, o Opts) (*workshops.Service, store.Store, error) {
	st, err := openStore(ctx, data)
	if err != nil {
		return nil, nil, err
	}
	log := slog.New(slog.NewTextHandler(o.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	return workshops.New(st, workshops.Opts{Now: o.Now, Rand: o.Rand, Logger: log}), st, nil
}

// terminalIDs resolves a plan's terminals, given by ID or by name as
// `hub-server terminal list` shows them, to IDs.
func terminalIDs(ctx context.Context, st store.Store, given []string) ([]string, error) {
	if len(given) == 0 {
		return nil, nil
	}
	ts, err := st.Terminals(ctx)
	if err != nil {
		return nil, err
	}
	byName := make(map[string]string, len(ts))
	ids := make(map[string]bool, len(ts))
	for _, t := range ts {
		byName[t.Name], ids[t.ID] = t.ID, true
	}
	out := make([]string, 0, len(given))
	for _, g := range given {
		switch {
		case ids[g]:
			out = append(out, g)
		case byName[g] != "":
			out = append(out, byName[g])
		default:
			return nil, fmt.Errorf("terminals: no terminal named %q (see hub-server terminal list)", g)
		}
	}
	return out, nil
}

// workshopError says what went wrong in words for the command line.
func workshopError(id string, err error) error {
	var ref *workshops.Refused
	switch {
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("no workshop %q", id)
	case errors.As(err, &ref):
		return fmt.Errorf("workshop %s refused it (%s)", id, ref.Reason)
	}
	if msg := userr.Message(err, ""); msg != "" {
		return errors.New(msg)
	}
	return err
}

func workshopCreate(ctx context.Context, args []string, o Opts) error {
	fs, data := flags("workshop create")
	file := fs.String("file", "", "the workshop's plan, JSON (workshop.Spec; - for standard input)")
	if err := parse(fs, args, data); err != nil {
		return err
	}
	if *file == "" {
		return usageError{"workshop create: --file is required"}
	}
	var r io.Reader = o.Stdin
	if *file != "-" {
		f, err := os.Open(*file)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, workshops.MaxSpecBytes+1))
	if err != nil {
		return fmt.Errorf("read %s: %w", *file, err)
	}
	spec, err := workshops.DecodeSpec(b)
	if err != nil {
		return fmt.Errorf("%s: %s", *file, userr.Message(err, err.Error()))
	}
	svc, st, err := workshopServiceOn(ctx, data, o)
	if err != nil {
		return err
	}
	defer st.Close()
	if spec.Terminals, err = terminalIDs(ctx, st, spec.Terminals); err != nil {
		return fmt.Errorf("%s: %w", *file, err)
	}
	w, err := svc.Create(ctx, spec, o.Actor)
	if err != nil {
		return workshopError("", err)
	}
	_, err = fmt.Fprintf(o.Stdout, "workshop %s created (draft), join code %s\n", w.ID, w.JoinCode)
	return err
}

// exampleSpec is what workshop example prints: every field a plan may
// have, the phases as the method's defaults give them.
func exampleSpec() workshop.Spec {
	return workshop.Spec{
		Title:        "Spielplatz Johannstadt",
		Question:     "Was fehlt auf dem Spielplatz an der Elbe?",
		Lang:         "de",
		Method:       workshop.MethodSimple,
		Phases:       workshop.DefaultPhasesIn(workshop.MethodSimple, 0, "de"),
		Dots:         0,
		MaxPerItem:   2,
		VoteOn:       workshop.OnIdeas,
		Words:        []string{"doof"},
		Phones:       true,
		MaxIdeaChars: 200,
	}
}

func workshopExample(args []string, o Opts) error {
	fs := flag.NewFlagSet("workshop example", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return helpError{fs}
		}
		return usageError{fs.Name() + ": " + err.Error()}
	}
	b, err := json.MarshalIndent(exampleSpec(), "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(o.Stdout, "%s\n", b)
	return err
}

func workshopList(ctx context.Context, args []string, o Opts) error {
	fs, data := flags("workshop list")
	if err := parse(fs, args, data); err != nil {
		return err
	}
	svc, closeStore, err := workshopService(ctx, data, o)
	if err != nil {
		return err
	}
	defer closeStore()
	ws, err := svc.List(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(o.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tJOIN CODE\tSTATUS\tEVENTS\tCREATED\tTITLE")
	for _, w := range ws {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", w.ID, w.JoinCode, w.Status, w.LastSeq, w.CreatedAt.Format(time.RFC3339), oneLine(w.Title))
	}
	return tw.Flush()
}

func workshopPhase(ctx context.Context, args []string, o Opts) error {
	fs, data := flags("workshop phase")
	id := fs.String("id", "", "the workshop's ID")
	to := fs.String("to", "", "the phase: its index (from 0), its kind if only one phase is of it, next, or end")
	if err := parse(fs, args, data); err != nil {
		return err
	}
	if *id == "" || *to == "" {
		return usageError{"workshop phase: --id and --to are required"}
	}
	svc, closeStore, err := workshopService(ctx, data, o)
	if err != nil {
		return err
	}
	defer closeStore()
	v, err := svc.Get(ctx, *id)
	if err != nil {
		return workshopError(*id, err)
	}
	index, err := workshops.ParsePhase(v.State, *to)
	if err != nil {
		return fmt.Errorf("workshop %s: %w", *id, err)
	}
	if _, err := svc.GoToPhase(ctx, *id, workshops.CLIActor(o.Actor), index); err != nil {
		return workshopError(*id, err)
	}
	if index < 0 {
		_, err = fmt.Fprintf(o.Stdout, "workshop %s ended\n", *id)
		return err
	}
	p := v.State.Spec.Phases[index]
	_, err = fmt.Fprintf(o.Stdout, "workshop %s: phase %d (%s) %s\n", *id, index, p.Kind, oneLine(p.Title))
	return err
}

func workshopExport(ctx context.Context, args []string, o Opts) error {
	fs, data := flags("workshop export")
	id := fs.String("id", "", "the workshop's ID")
	format := fs.String("format", "json", "json (results and state), csv (results) or log (the event log, gzip'd JSON Lines)")
	out := fs.String("out", "", "write to this file (replaced atomically) instead of standard output")
	if err := parse(fs, args, data); err != nil {
		return err
	}
	if *id == "" {
		return usageError{"workshop export: --id is required"}
	}
	switch *format {
	case workshops.FormatJSON, workshops.FormatCSV, workshops.FormatLog:
	default:
		return usageError{fmt.Sprintf("workshop export: --format must be json, csv or log, not %q", *format)}
	}
	svc, closeStore, err := workshopService(ctx, data, o)
	if err != nil {
		return err
	}
	defer closeStore()
	if *out == "" {
		sum, err := svc.Export(ctx, *id, *format, o.Stdout)
		if err != nil {
			return workshopError(*id, err)
		}
		// Standard output holds the export; the digest goes beside it.
		_, err = fmt.Fprintf(o.Stderr, "sha256 %s\n", sum)
		return err
	}
	f, err := renameio.NewPendingFile(*out, renameio.WithPermissions(0o640))
	if err != nil {
		return fmt.Errorf("workshop export: %w", err)
	}
	defer f.Cleanup()
	sum, err := svc.Export(ctx, *id, *format, f)
	if err != nil {
		return workshopError(*id, err)
	}
	if err := f.CloseAtomicallyReplace(); err != nil {
		return fmt.Errorf("workshop export: %w", err)
	}
	_, err = fmt.Fprintf(o.Stdout, "wrote %s (sha256 %s)\n", *out, sum)
	return err
}
