package console

import (
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

var (
	// {{t "…"}} and (t "…") in templates.
	templateKeyRe = regexp.MustCompile(`(?:\{\{-?|\()\s*t\s+("(?:[^"\\]|\\.)*")`)
	// T("…") in Go sources, and the texts handlers hand to fail and
	// render (error message, page title), which those translate.
	goKeyRes = []*regexp.Regexp{
		regexp.MustCompile(`\bT\(\s*("(?:[^"\\]|\\.)*")\s*\)`),
		regexp.MustCompile(`\.fail\(\s*w,\s*r,\s*[^,]+,\s*("(?:[^"\\]|\\.)*")\s*\)`),
		regexp.MustCompile(`\.render\(\s*w,\s*r,\s*[^,]+,\s*"[^"]*",\s*("(?:[^"\\]|\\.)*")`),
	}
	// httpStatuses are the statuses the console answers with an error
	// page, whose title is http.StatusText.
	httpStatuses = []int{400, 401, 403, 404, 409, 413, 422, 429, 500}
)

// usedKeys walks the templates and the package's Go sources and returns
// every catalog key they use, with where it was found.
func usedKeys(t *testing.T) map[string]string {
	t.Helper()
	keys := map[string]string{}
	add := func(where, quoted string) {
		s, err := strconv.Unquote(quoted)
		if err != nil {
			t.Fatalf("%s: cannot read %s: %v", where, quoted, err)
		}
		if _, ok := keys[s]; !ok {
			keys[s] = where
		}
	}
	err := fs.WalkDir(assets, "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(assets, p)
		if err != nil {
			return err
		}
		for _, m := range templateKeyRe.FindAllStringSubmatch(string(b), -1) {
			add(p, m[1])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	gos, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range gos {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, re := range goKeyRes {
			for _, m := range re.FindAllStringSubmatch(string(b), -1) {
				add(p, m[1])
			}
		}
	}
	for code, l := range labels {
		add("labels["+code+"]", strconv.Quote(l))
	}
	for _, code := range httpStatuses {
		add("http status", strconv.Quote(http.StatusText(code)))
	}
	for k, f := range flashes {
		add("flashes["+k+"]", strconv.Quote(f))
	}
	return keys
}

// TestCatalogComplete fails when a text a template or handler passes
// through t / T, a label or a flash message has no German translation,
// or a translated format has other verbs than its key.
func TestCatalogComplete(t *testing.T) {
	keys := usedKeys(t)
	if len(keys) < 200 {
		t.Fatalf("found only %d keys; the walk of templates and sources is broken", len(keys))
	}
	var missing []string
	for k, where := range keys {
		if _, ok := messagesDE[k]; !ok {
			missing = append(missing, strconv.Quote(k)+": \"\", // "+where)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("%d texts lack a German translation; add them to messagesDE in messages_de.go:\n%s", len(missing), strings.Join(missing, "\n"))
	}
	verbs := func(s string) []string {
		v := verbRe.FindAllString(s, -1)
		sort.Strings(v)
		return v
	}
	for k, de := range messagesDE {
		if strings.TrimSpace(de) == "" {
			t.Errorf("empty German text for %q", k)
		}
		if strings.Contains(de, "%[") {
			continue // reordered; formatted() checks the count at run time
		}
		if a, b := verbs(k), verbs(de); strings.Join(a, " ") != strings.Join(b, " ") {
			t.Errorf("format verbs differ: %q has %v, its German text %q has %v", k, a, de, b)
		}
	}
}

// The walk itself must find keys in every place it looks: a template
// call, a call in parentheses, a Go call, a label.
func TestCatalogWalkFindsKeys(t *testing.T) {
	keys := usedKeys(t)
	for _, k := range []string{
		"Skip to content",                                      // layout.html {{t …}}
		"We do not know the reference",                         // (t …) — none left; {{t …}} again
		"Give the announcement a title, in German or English.", // T(…) in Go
		"Paper nearly empty",                                   // labels
		"There is no such page.",                               // c.fail
		"Your account",                                         // c.render's title
	} {
		if _, ok := keys[k]; !ok {
			t.Errorf("the catalog walk misses %q", k)
		}
	}
	for src, want := range map[string]string{
		`{{printf (t "In %s") .Q}}`: "In %s",
		`{{- t "Trimmed \"x\"" -}}`: `"Trimmed \"x\""`,
		`{{.Name | t}}`:             "",
	} {
		got := ""
		if m := templateKeyRe.FindStringSubmatch(src); m != nil {
			got = m[1]
			if !strings.HasPrefix(want, `"`) {
				got, _ = strconv.Unquote(got)
			}
		}
		if got != want {
			t.Errorf("templateKeyRe on %s: %q, want %q", src, got, want)
		}
	}
}

func TestTranslate(t *testing.T) {
	for _, tc := range []struct{ lang, in, want string }{
		{"de", "Fleet", messagesDE["Fleet"]},
		{"en", "Fleet", "Fleet"},
		{"de", "not a key", "not a key"},
		// Sprintf(T(format), …) made in Go, translated at rendering, the
		// label argument too.
		{"de", "A report cannot go from Resolved to New.", "Eine Meldung kann nicht von „Behoben“ zu „Neu“ wechseln."},
		{"de", "Too many failed attempts. Please wait 8 seconds and try again.", "Zu viele Fehlversuche. Bitte warten Sie 8 Sekunden und versuchen Sie es dann erneut."},
		{"de", "5 min ago", "vor 5 min"},
		{"de", "printer – paper: Nearly empty", "printer – Papier: Fast leer"},
		{"de", "pm-1: Disconnected", "pm-1: Getrennt"},
		{"de", "Your role (viewer) does not allow this.", "Ihre Rolle (viewer) erlaubt das nicht."},
		{"de", "config: not well-formed JSON", "config: not well-formed JSON"},
	} {
		if got := tr(tc.lang, tc.in); got != tc.want {
			t.Errorf("tr(%s, %q) = %q, want %q", tc.lang, tc.in, got, tc.want)
		}
	}
}

func TestAcceptLang(t *testing.T) {
	for h, want := range map[string]string{
		"":                              "",
		"de-DE,de;q=0.9,en-US;q=0.8":    "de",
		"en-US,en;q=0.9":                "en",
		"fr-FR, fr;q=0.9":               "",
		"fr, en;q=0.5, de;q=0.7":        "de",
		"de;q=0, en;q=0.1":              "en",
		"EN-gb":                         "en",
		"tr, de-AT;q=0.8, en;q=0.8":     "de",
		"en;q=bogus, de;q=0.5":          "en",
		"*;q=0.5, de-CH":                "de",
		"en-US,en;q=0.9,de-DE;q=0.95":   "en",
		"en-US;q=0.8,de-DE;q=0.95":      "de",
		"x-klingon, es-419, en-IN;q=.3": "en",
	} {
		if got := acceptLang(h); got != want {
			t.Errorf("acceptLang(%q) = %q, want %q", h, got, want)
		}
	}
}
