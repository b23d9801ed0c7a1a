package store

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/quartierhub/quartierhub/internal/workshop"
)

func TestDecodeWorkshopEnvelope(t *testing.T) {
	e, err := DecodeWorkshopEnvelope([]byte(`{"id":"01J","workshop":"W1","device":"t:T1","seq":7,"type":"idea","data":{"text":"x"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if e != (WorkshopEnvelope{ID: "01J", Workshop: "W1", Device: "t:T1", Seq: 7}) {
		t.Errorf("envelope = %+v", e)
	}
	for _, bad := range []string{``, `[]`, `"x"`, `{"id":"01J","workshop":"W1"}`, `{"id":"","workshop":"W1","device":"hub"}`,
		`{"id":"01J","device":"hub"}`, `{"id":1,"workshop":"W1","device":"hub"}`, `{"id":"01J","workshop":"W1","device":"hub","seq":-1}`} {
		if _, err := DecodeWorkshopEnvelope([]byte(bad)); !errors.Is(err, ErrWorkshopEvent) {
			t.Errorf("DecodeWorkshopEnvelope(%q) = %v, want ErrWorkshopEvent", bad, err)
		}
	}
}

func TestStampWorkshopEvent(t *testing.T) {
	body := []byte(`{"id":"01J","workshop":"W1","device":"hub","seq":0,"type":"idea","data":{"text":"<a & b>"}}`)
	got, err := StampWorkshopEvent(body, 42, 42)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(got, &m); err != nil {
		t.Fatal(err)
	}
	if m["hub_seq"] != 42.0 || m["seq"] != 42.0 || m["id"] != "01J" || m["data"].(map[string]any)["text"] != "<a & b>" {
		t.Errorf("stamped = %s", got)
	}
	if string(got) != `{"data":{"text":"<a & b>"},"device":"hub","hub_seq":42,"id":"01J","seq":42,"type":"idea","workshop":"W1"}` {
		t.Errorf("stamped = %s (HTML escaped or not compact?)", got)
	}
	// seq 0 leaves the author's seq.
	got, err = StampWorkshopEvent([]byte(`{"id":"01J","seq":5}`), 9, 0)
	if err != nil || string(got) != `{"hub_seq":9,"id":"01J","seq":5}` {
		t.Errorf("StampWorkshopEvent(seq 0) = %s, %v", got, err)
	}
	for _, bad := range []string{`[1]`, `{"id":"a","ID":"b"}`, `{"Hub_Seq":3}`} {
		if _, err := StampWorkshopEvent([]byte(bad), 1, 0); !errors.Is(err, ErrWorkshopEvent) {
			t.Errorf("StampWorkshopEvent(%s) = %v, want ErrWorkshopEvent", bad, err)
		}
	}
}

// The store's bound is the workshop model's (the store does not import
// the model's fold; its tests may).
func TestMaxWorkshopEvents(t *testing.T) {
	if MaxWorkshopEvents != workshop.MaxEventsPerLog {
		t.Errorf("store.MaxWorkshopEvents %d, workshop.MaxEventsPerLog %d", MaxWorkshopEvents, workshop.MaxEventsPerLog)
	}
}

// The planner numbers new events gaplessly after the log's end, gives a
// repeat the first one's HubSeq, refuses what is not this workshop's and
// stops at the bound without holes.
func TestPlanWorkshopAppend(t *testing.T) {
	ev := func(id, ws, device string, seq uint64) PlannedEvent {
		return PlannedEvent{Envelope: WorkshopEnvelope{ID: id, Workshop: ws, Device: device, Seq: seq},
			Body: []byte(`{"id":"` + id + `","workshop":"` + ws + `","device":"` + device + `"}`)}
	}
	evs := []PlannedEvent{ev("a", "W", "hub", 0), ev("b", "W", "t:1", 4), ev("a", "W", "hub", 0), ev("x", "V", "hub", 0),
		ev("s", "W", "t:1", 3), ev("o", "W", "t:1", 1), ev("c", "W", "t:1", 5)}
	stored := map[string]StoredEventRef{"s": {Workshop: "W", HubSeq: 2}, "o": {Workshop: "V", HubSeq: 1}}
	last := PlanWorkshopAppend("W", MaxWorkshopEvents-2, evs, stored)
	if last != MaxWorkshopEvents {
		t.Errorf("last = %d, want the bound", last)
	}
	want := []struct {
		hubSeq uint64
		new    bool
		err    error
	}{{MaxWorkshopEvents - 1, true, nil}, {MaxWorkshopEvents, true, nil}, {MaxWorkshopEvents - 1, false, nil},
		{0, false, ErrWorkshopEvent}, {2, false, nil}, {0, false, ErrWorkshopEvent}, {0, false, ErrWorkshopFull}}
	for i, w := range want {
		e := evs[i]
		if e.HubSeq != w.hubSeq || e.New != w.new || !errors.Is(e.Err, w.err) || (w.err == nil) != (e.Err == nil) {
			t.Errorf("event %d (%s): HubSeq %d new %v err %v; want %d %v %v", i, e.Envelope.ID, e.HubSeq, e.New, e.Err, w.hubSeq, w.new, w.err)
		}
	}
	if evs[0].Envelope.Seq != MaxWorkshopEvents-1 || !strings.Contains(string(evs[0].Body), `"seq":99999`) || !strings.Contains(string(evs[1].Body), `"hub_seq":100000`) {
		t.Errorf("stamps: %+v %s %s", evs[0].Envelope, evs[0].Body, evs[1].Body)
	}
}

func FuzzWorkshopEnvelope(f *testing.F) {
	f.Add([]byte(`{"id":"01J","workshop":"W1","device":"t:T1","seq":7,"type":"idea","data":{"text":"<x>"}}`), uint64(3))
	f.Add([]byte(`{"id":"01J","workshop":"W1","device":"hub","id":"02J"}`), uint64(1))
	f.Add([]byte(`{"id":"\ud800","workshop":"W","device":"hub","seq":1e3}`), uint64(1))
	f.Add([]byte(`{"id":"a","workshop":"W","device":"hub","ID":"b"}`), uint64(1))
	f.Fuzz(func(t *testing.T, body []byte, hubSeq uint64) {
		env, err := DecodeWorkshopEnvelope(body)
		if err != nil {
			if !errors.Is(err, ErrWorkshopEvent) {
				t.Fatalf("error %v is not ErrWorkshopEvent", err)
			}
			return
		}
		var seq uint64
		if env.Device == WorkshopDeviceHub && env.Seq == 0 {
			seq = hubSeq
		}
		stamped, err := StampWorkshopEvent(body, hubSeq, seq)
		if err != nil {
			if !errors.Is(err, ErrWorkshopEvent) {
				t.Fatalf("error %v is not ErrWorkshopEvent", err)
			}
			return
		}
		again, err := DecodeWorkshopEnvelope(stamped)
		want := env
		want.HubSeq = hubSeq
		if seq != 0 {
			want.Seq = seq
		}
		if err != nil || again != want {
			t.Fatalf("stamped %s reads %+v, %v; want %+v", stamped, again, err, want)
		}
	})
}
