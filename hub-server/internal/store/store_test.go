package store

import (
	"io/fs"
	"strings"
	"testing"
)

func TestMigrationsFSMarkers(t *testing.T) {
	for dialect, want := range map[string]string{
		DialectSQLite:   ") WITHOUT ROWID;",
		DialectPostgres: ") /*sqlite: WITHOUT ROWID*/;",
	} {
		fsys, err := MigrationsFS(dialect)
		if err != nil {
			t.Fatal(err)
		}
		b, err := fs.ReadFile(fsys, "00001_initial.sql")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), want) {
			t.Errorf("%s migration lacks %q", dialect, want)
		}
		if dialect == DialectSQLite && strings.Contains(string(b), "/*sqlite:") {
			t.Errorf("sqlite migration still has a marker")
		}
	}
}

func TestUnmark(t *testing.T) {
	for in, want := range map[string]string{
		"a /*x: B*/ c /*y: D*/ e /*x: F*/": "a B c /*y: D*/ e F",
		"no markers":                       "no markers",
		"unterminated /*x: G":              "unterminated /*x: G",
	} {
		if got := unmark(in, "/*x: "); got != want {
			t.Errorf("unmark(%q) = %q, want %q", in, got, want)
		}
	}
}
