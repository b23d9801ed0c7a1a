package main

// The sta group's data: a hub database with terminals, their sites and
// datastreams and per-minute observations (migration 00014), made through
// the hub's own schema (a real `hub-server serve` creates and migrates the
// database) and filled with plain SQL in primary-key order.

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/quartierhub/quartierhub/internal/air"
	"github.com/quartierhub/quartierhub/tests/internal/harness"
)

// staSeedVersion changes when the generated data changes, so older
// caches are not used.
const staSeedVersion = 2

// staQuarter is a quarter of Dresden and roughly its middle.
type staQuarter struct {
	Name     string
	Lat, Lon float64
}

var staQuarters = []staQuarter{
	{"Altstadt", 51.0504, 13.7373}, {"Neustadt", 51.0660, 13.7510}, {"Johannstadt", 51.0490, 13.7650},
	{"Friedrichstadt", 51.0580, 13.7170}, {"Pieschen", 51.0800, 13.7270}, {"Striesen", 51.0440, 13.7830},
	{"Blasewitz", 51.0520, 13.8050}, {"Plauen", 51.0290, 13.7150}, {"Löbtau", 51.0440, 13.7000},
	{"Gorbitz", 51.0470, 13.6590}, {"Prohlis", 51.0010, 13.7980}, {"Leuben", 51.0130, 13.8270},
	{"Klotzsche", 51.1160, 13.7700}, {"Cotta", 51.0570, 13.6860}, {"Südvorstadt", 51.0340, 13.7330},
	{"Loschwitz", 51.0550, 13.8250},
}

// staStreams are a terminal's datastreams in id order: an SDS011's PM2.5
// and PM10 and an MH-Z19B's CO2. Datastream ids are 3*(num-1)+1+index,
// so the primary-key order of observations is terminal by terminal.
var staStreams = []struct{ Sensor, Model, Quantity string }{
	{"sds011-0", "sds011", "pm25"}, {"sds011-0", "sds011", "pm10"}, {"mhz19-0", "mhz19", "co2"},
}

// staSeedInfo describes a seeded database (meta.json next to it).
type staSeedInfo struct {
	Version      int     `json:"version"`
	Terminals    int     `json:"terminals"`
	Days         int     `json:"days"`
	FirstMinute  int64   `json:"first_minute"` // unix minutes
	EndMinute    int64   `json:"end_minute"`   // exclusive
	Observations int64   `json:"observations"`
	Hourly       int64   `json:"hourly"`
	SeedSeconds  float64 `json:"seed_seconds"`
	IndexSeconds float64 `json:"index_seconds"`
	Schema       string  `json:"schema"`
}

// staSchemaKey names the hub's schema: the number of migrations and a
// hash of their text, so a new or changed migration makes a new cache.
func staSchemaKey(ctx context.Context) (string, error) {
	root, err := harness.ModuleRoot(ctx)
	if err != nil {
		return "", err
	}
	files, err := filepath.Glob(filepath.Join(root, "hub-server", "internal", "store", "migrations", "*.sql"))
	if err != nil || len(files) == 0 {
		return "", fmt.Errorf("sta: no migrations found (%v)", err)
	}
	slices.Sort(files)
	h := sha256.New()
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s %d\n", filepath.Base(f), len(b))
		h.Write(b)
	}
	return fmt.Sprintf("m%d-%s", len(files), hex.EncodeToString(h.Sum(nil))[:10]), nil
}

// staCachedHub returns a hub data directory holding the seeded database
// for terminals × days, from the cache or seeded now into it.
func staCachedHub(ctx context.Context, hubBin, cacheDir, schema string, terminals, days int) (string, staSeedInfo, bool, error) {
	key := fmt.Sprintf("%s-v%d-t%d-d%d", schema, staSeedVersion, terminals, days)
	dir := filepath.Join(cacheDir, key)
	var info staSeedInfo
	if b, err := os.ReadFile(filepath.Join(dir, "meta.json")); err == nil {
		_, dbErr := os.Stat(filepath.Join(dir, "hub", "hub.db"))
		if err := json.Unmarshal(b, &info); err == nil && dbErr == nil {
			return filepath.Join(dir, "hub"), info, true, nil
		}
	}
	if err := os.MkdirAll(cacheDir, 0o750); err != nil {
		return "", info, false, err
	}
	tmp, err := os.MkdirTemp(cacheDir, "seeding-")
	if err != nil {
		return "", info, false, err
	}
	defer os.RemoveAll(tmp)
	hubDir := filepath.Join(tmp, "hub")
	// The real hub makes and migrates the database (and whatever a first
	// start writes), then stops.
	hub, err := harness.NewHub(harness.Bins{Hub: hubBin}, hubDir)
	if err != nil {
		return "", info, false, err
	}
	if err := hub.StartFresh(ctx); err != nil {
		return "", info, false, err
	}
	if err := hub.Stop(); err != nil {
		return "", info, false, fmt.Errorf("sta: stop the schema hub: %w", err)
	}
	end := time.Now().UTC().Truncate(24 * time.Hour)
	info, err = staSeed(ctx, filepath.Join(hubDir, "hub.db"), terminals, days, end)
	if err != nil {
		return "", info, false, err
	}
	info.Schema = schema
	b, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return "", info, false, err
	}
	if err := os.WriteFile(filepath.Join(tmp, "meta.json"), b, 0o640); err != nil {
		return "", info, false, err
	}
	os.RemoveAll(dir) // a cache entry that was not whole
	if err := os.Rename(tmp, dir); err != nil {
		return "", info, false, err
	}
	return filepath.Join(dir, "hub"), info, false, nil
}

// staPruneCache removes cached databases of other schemas or seed
// versions (each is gigabytes).
func staPruneCache(cacheDir, schema string) {
	ents, err := os.ReadDir(cacheDir)
	if err != nil {
		return
	}
	keep := fmt.Sprintf("%s-v%d-", schema, staSeedVersion)
	for _, e := range ents {
		if e.IsDir() && !strings.HasPrefix(e.Name(), keep) {
			logf("  removing an outdated cache %s", filepath.Join(cacheDir, e.Name()))
			os.RemoveAll(filepath.Join(cacheDir, e.Name()))
		}
	}
}

// staRow is one observation as the store keeps it.
type staRow struct {
	Minute                                 int64
	Mean, Min, Max                         float64
	Count, Expected, WarmUp, Invalid, Flat int64
	Flags                                  air.Flags
}

// staTerminal is one terminal's generated rows, per datastream.
type staTerminal struct {
	Num     int64
	Streams [3][]staRow
}

// staSeed fills the migrated, empty hub database at path.
func staSeed(ctx context.Context, path string, terminals, days int, end time.Time) (staSeedInfo, error) {
	info := staSeedInfo{Version: staSeedVersion, Terminals: terminals, Days: days,
		EndMinute: end.Unix() / 60, FirstMinute: end.Unix()/60 - int64(days)*1440}
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		return info, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	conn, err := db.Conn(ctx)
	if err != nil {
		return info, err
	}
	defer conn.Close()
	// Setup, not what is measured: no journal and no syncs (a failed seed
	// is thrown away), a large page cache. The hub's WAL mode is set back
	// at the end.
	for _, p := range []string{"PRAGMA journal_mode=OFF", "PRAGMA synchronous=OFF", "PRAGMA cache_size=-1048576", "PRAGMA foreign_keys=OFF"} {
		if _, err := conn.ExecContext(ctx, p); err != nil {
			return info, fmt.Errorf("sta seed: %s: %w", p, err)
		}
	}
	var n int64
	if err := conn.QueryRowContext(ctx, `SELECT COUNT(*) FROM terminals`).Scan(&n); err != nil {
		return info, fmt.Errorf("sta seed: %w", err)
	}
	if n != 0 {
		return info, fmt.Errorf("sta seed: %s already holds %d terminals", path, n)
	}
	start := time.Now()
	if err := staSeedTerminals(ctx, conn, terminals, info); err != nil {
		return info, err
	}
	// The index across datastreams is made after the rows (a sort instead
	// of a seek per row), with the migration's own statement.
	var indexSQL string
	if err := conn.QueryRowContext(ctx, `SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'observations_minute'`).Scan(&indexSQL); err != nil {
		return info, fmt.Errorf("sta seed: the schema has no observations_minute index: %w", err)
	}
	if _, err := conn.ExecContext(ctx, `DROP INDEX observations_minute`); err != nil {
		return info, err
	}

	gen := make(chan *staTerminal, 4)
	genCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		defer close(gen)
		g := newStaGen(days, info.FirstMinute)
		for num := int64(1); num <= int64(terminals); num++ {
			t := g.terminal(num)
			select {
			case gen <- t:
			case <-genCtx.Done():
				return
			}
		}
	}()
	ins, err := newStaInserter(ctx, conn)
	if err != nil {
		return info, err
	}
	defer ins.close()
	lastLog := time.Now()
	for t := range gen {
		if err := ins.terminal(ctx, t); err != nil {
			return info, err
		}
		if time.Since(lastLog) > 10*time.Second {
			logf("  seeding: terminal %d of %d, %d observations, %.0f rows/s", t.Num, terminals, ins.obs, float64(ins.obs)/time.Since(start).Seconds())
			lastLog = time.Now()
		}
	}
	if err := ctx.Err(); err != nil {
		return info, err
	}
	if err := ins.commit(ctx, false); err != nil {
		return info, err
	}
	info.Observations, info.Hourly = ins.obs, ins.hourly
	info.SeedSeconds = time.Since(start).Seconds()
	idx := time.Now()
	if _, err := conn.ExecContext(ctx, indexSQL); err != nil {
		return info, fmt.Errorf("sta seed: recreate the index: %w", err)
	}
	info.IndexSeconds = time.Since(idx).Seconds()
	var mode string
	if err := conn.QueryRowContext(ctx, `PRAGMA journal_mode=WAL`).Scan(&mode); err != nil || mode != "wal" {
		return info, fmt.Errorf("sta seed: back to WAL mode: %q, %v", mode, err)
	}
	return info, nil
}

// staSeedTerminals writes the terminals, their sites and datastreams.
func staSeedTerminals(ctx context.Context, conn *sql.Conn, terminals int, info staSeedInfo) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	first := time.Unix(info.FirstMinute*60, 0)
	enrolled := first.Add(-24 * time.Hour).UnixNano()
	seen := time.Unix(info.EndMinute*60, 0).UnixNano()
	entropy := mrand.New(mrand.NewPCG(16, 1000))
	for num := int64(1); num <= int64(terminals); num++ {
		g := staTerminalParams(num)
		id, err := ulid.New(uint64(first.UnixMilli())-uint64(num), staReader{entropy})
		if err != nil {
			return err
		}
		var pub [32]byte
		binary.LittleEndian.PutUint64(pub[:], entropy.Uint64())
		binary.LittleEndian.PutUint64(pub[8:], entropy.Uint64())
		name := fmt.Sprintf("sta-%04d", num)
		if _, err := tx.ExecContext(ctx, `INSERT INTO terminals (num, id, name, quarter, public_key, software_version, enrolled_at, last_seen_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, num, id.String(), name, g.Quarter.Name, base64.StdEncoding.EncodeToString(pub[:]), "bench", enrolled, seen); err != nil {
			return fmt.Errorf("sta seed: terminals: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO terminal_sites (terminal_num, latitude, longitude, place, indoor, publish, version, updated_at)
			VALUES (?, ?, ?, ?, ?, '{}', 1, ?)`, num, g.Lat, g.Lon, fmt.Sprintf("%s, Messpunkt %d", g.Quarter.Name, num), g.Indoor, enrolled); err != nil {
			return fmt.Errorf("sta seed: terminal_sites: %w", err)
		}
	}
	return tx.Commit()
}

// staReader adapts a math/rand source to the io.Reader ulid wants
// (deterministic terminal IDs).
type staReader struct{ r *mrand.Rand }

func (s staReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(s.r.Uint32())
	}
	return len(p), nil
}

var _ io.Reader = staReader{}

// staParams are a terminal's fixed traits.
type staParams struct {
	Quarter  staQuarter
	Lat, Lon float64
	Indoor   bool
	Base25   float64 // typical PM2.5 in µg/m³
	Traffic  float64 // 0..1: how much rush hours show
	Ratio    float64 // PM10 / PM2.5
}

func staTerminalParams(num int64) staParams {
	r := mrand.New(mrand.NewPCG(uint64(num), 0x5eed))
	q := staQuarters[int(num-1)%len(staQuarters)]
	return staParams{
		Quarter: q,
		Lat:     math.Round((q.Lat+r.NormFloat64()*0.004)*1e6) / 1e6,
		Lon:     math.Round((q.Lon+r.NormFloat64()*0.006)*1e6) / 1e6,
		Indoor:  num%10 == 0,
		Base25:  6 + r.Float64()*8,
		Traffic: r.Float64(),
		Ratio:   1.35 + r.Float64()*0.4,
	}
}

// staGen makes realistic minutes: a city-wide factor per day (weather,
// inversions), rush-hour and evening-heating peaks, autocorrelated noise,
// outages with the sensors' warm-up after them, incomplete minutes,
// PM2.5 above PM10, foggy nights (high humidity), a stuck CO2 sensor now
// and then, rare out-of-range spikes.
type staGen struct {
	days  int
	first int64
	day   []float64 // city-wide factor per day
	fog   []bool
}

func newStaGen(days int, first int64) *staGen {
	r := mrand.New(mrand.NewPCG(uint64(first/1440), 0xc17e))
	g := &staGen{days: days, first: first, day: make([]float64, days), fog: make([]bool, days)}
	level := 0.0
	for d := range days {
		level = 0.6*level + 0.45*r.NormFloat64()
		g.day[d] = math.Exp(level)
		g.fog[d] = r.Float64() < 0.2
	}
	return g
}

func bump(h, centre, width float64) float64 {
	x := (h - centre) / width
	return math.Exp(-x * x / 2)
}

// round keeps decimals places (dividing by a power of ten keeps the
// shortest decimal form, 12.37 and not 12.370000000000001).
func round(v float64, decimals int) float64 {
	p := math.Pow10(decimals)
	return math.Round(v*p) / p
}

func (g *staGen) terminal(num int64) *staTerminal {
	p := staTerminalParams(num)
	r := mrand.New(mrand.NewPCG(uint64(num), uint64(g.first)))
	n := g.days * 1440
	t := &staTerminal{Num: num}
	for i := range t.Streams {
		t.Streams[i] = make([]staRow, 0, n)
	}
	// Outages: on about one day in twelve, 5 to 180 minutes; one terminal
	// in 97 is off for the last half hour to two and a half hours (its
	// latest observation is older than the others').
	down := make([]bool, n)
	for d := range g.days {
		if r.Float64() < 1.0/12 {
			s := d*1440 + r.IntN(1440)
			for m := s; m < min(n, s+5+r.IntN(176)); m++ {
				down[m] = true
			}
		}
	}
	if num%97 == 5 {
		for m := max(0, n-30-r.IntN(120)); m < n; m++ {
			down[m] = true
		}
	}
	// A stuck CO2 sensor: in about one terminal-month in two, 40 to 90
	// minutes of the same value.
	stuck := make([]bool, n)
	for d := 0; d < g.days; d += 30 {
		if r.Float64() < 0.5 {
			s := d*1440 + r.IntN(min(30, g.days-d)*1440)
			for m := s; m < min(n, s+40+r.IntN(51)); m++ {
				stuck[m] = true
			}
		}
	}
	up := 1 << 30 // minutes since the terminal came back
	var ar25, ar10, arCO2 float64
	var stuckValue float64
	var flat int64
	sds, mhz := air.Models[0].SamplesPerMinute, air.Models[1].SamplesPerMinute
	for i := range n {
		minute := g.first + int64(i)
		if down[i] {
			up = 0
			continue
		}
		up++
		day := i / 1440
		h := math.Mod(float64(i%1440)/60+1, 24) // local time, CET
		weekday := time.Unix(minute*60, 0).UTC().Weekday()
		ar25 = 0.97*ar25 + 0.05*r.NormFloat64()
		ar10 = 0.9*ar10 + 0.05*r.NormFloat64()
		shape := 1 + 0.5*p.Traffic*(bump(h, 7.5, 1.2)+0.8*bump(h, 17, 1.8)) + 0.3*bump(h, 21, 2.5)
		pm25 := p.Base25 * g.day[day] * shape * math.Exp(ar25)
		if p.Indoor {
			pm25 *= 0.6
		}
		pm10 := pm25 * p.Ratio * math.Exp(ar10)
		if r.Float64() < 0.002 {
			pm10 = pm25 * (0.9 + 0.08*r.Float64()) // the SDS011's known oddity
		}
		count, warm, invalid := int64(sds), int64(0), int64(0)
		switch {
		case up == 1: // the fan's 30 s warm-up after a start
			warm, count = int64(sds/2), int64(sds/2)
		case r.Float64() < 0.004:
			count = int64(sds/3 + r.IntN(sds/2-sds/3))
		case r.Float64() < 0.01:
			invalid = int64(1 + r.IntN(4))
			count -= invalid
		}
		pmRow := func(mean float64) staRow {
			sd := 0.08*mean + 0.3
			row := staRow{Minute: minute, Mean: round(mean, 2), Min: round(max(0, mean-sd*(1.5+r.Float64())), 1),
				Max: round(mean+sd*(1.5+1.5*r.Float64()), 1), Count: count, Expected: int64(sds), WarmUp: warm, Invalid: invalid}
			if r.Float64() < 0.0001 {
				row.Max = 1999.9 // a glitch beyond the measuring range
			}
			row.Flags = air.Assess(air.Minute{Quantity: "pm25", Mean: row.Mean, Min: row.Min, Max: row.Max,
				Count: int(row.Count), Expected: int(row.Expected), WarmUp: int(row.WarmUp), Invalid: int(row.Invalid)})
			return row
		}
		a, b := pmRow(pm25), pmRow(pm10)
		if a.Mean > b.Mean {
			a.Flags |= air.PM25AbovePM10
			b.Flags |= air.PM25AbovePM10
		}
		if !p.Indoor && g.fog[day] && (h < 8 || h >= 22) {
			a.Flags |= air.HighHumidity
			b.Flags |= air.HighHumidity
		}
		t.Streams[0] = append(t.Streams[0], a)
		t.Streams[1] = append(t.Streams[1], b)

		// CO2: the MH-Z19B needs three minutes after power-on; minutes
		// without a sample are not sent.
		if up <= 2 {
			flat = 0
			continue
		}
		arCO2 = 0.95*arCO2 + 2*r.NormFloat64()
		co2 := 425 + 25*p.Traffic*(bump(h, 7.5, 1.2)+bump(h, 17, 1.8)) + arCO2
		if p.Indoor && weekday != time.Saturday && weekday != time.Sunday {
			co2 += 700 * (1 - math.Exp(-math.Max(0, h-7.5))) * math.Exp(-math.Max(0, h-16)*1.5) * float64(min(1, max(0, int(h)-6)))
		}
		c := staRow{Minute: minute, Mean: round(co2, 1), Min: round(co2-3-3*r.Float64(), 0), Max: round(co2+3+3*r.Float64(), 0),
			Count: int64(mhz), Expected: int64(mhz)}
		if up == 3 {
			c.WarmUp, c.Count = int64(mhz/2), int64(mhz/2)
		}
		if stuck[i] {
			if flat == 0 {
				stuckValue = c.Mean
			}
			c.Mean, c.Min, c.Max = stuckValue, stuckValue, stuckValue
			flat++
		} else {
			flat = 0
		}
		c.Flat = flat
		c.Flags = air.Assess(air.Minute{Quantity: "co2", Mean: c.Mean, Min: c.Min, Max: c.Max,
			Count: int(c.Count), Expected: int(c.Expected), WarmUp: int(c.WarmUp)})
		if flat >= air.FlatLineMinutes {
			c.Flags |= air.FlatLine
		}
		t.Streams[2] = append(t.Streams[2], c)
	}
	return t
}

// staInserter writes observations and hourly rows with prepared
// multi-row INSERTs in one transaction per ~a million rows.
type staInserter struct {
	conn                 *sql.Conn
	tx                   *sql.Tx
	obsStmt, hourStmt    *sql.Stmt
	obsArgs, hourArgs    []any
	obs, hourly, pending int64
}

const staRowsPerInsert = 256

// The columns written, named (the migration's order may change).
var (
	staObsCols  = []string{"datastream_id", "minute", "mean", "min", "max", "count", "expected", "warmup", "invalid", "flags", "flat_run"}
	staHourCols = []string{"datastream_id", "hour", "sum", "min", "max", "minutes", "count", "expected", "warmup", "invalid", "flags"}
)

func multiInsert(table string, cols []string, rows int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "INSERT INTO %s (%s) VALUES ", table, strings.Join(cols, ", "))
	row := "(" + strings.TrimSuffix(strings.Repeat("?,", len(cols)), ",") + ")"
	for i := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(row)
	}
	return b.String()
}

func newStaInserter(ctx context.Context, conn *sql.Conn) (*staInserter, error) {
	s := &staInserter{conn: conn}
	if err := s.begin(ctx); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

func (s *staInserter) begin(ctx context.Context) error {
	tx, err := s.conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	s.tx = tx
	s.obsStmt, s.hourStmt = nil, nil
	if s.obsStmt, err = tx.PrepareContext(ctx, multiInsert("observations", staObsCols, staRowsPerInsert)); err != nil {
		return fmt.Errorf("sta seed: %w", err)
	}
	if s.hourStmt, err = tx.PrepareContext(ctx, multiInsert("observations_hourly", staHourCols, staRowsPerInsert)); err != nil {
		return fmt.Errorf("sta seed: %w", err)
	}
	return nil
}

func (s *staInserter) flush(ctx context.Context) error {
	for _, q := range []struct {
		table string
		cols  []string
		args  *[]any
		stmt  *sql.Stmt
	}{{"observations", staObsCols, &s.obsArgs, s.obsStmt}, {"observations_hourly", staHourCols, &s.hourArgs, s.hourStmt}} {
		args := *q.args
		full := len(q.cols) * staRowsPerInsert
		for len(args) >= full {
			if _, err := q.stmt.ExecContext(ctx, args[:full]...); err != nil {
				return fmt.Errorf("sta seed: %s: %w", q.table, err)
			}
			args = args[full:]
		}
		if len(args) > 0 && s.pending == 0 { // the end: the rest in one statement
			if _, err := s.tx.ExecContext(ctx, multiInsert(q.table, q.cols, len(args)/len(q.cols)), args...); err != nil {
				return fmt.Errorf("sta seed: %s: %w", q.table, err)
			}
			args = args[:0]
		}
		*q.args = append((*q.args)[:0], args...)
	}
	return nil
}

func (s *staInserter) terminal(ctx context.Context, t *staTerminal) error {
	for k, rows := range t.Streams {
		ds := 3*(t.Num-1) + 1 + int64(k)
		var h staRow // the hour being summed: Mean holds the sum, Flat the minutes
		hour := int64(-1)
		emit := func() {
			if hour >= 0 {
				s.hourArgs = append(s.hourArgs, ds, hour, h.Mean, h.Min, h.Max, h.Flat, h.Count, h.Expected, h.WarmUp, h.Invalid, int64(h.Flags))
				s.hourly++
			}
		}
		for _, o := range rows {
			if hh := o.Minute - o.Minute%60; hh != hour {
				emit()
				hour, h = hh, staRow{Min: math.Inf(1), Max: math.Inf(-1)}
			}
			h.Mean += o.Mean
			h.Min, h.Max = min(h.Min, o.Min), max(h.Max, o.Max)
			h.Flat++
			h.Count += o.Count
			h.Expected += o.Expected
			h.WarmUp += o.WarmUp
			h.Invalid += o.Invalid
			h.Flags |= o.Flags
			s.obsArgs = append(s.obsArgs, ds, o.Minute, o.Mean, o.Min, o.Max, o.Count, o.Expected, o.WarmUp, o.Invalid, int64(o.Flags), o.Flat)
			s.obs++
			s.pending++
			if len(s.obsArgs) >= len(staObsCols)*staRowsPerInsert {
				if err := s.flush(ctx); err != nil {
					return err
				}
			}
		}
		emit()
		q := staStreams[k]
		quantity, _ := air.QuantityByID(q.Quantity)
		resolution := "minute"
		if q.Quantity == "co2" && staTerminalParams(t.Num).Indoor {
			resolution = "hour"
		}
		var firstM, lastM int64
		if len(rows) > 0 {
			firstM, lastM = rows[0].Minute, rows[len(rows)-1].Minute
		}
		if _, err := s.tx.ExecContext(ctx, `INSERT INTO datastreams (id, terminal_num, sensor, model, quantity, unit, resolution, first_minute, last_minute)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, ds, t.Num, q.Sensor, q.Model, q.Quantity, quantity.Unit, resolution, firstM, lastM); err != nil {
			return fmt.Errorf("sta seed: datastreams: %w", err)
		}
	}
	if s.pending >= 1_000_000 {
		return s.commit(ctx, true)
	}
	return nil
}

// commit writes what is buffered and commits; with more, the next rows
// go into a new transaction.
func (s *staInserter) commit(ctx context.Context, more bool) error {
	s.pending = 0
	if err := s.flush(ctx); err != nil {
		return err
	}
	s.obsStmt.Close()
	s.hourStmt.Close()
	tx := s.tx
	s.tx = nil
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sta seed: commit: %w", err)
	}
	if !more {
		return nil
	}
	return s.begin(ctx)
}

// close rolls back what was not committed (after an error).
func (s *staInserter) close() {
	if s.tx == nil {
		return
	}
	for _, st := range []*sql.Stmt{s.obsStmt, s.hourStmt} {
		if st != nil {
			st.Close()
		}
	}
	s.tx.Rollback()
	s.tx = nil
}

var errNoBtree = errors.New("not a b-tree page")

// staBtree walks a b-tree of the SQLite file at path from its root page
// down its left-most edge, reading the file format directly (SQLite's
// dbstat table is not in every build). depth counts the levels including
// the root and the leaves; fanout is the children of the first interior
// page below the root (the root's own count is whatever is left over),
// rowsPerLeaf the cells of the first leaf. Pages left of the edge where
// rows are appended are full, so these are the tree's typical figures.
func staBtree(path string, root int64) (depth, fanout, rowsPerLeaf int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, 0, err
	}
	defer f.Close()
	var hdr [100]byte
	if _, err := f.ReadAt(hdr[:], 0); err != nil {
		return 0, 0, 0, err
	}
	pageSize := int64(binary.BigEndian.Uint16(hdr[16:18]))
	if pageSize == 1 {
		pageSize = 65536
	}
	page := make([]byte, pageSize)
	pgno := root
	for level := 0; level < 64; level++ {
		if _, err := f.ReadAt(page, (pgno-1)*pageSize); err != nil {
			return 0, 0, 0, err
		}
		off := 0
		if pgno == 1 {
			off = 100
		}
		kind := page[off]
		cells := int(binary.BigEndian.Uint16(page[off+3 : off+5]))
		depth++
		switch kind {
		case 0x02, 0x05: // interior index (WITHOUT ROWID) / table page
			if level == 1 || fanout == 0 {
				fanout = cells + 1
			}
			if cells == 0 {
				pgno = int64(binary.BigEndian.Uint32(page[off+8 : off+12]))
				continue
			}
			cell := int(binary.BigEndian.Uint16(page[off+12 : off+14])) // the first cell: its left child
			pgno = int64(binary.BigEndian.Uint32(page[cell : cell+4]))
		case 0x0a, 0x0d: // leaf
			return depth, fanout, cells, nil
		default:
			return 0, 0, 0, fmt.Errorf("page %d: %w (type %#x)", pgno, errNoBtree, kind)
		}
	}
	return 0, 0, 0, fmt.Errorf("b-tree deeper than 64 levels at page %d", pgno)
}
