// Package i18n is the terminal's import of the shared translation engine,
// internal/i18n, which the hub console uses too: the same types and
// functions under the name the terminal's code has always used.
package i18n

import (
	"io/fs"

	shared "github.com/quartierhub/quartierhub/internal/i18n"
)

// NameKey is the key whose value is the language's own name ("Deutsch").
const NameKey = shared.NameKey

// Catalog is every language's strings.
type Catalog = shared.Catalog

// Load reads every LANG.json at the root of fsys; see shared.Load.
func Load(fsys fs.FS, fallback string) (*Catalog, error) { return shared.Load(fsys, fallback) }
