package sqlitestore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// SaveDiagnostics implements store.Store: the command's check, the
// insert and the pruning are one transaction.
func (s *Store) SaveDiagnostics(ctx context.Context, d store.Diagnostics, keep store.DiagnosticsKeep) (store.Diagnostics, error) {
	out := d
	err := s.writeTx(ctx, "save diagnostics", func(tx *sql.Tx) error {
		var recv int64
		var bundle string
		err := tx.QueryRowContext(ctx, `SELECT id, terminal_id, command_id, received_at, bundle FROM diagnostics WHERE terminal_id = ? AND command_id = ?`,
			d.TerminalID, d.CommandID).Scan(&out.ID, &out.TerminalID, &out.CommandID, &recv, &bundle)
		if err == nil {
			out.ReceivedAt, out.Bundle = store.FromNanos(recv), []byte(bundle)
			return nil
		} else if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		c, err := commandTx(ctx, tx, d.TerminalID, d.CommandID)
		if err != nil {
			return err
		}
		if err := store.DiagnosticsWanted(c, d.ReceivedAt); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO diagnostics (id, terminal_id, command_id, received_at, bundle) VALUES (?, ?, ?, ?, ?)`,
			d.ID, d.TerminalID, d.CommandID, store.Nanos(d.ReceivedAt), string(d.Bundle)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM diagnostics WHERE terminal_id = ? AND id != ? AND id NOT IN
			(SELECT id FROM diagnostics WHERE terminal_id = ? ORDER BY received_at DESC, id DESC LIMIT ?)`,
			d.TerminalID, d.ID, d.TerminalID, max(keep.PerTerminal, 1)); err != nil {
			return err
		}
		// octet_length reads a value's size without loading it.
		_, err = tx.ExecContext(ctx, `DELETE FROM diagnostics WHERE id != ? AND id IN (SELECT id FROM
			(SELECT id, SUM(octet_length(bundle)) OVER (ORDER BY received_at DESC, id DESC) AS upto FROM diagnostics) WHERE upto > ?)`,
			d.ID, keep.TotalBytes)
		return err
	})
	return out, err
}
