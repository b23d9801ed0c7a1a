package workshop

import (
	"encoding/json"
	"testing"
)

// FuzzFastPayload: whatever the fast decoder accepts, encoding/json
// decodes to the same value.
func FuzzFastPayload(f *testing.F) {
	for _, e := range validEvents(f) {
		f.Add(string(e.Type), []byte(e.Data))
	}
	f.Add(string(TypeDot), []byte(`{"round":1,"item":"a","round":2}`))
	f.Add(string(TypeIdea), []byte(`{"text":"Bänke","phase":0,"table":-0}`))
	f.Add(string(TypeMove), []byte(` { "idea" : "x" , "to" : "" } `))
	f.Fuzz(func(t *testing.T, typ string, data []byte) {
		v, ok := fastPayload(Type(typ), data)
		if !ok {
			return
		}
		p := newPayload(Type(typ))
		if err := json.Unmarshal(data, p); err != nil {
			t.Fatalf("fast path accepted %q, encoding/json: %v", data, err)
		}
		if got, want := mustJSON(t, v), mustJSON(t, derefPayload(p)); got != want {
			t.Fatalf("%q: fast %s, encoding/json %s", data, got, want)
		}
	})
}
