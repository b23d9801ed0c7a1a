package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
)

// Secret implements store.Store.
func (s *Store) Secret(ctx context.Context, name string, ifAbsent []byte) ([]byte, error) {
	if name == "" || len(ifAbsent) == 0 {
		return nil, errors.New("sqlitestore: secret: a name and a value are required")
	}
	var value string
	err := s.writeTx(ctx, "secret", func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`,
			name, hex.EncodeToString(ifAbsent)); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT value FROM secrets WHERE name = ?`, name).Scan(&value)
	})
	if err != nil {
		return nil, err
	}
	b, err := hex.DecodeString(value)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: secret %q is not hex", name)
	}
	return b, nil
}
