package api_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/quartierhub/quartierhub/hub-server/api"
)

const liveEvent = `{"id":"01JX0000000000000000000001","workshop":"W1","device":"t:T1","seq":1,"hlc":{"wall":1,"logical":0},"actor":"v:1","type":"leave"}`

func liveEvents(n int) string {
	return `{"type":"events","events":[` + strings.TrimSuffix(strings.Repeat(liveEvent+",", n), ",") + `]}`
}

func TestDecodeTerminalLive(t *testing.T) {
	m, err := api.DecodeTerminalLive([]byte(liveEvents(2)))
	if err != nil || m.Type != api.LiveEvents || len(m.Events) != 2 || string(m.Events[1]) != liveEvent {
		t.Fatalf("two events: %+v, %v", m, err)
	}
	if _, err := api.DecodeTerminalLive([]byte(liveEvents(api.MaxLiveEvents))); err != nil {
		t.Errorf("%d events: %v", api.MaxLiveEvents, err)
	}
	for name, tc := range map[string]struct {
		msg  string
		want error
	}{
		"too many events":  {liveEvents(api.MaxLiveEvents + 1), api.ErrLiveTooLarge},
		"too many bytes":   {`{"type":"events","events":[{"x":"` + strings.Repeat("a", api.MaxLiveMessageBytes) + `"}]}`, api.ErrLiveTooLarge},
		"no events":        {`{"type":"events","events":[]}`, api.ErrLiveMalformed},
		"an ack":           {`{"type":"ack","ids":["a"]}`, api.ErrLiveMalformed},
		"unknown field":    {`{"type":"events","events":[{}],"extra":1}`, api.ErrLiveMalformed},
		"a cursor":         {`{"type":"events","events":[{}],"cursor":3}`, api.ErrLiveMalformed},
		"event not object": {`{"type":"events","events":[1]}`, api.ErrLiveMalformed},
		"trailing data":    {liveEvents(1) + ` {}`, api.ErrLiveMalformed},
		"too deep":         {`{"type":"events","events":[` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `]}`, api.ErrLiveMalformed},
		"not JSON":         {`events`, api.ErrLiveMalformed},
	} {
		if _, err := api.DecodeTerminalLive([]byte(tc.msg)); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
}

func TestDecodeHubLive(t *testing.T) {
	push := `{"type":"events","events":[` + liveEvent + `],"after":4,"cursor":5,"new_field":true}`
	m, err := api.DecodeHubLive([]byte(push))
	if err != nil || m.After != 4 || m.Cursor != 5 || len(m.Events) != 1 {
		t.Fatalf("a push with a field from a newer hub: %+v, %v", m, err)
	}
	if m, err := api.DecodeHubLive([]byte(`{"type":"welcome","whatever":[1]}`)); err != nil || m.Type != "welcome" {
		t.Errorf("an unknown type is returned for the terminal to skip: %+v, %v", m, err)
	}
	for name, msg := range map[string]string{
		"cursor below after":       `{"type":"events","events":[],"after":5,"cursor":4}`,
		"more events than seqs":    `{"type":"events","events":[{},{}],"after":4,"cursor":5}`,
		"event not object":         `{"type":"events","events":["x"],"after":0,"cursor":1}`,
		"too many events":          fmt.Sprintf(`{"type":"events","events":[%s{}],"after":0,"cursor":%d}`, strings.Repeat("{},", api.MaxLivePushEvents), api.MaxLivePushEvents+1),
		"too many IDs in an ack":   `{"type":"ack","ids":[` + strings.TrimSuffix(strings.Repeat(`"a",`, api.MaxLiveEvents+1), ",") + `]}`,
		"events of the wrong type": `{"type":"events","events":{}}`,
	} {
		if _, err := api.DecodeHubLive([]byte(msg)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// What the hub's encoder writes for a push decodes as the same message.
func TestLiveMessageRoundTrip(t *testing.T) {
	in := api.LiveMessage{Type: api.LiveAck, IDs: []string{"01JX0000000000000000000001"}}
	b, _ := json.Marshal(in)
	out, err := api.DecodeHubLive(b)
	if err != nil || out.Type != in.Type || len(out.IDs) != 1 || out.IDs[0] != in.IDs[0] {
		t.Fatalf("%s read as %+v, %v", b, out, err)
	}
}

func FuzzDecodeTerminalLive(f *testing.F) {
	for _, s := range []string{liveEvents(1), liveEvents(3), `{"type":"events","events":[{}]}`, `{"type":"ack"}`,
		`{"type":"events","events":[{}]} x`, `{"type":"events","events":[[[[]]]]}`, `{"type":"events","events":null}`,
		`{"TYPE":"events","Events":[{}]}`, `{"type":"events","events":[{"a":"\ud800"}]}`, ``, `null`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := api.DecodeTerminalLive(b)
		if err != nil {
			if !errors.Is(err, api.ErrLiveMalformed) && !errors.Is(err, api.ErrLiveTooLarge) {
				t.Fatalf("error %v is neither ErrLiveMalformed nor ErrLiveTooLarge", err)
			}
			return
		}
		if len(b) > api.MaxLiveMessageBytes || m.Type != api.LiveEvents || len(m.Events) == 0 || len(m.Events) > api.MaxLiveEvents {
			t.Fatalf("accepted %d bytes as %d events of type %q", len(b), len(m.Events), m.Type)
		}
		for i, ev := range m.Events {
			var obj map[string]json.RawMessage
			if err := json.Unmarshal(ev, &obj); err != nil {
				t.Fatalf("event %d %q is not an object: %v", i, ev, err)
			}
		}
		// What was accepted, written again, is accepted again the same.
		// (json.Marshal escapes <, > and &, which may grow it past the limit.)
		again, _ := json.Marshal(m)
		if len(again) > api.MaxLiveMessageBytes {
			return
		}
		m2, err := api.DecodeTerminalLive(again)
		if err != nil || len(m2.Events) != len(m.Events) {
			t.Fatalf("%q written back as %q: %+v, %v", b, again, m2, err)
		}
	})
}

func FuzzDecodeHubLive(f *testing.F) {
	for _, s := range []string{`{"type":"events","events":[` + liveEvent + `],"after":4,"cursor":5}`, `{"type":"ack","ids":["a","b"]}`,
		`{"type":"error","error":"no","code":"bad_request"}`, `{"type":"x","y":[[[]]]}`, `{"type":"events","after":9,"cursor":1}`,
		`{"type":"events","events":[{}],"after":18446744073709551615,"cursor":0}`, `[]`, `{`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := api.DecodeHubLive(b)
		if err != nil {
			if !errors.Is(err, api.ErrLiveMalformed) && !errors.Is(err, api.ErrLiveTooLarge) {
				t.Fatalf("error %v is neither ErrLiveMalformed nor ErrLiveTooLarge", err)
			}
			return
		}
		switch m.Type {
		case api.LiveEvents:
			if len(m.Events) > api.MaxLivePushEvents || m.Cursor < m.After || m.Cursor-m.After < uint64(len(m.Events)) {
				t.Fatalf("accepted %d events from %d to %d", len(m.Events), m.After, m.Cursor)
			}
		case api.LiveAck:
			if len(m.IDs) > api.MaxLiveEvents {
				t.Fatalf("accepted an ack of %d IDs", len(m.IDs))
			}
		}
	})
}
