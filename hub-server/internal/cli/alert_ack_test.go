package cli_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// TestAlertAckMuteCLI: the console's acknowledge and mute, from the
// command line, in the same store and audit log.
func TestAlertAckMuteCLI(t *testing.T) {
	now := time.Now()
	ctx := context.Background()
	data, st, term := hubWithTerminal(t, now)
	defer st.Close()
	if _, err := st.OpenAlert(ctx, store.Alert{ID: "A1", TerminalID: term.ID, Kind: "paper_out", FirstSeen: now, LastSeen: now}); err != nil {
		t.Fatal(err)
	}
	if _, errs, code := runIn(t, "", "alert", "ack", "--data", data, "--terminal", "jst-1", "--kind", "disk_low"); code != 1 || !strings.Contains(errs, "no open alert") {
		t.Errorf("ack of a kind that is not open: %d %s", code, errs)
	}
	if out, errs, code := runIn(t, "", "alert", "ack", "--data", data, "--terminal", "jst-1", "--kind", "paper_out", "--note", "roll ordered"); code != 0 || !strings.Contains(out, "acknowledged paper_out A1") {
		t.Fatalf("ack: %d %s %s", code, out, errs)
	}
	es, _ := st.AlertEntries(ctx, store.AlertFilter{TerminalID: term.ID}, time.Now())
	if len(es) != 1 || es[0].Ack.By != "root" || es[0].Ack.Note != "roll ordered" || es[0].State != store.AlertOpen {
		t.Errorf("after ack: %+v", es)
	}
	if _, _, code := runIn(t, "", "alert", "mute", "--data", data, "--terminal", "jst-1", "--for", "2h"); code != 2 {
		t.Errorf("mute without a reason: exit %d, want 2 (usage)", code)
	}
	out, errs, code := runIn(t, "", "alert", "mute", "--data", data, "--terminal", "jst-1", "--kind", "paper_out", "--for", "2h", "--reason", "waiting for paper")
	if code != 0 || !strings.Contains(out, "muted paper_out of jst-1") {
		t.Fatalf("mute: %d %s %s", code, out, errs)
	}
	ms, _ := st.AlertMutes(ctx, store.MuteFilter{TerminalID: term.ID, ActiveAt: time.Now()})
	if len(ms) != 1 || ms[0].Kind != "paper_out" || ms[0].Reason != "waiting for paper" || ms[0].CreatedBy != "root" {
		t.Fatalf("stored mutes: %+v", ms)
	}
	if out, _, _ := runIn(t, "", "alert", "list", "--data", data); !strings.Contains(out, "root") || !strings.Contains(out, "muted") {
		t.Errorf("alert list does not show acknowledgement and mute:\n%s", out)
	}
	if out, _, _ := runIn(t, "", "alert", "unmute", "--data", data, "--terminal", "jst-1"); !strings.Contains(out, ms[0].ID) {
		t.Errorf("active mutes:\n%s", out)
	}
	if out, errs, code := runIn(t, "", "alert", "unmute", "--data", data, "--terminal", "jst-1", "--id", ms[0].ID); code != 0 || !strings.Contains(out, "lifted") {
		t.Fatalf("unmute: %d %s %s", code, out, errs)
	}
	if ms, _ := st.AlertMutes(ctx, store.MuteFilter{TerminalID: term.ID, ActiveAt: time.Now()}); len(ms) != 0 {
		t.Errorf("still muted: %+v", ms)
	}
	au, _ := st.AuditEntries(ctx, store.AuditFilter{Action: "alert.", Subject: "terminal:jst-1"})
	if len(au) != 3 {
		t.Errorf("audit entries = %+v, want ack, mute, unmute", au)
	}
}

// TestUnknownTerminal: every command that names one terminal refuses a
// name no terminal has, with the same message.
func TestUnknownTerminal(t *testing.T) {
	data := filepath.Join(t.TempDir(), "hub")
	if err := mkHub(data); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"terminal", "tag", "--tags", "a"},
		{"terminal", "show"},
		{"alert", "ack", "--id", "01ARZ3NDEKTSV4RRFFQ69G5FAV"},
		{"alert", "mute", "--for", "1h", "--reason", "works"},
		{"alert", "unmute"},
		{"alert", "list"},
		{"command", "list"},
	} {
		args = append(args, "--data", data, "--terminal", "nope")
		if _, errs, code := runIn(t, "", args...); code != 1 || !strings.Contains(errs, `no terminal named "nope"`) {
			t.Errorf("%s: exit %d, %s", strings.Join(args[:2], " "), code, errs)
		}
	}
}
