package terminalapi

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
)

// gzipWriters keeps compressors between calls: a new gzip.Writer
// allocates its state (about 1 MB), which made gz most of FuzzGunzip's
// time.
var gzipWriters = sync.Pool{New: func() any { return gzip.NewWriter(nil) }}

func gz(tb testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	zw := gzipWriters.Get().(*gzip.Writer)
	defer gzipWriters.Put(zw)
	zw.Reset(&buf)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func FuzzDecodeBatch(f *testing.F) {
	rec := `{"id":"01JX0000000000000000000001","type":"sensor.sds011","class":"sensor","created_at":"2025-06-01T10:00:00Z","payload":{"pm25":3.5,"a":[1,{"b":null}]}}`
	for _, s := range []string{
		`{"records":[]}`, `{"records":[` + rec + `]}`, `{"records":[` + rec + `,` + rec + `]}`,
		`{"records":[` + rec + `]} {}`, `{"records":null}`, `{"records":[null,null,{}]}`, `{"records":{}}`,
		`{"records":[{"payload":"\u0000\ud800"}]}`, `{"records":[{"payload":{"x":"` + "\xff\xfe" + `"}}]}`,
		strings.Repeat("[", 100), `{"records":[` + strings.Repeat(`{},`, 60) + `{}]}`, `{"RECORDS":[{"ID":"x"}]}`,
		`{"records":[{"created_at":"2025-06-01T10:00:00+25:00"}]}`, `{"records":[{"payload":1e999}]}`, ``, `   `,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := decodeBatch(data)
		if api.TerminalJSON.Check(data) != nil && err == nil {
			t.Fatal("accepted JSON beyond the limits")
		}
		if err != nil {
			return
		}
		if len(b.Records) > api.MaxJSONElements {
			t.Fatalf("%d records decoded", len(b.Records))
		}
		if !json.Valid(data) {
			t.Fatalf("accepted invalid JSON %q", data)
		}
		// Every payload that passes validation is JSON the hub can store
		// and decode later, and the batch reads the same encoded again.
		for i := range b.Records {
			if b.Records[i].Validate() == nil && !json.Valid(b.Records[i].Payload) {
				t.Fatalf("record %d: valid with payload %q", i, b.Records[i].Payload)
			}
		}
		again, err := json.Marshal(b)
		if err != nil {
			return // a payload only encoding/json refuses: nothing to compare
		}
		b2, err := decodeBatch(again)
		if err != nil || len(b2.Records) != len(b.Records) {
			t.Fatalf("re-encoded batch %s: %v", again, err)
		}
		for i := range b.Records {
			r1, r2 := b.Records[i], b2.Records[i]
			if r1.ID != r2.ID || r1.Type != r2.Type || r1.Class != r2.Class || !r1.CreatedAt.Equal(r2.CreatedAt) {
				t.Fatalf("record %d: %+v read back as %+v", i, r1, r2)
			}
		}
	})
}

func FuzzGunzip(f *testing.F) {
	f.Add(gz(f, []byte(`{"records":[]}`)), uint16(1000))
	f.Add(gz(f, bytes.Repeat([]byte("a"), 5000)), uint16(100))
	f.Add(append(gz(f, []byte("one")), gz(f, []byte("two"))...), uint16(100)) // two members
	f.Add([]byte("not gzip"), uint16(100))
	f.Add(gz(f, nil), uint16(0))
	f.Add(gz(f, []byte("x"))[:10], uint16(10)) // cut short
	f.Fuzz(func(t *testing.T, data []byte, limit uint16) {
		var out bytes.Buffer
		err := gunzip(&out, data, int64(limit))
		if err == nil && out.Len() > int(limit) {
			t.Fatalf("%d bytes out, limit %d", out.Len(), limit)
		}
		// It agrees with reading the stream whole, within the limit.
		var want []byte
		zr, zerr := gzip.NewReader(bytes.NewReader(data))
		if zerr == nil {
			want, zerr = io.ReadAll(io.LimitReader(zr, int64(limit)+1))
		}
		switch {
		case zerr != nil:
			if err == nil {
				t.Fatalf("gunzip took what gzip refuses: %v", zerr)
			}
		case len(want) > int(limit):
			if !errors.Is(err, errTooLarge) {
				t.Fatalf("%d bytes over the limit %d: %v", len(want), limit, err)
			}
		case err != nil || !bytes.Equal(out.Bytes(), want):
			t.Fatalf("gunzip %q, %v; want %q", out.Bytes(), err, want)
		}
		// A pooled reader carries nothing over to the next stream.
		plain := []byte("after " + string(data[:min(len(data), 20)]))
		if err := gunzip(&out, gz(t, plain), int64(len(plain))); err != nil || !bytes.Equal(out.Bytes(), plain) {
			t.Fatalf("next stream: %q, %v", out.Bytes(), err)
		}
		// Compressing and decompressing is the identity within the limit.
		if err := gunzip(&out, gz(t, data), int64(len(data))); err != nil || !bytes.Equal(out.Bytes(), data) {
			t.Fatalf("round trip: %v", err)
		}
		if len(data) > 0 {
			if err := gunzip(&out, gz(t, data), int64(len(data)-1)); !errors.Is(err, errTooLarge) {
				t.Fatalf("one byte over the limit: %v", err)
			}
		}
		if z := gz(t, data); gzipSize(z) != int64(len(data)) {
			t.Fatalf("trailer says %d, data is %d", gzipSize(z), len(data))
		}
	})
}

func FuzzHeartbeat(f *testing.F) {
	hb := api.Heartbeat{SoftwareVersion: "1.2.3", StartedAt: time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC), UptimeSeconds: 60,
		Devices: []api.DeviceHealth{{Name: "printer", Kind: "escpos", State: "connected", Paper: "near_end"},
			{Name: "pm", Kind: "sds011", State: "fault", Error: "timeout", LastReading: time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)}},
		Outbox: map[string]api.Backlog{"resident": {Count: 2, Bytes: 100, OldestAgeSeconds: 5}}, DiskFreeBytes: 1 << 30, DiskTotalBytes: 2 << 30,
		Screen: "attract", ConfigVersion: "abc", Updater: &api.UpdaterStatus{State: api.UpdaterTrial, Version: "1.2.3", Target: "1.3.0",
			ProgressBytes: 30 << 20, TotalBytes: 30 << 20, BadVersions: []string{"1.2.9"}}}
	good, _ := json.Marshal(hb)
	f.Add(good)
	for _, s := range []string{`{}`, `[]`, `null`, `{"devices":null,"outbox":null}`, `{"outbox":{"` + strings.Repeat("k", 40) + `":{}}}`,
		`{"devices":[` + strings.Repeat(`{},`, 70) + `{}]}`, `{"uptime_seconds":1e99}`, `{"software_version":"` + "\xff" + `"}`,
		`{"started_at":"0000-01-01T00:00:00Z"}`, `{"outbox":{"a":{"count":-1,"oldest_age_seconds":1e308}}}`,
		`{"updater":{"state":"done"}}`, `{"updater":{"state":"x"}}`, `{"updater":{"state":"idle","bad_versions":[null,""]}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if len(body) > api.MaxHeartbeatBytes {
			return // refused on the wire
		}
		var hb api.Heartbeat
		if err := decodeJSON(body, &hb); err != nil || hb.Validate() != nil {
			return
		}
		// What the hub stores is the heartbeat encoded again: bounded,
		// and it reads back as the same heartbeat.
		state, err := json.Marshal(&hb)
		if err != nil {
			return // e.g. a time encoding/json reads but cannot write
		}
		if len(state) > 1<<20 {
			t.Fatalf("stored state of %d bytes", len(state))
		}
		var back api.Heartbeat
		if err := decodeJSON(state, &back); err != nil || back.Validate() != nil {
			t.Fatalf("stored state %s does not read back: %v", state, err)
		}
		if again, _ := json.Marshal(&back); !bytes.Equal(again, state) {
			t.Fatalf("state %s reads back as %s", state, again)
		}
	})
}
