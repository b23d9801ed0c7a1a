package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// alertAck acknowledges a terminal's open alert, named by ID or by kind.
func alertAck(ctx context.Context, args []string, o Opts) error {
	fs, data := flags("alert ack")
	name := fs.String("terminal", "", "the terminal's name")
	id := fs.String("id", "", "the alert's ID (alert list shows it)")
	kind := fs.String("kind", "", "instead of --id: the terminal's open alert of this kind")
	note := fs.String("note", "", "optional note for colleagues")
	if err := parse(fs, args, data); err != nil {
		return err
	}
	if *name == "" || (*id == "") == (*kind == "") {
		return usageError{"alert ack: --terminal and one of --id or --kind are required"}
	}
	return withTerminal(ctx, data, *name, func(st store.Store, t store.Terminal) error {
		now := o.Now()
		es, err := st.AlertEntries(ctx, store.AlertFilter{TerminalID: t.ID, State: store.AlertOpen}, now)
		if err != nil {
			return err
		}
		for _, e := range es {
			if e.ID == *id || e.Kind == *kind {
				*id, *kind = e.ID, e.Kind
			}
		}
		detail := strings.TrimSpace(*kind + " " + *id)
		if *note != "" {
			detail += ": " + *note
		}
		err = st.AckAlert(ctx, t.ID, *id, store.AlertAck{At: now, By: o.Actor, Note: *note},
			store.Audit{At: now, Actor: o.Actor, Action: "alert.ack", Subject: "terminal:" + t.Name, Detail: detail})
		switch {
		case errors.Is(err, store.ErrNotFound):
			return fmt.Errorf("terminal %s has no open alert %s", t.Name, strings.TrimSpace(*id+" "+*kind))
		case errors.Is(err, store.ErrAlertResolved):
			return fmt.Errorf("alert %s has resolved already", *id)
		case err != nil:
			return err
		}
		_, err = fmt.Fprintf(o.Stdout, "acknowledged %s %s of %s\n", *kind, *id, t.Name)
		return err
	})
}

// alertMute mutes a terminal's alert notices (one kind or every kind)
// for a while; alerts still open and resolve.
func alertMute(ctx context.Context, args []string, o Opts) error {
	fs, data := flags("alert mute")
	name := fs.String("terminal", "", "the terminal's name")
	kind := fs.String("kind", "", "only alerts of this kind (default: every kind)")
	dur := fs.Duration("for", 0, "how long, e.g. 1h, 24h, 168h")
	until := fs.String("until", "", "instead of --for: until this time (RFC 3339, e.g. 2026-12-01T08:00:00+01:00)")
	reason := fs.String("reason", "", "why (shown to colleagues and in the audit log)")
	if err := parse(fs, args, data); err != nil {
		return err
	}
	now := o.Now()
	var end time.Time
	switch {
	case *dur > 0 && *until == "":
		end = now.Add(*dur)
	case *dur == 0 && *until != "":
		u, err := time.Parse(time.RFC3339, *until)
		if err != nil {
			return usageError{"alert mute: --until: " + err.Error()}
		}
		end = u
	default:
		return usageError{"alert mute: give one of --for or --until"}
	}
	if *name == "" || strings.TrimSpace(*reason) == "" {
		return usageError{"alert mute: --terminal and --reason are required"}
	}
	if !end.After(now) || end.Sub(now) > 90*24*time.Hour {
		return usageError{"alert mute: the end must be in the future, at most 90 days ahead"}
	}
	return withTerminal(ctx, data, *name, func(st store.Store, t store.Terminal) error {
		id, err := ulid.New(ulid.Timestamp(now), o.Rand)
		if err != nil {
			return err
		}
		what := *kind
		if what == "" {
			what = "all alerts"
		}
		m := store.AlertMute{ID: id.String(), TerminalID: t.ID, Kind: *kind, Reason: *reason, CreatedAt: now, CreatedBy: o.Actor, Until: end}
		if err := st.CreateAlertMute(ctx, m, store.Audit{At: now, Actor: o.Actor, Action: "alert.mute", Subject: "terminal:" + t.Name,
			Detail: fmt.Sprintf("%s until %s: %s", what, end.UTC().Format(time.RFC3339), *reason)}); err != nil {
			return err
		}
		_, err = fmt.Fprintf(o.Stdout, "muted %s of %s until %s (mute %s)\n", what, t.Name, end.Format(time.RFC3339), m.ID)
		return err
	})
}

// alertUnmute lifts a mute, or lists the active mutes without --id.
func alertUnmute(ctx context.Context, args []string, o Opts) error {
	fs, data := flags("alert unmute")
	name := fs.String("terminal", "", "the terminal's name")
	id := fs.String("id", "", "the mute's ID (without it: list the terminal's active mutes)")
	if err := parse(fs, args, data); err != nil {
		return err
	}
	if *name == "" {
		return usageError{"alert unmute: --terminal is required"}
	}
	return withTerminal(ctx, data, *name, func(st store.Store, t store.Terminal) error {
		now := o.Now()
		if *id == "" {
			ms, err := st.AlertMutes(ctx, store.MuteFilter{TerminalID: t.ID, ActiveAt: now})
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(o.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tKIND\tUNTIL\tBY\tREASON")
			for _, m := range ms {
				k := m.Kind
				if k == "" {
					k = "(all)"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", m.ID, k, m.Until.Format(time.RFC3339), m.CreatedBy, oneLine(m.Reason))
			}
			return tw.Flush()
		}
		err := st.LiftAlertMute(ctx, t.ID, *id, now, o.Actor, store.Audit{At: now, Actor: o.Actor, Action: "alert.unmute", Subject: "terminal:" + t.Name, Detail: *id})
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("terminal %s has no active mute %s", t.Name, *id)
		} else if err != nil {
			return err
		}
		_, err = fmt.Fprintf(o.Stdout, "lifted mute %s of %s\n", *id, t.Name)
		return err
	})
}
