package pgstore

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Secret implements store.Store. A racing insert waits for the first
// one's commit and then does nothing; the read that follows sees it.
func (s *Store) Secret(ctx context.Context, name string, ifAbsent []byte) ([]byte, error) {
	if name == "" || len(ifAbsent) == 0 {
		return nil, errors.New("pgstore: secret: a name and a value are required")
	}
	var value string
	err := s.tx(ctx, "secret", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`,
			name, hex.EncodeToString(ifAbsent)); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT value FROM secrets WHERE name = $1`, name).Scan(&value)
	})
	if err != nil {
		return nil, err
	}
	b, err := hex.DecodeString(value)
	if err != nil {
		return nil, fmt.Errorf("pgstore: secret %q is not hex", name)
	}
	return b, nil
}
