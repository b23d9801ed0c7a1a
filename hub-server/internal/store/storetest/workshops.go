package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

var workshopTests = []struct {
	name string
	fn   func(t *testing.T, s store.Store)
}{
	{"WorkshopCreateAndRead", testWorkshopCreate},
	{"WorkshopUpdateCompareAndSwap", testWorkshopUpdateCAS},
	{"WorkshopAppendIdempotent", testWorkshopAppend},
	{"WorkshopAppendRefusals", testWorkshopAppendRefusals},
	{"WorkshopAppendConcurrentGapless", testWorkshopConcurrent},
	{"WorkshopIngestMixedBatch", testWorkshopIngest},
	{"WorkshopIngestFailedBatchReportsNothing", testWorkshopIngestFailed},
	{"WorkshopLogFull", testWorkshopLogFull},
}

func testWorkshop(id, code string, created time.Time) store.Workshop {
	return store.Workshop{ID: id, Title: "Elbufer " + id, JoinCode: code, Status: store.WorkshopDraft,
		Spec: []byte(`{"title":"Elbufer ` + id + `","question":"Was fehlt am Elbufer?","method":"simple"}`), CreatedBy: "m:anna",
		CreatedAt: created, UpdatedAt: created}
}

func mustWorkshop(t *testing.T, s store.Store, id, code string) store.Workshop {
	t.Helper()
	w := testWorkshop(id, code, t0)
	if err := s.CreateWorkshop(context.Background(), w, store.Audit{At: t0, Actor: "anna", Action: "workshop.create", Subject: id}); err != nil {
		t.Fatalf("CreateWorkshop(%s): %v", id, err)
	}
	return w
}

// wsBody is an event's JSON as a device writes it (no hub_seq).
func wsBody(id, workshop, device string, seq uint64) []byte {
	return fmt.Appendf(nil, `{"id":%q,"workshop":%q,"device":%q,"seq":%d,"hlc":{"wall":1764000000000,"logical":0},"actor":"v:0123456789abcdef0123",`+
		`"type":"idea","data":{"text":"Bänke <am> \"Elbufer\" & Schatten","phase":0}}`, id, workshop, device, seq)
}

func wsEvent(id, workshop, device string, seq uint64) store.WorkshopEvent {
	return store.WorkshopEvent{Body: wsBody(id, workshop, device, seq)}
}

func appendEvents(t *testing.T, s store.Store, workshop string, evs ...store.WorkshopEvent) []uint64 {
	t.Helper()
	seqs, err := s.AppendWorkshopEvents(context.Background(), workshop, evs, store.Audit{})
	if err != nil {
		t.Fatalf("AppendWorkshopEvents(%s): %v", workshop, err)
	}
	if len(seqs) != len(evs) {
		t.Fatalf("AppendWorkshopEvents(%s) returned %d HubSeqs for %d events", workshop, len(seqs), len(evs))
	}
	return seqs
}

func allEvents(t *testing.T, s store.Store, workshop string) []store.WorkshopEvent {
	t.Helper()
	evs, err := s.WorkshopEvents(context.Background(), workshop, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// checkGapless fails unless evs are HubSeq 1…len(evs) with distinct IDs,
// each body carrying its row's ID, workshop, HubSeq and seq.
func checkGapless(t *testing.T, workshop string, evs []store.WorkshopEvent) {
	t.Helper()
	ids := map[string]bool{}
	for i, e := range evs {
		if e.HubSeq != uint64(i+1) || e.Workshop != workshop || ids[e.ID] {
			t.Fatalf("event %d of %s: HubSeq %d, workshop %s, ID %s seen before: %v", i, workshop, e.HubSeq, e.Workshop, e.ID, ids[e.ID])
		}
		ids[e.ID] = true
		var env store.WorkshopEnvelope
		if err := json.Unmarshal(e.Body, &env); err != nil {
			t.Fatalf("event %s: body %s: %v", e.ID, e.Body, err)
		}
		if env != (store.WorkshopEnvelope{ID: e.ID, Workshop: workshop, Device: e.Device, Seq: e.Seq, HubSeq: e.HubSeq}) {
			t.Fatalf("event %s: body's envelope %+v disagrees with the row %+v", e.ID, env, e)
		}
	}
}

// A workshop reads back as created (Version 1, LastSeq 0), by ID and by
// join code; IDs and join codes are unique; the list is newest first;
// creating is audited.
func testWorkshopCreate(t *testing.T, s store.Store) {
	ctx := context.Background()
	if ws, err := s.Workshops(ctx); err != nil || len(ws) != 0 {
		t.Fatalf("empty: %v, %v", ws, err)
	}
	a := mustWorkshop(t, s, "W1", "ELBE42")
	b := testWorkshop("W2", "PARK17", t0.Add(time.Hour))
	b.Status, b.LastSeq, b.Version = store.WorkshopOpen, 99, 7 // ignored
	if err := s.CreateWorkshop(ctx, b, store.Audit{At: t0, Actor: "anna", Action: "workshop.create", Subject: "W2"}); err != nil {
		t.Fatal(err)
	}
	b.LastSeq, b.Version = 0, 1
	a.Version = 1
	got, err := s.Workshop(ctx, "W1")
	if err != nil || !sameWorkshop(got, a) {
		t.Errorf("Workshop(W1) = %+v, %v; want %+v", got, err, a)
	}
	got, err = s.WorkshopByJoinCode(ctx, "PARK17")
	if err != nil || !sameWorkshop(got, b) {
		t.Errorf("WorkshopByJoinCode(PARK17) = %+v, %v; want %+v", got, err, b)
	}
	if _, err := s.Workshop(ctx, "W9"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Workshop(W9): %v, want ErrNotFound", err)
	}
	if _, err := s.WorkshopByJoinCode(ctx, "elbe42"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("WorkshopByJoinCode(elbe42): %v, want ErrNotFound (codes compare exactly)", err)
	}
	ws, err := s.Workshops(ctx)
	if err != nil || len(ws) != 2 || ws[0].ID != "W2" || ws[1].ID != "W1" {
		t.Errorf("Workshops = %+v, %v; want W2, W1", ws, err)
	}
	if err := s.CreateWorkshop(ctx, testWorkshop("W3", "ELBE42", t0), store.Audit{At: t0, Actor: "anna", Action: "workshop.create"}); !errors.Is(err, store.ErrJoinCodeTaken) {
		t.Errorf("a second ELBE42: %v, want ErrJoinCodeTaken", err)
	}
	if err := s.CreateWorkshop(ctx, testWorkshop("W1", "NEU001", t0), store.Audit{At: t0, Actor: "anna", Action: "workshop.create"}); !errors.Is(err, store.ErrWorkshopExists) {
		t.Errorf("a second W1: %v, want ErrWorkshopExists", err)
	}
	if ws, _ := s.Workshops(ctx); len(ws) != 2 {
		t.Errorf("refused creations stored something: %+v", ws)
	}
	if au := auditsOf(t, s, "workshop.create"); len(au) != 2 {
		t.Errorf("audit entries of workshop.create: %+v, want the 2 that happened", au)
	}
}

func sameWorkshop(a, b store.Workshop) bool {
	return a.ID == b.ID && a.Title == b.Title && a.JoinCode == b.JoinCode && a.Status == b.Status && string(a.Spec) == string(b.Spec) &&
		a.Version == b.Version && a.CreatedBy == b.CreatedBy && a.CreatedAt.Equal(b.CreatedAt) && a.UpdatedAt.Equal(b.UpdatedAt) && a.LastSeq == b.LastSeq
}

// UpdateWorkshop stores a change only at the version read (two
// moderators never undo each other unseen), keeps join codes unique,
// leaves LastSeq to the appends, and audits when asked.
func testWorkshopUpdateCAS(t *testing.T, s store.Store) {
	ctx := context.Background()
	mustWorkshop(t, s, "W1", "ELBE42")
	mustWorkshop(t, s, "W2", "PARK17")
	appendEvents(t, s, "W1", wsEvent("01JE0000000000000000000001", "W1", "hub", 0))
	read, err := s.Workshop(ctx, "W1")
	if err != nil {
		t.Fatal(err)
	}
	mine, theirs := read, read
	mine.Title, mine.Status, mine.Spec, mine.UpdatedAt = "Elbufer neu", store.WorkshopOpen, []byte(`{"title":"Elbufer neu"}`), t0.Add(time.Minute)
	mine.LastSeq = 50 // not the update's to set
	saved, err := s.UpdateWorkshop(ctx, mine, store.Audit{At: t0, Actor: "anna", Action: "workshop.open", Subject: "W1"})
	if err != nil || saved.Version != 2 {
		t.Fatalf("UpdateWorkshop = version %d, %v; want 2", saved.Version, err)
	}
	theirs.Title = "Elbufer alt"
	if _, err := s.UpdateWorkshop(ctx, theirs, store.Audit{At: t0, Actor: "ben", Action: "workshop.edit", Subject: "W1"}); !errors.Is(err, store.ErrVersionConflict) {
		t.Errorf("update at the old version: %v, want ErrVersionConflict", err)
	}
	got, _ := s.Workshop(ctx, "W1")
	mine.Version, mine.LastSeq = 2, 1
	if !sameWorkshop(got, mine) {
		t.Errorf("after the updates: %+v, want %+v", got, mine)
	}
	taken := got
	taken.JoinCode = "PARK17"
	if _, err := s.UpdateWorkshop(ctx, taken, store.Audit{}); !errors.Is(err, store.ErrJoinCodeTaken) {
		t.Errorf("update to W2's code: %v, want ErrJoinCodeTaken", err)
	}
	ghost := got
	ghost.ID = "W9"
	if _, err := s.UpdateWorkshop(ctx, ghost, store.Audit{}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("update of W9: %v, want ErrNotFound", err)
	}
	got.JoinCode = "ELBE43"
	if saved, err = s.UpdateWorkshop(ctx, got, store.Audit{}); err != nil || saved.Version != 3 {
		t.Fatalf("unaudited update: version %d, %v", saved.Version, err)
	}
	if w, err := s.WorkshopByJoinCode(ctx, "ELBE43"); err != nil || w.ID != "W1" {
		t.Errorf("by the new code: %+v, %v", w, err)
	}
	if _, err := s.WorkshopByJoinCode(ctx, "ELBE42"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("by the old code: %v, want ErrNotFound", err)
	}
	if au := auditsOf(t, s, "workshop.open"); len(au) != 1 || au[0].Subject != "W1" {
		t.Errorf("audit of the update: %+v", au)
	}
	if au := auditsOf(t, s, "workshop.edit"); len(au) != 0 {
		t.Errorf("the refused update was audited: %+v", au)
	}
}

// Appending stamps gapless HubSeqs in order; the same event ID again —
// in a later call or the same one — returns its stored HubSeq and stores
// nothing; a hub event without seq gets its HubSeq as seq; bodies carry
// hub_seq; WorkshopEvents pages by after and limit.
func testWorkshopAppend(t *testing.T, s store.Store) {
	ctx := context.Background()
	mustWorkshop(t, s, "W1", "ELBE42")
	mustWorkshop(t, s, "W2", "PARK17")
	e1, e2, e3 := wsEvent("01JE0000000000000000000001", "W1", "t:T-a", 1), wsEvent("01JE0000000000000000000002", "W1", "hub", 0),
		wsEvent("01JE0000000000000000000003", "W1", "t:T-a", 2)
	e1.ReceivedAt = t0.Add(time.Second)
	if got := appendEvents(t, s, "W1", e1, e2, e3); !slices.Equal(got, []uint64{1, 2, 3}) {
		t.Fatalf("first append: %v, want [1 2 3]", got)
	}
	e4 := wsEvent("01JE0000000000000000000004", "", "hub", 0)
	e4.Body = wsBody("01JE0000000000000000000004", "W1", "hub", 0)
	if got := appendEvents(t, s, "W1", e3, e4, e1, e4); !slices.Equal(got, []uint64{3, 4, 1, 4}) {
		t.Errorf("append with repeats: %v, want [3 4 1 4]", got)
	}
	if got := appendEvents(t, s, "W2", wsEvent("01JE0000000000000000000005", "W2", "hub", 0)); !slices.Equal(got, []uint64{1}) {
		t.Errorf("W2's first: %v, want [1] (HubSeq is per workshop)", got)
	}
	evs := allEvents(t, s, "W1")
	checkGapless(t, "W1", evs)
	if len(evs) != 4 {
		t.Fatalf("W1 has %d events, want 4", len(evs))
	}
	want := []struct {
		id     string
		device string
		seq    uint64
	}{{"01JE0000000000000000000001", "t:T-a", 1}, {"01JE0000000000000000000002", "hub", 2}, {"01JE0000000000000000000003", "t:T-a", 2}, {"01JE0000000000000000000004", "hub", 4}}
	for i, w := range want {
		if evs[i].ID != w.id || evs[i].Device != w.device || evs[i].Seq != w.seq {
			t.Errorf("event %d: %s %s seq %d, want %s %s seq %d", i, evs[i].ID, evs[i].Device, evs[i].Seq, w.id, w.device, w.seq)
		}
	}
	if !evs[0].ReceivedAt.Equal(t0.Add(time.Second)) || evs[1].ReceivedAt.IsZero() {
		t.Errorf("received: %v, %v; want the given time and now", evs[0].ReceivedAt, evs[1].ReceivedAt)
	}
	var body map[string]any
	if err := json.Unmarshal(evs[0].Body, &body); err != nil {
		t.Fatal(err)
	}
	if body["data"].(map[string]any)["text"] != `Bänke <am> "Elbufer" & Schatten` || body["actor"] != "v:0123456789abcdef0123" || body["type"] != "idea" {
		t.Errorf("the body lost the author's content: %s", evs[0].Body)
	}
	if page, err := s.WorkshopEvents(ctx, "W1", 1, 2); err != nil || len(page) != 2 || page[0].HubSeq != 2 || page[1].HubSeq != 3 {
		t.Errorf("WorkshopEvents(after 1, limit 2) = %+v, %v", page, err)
	}
	if page, err := s.WorkshopEvents(ctx, "W1", 4, 0); err != nil || len(page) != 0 {
		t.Errorf("WorkshopEvents(after 4) = %+v, %v", page, err)
	}
	if page, err := s.WorkshopEvents(ctx, "W9", 0, 0); err != nil || len(page) != 0 {
		t.Errorf("WorkshopEvents(W9) = %+v, %v", page, err)
	}
	if w, _ := s.Workshop(ctx, "W1"); w.LastSeq != 4 || w.Version != 1 {
		t.Errorf("W1: LastSeq %d, Version %d; want 4 and 1 (appends are not edits)", w.LastSeq, w.Version)
	}
	if seqs, err := s.AppendWorkshopEvents(ctx, "W1", nil, store.Audit{}); err != nil || len(seqs) != 0 {
		t.Errorf("no events: %v, %v", seqs, err)
	}
	a := store.Audit{At: t0, Actor: "anna", Action: "workshop.phase", Subject: "W1"}
	if _, err := s.AppendWorkshopEvents(ctx, "W1", []store.WorkshopEvent{wsEvent("01JE0000000000000000000006", "W1", "hub", 0)}, a); err != nil {
		t.Fatal(err)
	}
	if au := auditsOf(t, s, "workshop.phase"); len(au) != 1 {
		t.Errorf("audit of the append: %+v", au)
	}
}

// What AppendWorkshopEvents refuses, it refuses whole: nothing of the
// call is stored and HubSeq does not move.
func testWorkshopAppendRefusals(t *testing.T, s store.Store) {
	ctx := context.Background()
	mustWorkshop(t, s, "W1", "ELBE42")
	mustWorkshop(t, s, "W2", "PARK17")
	appendEvents(t, s, "W2", wsEvent("01JE000000000000000000000Z", "W2", "hub", 0))
	good := wsEvent("01JE0000000000000000000001", "W1", "hub", 0)
	stamped := wsEvent("01JE0000000000000000000002", "W1", "hub", 0)
	stamped.Body = []byte(`{"id":"01JE0000000000000000000002","workshop":"W1","device":"hub","seq":1,"hub_seq":7}`)
	disagree := wsEvent("01JE0000000000000000000003", "W1", "hub", 0)
	disagree.ID = "01JE0000000000000000000009"
	for name, tc := range map[string]struct {
		workshop string
		ev       store.WorkshopEvent
		want     error
	}{
		"unknown workshop":         {"W9", wsEvent("01JE0000000000000000000001", "W9", "hub", 0), store.ErrNotFound},
		"body of another workshop": {"W1", wsEvent("01JE0000000000000000000004", "W2", "hub", 0), store.ErrWorkshopEvent},
		"field of another":         {"W1", store.WorkshopEvent{Workshop: "W2", Body: wsBody("01JE0000000000000000000004", "W1", "hub", 0)}, store.ErrWorkshopEvent},
		"already stamped":          {"W1", stamped, store.ErrWorkshopEvent},
		"fields disagree":          {"W1", disagree, store.ErrWorkshopEvent},
		"not JSON":                 {"W1", store.WorkshopEvent{Body: []byte(`{"id":`)}, store.ErrWorkshopEvent},
		"no device":                {"W1", store.WorkshopEvent{Body: []byte(`{"id":"01JE0000000000000000000005","workshop":"W1"}`)}, store.ErrWorkshopEvent},
		"ID of W2's event":         {"W1", wsEvent("01JE000000000000000000000Z", "W1", "hub", 0), store.ErrWorkshopEvent},
	} {
		evs := []store.WorkshopEvent{good, tc.ev}
		if tc.workshop != "W1" {
			evs = evs[1:]
		}
		seqs, err := s.AppendWorkshopEvents(ctx, tc.workshop, evs, store.Audit{At: t0, Actor: "anna", Action: "workshop.refused"})
		if !errors.Is(err, tc.want) || seqs != nil {
			t.Errorf("%s: %v, %v; want %v", name, seqs, err, tc.want)
		}
	}
	if evs := allEvents(t, s, "W1"); len(evs) != 0 {
		t.Errorf("refused appends stored %d events", len(evs))
	}
	if w, _ := s.Workshop(ctx, "W1"); w.LastSeq != 0 {
		t.Errorf("refused appends moved LastSeq to %d", w.LastSeq)
	}
	if au := auditsOf(t, s, "workshop.refused"); len(au) != 0 {
		t.Errorf("refused appends were audited: %+v", au)
	}
	if got := appendEvents(t, s, "W1", good); !slices.Equal(got, []uint64{1}) {
		t.Errorf("after the refusals: %v, want [1]", got)
	}
}

// Appends and uploads from many goroutines at once — overlapping event
// IDs, two workshops, three terminals — leave each log gapless with every
// event once, at the HubSeq its caller was told.
func testWorkshopConcurrent(t *testing.T, s store.Store) {
	ctx := context.Background()
	mustWorkshop(t, s, "W1", "ELBE42")
	mustWorkshop(t, s, "W2", "PARK17")
	terms := []store.Terminal{enrol(t, s, "a", 1), enrol(t, s, "b", 2), enrol(t, s, "c", 3)}
	const writers, rounds = 6, 15
	type told struct {
		id     string
		hubSeq uint64
	}
	var mu sync.Mutex
	var results []told
	errs := make(chan error, writers)
	var wg sync.WaitGroup
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				w := []string{"W1", "W2"}[r%2]
				// Writer g's second event is writer g+1's first: the same
				// event arriving twice at about the same moment.
				idA, idB := fmt.Sprintf("01JE%02d%02d%018d", g, r, 0), fmt.Sprintf("01JE%02d%02d%018d", (g+1)%writers, r, 0)
				if g%2 == 0 {
					seqs, err := s.AppendWorkshopEvents(ctx, w, []store.WorkshopEvent{wsEvent(idA, w, "hub", 0), wsEvent(idB, w, "hub", 0)}, store.Audit{})
					if err != nil {
						errs <- err
						return
					}
					mu.Lock()
					results = append(results, told{idA, seqs[0]}, told{idB, seqs[1]})
					mu.Unlock()
					continue
				}
				term := terms[g%len(terms)]
				recs := records(1000*g+10*r, 2) // ordinary records beside the events
				recs = append(recs,
					api.Record{ID: ulid(100000 + 1000*g + 10*r), Type: api.RecordWorkshopEvent, Class: api.ClassResident, CreatedAt: t0, Payload: wsBody(idA, w, "t:"+term.ID, uint64(r+1))},
					api.Record{ID: ulid(100001 + 1000*g + 10*r), Type: api.RecordWorkshopEvent, Class: api.ClassResident, CreatedAt: t0, Payload: wsBody(idB, w, "t:"+term.ID, uint64(r+1))})
				if _, err := s.IngestBatch(ctx, term.ID, recs, t0.Add(time.Hour)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	stored := map[string]uint64{}
	for _, w := range []string{"W1", "W2"} {
		evs := allEvents(t, s, w)
		checkGapless(t, w, evs)
		for _, e := range evs {
			if _, dup := stored[e.ID]; dup {
				t.Errorf("event %s is in both workshops", e.ID)
			}
			stored[e.ID] = e.HubSeq
		}
		if ws, _ := s.Workshop(ctx, w); ws.LastSeq != uint64(len(evs)) {
			t.Errorf("%s: LastSeq %d, %d events", w, ws.LastSeq, len(evs))
		}
	}
	if len(stored) != writers*rounds {
		t.Errorf("%d distinct events stored, want %d", len(stored), writers*rounds)
	}
	for _, r := range results {
		if stored[r.id] != r.hubSeq {
			t.Errorf("event %s: caller told HubSeq %d, stored at %d", r.id, r.hubSeq, stored[r.id])
		}
	}
	for _, r := range exportAll(t, s, store.ExportFilter{}) {
		if r.Type == api.RecordWorkshopEvent {
			t.Fatalf("a workshop event went to the records: %+v", r)
		}
	}
}

// A batch mixing ordinary records and workshop events: the events go to
// their logs (not the records) in the same transaction; an event of an
// unknown workshop, another device or with an unusable envelope is
// acknowledged and dropped, never failing the batch; the ack counts what
// was not newly stored as duplicates; the hook hears what advanced. The
// same batch again changes nothing. An event appended live and then
// uploaded is stored once.
func testWorkshopIngest(t *testing.T, s store.Store) {
	term := enrol(t, s, "a", 1)
	mustWorkshop(t, s, "W1", "ELBE42")
	mustWorkshop(t, s, "W2", "PARK17")
	var reports []store.WorkshopAppend
	s.OnWorkshopAppend(func(wa store.WorkshopAppend) { reports = append(reports, wa) })
	device := "t:" + term.ID
	live := wsBody("01JE0000000000000000000001", "W2", device, 1)
	if got := appendEvents(t, s, "W2", store.WorkshopEvent{Body: live}); !slices.Equal(got, []uint64{1}) {
		t.Fatalf("live append: %v", got)
	}
	if len(reports) != 1 || !slices.Equal(reports[0].Workshops, []string{"W2"}) || reports[0].Terminal != "" || reports[0].Dropped != 0 {
		t.Fatalf("hook after the live append: %+v", reports)
	}
	reports = nil
	ev := func(k int, payload []byte) api.Record {
		return api.Record{ID: ulid(500 + k), Type: api.RecordWorkshopEvent, Class: api.ClassResident, CreatedAt: t0.Add(time.Duration(k) * time.Second), Payload: payload}
	}
	recs := records(0, 3)
	recs = append(recs[:1], append([]api.Record{
		ev(0, wsBody("01JE0000000000000000000002", "W1", device, 1)),
		ev(1, wsBody("01JE0000000000000000000003", "W9", device, 2)),               // unknown workshop
		ev(2, wsBody("01JE0000000000000000000004", "W1", "t:T-other", 1)),          // another terminal's
		ev(3, wsBody("01JE0000000000000000000005", "W1", "hub", 7)),                // the hub's
		ev(4, []byte(`{"id":"01JE0000000000000000000006","device":"`+device+`"}`)), // no workshop
		ev(5, wsBody("01JE0000000000000000000007", "W2", device, 2)),
		ev(6, wsBody("01JE0000000000000000000002", "W1", device, 1)), // repeated in the batch
		ev(7, live), // already stored live
		ev(8, wsBody("01JE0000000000000000000008", "W1", device, 3)),
	}, recs[1:]...)...)
	ack := ingest(t, s, term.ID, recs)
	// 3 records + 3 new events stored; 1 repeat, 1 live duplicate, 4 dropped.
	if ack.Stored != 6 || ack.Duplicates != 6 {
		t.Errorf("ack %+v, want 6 stored, 6 duplicates", ack)
	}
	if len(reports) != 1 || !slices.Equal(reports[0].Workshops, []string{"W1", "W2"}) || reports[0].Terminal != term.ID || reports[0].Dropped != 4 {
		t.Errorf("hook after the upload: %+v, want W1 and W2 advanced by %s, 4 dropped", reports, term.ID)
	}
	w1, w2 := allEvents(t, s, "W1"), allEvents(t, s, "W2")
	checkGapless(t, "W1", w1)
	checkGapless(t, "W2", w2)
	ids := func(evs []store.WorkshopEvent) []string {
		var out []string
		for _, e := range evs {
			out = append(out, e.ID)
		}
		return out
	}
	if got := ids(w1); !slices.Equal(got, []string{"01JE0000000000000000000002", "01JE0000000000000000000008"}) {
		t.Errorf("W1's log: %v", got)
	}
	if got := ids(w2); !slices.Equal(got, []string{"01JE0000000000000000000001", "01JE0000000000000000000007"}) {
		t.Errorf("W2's log: %v", got)
	}
	if !w1[0].ReceivedAt.Equal(t0.Add(time.Hour)) || w1[1].Seq != 3 || w1[1].Device != device {
		t.Errorf("W1's events: %+v", w1)
	}
	exported := exportAll(t, s, store.ExportFilter{})
	if len(exported) != 3 {
		t.Errorf("records: %d, want the 3 ordinary ones", len(exported))
	}
	for _, r := range exported {
		if r.Type == api.RecordWorkshopEvent {
			t.Errorf("a workshop event went to the records: %+v", r)
		}
	}
	// The terminal did not hear the ack and sends the batch again.
	reports = nil
	if ack := ingest(t, s, term.ID, recs); ack.Stored != 0 || ack.Duplicates != len(recs) {
		t.Errorf("the same batch again: %+v, want all duplicates", ack)
	}
	if len(reports) != 1 || len(reports[0].Workshops) != 0 || reports[0].Dropped != 4 {
		t.Errorf("hook after the repeat: %+v, want nothing advanced, 4 dropped", reports)
	}
	if n1, n2 := len(allEvents(t, s, "W1")), len(allEvents(t, s, "W2")); n1 != 2 || n2 != 2 {
		t.Errorf("after the repeat: %d and %d events, want 2 and 2", n1, n2)
	}
	// No workshop events: the hook hears nothing.
	reports = nil
	ingest(t, s, term.ID, records(10, 2))
	s.OnWorkshopAppend(nil)
	appendEvents(t, s, "W1", wsEvent("01JE0000000000000000000009", "W1", "hub", 0))
	if len(reports) != 0 {
		t.Errorf("hook called without workshop events or after removal: %+v", reports)
	}
}

// A batch the store refuses (revoked terminal) stores none of its
// events and reports nothing.
func testWorkshopIngestFailed(t *testing.T, s store.Store) {
	ctx := context.Background()
	term := enrol(t, s, "a", 1)
	mustWorkshop(t, s, "W1", "ELBE42")
	called := 0
	s.OnWorkshopAppend(func(store.WorkshopAppend) { called++ })
	if err := s.RevokeTerminal(ctx, term.ID, t0); err != nil {
		t.Fatal(err)
	}
	recs := []api.Record{{ID: ulid(1), Type: api.RecordWorkshopEvent, Class: api.ClassResident, CreatedAt: t0,
		Payload: wsBody("01JE0000000000000000000001", "W1", "t:"+term.ID, 1)}}
	if _, err := s.IngestBatch(ctx, term.ID, recs, t0); !errors.Is(err, store.ErrRevoked) {
		t.Fatalf("revoked: %v", err)
	}
	if evs := allEvents(t, s, "W1"); len(evs) != 0 || called != 0 {
		t.Errorf("a refused batch stored %d events, hook called %d times", len(evs), called)
	}
}

// A log holds store.MaxWorkshopEvents events: an append beyond is refused
// whole (ErrWorkshopFull); an upload beyond is acknowledged and its
// events dropped, so the terminal's outbox moves on; events already
// stored still answer as duplicates.
func testWorkshopLogFull(t *testing.T, s store.Store) {
	ctx := context.Background()
	term := enrol(t, s, "a", 1)
	mustWorkshop(t, s, "W1", "ELBE42")
	mustWorkshop(t, s, "W2", "PARK17")
	evs := make([]store.WorkshopEvent, store.MaxWorkshopEvents-1)
	for i := range evs {
		evs[i] = store.WorkshopEvent{Body: fmt.Appendf(nil, `{"id":"E%d","workshop":"W1","device":"hub"}`, i)}
	}
	if seqs := appendEvents(t, s, "W1", evs...); seqs[len(seqs)-1] != store.MaxWorkshopEvents-1 {
		t.Fatalf("last HubSeq %d", seqs[len(seqs)-1])
	}
	last := wsEvent("01JE0000000000000000000001", "W1", "hub", 0)
	over := wsEvent("01JE0000000000000000000002", "W1", "hub", 0)
	if _, err := s.AppendWorkshopEvents(ctx, "W1", []store.WorkshopEvent{last, over}, store.Audit{}); !errors.Is(err, store.ErrWorkshopFull) {
		t.Fatalf("one too many: %v, want ErrWorkshopFull", err)
	}
	if got := appendEvents(t, s, "W1", last, evs[0]); !slices.Equal(got, []uint64{store.MaxWorkshopEvents, 1}) {
		t.Fatalf("the last one and an old one: %v", got)
	}
	var reports []store.WorkshopAppend
	s.OnWorkshopAppend(func(wa store.WorkshopAppend) { reports = append(reports, wa) })
	device := "t:" + term.ID
	recs := []api.Record{
		{ID: ulid(1), Type: api.RecordWorkshopEvent, Class: api.ClassResident, CreatedAt: t0, Payload: wsBody("01JE0000000000000000000003", "W1", device, 1)},
		{ID: ulid(2), Type: api.RecordWorkshopEvent, Class: api.ClassResident, CreatedAt: t0, Payload: wsBody("01JE0000000000000000000004", "W2", device, 1)},
	}
	if ack := ingest(t, s, term.ID, recs); ack.Stored != 1 || ack.Duplicates != 1 {
		t.Errorf("upload to a full log: %+v, want W2's stored and W1's dropped", ack)
	}
	if len(reports) != 1 || !slices.Equal(reports[0].Workshops, []string{"W2"}) || reports[0].Dropped != 1 {
		t.Errorf("hook: %+v", reports)
	}
	if w, _ := s.Workshop(ctx, "W1"); w.LastSeq != store.MaxWorkshopEvents {
		t.Errorf("W1's LastSeq %d", w.LastSeq)
	}
	if page, err := s.WorkshopEvents(ctx, "W1", store.MaxWorkshopEvents-1, 10); err != nil || len(page) != 1 || page[0].ID != "01JE0000000000000000000001" {
		t.Errorf("the log's end: %+v, %v", page, err)
	}
}
