package store

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/internal/air"
)

// SensorMinuteType is the record type of a terminal's per-minute sensor
// statistics (kiosk/agent submits kiosk/aggregate's Aggregate as it).
const SensorMinuteType = "sensor_minute"

// SensorMinute is a sensor_minute payload: kiosk/aggregate's Aggregate on
// the wire. The hub does not import the kiosk; the JSON names are the
// contract.
type SensorMinute struct {
	Sensor   string    `json:"sensor"`
	Quantity string    `json:"quantity"`
	Unit     string    `json:"unit"`
	Minute   time.Time `json:"minute"`
	Count    int       `json:"count"`
	Mean     float64   `json:"mean"`
	Min      float64   `json:"min"`
	Max      float64   `json:"max"`
	WarmUp   int       `json:"warmup"`
	Invalid  int       `json:"invalid"`
	Partial  bool      `json:"partial"`
	// Model is the device kind ("sds011"), "" from agents before it.
	Model string `json:"model"`
	// Expected is the samples a full minute holds at the terminal's
	// configured rate; 0 from agents before it (the model's default then).
	Expected int `json:"expected"`
}

// Bounds of a sensor_minute the hub stores as an observation.
const (
	maxSensorLen  = 64
	maxUnitLen    = 16
	maxModelLen   = 32
	maxMinuteSamp = 1 << 20 // samples of one minute: far above any sensor's rate
)

// Minutes outside [2000, 2150) are refused: an Observation's @iot.id is
// datastream_id * 100000000 + minute, and minute stays below 10^8 until
// the year 2160.
var (
	minMinute = UnixMinute(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC))
	maxMinute = UnixMinute(time.Date(2150, 1, 1, 0, 0, 0, 0, time.UTC))
)

// ErrNotAMinute: a sensor_minute payload the hub does not store as an
// observation (the record itself is stored).
var ErrNotAMinute = errors.New("store: not a sensor minute")

// DecodeSensorMinute decodes and checks a sensor_minute payload: a known
// quantity (air.QuantityByID, or air.Humidity), samples (count > 0),
// finite statistics, bounded strings and counts, a minute between 2000
// and 2150. Every error wraps ErrNotAMinute.
func DecodeSensorMinute(payload []byte) (SensorMinute, error) {
	var m SensorMinute
	if err := json.Unmarshal(payload, &m); err != nil {
		return m, fmt.Errorf("%w: %w", ErrNotAMinute, err)
	}
	if why := m.check(); why != "" {
		return m, fmt.Errorf("%w: %s", ErrNotAMinute, why)
	}
	m.Minute = FromUnixMinute(UnixMinute(m.Minute))
	return m, nil
}

func (m *SensorMinute) check() string {
	if _, ok := air.QuantityByID(m.Quantity); !ok && m.Quantity != air.Humidity {
		return "unknown quantity"
	}
	if m.Count <= 0 || m.Count > maxMinuteSamp || m.Expected < 0 || m.Expected > maxMinuteSamp ||
		m.WarmUp < 0 || m.WarmUp > maxMinuteSamp || m.Invalid < 0 || m.Invalid > maxMinuteSamp {
		return "sample counts out of bounds"
	}
	for _, v := range []float64{m.Mean, m.Min, m.Max} {
		if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) > 1e12 {
			return "statistics not finite"
		}
	}
	if !printable(m.Sensor, maxSensorLen) || m.Sensor == "" || !printable(m.Unit, maxUnitLen) || !printable(m.Model, maxModelLen) {
		return "sensor, unit or model not short printable text"
	}
	if mm := UnixMinute(m.Minute); mm < minMinute || mm >= maxMinute {
		return "minute out of range"
	}
	return ""
}

func printable(s string, maxLen int) bool {
	if len(s) > maxLen || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// ObservationTx is what the observation ingest needs of the ingest
// transaction. Statements use "?" placeholders; those in
// ObservationStatements recur and may be prepared once.
type ObservationTx interface {
	// Exec runs a statement and returns the rows it affected.
	Exec(ctx context.Context, query string, args ...any) (int64, error)
	// Query calls fn for every row with its scan function.
	Query(ctx context.Context, query string, args []any, fn func(scan func(dest ...any) error) error) error
	// LockDatastreams serialises the numbering of new datastreams with
	// other processes (PostgreSQL); a no-op where the writer is single.
	LockDatastreams(ctx context.Context) error
}

// The statements of the observation ingest.
const (
	siteOfSQL   = `SELECT latitude, longitude, place, indoor, publish FROM terminal_sites WHERE terminal_num = ?`
	dsFindSQL   = `SELECT id FROM datastreams WHERE terminal_num = ? AND sensor = ? AND quantity = ?`
	dsCreateSQL = `INSERT INTO datastreams (id, terminal_num, sensor, model, quantity, unit, resolution, first_minute, last_minute)
		VALUES ((SELECT COALESCE(MAX(id), 0) + 1 FROM datastreams), ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`
	// The terminal's stored observations around a batch's minutes: what
	// the cross flags compare with (partner PM rows, humidity, the minute
	// before) and which minutes are stored already.
	preloadSQL = `SELECT o.datastream_id, d.quantity, o.minute, o.mean, o.min, o.max, o.count, o.flags, o.flat_run
		FROM datastreams d JOIN observations o ON o.datastream_id = d.id
		WHERE d.terminal_num = ? AND o.minute >= ? AND o.minute <= ?`
	obsInsertHead  = `INSERT INTO observations (datastream_id, minute, mean, min, max, count, expected, warmup, invalid, flags, flat_run) VALUES `
	obsInsertRow   = `(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	hourUpsertHead = `INSERT INTO observations_hourly (datastream_id, hour, sum, min, max, minutes, count, expected, warmup, invalid, flags) VALUES `
	hourUpsertTail = ` ON CONFLICT (datastream_id, hour) DO UPDATE SET
			sum = observations_hourly.sum + excluded.sum,
			min = CASE WHEN excluded.min < observations_hourly.min THEN excluded.min ELSE observations_hourly.min END,
			max = CASE WHEN excluded.max > observations_hourly.max THEN excluded.max ELSE observations_hourly.max END,
			minutes = observations_hourly.minutes + excluded.minutes,
			count = observations_hourly.count + excluded.count,
			expected = observations_hourly.expected + excluded.expected,
			warmup = observations_hourly.warmup + excluded.warmup,
			invalid = observations_hourly.invalid + excluded.invalid,
			flags = observations_hourly.flags | excluded.flags`
	flagObsSQL  = `UPDATE observations SET flags = flags | ? WHERE datastream_id = ? AND minute = ?`
	flagHourSQL = `UPDATE observations_hourly SET flags = flags | ? WHERE datastream_id = ? AND hour = ?`
	// The bounds of several datastreams in one statement; SQLite names no
	// columns of a VALUES list, hence the SELECTs.
	boundsHead = `UPDATE datastreams SET
		first_minute = CASE WHEN b.lo < datastreams.first_minute THEN b.lo ELSE datastreams.first_minute END,
		last_minute = CASE WHEN b.hi > datastreams.last_minute THEN b.hi ELSE datastreams.last_minute END
		FROM (SELECT CAST(? AS BIGINT) AS id, CAST(? AS BIGINT) AS lo, CAST(? AS BIGINT) AS hi`
	boundsTail = `) AS b WHERE datastreams.id = b.id`
)

// obsChunk is how many observations one INSERT carries (11 parameters
// each, far below either database's limit).
const obsChunk = 64

// rowsSQL is head, n times row (comma-separated), tail.
func rowsSQL(head, row, tail string, n int) string {
	var b strings.Builder
	b.WriteString(head)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(row)
	}
	b.WriteString(tail)
	return b.String()
}

// obsInsertSQL is the INSERT of n observations.
func obsInsertSQL(n int) string {
	return rowsSQL(obsInsertHead, obsInsertRow, " ON CONFLICT DO NOTHING", n)
}

// hourUpsertSQL adds n minutes' sums to their hours.
func hourUpsertSQL(n int) string {
	return rowsSQL(hourUpsertHead, `(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, hourUpsertTail, n)
}

// boundsSQL widens the first and last minute of n datastreams.
func boundsSQL(n int) string {
	return boundsHead + strings.Repeat(` UNION ALL SELECT ?, ?, ?`, n-1) + boundsTail
}

// ObservationStatements are the statements ObservationTx receives for
// most batches (others are made for the odd batch).
var ObservationStatements = func() []string {
	out := []string{siteOfSQL, dsFindSQL, dsCreateSQL, preloadSQL, obsInsertSQL(obsChunk), flagObsSQL, flagHourSQL}
	for n := 1; n <= 6; n++ { // an SDS011 and an MH-Z19B: 3 datastreams, in one or two hours
		out = append(out, obsInsertSQL(n*3), hourUpsertSQL(n), boundsSQL(n))
	}
	return out
}()

// ErrObservationRace: another process stored some of the batch's minutes
// while it was being written (PostgreSQL); the transaction must be rolled
// back and retried.
var ErrObservationRace = errors.New("store: observations stored concurrently; retry the batch")

// preloadSpan bounds the minutes one preload query covers: a batch with
// minutes further apart (an old backlog and today) is read in pieces.
const preloadSpan = 24 * 60

type datastreamKey struct {
	terminal         int64
	sensor, quantity string
}

// ObservationIngest turns sensor_minute records into observations inside
// a store's ingest transaction; one per store. It remembers datastream IDs
// (they never change once made) so a minute costs no lookup.
type ObservationIngest struct {
	mu  sync.Mutex
	ids map[datastreamKey]int64
	// skipped counts sensor_minute records not stored as observations.
	skipped atomic.Int64
	// failed counts batches whose observations failed (records stored).
	failed atomic.Int64
}

// NoteFailure counts a batch whose observations could not be stored
// (its records were).
func (oi *ObservationIngest) NoteFailure() { oi.failed.Add(1) }

// Failed is the number of batches whose observations could not be stored.
func (oi *ObservationIngest) Failed() int64 { return oi.failed.Load() }

// NewObservationIngest returns an empty ObservationIngest.
func NewObservationIngest() *ObservationIngest {
	return &ObservationIngest{ids: map[datastreamKey]int64{}}
}

// Skipped is the number of sensor_minute records whose payload was not a
// minute the hub stores (kept as records only).
func (oi *ObservationIngest) Skipped() int64 { return oi.skipped.Load() }

func (oi *ObservationIngest) cached(k datastreamKey) (int64, bool) {
	oi.mu.Lock()
	defer oi.mu.Unlock()
	id, ok := oi.ids[k]
	return id, ok
}

// ObservationBatch is one batch's observation work in one transaction:
// Add decodes the minutes, Finish reads what is stored around them in one
// query, computes every flag in memory and writes the new observations,
// hourly sums and datastream bounds in a few statements. Datastream IDs
// it learns reach the ObservationIngest only by Commit, after the
// transaction committed: a rolled back datastream must not be remembered.
type ObservationBatch struct {
	oi      *ObservationIngest
	tx      ObservationTx
	num     int64
	learned map[datastreamKey]int64
	site    *Site
	siteOK  bool // site was read
	minutes []pendingMinute
	// latest is the last unix minute a minute of this batch may start at.
	latest int64
	// Skipped counts this batch's records that were not minutes, or
	// minutes from the future (MaxClockAhead).
	Skipped int
}

type pendingMinute struct {
	SensorMinute
	ds, partner int64 // partner: the other PM datastream of the sensor, 0 if none
	minute      int64
	expected    int
}

// obsKey is one stored or new observation.
type obsKey struct{ ds, minute int64 }

type obsRow struct {
	quantity       string
	mean, min, max float64
	count, flatRun int64
	flags          air.Flags
	added          air.Flags // flags a stored row gains
	isNew          bool
	m              *pendingMinute
}

// MaxClockAhead is how far after its upload's arrival a minute may
// start: a terminal's clock running that far ahead (a clock not yet
// synchronised after a power cut) would otherwise publish minutes from
// the future as the latest values. The record is stored as it came.
const MaxClockAhead = 2 * time.Minute

// Batch starts the observation work of one batch of terminal num in tx,
// received at receivedAt.
func (oi *ObservationIngest) Batch(tx ObservationTx, num int64, receivedAt time.Time) *ObservationBatch {
	return &ObservationBatch{oi: oi, tx: tx, num: num, latest: UnixMinute(receivedAt.Add(MaxClockAhead))}
}

// Add takes rec if it is a sensor_minute that decodes, finding or making
// its datastream. A payload that is no minute is counted, not an error:
// the record is stored as it is.
func (b *ObservationBatch) Add(ctx context.Context, rec *api.Record) error {
	if rec.Type != SensorMinuteType {
		return nil
	}
	m, err := DecodeSensorMinute(rec.Payload)
	if err != nil || UnixMinute(m.Minute) > b.latest {
		b.Skipped++
		return nil
	}
	model, _ := air.ModelFor(m.Model, m.Quantity)
	if m.Quantity == air.Humidity {
		model = air.Model{ID: m.Model} // no published model measures it
	}
	p := pendingMinute{SensorMinute: m, minute: UnixMinute(m.Minute), expected: m.Expected}
	if p.expected == 0 {
		p.expected = model.SamplesPerMinute
	}
	if p.ds, err = b.datastream(ctx, m.Sensor, m.Quantity, model.ID, m.Unit, p.minute); err != nil {
		return err
	}
	if pq := partnerOf(m.Quantity); pq != "" {
		if p.partner, err = b.findDatastream(ctx, m.Sensor, pq); err != nil {
			return err
		}
	}
	b.minutes = append(b.minutes, p)
	return nil
}

func partnerOf(quantity string) string {
	switch quantity {
	case "pm25":
		return "pm10"
	case "pm10":
		return "pm25"
	}
	return ""
}

// findDatastream returns the ID of an existing datastream, 0 if none.
func (b *ObservationBatch) findDatastream(ctx context.Context, sensor, quantity string) (int64, error) {
	k := datastreamKey{b.num, sensor, quantity}
	if id, ok := b.learned[k]; ok {
		return id, nil
	}
	if id, ok := b.oi.cached(k); ok {
		return id, nil
	}
	var id int64
	err := b.tx.Query(ctx, dsFindSQL, []any{b.num, sensor, quantity}, func(scan func(...any) error) error { return scan(&id) })
	if err != nil {
		return 0, fmt.Errorf("datastream: %w", err)
	}
	if id != 0 {
		if b.learned == nil {
			b.learned = map[datastreamKey]int64{}
		}
		b.learned[k] = id
	}
	return id, nil
}

// datastream returns the datastream's ID, making it (published as the
// terminal's site says) when it is new.
func (b *ObservationBatch) datastream(ctx context.Context, sensor, quantity, model, unit string, minute int64) (int64, error) {
	id, err := b.findDatastream(ctx, sensor, quantity)
	if err != nil || id != 0 {
		return id, err
	}
	if !b.siteOK {
		var s Site
		var indoor int64
		var publish string
		found := false
		err := b.tx.Query(ctx, siteOfSQL, []any{b.num}, func(scan func(...any) error) error {
			found = true
			return scan(&s.Latitude, &s.Longitude, &s.Place, &indoor, &publish)
		})
		if err != nil {
			return 0, fmt.Errorf("site: %w", err)
		}
		if found {
			s.Indoor = indoor != 0
			if s.Publish, err = DecodePublish(publish); err != nil {
				return 0, err
			}
			b.site = &s
		}
		b.siteOK = true
	}
	if err := b.tx.LockDatastreams(ctx); err != nil {
		return 0, fmt.Errorf("datastream: %w", err)
	}
	if _, err := b.tx.Exec(ctx, dsCreateSQL, b.num, sensor, model, quantity, unit, DatastreamResolution(b.site, quantity), minute, minute); err != nil {
		return 0, fmt.Errorf("datastream: %w", err)
	}
	if id, err = b.findDatastream(ctx, sensor, quantity); err != nil {
		return 0, err
	}
	if id == 0 {
		return 0, fmt.Errorf("datastream: not made for terminal %d", b.num)
	}
	return id, nil
}

// Finish stores the batch's new minutes; call it before the transaction
// commits.
func (b *ObservationBatch) Finish(ctx context.Context) error {
	if len(b.minutes) == 0 {
		return nil
	}
	// By minute: the minute before is decided when a minute is (FlatLine);
	// stable, so of two records of one minute the first sent wins. A PM
	// minute whose partner's datastream did not exist at its Add precedes
	// every minute of the partner in this order, so the partner, later,
	// does the comparison for both.
	slices.SortStableFunc(b.minutes, func(x, y pendingMinute) int { return cmp.Compare(x.minute, y.minute) })
	rows, err := b.preload(ctx)
	if err != nil {
		return err
	}
	// humidity is the highest relative humidity of the terminal per minute.
	humidity := map[int64]float64{}
	pmOf := map[int64][]obsKey{} // the terminal's PM rows per minute
	note := func(k obsKey, r *obsRow) {
		switch r.quantity {
		case air.Humidity:
			if h, ok := humidity[k.minute]; !ok || r.mean > h {
				humidity[k.minute] = r.mean
			}
		case "pm25", "pm10":
			pmOf[k.minute] = append(pmOf[k.minute], k)
		}
	}
	for k, r := range rows {
		note(k, r)
	}
	var fresh []obsKey
	for i := range b.minutes {
		m := &b.minutes[i]
		k := obsKey{m.ds, m.minute}
		if _, ok := rows[k]; ok {
			continue // a replay, or a second (partial) record of the minute: the first stays
		}
		am := air.Minute{Quantity: m.Quantity, Mean: m.Mean, Min: m.Min, Max: m.Max, Count: m.Count, Expected: m.expected,
			WarmUp: m.WarmUp, Invalid: m.Invalid, Partial: m.Partial}
		r := &obsRow{quantity: m.Quantity, mean: m.Mean, min: m.Min, max: m.Max, count: int64(m.Count), flags: air.Assess(am), isNew: true, m: m}
		if am.Flat() {
			r.flatRun = 1
			if p, ok := rows[obsKey{m.ds, m.minute - 1}]; ok && p.count > 1 && p.min == p.max && p.min == m.Min {
				r.flatRun = p.flatRun + 1
			}
			if r.flatRun >= air.FlatLineMinutes {
				r.flags |= air.FlatLine
			}
		}
		if p, ok := rows[obsKey{m.partner, m.minute}]; ok && m.partner != 0 {
			if (m.Quantity == "pm25" && m.Mean > p.mean) || (m.Quantity == "pm10" && p.mean > m.Mean) {
				r.flags |= air.PM25AbovePM10
				p.flag(air.PM25AbovePM10)
			}
		}
		switch m.Quantity {
		case "pm25", "pm10":
			if h, ok := humidity[m.minute]; ok && h > air.HumidityLimit {
				r.flags |= air.HighHumidity
			}
		case air.Humidity:
			if m.Mean > air.HumidityLimit {
				for _, pk := range pmOf[m.minute] {
					rows[pk].flag(air.HighHumidity)
				}
			}
		}
		rows[k] = r
		note(k, r)
		fresh = append(fresh, k)
	}
	return b.write(ctx, rows, fresh)
}

func (r *obsRow) flag(f air.Flags) {
	if r.isNew {
		r.flags |= f
	} else if r.flags&f == 0 {
		r.added |= f
	}
}

// preload reads the terminal's stored observations from the minute before
// the batch's first to its last, in spans of at most preloadSpan.
func (b *ObservationBatch) preload(ctx context.Context) (map[obsKey]*obsRow, error) {
	rows := map[obsKey]*obsRow{}
	for i := 0; i < len(b.minutes); {
		lo, hi := b.minutes[i].minute-1, b.minutes[i].minute
		for i < len(b.minutes) && b.minutes[i].minute-lo <= preloadSpan {
			hi = b.minutes[i].minute
			i++
		}
		err := b.tx.Query(ctx, preloadSQL, []any{b.num, lo, hi}, func(scan func(...any) error) error {
			var k obsKey
			r := &obsRow{}
			var flags int64
			if err := scan(&k.ds, &r.quantity, &k.minute, &r.mean, &r.min, &r.max, &r.count, &flags, &r.flatRun); err != nil {
				return err
			}
			r.flags = air.Flags(flags)
			rows[k] = r
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("observations: %w", err)
		}
	}
	return rows, nil
}

type hourKey struct{ ds, hour int64 }

type hourSum struct {
	sum, min, max                                    float64
	minutes, count, expected, warmup, invalid, flags int64
}

func (b *ObservationBatch) write(ctx context.Context, rows map[obsKey]*obsRow, fresh []obsKey) error {
	hours := map[hourKey]*hourSum{}
	bounds := map[int64][2]int64{}
	args := make([]any, 0, 11*min(len(fresh), obsChunk))
	for len(fresh) > 0 {
		part := fresh[:min(len(fresh), obsChunk)]
		fresh = fresh[len(part):]
		args = args[:0]
		for _, k := range part {
			r := rows[k]
			m := r.m
			args = append(args, k.ds, k.minute, m.Mean, m.Min, m.Max, m.Count, m.expected, m.WarmUp, m.Invalid, int64(r.flags), r.flatRun)
			hk := hourKey{k.ds, k.minute - k.minute%60}
			h := hours[hk]
			if h == nil {
				h = &hourSum{min: m.Min, max: m.Max}
				hours[hk] = h
			}
			h.sum += m.Mean
			h.min, h.max = min(h.min, m.Min), max(h.max, m.Max)
			h.minutes++
			h.count += int64(m.Count)
			h.expected += int64(m.expected)
			h.warmup += int64(m.WarmUp)
			h.invalid += int64(m.Invalid)
			h.flags |= int64(r.flags)
			if bd, ok := bounds[k.ds]; ok {
				bounds[k.ds] = [2]int64{min(bd[0], k.minute), max(bd[1], k.minute)}
			} else {
				bounds[k.ds] = [2]int64{k.minute, k.minute}
			}
		}
		n, err := b.tx.Exec(ctx, obsInsertSQL(len(part)), args...)
		if err != nil {
			return fmt.Errorf("observations: %w", err)
		}
		if n != int64(len(part)) {
			return ErrObservationRace
		}
	}
	// Stored rows that gained a flag, and their hours. Sorted, as below:
	// two processes lock rows in the same order.
	var gained []obsKey
	for k, r := range rows {
		if !r.isNew && r.added != 0 {
			gained = append(gained, k)
		}
	}
	slices.SortFunc(gained, func(x, y obsKey) int { return cmp.Or(cmp.Compare(x.ds, y.ds), cmp.Compare(x.minute, y.minute)) })
	for _, k := range gained {
		f := int64(rows[k].added)
		if _, err := b.tx.Exec(ctx, flagObsSQL, f, k.ds, k.minute); err != nil {
			return fmt.Errorf("observation flags: %w", err)
		}
		if _, err := b.tx.Exec(ctx, flagHourSQL, f, k.ds, k.minute-k.minute%60); err != nil {
			return fmt.Errorf("observation flags: %w", err)
		}
	}
	hks := slices.Collect(maps.Keys(hours))
	slices.SortFunc(hks, func(x, y hourKey) int { return cmp.Or(cmp.Compare(x.ds, y.ds), cmp.Compare(x.hour, y.hour)) })
	for len(hks) > 0 {
		part := hks[:min(len(hks), obsChunk)]
		hks = hks[len(part):]
		args = args[:0]
		for _, hk := range part {
			h := hours[hk]
			args = append(args, hk.ds, hk.hour, h.sum, h.min, h.max, h.minutes, h.count, h.expected, h.warmup, h.invalid, h.flags)
		}
		if _, err := b.tx.Exec(ctx, hourUpsertSQL(len(part)), args...); err != nil {
			return fmt.Errorf("hourly observations: %w", err)
		}
	}
	ids := slices.Sorted(maps.Keys(bounds))
	for len(ids) > 0 {
		part := ids[:min(len(ids), obsChunk)]
		ids = ids[len(part):]
		args = args[:0]
		for _, id := range part {
			args = append(args, id, bounds[id][0], bounds[id][1])
		}
		if _, err := b.tx.Exec(ctx, boundsSQL(len(part)), args...); err != nil {
			return fmt.Errorf("datastream bounds: %w", err)
		}
	}
	return nil
}

// Commit remembers the datastreams the batch found or made; call it after
// the transaction committed.
func (b *ObservationBatch) Commit() {
	b.oi.skipped.Add(int64(b.Skipped))
	if len(b.learned) == 0 {
		return
	}
	b.oi.mu.Lock()
	defer b.oi.mu.Unlock()
	for k, id := range b.learned {
		b.oi.ids[k] = id
	}
}
