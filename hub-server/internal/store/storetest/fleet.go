package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

var fleetTests = []struct {
	name string
	fn   func(t *testing.T, s store.Store)
}{
	{"TagsAndByName", testTags},
	{"HeartbeatCurrentState", testHeartbeatCurrent},
	{"HeartbeatHistoryOnChangeAndSample", testHeartbeatHistory},
	{"HeartbeatUnknownTerminalSkipped", testHeartbeatUnknown},
	{"HistoryPrune", testHistoryPrune},
	{"ConfigLayersVersioned", testConfigLayers},
	{"CommandsLifecycle", testCommandsLifecycle},
	{"CommandsPerTerminal", testCommandsPerTerminal},
	{"CommandsExpire", testCommandsExpire},
	{"Diagnostics", testDiagnostics},
	{"DiagnosticsOnlyAskedAndBounded", testDiagnosticsBounded},
	{"ScreenshotsOnlyAskedAndBounded", testScreenshotsBounded},
	{"AlertsDedupeResolveNotify", testAlerts},
	{"AuditLog", testAuditLog},
}

func who(action, subject string, at time.Time) store.Audit {
	return store.Audit{At: at, Actor: "it-staff", Action: action, Subject: subject}
}

func testTags(t *testing.T, s store.Store) {
	ctx := context.Background()
	term := enrol(t, s, "jst-1", 1)
	if err := s.SetTerminalTags(ctx, term.ID, []string{"Pilot", "library", "pilot", " "}, who("terminal.tag", "jst-1", t0)); err != nil {
		t.Fatal(err)
	}
	got, err := s.TerminalByName(ctx, "jst-1")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != term.ID || !slices.Equal(got.Tags, []string{"library", "pilot"}) {
		t.Errorf("TerminalByName = %+v, want tags [library pilot]", got)
	}
	if err := s.SetTerminalTags(ctx, term.ID, nil, who("terminal.tag", "jst-1", t0)); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Terminal(ctx, term.ID); len(got.Tags) != 0 {
		t.Errorf("tags after clearing = %v", got.Tags)
	}
	if err := s.SetTerminalTags(ctx, term.ID, []string{"a,b"}, who("terminal.tag", "jst-1", t0)); err == nil {
		t.Error("a tag with a comma was accepted")
	}
	if err := s.SetTerminalTags(ctx, "nope", []string{"x"}, who("terminal.tag", "nope", t0)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("tags of an unknown terminal: %v", err)
	}
	if _, err := s.TerminalByName(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("TerminalByName(unknown) = %v", err)
	}
}

func hb(id string, at time.Time, digest string) store.HeartbeatWrite {
	return store.HeartbeatWrite{TerminalID: id, At: at, Digest: digest, SoftwareVersion: "2.0.0",
		State: fmt.Appendf(nil, `{"digest":%q,"at":%d}`, digest, at.Unix())}
}

func saveHB(t *testing.T, s store.Store, sample time.Duration, ws ...store.HeartbeatWrite) []bool {
	t.Helper()
	h, err := s.SaveHeartbeats(context.Background(), ws, sample)
	if err != nil {
		t.Fatalf("SaveHeartbeats: %v", err)
	}
	if len(h) != len(ws) {
		t.Fatalf("SaveHeartbeats returned %d flags for %d writes", len(h), len(ws))
	}
	return h
}

func testHeartbeatCurrent(t *testing.T, s store.Store) {
	ctx := context.Background()
	a, b := enrol(t, s, "a", 1), enrol(t, s, "b", 2)
	if _, err := s.Health(ctx, a.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("health before any heartbeat: %v", err)
	}
	at := t0.Add(2 * time.Hour)
	saveHB(t, s, time.Hour, hb(a.ID, at, "x"), hb(b.ID, at, "y"), hb(a.ID, at.Add(time.Second), "z"))
	h, err := s.Health(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !h.ReceivedAt.Equal(at.Add(time.Second)) || h.Digest != "z" || h.SoftwareVersion != "2.0.0" ||
		string(h.State) != string(hb(a.ID, at.Add(time.Second), "z").State) {
		t.Errorf("health of a = %+v (state %s)", h, h.State)
	}
	term, err := s.Terminal(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !term.LastSeenAt.Equal(at.Add(time.Second)) || term.SoftwareVersion != "2.0.0" {
		t.Errorf("terminal after heartbeat: last seen %v version %q", term.LastSeenAt, term.SoftwareVersion)
	}
	// A later upload moves last-seen past the heartbeat.
	if err := s.TouchTerminal(ctx, a.ID, at.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if term, _ := s.Terminal(ctx, a.ID); !term.LastSeenAt.Equal(at.Add(time.Minute)) {
		t.Errorf("last seen after a later touch = %v", term.LastSeenAt)
	}
	all, err := s.Healths(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 {
		t.Errorf("Healths: %d rows, want 2", len(all))
	}
}

func testHeartbeatHistory(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := enrol(t, s, "a", 1)
	sample := 10 * time.Minute
	at := t0.Add(time.Hour)
	// first: history; same digest within the sample interval: none;
	// changed digest: history; same again after the interval: sample.
	steps := []struct {
		after  time.Duration
		digest string
		hist   bool
	}{
		{0, "ok", true},
		{30 * time.Second, "ok", false},
		{60 * time.Second, "ok", false},
		{90 * time.Second, "paper-out", true},
		{120 * time.Second, "paper-out", false},
		{90*time.Second + sample, "paper-out", true},
		{90*time.Second + sample + 30*time.Second, "paper-out", false},
		{90*time.Second + sample + 60*time.Second, "ok", true},
	}
	for i, st := range steps {
		h := saveHB(t, s, sample, hb(a.ID, at.Add(st.after), st.digest))
		if h[0] != st.hist {
			t.Errorf("step %d (%s at +%v): history written = %v, want %v", i, st.digest, st.after, h[0], st.hist)
		}
	}
	hist, err := s.HealthHistory(ctx, a.ID, time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var reasons []string
	for _, h := range hist {
		reasons = append(reasons, h.Reason)
	}
	if want := []string{"first", "change", "sample", "change"}; !slices.Equal(reasons, want) {
		t.Errorf("history reasons = %v, want %v", reasons, want)
	}
	if len(hist) == 4 && !hist[1].At.Equal(at.Add(90*time.Second)) {
		t.Errorf("change row at %v", hist[1].At)
	}
	if lim, _ := s.HealthHistory(ctx, a.ID, at.Add(time.Minute), 2); len(lim) != 2 || lim[0].Reason != "change" {
		t.Errorf("history since +1m limit 2 = %+v", lim)
	}
}

func testHeartbeatUnknown(t *testing.T, s store.Store) {
	a := enrol(t, s, "a", 1)
	h := saveHB(t, s, time.Minute, hb("nope", t0, "x"), hb(a.ID, t0, "x"))
	if h[0] || !h[1] {
		t.Errorf("history flags %v, want [false true]", h)
	}
	if _, err := s.Health(context.Background(), "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("health stored for an unknown terminal: %v", err)
	}
}

func testHistoryPrune(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := enrol(t, s, "a", 1)
	for i := range 10 {
		saveHB(t, s, time.Minute, hb(a.ID, t0.Add(time.Duration(i)*time.Hour), fmt.Sprint(i)))
	}
	n, err := s.PruneHealthHistory(ctx, t0.Add(7*time.Hour))
	if err != nil || n != 7 {
		t.Errorf("PruneHealthHistory = %d, %v; want 7", n, err)
	}
	hist, _ := s.HealthHistory(ctx, a.ID, time.Time{}, 0)
	if len(hist) != 3 || !hist[0].At.Equal(t0.Add(7*time.Hour)) {
		t.Errorf("after pruning: %d rows", len(hist))
	}
	if h, err := s.Health(ctx, a.ID); err != nil || h.Digest != "9" {
		t.Errorf("current health after pruning: %+v, %v", h, err)
	}
}

func testConfigLayers(t *testing.T, s store.Store) {
	ctx := context.Background()
	g0, err := s.ConfigGeneration(ctx)
	if err != nil {
		t.Fatal(err)
	}
	put := func(scope, doc string) int64 {
		t.Helper()
		v, err := s.PutConfigLayer(ctx, scope, []byte(doc), who("config.set", scope, t0))
		if err != nil {
			t.Fatalf("PutConfigLayer(%s): %v", scope, err)
		}
		return v
	}
	if v := put("global", `{"settings":{"heartbeat_interval":"30s"}}`); v != 1 {
		t.Errorf("first global version = %d", v)
	}
	g1, _ := s.ConfigGeneration(ctx)
	if g1 == g0 {
		t.Error("generation did not change after a put")
	}
	put("quarter:Johannstadt", `{"content":{}}`)
	if v := put("global", `{"settings":{"heartbeat_interval":"60s"}}`); v != 2 {
		t.Errorf("second global version = %d", v)
	}
	layers, err := s.ConfigLayers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 2 || layers[0].Scope != "global" || layers[0].Version != 2 ||
		string(layers[0].Document) != `{"settings":{"heartbeat_interval":"60s"}}` || layers[0].CreatedBy != "it-staff" ||
		layers[1].Scope != "quarter:Johannstadt" {
		t.Errorf("ConfigLayers = %+v", layers)
	}
	if _, err := s.PutConfigLayer(ctx, "planet:x", []byte(`{}`), who("config.set", "x", t0)); err == nil {
		t.Error("an invalid scope was accepted")
	}
}

func cmd(id, terminal, kind string, created time.Time, ttl time.Duration) store.Command {
	return store.Command{ID: id, GroupID: "G-" + id, TerminalID: terminal, Kind: kind, Target: "terminal:x",
		CreatedAt: created, CreatedBy: "it-staff", ExpiresAt: created.Add(ttl)}
}

func testCommandsLifecycle(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := enrol(t, s, "a", 1)
	c1, c2 := cmd("C1", a.ID, api.CommandSyncNow, t0, time.Hour), cmd("C2", a.ID, api.CommandMaintenanceOn, t0.Add(time.Second), time.Hour)
	c2.Message = "Wartung bis 14 Uhr"
	if err := s.CreateCommands(ctx, []store.Command{c2, c1}, who("command.send", "terminal:a", t0)); err != nil {
		t.Fatal(err)
	}
	open, err := s.OpenCommands(ctx, a.ID, t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if len(open) != 2 || open[0].ID != "C1" || open[1].ID != "C2" || open[0].State != api.CommandQueued || open[1].Message != c2.Message {
		t.Fatalf("open commands = %+v", open)
	}
	got, err := s.AckCommand(ctx, a.ID, "C1", t0.Add(2*time.Minute))
	if err != nil || got.State != api.CommandDelivered || !got.DeliveredAt.Equal(t0.Add(2*time.Minute)) {
		t.Fatalf("ack = %+v, %v", got, err)
	}
	if got, err := s.AckCommand(ctx, a.ID, "C1", t0.Add(3*time.Minute)); err != nil || !got.DeliveredAt.Equal(t0.Add(2*time.Minute)) {
		t.Errorf("second ack = %+v, %v (want unchanged)", got, err)
	}
	got, err = s.FinishCommand(ctx, a.ID, "C1", true, "synced 3 records", t0.Add(4*time.Minute))
	if err != nil || got.State != api.CommandDone || got.Result != "synced 3 records" {
		t.Fatalf("finish = %+v, %v", got, err)
	}
	if _, err := s.FinishCommand(ctx, a.ID, "C1", true, "again", t0.Add(5*time.Minute)); err != nil {
		t.Errorf("repeated identical result: %v", err)
	}
	if _, err := s.FinishCommand(ctx, a.ID, "C1", false, "contradiction", t0.Add(5*time.Minute)); !errors.Is(err, store.ErrCommandClosed) {
		t.Errorf("contradicting result: %v", err)
	}
	if _, err := s.AckCommand(ctx, a.ID, "C1", t0.Add(5*time.Minute)); !errors.Is(err, store.ErrCommandClosed) {
		t.Errorf("ack of a finished command: %v", err)
	}
	// A result without an ack counts as delivered too.
	if got, err := s.FinishCommand(ctx, a.ID, "C2", false, "no screen", t0.Add(6*time.Minute)); err != nil || got.State != api.CommandFailed || got.DeliveredAt.IsZero() {
		t.Errorf("finish without ack = %+v, %v", got, err)
	}
	if open, _ := s.OpenCommands(ctx, a.ID, t0.Add(7*time.Minute)); len(open) != 0 {
		t.Errorf("open after finishing: %+v", open)
	}
	list, err := s.Commands(ctx, store.CommandFilter{TerminalID: a.ID})
	if err != nil || len(list) != 2 || list[0].ID != "C2" {
		t.Errorf("Commands newest first = %+v, %v", list, err)
	}
	if list, _ := s.Commands(ctx, store.CommandFilter{State: api.CommandDone}); len(list) != 1 || list[0].ID != "C1" {
		t.Errorf("Commands(done) = %+v", list)
	}
}

func testCommandsPerTerminal(t *testing.T, s store.Store) {
	ctx := context.Background()
	a, b := enrol(t, s, "a", 1), enrol(t, s, "b", 2)
	if err := s.CreateCommands(ctx, []store.Command{cmd("CA", a.ID, api.CommandRestart, t0, time.Hour)}, who("command.send", "a", t0)); err != nil {
		t.Fatal(err)
	}
	if open, _ := s.OpenCommands(ctx, b.ID, t0); len(open) != 0 {
		t.Errorf("b sees a's commands: %+v", open)
	}
	if _, err := s.AckCommand(ctx, b.ID, "CA", t0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("b acks a's command: %v", err)
	}
	if _, err := s.FinishCommand(ctx, b.ID, "CA", true, "", t0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("b finishes a's command: %v", err)
	}
	if open, _ := s.OpenCommands(ctx, a.ID, t0); len(open) != 1 || open[0].State != api.CommandQueued {
		t.Errorf("a's command after b's attempts: %+v", open)
	}
}

func testCommandsExpire(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := enrol(t, s, "a", 1)
	cmds := []store.Command{cmd("E1", a.ID, api.CommandSyncNow, t0, time.Hour), cmd("E2", a.ID, api.CommandSyncNow, t0, 3*time.Hour),
		cmd("E3", a.ID, api.CommandSyncNow, t0, time.Hour)}
	if err := s.CreateCommands(ctx, cmds, who("command.send", "a", t0)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AckCommand(ctx, a.ID, "E3", t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if open, _ := s.OpenCommands(ctx, a.ID, t0.Add(2*time.Hour)); len(open) != 1 || open[0].ID != "E2" {
		t.Errorf("open past E1's expiry: %+v", open)
	}
	if _, err := s.AckCommand(ctx, a.ID, "E1", t0.Add(2*time.Hour)); !errors.Is(err, store.ErrCommandClosed) {
		t.Errorf("ack after expiry: %v", err)
	}
	n, err := s.ExpireCommands(ctx, t0.Add(2*time.Hour))
	if err != nil || n != 1 { // E1 was already expired by the late ack; E3 (delivered) now
		t.Errorf("ExpireCommands = %d, %v; want 1", n, err)
	}
	exp, _ := s.Commands(ctx, store.CommandFilter{State: api.CommandExpired})
	if len(exp) != 2 {
		t.Errorf("expired commands = %+v", exp)
	}
}

func testDiagnostics(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := enrol(t, s, "a", 1)
	askDiagnostics(t, s, a.ID, "C1")
	saveDiagnostics(t, s, store.Diagnostics{ID: "D1", TerminalID: a.ID, CommandID: "C1", ReceivedAt: t0, Bundle: []byte(`{"logs":[]}`)}, keepAll)
	got, err := s.Diagnostics(ctx, "D1")
	if err != nil || got.TerminalID != a.ID || got.CommandID != "C1" || !got.ReceivedAt.Equal(t0) || string(got.Bundle) != `{"logs":[]}` {
		t.Errorf("Diagnostics = %+v, %v", got, err)
	}
	if _, err := s.Diagnostics(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown diagnostics: %v", err)
	}
}

func testAlerts(t *testing.T, s store.Store) {
	ctx := context.Background()
	open := func(id, term, kind, detail string, at time.Time) bool {
		t.Helper()
		opened, err := s.OpenAlert(ctx, store.Alert{ID: id, TerminalID: term, Kind: kind, Detail: detail, FirstSeen: at, LastSeen: at})
		if err != nil {
			t.Fatalf("OpenAlert: %v", err)
		}
		return opened
	}
	if !open("A1", "T1", "paper_out", "paper out", t0) {
		t.Error("first alert not opened")
	}
	if open("A2", "T1", "paper_out", "still out", t0.Add(time.Minute)) {
		t.Error("second open of the same terminal+kind opened a new alert")
	}
	if !open("A3", "T2", "paper_out", "paper out", t0) || !open("A4", "T1", "offline", "", t0) {
		t.Error("other terminal or kind not opened")
	}
	al, err := s.Alerts(ctx, store.AlertFilter{State: store.AlertOpen, TerminalID: "T1", Kind: "paper_out"})
	if err != nil || len(al) != 1 || al[0].ID != "A1" || al[0].Detail != "still out" || !al[0].LastSeen.Equal(t0.Add(time.Minute)) || !al[0].FirstSeen.Equal(t0) {
		t.Fatalf("deduplicated alert = %+v, %v", al, err)
	}
	un, _ := s.UnnotifiedAlerts(ctx, 10)
	if len(un) != 3 {
		t.Errorf("unnotified = %d, want 3", len(un))
	}
	if err := s.MarkAlertNotified(ctx, "A1", false, t0); err != nil {
		t.Fatal(err)
	}
	if r, err := s.ResolveAlert(ctx, "T1", "paper_out", t0.Add(time.Hour)); err != nil || !r {
		t.Errorf("resolve = %v, %v", r, err)
	}
	if r, _ := s.ResolveAlert(ctx, "T1", "paper_out", t0.Add(time.Hour)); r {
		t.Error("resolving twice resolved something")
	}
	un, _ = s.UnnotifiedAlerts(ctx, 10)
	var a1 *store.Alert
	for i := range un {
		if un[i].ID == "A1" {
			a1 = &un[i]
		}
	}
	if a1 == nil || a1.State != store.AlertResolved || a1.NotifiedOpenAt.IsZero() || !a1.ResolvedAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("resolved A1 in unnotified = %+v", a1)
	}
	if err := s.MarkAlertNotified(ctx, "A1", true, t0); err != nil {
		t.Fatal(err)
	}
	if !open("A5", "T1", "paper_out", "out again", t0.Add(2*time.Hour)) {
		t.Error("a new alert after resolution was not opened")
	}
	all, _ := s.Alerts(ctx, store.AlertFilter{TerminalID: "T1", Kind: "paper_out"})
	if len(all) != 2 || all[0].ID != "A5" || all[1].State != store.AlertResolved {
		t.Errorf("history of T1 paper_out = %+v", all)
	}
	if err := s.MarkAlertNotified(ctx, "nope", false, t0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("mark unknown: %v", err)
	}
}

func testAuditLog(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := enrol(t, s, "a", 1)
	if _, err := s.PutConfigLayer(ctx, "global", []byte(`{}`), who("config.set", "global", t0)); err != nil {
		t.Fatal(err)
	}
	if err := s.SetTerminalTags(ctx, a.ID, []string{"x"}, who("terminal.tag", "a", t0.Add(time.Second))); err != nil {
		t.Fatal(err)
	}
	log, err := s.AuditLog(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 2 || log[0].Action != "terminal.tag" || log[1].Action != "config.set" || log[1].Actor != "it-staff" || log[1].Subject != "global" {
		t.Errorf("audit log = %+v", log)
	}
}
