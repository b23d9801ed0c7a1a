package pgstore

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// SaveDiagnostics implements store.Store: the command row is locked, so
// two uploads for one command store one bundle; the check, the insert
// and the pruning are one transaction.
func (s *Store) SaveDiagnostics(ctx context.Context, d store.Diagnostics, keep store.DiagnosticsKeep) (store.Diagnostics, error) {
	var out store.Diagnostics
	err := s.tx(ctx, "save diagnostics", func(tx pgx.Tx) error {
		out = d
		c, cerr := commandTx(ctx, tx, d.TerminalID, d.CommandID)
		if cerr != nil && !errors.Is(cerr, store.ErrNotFound) {
			return cerr
		}
		var recv int64
		var bundle string
		err := tx.QueryRow(ctx, `SELECT id, terminal_id, command_id, received_at, bundle FROM diagnostics WHERE terminal_id = $1 AND command_id = $2`,
			d.TerminalID, d.CommandID).Scan(&out.ID, &out.TerminalID, &out.CommandID, &recv, &bundle)
		if err == nil {
			out.ReceivedAt, out.Bundle = store.FromNanos(recv), []byte(bundle)
			return nil
		} else if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if cerr != nil {
			return cerr
		}
		if err := store.DiagnosticsWanted(c, d.ReceivedAt); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO diagnostics (id, terminal_id, command_id, received_at, bundle) VALUES ($1, $2, $3, $4, $5)`,
			d.ID, d.TerminalID, d.CommandID, store.Nanos(d.ReceivedAt), validText(d.Bundle)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM diagnostics WHERE terminal_id = $1 AND id != $2 AND id NOT IN
			(SELECT id FROM diagnostics WHERE terminal_id = $1 ORDER BY received_at DESC, id DESC LIMIT $3)`,
			d.TerminalID, d.ID, max(keep.PerTerminal, 1)); err != nil {
			return err
		}
		// octet_length of a stored value reads its size, not its bytes.
		_, err = tx.Exec(ctx, `DELETE FROM diagnostics WHERE id != $1 AND id IN (SELECT id FROM
			(SELECT id, SUM(octet_length(bundle)) OVER (ORDER BY received_at DESC, id DESC) AS upto FROM diagnostics) AS sizes WHERE upto > $2)`,
			d.ID, keep.TotalBytes)
		return err
	})
	return out, err
}
