package console

import (
	"net/http"
	"strings"
	"testing"
)

// TestStaticServesOnlyStatic: the static route serves the files of
// static/ and nothing else: no template through an encoded "..", no
// directory listing anywhere.
func TestStaticServesOnlyStatic(t *testing.T) {
	h := newHub(t, nil)
	b := h.browser()
	if p := b.get("/console/static/style.css"); p.status != http.StatusOK || !strings.Contains(p.header.Get("Content-Type"), "text/css") {
		t.Fatalf("style.css: %d %s", p.status, p.header.Get("Content-Type"))
	}
	for _, path := range []string{
		"/console/static/%2e%2e/templates/layout.html",
		"/console/static/%2E%2E/templates/layout.html",
		"/console/static/..%2ftemplates/layout.html",
		"/console/static/%2e%2e/",
		"/console/static/%2e%2e",
		"/console/static/",
		"/console/static/.",
		"/console/static/%2e/",
		"/console/static/style.css/",
	} {
		p := b.get(path)
		if p.status == http.StatusOK || strings.Contains(p.body, "{{") || strings.Contains(p.body, "<pre>") || strings.Contains(p.body, "style.css</a>") {
			t.Errorf("GET %s: %d, want no file and no listing\n%.300s", path, p.status, p.body)
		}
	}
}
