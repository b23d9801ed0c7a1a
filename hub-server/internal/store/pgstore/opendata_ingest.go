package pgstore

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

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
// (store.ObservationIngest) in tx, in a savepoint of their own: should
// that fail, the records are stored all the same (they are what the
// terminal forgets once acknowledged; observations derive from them) and
// the failure is logged and counted. Failures the whole transaction must
// retry (a deadlock, ErrObservationRace) or that end it (the context)
// are returned.
func (s *Store) ingestObservations(ctx context.Context, tx pgx.Tx, terminalID string, num int64, recs []api.Record, receivedAt time.Time) (*store.ObservationBatch, error) {
	if !slices.ContainsFunc(recs, func(r api.Record) bool { return r.Type == store.SensorMinuteType }) {
		return nil, nil
	}
	sp, err := tx.Begin(ctx) // a savepoint
	if err != nil {
		return nil, err
	}
	b, err := s.observations(ctx, sp, num, recs, receivedAt)
	if err == nil {
		return b, sp.Commit(ctx)
	}
	var pe *pgconn.PgError
	if errors.Is(err, store.ErrObservationRace) || ctx.Err() != nil || (errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001")) {
		return nil, err
	}
	if err := sp.Rollback(ctx); err != nil {
		return nil, err
	}
	s.od.NoteFailure()
	s.log.Error("open data: a batch's sensor minutes were stored as records only", "terminal", terminalID, "err", err)
	return nil, nil
}

func (s *Store) observations(ctx context.Context, tx pgx.Tx, num int64, recs []api.Record, receivedAt time.Time) (*store.ObservationBatch, error) {
	b := s.od.Batch(obsTx{tx}, num, receivedAt)
	for i := range recs {
		if err := b.Add(ctx, &recs[i]); err != nil {
			return nil, err
		}
	}
	return b, b.Finish(ctx)
}
