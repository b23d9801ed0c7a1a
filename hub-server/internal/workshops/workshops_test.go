package workshops_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/pgstore"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/teststores"
	"github.com/quartierhub/quartierhub/hub-server/internal/workshops"
	"github.com/quartierhub/quartierhub/internal/testutil"
	"github.com/quartierhub/quartierhub/internal/workshop"
)

func TestMain(m *testing.M) { teststores.Main(m) }

func spec() workshop.Spec {
	return workshop.Spec{Title: "Spielplatz Johannstadt", Question: "Was fehlt auf dem Spielplatz?", Phones: true}
}

const mod = "m:anna"

func newService(t *testing.T, st store.Store, o workshops.Opts) *workshops.Service {
	t.Helper()
	svc := workshops.New(st, o)
	st.OnWorkshopAppend(svc.OnAppend)
	t.Cleanup(func() { st.OnWorkshopAppend(nil) })
	return svc
}

// run runs svc until the test ends.
func run(t *testing.T, svc *workshops.Service) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

func mustAct(t *testing.T, svc *workshops.Service, id, actor string, typ workshop.Type, data any) workshop.Event {
	t.Helper()
	ev, err := svc.Act(context.Background(), id, actor, typ, data)
	if err != nil {
		t.Fatalf("%s by %s: %v", typ, actor, err)
	}
	return ev
}

func lastSeq(t *testing.T, st store.Store, id string) uint64 {
	t.Helper()
	w, err := st.Workshop(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return w.LastSeq
}

func TestCreateCopyUpdate(t *testing.T) {
	teststores.Each(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		svc := newService(t, st, workshops.Opts{})
		w, err := svc.Create(ctx, spec(), "anna")
		if err != nil {
			t.Fatal(err)
		}
		if w.Status != workshops.StatusDraft || w.Version != 1 || w.Title != spec().Title || w.CreatedBy != "anna" {
			t.Errorf("created: %+v", w)
		}
		if _, ok := workshops.NormalizeJoinCode(strings.ToLower(w.JoinCode)); !ok || len(w.JoinCode) != workshops.JoinCodeLen {
			t.Errorf("join code %q", w.JoinCode)
		}
		v, err := svc.Get(ctx, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		if v.State.Spec.Method != workshop.MethodSimple || v.State.Spec.Lang != "de" || len(v.State.Spec.Phases) == 0 {
			t.Errorf("defaults not applied: %+v", v.State.Spec)
		}
		if byCode, err := svc.GetByCode(ctx, " "+strings.ToLower(w.JoinCode)); err != nil || byCode.Workshop.ID != w.ID {
			t.Errorf("by code: %v %v", byCode.Workshop.ID, err)
		}
		if _, err := svc.GetByCode(ctx, "ZZZZZZ"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unknown code: %v", err)
		}

		bad := spec()
		bad.Lang = "fr"
		if _, err := svc.Create(ctx, bad, "anna"); err == nil || !strings.Contains(err.Error(), "lang") {
			t.Errorf("invalid spec: %v", err)
		}

		c, err := svc.Copy(ctx, w.ID, "bert")
		if err != nil {
			t.Fatal(err)
		}
		if c.ID == w.ID || c.JoinCode == w.JoinCode || c.Status != workshops.StatusDraft || !bytes.Equal(c.Spec, w.Spec) || c.CreatedBy != "bert" {
			t.Errorf("copy: %+v of %+v", c, w)
		}

		changed := spec()
		changed.Title = "Spielplatz Striesen"
		if _, err := svc.UpdateSpec(ctx, w.ID, changed, w.Version+1, "anna"); !errors.Is(err, workshops.ErrConflict) {
			t.Errorf("update at a wrong version: %v", err)
		}
		u, err := svc.UpdateSpec(ctx, w.ID, changed, w.Version, "anna")
		if err != nil {
			t.Fatal(err)
		}
		if u.Version != 2 || u.Title != "Spielplatz Striesen" {
			t.Errorf("updated: %+v", u)
		}
		if v, _ := svc.Get(ctx, w.ID); v.State.Spec.Title != "Spielplatz Striesen" {
			t.Errorf("state's spec after update: %q", v.State.Spec.Title)
		}

		mustAct(t, svc, w.ID, mod, workshop.TypePhase, workshop.Phase{Index: 0, Deadline: time.Now().UnixMilli()})
		if v, _ := svc.Get(ctx, w.ID); v.Workshop.Status != workshops.StatusOpen {
			t.Errorf("status after the first phase: %q", v.Workshop.Status)
		}
		if _, err := svc.UpdateSpec(ctx, w.ID, changed, u.Version, "anna"); !errors.Is(err, workshops.ErrNotDraft) {
			t.Errorf("update of an open workshop: %v", err)
		}
		if _, err := svc.GoToPhase(ctx, w.ID, mod, -1); err != nil {
			t.Fatal(err)
		}
		if got, _ := st.Workshop(ctx, w.ID); got.Status != workshops.StatusEnded {
			t.Errorf("status after the end: %q", got.Status)
		}

		as, err := st.AuditEntries(ctx, store.AuditFilter{Subject: "workshop:" + w.ID})
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, a := range as {
			actions = append(actions, a.Actor+" "+a.Action)
		}
		for _, want := range []string{"anna workshop.create", "anna workshop.update", "anna workshop.event", "system workshop.open", "system workshop.end"} {
			if !strings.Contains(strings.Join(actions, "\n"), want) {
				t.Errorf("audit lacks %q: %q", want, actions)
			}
		}
	})
}

// seqReader hands out its chunks in turn, one Read each.
type seqReader struct{ chunks [][]byte }

func (r *seqReader) Read(p []byte) (int, error) {
	if len(r.chunks) == 0 {
		return 0, errors.New("seqReader: empty")
	}
	n := copy(p, r.chunks[0])
	r.chunks[0] = r.chunks[0][n:]
	if len(r.chunks[0]) == 0 {
		r.chunks = r.chunks[1:]
	}
	return n, nil
}

func TestJoinCodeClashDrawsAgain(t *testing.T) {
	teststores.Each(t, func(t *testing.T, st store.Store) {
		ulidBytes := func(b byte) []byte { return bytes.Repeat([]byte{b}, 10) }
		code := func(b byte) []byte { return bytes.Repeat([]byte{b}, 16) }
		r := &seqReader{chunks: [][]byte{ulidBytes(1), code(7), ulidBytes(2), code(7), code(9)}}
		svc := newService(t, st, workshops.Opts{Rand: r})
		a, err := svc.Create(context.Background(), spec(), "anna")
		if err != nil {
			t.Fatal(err)
		}
		b, err := svc.Create(context.Background(), spec(), "anna")
		if err != nil {
			t.Fatal(err)
		}
		want := strings.Repeat(string(workshops.JoinCodeAlphabet[7]), 6)
		if a.JoinCode != want || b.JoinCode != strings.Repeat(string(workshops.JoinCodeAlphabet[9]), 6) {
			t.Errorf("codes %q and %q; want %q and another", a.JoinCode, b.JoinCode, want)
		}
	})
}

func TestActAuthorization(t *testing.T) {
	teststores.Each(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		svc := newService(t, st, workshops.Opts{})
		w, err := svc.Create(ctx, spec(), "anna")
		if err != nil {
			t.Fatal(err)
		}
		voter := "v:g0123456789abcdef"
		refused := func(actor string, typ workshop.Type, data any, want workshop.Reason) {
			t.Helper()
			before := lastSeq(t, st, w.ID)
			_, err := svc.Act(ctx, w.ID, actor, typ, data)
			if got := workshops.Reason(err); got != want {
				t.Errorf("%s by %s: reason %q (%v), want %q", typ, actor, got, err, want)
			}
			if after := lastSeq(t, st, w.ID); after != before {
				t.Errorf("%s by %s refused but stored (log %d → %d)", typ, actor, before, after)
			}
		}
		refused(voter, workshop.TypePhase, workshop.Phase{Index: 0, Deadline: time.Now().UnixMilli()}, workshop.ReasonNotAllowed)
		refused("anna", workshop.TypePhase, workshop.Phase{Index: 0, Deadline: time.Now().UnixMilli()}, workshop.ReasonNotAllowed)
		refused(mod, workshop.TypePhase, workshop.Idea{Text: "x"}, workshop.ReasonInvalid)
		refused(voter, workshop.TypeIdea, workshop.Idea{Text: "Eine Schaukel", Phase: 0}, workshop.ReasonNotCheckedIn)
		// Residents may check in while the moderator prepares.
		mustAct(t, svc, w.ID, voter, workshop.TypeCheckIn, workshop.CheckIn{Via: workshop.ViaPhone, Label: "Gast 1"})
		refused(voter, workshop.TypeCheckIn, workshop.CheckIn{Via: workshop.ViaPhone, Label: "Gast 1"}, workshop.ReasonDuplicate)
		refused(voter, workshop.TypeIdea, workshop.Idea{Text: "Eine Schaukel", Phase: 0}, workshop.ReasonNotOpen)
		refused(mod, workshop.TypeCheckIn, workshop.CheckIn{Via: workshop.ViaGuest, Label: "Moderation"}, workshop.ReasonNotAllowed)

		mustAct(t, svc, w.ID, mod, workshop.TypePhase, workshop.Phase{Index: 0, Deadline: time.Now().UnixMilli()})
		idea := mustAct(t, svc, w.ID, voter, workshop.TypeIdea, workshop.Idea{Text: "Eine Schaukel", Phase: 0})
		if idea.Device != workshop.DeviceHub || idea.HubSeq == 0 || idea.Seq != idea.HubSeq || idea.Actor != voter {
			t.Errorf("hub event: %+v", idea)
		}
		// A moderator may add an idea (one called out in the room).
		mustAct(t, svc, w.ID, mod, workshop.TypeIdea, workshop.Idea{Text: "Mehr Schatten", Phase: 0})
		v, err := svc.Get(ctx, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		if v.State.Idea(idea.ID) == nil || v.State.Cursor != idea.HubSeq+1 {
			t.Errorf("state after the idea: cursor %d, idea %v", v.State.Cursor, v.State.Idea(idea.ID))
		}

		mustAct(t, svc, w.ID, mod, workshop.TypePhase, workshop.Phase{Index: -1, Deadline: time.Now().UnixMilli()})
		refused(voter, workshop.TypeIdea, workshop.Idea{Text: "Noch eine", Phase: 0}, workshop.ReasonNotOpen)
		refused(mod, workshop.TypePhase, workshop.Phase{Index: 0, Deadline: time.Now().UnixMilli()}, workshop.ReasonNotOpen)
	})
}

func TestJoinPhone(t *testing.T) {
	teststores.Each(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		svc := newService(t, st, workshops.Opts{})
		w, err := svc.Create(ctx, spec(), "anna")
		if err != nil {
			t.Fatal(err)
		}
		key1, key2 := strings.Repeat("a", 22), strings.Repeat("b", 22)
		if _, _, err := svc.JoinPhone(ctx, w.JoinCode, "short"); err == nil {
			t.Error("a short guest key was taken")
		}
		v1, l1, err := svc.JoinPhone(ctx, strings.ToLower(w.JoinCode), key1)
		if err != nil {
			t.Fatal(err)
		}
		if v1 != workshops.PhoneVoter(w.ID, key1) || l1 != "Handy 1" || !strings.HasPrefix(v1, "v:g") || len(v1) != 19 {
			t.Errorf("first phone: %q %q", v1, l1)
		}
		seq := lastSeq(t, st, w.ID)
		again, la, err := svc.JoinPhone(ctx, w.JoinCode, key1)
		if err != nil || again != v1 || la != l1 || lastSeq(t, st, w.ID) != seq {
			t.Errorf("the same phone again: %q %q %v, log %d → %d", again, la, err, seq, lastSeq(t, st, w.ID))
		}
		// Joining before and after the workshop opened.
		mustAct(t, svc, w.ID, mod, workshop.TypePhase, workshop.Phase{Index: 0, Deadline: time.Now().UnixMilli()})
		v2, l2, err := svc.JoinPhone(ctx, w.JoinCode, key2)
		if err != nil || v2 == v1 || l2 != "Handy 2" {
			t.Errorf("second phone: %q %q %v", v2, l2, err)
		}
		// Another workshop: the same phone is another voter.
		other, err := svc.Create(ctx, spec(), "anna")
		if err != nil {
			t.Fatal(err)
		}
		if workshops.PhoneVoter(other.ID, key1) == v1 {
			t.Error("a phone is the same voter in two workshops")
		}

		mustAct(t, svc, w.ID, mod, workshop.TypeJoin, workshop.Join{Open: false})
		if _, _, err := svc.JoinPhone(ctx, w.JoinCode, strings.Repeat("c", 22)); workshops.Reason(err) != workshop.ReasonJoinClosed {
			t.Errorf("join while closed: %v", err)
		}
		if _, l, err := svc.JoinPhone(ctx, w.JoinCode, key1); err != nil || l != l1 {
			t.Errorf("a checked-in phone while joining is closed: %q %v", l, err)
		}

		noPhones := spec()
		noPhones.Phones, noPhones.Lang = false, "en"
		np, err := svc.Create(ctx, noPhones, "anna")
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := svc.JoinPhone(ctx, np.JoinCode, key1); workshops.Reason(err) != workshop.ReasonNoPhones {
			t.Errorf("join where phones may not: %v", err)
		}
	})
}

func TestSubscribeCoalescesAndNeverBlocks(t *testing.T) {
	teststores.Each(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		svc := newService(t, st, workshops.Opts{})
		w, err := svc.Create(ctx, spec(), "anna")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Get(ctx, w.ID); err != nil {
			t.Fatal(err)
		}
		// 1,000 subscribers that do not read: the publisher goes on.
		const n = 1000
		chans := make([]<-chan uint64, n)
		for i := range chans {
			ch, cancel := svc.Subscribe(w.ID)
			t.Cleanup(cancel)
			chans[i] = ch
		}
		if c := <-chans[0]; c != 0 {
			t.Errorf("the current cursor at subscription: %d", c)
		}
		mustAct(t, svc, w.ID, mod, workshop.TypePhase, workshop.Phase{Index: 0, Deadline: time.Now().UnixMilli()})
		var last workshop.Event
		for i := range 5 {
			last = mustAct(t, svc, w.ID, mod, workshop.TypeTheme, workshop.Theme{Theme: fmt.Sprintf("t%d", i), Name: fmt.Sprintf("Thema %d", i)})
		}
		for i, ch := range chans {
			select {
			case c := <-ch:
				if c != last.HubSeq {
					t.Fatalf("subscriber %d got %d, want the latest %d", i, c, last.HubSeq)
				}
			default:
				t.Fatalf("subscriber %d got nothing", i)
			}
			select {
			case c := <-ch:
				t.Fatalf("subscriber %d got a second, stale cursor %d", i, c)
			default:
			}
		}
	})
}

// TestConcurrentActs: phones acting at once are committed in groups;
// every accepted event has its own place in the gapless log, a refused
// one in the middle of a group leaves no gap, and the state counts all.
func TestConcurrentActs(t *testing.T) {
	teststores.Each(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		svc := newService(t, st, workshops.Opts{})
		w, err := svc.Create(ctx, spec(), "anna")
		if err != nil {
			t.Fatal(err)
		}
		mustAct(t, svc, w.ID, mod, workshop.TypePhase, workshop.Phase{Index: 0, Deadline: time.Now().UnixMilli()})
		const n = 40
		voters := make([]string, n)
		for i := range voters {
			if voters[i], _, err = svc.JoinPhone(ctx, w.JoinCode, fmt.Sprintf("guest-key-%016d", i)); err != nil {
				t.Fatal(err)
			}
		}
		type result struct {
			ev  workshop.Event
			err error
		}
		results := make(chan result, 2*n)
		for i := range 2 * n {
			go func() {
				actor := voters[i%n]
				if i == n { // not checked in: refused, whatever group it lands in
					actor = "v:gffffffffffffffff"
				}
				ev, err := svc.Act(ctx, w.ID, actor, workshop.TypeIdea, workshop.Idea{Text: fmt.Sprintf("Idee %d", i), Phase: 0})
				results <- result{ev, err}
			}()
		}
		seen := map[uint64]bool{}
		refused := 0
		for range 2 * n {
			r := <-results
			if r.err != nil {
				if workshops.Reason(r.err) != workshop.ReasonNotCheckedIn {
					t.Errorf("act: %v", r.err)
				}
				refused++
				continue
			}
			if seen[r.ev.HubSeq] || r.ev.Seq != r.ev.HubSeq {
				t.Errorf("hub sequence %d (seq %d) twice or off", r.ev.HubSeq, r.ev.Seq)
			}
			seen[r.ev.HubSeq] = true
		}
		v, err := svc.Get(ctx, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := uint64(1 + n + 2*n - 1)
		if refused != 1 || len(v.State.Ideas) != 2*n-1 || v.State.Cursor != want || lastSeq(t, st, w.ID) != want {
			t.Errorf("refused %d, ideas %d, cursor %d, stored %d; want 1, %d, %d", refused, len(v.State.Ideas), v.State.Cursor, lastSeq(t, st, w.ID), 2*n-1, want)
		}
		evs, _, _ := svc.Events(ctx, w.ID, 0, 0)
		for i, e := range evs {
			if e.HubSeq != uint64(i+1) || e.Seq != e.HubSeq {
				t.Fatalf("event %d has hub sequence %d, seq %d", i, e.HubSeq, e.Seq)
			}
		}
		// As stored: the hub's events carry their HubSeq as Seq.
		rows, err := st.WorkshopEvents(ctx, w.ID, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if r.Seq != r.HubSeq || !strings.Contains(string(r.Body), fmt.Sprintf(`"seq":%d,`, r.HubSeq)) {
				t.Fatalf("stored event %d: seq %d, %s", r.HubSeq, r.Seq, r.Body)
			}
		}
	})
}

func TestSubscriberLimit(t *testing.T) {
	st := teststores.Open(t, teststores.SQLite)
	svc := newService(t, st, workshops.Opts{MaxSubscribers: 2})
	_, c1 := svc.Subscribe("W1")
	_, c2 := svc.Subscribe("W1")
	ch, _ := svc.Subscribe("W1")
	if _, ok := <-ch; ok {
		t.Error("a third subscriber over the limit got an open channel")
	}
	c1()
	c1() // twice is harmless
	ch, c3 := svc.Subscribe("W1")
	defer c3()
	defer c2()
	select {
	case _, ok := <-ch:
		if !ok {
			t.Error("a subscriber within the limit again got a closed channel")
		}
	default:
	}
}

// terminalEvent is an event as terminal T1 writes it.
func terminalEvent(t *testing.T, workshopID, device string, seq uint64, actor string, typ workshop.Type, data any) json.RawMessage {
	t.Helper()
	raw, err := workshop.Encode(data)
	if err != nil {
		t.Fatal(err)
	}
	ev := workshop.Event{ID: ulid.Make().String(), Workshop: workshopID, Device: device, Seq: seq,
		HLC: workshop.HLC{Wall: time.Now().UnixMilli()}, Actor: actor, Type: typ, Data: raw}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestAppendFromTerminal(t *testing.T) {
	teststores.Each(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		svc := newService(t, st, workshops.Opts{})
		w, err := svc.Create(ctx, spec(), "anna")
		if err != nil {
			t.Fatal(err)
		}
		mustAct(t, svc, w.ID, mod, workshop.TypePhase, workshop.Phase{Index: 0, Deadline: time.Now().UnixMilli()})
		ch, cancel := svc.Subscribe(w.ID)
		defer cancel()
		<-ch
		voter := "v:0123456789abcdef0123"
		checkIn := terminalEvent(t, w.ID, "t:T1", 1, voter, workshop.TypeCheckIn, workshop.CheckIn{Via: workshop.ViaCard, Label: "Karte 1"})
		idea := terminalEvent(t, w.ID, "t:T1", 2, voter, workshop.TypeIdea, workshop.Idea{Text: "Mehr Bänke", Phase: 0})

		if _, err := svc.Append(ctx, "T2", []json.RawMessage{checkIn}); err == nil {
			t.Error("T2 appended T1's event")
		}
		if _, err := svc.Append(ctx, "T1", []json.RawMessage{checkIn, []byte(`{"id":"x"}`)}); err == nil {
			t.Error("an undecodable event was taken")
		}
		if got := lastSeq(t, st, w.ID); got != 1 {
			t.Fatalf("refused appends stored something: log at %d", got)
		}
		ids, err := svc.Append(ctx, "T1", []json.RawMessage{checkIn, idea})
		if err != nil || len(ids) != 2 {
			t.Fatalf("append: %v %v", ids, err)
		}
		if c := <-ch; c != 3 {
			t.Errorf("subscriber got %d, want 3", c)
		}
		if _, err := svc.Append(ctx, "T1", []json.RawMessage{idea}); err != nil || lastSeq(t, st, w.ID) != 3 {
			t.Errorf("the same event again: %v, log at %d", err, lastSeq(t, st, w.ID))
		}
		v, err := svc.Get(ctx, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(v.State.Ideas) != 1 || v.State.Ideas[0].Text != "Mehr Bänke" || v.State.Ideas[0].Pending {
			t.Errorf("ideas: %+v", v.State.Ideas)
		}
		evs, more, err := svc.Events(ctx, w.ID, 1, 1)
		if err != nil || more != true || len(evs) != 1 || evs[0].HubSeq != 2 {
			t.Errorf("events after 1: %+v %v %v", evs, more, err)
		}
		evs, more, _ = svc.Events(ctx, w.ID, 0, 0)
		if len(evs) != 3 || more {
			t.Errorf("all events: %d, more %v", len(evs), more)
		}
		// An unknown workshop's events are acknowledged and dropped.
		lost := terminalEvent(t, "NOSUCH", "t:T1", 1, voter, workshop.TypeDone, workshop.Done{Phase: 0})
		if ids, err := svc.Append(ctx, "T1", []json.RawMessage{lost}); err != nil || len(ids) != 1 {
			t.Errorf("unknown workshop: %v %v", ids, err)
		}
	})
}

// TestUploadAdvances: a terminal's outbox upload (IngestBatch) reaches
// subscribers through the store's hook and Run.
func TestUploadAdvances(t *testing.T) {
	teststores.Each(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		svc := newService(t, st, workshops.Opts{})
		run(t, svc)
		w, err := svc.Create(ctx, spec(), "anna")
		if err != nil {
			t.Fatal(err)
		}
		mustAct(t, svc, w.ID, mod, workshop.TypePhase, workshop.Phase{Index: 0, Deadline: time.Now().UnixMilli()})
		term := enrol(t, st, "T1")
		ch, cancel := svc.Subscribe(w.ID)
		defer cancel()
		if c := <-ch; c != 1 {
			t.Fatalf("cursor at subscription %d", c)
		}
		voter := "v:0123456789abcdef0123"
		ingest(t, st, term, terminalEvent(t, w.ID, "t:"+term, 1, voter, workshop.TypeCheckIn, workshop.CheckIn{Via: workshop.ViaCard, Label: "Karte 1"}))
		select {
		case c := <-ch:
			if c != 2 {
				t.Errorf("cursor after the upload %d", c)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no notification after the upload")
		}
		if v, _ := svc.Get(ctx, w.ID); len(v.State.Voters) != 1 {
			t.Errorf("voters after the upload: %d", len(v.State.Voters))
		}
	})
}

// TestCommandLineAppendSeenBySQLiteHub: a second store on the same file
// (the command line) appends; the serving service's poll finds it.
func TestCommandLineAppendSeenByPolling(t *testing.T) {
	st := teststores.Open(t, teststores.SQLite)
	svc := newService(t, st, workshops.Opts{Poll: 20 * time.Millisecond})
	run(t, svc)
	ctx := context.Background()
	w, err := svc.Create(ctx, spec(), "anna")
	if err != nil {
		t.Fatal(err)
	}
	ch, cancel := svc.Subscribe(w.ID)
	defer cancel()
	other := workshops.New(st, workshops.Opts{}) // appends without telling svc, as another process would
	if _, err := other.GoToPhase(ctx, w.ID, workshops.CLIActor("root"), 0); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, "condition", func() bool {
		select {
		case c := <-ch:
			return c == 1
		default:
			return false
		}
	})
}

// openWithIdea opens a simple workshop in which one phone has joined and
// written the idea "Ein Trinkbrunnen".
func openWithIdea(t *testing.T, st store.Store) (svc *workshops.Service, w store.Workshop, voter string, idea workshop.Event) {
	t.Helper()
	ctx := context.Background()
	svc = newService(t, st, workshops.Opts{})
	w, err := svc.Create(ctx, spec(), "anna")
	if err != nil {
		t.Fatal(err)
	}
	mustAct(t, svc, w.ID, mod, workshop.TypePhase, workshop.Phase{Index: 0, Deadline: time.Now().UnixMilli()})
	voter, _, err = svc.JoinPhone(ctx, w.JoinCode, strings.Repeat("k", 22))
	if err != nil {
		t.Fatal(err)
	}
	idea = mustAct(t, svc, w.ID, voter, workshop.TypeIdea, workshop.Idea{Text: "Ein Trinkbrunnen", Phase: 0})
	return svc, w, voter, idea
}

func TestExport(t *testing.T) {
	teststores.Each(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		svc, w, voter, idea := openWithIdea(t, st)
		mustAct(t, svc, w.ID, voter, workshop.TypeIdea, workshop.Idea{Text: "Mehr Bänke", Phase: 0})
		if _, err := svc.GoToPhase(ctx, w.ID, mod, 2); err != nil { // simple: ideas, cluster, vote, results
			t.Fatal(err)
		}
		for range 2 {
			mustAct(t, svc, w.ID, voter, workshop.TypeDot, workshop.Dot{Round: 1, Item: idea.ID})
		}
		if _, err := svc.GoToPhase(ctx, w.ID, mod, 3); err != nil {
			t.Fatal(err)
		}
		var csv bytes.Buffer
		if _, err := svc.Export(ctx, w.ID, workshops.FormatCSV, &csv); err != nil {
			t.Fatal(err)
		}
		if want := "1,1," + idea.ID + ",idea,Ein Trinkbrunnen,,2,false\r\n"; !strings.Contains(csv.String(), want) {
			t.Errorf("csv lacks %q:\n%s", want, csv.String())
		}
		for _, f := range []string{workshops.FormatJSON, workshops.FormatCSV, workshops.FormatLog} {
			var b bytes.Buffer
			sum, err := svc.Export(ctx, w.ID, f, &b)
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if h := sha256.Sum256(b.Bytes()); hex.EncodeToString(h[:]) != sum || b.Len() == 0 {
				t.Errorf("%s: digest %s of %d bytes, want %x", f, sum, b.Len(), h)
			}
			if f != workshops.FormatLog && !strings.Contains(b.String(), "Ein Trinkbrunnen") {
				t.Errorf("%s lacks the idea: %s", f, b.String())
			}
		}
		if _, err := svc.Export(ctx, w.ID, "xml", &bytes.Buffer{}); err == nil {
			t.Error("export as xml")
		}
		if _, err := svc.Export(ctx, "NOSUCH", workshops.FormatJSON, &bytes.Buffer{}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("export of an unknown workshop: %v", err)
		}
	})
}

func TestParsePhase(t *testing.T) {
	st := &workshop.State{PhaseIndex: 1, Spec: workshop.Spec{Phases: workshop.DefaultPhases(workshop.Method1248All, 0)}}
	for to, want := range map[string]int{"0": 0, "next": 2, "end": -1, "cluster": 3, "vote": 4, "5": 5} {
		if got, err := workshops.ParsePhase(st, to); err != nil || got != want {
			t.Errorf("%s: %d %v, want %d", to, got, err, want)
		}
	}
	for _, to := range []string{"ideas", "6", "-1", "lunch"} {
		if got, err := workshops.ParsePhase(st, to); err == nil {
			t.Errorf("%s: %d, want an error", to, got)
		}
	}
	st.PhaseIndex = 5
	if _, err := workshops.ParsePhase(st, "next"); err == nil {
		t.Error("next after the last phase")
	}
}

func TestCLIActor(t *testing.T) {
	for user, want := range map[string]string{"root": "m:cli.root", "ANNA b": "m:cli.ANNA_b", "": "m:cli.unknown"} {
		if got := workshops.CLIActor(user); got != want || !workshop.ValidActor(got) {
			t.Errorf("%q: %q, want %q", user, got, want)
		}
	}
}

// enrol enrols a terminal with ID id.
func enrol(t *testing.T, st store.Store, id string) string {
	t.Helper()
	ctx := context.Background()
	tok := sha256.Sum256([]byte("tok-" + id))
	now := time.Now()
	if err := st.CreateEnrolToken(ctx, store.EnrolToken{Hash: tok, TerminalName: "name-" + id, Quarter: "Johannstadt", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	pub, _, _ := ed25519.GenerateKey(nil)
	term, err := st.Enroll(ctx, store.Enrolment{TokenHash: tok, TerminalID: id, PublicKey: pub, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return term.ID
}

// ingest uploads events as terminal's outbox would.
func ingest(t *testing.T, st store.Store, terminal string, events ...json.RawMessage) {
	t.Helper()
	recs := make([]api.Record, len(events))
	for i, e := range events {
		recs[i] = api.Record{ID: ulid.Make().String(), Type: api.RecordWorkshopEvent, Class: api.ClassResident,
			CreatedAt: time.Now().UTC(), Payload: e}
	}
	if _, err := st.IngestBatch(context.Background(), terminal, recs, time.Now()); err != nil {
		t.Fatal(err)
	}
}

// TestTwoProcessesOnePostgres: two services, each on its own store on
// one PostgreSQL database, see each other's appends through NOTIFY.
func TestTwoProcessesOnePostgres(t *testing.T) {
	url := teststores.PostgresURL(t)
	ctx := context.Background()
	open := func() (store.Store, *workshops.Service) {
		st, err := pgstore.Open(ctx, url, pgstore.Opts{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		// The store's URL as a deployment may write it, with pool settings.
		svc := newService(t, st, workshops.Opts{PostgresURL: withPoolSetting(url), Poll: time.Hour, ListeningPoll: time.Hour})
		run(t, svc)
		return st, svc
	}
	_, a := open()
	stB, b := open()
	testutil.Eventually(t, "both listening", func() bool { return a.Listening() && b.Listening() })
	w, err := a.Create(ctx, spec(), "anna")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Get(ctx, w.ID); err != nil {
		t.Fatal(err)
	}
	ch, cancel := b.Subscribe(w.ID)
	defer cancel()
	if c := <-ch; c != 0 {
		t.Fatalf("cursor at subscription %d", c)
	}
	wait := func(want uint64) {
		t.Helper()
		select {
		case c := <-ch:
			if c != want {
				t.Fatalf("cursor %d, want %d", c, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no notification of %d", want)
		}
	}
	mustAct(t, a, w.ID, mod, workshop.TypePhase, workshop.Phase{Index: 0, Deadline: time.Now().UnixMilli()})
	wait(1)
	if v, _ := b.Get(ctx, w.ID); v.State.PhaseIndex != 0 {
		t.Errorf("b's state after a's phase: %d", v.State.PhaseIndex)
	}
	// An upload to the other process's store.
	term := enrol(t, stB, "T1")
	chA, cancelA := a.Subscribe(w.ID)
	defer cancelA()
	<-chA
	ingest(t, stB, term, terminalEvent(t, w.ID, "t:"+term, 1, "v:0123456789abcdef0123", workshop.TypeCheckIn, workshop.CheckIn{Via: workshop.ViaCard, Label: "Karte 1"}))
	wait(2)
	select {
	case c := <-chA:
		if c != 2 {
			t.Errorf("a's cursor %d after b's upload", c)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a heard nothing of b's upload")
	}
	// Both act at once on one log: HubSeq stays gapless, every event counts.
	errs := make(chan error, 20)
	for i := range 20 {
		svc := a
		if i%2 == 1 {
			svc = b
		}
		go func() {
			_, err := svc.Act(ctx, w.ID, mod, workshop.TypeTheme, workshop.Theme{Theme: fmt.Sprintf("t%d", i), Name: fmt.Sprintf("Thema %d", i)})
			errs <- err
		}()
	}
	for range 20 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	testutil.Eventually(t, "condition", func() bool {
		va, _ := a.Get(ctx, w.ID)
		vb, _ := b.Get(ctx, w.ID)
		return len(va.State.Themes) == 20 && len(vb.State.Themes) == 20 && va.State.Cursor == 22 && vb.State.Cursor == 22
	})
}

// TestPollsWhileNotListening: a process that cannot LISTEN (here its
// listening URL is unreachable) still hears of others' appends, by
// polling at Opts.Poll.
func TestPollsWhileNotListening(t *testing.T) {
	st := teststores.Open(t, teststores.Postgres)
	svc := newService(t, st, workshops.Opts{PostgresURL: "postgres://qh@127.0.0.1:1/none?connect_timeout=1", Poll: 20 * time.Millisecond})
	run(t, svc)
	ctx := context.Background()
	w, err := svc.Create(ctx, spec(), "anna")
	if err != nil {
		t.Fatal(err)
	}
	ch, cancel := svc.Subscribe(w.ID)
	defer cancel()
	other := workshops.New(st, workshops.Opts{})
	if _, err := other.GoToPhase(ctx, w.ID, workshops.CLIActor("root"), 0); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, "the poll to find the other's append", func() bool {
		select {
		case c := <-ch:
			return c == 1
		default:
			return false
		}
	})
	if svc.Listening() {
		t.Error("listening on an unreachable database")
	}
}

func withPoolSetting(url string) string {
	if strings.Contains(url, "?") {
		return url + "&pool_max_conns=4"
	}
	return url + "?pool_max_conns=4"
}

func TestEvictsIdleWorkshops(t *testing.T) {
	st := teststores.Open(t, teststores.SQLite)
	now := time.Now()
	clock := func() time.Time { return now }
	reg := prometheus.NewRegistry()
	svc := newService(t, st, workshops.Opts{Now: clock, IdleAfter: time.Minute, MaxCached: 2, Metrics: reg})
	ctx := context.Background()
	var ids []string
	for range 4 {
		w, err := svc.Create(ctx, spec(), "anna")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Get(ctx, w.ID); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, w.ID)
		now = now.Add(time.Second)
	}
	_, cancel := svc.Subscribe(ids[0])
	defer cancel()
	cached := func() float64 { return gauge(t, reg, "quartierhub_workshop_cached") }
	if got := cached(); got != 4 {
		t.Fatalf("cached %v", got)
	}
	svc.Evict()
	if got := cached(); got != 2 {
		t.Errorf("after evicting beyond MaxCached: %v", got)
	}
	now = now.Add(2 * time.Minute)
	svc.Evict()
	if got := cached(); got != 1 {
		t.Errorf("after idling: %v (the subscribed one stays)", got)
	}
	if got := gauge(t, reg, "quartierhub_workshop_subscribers"); got != 1 {
		t.Errorf("subscribers %v", got)
	}
	// An evicted workshop loads again.
	if v, err := svc.Get(ctx, ids[3]); err != nil || v.Workshop.ID != ids[3] {
		t.Errorf("after eviction: %v", err)
	}
	// A miss does not stay cached.
	if _, err := svc.Get(ctx, "NOSUCH"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown: %v", err)
	}
	if got := cached(); got != 2 {
		t.Errorf("after a miss: %v", got)
	}
}

func gauge(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// TestEndedTakesModeratorsOnly: after the end a moderator still reveals
// the round; a participant is refused as not open.
func TestEndedTakesModeratorsOnly(t *testing.T) {
	teststores.Each(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		svc, w, voter, idea := openWithIdea(t, st)
		if _, err := svc.GoToPhase(ctx, w.ID, mod, 2); err != nil {
			t.Fatal(err)
		}
		mustAct(t, svc, w.ID, voter, workshop.TypeDot, workshop.Dot{Round: 1, Item: idea.ID})
		if _, err := svc.GoToPhase(ctx, w.ID, mod, -1); err != nil {
			t.Fatal(err)
		}
		_, err := svc.Act(ctx, w.ID, voter, workshop.TypeDot, workshop.Dot{Round: 1, Item: idea.ID})
		if workshops.Reason(err) != workshop.ReasonNotOpen {
			t.Errorf("a dot after the end: %v, want %s", err, workshop.ReasonNotOpen)
		}
		mustAct(t, svc, w.ID, mod, workshop.TypeReveal, workshop.Reveal{Round: 1})
		v, err := svc.Get(ctx, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !v.State.Ended || !v.State.Round(1).Revealed {
			t.Errorf("ended %v, round 1 revealed %v; want both", v.State.Ended, v.State.Round(1).Revealed)
		}
	})
}
