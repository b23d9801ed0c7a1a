// Package sqlitestore is the embedded SQLite implementation of store.Store
// (modernc.org/sqlite, no cgo). One file, WAL mode so other processes (the
// CLI creating a token) and readers work while the hub writes; one writer
// connection, because SQLite serialises writers anyway and a pool of
// writers would only fight over the lock; a small pool of readers.
package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// Opts configures Open. Zero values are the defaults.
type Opts struct {
	// BusyTimeout is how long a statement waits for another connection's
	// or process's lock. Default 10s.
	BusyTimeout time.Duration
	// Readers is the size of the reader pool. Default 4.
	Readers int
	// Logger receives what IngestBatch drops (workshop events it cannot
	// store). Default slog.Default().
	Logger *slog.Logger
	// Now is the clock open data reads by (which hours have ended) and
	// audits default to. Default time.Now.
	Now func() time.Time
}

// Store is a store.Store on one SQLite file.
type Store struct {
	w   *sql.DB // single writer connection
	r   *sql.DB // readers
	hot *hot    // prepared hot-path statements (hotpath.go)
	ing *ingester
	log *slog.Logger
	now func() time.Time
	// od and obs make sensor_minute records observations (opendata_ingest.go).
	od  *store.ObservationIngest
	obs obsStmts
	// openDataStmts are the prepared SensorThings queries (opendata_stmts.go).
	openDataStmts stmtCache
	// onAppend is the OnWorkshopAppend hook (workshops.go).
	onAppend atomic.Pointer[func(store.WorkshopAppend)]
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the SQLite database at path and applies
// pending migrations.
func Open(ctx context.Context, path string, o Opts) (*Store, error) {
	if o.BusyTimeout <= 0 {
		o.BusyTimeout = 10 * time.Second
	}
	if o.Readers <= 0 {
		o.Readers = 4
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	// synchronous(FULL): an acknowledged batch is on disk even after a power
	// cut — terminals delete what the hub acknowledged. It costs one fsync
	// per transaction, i.e. per batch.
	pragmas := []string{
		fmt.Sprintf("busy_timeout(%d)", o.BusyTimeout.Milliseconds()),
		"journal_mode(WAL)",
		"synchronous(FULL)",
		"foreign_keys(ON)",
	}
	dsn := func(extra ...string) string {
		q := url.Values{}
		for _, p := range append(pragmas, extra...) {
			q.Add("_pragma", p)
		}
		return "file:" + path + "?" + q.Encode()
	}
	w, err := sql.Open("sqlite", dsn()+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: open: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	if err := migrate(ctx, w); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite", dsn("query_only(ON)"))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlitestore: open readers: %w", err)
	}
	r.SetMaxOpenConns(o.Readers)
	r.SetMaxIdleConns(o.Readers)
	s := &Store{w: w, r: r, log: o.Logger, now: o.Now, od: store.NewObservationIngest()}
	if err := s.prepareHot(ctx); err != nil {
		r.Close()
		w.Close()
		return nil, err
	}
	if s.obs, err = prepareObs(ctx, w, store.ObservationStatements); err != nil {
		s.hot.close()
		r.Close()
		w.Close()
		return nil, err
	}
	s.startIngester()
	return s, nil
}

func migrate(ctx context.Context, db *sql.DB) error {
	fsys, err := store.MigrationsFS(store.DialectSQLite)
	if err != nil {
		return fmt.Errorf("sqlitestore: %w", err)
	}
	// The provider is not closed: Close would close db.
	p, err := goose.NewProvider(goose.DialectSQLite3, db, fsys)
	if err != nil {
		return fmt.Errorf("sqlitestore: migrations: %w", err)
	}
	// goose ignores applied versions it does not know: refuse them.
	cur, known, err := p.GetVersions(ctx)
	if err != nil {
		return fmt.Errorf("sqlitestore: migrations: %w", err)
	}
	if err := store.CheckSchemaVersion(cur, known); err != nil {
		return fmt.Errorf("sqlitestore: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("sqlitestore: migrate: %w", err)
	}
	return nil
}

// Close closes both connection pools.
func (s *Store) Close() error {
	s.stopIngester()
	s.hot.close()
	s.obs.close()
	s.openDataStmts.close()
	return errors.Join(s.r.Close(), s.w.Close())
}

// CreateEnrolToken implements store.Store.
func (s *Store) CreateEnrolToken(ctx context.Context, tok store.EnrolToken) error {
	return s.writeTx(ctx, "create token", func(tx *sql.Tx) error { return createEnrolToken(ctx, tx, tok) })
}

func createEnrolToken(ctx context.Context, tx *sql.Tx, tok store.EnrolToken) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM terminals WHERE name = ?`, tok.TerminalName).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return store.ErrNameTaken
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO enrol_tokens (hash, terminal_name, quarter, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
		hex.EncodeToString(tok.Hash[:]), tok.TerminalName, tok.Quarter, store.Nanos(tok.CreatedAt), store.Nanos(tok.ExpiresAt))
	return err
}

// Enroll implements store.Store.
func (s *Store) Enroll(ctx context.Context, e store.Enrolment) (store.Terminal, error) {
	var t store.Terminal
	err := s.writeTx(ctx, "enroll", func(tx *sql.Tx) error {
		hash := hex.EncodeToString(e.TokenHash[:])
		var expires int64
		var used sql.NullInt64
		var rotate sql.NullString
		err := tx.QueryRowContext(ctx, `SELECT terminal_name, quarter, expires_at, used_at, rotate_terminal_id FROM enrol_tokens WHERE hash = ?`, hash).
			Scan(&t.Name, &t.Quarter, &expires, &used, &rotate)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return store.ErrTokenUnknown
		case err != nil:
			return err
		case used.Valid:
			return store.ErrTokenUsed
		case !e.Now.Before(store.FromNanos(expires)):
			return store.ErrTokenExpired
		}
		if rotate.Valid {
			return rotateTx(ctx, tx, &t, rotate.String, hash, e)
		}
		var taken int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM terminals WHERE name = ?`, t.Name).Scan(&taken); err != nil {
			return err
		}
		if taken > 0 {
			return store.ErrNameTaken
		}
		t.ID, t.PublicKey, t.SoftwareVersion, t.EnrolledAt = e.TerminalID, e.PublicKey, e.SoftwareVersion, e.Now.UTC()
		if _, err := tx.ExecContext(ctx, `INSERT INTO terminals (num, id, name, quarter, public_key, software_version, enrolled_at)
			VALUES ((SELECT COALESCE(MAX(num), 0) + 1 FROM terminals), ?, ?, ?, ?, ?, ?)`,
			t.ID, t.Name, t.Quarter, api.EncodePublicKey(t.PublicKey), t.SoftwareVersion, store.Nanos(e.Now)); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE enrol_tokens SET used_at = ?, terminal_id = ? WHERE hash = ?`, store.Nanos(e.Now), t.ID, hash)
		return err
	})
	return t, err
}

// terminalCols reads a terminal with what its heartbeats say: the
// reported software version and the later of last_seen_at and the last
// heartbeat. Use with terminalFrom.
const terminalCols = `t.id, t.name, t.quarter, t.public_key, COALESCE(NULLIF(h.software_version, ''), t.software_version), t.enrolled_at, t.revoked_at,
	CASE WHEN h.received_at IS NOT NULL AND (t.last_seen_at IS NULL OR h.received_at > t.last_seen_at) THEN h.received_at ELSE t.last_seen_at END, t.tags`

const terminalFrom = ` FROM terminals t LEFT JOIN terminal_health h ON h.terminal_id = t.id`

func scanTerminal(sc interface{ Scan(...any) error }) (store.Terminal, error) {
	var t store.Terminal
	var pub string
	var enrolled int64
	var revoked, seen sql.NullInt64
	var tags string
	if err := sc.Scan(&t.ID, &t.Name, &t.Quarter, &pub, &t.SoftwareVersion, &enrolled, &revoked, &seen, &tags); err != nil {
		return t, err
	}
	key, err := api.DecodePublicKey(pub)
	if err != nil {
		return t, fmt.Errorf("terminal %s: %w", t.ID, err)
	}
	t.PublicKey, t.Tags = key, store.DecodeTags(tags)
	t.EnrolledAt, t.RevokedAt, t.LastSeenAt = store.FromNanos(enrolled), store.FromNanos(revoked.Int64), store.FromNanos(seen.Int64)
	return t, nil
}

// Terminal implements store.Store.
func (s *Store) Terminal(ctx context.Context, id string) (store.Terminal, error) {
	t, err := scanTerminal(s.hot.terminal.QueryRowContext(ctx, id))
	if errors.Is(err, sql.ErrNoRows) {
		return t, store.ErrNotFound
	}
	if err != nil {
		return t, fmt.Errorf("sqlitestore: terminal: %w", err)
	}
	return t, nil
}

// Terminals implements store.Store.
func (s *Store) Terminals(ctx context.Context) ([]store.Terminal, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+terminalCols+terminalFrom+` ORDER BY t.name`)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: terminals: %w", err)
	}
	defer rows.Close()
	var ts []store.Terminal
	for rows.Next() {
		t, err := scanTerminal(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlitestore: terminals: %w", err)
		}
		ts = append(ts, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitestore: terminals: %w", err)
	}
	return ts, nil
}

// RevokeTerminal implements store.Store.
func (s *Store) RevokeTerminal(ctx context.Context, id string, at time.Time) error {
	return s.writeTx(ctx, "revoke", func(tx *sql.Tx) error { return revokeTerminal(ctx, tx, id, at) })
}

func revokeTerminal(ctx context.Context, tx *sql.Tx, id string, at time.Time) error {
	return mustAffect(tx.ExecContext(ctx, `UPDATE terminals SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?`, store.Nanos(at), id))
}

// TouchTerminal implements store.Store.
func (s *Store) TouchTerminal(ctx context.Context, id string, at time.Time) error {
	return s.writeTx(ctx, "touch", func(tx *sql.Tx) error {
		return mustAffect(tx.ExecContext(ctx, `UPDATE terminals SET last_seen_at = ? WHERE id = ?`, store.Nanos(at), id))
	})
}

func mustAffect(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// writeTx runs fn in a write transaction (BEGIN IMMEDIATE on the single
// writer connection) and commits if fn returns nil. Errors of the store
// package pass through unwrapped-able; others get a prefix.
func (s *Store) writeTx(ctx context.Context, what string, fn func(*sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlitestore: %s: begin: %w", what, err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		if isStoreErr(err) {
			return err
		}
		return fmt.Errorf("sqlitestore: %s: %w", what, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlitestore: %s: commit: %w", what, err)
	}
	return nil
}

func isStoreErr(err error) bool {
	for _, e := range []error{store.ErrNotFound, store.ErrTokenUnknown, store.ErrTokenUsed, store.ErrTokenExpired, store.ErrNameTaken, store.ErrRevoked, store.ErrCommandClosed, store.ErrUserExists, store.ErrVersionConflict,
		store.ErrJoinCodeTaken, store.ErrWorkshopExists, store.ErrWorkshopFull} {
		if err == e {
			return true
		}
	}
	return false
}

// chunk is how many rows one multi-row INSERT carries: fewer statement
// executions through database/sql per batch, well under SQLite's
// 32766-parameter limit.
const chunk = 64

const insertHead = `INSERT INTO records (terminal_num, record_id, type, class, created_at, received_at, payload) VALUES `

func insertSQL(rows int) string {
	var b strings.Builder
	b.WriteString(insertHead)
	for i := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?,?,?,?,?,?,?)")
	}
	b.WriteString(" ON CONFLICT (terminal_num, record_id) DO NOTHING")
	return b.String()
}

// ExportRecords implements store.Store.
func (s *Store) ExportRecords(ctx context.Context, f store.ExportFilter, fn func(*store.ExportedRecord) error) error {
	q := `SELECT r.record_id, t.name, r.type, r.class, r.created_at, r.received_at, r.payload
		FROM records r JOIN terminals t ON t.num = r.terminal_num`
	var args []any
	if f.Type != "" {
		q += ` WHERE r.type = ?`
		args = append(args, f.Type)
	}
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("sqlitestore: export: %w", err)
	}
	defer rows.Close()
	var rec store.ExportedRecord
	var payload sql.RawBytes
	var created, received int64
	for rows.Next() {
		if err := rows.Scan(&rec.ID, &rec.Terminal, &rec.Type, &rec.Class, &created, &received, &payload); err != nil {
			return fmt.Errorf("sqlitestore: export: %w", err)
		}
		rec.CreatedAt, rec.ReceivedAt, rec.Payload = store.FromNanos(created), store.FromNanos(received), payload
		if err := fn(&rec); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlitestore: export: %w", err)
	}
	return nil
}
