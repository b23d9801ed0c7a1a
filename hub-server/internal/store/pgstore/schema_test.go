package pgstore_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/pgstore"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/teststores"
)

// A database a newer hub migrated (a migration this binary does not
// know is applied) is refused with ErrSchemaNewer.
func TestOpenRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	url := teststores.PostgresURL(t)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `INSERT INTO goose_db_version (version_id, is_applied) VALUES (99999, true)`); err != nil {
		t.Fatal(err)
	}
	st, err := pgstore.Open(ctx, url, pgstore.Opts{})
	if err == nil {
		st.Close()
	}
	if !errors.Is(err, store.ErrSchemaNewer) || !strings.Contains(err.Error(), "99999") {
		t.Fatalf("open of a newer database: %v, want ErrSchemaNewer naming migration 99999", err)
	}
}
