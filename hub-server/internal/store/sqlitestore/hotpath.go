package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// hot holds the statements of the paths every terminal request takes
// (authentication, heartbeat, command pickup, upload), prepared once:
// parsing the SQL was about half the cost of each of these small queries
// (fleet benchmark profile), and database/sql keeps a prepared statement
// per connection of its pool.
type hot struct {
	terminal     *sql.Stmt // readers
	openCommands *sql.Stmt // readers
	heartbeat    *sql.Stmt // writer
	history      *sql.Stmt // writer
	ingestTerm   *sql.Stmt // writer
	touchNum     *sql.Stmt // writer

	mu     sync.Mutex
	insert map[int]*sql.Stmt // writer: multi-row INSERT by row count (1…chunk)
	wanted []int             // row counts to prepare when the writer is free
}

const (
	terminalSQL     = `SELECT ` + terminalCols + terminalFrom + ` WHERE t.id = ?`
	openCommandsSQL = `SELECT ` + commandCols + ` FROM commands
		WHERE terminal_id = ? AND state IN ('queued', 'delivered') AND expires_at > ? ORDER BY created_at, id`
	historySQL = `INSERT INTO health_history (terminal_id, at, reason, state) VALUES (?, ?, ?, ?)
		ON CONFLICT (terminal_id, at) DO NOTHING`
)

func (s *Store) prepareHot(ctx context.Context) error {
	h := &hot{insert: map[int]*sql.Stmt{}}
	for _, p := range []struct {
		db  *sql.DB
		dst **sql.Stmt
		q   string
	}{
		{s.r, &h.terminal, terminalSQL},
		{s.r, &h.openCommands, openCommandsSQL},
		{s.w, &h.heartbeat, heartbeatSQL},
		{s.w, &h.history, historySQL},
		{s.w, &h.ingestTerm, `SELECT num, revoked_at FROM terminals WHERE id = ?`},
		{s.w, &h.touchNum, `UPDATE terminals SET last_seen_at = ? WHERE num = ?`},
	} {
		st, err := p.db.PrepareContext(ctx, p.q)
		if err != nil {
			h.close()
			return fmt.Errorf("sqlitestore: prepare: %w", err)
		}
		*p.dst = st
	}
	s.hot = h
	return nil
}

func (h *hot) close() {
	for _, st := range []*sql.Stmt{h.terminal, h.openCommands, h.heartbeat, h.history, h.ingestTerm, h.touchNum} {
		if st != nil {
			st.Close()
		}
	}
	h.mu.Lock()
	for _, st := range h.insert {
		st.Close()
	}
	h.mu.Unlock()
}

// insertStmt is the INSERT of rows records for tx: the writer's prepared
// one, or, the first time a row count is seen, one prepared in tx (the
// writer's only connection is busy with tx); prepareWanted then prepares
// it on the writer for next time.
func (h *hot) insertStmt(ctx context.Context, tx *sql.Tx, rows int) (*sql.Stmt, error) {
	h.mu.Lock()
	st, ok := h.insert[rows]
	if !ok {
		h.wanted = append(h.wanted, rows)
	}
	h.mu.Unlock()
	if ok {
		return tx.StmtContext(ctx, st), nil
	}
	return tx.PrepareContext(ctx, insertSQL(rows))
}

// prepareWanted prepares the INSERTs insertStmt lacked; call it while no
// transaction holds the writer.
func (h *hot) prepareWanted(ctx context.Context, w *sql.DB) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, rows := range h.wanted {
		if _, ok := h.insert[rows]; ok {
			continue
		}
		if st, err := w.PrepareContext(ctx, insertSQL(rows)); err == nil {
			h.insert[rows] = st
		}
	}
	h.wanted = h.wanted[:0]
}

// queryStmt is queryAll on a prepared statement.
func queryStmt[T any](ctx context.Context, st *sql.Stmt, what string, scan func(interface{ Scan(...any) error }) (T, error), args ...any) ([]T, error) {
	rows, err := st.QueryContext(ctx, args...)
	return scanAll(rows, err, what, scan)
}

// Group commit of uploads. Every upload used to be its own write
// transaction and so its own fsync (synchronous=FULL); with thousands of
// terminals uploading a few records a minute, the single writer spent its
// time in fsync and uploads queued behind each other. The ingester takes
// every upload waiting for the writer into one transaction, each in its
// own SAVEPOINT — still all or nothing per batch, and a failing batch
// does not take the others with it — and commits once. IngestBatch
// returns only after that commit, so an acknowledged batch is on disk as
// before.

// maxGroupRecords bounds the records of one group transaction: a group
// of small uploads must not wait behind many large backlog batches.
const maxGroupRecords = 2 * api.MaxBatchRecords

type ingestReq struct {
	ctx        context.Context
	terminalID string
	recs       []api.Record         // without the workshop events
	ws         store.WorkshopBatch  // the workshop events
	report     store.WorkshopAppend // for the OnWorkshopAppend hook, after commit
	receivedAt time.Time
	obs        *store.ObservationBatch // its observations, remembered after commit
	ack        api.BatchAck
	err        error
	done       chan struct{}
}

// size is the batch's record count, workshop events included.
func (r *ingestReq) size() int { return len(r.recs) + r.ws.Len() }

type ingester struct {
	in      chan *ingestReq
	quit    chan struct{}
	stopped chan struct{}
	stop    sync.Once
}

var errClosed = errors.New("sqlitestore: store closed")

func (s *Store) startIngester() {
	s.ing = &ingester{in: make(chan *ingestReq, 256), quit: make(chan struct{}), stopped: make(chan struct{})}
	go s.ingestLoop()
}

func (s *Store) stopIngester() {
	s.ing.stop.Do(func() { close(s.ing.quit) })
	<-s.ing.stopped
}

func (s *Store) ingestLoop() {
	defer close(s.ing.stopped)
	var group []*ingestReq
	for {
		group = group[:0]
		select {
		case <-s.ing.quit:
			return
		case r := <-s.ing.in:
			group = append(group, r)
		}
		n := group[0].size()
	drain:
		for n < maxGroupRecords {
			select {
			case r := <-s.ing.in:
				group = append(group, r)
				n += r.size()
			default:
				break drain
			}
		}
		s.ingestGroup(group)
		for _, r := range group {
			close(r.done)
		}
		s.hot.prepareWanted(context.Background(), s.w)
	}
}

// IngestBatch implements store.Store.
func (s *Store) IngestBatch(ctx context.Context, terminalID string, recs []api.Record, receivedAt time.Time) (api.BatchAck, error) {
	// Workshop events go to their logs, not to records; their envelopes
	// are read here, outside the writer.
	rest, ws := store.SplitWorkshopEvents(terminalID, recs, receivedAt)
	r := &ingestReq{ctx: ctx, terminalID: terminalID, recs: rest, ws: ws, receivedAt: receivedAt, done: make(chan struct{})}
	select {
	case s.ing.in <- r:
	case <-ctx.Done():
		return api.BatchAck{}, ctx.Err()
	case <-s.ing.quit:
		return api.BatchAck{}, errClosed
	}
	// Once queued, the batch is written even if the caller leaves: the
	// records point into the caller's buffers, so it waits for the group.
	select {
	case <-r.done:
	case <-s.ing.stopped:
		select {
		case <-r.done:
		default:
			return api.BatchAck{}, errClosed
		}
	}
	return r.ack, r.err
}

// ingestGroup writes the group in one transaction, one savepoint per
// batch, and sets each request's answer.
func (s *Store) ingestGroup(group []*ingestReq) {
	ctx := context.Background() // the group must not die with one request's context
	live := group[:0:0]
	for _, r := range group {
		if err := r.ctx.Err(); err != nil {
			r.err = err
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	fail := func(err error) {
		for _, r := range live {
			if r.err == nil {
				r.err, r.ack = err, api.BatchAck{}
			}
		}
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		fail(fmt.Errorf("sqlitestore: ingest: begin: %w", err))
		return
	}
	single := len(live) == 1
	for _, r := range live {
		if !single {
			if _, err := tx.ExecContext(ctx, `SAVEPOINT batch`); err != nil {
				tx.Rollback()
				fail(fmt.Errorf("sqlitestore: ingest: %w", err))
				return
			}
		}
		r.ack, r.err = s.ingestOne(ctx, tx, r)
		if single {
			break
		}
		if r.err != nil {
			if _, err := tx.ExecContext(ctx, `ROLLBACK TO batch`); err != nil {
				tx.Rollback()
				fail(fmt.Errorf("sqlitestore: ingest: %w", err))
				return
			}
		}
		if _, err := tx.ExecContext(ctx, `RELEASE batch`); err != nil {
			tx.Rollback()
			fail(fmt.Errorf("sqlitestore: ingest: %w", err))
			return
		}
	}
	if single && live[0].err != nil {
		tx.Rollback()
		return
	}
	if err := tx.Commit(); err != nil {
		fail(fmt.Errorf("sqlitestore: ingest: commit: %w", err))
		return
	}
	for _, r := range live {
		if r.err != nil {
			continue
		}
		if r.obs != nil {
			r.obs.Commit()
			if r.obs.Skipped > 0 {
				s.log.Debug("sensor_minute records kept as records only: no minute the hub reads", "terminal", r.terminalID, "records", r.obs.Skipped)
			}
		}
		if r.report.Dropped > 0 {
			r.ws.LogDrops(s.log, r.terminalID)
		}
		if len(r.report.Workshops) > 0 || r.report.Dropped > 0 {
			s.notifyAppend(r.report)
		}
	}
}

// ingestOne writes one batch in tx.
func (s *Store) ingestOne(ctx context.Context, tx *sql.Tx, r *ingestReq) (api.BatchAck, error) {
	var num int64
	var revoked sql.NullInt64
	look := tx.StmtContext(ctx, s.hot.ingestTerm)
	defer look.Close()
	err := look.QueryRowContext(ctx, r.terminalID).Scan(&num, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return api.BatchAck{}, store.ErrNotFound
	} else if err != nil {
		return api.BatchAck{}, fmt.Errorf("sqlitestore: ingest: %w", err)
	}
	if revoked.Valid {
		return api.BatchAck{}, store.ErrRevoked
	}
	recv := store.Nanos(r.receivedAt)
	stored, err := s.insertRecords(ctx, tx, num, r.recs, recv)
	if err != nil {
		return api.BatchAck{}, fmt.Errorf("sqlitestore: ingest: %w", err)
	}
	if err := s.ingestObservations(ctx, tx, r, num); err != nil {
		return api.BatchAck{}, fmt.Errorf("sqlitestore: ingest: %w", err)
	}
	total := len(r.recs) + r.ws.Len()
	if total > len(r.recs) {
		if err := ingestWorkshopEvents(ctx, tx, &r.ws); err != nil {
			return api.BatchAck{}, fmt.Errorf("sqlitestore: ingest: workshop events: %w", err)
		}
		var n int
		n, r.report = r.ws.Result(r.terminalID)
		stored += int64(n)
	}
	touch := tx.StmtContext(ctx, s.hot.touchNum)
	defer touch.Close()
	if _, err := touch.ExecContext(ctx, recv, num); err != nil {
		return api.BatchAck{}, fmt.Errorf("sqlitestore: ingest: %w", err)
	}
	// Workshop events not stored count as duplicates too: the terminal
	// may forget them either way.
	return api.BatchAck{Stored: int(stored), Duplicates: total - int(stored)}, nil
}

// ingestObservations stores the batch's sensor minutes as observations
// (store.ObservationIngest) in tx, in a savepoint of their own: should
// that fail, the records are stored all the same (they are what the
// terminal forgets once acknowledged; observations derive from them) and
// the failure is logged and counted.
func (s *Store) ingestObservations(ctx context.Context, tx *sql.Tx, r *ingestReq, num int64) error {
	r.obs = nil
	first := slices.IndexFunc(r.recs, func(rec api.Record) bool { return rec.Type == store.SensorMinuteType })
	if first < 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `SAVEPOINT observations`); err != nil {
		return err
	}
	b, err := s.observations(ctx, tx, r.recs[first:], num, r.receivedAt)
	if err != nil {
		if _, err := tx.ExecContext(ctx, `ROLLBACK TO observations`); err != nil {
			return err
		}
		s.od.NoteFailure()
		s.log.Error("open data: a batch's sensor minutes were stored as records only", "terminal", r.terminalID, "err", err)
		b = nil // its datastreams were rolled back: not to be remembered
	}
	if _, err := tx.ExecContext(ctx, `RELEASE observations`); err != nil {
		return err
	}
	r.obs = b
	return nil
}

func (s *Store) observations(ctx context.Context, tx *sql.Tx, recs []api.Record, num int64, receivedAt time.Time) (*store.ObservationBatch, error) {
	otx := &obsTx{tx: tx, stmts: s.obs}
	defer otx.close()
	b := s.od.Batch(otx, num, receivedAt)
	for i := range recs {
		if err := b.Add(ctx, &recs[i]); err != nil {
			return nil, err
		}
	}
	return b, b.Finish(ctx)
}

func (s *Store) insertRecords(ctx context.Context, tx *sql.Tx, num int64, recs []api.Record, recv int64) (int64, error) {
	var stored int64
	args := make([]any, 0, 7*min(len(recs), chunk))
	for len(recs) > 0 {
		part := recs[:min(len(recs), chunk)]
		recs = recs[len(part):]
		ts, err := s.hot.insertStmt(ctx, tx, len(part))
		if err != nil {
			return 0, err
		}
		args = args[:0]
		for i := range part {
			r := &part[i]
			args = append(args, num, r.ID, r.Type, r.Class, r.CreatedAt.UnixNano(), recv, string(r.Payload))
		}
		res, err := ts.ExecContext(ctx, args...)
		ts.Close()
		if err != nil {
			return 0, err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return 0, err
		}
		stored += n
	}
	return stored, nil
}
