package assets_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/quartierhub/quartierhub/assets"
	"github.com/quartierhub/quartierhub/internal/i18n"
)

// easyPrefixes and easyKeys are the keys the Leichte Sprache catalog must
// hold (the package doc lists them): the start screens, help, the problem
// report with what it may say on the way, and the timeout warning.
var (
	easyPrefixes = []string{"action.", "attract.", "help.", "home.", "printer.", "report."}
	easyKeys     = []string{"busy", "error.submit", "error.title", "timeout.more", "timeout.title", "timeout.warning"}
)

func needsEasy(key string) bool {
	for _, p := range easyPrefixes {
		if strings.HasPrefix(key, p) {
			return true
		}
	}
	for _, k := range easyKeys {
		if k == key {
			return true
		}
	}
	return false
}

func TestEasyCatalog(t *testing.T) {
	easy, err := assets.EasyCatalog()
	if err != nil {
		t.Fatal(err)
	}
	if got := easy.Languages(); !reflect.DeepEqual(got, []string{"de"}) {
		t.Fatalf("Leichte Sprache languages %v, want de", got)
	}
	cat, err := assets.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	plain := map[string]bool{}
	for _, k := range cat.Keys("de") {
		plain[k] = true
	}
	for _, k := range easy.Keys("de") {
		if !plain[k] {
			t.Errorf("leicht/de.json has %s, de.json does not: the window would never ask for it", k)
			continue
		}
		if got, want := easy.Placeholders("de", k), cat.Placeholders("de", k); !reflect.DeepEqual(got, want) {
			t.Errorf("%s in leicht/de.json has placeholders %v, de.json has %v", k, got, want)
		}
		if strings.TrimSpace(easy.T("de", k)) == "" {
			t.Errorf("%s is empty in leicht/de.json", k)
		}
	}
	required := 0
	for k := range plain {
		if !needsEasy(k) {
			continue
		}
		required++
		if !easy.HasKey(k) {
			t.Errorf("leicht/de.json lacks %s", k)
		}
	}
	// The prefixes must still name keys: a renamed group would make the
	// check above pass on nothing.
	for _, p := range easyPrefixes {
		found := false
		for k := range plain {
			found = found || strings.HasPrefix(k, p)
		}
		if !found {
			t.Errorf("no key in de.json starts with %s", p)
		}
	}
	for _, k := range easyKeys {
		if !plain[k] {
			t.Errorf("de.json has no %s", k)
		}
	}
	if required < 40 {
		t.Errorf("only %d keys need Leichte Sprache: the prefixes no longer match the screens", required)
	}
}

// TestHelpForEveryScreen: every screen named in kiosk/ui (its Screen*
// constants, read from the source: the window imports this package) has
// a help text in every language.
func TestHelpForEveryScreen(t *testing.T) {
	cat, err := assets.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	screens := screenNames(t)
	if len(screens) < 20 {
		t.Fatalf("found only %d screens in kiosk/ui: %v", len(screens), screens)
	}
	for _, s := range append(screens, "general") {
		if s == "help" {
			continue // the help screen itself: the window offers no help on it
		}
		if !cat.HasKey("help." + s) {
			t.Errorf("no help.%s in every language", s)
		}
	}
}

// screenNames are the values of kiosk/ui's exported Screen* constants.
func screenNames(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("../kiosk/ui/*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var out []string
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, spec := range g.Specs {
				v := spec.(*ast.ValueSpec)
				for i, id := range v.Names {
					if !strings.HasPrefix(id.Name, "Screen") || i >= len(v.Values) {
						continue
					}
					if lit, ok := v.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						s, _ := strconv.Unquote(lit.Value)
						out = append(out, s)
					}
				}
			}
		}
	}
	return out
}

// A text that names a button („Senden“, “Send”) must name one the screen
// has: every quoted name is some key's whole text in that language (in
// Leichte Sprache, its own or de.json's).
func TestQuotedButtonsExist(t *testing.T) {
	cat, err := assets.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	easy, err := assets.EasyCatalog()
	if err != nil {
		t.Fatal(err)
	}
	quoted := map[string]*regexp.Regexp{"de": regexp.MustCompile(`„([^“]+)“`), "en": regexp.MustCompile(`“([^”]+)”`)}
	check := func(where string, texts map[string]string, names map[string]bool, re *regexp.Regexp) {
		n := 0
		for k, s := range texts {
			for _, m := range re.FindAllStringSubmatch(s, -1) {
				n++
				if !names[m[1]] {
					t.Errorf("%s %s names %q, which is no text of %s", where, k, m[1], where)
				}
			}
		}
		if n == 0 {
			t.Errorf("%s quotes no button: the pattern no longer matches its quotes", where)
		}
	}
	texts := func(c *i18n.Catalog, lang string) map[string]string {
		m := map[string]string{}
		for _, k := range c.Keys(lang) {
			m[k] = c.T(lang, k)
		}
		return m
	}
	values := func(ms ...map[string]string) map[string]bool {
		out := map[string]bool{}
		for _, m := range ms {
			for _, v := range m {
				out[v] = true
			}
		}
		return out
	}
	for lang, re := range quoted {
		m := texts(cat, lang)
		check(lang+".json", m, values(m), re)
	}
	// In Leichte Sprache a button shows its text from leicht/de.json if
	// it has one, else from de.json.
	shown := texts(cat, "de")
	e := texts(easy, "de")
	for k, v := range e {
		shown[k] = v
	}
	check("leicht/de.json", e, values(shown), quoted["de"])
}
