package console

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"slices"

	"github.com/quartierhub/quartierhub/internal/i18n"
)

// Every text the console shows comes from its catalog, i18n/LANG.json:
// flat keys ("common.fleet") to texts with {name} placeholders, read by
// the shared engine (internal/i18n) that the terminal's assets/i18n uses
// too. Templates translate keys ({{T "common.fleet"}}, with arguments
// {{T "audit.entries_newest_first" "n" (len .Entries)}}); Go code says
// what to tell a person as a Message (msg("login.error.throttled",
// "seconds", 8)), which the page translates when it renders, in the
// reader's language; codes shown in tables have label.CODE keys (label).
// A new language is one more file; TestCatalogComplete fails when a
// language lacks a key, when placeholders differ, when a key is used but
// missing or in the catalog but unused, or when a code has no label.
//
// The catalog is embedded here rather than under assets/: assets is what
// the terminal embeds, and the console's texts change together with its
// templates and handlers, in this package.

//go:embed i18n/*.json
var catalogFiles embed.FS

// fallbackLang is the language of a key some other language lacks (a
// test makes sure there is none) and the first of the language switch.
const fallbackLang = "en"

var catalog = mustLoadCatalog()

func mustLoadCatalog() *i18n.Catalog {
	files, err := fs.Sub(catalogFiles, "i18n")
	if err != nil {
		panic(err) // the directory is embedded above
	}
	c, err := i18n.Load(files, fallbackLang)
	if err != nil {
		panic(err) // embedded files; TestCatalogComplete reads them too
	}
	return c
}

// Langs are the languages the console speaks, in the order of the
// language switch: the fallback first, then the others by code.
var Langs = func() []string {
	ls := slices.DeleteFunc(catalog.Languages(), func(l string) bool { return l == fallbackLang })
	return append([]string{fallbackLang}, ls...)
}()

func knownLang(l string) bool { return catalog.Has(l) }

// Message is something the console tells a person: a catalog key with
// its arguments (name, value, name, value…; a value may be a Message,
// translated with it), or Text shown as it is (an error of another
// package that has no key). A nil *Message says nothing.
type Message struct {
	Key  string
	Args []any
	Text string
}

// msg is the Message of key with args.
func msg(key string, args ...any) *Message { return &Message{Key: key, Args: args} }

// verbatim is a Message that is shown as it is.
func verbatim(s string) *Message { return &Message{Text: s} }

// In is m in lang.
func (m *Message) In(lang string) string {
	if m == nil {
		return ""
	}
	if m.Key == "" {
		return m.Text
	}
	if len(m.Args) == 0 {
		return catalog.T(lang, m.Key)
	}
	args := make([]any, len(m.Args))
	for i, a := range m.Args {
		if inner, ok := a.(*Message); ok && i%2 == 1 {
			a = inner.In(lang)
		}
		args[i] = a
	}
	return catalog.T(lang, m.Key, args...)
}

// Error makes a Message an error, in English, for callers outside the
// console (the CLI's user add); the console shows it in the reader's
// language (see userInputMessage).
func (m *Message) Error() string { return m.In(fallbackLang) }

// labelKeyPrefix starts the keys that name codes shown in tables:
// terminal, command and device states, alert kinds, report statuses,
// roles, outbox classes (label.online, label.paper_out, …).
const labelKeyPrefix = "label."

// label is the plain-language name of a code, or the code itself when
// the catalog has none (a code from a newer terminal, say).
func label(code string) *Message {
	if !catalog.HasKey(labelKeyPrefix + code) {
		return verbatim(code)
	}
	return msg(labelKeyPrefix + code)
}

// langName names a language (a report's, a content's) by its code, or
// is the code when the catalog does not know it.
func langName(code string) *Message {
	if code == "" || !catalog.HasKey("language."+code) {
		return verbatim(code)
	}
	return msg("language." + code)
}

// userInputMessage is what to tell a person about err, an error they can
// fix: its Message when it has one, else its text.
func userInputMessage(err error) *Message {
	var m *Message
	if errors.As(err, &m) {
		return m
	}
	return verbatim(err.Error())
}

// tmplT is the templates' T: a key with its arguments, or a Message.
func tmplT(lang string) func(any, ...any) (string, error) {
	return func(key any, args ...any) (string, error) {
		switch k := key.(type) {
		case string:
			return msg(k, args...).In(lang), nil
		case *Message:
			return k.In(lang), nil
		default:
			return "", fmt.Errorf("console: template T got a %T, neither a key nor a Message", key)
		}
	}
}
