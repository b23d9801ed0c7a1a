package workshop

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	ws "github.com/quartierhub/quartierhub/internal/workshop"
	"github.com/quartierhub/quartierhub/kiosk/outbox"
)

func testInfo(t testing.TB) Info {
	spec := ws.Spec{Title: "Test", Lang: "en", Method: ws.MethodSimple,
		Phases: []ws.PhaseSpec{{Kind: ws.PhaseIdeas, Title: "Ideas"}}, Terminals: []string{"T1"}}
	b, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	return Info{ID: "w1", Title: "Test", Status: "open", Spec: b}
}

// failOnce is the real outbox that refuses its next submission.
type failOnce struct {
	*outbox.Outbox
	fail bool
}

func (f *failOnce) Submit(ctx context.Context, typ string, class outbox.Class, payload []byte) (outbox.Record, error) {
	if f.fail {
		f.fail = false
		return outbox.Record{}, errors.New("disk full")
	}
	return f.Outbox.Submit(ctx, typ, class, payload)
}

func openOffline(t *testing.T, dir string, ob Outbox) *Engine {
	t.Helper()
	e, err := Open(context.Background(), Opts{Path: filepath.Join(dir, File), Outbox: ob,
		Terminal: func() (string, error) { return "T1", nil }, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func openOutbox(t *testing.T, dir string) *outbox.Outbox {
	t.Helper()
	ob, err := outbox.Open(filepath.Join(dir, "outbox.db"), outbox.Opts{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ob.Close() })
	return ob
}

func outboxSeqs(t *testing.T, ob *outbox.Outbox) []uint64 {
	t.Helper()
	recs, err := ob.Peek(context.Background(), 1000, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	var out []uint64
	for _, r := range recs {
		ev, err := ws.DecodeEvent(r.Payload)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ev.Seq)
	}
	return out
}

// A crash after an event was numbered but before the outbox confirmed
// it: the next start hands the very same event (same ID, same number)
// to the outbox, and the numbering goes on after it.
func TestNumberedEventIsResentAfterACrash(t *testing.T) {
	dir := t.TempDir()
	info := testInfo(t)
	lf, _, err := openLog(filepath.Join(dir, File), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := lf.saveInfo(info, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := lf.saveShown(shown{Current: info.ID}); err != nil {
		t.Fatal(err)
	}
	data, _ := ws.Encode(ws.CheckIn{Via: ws.ViaGuest, Label: "Guest 1"})
	ev := ws.Event{ID: ulid.Make().String(), Workshop: info.ID, Device: "t:T1", HLC: ws.HLC{Wall: time.Now().UnixMilli()},
		Actor: "v:g0123456789abcdef", Type: ws.TypeCheckIn, Data: data}
	if err := lf.reserve(&ev, encodeEvent); err != nil {
		t.Fatal(err)
	}
	if err := lf.close(); err != nil {
		t.Fatal(err)
	}

	ob := openOutbox(t, dir)
	e := openOffline(t, dir, ob)
	defer e.Close()
	if got := outboxSeqs(t, ob); len(got) != 1 || got[0] != 1 {
		t.Fatalf("outbox after the restart: %v, want the numbered event", got)
	}
	s := e.Snapshot()
	if s.Queued != 1 || len(s.State.Voters) != 1 || s.State.Voters[0].ID != ev.Actor {
		t.Fatalf("state after the restart: queued %d voters %d", s.Queued, len(s.State.Voters))
	}
	if _, err := e.CheckInGuest(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := outboxSeqs(t, ob); len(got) != 2 || got[1] != 2 {
		t.Fatalf("outbox: %v, want 1 2", got)
	}
	st, err := e.lf.load(info.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Intents) != 0 || len(st.Own) != 2 || st.Seq != 2 {
		t.Fatalf("log: intents %d own %d seq %d", len(st.Intents), len(st.Own), st.Seq)
	}
}

// An event the outbox refuses went nowhere: its number is given back.
func TestRefusedByTheOutboxGivesTheNumberBack(t *testing.T) {
	dir := t.TempDir()
	lf, _, err := openLog(filepath.Join(dir, File), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	info := testInfo(t)
	if err := lf.saveInfo(info, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := lf.saveShown(shown{Current: info.ID}); err != nil {
		t.Fatal(err)
	}
	lf.close()
	ob := &failOnce{Outbox: openOutbox(t, dir), fail: true}
	e := openOffline(t, dir, ob)
	defer e.Close()
	if _, err := e.CheckInGuest(context.Background()); err == nil {
		t.Fatal("a check-in the outbox refused succeeded")
	}
	if s := e.Snapshot(); s.Queued != 0 || len(s.State.Voters) != 0 {
		t.Fatalf("the refused check-in is in the state")
	}
	if _, err := e.CheckInGuest(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := outboxSeqs(t, ob.Outbox); len(got) != 1 || got[0] != 1 {
		t.Fatalf("outbox: %v, want the number 1", got)
	}
}

// A log cut short is set aside, not mapped: the terminal starts with an
// empty log and waits for the hub before it numbers again.
func TestTruncatedLogIsSetAside(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, File)
	lf, _, err := openLog(path, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	info := testInfo(t)
	for i := range 50 {
		info.Title = string(rune('a' + i%26))
		if err := lf.saveInfo(info, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if err := lf.saveShown(shown{Current: info.ID}); err != nil {
		t.Fatal(err)
	}
	lf.close()
	fi, _ := os.Stat(path)
	if err := os.Truncate(path, fi.Size()/2); err != nil {
		t.Fatal(err)
	}
	e := openOffline(t, dir, openOutbox(t, dir))
	defer e.Close()
	if !e.recovered || e.Snapshot().Info != nil {
		t.Fatal("a truncated log was used")
	}
	aside, _ := filepath.Glob(path + ".corrupt-*")
	if len(aside) != 1 {
		t.Fatalf("set aside: %v", aside)
	}
}

// FuzzLogRecords feeds the log's decoders what a damaged file may hold:
// they refuse or decode, never panic, and what they decode is bounded.
func FuzzLogRecords(f *testing.F) {
	info := testInfo(f)
	ib, _ := json.Marshal(info)
	f.Add([]byte(`{"current":"w1","chosen":"w1","left":["w0"]}`), ib, []byte(`{"id":"01JAAAAAAAAAAAAAAAAAAAAAAA","workshop":"w1","device":"t:T1","seq":1,"hlc":{"wall":1,"logical":0},"actor":"v:g1","type":"leave"}`))
	f.Add([]byte(`{"left":[`), []byte(`{"id":""}`), []byte(`{}`))
	f.Fuzz(func(t *testing.T, meta, info, event []byte) {
		if s, err := decodeShown(meta); err == nil && (len(s.Current) > ws.MaxIDLen || len(s.Left) > maxLeft) {
			t.Fatalf("decoded an unbounded meta record")
		}
		if in, err := decodeInfo(info); err == nil && (in.ID == "" || len(in.ID) > ws.MaxIDLen) {
			t.Fatalf("decoded info without a valid ID")
		}
		ev, err := decodeStoredEvent("w1", []byte("k"), event)
		if err == nil {
			t.Fatalf("an event under another key decoded: %+v", ev)
		}
		if ev, err := ws.DecodeEvent(event); err == nil {
			if _, err := decodeStoredEvent(ev.Workshop, []byte(ev.ID), event); err != nil {
				t.Fatalf("a valid event under its key refused: %v", err)
			}
		}
	})
}

// An unsent event the outbox refuses at start does not stop the
// terminal: the engine opens without the workshop and keeps the event
// numbered in the log for the next try.
func TestResendRefusedAtStartKeepsTheTerminalRunning(t *testing.T) {
	dir := t.TempDir()
	info := testInfo(t)
	lf, _, err := openLog(filepath.Join(dir, File), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := lf.saveInfo(info, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := lf.saveShown(shown{Current: info.ID}); err != nil {
		t.Fatal(err)
	}
	data, _ := ws.Encode(ws.CheckIn{Via: ws.ViaGuest, Label: "Guest 1"})
	ev := ws.Event{ID: ulid.Make().String(), Workshop: info.ID, Device: "t:T1", HLC: ws.HLC{Wall: time.Now().UnixMilli()},
		Actor: "v:g0123456789abcdef", Type: ws.TypeCheckIn, Data: data}
	if err := lf.reserve(&ev, encodeEvent); err != nil {
		t.Fatal(err)
	}
	lf.close()
	ob := &failOnce{Outbox: openOutbox(t, dir), fail: true}
	e := openOffline(t, dir, ob)
	if e.Snapshot().Info != nil {
		t.Fatal("a workshop whose unsent event could not be resent is shown")
	}
	st, err := e.lf.load(info.ID)
	if err != nil || len(st.Intents) != 1 || st.Seq != 1 {
		t.Fatalf("log: intents %d seq %d, %v", len(st.Intents), st.Seq, err)
	}
	e.Close()
	e = openOffline(t, dir, ob) // the outbox takes it now
	defer e.Close()
	if got := outboxSeqs(t, ob.Outbox); len(got) != 1 || got[0] != 1 || e.Snapshot().Info == nil {
		t.Fatalf("outbox %v after the second start", got)
	}
}
