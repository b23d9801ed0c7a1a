package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// keepAll keeps every bundle a test stores.
var keepAll = store.DiagnosticsKeep{PerTerminal: 1000, TotalBytes: 1 << 40}

// askDiagnostics queues collect_diagnostics commands ids for terminal,
// created at t0 and open for an hour.
func askDiagnostics(t *testing.T, s store.Store, terminal string, ids ...string) {
	t.Helper()
	var cmds []store.Command
	for _, id := range ids {
		cmds = append(cmds, cmd(id, terminal, api.CommandCollectDiagnostics, t0, time.Hour))
	}
	if err := s.CreateCommands(context.Background(), cmds, who("command.send", "terminal:x", t0)); err != nil {
		t.Fatal(err)
	}
}

// saveDiagnostics stores d for its command, which must take it.
func saveDiagnostics(t *testing.T, s store.Store, d store.Diagnostics, keep store.DiagnosticsKeep) {
	t.Helper()
	got, err := s.SaveDiagnostics(context.Background(), d, keep)
	if err != nil || got.ID != d.ID {
		t.Fatalf("SaveDiagnostics(%s) = %s, %v", d.ID, got.ID, err)
	}
}

// A terminal's bundle is stored only for its own open
// collect_diagnostics command, once per command, and storage is bounded
// per terminal and in total.
func testDiagnosticsBounded(t *testing.T, s store.Store) {
	ctx := context.Background()
	a, b := enrol(t, s, "a", 1), enrol(t, s, "b", 2)
	askDiagnostics(t, s, a.ID, "A1", "A2", "A3", "A4", "A5", "A6")
	askDiagnostics(t, s, b.ID, "B1", "B2")
	if err := s.CreateCommands(ctx, []store.Command{cmd("AM", a.ID, api.CommandMaintenanceOn, t0, time.Hour),
		cmd("AX", a.ID, api.CommandCollectDiagnostics, t0, time.Minute)}, who("command.send", "terminal:a", t0)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.FinishCommand(ctx, a.ID, "A6", true, "done", t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	bundle := func(id, terminal, command string, at time.Duration, size int) store.Diagnostics {
		return store.Diagnostics{ID: id, TerminalID: terminal, CommandID: command, ReceivedAt: t0.Add(at),
			Bundle: fmt.Appendf(nil, `{"logs":[],"pad":"%0*d"}`, size-20, 0)}
	}
	for _, tc := range []struct {
		name string
		d    store.Diagnostics
		want error
	}{
		{"no command", bundle("X1", a.ID, "", time.Minute, 100), store.ErrNotFound},
		{"unknown command", bundle("X2", a.ID, "NOPE", time.Minute, 100), store.ErrNotFound},
		{"another terminal's command", bundle("X3", a.ID, "B1", time.Minute, 100), store.ErrNotFound},
		{"another kind of command", bundle("X4", a.ID, "AM", time.Minute, 100), store.ErrNotFound},
		{"expired command", bundle("X5", a.ID, "AX", 2*time.Minute, 100), store.ErrCommandClosed},
		{"finished command", bundle("X6", a.ID, "A6", time.Minute, 100), store.ErrCommandClosed},
	} {
		if _, err := s.SaveDiagnostics(ctx, tc.d, keepAll); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if l, _ := s.DiagnosticsList(ctx, a.ID, 0); len(l) != 0 {
		t.Fatalf("refused bundles stored: %+v", l)
	}
	// The first bundle for a command wins; a repeat gets it back.
	first := bundle("D1", a.ID, "A1", time.Minute, 100)
	saveDiagnostics(t, s, first, keepAll)
	again, err := s.SaveDiagnostics(ctx, bundle("D1b", a.ID, "A1", 2*time.Minute, 200), keepAll)
	if err != nil || again.ID != "D1" || string(again.Bundle) != string(first.Bundle) || !again.ReceivedAt.Equal(first.ReceivedAt) {
		t.Errorf("second bundle for A1 = %s, %v; want D1 back", again.ID, err)
	}
	// Per terminal: the newest three stay.
	keep := store.DiagnosticsKeep{PerTerminal: 3, TotalBytes: 1 << 40}
	for i, c := range []string{"A2", "A3", "A4"} {
		saveDiagnostics(t, s, bundle(fmt.Sprint("D", i+2), a.ID, c, time.Duration(i+2)*time.Minute, 100), keep)
	}
	ids := func(terminal string) []string {
		l, err := s.DiagnosticsList(ctx, terminal, 0)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, d := range l {
			out = append(out, d.ID)
		}
		return out
	}
	if got := fmt.Sprint(ids(a.ID)); got != "[D4 D3 D2]" {
		t.Errorf("a's bundles = %s, want the newest three", got)
	}
	if _, err := s.Diagnostics(ctx, "D1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("pruned bundle D1: %v", err)
	}
	// In total: the oldest bundles of any terminal go first, the new one
	// stays even when it alone is over the limit.
	saveDiagnostics(t, s, bundle("E1", b.ID, "B1", 5*time.Minute, 100), keep)
	saveDiagnostics(t, s, bundle("D5", a.ID, "A5", 6*time.Minute, 250), store.DiagnosticsKeep{PerTerminal: 3, TotalBytes: 400})
	if got := fmt.Sprint(ids(a.ID), ids(b.ID)); got != "[D5] [E1]" {
		t.Errorf("after the total limit: %s, want [D5] [E1]", got)
	}
	saveDiagnostics(t, s, bundle("E2", b.ID, "B2", 7*time.Minute, 500), store.DiagnosticsKeep{PerTerminal: 3, TotalBytes: 400})
	if got := fmt.Sprint(ids(a.ID), ids(b.ID)); got != "[] [E2]" {
		t.Errorf("after a bundle over the total limit: %s, want [] [E2]", got)
	}
}
