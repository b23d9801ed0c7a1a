package sqlitestore_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/sqlitestore"
)

// A database a newer hub migrated (a migration this binary does not
// know is applied) is refused with ErrSchemaNewer, and left as it was.
func TestOpenRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hub.db")
	st, err := sqlitestore.Open(ctx, path, sqlitestore.Opts{})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `INSERT INTO goose_db_version (version_id, is_applied) VALUES (99999, 1)`); err != nil {
		t.Fatal(err)
	}
	_, err = sqlitestore.Open(ctx, path, sqlitestore.Opts{})
	if !errors.Is(err, store.ErrSchemaNewer) || !strings.Contains(err.Error(), "99999") {
		t.Fatalf("open of a newer database: %v, want ErrSchemaNewer naming migration 99999", err)
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM goose_db_version WHERE version_id = 99999`).Scan(&n); err != nil || n != 1 {
		t.Errorf("the newer migration's row: %d %v", n, err)
	}
}
