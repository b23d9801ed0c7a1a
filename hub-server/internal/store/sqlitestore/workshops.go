package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// Appends to a workshop's log run in write transactions on the single
// writer connection, so they are serialised, also against other
// processes on the file (BEGIN IMMEDIATE): reading last_seq and raising
// it in the same transaction keeps hub_seq gapless.

const workshopCols = `id, title, join_code, status, spec, version, created_by, created_at, updated_at, last_seq`

func scanWorkshop(sc interface{ Scan(...any) error }) (store.Workshop, error) {
	var w store.Workshop
	var spec string
	var last int64
	err := sc.Scan(&w.ID, &w.Title, &w.JoinCode, &w.Status, &spec, &w.Version, &w.CreatedBy, nanosInto{&w.CreatedAt}, nanosInto{&w.UpdatedAt}, &last)
	w.Spec, w.LastSeq = []byte(spec), uint64(last)
	return w, err
}

// CreateWorkshop implements store.Store.
func (s *Store) CreateWorkshop(ctx context.Context, w store.Workshop, a store.Audit) error {
	return s.writeTx(ctx, "create workshop", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO workshops (`+workshopCols+`) VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?, 0) ON CONFLICT DO NOTHING`,
			w.ID, w.Title, w.JoinCode, w.Status, string(w.Spec), w.CreatedBy, store.Nanos(w.CreatedAt), store.Nanos(w.UpdatedAt))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			var one int
			if err := tx.QueryRowContext(ctx, `SELECT 1 FROM workshops WHERE id = ?`, w.ID).Scan(&one); err == nil {
				return store.ErrWorkshopExists
			}
			return store.ErrJoinCodeTaken
		}
		return audit(ctx, tx, a)
	})
}

// Workshop implements store.Store.
func (s *Store) Workshop(ctx context.Context, id string) (store.Workshop, error) {
	w, err := scanWorkshop(s.r.QueryRowContext(ctx, `SELECT `+workshopCols+` FROM workshops WHERE id = ?`, id))
	return w, rowErr("workshop", err)
}

// WorkshopByJoinCode implements store.Store.
func (s *Store) WorkshopByJoinCode(ctx context.Context, code string) (store.Workshop, error) {
	w, err := scanWorkshop(s.r.QueryRowContext(ctx, `SELECT `+workshopCols+` FROM workshops WHERE join_code = ?`, code))
	return w, rowErr("workshop by join code", err)
}

// Workshops implements store.Store.
func (s *Store) Workshops(ctx context.Context) ([]store.Workshop, error) {
	return queryAll(ctx, s.r, "workshops", scanWorkshop, `SELECT `+workshopCols+` FROM workshops ORDER BY created_at DESC, id DESC`)
}

// UpdateWorkshop implements store.Store.
func (s *Store) UpdateWorkshop(ctx context.Context, w store.Workshop, a store.Audit) (store.Workshop, error) {
	err := s.writeTx(ctx, "update workshop", func(tx *sql.Tx) error {
		var version int64
		err := tx.QueryRowContext(ctx, `SELECT version FROM workshops WHERE id = ?`, w.ID).Scan(&version)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return store.ErrNotFound
		case err != nil:
			return err
		case version != w.Version:
			return store.ErrVersionConflict
		}
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM workshops WHERE join_code = ? AND id <> ?`, w.JoinCode, w.ID).Scan(&one); err == nil {
			return store.ErrJoinCodeTaken
		} else if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE workshops SET title = ?, join_code = ?, status = ?, spec = ?, updated_at = ?, version = version + 1
			WHERE id = ?`, w.Title, w.JoinCode, w.Status, string(w.Spec), store.Nanos(w.UpdatedAt), w.ID); err != nil {
			return err
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
	planned, err := store.PlanEvents(workshop, evs, time.Now())
	if err != nil || len(planned) == 0 {
		return nil, err
	}
	var advanced bool
	err = s.writeTx(ctx, "append workshop events", func(tx *sql.Tx) error {
		advanced = false
		if err := appendWorkshop(ctx, tx, workshop, planned); err != nil {
			return err
		}
		for _, e := range planned {
			if errors.Is(e.Err, store.ErrNotFound) {
				return store.ErrNotFound
			} else if e.Err != nil {
				return e.Err
			}
			advanced = advanced || e.New
		}
		if err := insertWorkshopEvents(ctx, tx, workshop, planned); err != nil {
			return err
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

// appendWorkshop plans evs of workshop in tx: stamps the new ones and
// raises the workshop's last_seq. An unknown workshop sets every event's
// Err to ErrNotFound.
func appendWorkshop(ctx context.Context, tx *sql.Tx, workshop string, evs []store.PlannedEvent) error {
	var last int64
	err := tx.QueryRowContext(ctx, `SELECT last_seq FROM workshops WHERE id = ?`, workshop).Scan(&last)
	if errors.Is(err, sql.ErrNoRows) {
		store.MarkUnknownWorkshop(evs)
		return nil
	} else if err != nil {
		return err
	}
	stored := map[string]store.StoredEventRef{}
	look, err := tx.PrepareContext(ctx, `SELECT workshop, hub_seq FROM workshop_events WHERE id = ?`)
	if err != nil {
		return err
	}
	defer look.Close()
	for _, e := range evs {
		if e.Err != nil {
			continue
		}
		var ref store.StoredEventRef
		var hs int64
		switch err := look.QueryRowContext(ctx, e.Envelope.ID).Scan(&ref.Workshop, &hs); {
		case err == nil:
			ref.HubSeq = uint64(hs)
			stored[e.Envelope.ID] = ref
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
	}
	newLast := store.PlanWorkshopAppend(workshop, uint64(last), evs, stored)
	if newLast == uint64(last) {
		return nil
	}
	_, err = tx.ExecContext(ctx, `UPDATE workshops SET last_seq = ? WHERE id = ?`, int64(newLast), workshop)
	return err
}

// insertWorkshopEvents inserts the new events of a planned append.
func insertWorkshopEvents(ctx context.Context, tx *sql.Tx, workshop string, evs []store.PlannedEvent) error {
	var ins *sql.Stmt
	for _, e := range evs {
		if !e.New {
			continue
		}
		if ins == nil {
			var err error
			if ins, err = tx.PrepareContext(ctx, `INSERT INTO workshop_events (workshop, hub_seq, id, device, seq, body, received_at)
				VALUES (?, ?, ?, ?, ?, ?, ?)`); err != nil {
				return err
			}
			defer ins.Close()
		}
		if _, err := ins.ExecContext(ctx, workshop, int64(e.HubSeq), e.Envelope.ID, e.Envelope.Device, int64(e.Envelope.Seq),
			string(e.Body), store.Nanos(e.ReceivedAt)); err != nil {
			return fmt.Errorf("event %s: %w", e.Envelope.ID, err)
		}
	}
	return nil
}

// ingestWorkshopEvents appends a batch's workshop events in tx
// (IngestBatch).
func ingestWorkshopEvents(ctx context.Context, tx *sql.Tx, wb *store.WorkshopBatch) error {
	for _, w := range wb.Workshops {
		evs := wb.Events[w]
		if err := appendWorkshop(ctx, tx, w, evs); err != nil {
			return err
		}
		if err := insertWorkshopEvents(ctx, tx, w, evs); err != nil {
			return err
		}
	}
	return nil
}

// WorkshopEvents implements store.Store.
func (s *Store) WorkshopEvents(ctx context.Context, workshop string, after uint64, limit int) ([]store.WorkshopEvent, error) {
	q := `SELECT workshop, hub_seq, id, device, seq, body, received_at FROM workshop_events WHERE workshop = ? AND hub_seq > ? ORDER BY hub_seq`
	args := []any{workshop, int64(after)}
	if limit > 0 {
		q += ` LIMIT ?`
		args = append(args, limit)
	}
	return queryAll(ctx, s.r, "workshop events", func(sc interface{ Scan(...any) error }) (store.WorkshopEvent, error) {
		var e store.WorkshopEvent
		var hubSeq, seq int64
		var body string
		err := sc.Scan(&e.Workshop, &hubSeq, &e.ID, &e.Device, &seq, &body, nanosInto{&e.ReceivedAt})
		e.HubSeq, e.Seq, e.Body = uint64(hubSeq), uint64(seq), []byte(body)
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
