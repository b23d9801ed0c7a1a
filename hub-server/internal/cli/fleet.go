package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/fleet"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// DefaultOnlineWithin is how recently a terminal must have been seen to
// count as online: three heartbeats at the default 30 s.
const DefaultOnlineWithin = 90 * time.Second

func osUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "unknown"
}

func withStore(ctx context.Context, data *storeLoc, fn func(store.Store) error) error {
	st, err := openStore(ctx, data)
	if err != nil {
		return err
	}
	defer st.Close()
	return fn(st)
}

// withTerminal runs fn on the store with the terminal named name.
func withTerminal(ctx context.Context, data *storeLoc, name string, fn func(store.Store, store.Terminal) error) error {
	return withStore(ctx, data, func(st store.Store) error {
		t, err := terminalByName(ctx, st, name)
		if err != nil {
			return err
		}
		return fn(st, t)
	})
}

func terminalByName(ctx context.Context, st store.Store, name string) (store.Terminal, error) {
	t, err := st.TerminalByName(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return t, fmt.Errorf("no terminal named %q", name)
	}
	return t, err
}

func terminalTag(ctx context.Context, args []string, o Opts) error {
	fs, data := flags("terminal tag")
	name := fs.String("terminal", "", "terminal name")
	tags := fs.String("tags", "", "comma-separated tags; replaces the terminal's tags")
	if err := parse(fs, args, data); err != nil {
		return err
	}
	if *name == "" {
		return usageError{"terminal tag: --terminal is required"}
	}
	return withTerminal(ctx, data, *name, func(st store.Store, t store.Terminal) error {
		list, err := store.NormalizeTags(strings.Split(*tags, ","))
		if err != nil {
			return err
		}
		if err := st.SetTerminalTags(ctx, t.ID, list, store.Audit{At: o.Now(), Actor: o.Actor, Action: "terminal.tag",
			Subject: "terminal:" + t.Name, Detail: strings.Join(list, ",")}); err != nil {
			return err
		}
		_, err = fmt.Fprintf(o.Stdout, "%s: tags %s\n", t.Name, strings.Join(list, ","))
		return err
	})
}

func terminalShow(ctx context.Context, args []string, o Opts) error {
	fs, data := flags("terminal show")
	name := fs.String("terminal", "", "terminal name")
	n := fs.Int("history", 20, "show the last N history rows")
	within := fs.Duration("online-within", DefaultOnlineWithin, "a terminal seen within this is online")
	if err := parse(fs, args, data); err != nil {
		return err
	}
	if *name == "" {
		return usageError{"terminal show: --terminal is required"}
	}
	return withTerminal(ctx, data, *name, func(st store.Store, t store.Terminal) error {
		out := struct {
			ID, Name, Quarter, Version string
			Tags                       []string
			Online                     bool
			LastSeen                   time.Time       `json:",omitzero"`
			Health                     json.RawMessage `json:",omitempty"`
			History                    []json.RawMessage
		}{ID: t.ID, Name: t.Name, Quarter: t.Quarter, Version: t.SoftwareVersion, Tags: t.Tags,
			Online: fleet.Online(t.LastSeenAt, o.Now(), *within) && !t.Revoked(), LastSeen: t.LastSeenAt}
		if h, err := st.Health(ctx, t.ID); err == nil {
			out.Health = h.State
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		hist, err := st.HealthHistory(ctx, t.ID, time.Time{}, 0)
		if err != nil {
			return err
		}
		for _, h := range hist[max(0, len(hist)-*n):] {
			b, _ := json.Marshal(struct {
				At     time.Time       `json:"at"`
				Reason string          `json:"reason"`
				State  json.RawMessage `json:"state"`
			}{h.At, h.Reason, h.State})
			out.History = append(out.History, b)
		}
		enc := json.NewEncoder(o.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	})
}

func configSet(ctx context.Context, args []string, o Opts) error {
	fs, data := flags("config set")
	scope := fs.String("scope", "", "global, quarter:NAME or terminal:NAME")
	file := fs.String("file", "", "JSON document of the layer (- for stdin is not supported; use a file)")
	if err := parse(fs, args, data); err != nil {
		return err
	}
	if !store.ValidScope(*scope) || *file == "" {
		return usageError{"config set: --scope global|quarter:NAME|terminal:NAME and --file are required"}
	}
	doc, err := os.ReadFile(*file)
	if err != nil {
		return err
	}
	if _, err := api.ValidateConfigLayer(doc); err != nil {
		return fmt.Errorf("%s: %w", *file, err)
	}
	return withStore(ctx, data, func(st store.Store) error {
		if err := checkAffected(ctx, st, *scope, doc); err != nil {
			return err
		}
		v, err := st.PutConfigLayer(ctx, *scope, doc, store.Audit{At: o.Now(), Actor: o.Actor, Action: "config.set", Subject: *scope})
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(o.Stdout, "%s: version %d\n", *scope, v)
		return err
	})
}

// checkAffected validates the effective configuration of every enrolled
// terminal the new layer would change, so no terminal is sent a document
// it must refuse.
func checkAffected(ctx context.Context, st store.Store, scope string, doc []byte) error {
	layers, err := st.ConfigLayers(ctx)
	if err != nil {
		return err
	}
	byScope := map[string][]byte{}
	for _, l := range layers {
		byScope[l.Scope] = l.Document
	}
	byScope[scope] = doc
	ts, err := st.Terminals(ctx)
	if err != nil {
		return err
	}
	for _, r := range fleet.Reach(byScope, scope, ts) {
		if r.Err != nil {
			return r.Err
		}
		if _, err := api.ValidateConfig(r.Effective); err != nil {
			return fmt.Errorf("refused: the effective configuration of terminal %s would be invalid: %w", r.Terminal.Name, err)
		}
	}
	return nil
}

func configShow(ctx context.Context, args []string, o Opts) error {
	fs, data := flags("config show")
	scope := fs.String("scope", "", "show this scope's current layer")
	effective := fs.String("effective", "", "show this terminal's effective configuration")
	if err := parse(fs, args, data); err != nil {
		return err
	}
	if (*scope == "") == (*effective == "") {
		return usageError{"config show: give --scope or --effective"}
	}
	return withStore(ctx, data, func(st store.Store) error {
		var doc []byte
		var head string
		if *scope != "" {
			layers, err := st.ConfigLayers(ctx)
			if err != nil {
				return err
			}
			for _, l := range layers {
				if l.Scope == *scope {
					doc = l.Document
					head = fmt.Sprintf("# %s version %d, set by %s at %s", l.Scope, l.Version, l.CreatedBy, l.CreatedAt.Format(time.RFC3339))
				}
			}
			if doc == nil {
				return fmt.Errorf("no configuration for scope %q", *scope)
			}
		} else {
			t, err := terminalByName(ctx, st, *effective)
			if err != nil {
				return err
			}
			d, err := fleet.NewConfigs(st, fleet.ConfigsOpts{}).For(ctx, t.Quarter, t.Name)
			if err != nil {
				return err
			}
			doc, head = d.Document, fmt.Sprintf("# effective for %s (%s), version %s", t.Name, t.Quarter, d.Version)
		}
		var buf bytes.Buffer
		if err := json.Indent(&buf, doc, "", "  "); err != nil {
			buf.Reset()
			buf.Write(doc)
		}
		_, err := fmt.Fprintf(o.Stdout, "%s\n%s\n", head, buf.Bytes())
		return err
	})
}

// Targets resolves a command's target to terminals: exactly one of name,
// quarter or tag. Revoked terminals are left out.
func Targets(ctx context.Context, st store.Store, name, quarter, tag string) ([]store.Terminal, string, error) {
	set := 0
	for _, v := range []string{name, quarter, tag} {
		if v != "" {
			set++
		}
	}
	if set != 1 {
		return nil, "", usageError{"command send: give exactly one of --terminal, --quarter, --tag"}
	}
	if name != "" {
		t, err := terminalByName(ctx, st, name)
		if err != nil {
			return nil, "", err
		}
		if t.Revoked() {
			return nil, "", fmt.Errorf("terminal %s is revoked", name)
		}
		return []store.Terminal{t}, "terminal:" + name, nil
	}
	ts, err := st.Terminals(ctx)
	if err != nil {
		return nil, "", err
	}
	var out []store.Terminal
	target := "quarter:" + quarter
	if tag != "" {
		target = "tag:" + strings.ToLower(tag)
	}
	for _, t := range ts {
		if t.Revoked() {
			continue
		}
		if (quarter != "" && t.Quarter == quarter) || (tag != "" && containsTag(t.Tags, strings.ToLower(tag))) {
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		return nil, "", fmt.Errorf("no active terminal matches %s", target)
	}
	return out, target, nil
}

func containsTag(tags []string, tag string) bool {
	for _, t := range tags {
		if t == tag {
			return true
		}
	}
	return false
}

func commandSend(ctx context.Context, args []string, o Opts) error {
	fs, data := flags("command send")
	name := fs.String("terminal", "", "aim at this terminal")
	quarter := fs.String("quarter", "", "aim at every terminal of this quarter")
	tag := fs.String("tag", "", "aim at every terminal with this tag")
	kind := fs.String("kind", "", strings.Join(api.CommandKinds, ", "))
	msg := fs.String("message", "", "message for the out-of-order screen (maintenance_on)")
	ttl := fs.Duration("ttl", 24*time.Hour, "the command expires if not done within this")
	if err := parse(fs, args, data); err != nil {
		return err
	}
	if !api.ValidCommandKind(*kind) {
		return usageError{fmt.Sprintf("command send: --kind must be one of %s", strings.Join(api.CommandKinds, ", "))}
	}
	if *ttl <= 0 || len(*msg) > 500 {
		return usageError{"command send: --ttl must be positive and --message at most 500 bytes"}
	}
	if *kind == api.CommandScreenshot && *name == "" {
		// As in the console: one picture at a time, of one terminal.
		return usageError{"command send: a screenshot is taken of one terminal: --terminal NAME"}
	}
	return withStore(ctx, data, func(st store.Store) error {
		ts, target, err := Targets(ctx, st, *name, *quarter, *tag)
		if err != nil {
			return err
		}
		now := o.Now()
		group, err := ulid.New(ulid.Timestamp(now), o.Rand)
		if err != nil {
			return err
		}
		cmds := make([]store.Command, len(ts))
		for i, t := range ts {
			id, err := ulid.New(ulid.Timestamp(now), o.Rand)
			if err != nil {
				return err
			}
			cmds[i] = store.Command{ID: id.String(), GroupID: group.String(), TerminalID: t.ID, Kind: *kind, Message: *msg,
				Target: target, CreatedAt: now, CreatedBy: o.Actor, ExpiresAt: now.Add(*ttl)}
		}
		if err := st.CreateCommands(ctx, cmds, store.Audit{At: now, Actor: o.Actor, Action: "command.send", Subject: target,
			Detail: fmt.Sprintf("%s to %d terminal(s), group %s", *kind, len(cmds), group)}); err != nil {
			return err
		}
		for i, c := range cmds {
			fmt.Fprintf(o.Stdout, "%s\t%s\t%s\n", c.ID, ts[i].Name, c.Kind)
		}
		return nil
	})
}

func commandList(ctx context.Context, args []string, o Opts) error {
	fs, data := flags("command list")
	name := fs.String("terminal", "", "only this terminal's commands")
	state := fs.String("state", "", "only commands in this state (queued, delivered, done, failed, expired)")
	limit := fs.Int("limit", 50, "at most this many, newest first")
	if err := parse(fs, args, data); err != nil {
		return err
	}
	return withStore(ctx, data, func(st store.Store) error {
		f := store.CommandFilter{State: *state, Limit: *limit}
		id, names, err := listedTerminals(ctx, st, *name)
		if err != nil {
			return err
		}
		f.TerminalID = id
		cmds, err := st.Commands(ctx, f)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(o.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tTERMINAL\tKIND\tSTATE\tTARGET\tCREATED\tBY\tEXPIRES\tRESULT")
		for _, c := range cmds {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.ID, names[c.TerminalID], c.Kind, c.State, c.Target,
				c.CreatedAt.Format(time.RFC3339), c.CreatedBy, c.ExpiresAt.Format(time.RFC3339), oneLine(c.Result))
		}
		return tw.Flush()
	})
}

// listedTerminals serves the list commands: the ID of the terminal named
// name ("" when name is "": every terminal) and every terminal's name by
// ID, to show in the rows.
func listedTerminals(ctx context.Context, st store.Store, name string) (string, map[string]string, error) {
	var id string
	if name != "" {
		t, err := terminalByName(ctx, st, name)
		if err != nil {
			return "", nil, err
		}
		id = t.ID
	}
	names, err := store.TerminalNames(ctx, st)
	return id, names, err
}

func alertList(ctx context.Context, args []string, o Opts) error {
	fs, data := flags("alert list")
	all := fs.Bool("all", false, "include resolved alerts")
	name := fs.String("terminal", "", "only this terminal's alerts")
	limit := fs.Int("limit", 100, "at most this many, newest first")
	if err := parse(fs, args, data); err != nil {
		return err
	}
	return withStore(ctx, data, func(st store.Store) error {
		f := store.AlertFilter{State: store.AlertOpen, Limit: *limit}
		if *all {
			f.State = ""
		}
		id, names, err := listedTerminals(ctx, st, *name)
		if err != nil {
			return err
		}
		f.TerminalID = id
		als, err := st.AlertEntries(ctx, f, o.Now())
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(o.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "TERMINAL\tKIND\tSTATE\tFIRST SEEN\tLAST SEEN\tRESOLVED\tACKNOWLEDGED\tMUTED\tID\tDETAIL")
		for _, a := range als {
			resolved, acked, muted := "", "", ""
			if !a.ResolvedAt.IsZero() {
				resolved = a.ResolvedAt.Format(time.RFC3339)
			}
			if a.Acked() {
				acked = a.Ack.By
			}
			if a.Muted {
				muted = "muted"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", names[a.TerminalID], a.Kind, a.State, a.FirstSeen.Format(time.RFC3339),
				a.LastSeen.Format(time.RFC3339), resolved, acked, muted, a.ID, oneLine(a.Detail))
		}
		return tw.Flush()
	})
}

func diagnosticsShow(ctx context.Context, args []string, o Opts) error {
	fs, data := flags("diagnostics show")
	id := fs.String("id", "", "diagnostics ID (from command list's result)")
	if err := parse(fs, args, data); err != nil {
		return err
	}
	if *id == "" {
		return usageError{"diagnostics show: --id is required"}
	}
	return withStore(ctx, data, func(st store.Store) error {
		d, err := st.Diagnostics(ctx, *id)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("no diagnostics %q", *id)
		}
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		if err := json.Indent(&buf, d.Bundle, "", "  "); err != nil {
			return err
		}
		_, err = fmt.Fprintf(o.Stdout, "# terminal %s, received %s, command %s\n%s\n", d.TerminalID, d.ReceivedAt.Format(time.RFC3339), d.CommandID, buf.Bytes())
		return err
	})
}
