package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/internal/air"
)

const siteCols = `t.id, s.latitude, s.longitude, s.place, s.indoor, s.publish, s.version, s.updated_at
	FROM terminal_sites s JOIN terminals t ON t.num = s.terminal_num`

func scanSite(sc interface{ Scan(...any) error }) (store.Site, error) {
	var s store.Site
	var indoor, updated int64
	var publish string
	if err := sc.Scan(&s.TerminalID, &s.Latitude, &s.Longitude, &s.Place, &indoor, &publish, &s.Version, &updated); err != nil {
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
	site, err := scanSite(s.r.QueryRowContext(ctx, `SELECT `+siteCols+` WHERE t.id = ?`, terminalID))
	if errors.Is(err, sql.ErrNoRows) {
		return site, store.ErrNotFound
	}
	if err != nil {
		return site, fmt.Errorf("sqlitestore: site: %w", err)
	}
	return site, nil
}

// Sites implements store.OpenData.
func (s *Store) Sites(ctx context.Context) ([]store.Site, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+siteCols+` ORDER BY t.name`)
	return scanAll(rows, err, "sites", scanSite)
}

// PutSite implements store.OpenData.
func (s *Store) PutSite(ctx context.Context, site store.Site, a store.Audit) (store.Site, error) {
	if err := store.ValidateSite(site); err != nil {
		return site, err
	}
	if a.At.IsZero() {
		a.At = s.now()
	}
	out := site
	err := s.writeTx(ctx, "put site", func(tx *sql.Tx) error {
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
		if _, err := tx.ExecContext(ctx, `INSERT INTO terminal_sites (terminal_num, latitude, longitude, place, indoor, publish, version, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (terminal_num) DO UPDATE SET latitude = excluded.latitude, longitude = excluded.longitude, place = excluded.place,
				indoor = excluded.indoor, publish = excluded.publish, version = excluded.version, updated_at = excluded.updated_at`,
			num, site.Latitude, site.Longitude, site.Place, indoor, store.EncodePublish(site.Publish), out.Version, store.Nanos(out.UpdatedAt)); err != nil {
			return err
		}
		for _, q := range store.PublishedQuantities() {
			if _, err := tx.ExecContext(ctx, `UPDATE datastreams SET resolution = ? WHERE terminal_num = ? AND quantity = ?`,
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
// it has none); ErrNotFound for an unknown terminal.
func siteVersion(ctx context.Context, tx *sql.Tx, terminalID string) (num, version int64, err error) {
	var v sql.NullInt64
	err = tx.QueryRowContext(ctx, `SELECT t.num, s.version FROM terminals t LEFT JOIN terminal_sites s ON s.terminal_num = t.num WHERE t.id = ?`, terminalID).Scan(&num, &v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, store.ErrNotFound
	}
	return num, v.Int64, err
}

// DeleteSite implements store.OpenData.
func (s *Store) DeleteSite(ctx context.Context, terminalID string, version int64, a store.Audit) error {
	if a.At.IsZero() {
		a.At = s.now()
	}
	return s.writeTx(ctx, "delete site", func(tx *sql.Tx) error {
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
		if _, err := tx.ExecContext(ctx, `DELETE FROM terminal_sites WHERE terminal_num = ?`, num); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE datastreams SET resolution = ? WHERE terminal_num = ?`, store.ResolutionOff, num); err != nil {
			return err
		}
		return audit(ctx, tx, a)
	})
}

const datastreamCols = `d.id, t.id, d.terminal_num, d.sensor, d.model, d.quantity, d.unit, d.resolution, d.first_minute, d.last_minute
	FROM datastreams d JOIN terminals t ON t.num = d.terminal_num`

func scanDatastream(sc interface{ Scan(...any) error }) (store.Datastream, error) {
	var d store.Datastream
	var first, last int64
	err := sc.Scan(&d.ID, &d.TerminalID, &d.TerminalNum, &d.Sensor, &d.Model, &d.Quantity, &d.Unit, &d.Resolution, &first, &last)
	d.First, d.Last = store.FromUnixMinute(first), store.FromUnixMinute(last)
	return d, err
}

// Datastreams implements store.OpenData.
func (s *Store) Datastreams(ctx context.Context, f store.DatastreamFilter) ([]store.Datastream, error) {
	q := `SELECT ` + datastreamCols + ` WHERE 1 = 1`
	var args []any
	if f.TerminalID != "" {
		q += ` AND t.id = ?`
		args = append(args, f.TerminalID)
	}
	if f.Published {
		q += ` AND d.resolution <> 'off' AND EXISTS (SELECT 1 FROM terminal_sites s WHERE s.terminal_num = d.terminal_num)`
	}
	rows, err := s.r.QueryContext(ctx, q+` ORDER BY t.name, d.sensor, d.quantity`, args...)
	return scanAll(rows, err, "datastreams", scanDatastream)
}

const (
	minuteObsSQL = `SELECT minute, mean, min, max, count, expected, warmup, invalid, flags FROM observations
		WHERE datastream_id = ? AND minute >= ? AND minute < ? ORDER BY minute`
	// An hour's row is finished when its end is at or before the upper
	// bound, which PublishedObservations passes as the bound itself.
	hourObsSQL = `SELECT hour, sum / minutes, min, max, count, expected, warmup, invalid, flags FROM observations_hourly
		WHERE datastream_id = ? AND hour >= ? AND hour < ? ORDER BY hour`
	finishedHourObsSQL = `SELECT hour, sum / minutes, min, max, count, expected, warmup, invalid, flags FROM observations_hourly
		WHERE datastream_id = ? AND hour >= ? AND hour + 60 <= ? ORDER BY hour`
)

func scanObservation(id int64) func(sc interface{ Scan(...any) error }) (store.Observation, error) {
	return func(sc interface{ Scan(...any) error }) (store.Observation, error) {
		o := store.Observation{DatastreamID: id}
		var minute int64
		var flags int64
		err := sc.Scan(&minute, &o.Mean, &o.Min, &o.Max, &o.Count, &o.Expected, &o.WarmUp, &o.Invalid, &flags)
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
		return nil, fmt.Errorf("sqlitestore: observation window: resolution %q", resolution)
	}
	lo, hi := store.MinuteBounds(from, to)
	rows, err := s.r.QueryContext(ctx, q, datastreamID, lo, hi)
	return scanAll(rows, err, "observation window", scanObservation(datastreamID))
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
	rows, err := s.r.QueryContext(ctx, q, d.ID, lo, hi)
	if err != nil {
		return fmt.Errorf("sqlitestore: published observations: %w", err)
	}
	defer rows.Close()
	scan := scanObservation(d.ID)
	for rows.Next() {
		o, err := scan(rows)
		if err != nil {
			return fmt.Errorf("sqlitestore: published observations: %w", err)
		}
		if err := fn(d, o); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlitestore: published observations: %w", err)
	}
	return nil
}

// QueryOpenData implements store.OpenData on the reader pool, whose
// connections are query_only: the statement cannot write. modernc's
// driver interrupts a running statement when its context ends.
func (s *Store) QueryOpenData(ctx context.Context, timeout time.Duration, query string, args []any, fn func(scan func(dest ...any) error) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cs, err := s.openDataStmts.acquire(ctx, s.r, query)
	if err != nil {
		return fmt.Errorf("sqlitestore: open data query: %w", err)
	}
	defer s.openDataStmts.release(cs)
	rows, err := cs.st.QueryContext(ctx, args...)
	if err != nil {
		return fmt.Errorf("sqlitestore: open data query: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows.Scan); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlitestore: open data query: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sqlitestore: open data query: %w", err)
	}
	return nil
}

// OpenDataDialect implements store.OpenData.
func (s *Store) OpenDataDialect() string { return store.DialectSQLite }
