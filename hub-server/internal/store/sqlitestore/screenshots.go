package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

const screenshotInfoCols = `id, terminal_id, command_id, received_at, width, height, size`

// SaveScreenshot implements store.Store: the command's check, the insert
// and the pruning are one transaction.
func (s *Store) SaveScreenshot(ctx context.Context, p store.Screenshot, keep store.ScreenshotKeep) (store.Screenshot, error) {
	out := p
	err := s.writeTx(ctx, "save screenshot", func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT `+screenshotInfoCols+`, png FROM screenshots WHERE terminal_id = ? AND command_id = ?`,
			p.TerminalID, p.CommandID).Scan(scanScreenshotArgs(&out)...)
		if err == nil {
			return nil
		} else if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		out = p
		c, err := commandTx(ctx, tx, p.TerminalID, p.CommandID)
		if err != nil {
			return err
		}
		if err := store.ScreenshotWanted(c, p.ReceivedAt); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO screenshots (`+screenshotInfoCols+`, png) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			p.ID, p.TerminalID, p.CommandID, store.Nanos(p.ReceivedAt), p.Width, p.Height, len(p.PNG), p.PNG); err != nil {
			return err
		}
		out.Size = int64(len(p.PNG))
		if _, err := tx.ExecContext(ctx, `DELETE FROM screenshots WHERE terminal_id = ? AND id != ? AND id NOT IN
			(SELECT id FROM screenshots WHERE terminal_id = ? ORDER BY received_at DESC, id DESC LIMIT ?)`,
			p.TerminalID, p.ID, p.TerminalID, max(keep.PerTerminal, 1)); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM screenshots WHERE id != ? AND id IN (SELECT id FROM
			(SELECT id, SUM(size) OVER (ORDER BY received_at DESC, id DESC) AS upto FROM screenshots) WHERE upto > ?)`,
			p.ID, keep.TotalBytes)
		return err
	})
	return out, err
}

// scanScreenshotArgs are the scan targets of screenshotInfoCols and png.
func scanScreenshotArgs(p *store.Screenshot) []any {
	return []any{&p.ID, &p.TerminalID, &p.CommandID, nanosInto{&p.ReceivedAt}, &p.Width, &p.Height, &p.Size, &p.PNG}
}

// nanosInto scans unix nanoseconds into a time.
type nanosInto struct{ t *time.Time }

func (n nanosInto) Scan(v any) error {
	ns, ok := v.(int64)
	if !ok {
		return fmt.Errorf("time: %T is not unix nanoseconds", v)
	}
	*n.t = store.FromNanos(ns)
	return nil
}

// Screenshot implements store.Store.
func (s *Store) Screenshot(ctx context.Context, id string) (store.Screenshot, error) {
	var p store.Screenshot
	err := s.r.QueryRowContext(ctx, `SELECT `+screenshotInfoCols+`, png FROM screenshots WHERE id = ?`, id).Scan(scanScreenshotArgs(&p)...)
	if errors.Is(err, sql.ErrNoRows) {
		return p, store.ErrNotFound
	}
	if err != nil {
		return p, fmt.Errorf("sqlitestore: screenshot: %w", err)
	}
	return p, nil
}

// Screenshots implements store.Store.
func (s *Store) Screenshots(ctx context.Context, terminalID string, limit int) ([]store.ScreenshotInfo, error) {
	q := `SELECT ` + screenshotInfoCols + ` FROM screenshots WHERE terminal_id = ? ORDER BY received_at DESC, id DESC`
	args := []any{terminalID}
	if limit > 0 {
		q += ` LIMIT ?`
		args = append(args, limit)
	}
	return queryAll(ctx, s.r, "screenshots", func(sc interface{ Scan(...any) error }) (store.ScreenshotInfo, error) {
		var p store.Screenshot
		err := sc.Scan(scanScreenshotArgs(&p)[:7]...)
		return p.ScreenshotInfo, err
	}, q, args...)
}
