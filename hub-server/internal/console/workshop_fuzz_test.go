package console

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// FuzzWorkshopForm feeds the prepare form's reader arbitrary bodies: it
// never panics, and what it makes of the word list and the terminals is
// tidy (no blank or repeated word, terminals sorted, no blank phase row).
func FuzzWorkshopForm(f *testing.F) {
	f.Add("title=Elbufer&question=Was+fehlt%3F&method=simple&phase_kind=ideas&phase_title=Ideen&phase_minutes=10&words=Mist%0ADepp,Mist&terminal=b&terminal=a")
	f.Add("phase_title=&phase_minutes=&phase_kind=vote&dots=x")
	f.Add("phase_title=A&phase_title=B&phase_minutes=-1&tables=99999999999999999999")
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest(http.MethodPost, "/console/workshops", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if err := r.ParseForm(); err != nil {
			return
		}
		form := readWorkshopForm(r)
		for _, p := range form.Phases {
			if p.Title == "" && p.Minutes == "" {
				t.Fatalf("blank phase row kept: %+v", p)
			}
		}
		spec, problem := form.spec()
		if problem != nil {
			return
		}
		for i, w := range spec.Words {
			if strings.TrimSpace(w) == "" || slices.Contains(spec.Words[:i], w) {
				t.Fatalf("words %q", spec.Words)
			}
		}
		if !slices.IsSorted(spec.Terminals) {
			t.Fatalf("terminals %q", spec.Terminals)
		}
		if spec.Dots < 0 || spec.MaxPerItem < 0 || spec.Tables < 0 || spec.MaxIdeaChars < 0 {
			t.Fatalf("negative number: %+v", spec)
		}
	})
}
