package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/pgstore"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/sqlitestore"
)

// EnvDB is the environment variable --db defaults to, so a PostgreSQL URL
// with a password need not appear in the process list (pgx also reads
// PGPASSWORD and ~/.pgpass).
const EnvDB = "QUARTIERHUB_DB"

// storeLoc is where a command finds the store: --db postgres://… (for
// several hub processes on one database), else SQLite in --data.
type storeLoc struct {
	data string
	db   string
}

func (l *storeLoc) register(fs *flag.FlagSet) {
	fs.StringVar(&l.data, "data", "", "hub data directory (holds hub.db unless --db is given)")
	fs.StringVar(&l.db, "db", os.Getenv(EnvDB), "PostgreSQL URL postgres://… (default $"+EnvDB+"; empty: SQLite in --data)")
}

// check reports a usage problem with the flags.
func (l *storeLoc) check(cmd string) error {
	switch {
	case l.db != "" && !isPostgresURL(l.db):
		return usageError{cmd + ": --db must be a postgres:// or postgresql:// URL"}
	case l.db == "" && l.data == "":
		return usageError{cmd + ": --data is required (or --db postgres://…)"}
	}
	return nil
}

func isPostgresURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// openStore opens the store; create makes SQLite's data directory and
// database when missing (serve), otherwise a missing SQLite database is
// an error that says to run serve first. PostgreSQL is migrated on open
// either way.
func openStore(ctx context.Context, l *storeLoc, create bool) (store.Store, error) {
	if l.db != "" {
		st, err := pgstore.Open(ctx, l.db, pgstore.Opts{})
		if err != nil {
			return nil, errors.New(redactURL(err.Error(), l.db))
		}
		return st, nil
	}
	if create {
		if err := os.MkdirAll(l.data, 0o750); err != nil {
			return nil, fmt.Errorf("create data directory: %w", err)
		}
	} else if _, err := os.Stat(DBPath(l.data)); err != nil {
		return nil, fmt.Errorf("no hub database in %s (run serve first): %w", l.data, err)
	}
	return sqlitestore.Open(ctx, DBPath(l.data), sqlitestore.Opts{})
}

// redactURL keeps a password in url out of msg.
func redactURL(msg, url string) string {
	if i := strings.Index(url, "://"); i >= 0 {
		rest := url[i+3:]
		if at := strings.LastIndex(rest, "@"); at >= 0 {
			if _, pass, ok := strings.Cut(rest[:at], ":"); ok && pass != "" {
				msg = strings.ReplaceAll(msg, pass, "***")
			}
		}
	}
	return msg
}

// DBPath is where the hub keeps its SQLite database in a data directory.
func DBPath(dataDir string) string { return filepath.Join(dataDir, "hub.db") }
