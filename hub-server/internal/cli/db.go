package cli

import (
	"context"
	"flag"
	"os"
	"strings"

	"github.com/quartierhub/quartierhub/hub-server/internal/hub"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// EnvDB is the environment variable --db defaults to, so a PostgreSQL URL
// with a password need not appear in the process list (pgx also reads
// PGPASSWORD and ~/.pgpass).
const EnvDB = "QUARTIERHUB_DB"

// storeLoc is where a command finds the store: --db postgres://… (for
// several hub processes on one database), else SQLite in --data.
type storeLoc struct{ hub.Location }

func (l *storeLoc) register(fs *flag.FlagSet) {
	fs.StringVar(&l.DataDir, "data", "", "hub data directory (holds hub.db unless --db is given)")
	fs.StringVar(&l.DB, "db", os.Getenv(EnvDB), "PostgreSQL URL postgres://… (default $"+EnvDB+"; empty: SQLite in --data)")
}

// check reports a usage problem with the flags.
func (l *storeLoc) check(cmd string) error {
	switch {
	case l.DB != "" && !isPostgresURL(l.DB):
		return usageError{cmd + ": --db must be a postgres:// or postgresql:// URL"}
	case l.DB == "" && l.DataDir == "":
		return usageError{cmd + ": --data is required (or --db postgres://…)"}
	}
	return nil
}

func isPostgresURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// openStore opens an existing store for an admin command (serve's hub
// creates it).
func openStore(ctx context.Context, l *storeLoc) (store.Store, error) { return l.Open(ctx) }

// DBPath is where the hub keeps its SQLite database in a data directory.
func DBPath(dataDir string) string { return hub.DBPath(dataDir) }
