package terminalapi

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/internal/workshop"
)

// A workshop_event record the hub lets through is a valid, unstamped
// event of the uploading terminal, of class resident; its workshop is
// the one the service is told of.
func FuzzWorkshopRecord(f *testing.F) {
	ev := `{"id":"01JX0000000000000000000001","workshop":"W1","device":"t:T1","seq":1,"hlc":{"wall":1748772000000,"logical":0},"actor":"v:g0123456789abcdef","type":"check_in","data":{"via":"guest","label":"Gast 1"}}`
	for _, s := range []string{ev, `{"id":"01JX0000000000000000000001","workshop":"W1","device":"t:T2","seq":1,"hlc":{"wall":1},"actor":"v:1","type":"leave"}`,
		`{"id":"01JX0000000000000000000001","workshop":"W1","device":"t:T1","seq":1,"hlc":{"wall":1},"actor":"v:1","type":"leave","hub_seq":3}`,
		`{"id":"01JX0000000000000000000001","workshop":"W1","device":"hub","seq":1,"hlc":{"wall":1},"actor":"m:a","type":"join","data":{"open":true}}`,
		`{}`, `[]`, `{"pm25":3}`, ev + ` {}`} {
		f.Add([]byte(s), api.ClassResident)
	}
	f.Add([]byte(ev), api.ClassSensor)
	f.Fuzz(func(t *testing.T, payload []byte, class string) {
		rec := api.Record{Type: api.RecordWorkshopEvent, Class: class, Payload: payload}
		ws, err := workshopRecord(&rec, "T1")
		if err != nil {
			return
		}
		e, err := workshop.DecodeEvent(payload)
		switch {
		case class != api.ClassResident:
			t.Fatalf("a record of class %q let through", class)
		case err != nil:
			t.Fatalf("an event the model refuses let through: %v", err)
		case e.Device != "t:T1" || e.HubSeq != 0:
			t.Fatalf("device %q, hub_seq %d let through for T1", e.Device, e.HubSeq)
		case ws != e.Workshop || !workshop.ValidID(ws):
			t.Fatalf("workshop %q reported for an event of %q", ws, e.Workshop)
		}
	})
}

// after=N reads as N or is refused; nothing else is read.
func FuzzCursorParam(f *testing.F) {
	for _, s := range []string{"", "after=0", "after=18446744073709551615", "after=18446744073709551616", "after=-1", "after=1&after=2",
		"before=1", "after=%31", "after=+1", "after=0x10", "after"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, query string) {
		r := &http.Request{URL: &url.URL{Path: "/", RawQuery: query}}
		n, err := cursorParam(r)
		if err != nil {
			return
		}
		q, _ := url.ParseQuery(query)
		v := q.Get("after")
		if strings.Trim(v, "0123456789") != "" || strings.TrimLeft(v, "0") != strings.TrimLeft(strconv.FormatUint(n, 10), "0") {
			t.Fatalf("%q read as %d", query, n)
		}
		for k := range q {
			if k != "after" {
				t.Fatalf("%q accepted with parameter %q", query, k)
			}
		}
	})
}
