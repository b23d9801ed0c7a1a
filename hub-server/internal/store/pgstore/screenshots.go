package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

const screenshotInfoCols = `id, terminal_id, command_id, received_at, width, height, size`

// SaveScreenshot implements store.Store: the command row is locked, so
// two uploads for one command store one picture; the check, the insert
// and the pruning are one transaction.
func (s *Store) SaveScreenshot(ctx context.Context, p store.Screenshot, keep store.ScreenshotKeep) (store.Screenshot, error) {
	var out store.Screenshot
	err := s.tx(ctx, "save screenshot", func(tx pgx.Tx) error {
		c, cerr := commandTx(ctx, tx, p.TerminalID, p.CommandID)
		if cerr != nil && !errors.Is(cerr, store.ErrNotFound) {
			return cerr
		}
		out = store.Screenshot{}
		err := scanScreenshot(tx.QueryRow(ctx, `SELECT `+screenshotInfoCols+`, png FROM screenshots WHERE terminal_id = $1 AND command_id = $2`,
			p.TerminalID, p.CommandID), &out, true)
		if err == nil {
			return nil
		} else if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		out = p
		if cerr != nil {
			return cerr
		}
		if err := store.ScreenshotWanted(c, p.ReceivedAt); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO screenshots (`+screenshotInfoCols+`, png) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			p.ID, p.TerminalID, p.CommandID, store.Nanos(p.ReceivedAt), p.Width, p.Height, len(p.PNG), p.PNG); err != nil {
			return err
		}
		out.Size = int64(len(p.PNG))
		if _, err := tx.Exec(ctx, `DELETE FROM screenshots WHERE terminal_id = $1 AND id != $2 AND id NOT IN
			(SELECT id FROM screenshots WHERE terminal_id = $1 ORDER BY received_at DESC, id DESC LIMIT $3)`,
			p.TerminalID, p.ID, max(keep.PerTerminal, 1)); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM screenshots WHERE id != $1 AND id IN (SELECT id FROM
			(SELECT id, SUM(size) OVER (ORDER BY received_at DESC, id DESC) AS upto FROM screenshots) AS sizes WHERE upto > $2)`,
			p.ID, keep.TotalBytes)
		return err
	})
	return out, err
}

// scanScreenshot reads screenshotInfoCols and, withPNG, png.
func scanScreenshot(row pgx.Row, p *store.Screenshot, withPNG bool) error {
	var recv int64
	dest := []any{&p.ID, &p.TerminalID, &p.CommandID, &recv, &p.Width, &p.Height, &p.Size}
	if withPNG {
		dest = append(dest, &p.PNG)
	}
	err := row.Scan(dest...)
	p.ReceivedAt = store.FromNanos(recv)
	return err
}

// Screenshot implements store.Store.
func (s *Store) Screenshot(ctx context.Context, id string) (store.Screenshot, error) {
	var p store.Screenshot
	err := scanScreenshot(s.pool.QueryRow(ctx, `SELECT `+screenshotInfoCols+`, png FROM screenshots WHERE id = $1`, id), &p, true)
	if errors.Is(err, pgx.ErrNoRows) {
		return p, store.ErrNotFound
	}
	if err != nil {
		return p, fmt.Errorf("pgstore: screenshot: %w", err)
	}
	return p, nil
}

// Screenshots implements store.Store.
func (s *Store) Screenshots(ctx context.Context, terminalID string, limit int) ([]store.ScreenshotInfo, error) {
	q := `SELECT ` + screenshotInfoCols + ` FROM screenshots WHERE terminal_id = $1 ORDER BY received_at DESC, id DESC`
	args := []any{terminalID}
	if limit > 0 {
		q += ` LIMIT $2`
		args = append(args, limit)
	}
	return queryAll(ctx, s, "screenshots", func(row pgx.Row) (store.ScreenshotInfo, error) {
		var p store.Screenshot
		err := scanScreenshot(row, &p, false)
		return p.ScreenshotInfo, err
	}, q, args...)
}
