package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
)

// obsStmts are the observation ingest's statements (store.ObservationStatements)
// prepared once on the writer connection.
type obsStmts map[string]*sql.Stmt

func prepareObs(ctx context.Context, w *sql.DB, queries []string) (obsStmts, error) {
	st := obsStmts{}
	for _, q := range queries {
		p, err := w.PrepareContext(ctx, q)
		if err != nil {
			st.close()
			return nil, fmt.Errorf("sqlitestore: prepare: %w", err)
		}
		st[q] = p
	}
	return st, nil
}

func (st obsStmts) close() {
	for _, p := range st {
		p.Close()
	}
}

// obsTx is store.ObservationTx on the ingest transaction, binding the
// prepared statements to it as they are first used.
type obsTx struct {
	tx    *sql.Tx
	stmts obsStmts
	bound map[string]*sql.Stmt
}

func (o *obsTx) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	if st, ok := o.bound[q]; ok {
		return st, nil
	}
	if o.bound == nil {
		o.bound = map[string]*sql.Stmt{}
	}
	var st *sql.Stmt
	if p, ok := o.stmts[q]; ok {
		st = o.tx.StmtContext(ctx, p)
	} else {
		// A short last chunk: prepared for this transaction only.
		var err error
		if st, err = o.tx.PrepareContext(ctx, q); err != nil {
			return nil, err
		}
	}
	o.bound[q] = st
	return st, nil
}

func (o *obsTx) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	st, err := o.stmt(ctx, q)
	if err != nil {
		return 0, err
	}
	res, err := st.ExecContext(ctx, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (o *obsTx) Query(ctx context.Context, q string, args []any, fn func(scan func(dest ...any) error) error) error {
	st, err := o.stmt(ctx, q)
	if err != nil {
		return err
	}
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}

// LockDatastreams: the single writer numbers datastreams alone.
func (o *obsTx) LockDatastreams(context.Context) error { return nil }

func (o *obsTx) close() {
	for _, st := range o.bound {
		st.Close()
	}
}
