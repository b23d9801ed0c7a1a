package hub_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/quartierhub/quartierhub/hub-server/internal/hub"
)

// The SensorThings API is served on the hub's address under /sta/v1.1,
// its links start with the public URL, and the metrics count it by its
// route pattern, never by the path's ids.
func TestHubServesSensorThings(t *testing.T) {
	r := start(t, hub.Config{PublicURL: "https://luft.example.org/"})
	for _, path := range []string{"/sta/v1.1", "/sta/v1.1/"} {
		code, body := get(t, r.base+path)
		var root struct {
			Value []struct{ Name, URL string }
		}
		if code != http.StatusOK || json.Unmarshal([]byte(body), &root) != nil || len(root.Value) == 0 {
			t.Fatalf("GET %s: %d %s", path, code, body)
		}
		for _, v := range root.Value {
			if v.URL != "https://luft.example.org/sta/v1.1/"+v.Name {
				t.Errorf("%s: url %s", v.Name, v.URL)
			}
		}
	}
	if code, body := get(t, r.base+"/sta/v1.1/Things(42)"); code != http.StatusNotFound || !strings.Contains(body, `"type":"error"`) {
		t.Errorf("unknown Thing: %d %s", code, body)
	}
	code, metrics := get(t, r.base+"/metrics")
	if code != http.StatusOK || !strings.Contains(metrics, `route="/sta/v1.1/"`) || strings.Contains(metrics, "Things(42)") {
		t.Errorf("metrics do not count the SensorThings API by its route:\n%s", metrics)
	}
}
