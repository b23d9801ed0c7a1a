// Package teststores gives tests a fresh store of each kind the hub
// supports — SQLite in t.TempDir() and PostgreSQL on a throwaway cluster
// (pgtest) — so a test written once runs on both:
//
//	func TestMain(m *testing.M) { teststores.Main(m) }
//
//	func TestSomething(t *testing.T) {
//		teststores.Each(t, func(t *testing.T, st store.Store) { … })
//	}
//
// Without PostgreSQL installed the "postgres" subtests skip, or fail when
// CI=true (see pgtest).
package teststores

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/pgstore"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/pgtest"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/sqlitestore"
)

// Kinds of store.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// Kinds lists every kind, SQLite first.
var Kinds = []string{SQLite, Postgres}

// Main runs the package's tests and stops the PostgreSQL cluster after.
// Call it from TestMain.
func Main(m *testing.M) { pgtest.Main(m) }

// Open returns a new, empty store of kind, closed when t ends.
func Open(t testing.TB, kind string) store.Store {
	t.Helper()
	var st store.Store
	var err error
	switch kind {
	case SQLite:
		st, err = sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "hub.db"), sqlitestore.Opts{})
	case Postgres:
		st, err = pgstore.Open(context.Background(), PostgresURL(t), pgstore.Opts{})
	default:
		t.Fatalf("teststores: unknown kind %q", kind)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// PostgresURL returns the URL of a new PostgreSQL database with the
// hub's schema already migrated (a copy of a template migrated once per
// test binary).
func PostgresURL(t testing.TB) string {
	t.Helper()
	return pgtest.NewDatabaseFrom(t, "qh_migrated", func(url string) error {
		st, err := pgstore.Open(context.Background(), url, pgstore.Opts{})
		if err != nil {
			return err
		}
		return st.Close()
	})
}

// Location returns hub-server command-line flags that select a new,
// empty store of kind: --data DIR (SQLite) or --db URL (PostgreSQL).
func Location(t testing.TB, kind string) []string {
	t.Helper()
	if kind == Postgres {
		return []string{"--db", PostgresURL(t)}
	}
	return []string{"--data", filepath.Join(t.TempDir(), "hub")}
}

// All returns a new, empty store of each kind, by kind.
func All(t testing.TB) map[string]store.Store {
	t.Helper()
	m := map[string]store.Store{}
	for _, k := range Kinds {
		m[k] = Open(t, k)
	}
	return m
}

// Each runs fn as a subtest per kind ("sqlite", "postgres"), each with a
// new, empty store.
func Each(t *testing.T, fn func(t *testing.T, st store.Store)) {
	for _, k := range Kinds {
		t.Run(k, func(t *testing.T) { fn(t, Open(t, k)) })
	}
}

// EachKind runs fn as a subtest per kind, for tests that open the store
// themselves (e.g. through Location and the command line).
func EachKind(t *testing.T, fn func(t *testing.T, kind string)) {
	for _, k := range Kinds {
		t.Run(k, func(t *testing.T) { fn(t, k) })
	}
}
