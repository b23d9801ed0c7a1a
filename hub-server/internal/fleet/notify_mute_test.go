package fleet_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/fleet"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// TestNotifierHonoursMutes: muted alerts still open and resolve in the
// store, but the webhook hears only what the mute rules allow.
func TestNotifierHonoursMutes(t *testing.T) {
	st := openStore(t)
	term := enrol(t, st, "prohlis-1")
	ctx := context.Background()
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	mute := func(id, kind string, from time.Duration) {
		t.Helper()
		m := store.AlertMute{ID: id, TerminalID: term.ID, Kind: kind, Reason: "test", CreatedAt: at(from), CreatedBy: "anna", Until: at(time.Hour)}
		if err := st.CreateAlertMute(ctx, m, store.Audit{At: at(from), Actor: "anna", Action: "alert.mute"}); err != nil {
			t.Fatal(err)
		}
	}
	open := func(id, kind string, d time.Duration) {
		t.Helper()
		if _, err := st.OpenAlert(ctx, store.Alert{ID: id, TerminalID: term.ID, Kind: kind, FirstSeen: at(d), LastSeen: at(d)}); err != nil {
			t.Fatal(err)
		}
	}
	resolve := func(kind string, d time.Duration) {
		t.Helper()
		if ok, err := st.ResolveAlert(ctx, term.ID, kind, at(d)); err != nil || !ok {
			t.Fatalf("resolve %s: %t %v", kind, ok, err)
		}
	}
	hk := &hook{}
	srv := httptest.NewServer(hk)
	defer srv.Close()
	now := t0
	n := fleet.NewNotifier(st, fleet.NotifierOpts{URL: srv.URL, Now: func() time.Time { return now }, Logger: slog.New(slog.DiscardHandler)})
	round := func(d time.Duration, want ...string) {
		t.Helper()
		before := len(hk.got())
		now = at(d)
		if err := n.Round(ctx); err != nil {
			t.Fatal(err)
		}
		if got := hk.got()[before:]; !slices.Equal(got, want) {
			t.Errorf("round at +%s sent %q, want %q", d, got, want)
		}
	}

	mute("M1", fleet.AlertPaperOut, 0)
	open("A1", fleet.AlertPaperOut, time.Minute)
	open("A2", fleet.AlertOffline, time.Minute)
	round(2*time.Minute, "alert.opened offline prohlis-1")

	mute("M2", "", 3*time.Minute) // the whole terminal
	open("A3", fleet.AlertSensorFault, 4*time.Minute)
	resolve(fleet.AlertSensorFault, 5*time.Minute)
	resolve(fleet.AlertOffline, 6*time.Minute)
	// The end of the announced offline alert is sent; the fault that came
	// and went under the mute is not.
	round(10*time.Minute, "alert.resolved offline prohlis-1")

	// The paper is still out when the mutes end: now it is announced.
	round(time.Hour, "alert.opened paper_out prohlis-1")
	round(time.Hour + time.Minute)

	es, err := st.AlertEntries(ctx, store.AlertFilter{TerminalID: term.ID}, at(time.Hour))
	if err != nil || len(es) != 3 {
		t.Fatalf("alerts in the store = %+v, %v; muted alerts are still recorded", es, err)
	}
}
