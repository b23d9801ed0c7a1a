package fleet_test

import (
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/fleet"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// TestReach: a layer reaches the active terminals whose configuration it
// is part of, and each gets the merge of its own layers.
func TestReach(t *testing.T) {
	ts := []store.Terminal{
		{Name: "a1", Quarter: "north"},
		{Name: "a2", Quarter: "north"},
		{Name: "b1", Quarter: "south"},
		{Name: "gone", Quarter: "north", RevokedAt: time.Unix(1, 0)},
	}
	byScope := map[string][]byte{
		store.ScopeGlobal:                     []byte(`{"a":1,"b":1}`),
		store.ScopeQuarterPrefix + "north":    []byte(`{"b":2}`),
		store.ScopeTerminalPrefix + "a2":      []byte(`{"c":3}`),
		store.ScopeTerminalPrefix + "unknown": []byte(`{"c":9}`),
	}
	got := func(scope string) map[string]string {
		out := map[string]string{}
		for _, r := range fleet.Reach(byScope, scope, ts) {
			if r.Err != nil {
				t.Fatalf("%s: %s: %v", scope, r.Terminal.Name, r.Err)
			}
			out[r.Terminal.Name] = string(r.Effective)
		}
		return out
	}
	want := map[string]map[string]string{
		store.ScopeGlobal:                  {"a1": `{"a":1,"b":2}`, "a2": `{"a":1,"b":2,"c":3}`, "b1": `{"a":1,"b":1}`},
		store.ScopeQuarterPrefix + "north": {"a1": `{"a":1,"b":2}`, "a2": `{"a":1,"b":2,"c":3}`},
		store.ScopeTerminalPrefix + "a2":   {"a2": `{"a":1,"b":2,"c":3}`},
		store.ScopeQuarterPrefix + "east":  {},
	}
	for scope, w := range want {
		g := got(scope)
		if len(g) != len(w) {
			t.Errorf("%s reaches %v, want %v", scope, g, w)
			continue
		}
		for name, doc := range w {
			if g[name] != doc {
				t.Errorf("%s: %s = %s, want %s", scope, name, g[name], doc)
			}
		}
	}

	byScope[store.ScopeQuarterPrefix+"south"] = []byte(`{"b":`)
	rs := fleet.Reach(byScope, store.ScopeGlobal, ts)
	var failed []string
	for _, r := range rs {
		if r.Err != nil {
			failed = append(failed, r.Terminal.Name)
		}
	}
	if len(rs) != 3 || len(failed) != 1 || failed[0] != "b1" {
		t.Errorf("with a broken south layer: %d reached, failed %v; want 3 reached, b1 failed", len(rs), failed)
	}
}
