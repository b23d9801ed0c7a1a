package assets_test

import (
	"encoding/json"
	"sort"
	"testing"
)

func jsonKeys(t *testing.T, b []byte) []string {
	t.Helper()
	m := map[string]string{}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
