package pgstore

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// obsSQL is store.ObservationStatements in PostgreSQL's placeholders,
// rebound once; pgx prepares and caches each per connection.
var obsSQL = func() map[string]string {
	m := map[string]string{}
	for _, q := range store.ObservationStatements {
		m[q] = Rebind(q)
	}
	return m
}()

// obsTx is store.ObservationTx on the ingest transaction.
type obsTx struct{ tx pgx.Tx }

func rebound(q string) string {
	if r, ok := obsSQL[q]; ok {
		return r
	}
	return Rebind(q)
}

func (o obsTx) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	tag, err := o.tx.Exec(ctx, rebound(q), args...)
	return tag.RowsAffected(), err
}

func (o obsTx) Query(ctx context.Context, q string, args []any, fn func(scan func(dest ...any) error) error) error {
	rows, err := o.tx.Query(ctx, rebound(q), args...)
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

// LockDatastreams: datastreams.id is MAX()+1, numbered under a lock.
func (o obsTx) LockDatastreams(ctx context.Context) error {
	return xactLock(ctx, o.tx, lockDatastreams)
}

// ingestObservations stores the batch's sensor minutes as observations
// (store.ObservationIngest) in tx; nil when it has none.
func (s *Store) ingestObservations(ctx context.Context, tx pgx.Tx, num int64, recs []api.Record) (*store.ObservationBatch, error) {
	var b *store.ObservationBatch
	for i := range recs {
		if recs[i].Type != store.SensorMinuteType {
			continue
		}
		if b == nil {
			b = s.od.Batch(obsTx{tx}, num)
		}
		if err := b.Add(ctx, &recs[i]); err != nil {
			return nil, err
		}
	}
	if b == nil {
		return nil, nil
	}
	return b, b.Finish(ctx)
}
