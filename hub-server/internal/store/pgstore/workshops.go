package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// An append to a workshop's log first locks the workshop's row (SELECT …
// FOR UPDATE), so appends to one workshop from any process wait for each
// other: reading last_seq and raising it in the same transaction keeps
// hub_seq gapless, and the event IDs already stored are read after the
// lock, so an event stored by the transaction before is seen (READ
// COMMITTED reads what committed before each statement). A batch locks
// its workshops in ID order. The appending transaction sends NOTIFY
// NotifyChannel with the workshop's ID; PostgreSQL delivers it at commit,
// to every hub process listening.

// NotifyChannel is the channel of the NOTIFY an append sends, its payload
// the workshop's ID.
const NotifyChannel = "qh_workshop"

const workshopCols = `id, title, join_code, status, spec, version, created_by, created_at, updated_at, last_seq`

func scanWorkshop(row pgx.Row) (store.Workshop, error) {
	var w store.Workshop
	var spec string
	var created, updated, last int64
	err := row.Scan(&w.ID, &w.Title, &w.JoinCode, &w.Status, &spec, &w.Version, &w.CreatedBy, &created, &updated, &last)
	w.Spec, w.LastSeq = []byte(spec), uint64(last)
	w.CreatedAt, w.UpdatedAt = store.FromNanos(created), store.FromNanos(updated)
	return w, err
}

// isUniqueViolation reports whether err is PostgreSQL's unique_violation.
func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// CreateWorkshop implements store.Store.
func (s *Store) CreateWorkshop(ctx context.Context, w store.Workshop, a store.Audit) error {
	return s.tx(ctx, "create workshop", func(tx pgx.Tx) error {
		// ON CONFLICT DO NOTHING waits for a concurrent insert of the
		// same ID or code and then does nothing: no error to retry.
		tag, err := tx.Exec(ctx, `INSERT INTO workshops (`+workshopCols+`) VALUES ($1, $2, $3, $4, $5, 1, $6, $7, $8, 0) ON CONFLICT DO NOTHING`,
			w.ID, validText([]byte(w.Title)), validText([]byte(w.JoinCode)), w.Status, validText(w.Spec), w.CreatedBy,
			store.Nanos(w.CreatedAt), store.Nanos(w.UpdatedAt))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			var exists bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM workshops WHERE id = $1)`, w.ID).Scan(&exists); err != nil {
				return err
			}
			if exists {
				return store.ErrWorkshopExists
			}
			return store.ErrJoinCodeTaken
		}
		return audit(ctx, tx, a)
	})
}

func (s *Store) workshopWhere(ctx context.Context, what, cond string, arg any) (store.Workshop, error) {
	w, err := scanWorkshop(s.pool.QueryRow(ctx, `SELECT `+workshopCols+` FROM workshops WHERE `+cond, arg))
	if errors.Is(err, pgx.ErrNoRows) {
		return w, store.ErrNotFound
	}
	if err != nil {
		return w, fmt.Errorf("pgstore: %s: %w", what, err)
	}
	return w, nil
}

// Workshop implements store.Store.
func (s *Store) Workshop(ctx context.Context, id string) (store.Workshop, error) {
	return s.workshopWhere(ctx, "workshop", `id = $1`, id)
}

// WorkshopByJoinCode implements store.Store.
func (s *Store) WorkshopByJoinCode(ctx context.Context, code string) (store.Workshop, error) {
	return s.workshopWhere(ctx, "workshop by join code", `join_code = $1`, code)
}

// Workshops implements store.Store.
func (s *Store) Workshops(ctx context.Context) ([]store.Workshop, error) {
	return queryAll(ctx, s, "workshops", scanWorkshop, `SELECT `+workshopCols+` FROM workshops ORDER BY created_at DESC, id DESC`)
}

// UpdateWorkshop implements store.Store.
func (s *Store) UpdateWorkshop(ctx context.Context, w store.Workshop, a store.Audit) (store.Workshop, error) {
	err := s.tx(ctx, "update workshop", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE workshops SET title = $1, join_code = $2, status = $3, spec = $4, updated_at = $5, version = version + 1
			WHERE id = $6 AND version = $7`,
			validText([]byte(w.Title)), validText([]byte(w.JoinCode)), w.Status, validText(w.Spec), store.Nanos(w.UpdatedAt), w.ID, w.Version)
		if isUniqueViolation(err) {
			return store.ErrJoinCodeTaken
		} else if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			var exists bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM workshops WHERE id = $1)`, w.ID).Scan(&exists); err != nil {
				return err
			}
			if !exists {
				return store.ErrNotFound
			}
			return store.ErrVersionConflict
		}
		if a.Action == "" {
			return nil
		}
		return audit(ctx, tx, a)
	})
	if err == nil {
		w.Version++
	}
	return w, err
}

// AppendWorkshopEvents implements store.Store.
func (s *Store) AppendWorkshopEvents(ctx context.Context, workshop string, evs []store.WorkshopEvent, a store.Audit) ([]uint64, error) {
	orig, err := store.PlanEvents(workshop, evs, time.Now())
	if err != nil || len(orig) == 0 {
		return nil, err
	}
	var planned []store.PlannedEvent
	var advanced bool
	err = s.tx(ctx, "append workshop events", func(tx pgx.Tx) error {
		// Planning changes the events: each attempt starts afresh.
		planned = append(planned[:0], orig...)
		var err error
		if advanced, err = appendWorkshop(ctx, tx, workshop, planned); err != nil {
			return err
		}
		for _, e := range planned {
			if errors.Is(e.Err, store.ErrNotFound) {
				return store.ErrNotFound
			} else if e.Err != nil {
				return e.Err
			}
		}
		if a.Action == "" {
			return nil
		}
		return audit(ctx, tx, a)
	})
	if err != nil {
		return nil, err
	}
	if advanced {
		s.notifyAppend(store.WorkshopAppend{Workshops: []string{workshop}})
	}
	seqs := make([]uint64, len(planned))
	for i, e := range planned {
		seqs[i] = e.HubSeq
	}
	return seqs, nil
}

// appendWorkshop locks workshop's row, plans evs, and inserts the new
// ones, raises last_seq and notifies; it reports whether the log
// advanced. An unknown workshop marks every event (MarkUnknownWorkshop).
// Events with Err set after planning are not stored; the caller decides
// whether that fails the transaction.
func appendWorkshop(ctx context.Context, tx pgx.Tx, workshop string, evs []store.PlannedEvent) (bool, error) {
	var last int64
	err := tx.QueryRow(ctx, `SELECT last_seq FROM workshops WHERE id = $1 FOR UPDATE`, workshop).Scan(&last)
	if errors.Is(err, pgx.ErrNoRows) {
		store.MarkUnknownWorkshop(evs)
		return false, nil
	} else if err != nil {
		return false, err
	}
	ids := make([]string, 0, len(evs))
	for _, e := range evs {
		if e.Err == nil {
			ids = append(ids, e.Envelope.ID)
		}
	}
	stored := map[string]store.StoredEventRef{}
	rows, err := tx.Query(ctx, `SELECT id, workshop, hub_seq FROM workshop_events WHERE id = ANY($1)`, ids)
	if err != nil {
		return false, err
	}
	var id string
	var ref store.StoredEventRef
	var hs int64
	_, err = pgx.ForEachRow(rows, []any{&id, &ref.Workshop, &hs}, func() error {
		ref.HubSeq = uint64(hs)
		stored[id] = ref
		return nil
	})
	if err != nil {
		return false, err
	}
	newLast := store.PlanWorkshopAppend(workshop, uint64(last), evs, stored)
	if newLast == uint64(last) {
		return false, nil
	}
	n := int(newLast - uint64(last))
	hubSeqs, seqs, recv := make([]int64, 0, n), make([]int64, 0, n), make([]int64, 0, n)
	eids, devices, bodies := make([]string, 0, n), make([]string, 0, n), make([]string, 0, n)
	for _, e := range evs {
		if !e.New {
			continue
		}
		hubSeqs, seqs, recv = append(hubSeqs, int64(e.HubSeq)), append(seqs, int64(e.Envelope.Seq)), append(recv, store.Nanos(e.ReceivedAt))
		eids, devices, bodies = append(eids, e.Envelope.ID), append(devices, e.Envelope.Device), append(bodies, validText(e.Body))
	}
	// An ID another transaction stores at the same time in another
	// workshop fails this one (unique violation): the append or the
	// terminal's upload is tried again and then sees it stored.
	if _, err := tx.Exec(ctx, `INSERT INTO workshop_events (workshop, hub_seq, id, device, seq, body, received_at)
		SELECT $1, e.hub_seq, e.id, e.device, e.seq, e.body, e.received_at
		FROM unnest($2::bigint[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::bigint[]) AS e(hub_seq, id, device, seq, body, received_at)`,
		workshop, hubSeqs, eids, devices, seqs, bodies, recv); err != nil {
		return false, err
	}
	if _, err := tx.Exec(ctx, `UPDATE workshops SET last_seq = $1 WHERE id = $2`, int64(newLast), workshop); err != nil {
		return false, err
	}
	if _, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, NotifyChannel, workshop); err != nil {
		return false, err
	}
	return true, nil
}

// ingestWorkshopEvents appends a batch's workshop events in tx
// (IngestBatch), workshop by workshop in ID order.
func ingestWorkshopEvents(ctx context.Context, tx pgx.Tx, wb *store.WorkshopBatch) error {
	for _, w := range wb.Workshops {
		if _, err := appendWorkshop(ctx, tx, w, wb.Events[w]); err != nil {
			return err
		}
	}
	return nil
}

// WorkshopEvents implements store.Store.
func (s *Store) WorkshopEvents(ctx context.Context, workshop string, after uint64, limit int) ([]store.WorkshopEvent, error) {
	q := `SELECT workshop, hub_seq, id, device, seq, body, received_at FROM workshop_events WHERE workshop = $1 AND hub_seq > $2 ORDER BY hub_seq`
	args := []any{workshop, int64(after)}
	if limit > 0 {
		q += ` LIMIT $3`
		args = append(args, limit)
	}
	return queryAll(ctx, s, "workshop events", func(row pgx.Row) (store.WorkshopEvent, error) {
		var e store.WorkshopEvent
		var hubSeq, seq, recv int64
		var body string
		err := row.Scan(&e.Workshop, &hubSeq, &e.ID, &e.Device, &seq, &body, &recv)
		e.HubSeq, e.Seq, e.Body, e.ReceivedAt = uint64(hubSeq), uint64(seq), []byte(body), store.FromNanos(recv)
		return e, err
	}, q, args...)
}

// OnWorkshopAppend implements store.Store.
func (s *Store) OnWorkshopAppend(fn func(store.WorkshopAppend)) {
	if fn == nil {
		s.onAppend.Store(nil)
		return
	}
	s.onAppend.Store(&fn)
}

func (s *Store) notifyAppend(wa store.WorkshopAppend) {
	if fn := s.onAppend.Load(); fn != nil {
		(*fn)(wa)
	}
}
