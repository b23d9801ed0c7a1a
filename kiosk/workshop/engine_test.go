package workshop_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/internal/fakehub"
	"github.com/quartierhub/quartierhub/internal/testutil"
	ws "github.com/quartierhub/quartierhub/internal/workshop"
	"github.com/quartierhub/quartierhub/kiosk/hubsync"
	"github.com/quartierhub/quartierhub/kiosk/outbox"
	"github.com/quartierhub/quartierhub/kiosk/receipt"
	kws "github.com/quartierhub/quartierhub/kiosk/workshop"
)

const workshopID = "spielplatz"

var cardKey = []byte("the deployment's card key, 32 b")

func testSpec() ws.Spec {
	return ws.Spec{
		Title: "Spielplatz Pfotenhauerstraße", Question: "Was wünscht ihr euch?", Lang: "de", Method: ws.MethodSimple,
		Phases: []ws.PhaseSpec{{Kind: ws.PhaseIdeas, Title: "Ideen"}, {Kind: ws.PhaseVote, Title: "Punkte"}, {Kind: ws.PhaseResults, Title: "Ergebnis"}},
		Dots:   2, MaxPerItem: 1, VoteOn: ws.OnIdeas, Terminals: []string{"T1", "T2"},
	}
}

func addWorkshop(t *testing.T, h *fakehub.Hub, id, title string, spec ws.Spec) {
	t.Helper()
	b, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	h.AddWorkshop(api.WorkshopInfo{ID: id, Title: title, JoinURL: "https://hub.example/w/ABC123", Spec: b}, spec.Terminals...)
}

// moderate appends a moderator's event at the hub (as the console would).
func moderate(t *testing.T, h *fakehub.Hub, id string, typ ws.Type, data any) {
	t.Helper()
	body, err := ws.Encode(data)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	h.AppendEvent(ws.Event{ID: ulid.Make().String(), Workshop: id, Device: ws.DeviceHub, HLC: ws.HLC{Wall: now.UnixMilli()},
		Actor: "m:moderator", Type: typ, Data: body})
}

// terminal is one terminal's engine with its own outbox and sync.
type terminal struct {
	id     string
	dir    string
	ob     *outbox.Outbox
	eng    *kws.Engine
	syncer *hubsync.Syncer
	cancel context.CancelFunc
	done   chan struct{}
}

func startTerminal(t *testing.T, h *fakehub.Hub, id string, key ed25519.PrivateKey, dir string) *terminal {
	t.Helper()
	if key == nil {
		key = h.NewTerminal(id)
	}
	ob, err := outbox.Open(filepath.Join(dir, "outbox.db"), outbox.Opts{})
	if err != nil {
		t.Fatal(err)
	}
	creds := func() (string, string, ed25519.PrivateKey, error) { return h.URL(), id, key, nil }
	log := slog.New(slog.DiscardHandler)
	syncer := hubsync.New(ob, creds, hubsync.Opts{Interval: 50 * time.Millisecond, MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, Logger: log})
	ctx, cancel := context.WithCancel(context.Background())
	eng, err := kws.Open(ctx, kws.Opts{
		Path: filepath.Join(dir, kws.File), Outbox: ob, CardKey: func() []byte { return cardKey },
		Hub:          kws.HubClient(hubsync.NewWorkshopClient(creds, hubsync.WorkshopClientOpts{})),
		Terminal:     func() (string, error) { return id, nil },
		ListInterval: 100 * time.Millisecond, MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
		Logger: log,
	})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	tm := &terminal{id: id, dir: dir, ob: ob, eng: eng, syncer: syncer, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(tm.done)
		errc := make(chan error, 2)
		go func() { errc <- syncer.Run(ctx) }()
		go func() { errc <- eng.Run(ctx) }()
		for range 2 {
			if err := <-errc; err != nil {
				t.Errorf("terminal %s: %v", id, err)
			}
		}
	}()
	t.Cleanup(tm.stop)
	return tm
}

// stop ends the terminal's loops and closes its files (again is a no-op).
func (tm *terminal) stop() {
	if tm.cancel == nil {
		return
	}
	tm.cancel()
	<-tm.done
	_ = tm.eng.Close()
	_ = tm.ob.Close()
	tm.cancel = nil
}

func (tm *terminal) waitPhase(t *testing.T, phase int) {
	t.Helper()
	testutil.Eventually(t, tm.id+" in phase", func() bool {
		s := tm.eng.Snapshot()
		return s.State != nil && s.State.PhaseIndex == phase
	})
}

// outboxEvents are the workshop events waiting in the outbox.
func outboxEvents(t *testing.T, ob *outbox.Outbox) []ws.Event {
	t.Helper()
	recs, err := ob.Peek(context.Background(), 10_000, 64<<20)
	if err != nil {
		t.Fatal(err)
	}
	var out []ws.Event
	for _, r := range recs {
		if r.Type != kws.RecordType {
			continue
		}
		if r.Class != outbox.ClassResident {
			t.Fatalf("a workshop event in class %s", r.Class)
		}
		ev, err := ws.DecodeEvent(r.Payload)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ev)
	}
	return out
}

func fromDevice(evs []ws.Event, device string) []ws.Event {
	var out []ws.Event
	for _, ev := range evs {
		if ev.Device == device {
			out = append(out, ev)
		}
	}
	return out
}

func seqs(evs []ws.Event) []uint64 {
	out := make([]uint64, len(evs))
	for i, ev := range evs {
		out[i] = ev.Seq
	}
	slices.Sort(out)
	return out
}

func refusedCode(err error) string {
	var r *kws.Refused
	if errors.As(err, &r) {
		return r.Code
	}
	return ""
}

// A terminal cut off from the hub keeps taking check-ins and ideas: they
// are pending at the terminal, reach the hub exactly once when it is
// back, and the hub's stamped copies replace the pending ones.
func TestOfflineEventsArePendingThenDeliveredOnce(t *testing.T) {
	h := fakehub.Start(t, fakehub.Opts{})
	addWorkshop(t, h, workshopID, "Spielplatz", testSpec())
	moderate(t, h, workshopID, ws.TypePhase, ws.Phase{Index: 0, Deadline: time.Now().UnixMilli()})
	tm := startTerminal(t, h, "T1", nil, t.TempDir())
	tm.waitPhase(t, 0)
	ctx := context.Background()

	h.Stop()
	guest, err := tm.eng.CheckInGuest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !guest.New || !guest.Pending || guest.Label != "Gast 1" || !strings.HasPrefix(guest.ID, "v:g") {
		t.Fatalf("guest %+v", guest)
	}
	card, err := tm.eng.CheckInCard(ctx, strings.Repeat("ab", 32))
	if err != nil {
		t.Fatal(err)
	}
	if card.Label != "Karte 3" { // T1 is the first of two terminals: 1, 3, 5…
		t.Fatalf("card label %q", card.Label)
	}
	id, pending, _, err := tm.eng.AddIdea(ctx, guest.ID, "Eine Wasserpumpe", "")
	if err != nil || !pending {
		t.Fatalf("idea: %v pending %v", err, pending)
	}
	s := tm.eng.Snapshot()
	if s.Queued != 3 || s.Online || s.State.Idea(id) == nil || !s.State.Idea(id).Pending {
		t.Fatalf("offline snapshot: queued %d online %v", s.Queued, s.Online)
	}
	if n := len(outboxEvents(t, tm.ob)); n != 3 {
		t.Fatalf("%d events in the outbox, want 3", n)
	}

	h.Restart()
	testutil.Eventually(t, "the hub's copies at the terminal", func() bool {
		s := tm.eng.Snapshot()
		return s.Queued == 0 && !s.State.Idea(id).Pending
	})
	// Once more through the outbox and the socket: still once at the hub.
	if res := tm.syncer.SyncNow(ctx); res.Err != nil {
		t.Fatal(res.Err)
	}
	mine := fromDevice(h.WorkshopEvents(workshopID), "t:T1")
	if got := seqs(mine); !slices.Equal(got, []uint64{1, 2, 3}) {
		t.Fatalf("the hub holds the terminal's sequences %v, want 1 2 3 once each", got)
	}
	if n := len(outboxEvents(t, tm.ob)); n != 0 {
		t.Fatalf("%d workshop events still in the outbox", n)
	}
	testutil.Eventually(t, "the terminal online", func() bool { return tm.eng.Snapshot().Online })
}

// A restart keeps the log and the numbering: a terminal started again
// while the hub is away still shows the workshop (its info cached) and
// numbers on without a gap.
func TestRestartKeepsSeqGaplessAndLogIntact(t *testing.T) {
	h := fakehub.Start(t, fakehub.Opts{})
	addWorkshop(t, h, workshopID, "Spielplatz", testSpec())
	moderate(t, h, workshopID, ws.TypePhase, ws.Phase{Index: 0, Deadline: time.Now().UnixMilli()})
	dir := t.TempDir()
	key := h.NewTerminal("T1")
	tm := startTerminal(t, h, "T1", key, dir)
	tm.waitPhase(t, 0)
	ctx := context.Background()
	h.Stop()
	v, err := tm.eng.CheckInGuest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := tm.eng.AddIdea(ctx, v.ID, "Schaukeln", ""); err != nil {
		t.Fatal(err)
	}
	tm.stop()

	tm = startTerminal(t, h, "T1", key, dir)
	s := tm.eng.Snapshot()
	if s.Info == nil || s.Info.ID != workshopID || s.State.PhaseIndex != 0 || len(s.State.Ideas) != 1 || s.Queued != 2 {
		t.Fatalf("after the restart offline: %+v", s)
	}
	if _, _, _, err := tm.eng.AddIdea(ctx, v.ID, "Ein Sandkasten", ""); err != nil {
		t.Fatal(err)
	}
	v2, err := tm.eng.CheckInGuest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v2.Label != "Gast 3" { // the guest counter survived: 1, then 3
		t.Fatalf("second guest %q", v2.Label)
	}
	if got := seqs(outboxEvents(t, tm.ob)); !slices.Equal(got, []uint64{1, 2, 3, 4}) {
		t.Fatalf("outbox sequences %v, want 1 2 3 4", got)
	}
	h.Restart()
	testutil.Eventually(t, "all four at the hub", func() bool {
		return slices.Equal(seqs(fromDevice(h.WorkshopEvents(workshopID), "t:T1")), []uint64{1, 2, 3, 4})
	})
	testutil.Eventually(t, "nothing queued", func() bool { return tm.eng.Snapshot().Queued == 0 })
}

// What the model refuses is not written: no outbox record, no number
// used.
func TestRefusedActionWritesNothing(t *testing.T) {
	h := fakehub.Start(t, fakehub.Opts{})
	addWorkshop(t, h, workshopID, "Spielplatz", testSpec())
	tm := startTerminal(t, h, "T1", nil, t.TempDir())
	testutil.Eventually(t, "the workshop shown", func() bool { return tm.eng.Snapshot().Info != nil })
	ctx := context.Background()
	v, err := tm.eng.CheckInGuest(ctx) // before the start: allowed
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := tm.eng.AddIdea(ctx, v.ID, "zu früh", ""); refusedCode(err) != string(ws.ReasonNotOpen) {
		t.Fatalf("an idea before the start: %v", err)
	}
	if err := tm.eng.Done(ctx, "v:nobody"); refusedCode(err) != kws.CodeUnknownVoter {
		t.Fatalf("done by an unknown voter: %v", err)
	}
	moderate(t, h, workshopID, ws.TypePhase, ws.Phase{Index: 0, Deadline: time.Now().UnixMilli()})
	tm.waitPhase(t, 0)
	if _, _, _, err := tm.eng.AddIdea(ctx, v.ID, strings.Repeat("x", ws.MaxIdeaText+1), ""); refusedCode(err) != kws.CodeTooLong {
		t.Fatalf("a long idea: %v", err)
	}
	if _, _, _, err := tm.eng.AddIdea(ctx, v.ID, "Bänke", ""); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, "two events at the hub", func() bool {
		return slices.Equal(seqs(fromDevice(h.WorkshopEvents(workshopID), "t:T1")), []uint64{1, 2})
	})
}

// One card is one voter on every terminal; checking in again gives the
// same voter back.
func TestCardIsOneVoterOnEveryTerminal(t *testing.T) {
	h := fakehub.Start(t, fakehub.Opts{})
	addWorkshop(t, h, workshopID, "Spielplatz", testSpec())
	t1 := startTerminal(t, h, "T1", nil, t.TempDir())
	t2 := startTerminal(t, h, "T2", nil, t.TempDir())
	ctx := context.Background()
	card := strings.Repeat("0f", 32)
	for _, tm := range []*terminal{t1, t2} {
		testutil.Eventually(t, tm.id+" shows the workshop", func() bool { return tm.eng.Snapshot().Info != nil })
	}
	a, err := t1.eng.CheckInCard(ctx, card)
	if err != nil {
		t.Fatal(err)
	}
	again, err := t1.eng.CheckInCard(ctx, card)
	if err != nil || again.ID != a.ID || again.New {
		t.Fatalf("the same card again: %+v, %v", again, err)
	}
	testutil.Eventually(t, "T2 knows the card's check-in", func() bool {
		return t2.eng.Snapshot().State.Voters != nil && len(t2.eng.Snapshot().State.Voters) == 1
	})
	b, err := t2.eng.CheckInCard(ctx, card)
	if err != nil || b.ID != a.ID || b.New {
		t.Fatalf("the card at T2: %+v (T1: %+v), %v", b, a, err)
	}
	if g, err := t2.eng.CheckInGuest(ctx); err != nil || g.Label != "Gast 2" { // T2 is second of two
		t.Fatalf("a guest at T2: %+v, %v", g, err)
	}
	if got := len(fromDevice(h.WorkshopEvents(workshopID), "t:T1")); got != 1 {
		t.Fatalf("T1 wrote %d events, want the one check-in", got)
	}
}

// Dots beyond the voter's dots or the item's cap are refused at the
// terminal; taking one back frees its place. The revealed round prints
// as a summary with the results page's QR code.
func TestDotsLimitsAndSummary(t *testing.T) {
	h := fakehub.Start(t, fakehub.Opts{})
	addWorkshop(t, h, workshopID, "Spielplatz", testSpec())
	moderate(t, h, workshopID, ws.TypePhase, ws.Phase{Index: 0, Deadline: time.Now().UnixMilli()})
	tm := startTerminal(t, h, "T1", nil, t.TempDir())
	tm.waitPhase(t, 0)
	ctx := context.Background()
	v, err := tm.eng.CheckInGuest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ideas []string
	for _, text := range []string{"Wasserpumpe", "Seilbahn", "Sandkasten"} {
		id, _, _, err := tm.eng.AddIdea(ctx, v.ID, text, "")
		if err != nil {
			t.Fatal(err)
		}
		ideas = append(ideas, id)
	}
	testutil.Eventually(t, "the ideas at the hub", func() bool { return tm.eng.Snapshot().Queued == 0 })
	moderate(t, h, workshopID, ws.TypePhase, ws.Phase{Index: 1, Deadline: time.Now().UnixMilli()})
	testutil.Eventually(t, "the vote open", func() bool { return tm.eng.Snapshot().State.CurrentRound() != nil })
	if r := tm.eng.Snapshot().State.CurrentRound(); r.Dots != 2 || r.MaxPerItem != 1 {
		t.Fatalf("round %+v", r)
	}
	if _, left, err := tm.eng.PlaceDot(ctx, v.ID, ideas[0]); err != nil || left != 1 {
		t.Fatalf("first dot: left %d, %v", left, err)
	}
	if _, _, err := tm.eng.PlaceDot(ctx, v.ID, ideas[0]); refusedCode(err) != kws.CodeItemCap {
		t.Fatalf("a second dot on the same idea: %v", err)
	}
	second, left, err := tm.eng.PlaceDot(ctx, v.ID, ideas[1])
	// Pending until the hub has it; the live socket may have brought the
	// hub's copy back before PlaceDot returned.
	if err != nil || left != 0 || (second.Status != ws.DotPending && second.Status != ws.DotCounted) {
		t.Fatalf("second dot: %+v left %d, %v", second, left, err)
	}
	if _, _, err := tm.eng.PlaceDot(ctx, v.ID, ideas[2]); refusedCode(err) != kws.CodeNoDotsLeft {
		t.Fatalf("a third dot: %v", err)
	}
	if left, err := tm.eng.TakeDot(ctx, v.ID, second.ID); err != nil || left != 1 {
		t.Fatalf("take back: left %d, %v", left, err)
	}
	if _, _, err := tm.eng.PlaceDot(ctx, v.ID, ideas[2]); err != nil {
		t.Fatal(err)
	}
	if _, ok := kws.Summary(tm.eng.Snapshot(), "", 0); ok {
		t.Fatal("a summary before the reveal")
	}
	testutil.Eventually(t, "the dots at the hub", func() bool { return tm.eng.Snapshot().Queued == 0 })
	moderate(t, h, workshopID, ws.TypeReveal, ws.Reveal{Round: 1})
	testutil.Eventually(t, "the round revealed", func() bool { return kws.RevealedRound(tm.eng.Snapshot().State) != nil })
	r, ok := kws.Summary(tm.eng.Snapshot(), "en", 2)
	if !ok {
		t.Fatal("no summary")
	}
	var text []string
	var qr string
	for _, b := range r.Blocks {
		switch b.Kind {
		case receipt.Text:
			text = append(text, b.Text)
		case receipt.QR:
			qr = b.Text
		}
	}
	all := strings.Join(text, "\n")
	for _, want := range []string{"Spielplatz Pfotenhauerstraße", "Was wünscht ihr euch?", "Results", "Wasserpumpe\n   1 dot", "Sandkasten\n   1 dot", "near tie"} {
		if !strings.Contains(all, want) {
			t.Errorf("summary lacks %q:\n%s", want, all)
		}
	}
	if strings.Contains(all, "Seilbahn") {
		t.Errorf("the idea whose dot was taken back is among the top two:\n%s", all)
	}
	if qr != "https://hub.example/w/ABC123/results" {
		t.Errorf("QR %q", qr)
	}
}

// A moderator switches the terminal between the workshops the hub lists
// and takes it out of one; the choice survives a restart.
func TestSwitchAndLeave(t *testing.T) {
	h := fakehub.Start(t, fakehub.Opts{})
	addWorkshop(t, h, "first", "Erster", testSpec())
	addWorkshop(t, h, "second", "Zweiter", testSpec())
	dir := t.TempDir()
	key := h.NewTerminal("T1")
	tm := startTerminal(t, h, "T1", key, dir)
	ctx := context.Background()
	shown := func() string {
		if s := tm.eng.Snapshot(); s.Info != nil {
			return s.Info.ID
		}
		return ""
	}
	testutil.Eventually(t, "a workshop shown", func() bool { return shown() != "" && len(tm.eng.Snapshot().Available) == 2 })
	first := shown()
	other := "second"
	if first == "second" {
		other = "first"
	}
	if err := tm.eng.Switch(ctx, "nope"); refusedCode(err) != kws.CodeNoSuchWorkshop {
		t.Fatalf("switch to an unlisted workshop: %v", err)
	}
	if err := tm.eng.Switch(ctx, other); err != nil || shown() != other {
		t.Fatalf("switch: %v, shown %q", err, shown())
	}
	tm.stop()
	tm = startTerminal(t, h, "T1", key, dir)
	if shown() != other {
		t.Fatalf("after a restart %q is shown, want %q", shown(), other)
	}
	testutil.Eventually(t, "the list again", func() bool { return len(tm.eng.Snapshot().Available) == 2 })
	if err := tm.eng.Leave(ctx); err != nil || shown() != first {
		t.Fatalf("leave: %v, shown %q, want %q", err, shown(), first)
	}
	if err := tm.eng.Leave(ctx); err != nil || shown() != "" {
		t.Fatalf("leave again: %v, shown %q", err, shown())
	}
	// The list comes again: the terminal does not go back by itself.
	n := h.Count(api.PathWorkshops)
	testutil.Eventually(t, "listed again", func() bool { return h.Count(api.PathWorkshops) > n+1 })
	if shown() != "" {
		t.Fatalf("the terminal went back to %q by itself", shown())
	}
	if _, err := tm.eng.CheckInGuest(ctx); refusedCode(err) != kws.CodeNoWorkshop {
		t.Fatalf("a check-in without a workshop: %v", err)
	}
}

// A cut live socket is opened again; an idea written meanwhile reaches
// the other terminal. A workshop the hub ends leaves the terminal.
func TestLiveSocketComesBackAndEndedWorkshopLeaves(t *testing.T) {
	h := fakehub.Start(t, fakehub.Opts{})
	addWorkshop(t, h, workshopID, "Spielplatz", testSpec())
	moderate(t, h, workshopID, ws.TypePhase, ws.Phase{Index: 0, Deadline: time.Now().UnixMilli()})
	t1 := startTerminal(t, h, "T1", nil, t.TempDir())
	t2 := startTerminal(t, h, "T2", nil, t.TempDir())
	t1.waitPhase(t, 0)
	t2.waitPhase(t, 0)
	testutil.Eventually(t, "both sockets open", func() bool {
		return h.LiveSockets(workshopID) == 2 && t1.eng.Snapshot().Online && t2.eng.Snapshot().Online
	})
	h.DropLive()
	ctx := context.Background()
	v, err := t1.eng.CheckInGuest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	id, _, _, err := t1.eng.AddIdea(ctx, v.ID, "Mehr Schatten", "")
	if err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, "the idea at T2", func() bool {
		i := t2.eng.Snapshot().State.Idea(id)
		return i != nil && !i.Pending && i.Text == "Mehr Schatten"
	})
	testutil.Eventually(t, "both sockets open again", func() bool { return h.LiveSockets(workshopID) == 2 })
	h.EndWorkshop(workshopID)
	testutil.Eventually(t, "the ended workshop left", func() bool { return t1.eng.Snapshot().Info == nil })
}

// A log lost to a storage fault is set aside; the terminal waits for the
// hub before it numbers again and then goes on after the hub's copy of
// its own events, so the numbering stays gapless without duplicates.
func TestLostLogContinuesAfterTheHubsCopy(t *testing.T) {
	h := fakehub.Start(t, fakehub.Opts{})
	addWorkshop(t, h, workshopID, "Spielplatz", testSpec())
	moderate(t, h, workshopID, ws.TypePhase, ws.Phase{Index: 0, Deadline: time.Now().UnixMilli()})
	dir := t.TempDir()
	key := h.NewTerminal("T1")
	tm := startTerminal(t, h, "T1", key, dir)
	tm.waitPhase(t, 0)
	ctx := context.Background()
	v, err := tm.eng.CheckInGuest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := tm.eng.AddIdea(ctx, v.ID, "Ein Brunnen", ""); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, "both at the hub", func() bool { return tm.eng.Snapshot().Queued == 0 })
	tm.stop()
	path := filepath.Join(dir, kws.File)
	// The meta pages stay, the pages they count are cut off.
	if err := os.Truncate(path, int64(3*os.Getpagesize())); err != nil {
		t.Fatal(err)
	}
	h.Stop()
	tm = startTerminal(t, h, "T1", key, dir)
	if s := tm.eng.Snapshot(); s.Info != nil {
		t.Fatalf("the lost log's workshop is shown: %+v", s.Info)
	}
	h.Restart()
	tm.waitPhase(t, 0)
	testutil.Eventually(t, "the voter known again", func() bool {
		s := tm.eng.Snapshot()
		return len(s.State.Voters) == 1 && len(s.State.Ideas) == 1
	})
	testutil.EventuallyOK(t, "a new idea numbered after the hub's copy", func() error {
		_, _, _, err := tm.eng.AddIdea(ctx, v.ID, "Noch ein Brunnen", "")
		return err
	})
	if g, err := tm.eng.CheckInGuest(ctx); err != nil || g.Label != "Gast 3" {
		t.Fatalf("the next guest after the lost log: %+v, %v", g, err)
	}
	testutil.Eventually(t, "four at the hub", func() bool {
		return slices.Equal(seqs(fromDevice(h.WorkshopEvents(workshopID), "t:T1")), []uint64{1, 2, 3, 4})
	})
}

// A café participant names their table with each idea: it is the idea's
// table in the fold; a table the café does not have, or a table in
// another method, is refused and writes nothing; without one, the
// terminal's own table (its place in Spec.Terminals) if the café has as
// many tables, else none.
func TestCafeIdeaAtTheChosenTable(t *testing.T) {
	h := fakehub.Start(t, fakehub.Opts{})
	spec := testSpec()
	spec.Method, spec.Tables, spec.Named = ws.MethodCafe, 2, true
	spec.Terminals = []string{"T0", "T1", "T2"} // T2 is the third terminal: no third table
	spec.Phases = []ws.PhaseSpec{{Kind: ws.PhaseIdeas, Title: "Runde 1", Round: 1}, {Kind: ws.PhaseVote, Title: "Punkte"}}
	addWorkshop(t, h, workshopID, "Café", spec)
	moderate(t, h, workshopID, ws.TypePhase, ws.Phase{Index: 0, Deadline: time.Now().UnixMilli()})
	tm := startTerminal(t, h, "T2", nil, t.TempDir())
	tm.waitPhase(t, 0)
	ctx := context.Background()
	v, err := tm.eng.CheckInGuest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	at, _, _, err := tm.eng.AddIdeaAt(ctx, v.ID, "Sitzecke", "Anna", 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, table := range []int{3, -1} {
		if _, _, _, err := tm.eng.AddIdeaAt(ctx, v.ID, "Tisch?", "", table); refusedCode(err) != string(ws.ReasonInvalid) {
			t.Fatalf("table %d: %v", table, err)
		}
	}
	none, _, _, err := tm.eng.AddIdea(ctx, v.ID, "Ohne Tisch", "")
	if err != nil {
		t.Fatal(err)
	}
	st := tm.eng.Snapshot().State
	if i := st.Idea(at); i == nil || i.Table != 2 || i.Author != "Anna" {
		t.Fatalf("the chosen table's idea: %+v", i)
	}
	if i := st.Idea(none); i == nil || i.Table != 0 {
		t.Fatalf("an idea at a terminal beyond the tables: %+v", i)
	}
	testutil.Eventually(t, "three events at the hub (check-in, two ideas)", func() bool {
		return len(fromDevice(h.WorkshopEvents(workshopID), "t:T2")) == 3
	})

	// Not a café: a table is refused.
	h2 := fakehub.Start(t, fakehub.Opts{})
	addWorkshop(t, h2, workshopID, "Spielplatz", testSpec())
	moderate(t, h2, workshopID, ws.TypePhase, ws.Phase{Index: 0, Deadline: time.Now().UnixMilli()})
	t1 := startTerminal(t, h2, "T1", nil, t.TempDir())
	t1.waitPhase(t, 0)
	g, err := t1.eng.CheckInGuest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := t1.eng.AddIdeaAt(ctx, g.ID, "Bänke", "", 1); refusedCode(err) != string(ws.ReasonInvalid) {
		t.Fatalf("a table outside a café: %v", err)
	}
}
