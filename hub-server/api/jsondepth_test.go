package api_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
)

func TestCheckJSONDepth(t *testing.T) {
	for _, tc := range []struct {
		doc  string
		max  int
		deep bool
	}{
		{`1`, 0, false},
		{`{}`, 0, true},
		{`{}`, 1, false},
		{`[[1],[2],[3],[4]]`, 2, false},   // siblings do not add up
		{`[[1],[2],{"a":[3]}]`, 3, false}, // deepest is [ { [
		{`[[1],[2],{"a":[3]}]`, 2, true},
		{`[{"a":[3]}]`, 2, true},          // three levels
		{`"[[[[[[[[[["`, 1, false},        // brackets in a string
		{`["\"[[[["]`, 1, false},          // escaped quote does not end the string
		{`["\\", [[1]]]`, 2, true},        // an escaped backslash does
		{`{"k\\\"[[":{"x":1}}`, 2, false}, // mixed escapes
		{`]]]]]][[`, 2, false},            // excess closers do not buy depth
		{`]]]]]][[[`, 2, true},
		{`"unterminated [[[[`, 1, false},
		{`{"a":{"b":{"c":{}}}}`, 4, false},
		{`{"a":{"b":{"c":{}}}}`, 3, true},
	} {
		err := api.CheckJSONDepth([]byte(tc.doc), tc.max)
		if deep := errors.Is(err, api.ErrJSONTooDeep); deep != tc.deep || (err != nil && !deep) {
			t.Errorf("CheckJSONDepth(%s, %d) = %v, want too deep %v", tc.doc, tc.max, err, tc.deep)
		}
	}
}

func TestJSONLimitsElements(t *testing.T) {
	l := api.JSONLimits{Depth: 4, Elements: 3}
	for _, tc := range []struct {
		doc string
		err error
	}{
		{`[1,2,3]`, nil},
		{`[1,2,3,4]`, api.ErrJSONTooLong},
		{`{"a":1,"b":2,"c":3}`, nil},
		{`{"a":1,"b":2,"c":3,"d":4}`, api.ErrJSONTooLong},
		{`[[1,2,3],[1,2,3],[1,2,3]]`, nil},              // per container, not in total
		{`[[1,2],[1,2],[1,2],[1]]`, api.ErrJSONTooLong}, // the outer one
		{`[[1,2,3,4]]`, api.ErrJSONTooLong},
		{`["a,b,c,d,e",","]`, nil}, // commas in strings
		{`[[[[1,2,3]]]]`, nil},
		{`[[[[[1]]]]]`, api.ErrJSONTooDeep},
	} {
		if err := l.Check([]byte(tc.doc)); !errors.Is(err, tc.err) || (err == nil) != (tc.err == nil) {
			t.Errorf("Check(%s) = %v, want %v", tc.doc, err, tc.err)
		}
	}
	// The terminal limits take a full batch and refuse one record more.
	full := `{"records":[{}` + strings.Repeat(`,{}`, api.MaxBatchRecords-1) + `]}`
	if err := api.TerminalJSON.Check([]byte(full)); err != nil {
		t.Errorf("full batch: %v", err)
	}
	if err := api.TerminalJSON.Check([]byte(full[:len(full)-2] + `,null]}`)); !errors.Is(err, api.ErrJSONTooLong) {
		t.Errorf("one record over: %v", err)
	}
	// A huge depth limit does not allocate in proportion to it.
	if err := (api.JSONLimits{Depth: 1 << 40, Elements: 2}).Check([]byte(`[[[1,2]]]`)); err != nil {
		t.Errorf("huge depth limit: %v", err)
	}
}

// The attack that stopped the hub: two million brackets are refused
// after max+1 of them, with no allocation.
func TestCheckJSONDepthBomb(t *testing.T) {
	bomb := bytes.Repeat([]byte("["), 2_000_000)
	if err := api.CheckJSONDepth(bomb, api.MaxJSONDepth); !errors.Is(err, api.ErrJSONTooDeep) {
		t.Fatalf("bomb: %v", err)
	}
	if a := testing.AllocsPerRun(10, func() { _ = api.TerminalJSON.Check(bomb[:20]) }); a != 0 {
		t.Errorf("%v allocations per check", a)
	}
	ok := strings.Repeat("[", api.MaxJSONDepth) + strings.Repeat("]", api.MaxJSONDepth)
	if err := api.CheckJSONDepth([]byte(ok), api.MaxJSONDepth); err != nil {
		t.Errorf("exactly MaxJSONDepth levels: %v", err)
	}
}

// jsonDepth is the nesting depth of valid JSON by encoding/json's own
// tokenizer, the reference CheckJSONDepth is compared with.
func jsonDepth(data []byte) (int, bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber() // a valid number too large for a float64 is no error
	depth, most := 0, 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return most, err.Error() == "EOF"
		}
		switch tok {
		case json.Delim('['), json.Delim('{'):
			depth++
			most = max(most, depth)
		case json.Delim(']'), json.Delim('}'):
			depth--
		}
	}
}

// widest is the most elements of one array or members of one object in
// valid JSON, counted with encoding/json's tokenizer (duplicate keys
// count as often as they appear).
func widest(data []byte) int {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var open []int // tokens seen per open container
	most := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return most
		}
		if len(open) > 0 && tok != json.Delim(']') && tok != json.Delim('}') {
			open[len(open)-1]++
		}
		switch tok {
		case json.Delim('['), json.Delim('{'):
			open = append(open, 0)
		case json.Delim(']'):
			most = max(most, open[len(open)-1])
			open = open[:len(open)-1]
		case json.Delim('}'):
			most = max(most, open[len(open)-1]/2) // a key and a value each
			open = open[:len(open)-1]
		}
	}
}

func FuzzCheckJSONDepth(f *testing.F) {
	for _, s := range []string{
		`{}`, `[]`, `[[[[]]]]`, `{"a":[{"b":"[[["}]}`, `"\"["`, `["\\",[1]]`,
		`{"records":[{"id":"01JX0000000000000000000001","payload":{"a":[1,2,{"b":null}]}}]}`,
		strings.Repeat("[", 40), strings.Repeat("{\"a\":", 33) + "1" + strings.Repeat("}", 33),
		`]]]][[`, `"`, `\`, "[\"\\", "", `[1,2,3,4,5,6]`, `{"a":1,"a":2,"a":3}`,
	} {
		f.Add([]byte(s), 3, 0)
		f.Add([]byte(s), api.MaxJSONDepth, 2)
	}
	f.Fuzz(func(t *testing.T, data []byte, limit, elements int) {
		limit = max(0, min(limit, 100))
		err := api.CheckJSONDepth(data, limit)
		if err != nil && !errors.Is(err, api.ErrJSONTooDeep) {
			t.Fatalf("error %v does not wrap ErrJSONTooDeep", err)
		}
		// With elements limited too, it refuses what the depth alone
		// refuses, and what it refuses for length has a container with
		// more elements than the limit.
		elements = max(0, min(elements, 50))
		lerr := api.JSONLimits{Depth: limit, Elements: elements}.Check(data)
		if err != nil && lerr == nil || lerr != nil && !errors.Is(lerr, api.ErrJSONTooDeep) && !errors.Is(lerr, api.ErrJSONTooLong) {
			t.Fatalf("depth alone %v, with elements %d: %v", err, elements, lerr)
		}
		// Monotone in the limit.
		if err == nil && limit > 0 && api.CheckJSONDepth(data, limit+1) != nil {
			t.Fatalf("accepted at %d, refused at %d", limit, limit+1)
		}
		// On valid JSON it agrees exactly with a real tokenizer.
		if json.Valid(data) {
			d, ok := jsonDepth(data)
			if !ok {
				t.Fatalf("tokenizer failed on valid JSON")
			}
			if (d > limit) != (err != nil) {
				t.Fatalf("depth %d, limit %d, CheckJSONDepth %v", d, limit, err)
			}
			if elements > 0 && err == nil {
				if long := widest(data) > elements; long != errors.Is(lerr, api.ErrJSONTooLong) {
					t.Fatalf("widest container %d, limit %d: %v", widest(data), elements, lerr)
				}
			}
		}
	})
}

// BenchmarkTerminalJSONCheck measures the pre-check on a full batch of
// sensor records (payloads of about 200 bytes), as decodeBatch runs it.
func BenchmarkTerminalJSONCheck(b *testing.B) {
	recs := make([]api.Record, api.MaxBatchRecords)
	for i := range recs {
		recs[i] = api.Record{ID: "01JX0000000000000000000001", Type: "sensor.sds011", Class: api.ClassSensor,
			CreatedAt: time.Date(2025, 3, 1, 0, 0, i, 0, time.UTC),
			Payload:   json.RawMessage(`{"sensor":"sds011","pm25":12.5,"pm10":20.1,"pad":"` + strings.Repeat("q", 150) + `"}`)}
	}
	data, err := json.Marshal(api.Batch{Records: recs})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if err := api.TerminalJSON.Check(data); err != nil {
			b.Fatal(err)
		}
	}
}
