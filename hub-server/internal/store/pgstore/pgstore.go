// Package pgstore is the PostgreSQL implementation of store.Store
// (github.com/jackc/pgx/v5, no cgo), for deployments that run several hub
// processes behind a load balancer on one database. It runs the same
// goose migrations as sqlitestore (store.MigrationsFS("postgres")) and
// passes the same conformance suite (storetest).
//
// Several processes may share the database. What makes that safe:
//   - Migrations run under goose's PostgreSQL session lock (an advisory
//     lock), so processes starting together migrate once.
//   - Rows numbered with MAX()+1 in the shared schema (terminals.num,
//     config_layers.version/seq, audit_log.seq) are numbered under a
//     transaction-scoped advisory lock per table (pg_advisory_xact_lock),
//     so two processes never pick the same number.
//   - Enrolment locks the token row (SELECT … FOR UPDATE): a token is used
//     once however many processes receive it at the same moment.
//   - Ingest is one INSERT … ON CONFLICT DO NOTHING per batch, with the
//     records sorted by ID so two overlapping batches never deadlock.
//   - Heartbeat UPSERTs of one group are sent sorted by terminal ID (same
//     reason); the UPSERT itself decides about history.
//   - Commands are acked and finished under SELECT … FOR UPDATE.
//   - OpenAlert is one INSERT … ON CONFLICT on the partial unique index of
//     open alerts, so two processes never open two alerts of one kind.
//   - Singletons (alert ticks, webhook notifier, janitor) run only in the
//     process holding a session advisory lock (Lead).
package pgstore

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// Opts configures Open. Zero values are the defaults.
type Opts struct {
	// MaxConns bounds the connection pool. Default: pgxpool's default
	// (max(4, number of CPUs)) unless the URL sets pool_max_conns.
	MaxConns int32
	// Logger receives what IngestBatch drops (workshop events it cannot
	// store). Default slog.Default().
	Logger *slog.Logger
	// Now is the clock open data reads by (which hours have ended) and
	// audits default to. Default time.Now.
	Now func() time.Time
}

// Store is a store.Store on a PostgreSQL database.
type Store struct {
	pool *pgxpool.Pool
	db   *sql.DB // database/sql view of pool, for goose
	mig  *goose.Provider
	log  *slog.Logger
	now  func() time.Time
	// od makes sensor_minute records observations (opendata_ingest.go).
	od *store.ObservationIngest
	// onAppend is the OnWorkshopAppend hook (workshops.go).
	onAppend atomic.Pointer[func(store.WorkshopAppend)]
}

var _ store.Store = (*Store)(nil)

// Open connects to the database at url (postgres://…), and applies
// pending migrations.
func Open(ctx context.Context, url string, o Opts) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	if o.MaxConns > 0 {
		cfg.MaxConns = o.MaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("pgstore: connect: %w", err)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Store{pool: pool, db: stdlib.OpenDBFromPool(pool), log: o.Logger, now: o.Now, od: store.NewObservationIngest()}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) migrate(ctx context.Context) error {
	fsys, err := store.MigrationsFS(store.DialectPostgres)
	if err != nil {
		return fmt.Errorf("pgstore: %w", err)
	}
	// Readiness checks use a provider without the lock, which must not
	// wait behind another process's migration.
	if s.mig, err = goose.NewProvider(goose.DialectPostgres, s.db, fsys); err != nil {
		return fmt.Errorf("pgstore: migrations: %w", err)
	}
	// goose ignores applied versions it does not know: refuse them.
	if cur, known, err := s.mig.GetVersions(ctx); err != nil {
		return fmt.Errorf("pgstore: migrations: %w", err)
	} else if err := store.CheckSchemaVersion(cur, known); err != nil {
		return fmt.Errorf("pgstore: %w", err)
	}
	if pending, err := s.mig.HasPending(ctx); err != nil {
		return fmt.Errorf("pgstore: migrations: %w", err)
	} else if !pending {
		return nil
	}
	// Processes starting together: the first migrates under goose's
	// session advisory lock, the others wait for it (polling each second,
	// up to 5 minutes), then find nothing left to do.
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
	if err != nil {
		return fmt.Errorf("pgstore: migrations: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, s.db, fsys, goose.WithSessionLocker(locker))
	if err != nil {
		return fmt.Errorf("pgstore: migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("pgstore: migrate: %w", err)
	}
	return nil
}

// Ready reports whether the database answers and every migration this
// binary knows is applied (another process may be migrating).
func (s *Store) Ready(ctx context.Context) error {
	cur, target, err := s.mig.GetVersions(ctx)
	if err != nil {
		return fmt.Errorf("pgstore: ready: %w", err)
	}
	if cur < target {
		return fmt.Errorf("pgstore: ready: schema version %d, want %d", cur, target)
	}
	return nil
}

var _ store.Operable = (*Store)(nil)

// PoolStats implements store.Operable.
func (s *Store) PoolStats() map[string]store.PoolStats {
	st := s.pool.Stat()
	return map[string]store.PoolStats{"pool": {Open: int(st.TotalConns()), InUse: int(st.AcquiredConns()), Idle: int(st.IdleConns()),
		MaxOpen: int(st.MaxConns()), WaitCount: st.EmptyAcquireCount(), WaitDuration: st.EmptyAcquireWaitTime()}}
}

// Close closes the pool.
func (s *Store) Close() error {
	err := s.db.Close()
	s.pool.Close()
	return err
}

// Advisory lock keys: (lockSpace, n). lockSpace keeps them apart from
// other users of the database (goose uses a single bigint key).
const lockSpace int32 = 0x5148 // "QH"

const (
	lockTerminals   int32 = iota + 1 // terminals.num, token creation against enrolment
	lockConfig                       // config_layers.version and seq
	lockAudit                        // audit_log.seq
	lockDatastreams                  // datastreams.id
)

func xactLock(ctx context.Context, tx pgx.Tx, n int32) error {
	_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, $2)`, lockSpace, n)
	return err
}

// leaseKey maps a lease name to its advisory lock key in lockSpace, above
// the transaction locks.
func leaseKey(name string) int32 {
	h := fnv.New32a()
	h.Write([]byte(name))
	return int32(h.Sum32()&0x3fffffff) + 1000
}

// tx runs fn in a transaction and commits if fn returns nil. A deadlock or
// serialization failure (which the locking above should prevent) is
// retried a few times, so fn must only set its results, not accumulate.
// Errors of the store package pass through unwrapped.
func (s *Store) tx(ctx context.Context, what string, fn func(pgx.Tx) error) error {
	for attempt := 0; ; attempt++ {
		err := pgx.BeginFunc(ctx, s.pool, fn)
		if err == nil {
			return nil
		}
		if isStoreErr(err) {
			return err
		}
		var pe *pgconn.PgError
		if errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001") && attempt < 3 && ctx.Err() == nil {
			continue
		}
		return fmt.Errorf("pgstore: %s: %w", what, err)
	}
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

func mustAffect(tag pgconn.CommandTag, err error) error {
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return store.ErrNotFound
	}
	return nil
}

func nanos(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

// CreateEnrolToken implements store.Store.
func (s *Store) CreateEnrolToken(ctx context.Context, tok store.EnrolToken) error {
	return s.tx(ctx, "create token", func(tx pgx.Tx) error { return createEnrolToken(ctx, tx, tok) })
}

func createEnrolToken(ctx context.Context, tx pgx.Tx, tok store.EnrolToken) error {
	if err := xactLock(ctx, tx, lockTerminals); err != nil {
		return err
	}
	var taken bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM terminals WHERE name = $1)`, tok.TerminalName).Scan(&taken); err != nil {
		return err
	}
	if taken {
		return store.ErrNameTaken
	}
	_, err := tx.Exec(ctx, `INSERT INTO enrol_tokens (hash, terminal_name, quarter, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
		hex.EncodeToString(tok.Hash[:]), tok.TerminalName, tok.Quarter, store.Nanos(tok.CreatedAt), store.Nanos(tok.ExpiresAt))
	return err
}

// Enroll implements store.Store.
func (s *Store) Enroll(ctx context.Context, e store.Enrolment) (store.Terminal, error) {
	var t store.Terminal
	err := s.tx(ctx, "enroll", func(tx pgx.Tx) error {
		t = store.Terminal{}
		hash := hex.EncodeToString(e.TokenHash[:])
		if err := xactLock(ctx, tx, lockTerminals); err != nil {
			return err
		}
		var expires int64
		var used *int64
		var rotate *string
		err := tx.QueryRow(ctx, `SELECT terminal_name, quarter, expires_at, used_at, rotate_terminal_id FROM enrol_tokens WHERE hash = $1 FOR UPDATE`, hash).
			Scan(&t.Name, &t.Quarter, &expires, &used, &rotate)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return store.ErrTokenUnknown
		case err != nil:
			return err
		case used != nil:
			return store.ErrTokenUsed
		case !e.Now.Before(store.FromNanos(expires)):
			return store.ErrTokenExpired
		}
		if rotate != nil {
			return rotateTx(ctx, tx, &t, *rotate, hash, e)
		}
		var taken bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM terminals WHERE name = $1)`, t.Name).Scan(&taken); err != nil {
			return err
		}
		if taken {
			return store.ErrNameTaken
		}
		t.ID, t.PublicKey, t.SoftwareVersion, t.EnrolledAt = e.TerminalID, e.PublicKey, e.SoftwareVersion, e.Now.UTC()
		if _, err := tx.Exec(ctx, `INSERT INTO terminals (num, id, name, quarter, public_key, software_version, enrolled_at)
			VALUES ((SELECT COALESCE(MAX(num), 0) + 1 FROM terminals), $1, $2, $3, $4, $5, $6)`,
			t.ID, t.Name, t.Quarter, api.EncodePublicKey(t.PublicKey), t.SoftwareVersion, store.Nanos(e.Now)); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE enrol_tokens SET used_at = $1, terminal_id = $2 WHERE hash = $3`, store.Nanos(e.Now), t.ID, hash)
		return err
	})
	return t, err
}

// terminalCols: see sqlitestore (same SQL).
const terminalCols = `t.id, t.name, t.quarter, t.public_key, COALESCE(NULLIF(h.software_version, ''), t.software_version), t.enrolled_at, t.revoked_at,
	CASE WHEN h.received_at IS NOT NULL AND (t.last_seen_at IS NULL OR h.received_at > t.last_seen_at) THEN h.received_at ELSE t.last_seen_at END, t.tags`

const terminalFrom = ` FROM terminals t LEFT JOIN terminal_health h ON h.terminal_id = t.id`

func scanTerminal(row pgx.Row) (store.Terminal, error) {
	var t store.Terminal
	var pub, tags string
	var enrolled int64
	var revoked, seen *int64
	if err := row.Scan(&t.ID, &t.Name, &t.Quarter, &pub, &t.SoftwareVersion, &enrolled, &revoked, &seen, &tags); err != nil {
		return t, err
	}
	key, err := api.DecodePublicKey(pub)
	if err != nil {
		return t, fmt.Errorf("terminal %s: %w", t.ID, err)
	}
	t.PublicKey, t.Tags = key, store.DecodeTags(tags)
	t.EnrolledAt, t.RevokedAt, t.LastSeenAt = store.FromNanos(enrolled), store.FromNanos(nanos(revoked)), store.FromNanos(nanos(seen))
	return t, nil
}

func (s *Store) terminalWhere(ctx context.Context, what, cond string, arg any) (store.Terminal, error) {
	t, err := scanTerminal(s.pool.QueryRow(ctx, `SELECT `+terminalCols+terminalFrom+` WHERE `+cond, arg))
	if errors.Is(err, pgx.ErrNoRows) {
		return t, store.ErrNotFound
	}
	if err != nil {
		return t, fmt.Errorf("pgstore: %s: %w", what, err)
	}
	return t, nil
}

// Terminal implements store.Store.
func (s *Store) Terminal(ctx context.Context, id string) (store.Terminal, error) {
	return s.terminalWhere(ctx, "terminal", `t.id = $1`, id)
}

// Terminals implements store.Store.
func (s *Store) Terminals(ctx context.Context) ([]store.Terminal, error) {
	return queryAll(ctx, s, "terminals", scanTerminal, `SELECT `+terminalCols+terminalFrom+` ORDER BY t.name`)
}

// RevokeTerminal implements store.Store.
func (s *Store) RevokeTerminal(ctx context.Context, id string, at time.Time) error {
	return s.tx(ctx, "revoke", func(tx pgx.Tx) error { return revokeTerminal(ctx, tx, id, at) })
}

func revokeTerminal(ctx context.Context, tx pgx.Tx, id string, at time.Time) error {
	return mustAffect(tx.Exec(ctx, `UPDATE terminals SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2`, store.Nanos(at), id))
}

// TouchTerminal implements store.Store.
func (s *Store) TouchTerminal(ctx context.Context, id string, at time.Time) error {
	err := mustAffect(s.pool.Exec(ctx, `UPDATE terminals SET last_seen_at = $1 WHERE id = $2`, store.Nanos(at), id))
	if err != nil && !isStoreErr(err) {
		return fmt.Errorf("pgstore: touch: %w", err)
	}
	return err
}

// IngestBatch implements store.Store. The batch is one INSERT of arrays
// (unnest), whatever its size.
func (s *Store) IngestBatch(ctx context.Context, terminalID string, recs []api.Record, receivedAt time.Time) (api.BatchAck, error) {
	total := len(recs)
	// Workshop events go to their logs (workshops.go), not to records.
	recs, split := store.SplitWorkshopEvents(terminalID, recs, receivedAt)
	var ws store.WorkshopBatch
	var report store.WorkshopAppend
	// Sorted by ID: two processes storing overlapping batches lock the
	// same keys in the same order, so they wait for each other instead of
	// deadlocking.
	order := make([]int, len(recs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return strings.Compare(recs[a].ID, recs[b].ID) })
	ids, types, classes, payloads := make([]string, len(recs)), make([]string, len(recs)), make([]string, len(recs)), make([]string, len(recs))
	created := make([]int64, len(recs))
	for j, i := range order {
		r := &recs[i]
		ids[j], types[j], classes[j], created[j] = r.ID, r.Type, r.Class, r.CreatedAt.UnixNano()
		payloads[j] = validText(r.Payload)
	}
	var ack api.BatchAck
	var obs *store.ObservationBatch
	recv := store.Nanos(receivedAt)
	ingest := func(tx pgx.Tx) error {
		obs = nil
		var num int64
		var revoked *int64
		err := tx.QueryRow(ctx, `SELECT num, revoked_at FROM terminals WHERE id = $1`, terminalID).Scan(&num, &revoked)
		if errors.Is(err, pgx.ErrNoRows) {
			return store.ErrNotFound
		} else if err != nil {
			return err
		}
		if revoked != nil {
			return store.ErrRevoked
		}
		tag, err := tx.Exec(ctx, `INSERT INTO records (terminal_num, record_id, type, class, created_at, received_at, payload)
			SELECT $1, r.id, r.type, r.class, r.created_at, $2, r.payload
			FROM unnest($3::text[], $4::text[], $5::text[], $6::bigint[], $7::text[]) AS r(id, type, class, created_at, payload)
			ON CONFLICT (terminal_num, record_id) DO NOTHING`, num, recv, ids, types, classes, created, payloads)
		if err != nil {
			return err
		}
		stored := int(tag.RowsAffected())
		report = store.WorkshopAppend{}
		if total > len(recs) {
			// Planning changes the events: each attempt starts afresh.
			ws = split.Clone()
			if err := ingestWorkshopEvents(ctx, tx, &ws); err != nil {
				return fmt.Errorf("workshop events: %w", err)
			}
			var n int
			n, report = ws.Result(terminalID)
			stored += n
		}
		// Workshop events not stored count as duplicates too: the
		// terminal may forget them either way.
		ack = api.BatchAck{Stored: stored, Duplicates: total - stored}
		if _, err = tx.Exec(ctx, `UPDATE terminals SET last_seen_at = $1 WHERE num = $2`, recv, num); err != nil {
			return err
		}
		// After the terminal's row, as PutSite orders its locks: terminal,
		// then its datastreams.
		obs, err = s.ingestObservations(ctx, tx, terminalID, num, recs, receivedAt)
		return err
	}
	err := s.tx(ctx, "ingest", ingest)
	// Another process stored some of the minutes meanwhile: again, seeing
	// them. Ingests of one terminal wait for each other at its row's
	// UPDATE above, so this is a guard (TestOpenDataConcurrentIngest).
	for attempt := 0; errors.Is(err, store.ErrObservationRace) && attempt < 3 && ctx.Err() == nil; attempt++ {
		err = s.tx(ctx, "ingest", ingest)
	}
	if err == nil && obs != nil {
		obs.Commit()
		if obs.Skipped > 0 {
			s.log.Debug("sensor_minute records kept as records only: no minute the hub reads", "terminal", terminalID, "records", obs.Skipped)
		}
	}
	if err == nil && report.Dropped > 0 {
		ws.LogDrops(s.log, terminalID)
	}
	if err == nil && (len(report.Workshops) > 0 || report.Dropped > 0) {
		s.notifyAppend(report)
	}
	return ack, err
}

// validText returns b as a string PostgreSQL's TEXT accepts: invalid UTF-8
// (which SQLite would keep) becomes U+FFFD, as encoding/json decodes it.
func validText(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// ExportRecords implements store.Store, in primary key order (SQLite's
// storage order).
func (s *Store) ExportRecords(ctx context.Context, f store.ExportFilter, fn func(*store.ExportedRecord) error) error {
	q := `SELECT r.record_id, t.name, r.type, r.class, r.created_at, r.received_at, r.payload
		FROM records r JOIN terminals t ON t.num = r.terminal_num`
	var args []any
	if f.Type != "" {
		q += ` WHERE r.type = $1`
		args = append(args, f.Type)
	}
	q += ` ORDER BY r.terminal_num, r.record_id`
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("pgstore: export: %w", err)
	}
	defer rows.Close()
	var rec store.ExportedRecord
	var created, received int64
	for rows.Next() {
		if err := rows.Scan(&rec.ID, &rec.Terminal, &rec.Type, &rec.Class, &created, &received, &rec.Payload); err != nil {
			return fmt.Errorf("pgstore: export: %w", err)
		}
		rec.CreatedAt, rec.ReceivedAt = store.FromNanos(created), store.FromNanos(received)
		if err := fn(&rec); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("pgstore: export: %w", err)
	}
	return nil
}

func queryAll[T any](ctx context.Context, s *Store, what string, scan func(pgx.Row) (T, error), q string, args ...any) ([]T, error) {
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("pgstore: %s: %w", what, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("pgstore: %s: %w", what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: %s: %w", what, err)
	}
	return out, nil
}
