package i18n

import (
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
)

func testFiles() fstest.MapFS {
	return fstest.MapFS{
		"en.json": {Data: []byte(`{"language.name": "English", "greet": "Hello {name}, you have {n} new reports.", "only.en": "English only", "plain": "Fleet"}`)},
		"de.json": {Data: []byte(`{"language.name": "Deutsch", "greet": "{n} neue Meldungen für {name}.", "plain": "Flotte"}`)},
	}
}

func TestCatalog(t *testing.T) {
	c, err := Load(testFiles(), "en")
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Languages(); !reflect.DeepEqual(got, []string{"de", "en"}) {
		t.Errorf("Languages = %v", got)
	}
	for _, tc := range []struct {
		lang, key string
		args      []any
		want      string
	}{
		{"de", "plain", nil, "Flotte"},
		// Placeholders by name, in the translation's own order.
		{"de", "greet", []any{"name", "Anna", "n", 3}, "3 neue Meldungen für Anna."},
		{"en", "greet", []any{"name", "Anna", "n", 3}, "Hello Anna, you have 3 new reports."},
		// A value is put in once, never read as a placeholder itself.
		{"en", "greet", []any{"name", "{n}", "n", 1}, "Hello {n}, you have 1 new reports."},
		// A key the language lacks comes from the fallback; an unknown
		// key shows itself.
		{"de", "only.en", nil, "English only"},
		{"de", "no.such.key", nil, "no.such.key"},
		{"fr", "plain", nil, "Fleet"},
	} {
		if got := c.T(tc.lang, tc.key, tc.args...); got != tc.want {
			t.Errorf("T(%s, %s, %v) = %q, want %q", tc.lang, tc.key, tc.args, got, tc.want)
		}
	}
	if c.Name("de") != "Deutsch" || c.Name("fr") != "fr" {
		t.Errorf("Name: %q, %q", c.Name("de"), c.Name("fr"))
	}
	if !c.Has("de") || c.Has("fr") || !c.HasKey("plain") || c.HasKey("only.en") {
		t.Error("Has / HasKey")
	}
	if got := c.Missing(); !reflect.DeepEqual(got, map[string][]string{"de": {"only.en"}}) {
		t.Errorf("Missing = %v", got)
	}
	if got := c.Placeholders("de", "greet"); !reflect.DeepEqual(got, []string{"n", "name"}) {
		t.Errorf("Placeholders = %v", got)
	}
	if got := c.Keys("de"); !reflect.DeepEqual(got, []string{"greet", "language.name", "plain"}) {
		t.Errorf("Keys = %v", got)
	}
}

func TestLoadRefuses(t *testing.T) {
	bad := testFiles()
	bad["de.json"] = &fstest.MapFile{Data: []byte(`{"plain": `)}
	if _, err := Load(bad, "en"); err == nil || !strings.Contains(err.Error(), "de.json") {
		t.Errorf("broken file: %v", err)
	}
	if _, err := Load(testFiles(), "tr"); err == nil {
		t.Error("a fallback without a file was accepted")
	}
}
