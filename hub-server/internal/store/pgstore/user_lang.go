package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// UserLang implements store.Store.
func (s *Store) UserLang(ctx context.Context, userID string) (string, error) {
	var lang string
	err := s.pool.QueryRow(ctx, `SELECT lang FROM users WHERE id = $1`, userID).Scan(&lang)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", store.ErrNotFound
	} else if err != nil {
		return "", fmt.Errorf("pgstore: user lang: %w", err)
	}
	return lang, nil
}

// UserLangsByID implements store.Store.
func (s *Store) UserLangsByID(ctx context.Context) (map[string]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, lang FROM users WHERE lang <> ''`)
	if err != nil {
		return nil, fmt.Errorf("pgstore: user langs: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id, lang string
		if err := rows.Scan(&id, &lang); err != nil {
			return nil, fmt.Errorf("pgstore: user langs: %w", err)
		}
		out[id] = lang
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: user langs: %w", err)
	}
	return out, nil
}

// SetUserLang implements store.Store.
func (s *Store) SetUserLang(ctx context.Context, userID, lang string, a store.Audit) error {
	return s.tx(ctx, "set user lang", func(tx pgx.Tx) error {
		if err := mustAffect(tx.Exec(ctx, `UPDATE users SET lang = $1 WHERE id = $2`, lang, userID)); err != nil {
			return err
		}
		return audit(ctx, tx, a)
	})
}
