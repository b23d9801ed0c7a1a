package pgstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/store/pgstore"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/teststores"
)

// QueryOpenData's statements stay prepared on their connection (pgx's
// statement cache) in spite of the transaction that sets the statement
// timeout: the same text run again is parsed and planned once. The
// SensorThings compiler keeps the text the same for a request shape.
func TestOpenDataStatementsStayPrepared(t *testing.T) {
	ctx := context.Background()
	s, err := pgstore.Open(ctx, teststores.PostgresURL(t), pgstore.Opts{MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const query = "SELECT CAST(? AS BIGINT) + 1"
	for i := int64(0); i < 3; i++ {
		var got int64
		if err := s.QueryOpenData(ctx, time.Second, query, []any{i}, func(scan func(dest ...any) error) error { return scan(&got) }); err != nil || got != i+1 {
			t.Fatalf("query %d: %d %v", i, got, err)
		}
	}
	// One connection: pg_prepared_statements is its session's.
	var n int64
	err = s.QueryOpenData(ctx, time.Second, "SELECT count(*) FROM pg_prepared_statements WHERE statement = ? AND NOT from_sql",
		[]any{pgstore.Rebind(query)}, func(scan func(dest ...any) error) error { return scan(&n) })
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("the statement is prepared %d times on the connection, want once", n)
	}
}
