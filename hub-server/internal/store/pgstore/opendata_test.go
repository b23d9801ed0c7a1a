package pgstore_test

import (
	"testing"

	"github.com/quartierhub/quartierhub/hub-server/internal/store/pgstore"
)

func TestRebind(t *testing.T) {
	for in, want := range map[string]string{
		`SELECT 1`: `SELECT 1`,
		`SELECT a FROM t WHERE b = ? AND c IN (?, ?) LIMIT ?`: `SELECT a FROM t WHERE b = $1 AND c IN ($2, $3) LIMIT $4`,
		`?`:                            `$1`,
		`SELECT ?,?,?,?,?,?,?,?,?,?,?`: `SELECT $1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11`,
	} {
		if got := pgstore.Rebind(in); got != want {
			t.Errorf("Rebind(%q) = %q, want %q", in, got, want)
		}
	}
}
