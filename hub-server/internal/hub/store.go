package hub

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/pgstore"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/sqlitestore"
)

// Location is where a hub keeps its data: a PostgreSQL database, for
// several hub processes, or else SQLite in a data directory.
type Location struct {
	// DataDir holds hub.db unless DB is set.
	DataDir string
	// DB is a PostgreSQL URL (postgres://…); empty: SQLite in DataDir.
	DB string
}

// OpenOrCreate opens the store, making SQLite's data directory and
// database when missing (what serve does). PostgreSQL is migrated on
// open.
func (l Location) OpenOrCreate(ctx context.Context) (store.Store, error) {
	if l.DB != "" {
		return l.openPostgres(ctx)
	}
	if err := os.MkdirAll(l.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	return sqlitestore.Open(ctx, DBPath(l.DataDir), sqlitestore.Opts{})
}

// Open opens an existing store: a missing SQLite database is an error
// that says the hub creates it when it first starts. PostgreSQL is migrated on open.
func (l Location) Open(ctx context.Context) (store.Store, error) {
	if l.DB != "" {
		return l.openPostgres(ctx)
	}
	if _, err := os.Stat(DBPath(l.DataDir)); err != nil {
		// The packaged hub's unit creates it within a second of the
		// install; a script that runs straight after may be earlier.
		return nil, fmt.Errorf("no hub database in %s yet: the hub creates it when it first starts (hub-server serve, or the quartierhub-hub unit: check systemctl status quartierhub-hub and try again): %w", l.DataDir, err)
	}
	return sqlitestore.Open(ctx, DBPath(l.DataDir), sqlitestore.Opts{})
}

func (l Location) openPostgres(ctx context.Context) (store.Store, error) {
	st, err := pgstore.Open(ctx, l.DB, pgstore.Opts{})
	if err != nil {
		return nil, errors.New(redactURL(err.Error(), l.DB))
	}
	return st, nil
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
