package store

import (
	"encoding/json"
	"errors"
	"testing"
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
	if _, err := StampWorkshopEvent([]byte(`[1]`), 1, 0); !errors.Is(err, ErrWorkshopEvent) {
		t.Errorf("StampWorkshopEvent(array) = %v", err)
	}
}
