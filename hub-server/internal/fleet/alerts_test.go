package fleet_test

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/fleet"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/sqlitestore"
)

var t0 = time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC)

func openStore(t *testing.T) *sqlitestore.Store {
	t.Helper()
	st, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "hub.db"), sqlitestore.Opts{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func enrol(t *testing.T, st store.Store, name string) store.Terminal {
	t.Helper()
	h := sha256.Sum256([]byte(name))
	if err := st.CreateEnrolToken(context.Background(), store.EnrolToken{Hash: h, TerminalName: name, Quarter: "Prohlis", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	term, err := st.Enroll(context.Background(), store.Enrolment{TokenHash: h, TerminalID: "T-" + name, PublicKey: make(ed25519.PublicKey, 32), Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	return term
}

type hook struct {
	mu     sync.Mutex
	events []fleet.WebhookAlert
	fail   int // answer 500 this many times
}

func (h *hook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.fail > 0 {
		h.fail--
		w.WriteHeader(500)
		return
	}
	var ev fleet.WebhookAlert
	if err := json.NewDecoder(r.Body).Decode(&ev); err != nil {
		w.WriteHeader(400)
		return
	}
	h.events = append(h.events, ev)
}

func (h *hook) got() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, e := range h.events {
		out = append(out, e.Event+" "+e.Alert.Kind+" "+e.Alert.Terminal)
	}
	return out
}

func openKinds(t *testing.T, st store.Store, terminal string) map[string]string {
	t.Helper()
	als, err := st.Alerts(context.Background(), store.AlertFilter{State: store.AlertOpen, TerminalID: terminal})
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, a := range als {
		if _, dup := m[a.Kind]; dup {
			t.Errorf("two open %s alerts", a.Kind)
		}
		m[a.Kind] = a.Detail
	}
	return m
}

func healthy() *api.Heartbeat {
	return &api.Heartbeat{
		Devices: []api.DeviceHealth{
			{Name: "printer", Kind: "escpos", State: "connected", Paper: "ok"},
			{Name: "card_reader", Kind: "rdm6300", State: "connected"},
			{Name: "pm-1", Kind: "sds011", State: "connected", LastReading: t0},
		},
		Outbox:        map[string]api.Backlog{"sensor": {Count: 10, OldestAgeSeconds: 30}},
		DiskFreeBytes: 8 << 30, DiskTotalBytes: 16 << 30,
	}
}

// Every kind opens once however often its condition is seen, resolves
// when it clears, and the webhook hears both.
func TestAlertsEachKind(t *testing.T) {
	st := openStore(t)
	term := enrol(t, st, "prohlis-1")
	ctx := context.Background()
	now := t0
	changes := 0
	ev := fleet.NewEvaluator(st, fleet.EvaluatorOpts{Now: func() time.Time { return now }, OnChange: func() { changes++ },
		Logger: slog.New(slog.DiscardHandler)})
	beat := func(hb *api.Heartbeat) {
		t.Helper()
		if err := ev.Heartbeat(ctx, term, hb, now); err != nil {
			t.Fatal(err)
		}
	}
	beat(healthy())
	if k := openKinds(t, st, term.ID); len(k) != 0 {
		t.Fatalf("alerts for a healthy terminal: %v", k)
	}
	cases := []struct {
		kind   string
		breaks func(*api.Heartbeat)
	}{
		{fleet.AlertPaperNearEnd, func(h *api.Heartbeat) { h.Devices[0].Paper = "near_end" }},
		{fleet.AlertPaperOut, func(h *api.Heartbeat) { h.Devices[0].Paper = "out" }},
		{fleet.AlertDeviceFault, func(h *api.Heartbeat) { h.Devices[1].State = "lost" }},
		{fleet.AlertSensorFault, func(h *api.Heartbeat) { h.Devices[2].State = "fault"; h.Devices[2].Error = "checksum" }},
		{fleet.AlertSensorSilent, func(h *api.Heartbeat) { h.Devices[2].LastReading = now.Add(-time.Hour) }},
		{fleet.AlertBacklogOld, func(h *api.Heartbeat) { h.Outbox["resident"] = api.Backlog{Count: 1, OldestAgeSeconds: 7200} }},
		{fleet.AlertDiskLow, func(h *api.Heartbeat) { h.DiskFreeBytes = 100 << 20 }},
	}
	for _, c := range cases {
		t.Run(c.kind, func(t *testing.T) {
			before := changes
			for range 3 { // seen three times: one alert
				now = now.Add(30 * time.Second)
				hb := healthy()
				for i := range hb.Devices {
					hb.Devices[i].LastReading = now
				}
				c.breaks(hb)
				beat(hb)
			}
			k := openKinds(t, st, term.ID)
			if _, ok := k[c.kind]; !ok || len(k) != 1 {
				t.Fatalf("open alerts %v, want only %s", k, c.kind)
			}
			if changes != before+1 {
				t.Errorf("%d changes for one alert", changes-before)
			}
			now = now.Add(30 * time.Second)
			hb := healthy()
			for i := range hb.Devices {
				hb.Devices[i].LastReading = now
			}
			beat(hb)
			if k := openKinds(t, st, term.ID); len(k) != 0 {
				t.Errorf("still open after recovery: %v", k)
			}
		})
	}

	hk := &hook{fail: 2}
	srv := httptest.NewServer(hk)
	defer srv.Close()
	n := fleet.NewNotifier(st, fleet.NotifierOpts{URL: srv.URL, Now: func() time.Time { return now }, Logger: slog.New(slog.DiscardHandler)})
	for i := 0; i < 2; i++ {
		if err := n.Round(ctx); err == nil {
			t.Fatal("round against a failing webhook succeeded")
		}
	}
	if err := n.Round(ctx); err != nil {
		t.Fatal(err)
	}
	got := hk.got()
	if len(got) != 2*len(cases) {
		t.Fatalf("webhook got %d events: %v", len(got), got)
	}
	for i, c := range cases {
		if got[2*i] != "alert.opened "+c.kind+" prohlis-1" || got[2*i+1] != "alert.resolved "+c.kind+" prohlis-1" {
			t.Errorf("events %d,%d = %q, %q", 2*i, 2*i+1, got[2*i], got[2*i+1])
		}
	}
	if err := n.Round(ctx); err != nil || len(hk.got()) != len(got) {
		t.Errorf("a second round sent again: %v", hk.got()[len(got):])
	}
}

func TestAlertBacklogGrowing(t *testing.T) {
	st := openStore(t)
	term := enrol(t, st, "t")
	ctx := context.Background()
	ev := fleet.NewEvaluator(st, fleet.EvaluatorOpts{Logger: slog.New(slog.DiscardHandler),
		Thresholds: fleet.Thresholds{BacklogGrowthWindow: 10 * time.Minute, BacklogGrowthMin: 100}})
	at := t0
	for i := range 25 { // +10 records a minute
		hb := healthy()
		hb.Devices[2].LastReading = at
		hb.Outbox["sensor"] = api.Backlog{Count: int64(10 + 10*i), OldestAgeSeconds: 60}
		if err := ev.Heartbeat(ctx, term, hb, at); err != nil {
			t.Fatal(err)
		}
		_, open := openKinds(t, st, term.ID)[fleet.AlertBacklogGrowing]
		if want := i >= 10; open != want {
			t.Fatalf("minute %d: backlog_growing open = %v, want %v", i, open, want)
		}
		at = at.Add(time.Minute)
	}
	// Partly drained, still above where it started to grow: the alert
	// stays open although the growth alone would no longer raise it.
	hb := healthy()
	hb.Devices[2].LastReading = at
	hb.Outbox["sensor"] = api.Backlog{Count: 50, OldestAgeSeconds: 60}
	if err := ev.Heartbeat(ctx, term, hb, at); err != nil {
		t.Fatal(err)
	}
	if _, open := openKinds(t, st, term.ID)[fleet.AlertBacklogGrowing]; !open {
		t.Error("backlog_growing resolved while the backlog is still above its base")
	}
	at = at.Add(time.Minute)
	hb = healthy()
	hb.Devices[2].LastReading = at
	hb.Outbox["sensor"] = api.Backlog{Count: 5}
	if err := ev.Heartbeat(ctx, term, hb, at); err != nil {
		t.Fatal(err)
	}
	if k := openKinds(t, st, term.ID); len(k) != 0 {
		t.Errorf("open after draining: %v", k)
	}
}

func TestAlertOfflineAndRevoked(t *testing.T) {
	st := openStore(t)
	a, b := enrol(t, st, "a"), enrol(t, st, "b")
	ctx := context.Background()
	now := t0
	ev := fleet.NewEvaluator(st, fleet.EvaluatorOpts{Now: func() time.Time { return now }, Logger: slog.New(slog.DiscardHandler),
		Thresholds: fleet.Thresholds{OfflineAfter: 10 * time.Minute, RevokedQuietAfter: time.Hour}})
	if _, err := st.SaveHeartbeats(ctx, []store.HeartbeatWrite{{TerminalID: a.ID, At: now, Digest: "x", State: []byte(`{}`)}}, time.Minute); err != nil {
		t.Fatal(err)
	}
	now = now.Add(5 * time.Minute)
	if err := ev.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if len(openKinds(t, st, a.ID)) != 0 {
		t.Error("offline after 5 minutes")
	}
	now = now.Add(10 * time.Minute)
	for range 3 {
		if err := ev.Tick(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok := openKinds(t, st, a.ID)[fleet.AlertOffline]; !ok {
		t.Error("no offline alert after 15 minutes")
	}
	if _, ok := openKinds(t, st, b.ID)[fleet.AlertOffline]; !ok {
		t.Error("a never-seen terminal enrolled long ago is not offline")
	}
	term, _ := st.Terminal(ctx, a.ID)
	if err := ev.Heartbeat(ctx, term, healthy(), now); err != nil {
		t.Fatal(err)
	}
	if _, ok := openKinds(t, st, a.ID)[fleet.AlertOffline]; ok {
		t.Error("offline alert not resolved by a heartbeat")
	}
	// Revoked but calling: opens on the call, resolves after an hour of quiet.
	if err := st.RevokeTerminal(ctx, b.ID, now); err != nil {
		t.Fatal(err)
	}
	rb, _ := st.Terminal(ctx, b.ID)
	if err := ev.RevokedCall(ctx, rb, now); err != nil {
		t.Fatal(err)
	}
	if err := ev.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	k := openKinds(t, st, b.ID)
	if _, ok := k[fleet.AlertRevokedCalling]; !ok {
		t.Errorf("revoked_calling not open: %v", k)
	}
	if _, ok := k[fleet.AlertOffline]; ok {
		t.Error("a revoked terminal is alerted as offline")
	}
	now = now.Add(2 * time.Hour)
	if err := ev.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := openKinds(t, st, b.ID)[fleet.AlertRevokedCalling]; ok {
		t.Error("revoked_calling not resolved after quiet")
	}
	// A new evaluator (hub restart) knows the open alerts: no duplicate.
	ev2 := fleet.NewEvaluator(st, fleet.EvaluatorOpts{Now: func() time.Time { return now }, Logger: slog.New(slog.DiscardHandler)})
	now = now.Add(time.Hour)
	if err := ev2.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	openKinds(t, st, a.ID) // fails on two open alerts of a kind
}

// An alert another part raises (rollout_halted) opens once, survives the
// terminal's healthy heartbeats and ticks, and resolves only by Resolve.
func TestAlertRaisedByAnotherPart(t *testing.T) {
	st := openStore(t)
	term := enrol(t, st, "gorbitz-1")
	ctx := context.Background()
	now := t0
	changes := 0
	ev := fleet.NewEvaluator(st, fleet.EvaluatorOpts{Now: func() time.Time { return now }, OnChange: func() { changes++ },
		Logger: slog.New(slog.DiscardHandler)})
	for range 2 {
		if err := ev.Raise(ctx, term.ID, fleet.AlertRolloutHalted, "rollout R1 halted", now); err != nil {
			t.Fatal(err)
		}
	}
	if err := ev.Heartbeat(ctx, term, healthy(), now); err != nil {
		t.Fatal(err)
	}
	if err := ev.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if k := openKinds(t, st, term.ID); len(k) != 1 || k[fleet.AlertRolloutHalted] != "rollout R1 halted" || changes != 1 {
		t.Fatalf("open %v after %d changes, want the rollout_halted alert opened once", k, changes)
	}
	if err := ev.Resolve(ctx, term.ID, fleet.AlertRolloutHalted, now); err != nil {
		t.Fatal(err)
	}
	if k := openKinds(t, st, term.ID); len(k) != 0 || changes != 2 {
		t.Fatalf("open %v after resolve (%d changes)", k, changes)
	}
}
