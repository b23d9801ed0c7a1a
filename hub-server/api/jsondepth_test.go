package api_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

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

// The attack that stopped the hub: two million brackets are refused
// after max+1 of them, with no allocation.
func TestCheckJSONDepthBomb(t *testing.T) {
	bomb := bytes.Repeat([]byte("["), 2_000_000)
	if err := api.CheckJSONDepth(bomb, api.MaxJSONDepth); !errors.Is(err, api.ErrJSONTooDeep) {
		t.Fatalf("bomb: %v", err)
	}
	if a := testing.AllocsPerRun(10, func() { _ = api.CheckJSONDepth(bomb[:20], api.MaxJSONDepth) }); a != 0 {
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

func FuzzCheckJSONDepth(f *testing.F) {
	for _, s := range []string{
		`{}`, `[]`, `[[[[]]]]`, `{"a":[{"b":"[[["}]}`, `"\"["`, `["\\",[1]]`,
		`{"records":[{"id":"01JX0000000000000000000001","payload":{"a":[1,2,{"b":null}]}}]}`,
		strings.Repeat("[", 40), strings.Repeat("{\"a\":", 33) + "1" + strings.Repeat("}", 33),
		`]]]][[`, `"`, `\`, "[\"\\", "",
	} {
		f.Add([]byte(s), 3)
		f.Add([]byte(s), api.MaxJSONDepth)
	}
	f.Fuzz(func(t *testing.T, data []byte, limit int) {
		limit = max(0, min(limit, 100))
		err := api.CheckJSONDepth(data, limit)
		if err != nil && !errors.Is(err, api.ErrJSONTooDeep) {
			t.Fatalf("error %v does not wrap ErrJSONTooDeep", err)
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
		}
	})
}
