package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

var alertAckTests = []struct {
	name string
	fn   func(t *testing.T, s store.Store)
}{
	{"AlertAck", testAlertAck},
	{"AlertMutes", testAlertMutes},
	{"AlertNoticesUnderMutes", testAlertNoticesUnderMutes},
	{"DiagnosticsList", testDiagnosticsList},
}

func openAlert(t *testing.T, s store.Store, id, term, kind string, at time.Time) {
	t.Helper()
	if opened, err := s.OpenAlert(context.Background(), store.Alert{ID: id, TerminalID: term, Kind: kind, FirstSeen: at, LastSeen: at}); err != nil || !opened {
		t.Fatalf("OpenAlert(%s) = %t, %v", id, opened, err)
	}
}

func entries(t *testing.T, s store.Store, f store.AlertFilter, now time.Time) map[string]store.AlertEntry {
	t.Helper()
	es, err := s.AlertEntries(context.Background(), f, now)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]store.AlertEntry{}
	for _, e := range es {
		m[e.ID] = e
	}
	return m
}

func testAlertAck(t *testing.T, s store.Store) {
	ctx := context.Background()
	term := enrol(t, s, "jst-1", 1)
	openAlert(t, s, "A1", term.ID, "paper_out", t0)
	openAlert(t, s, "A2", term.ID, "offline", t0)
	openAlert(t, s, "B1", "T-other", "paper_out", t0)
	ack := store.AlertAck{At: t0.Add(time.Minute), By: "anna", Note: "new roll on the way"}
	if err := s.AckAlert(ctx, term.ID, "A1", ack, who("alert.ack", "terminal:jst-1", ack.At)); err != nil {
		t.Fatal(err)
	}
	if err := s.AckAlert(ctx, term.ID, "B1", ack, who("alert.ack", "terminal:jst-1", ack.At)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ack of another terminal's alert: %v, want ErrNotFound", err)
	}
	if err := s.AckAlert(ctx, term.ID, "nope", ack, who("alert.ack", "terminal:jst-1", ack.At)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ack of an unknown alert: %v, want ErrNotFound", err)
	}
	es := entries(t, s, store.AlertFilter{TerminalID: term.ID}, t0.Add(time.Hour))
	if a := es["A1"]; !a.Acked() || a.Ack.By != "anna" || a.Ack.Note != "new roll on the way" || !a.Ack.At.Equal(ack.At) || a.State != store.AlertOpen || a.Muted {
		t.Errorf("acknowledged entry = %+v", a)
	}
	if a := es["A2"]; a.Acked() || a.Ack.By != "" {
		t.Errorf("other alert acknowledged too: %+v", a)
	}
	if len(es) != 2 {
		t.Errorf("entries of the terminal = %d, want 2", len(es))
	}
	// The acknowledged alert stays open until its condition clears.
	if r, err := s.ResolveAlert(ctx, term.ID, "paper_out", t0.Add(2*time.Hour)); err != nil || !r {
		t.Fatalf("resolve: %t, %v", r, err)
	}
	if err := s.AckAlert(ctx, term.ID, "A1", ack, who("alert.ack", "terminal:jst-1", ack.At)); !errors.Is(err, store.ErrAlertResolved) {
		t.Errorf("ack of a resolved alert: %v, want ErrAlertResolved", err)
	}
	openAlert(t, s, "A3", term.ID, "paper_out", t0.Add(3*time.Hour))
	es = entries(t, s, store.AlertFilter{TerminalID: term.ID, Kind: "paper_out"}, t0.Add(3*time.Hour))
	if a := es["A1"]; a.State != store.AlertResolved || !a.Acked() || !a.ResolvedAt.Equal(t0.Add(2*time.Hour)) {
		t.Errorf("resolved entry = %+v", a)
	}
	if a := es["A3"]; a.Acked() || a.State != store.AlertOpen {
		t.Errorf("a new occurrence carries the old acknowledgement: %+v", a)
	}
	open := entries(t, s, store.AlertFilter{State: store.AlertOpen, Limit: 1}, t0)
	if len(open) != 1 {
		t.Errorf("limit 1 gave %d", len(open))
	}
	au, err := s.AuditEntries(ctx, store.AuditFilter{Action: "alert.ack"})
	if err != nil || len(au) != 1 {
		t.Errorf("audit of acknowledgements = %+v, %v (only the one that succeeded)", au, err)
	}
}

func testAlertMutes(t *testing.T, s store.Store) {
	ctx := context.Background()
	term := enrol(t, s, "jst-1", 1)
	other := enrol(t, s, "jst-2", 2)
	openAlert(t, s, "A1", term.ID, "paper_out", t0)
	openAlert(t, s, "A2", term.ID, "offline", t0)
	openAlert(t, s, "B1", other.ID, "paper_out", t0)
	m1 := store.AlertMute{ID: "M1", TerminalID: term.ID, Kind: "paper_out", Reason: "roll ordered", CreatedAt: t0.Add(time.Minute), CreatedBy: "anna", Until: t0.Add(time.Hour)}
	if err := s.CreateAlertMute(ctx, m1, who("alert.mute", "terminal:jst-1", m1.CreatedAt)); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAlertMute(ctx, store.AlertMute{ID: "MX", TerminalID: "nope", CreatedAt: t0, Until: t0.Add(time.Hour)}, who("alert.mute", "x", t0)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("mute of an unknown terminal: %v, want ErrNotFound", err)
	}
	during := t0.Add(30 * time.Minute)
	es := entries(t, s, store.AlertFilter{}, during)
	if !es["A1"].Muted || es["A2"].Muted || es["B1"].Muted {
		t.Errorf("muted during a kind mute: A1 %t A2 %t B1 %t, want true false false", es["A1"].Muted, es["A2"].Muted, es["B1"].Muted)
	}
	for _, at := range []time.Time{t0, t0.Add(time.Hour)} { // before it started; at its end
		if es := entries(t, s, store.AlertFilter{}, at); es["A1"].Muted {
			t.Errorf("muted at %s, outside [start, until)", at.Sub(t0))
		}
	}
	// A terminal-wide mute covers every kind of that terminal only.
	m2 := store.AlertMute{ID: "M2", TerminalID: term.ID, Reason: "moving the terminal", CreatedAt: t0.Add(2 * time.Minute), CreatedBy: "ben", Until: t0.Add(24 * time.Hour)}
	if err := s.CreateAlertMute(ctx, m2, who("alert.mute", "terminal:jst-1", m2.CreatedAt)); err != nil {
		t.Fatal(err)
	}
	es = entries(t, s, store.AlertFilter{}, during)
	if !es["A1"].Muted || !es["A2"].Muted || es["B1"].Muted {
		t.Errorf("muted during a terminal mute: A1 %t A2 %t B1 %t, want true true false", es["A1"].Muted, es["A2"].Muted, es["B1"].Muted)
	}
	ms, err := s.AlertMutes(ctx, store.MuteFilter{TerminalID: term.ID, ActiveAt: during})
	if err != nil || len(ms) != 2 || ms[0].ID != "M2" || ms[1].ID != "M1" {
		t.Fatalf("active mutes = %+v, %v", ms, err)
	}
	if m := ms[1]; m.Kind != "paper_out" || m.Reason != "roll ordered" || m.CreatedBy != "anna" || !m.CreatedAt.Equal(m1.CreatedAt) || !m.Until.Equal(m1.Until) || !m.LiftedAt.IsZero() {
		t.Errorf("stored mute = %+v", m)
	}
	if ms, _ := s.AlertMutes(ctx, store.MuteFilter{ActiveAt: t0.Add(2 * time.Hour)}); len(ms) != 1 || ms[0].ID != "M2" {
		t.Errorf("active after the first expired = %+v", ms)
	}
	// Lifting ends a mute early; lifting again or an ended one is refused.
	lift := t0.Add(3 * time.Hour)
	if err := s.LiftAlertMute(ctx, other.ID, "M2", lift, "carl", who("alert.unmute", "terminal:jst-2", lift)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("lift through another terminal: %v, want ErrNotFound", err)
	}
	if err := s.LiftAlertMute(ctx, term.ID, "M2", lift, "carl", who("alert.unmute", "terminal:jst-1", lift)); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"M2", "M1"} {
		if err := s.LiftAlertMute(ctx, term.ID, id, lift.Add(time.Minute), "carl", who("alert.unmute", "terminal:jst-1", lift)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("lift ended mute %s: %v, want ErrNotFound", id, err)
		}
	}
	if es := entries(t, s, store.AlertFilter{}, lift.Add(time.Second)); es["A2"].Muted {
		t.Error("still muted after lifting")
	}
	if es := entries(t, s, store.AlertFilter{}, lift.Add(-time.Second)); !es["A2"].Muted {
		t.Error("lifting changed the past")
	}
	ms, _ = s.AlertMutes(ctx, store.MuteFilter{TerminalID: term.ID})
	if len(ms) != 2 || ms[0].LiftedBy != "carl" || !ms[0].LiftedAt.Equal(lift) || !ms[0].End().Equal(lift) || !ms[0].Until.Equal(m2.Until) {
		t.Errorf("lifted mute = %+v", ms)
	}
	au, _ := s.AuditEntries(ctx, store.AuditFilter{Action: "alert."})
	if len(au) != 3 {
		t.Errorf("audit entries for mutes = %d, want 3 (two mutes, one lift)", len(au))
	}
}

func testAlertNoticesUnderMutes(t *testing.T, s store.Store) {
	ctx := context.Background()
	term := enrol(t, s, "jst-1", 1)
	mute := store.AlertMute{ID: "M1", TerminalID: term.ID, Kind: "paper_out", CreatedAt: t0, Until: t0.Add(time.Hour)}
	if err := s.CreateAlertMute(ctx, mute, who("alert.mute", "terminal:jst-1", t0)); err != nil {
		t.Fatal(err)
	}
	// Opened under the mute, still open: waits for the mute's end.
	openAlert(t, s, "A-wait", term.ID, "paper_out", t0.Add(time.Minute))
	// Another kind: due now.
	openAlert(t, s, "B-due", term.ID, "offline", t0.Add(2*time.Minute))
	// Opened and resolved under the mute: suppressed.
	openAlert(t, s, "C-quiet", term.ID, "sensor_fault", t0.Add(3*time.Minute))
	// Opened and sent before a mute, resolved under it: the end is due.
	openAlert(t, s, "D-end", term.ID, "disk_low", t0.Add(4*time.Minute))
	if err := s.MarkAlertNotified(ctx, "D-end", false, t0.Add(4*time.Minute)); err != nil {
		t.Fatal(err)
	}
	m2 := store.AlertMute{ID: "M2", TerminalID: term.ID, CreatedAt: t0.Add(5 * time.Minute), Until: t0.Add(time.Hour)}
	if err := s.CreateAlertMute(ctx, m2, who("alert.mute", "terminal:jst-1", t0)); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"sensor_fault", "disk_low"} {
		if r, err := s.ResolveAlert(ctx, term.ID, k, t0.Add(10*time.Minute)); err != nil || !r {
			t.Fatalf("resolve %s: %t %v", k, r, err)
		}
	}
	pending := func(now time.Time) map[string]store.AlertNotice {
		t.Helper()
		ns, err := s.PendingAlertNotices(ctx, now, 100)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]store.AlertNotice{}
		for _, n := range ns {
			m[n.ID] = n
		}
		return m
	}
	// B-due is muted by M2 at now, but M2 started after it opened: still, a
	// mute active now holds back every unsent opening it covers.
	got := pending(t0.Add(20 * time.Minute))
	if _, ok := got["A-wait"]; ok {
		t.Error("an opening under an active mute is pending")
	}
	if _, ok := got["B-due"]; ok {
		t.Error("an unsent opening covered by the terminal mute is pending")
	}
	if n, ok := got["C-quiet"]; !ok || !n.Suppress {
		t.Errorf("resolved under the mute = %+v, %t; want suppressed", n, ok)
	}
	if n, ok := got["D-end"]; !ok || n.Suppress || n.NotifiedOpenAt.IsZero() {
		t.Errorf("resolution of a sent opening = %+v, %t; want due", n, ok)
	}
	// After the mutes end the openings still open are due.
	got = pending(t0.Add(time.Hour))
	for _, id := range []string{"A-wait", "B-due"} {
		if n, ok := got[id]; !ok || n.Suppress {
			t.Errorf("%s after the mute = %+v, %t; want due", id, n, ok)
		}
	}
	if ns, _ := s.PendingAlertNotices(ctx, t0.Add(time.Hour), 2); len(ns) != 2 || ns[0].ID != "A-wait" {
		t.Errorf("limit 2, oldest first = %+v", ns)
	}
	// Done notices are no longer pending.
	for _, id := range []string{"C-quiet", "D-end"} {
		for _, res := range []bool{false, true} {
			if err := s.MarkAlertNotified(ctx, id, res, t0.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
	}
	got = pending(t0.Add(time.Hour))
	_, c := got["C-quiet"]
	_, d := got["D-end"]
	if len(got) != 2 || c || d {
		t.Errorf("pending after marking = %v, want A-wait and B-due only", got)
	}
}

func testDiagnosticsList(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := enrol(t, s, "a", 1)
	b := enrol(t, s, "b", 2)
	bundles := []store.Diagnostics{
		{ID: "D1", TerminalID: a.ID, CommandID: "C1", ReceivedAt: t0, Bundle: []byte(`{"logs":[]}`)},
		{ID: "D2", TerminalID: a.ID, CommandID: "C2", ReceivedAt: t0.Add(30 * time.Minute), Bundle: []byte(`{"logs":[{"msg":"Grüße"}]}`)},
		{ID: "D3", TerminalID: b.ID, CommandID: "C3", ReceivedAt: t0, Bundle: []byte(`{}`)},
	}
	askDiagnostics(t, s, a.ID, "C1", "C2")
	askDiagnostics(t, s, b.ID, "C3")
	for _, d := range bundles {
		saveDiagnostics(t, s, d, keepAll)
	}
	got, err := s.DiagnosticsList(ctx, a.ID, 0)
	if err != nil || len(got) != 2 {
		t.Fatalf("DiagnosticsList = %+v, %v", got, err)
	}
	if got[0].ID != "D2" || got[0].Size != int64(len(bundles[1].Bundle)) || !got[0].ReceivedAt.Equal(t0.Add(30*time.Minute)) || got[0].TerminalID != a.ID {
		t.Errorf("newest = %+v, want D2 of %d bytes", got[0], len(bundles[1].Bundle))
	}
	if got[1].ID != "D1" || got[1].CommandID != "C1" || got[1].Size != int64(len(bundles[0].Bundle)) {
		t.Errorf("oldest = %+v", got[1])
	}
	if got, _ := s.DiagnosticsList(ctx, a.ID, 1); len(got) != 1 || got[0].ID != "D2" {
		t.Errorf("limit 1 = %+v", got)
	}
	if got, _ := s.DiagnosticsList(ctx, "nope", 0); len(got) != 0 {
		t.Errorf("unknown terminal = %+v", got)
	}
}
