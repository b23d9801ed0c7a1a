// Package i18n holds the terminal's UI strings: one flat JSON file per
// language (key → string, e.g. assets/i18n/de.json), so adding a language
// is dropping in a file. Placeholders are written {name} and filled by
// T's name/value pairs.
//
// This is our own small package rather than Fyne's lang package because a
// terminal switches language per session (and back at its end) while
// fyne's lang follows one process-wide locale, and because the session
// logic must build without Fyne and cgo.
package i18n

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// NameKey is the key whose value is the language's own name ("Deutsch").
const NameKey = "language.name"

// Catalog is every language's strings.
type Catalog struct {
	langs    map[string]map[string]string
	fallback string
}

// Load reads every LANG.json at the root of fsys. Fallback is the language
// used for a key a language lacks (there should be none: a test checks).
func Load(fsys fs.FS, fallback string) (*Catalog, error) {
	names, err := fs.Glob(fsys, "*.json")
	if err != nil {
		return nil, fmt.Errorf("i18n: %w", err)
	}
	c := &Catalog{langs: map[string]map[string]string{}, fallback: fallback}
	for _, n := range names {
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, fmt.Errorf("i18n: %w", err)
		}
		m := map[string]string{}
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("i18n: %s: %w", n, err)
		}
		c.langs[strings.TrimSuffix(path.Base(n), ".json")] = m
	}
	if _, ok := c.langs[fallback]; !ok {
		return nil, fmt.Errorf("i18n: no file for the fallback language %q", fallback)
	}
	return c, nil
}

// Languages returns the languages with a file, sorted.
func (c *Catalog) Languages() []string {
	out := make([]string, 0, len(c.langs))
	for l := range c.langs {
		out = append(out, l)
	}
	sort.Strings(out)
	return out
}

// Has reports whether lang has a file.
func (c *Catalog) Has(lang string) bool { _, ok := c.langs[lang]; return ok }

// Name is the language's own name, or its code.
func (c *Catalog) Name(lang string) string {
	if s := c.langs[lang][NameKey]; s != "" {
		return s
	}
	return lang
}

// Has reports whether key exists in every language.
func (c *Catalog) HasKey(key string) bool {
	for _, m := range c.langs {
		if _, ok := m[key]; !ok {
			return false
		}
	}
	return len(c.langs) > 0
}

// T returns key's string in lang with {name} placeholders replaced by the
// pairs in args (name, value, name, value…). An unknown key is returned
// as it is, so a gap is visible rather than blank.
func (c *Catalog) T(lang, key string, args ...any) string {
	s, ok := c.langs[lang][key]
	if !ok {
		if s, ok = c.langs[c.fallback][key]; !ok {
			return key
		}
	}
	if len(args) == 0 {
		return s
	}
	pairs := make([]string, 0, len(args))
	for i := 0; i+1 < len(args); i += 2 {
		pairs = append(pairs, "{"+fmt.Sprint(args[i])+"}", fmt.Sprint(args[i+1]))
	}
	return strings.NewReplacer(pairs...).Replace(s)
}

// Missing lists, per language, the keys other languages have and it lacks.
func (c *Catalog) Missing() map[string][]string {
	all := map[string]bool{}
	for _, m := range c.langs {
		for k := range m {
			all[k] = true
		}
	}
	out := map[string][]string{}
	for l, m := range c.langs {
		for k := range all {
			if _, ok := m[k]; !ok {
				out[l] = append(out[l], k)
			}
		}
		sort.Strings(out[l])
	}
	for l, ks := range out {
		if len(ks) == 0 {
			delete(out, l)
		}
	}
	return out
}

// Placeholders returns the {names} in key's string in lang, sorted.
func (c *Catalog) Placeholders(lang, key string) []string {
	s := c.langs[lang][key]
	var out []string
	for {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			break
		}
		out = append(out, s[i+1:i+j])
		s = s[i+j+1:]
	}
	sort.Strings(out)
	return out
}
