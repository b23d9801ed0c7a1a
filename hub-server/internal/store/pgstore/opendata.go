package pgstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/internal/air"
)

const siteCols = `t.id, s.latitude, s.longitude, s.place, s.indoor, s.publish, s.version, s.updated_at
	FROM terminal_sites s JOIN terminals t ON t.num = s.terminal_num`

func scanSite(row pgx.Row) (store.Site, error) {
	var s store.Site
	var indoor, updated int64
	var publish string
	if err := row.Scan(&s.TerminalID, &s.Latitude, &s.Longitude, &s.Place, &indoor, &publish, &s.Version, &updated); err != nil {
		return s, err
	}
	p, err := store.DecodePublish(publish)
	if err != nil {
		return s, err
	}
	s.Indoor, s.Publish, s.UpdatedAt = indoor != 0, p, store.FromNanos(updated)
	return s, nil
}

// Site implements store.OpenData.
func (s *Store) Site(ctx context.Context, terminalID string) (store.Site, error) {
	site, err := scanSite(s.pool.QueryRow(ctx, `SELECT `+siteCols+` WHERE t.id = $1`, terminalID))
	if errors.Is(err, pgx.ErrNoRows) {
		return site, store.ErrNotFound
	}
	if err != nil {
		return site, fmt.Errorf("pgstore: site: %w", err)
	}
	return site, nil
}

// Sites implements store.OpenData.
func (s *Store) Sites(ctx context.Context) ([]store.Site, error) {
	return queryAll(ctx, s, "sites", scanSite, `SELECT `+siteCols+` ORDER BY t.name`)
}

// PutSite implements store.OpenData.
func (s *Store) PutSite(ctx context.Context, site store.Site, a store.Audit) (store.Site, error) {
	if err := store.ValidateSite(site); err != nil {
		return site, err
	}
	if a.At.IsZero() {
		a.At = s.now()
	}
	var out store.Site
	err := s.tx(ctx, "put site", func(tx pgx.Tx) error {
		out = site
		num, cur, err := siteVersion(ctx, tx, site.TerminalID)
		if err != nil {
			return err
		}
		if cur != site.Version {
			return store.ErrVersionConflict
		}
		out.Version, out.UpdatedAt = cur+1, a.At.UTC()
		indoor := 0
		if site.Indoor {
			indoor = 1
		}
		if _, err := tx.Exec(ctx, `INSERT INTO terminal_sites (terminal_num, latitude, longitude, place, indoor, publish, version, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
			ON CONFLICT (terminal_num) DO UPDATE SET latitude = excluded.latitude, longitude = excluded.longitude, place = excluded.place,
				indoor = excluded.indoor, publish = excluded.publish, version = excluded.version, updated_at = excluded.updated_at`,
			num, site.Latitude, site.Longitude, site.Place, indoor, store.EncodePublish(site.Publish), out.Version, store.Nanos(out.UpdatedAt)); err != nil {
			return err
		}
		for _, q := range store.PublishedQuantities() {
			if _, err := tx.Exec(ctx, `UPDATE datastreams SET resolution = $1 WHERE terminal_num = $2 AND quantity = $3`,
				store.DatastreamResolution(&out, q), num, q); err != nil {
				return err
			}
		}
		return audit(ctx, tx, a)
	})
	if err != nil {
		return site, err
	}
	out.Publish, _ = store.DecodePublish(store.EncodePublish(out.Publish))
	return out, nil
}

// siteVersion returns the terminal's num and its site's version (0 when
// it has none), locking the terminal's row so two editors are ordered;
// ErrNotFound for an unknown terminal.
func siteVersion(ctx context.Context, tx pgx.Tx, terminalID string) (num, version int64, err error) {
	if err = tx.QueryRow(ctx, `SELECT num FROM terminals WHERE id = $1 FOR UPDATE`, terminalID).Scan(&num); errors.Is(err, pgx.ErrNoRows) {
		return 0, 0, store.ErrNotFound
	} else if err != nil {
		return 0, 0, err
	}
	err = tx.QueryRow(ctx, `SELECT version FROM terminal_sites WHERE terminal_num = $1`, num).Scan(&version)
	if errors.Is(err, pgx.ErrNoRows) {
		return num, 0, nil
	}
	return num, version, err
}

// DeleteSite implements store.OpenData.
func (s *Store) DeleteSite(ctx context.Context, terminalID string, version int64, a store.Audit) error {
	if a.At.IsZero() {
		a.At = s.now()
	}
	return s.tx(ctx, "delete site", func(tx pgx.Tx) error {
		num, cur, err := siteVersion(ctx, tx, terminalID)
		if err != nil {
			return err
		}
		if cur == 0 {
			return store.ErrNotFound
		}
		if cur != version {
			return store.ErrVersionConflict
		}
		if _, err := tx.Exec(ctx, `DELETE FROM terminal_sites WHERE terminal_num = $1`, num); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE datastreams SET resolution = $1 WHERE terminal_num = $2`, store.ResolutionOff, num); err != nil {
			return err
		}
		return audit(ctx, tx, a)
	})
}

const datastreamCols = `d.id, t.id, d.terminal_num, d.sensor, d.model, d.quantity, d.unit, d.resolution, d.first_minute, d.last_minute
	FROM datastreams d JOIN terminals t ON t.num = d.terminal_num`

func scanDatastream(row pgx.Row) (store.Datastream, error) {
	var d store.Datastream
	var first, last int64
	err := row.Scan(&d.ID, &d.TerminalID, &d.TerminalNum, &d.Sensor, &d.Model, &d.Quantity, &d.Unit, &d.Resolution, &first, &last)
	d.First, d.Last = store.FromUnixMinute(first), store.FromUnixMinute(last)
	return d, err
}

// Datastreams implements store.OpenData.
func (s *Store) Datastreams(ctx context.Context, f store.DatastreamFilter) ([]store.Datastream, error) {
	q := `SELECT ` + datastreamCols + ` WHERE 1 = 1`
	var args []any
	if f.TerminalID != "" {
		q += ` AND t.id = $1`
		args = append(args, f.TerminalID)
	}
	if f.Published {
		q += ` AND d.resolution <> 'off' AND EXISTS (SELECT 1 FROM terminal_sites s WHERE s.terminal_num = d.terminal_num)`
	}
	return queryAll(ctx, s, "datastreams", scanDatastream, q+` ORDER BY t.name, d.sensor, d.quantity`, args...)
}

// The statements of ObservationWindow and PublishedObservations; see
// sqlitestore.
const (
	minuteObsSQL = `SELECT minute, mean, min, max, count, expected, warmup, invalid, flags FROM observations
		WHERE datastream_id = $1 AND minute >= $2 AND minute < $3 ORDER BY minute`
	hourObsSQL = `SELECT hour, sum / minutes, min, max, count, expected, warmup, invalid, flags FROM observations_hourly
		WHERE datastream_id = $1 AND hour >= $2 AND hour < $3 ORDER BY hour`
	finishedHourObsSQL = `SELECT hour, sum / minutes, min, max, count, expected, warmup, invalid, flags FROM observations_hourly
		WHERE datastream_id = $1 AND hour >= $2 AND hour + 60 <= $3 ORDER BY hour`
)

func scanObservation(id int64) func(row pgx.Row) (store.Observation, error) {
	return func(row pgx.Row) (store.Observation, error) {
		o := store.Observation{DatastreamID: id}
		var minute, flags int64
		err := row.Scan(&minute, &o.Mean, &o.Min, &o.Max, &o.Count, &o.Expected, &o.WarmUp, &o.Invalid, &flags)
		o.Minute, o.Flags = store.FromUnixMinute(minute), air.Flags(flags)
		return o, err
	}
}

// ObservationWindow implements store.OpenData.
func (s *Store) ObservationWindow(ctx context.Context, datastreamID int64, from, to time.Time, resolution string) ([]store.Observation, error) {
	q := minuteObsSQL
	switch resolution {
	case store.ResolutionMinute:
	case store.ResolutionHour:
		q = hourObsSQL
	default:
		return nil, fmt.Errorf("pgstore: observation window: resolution %q", resolution)
	}
	lo, hi := store.MinuteBounds(from, to)
	return queryAll(ctx, s, "observation window", scanObservation(datastreamID), q, datastreamID, lo, hi)
}

// PublishedObservations implements store.OpenData.
func (s *Store) PublishedObservations(ctx context.Context, from, to time.Time, fn func(store.Datastream, store.Observation) error) error {
	ds, err := s.Datastreams(ctx, store.DatastreamFilter{Published: true})
	if err != nil {
		return err
	}
	lo, hi := store.MinuteBounds(from, to)
	nowMinute := store.UnixMinute(s.now())
	for _, d := range ds {
		q, bound := minuteObsSQL, hi
		if d.Resolution == store.ResolutionHour {
			q, bound = finishedHourObsSQL, min(hi, nowMinute)
		}
		if err := s.eachObservation(ctx, d, q, lo, bound, fn); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) eachObservation(ctx context.Context, d store.Datastream, q string, lo, hi int64, fn func(store.Datastream, store.Observation) error) error {
	rows, err := s.pool.Query(ctx, q, d.ID, lo, hi)
	if err != nil {
		return fmt.Errorf("pgstore: published observations: %w", err)
	}
	defer rows.Close()
	scan := scanObservation(d.ID)
	for rows.Next() {
		o, err := scan(rows)
		if err != nil {
			return fmt.Errorf("pgstore: published observations: %w", err)
		}
		if err := fn(d, o); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("pgstore: published observations: %w", err)
	}
	return nil
}

// QueryOpenData implements store.OpenData: a read-only transaction whose
// statement_timeout cancels the statement on the server, plus a context
// deadline for the round trips around it.
func (s *Store) QueryOpenData(ctx context.Context, timeout time.Duration, query string, args []any, fn func(scan func(dest ...any) error) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ms := max(timeout.Milliseconds(), 1)
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL statement_timeout = `+strconv.FormatInt(ms, 10)); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, Rebind(query), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if err := fn(rows.Scan); err != nil {
				return errCallback{err}
			}
		}
		return rows.Err()
	})
	var cb errCallback
	if errors.As(err, &cb) {
		return cb.err
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "57014" { // query_canceled: the statement_timeout
		return fmt.Errorf("pgstore: open data query: %w: %w", context.DeadlineExceeded, err)
	}
	if err != nil {
		return fmt.Errorf("pgstore: open data query: %w", err)
	}
	return nil
}

// errCallback carries fn's error through the transaction unwrapped.
type errCallback struct{ err error }

func (e errCallback) Error() string { return e.err.Error() }

// OpenDataDialect implements store.OpenData.
func (s *Store) OpenDataDialect() string { return store.DialectPostgres }

// Rebind turns the "?" placeholders of query into PostgreSQL's $1…$n.
// The SensorThings compiler and the ingest statements never put a '?'
// inside a string literal: values are always parameters.
func Rebind(query string) string {
	if !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}
