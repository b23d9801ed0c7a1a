package workshops_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/quartierhub/quartierhub/hub-server/internal/workshops"
)

// FuzzDecodeSpec: a plan from a file or form never panics the decoder;
// what it accepts is valid and reads back the same once encoded.
func FuzzDecodeSpec(f *testing.F) {
	f.Add([]byte(`{"title":"Spielplatz","question":"Was fehlt?","phones":true}`))
	f.Add([]byte(`{"title":"Café","question":"?","method":"cafe","tables":3,"words":["doof"],"terminals":["T1"]}`))
	f.Add([]byte(`{"title":"x","question":"y","phases":[{"kind":"vote","title":"V","minutes":5}],"dots":3,"max_per_item":2}`))
	f.Add([]byte(`{"title":"x"} {}`))
	f.Add([]byte(`[[[[`))
	f.Fuzz(func(t *testing.T, b []byte) {
		sp, err := workshops.DecodeSpec(b)
		if err != nil {
			return
		}
		if err := sp.Validate(); err != nil {
			t.Fatalf("accepted an invalid plan: %v", err)
		}
		again, err := json.Marshal(sp)
		if err != nil {
			t.Fatal(err)
		}
		back, err := workshops.DecodeSpec(again)
		if err != nil {
			t.Fatalf("its own encoding refused: %v\n%s", err, again)
		}
		if b2, _ := json.Marshal(back); string(b2) != string(again) {
			t.Fatalf("read back differently:\n%s\n%s", again, b2)
		}
	})
}

// FuzzNormalizeJoinCode: whatever a phone sends as a code, an accepted
// one is a code as stored.
func FuzzNormalizeJoinCode(f *testing.F) {
	for _, s := range []string{"ABC234", "abc-234", " a b c 2 3 4 ", "ABCDE0", "ÄBC234", "", "ABCDEFG"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, typed string) {
		code, ok := workshops.NormalizeJoinCode(typed)
		if !ok {
			return
		}
		if len(code) != workshops.JoinCodeLen || strings.Trim(code, workshops.JoinCodeAlphabet) != "" {
			t.Fatalf("%q became %q", typed, code)
		}
		if again, ok := workshops.NormalizeJoinCode(code); !ok || again != code {
			t.Fatalf("%q is not stable: %q %v", code, again, ok)
		}
	})
}
