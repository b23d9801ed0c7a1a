package query

import (
	"context"
	"database/sql"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
	"github.com/quartierhub/quartierhub/hub-server/internal/store/pgstore"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/pgtest"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/sqlitestore"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// The fixture, in the tables of migration 00014. Expected results are
// derived from these values, not from the compiler's output.
var (
	base    = int64(29_000_040) // a unix minute in 2025, on the hour
	fixNow  = time.Unix((base+150)*60+30, 0).UTC()
	obsMean = func(i int64) float64 { return float64(i) + 0.5 } // datastream 10, minute base+i
)

type terminal struct {
	num               int64
	id, name, quarter string
	site              bool
	lat, lon          float64
	place             string
	indoor            bool
}

var terminals = []terminal{
	{1, "T-AAA", "Pohlandplatz", "Striesen", true, 51.0500, 13.7800, "Pohlandplatz, Haltestelle", false},
	{2, "T-BBB", "Altmarkt", "Altstadt", true, 51.0500, 13.7400, "Kulturpalast, Foyer", true},
	{3, "T-CCC", "Ohne Ort", "Altstadt", false, 0, 0, "", false},
	{4, "T-DDD", "Abgeschaltet", "Pieschen", true, 51.0800, 13.7300, "Bürgerhaus", false},
}

type datastream struct {
	id, terminal            int64
	sensor, model, quantity string
	resolution              string
}

var datastreams = []datastream{
	{10, 1, "pm", "sds011", "pm25", "minute"},
	{11, 1, "pm", "sds011", "pm10", "minute"},
	{12, 2, "co2", "mhz19", "co2", "hour"},
	{13, 2, "pm", "", "pm25", "minute"},
	{14, 4, "co2", "mhz19", "co2", "off"},
	{15, 1, "bme", "bme280", "humidity", "minute"},
	{16, 3, "pm", "sds011", "pm25", "minute"},
}

func seed(t testing.TB, exec func(q string, args ...any)) {
	t.Helper()
	for _, tm := range terminals {
		exec(`INSERT INTO terminals (num, id, name, quarter, public_key, software_version, enrolled_at) VALUES (?, ?, ?, ?, 'k', '1', 0)`,
			tm.num, tm.id, tm.name, tm.quarter)
		if tm.site {
			indoor := int64(0)
			if tm.indoor {
				indoor = 1
			}
			exec(`INSERT INTO terminal_sites (terminal_num, latitude, longitude, place, indoor, publish, version, updated_at) VALUES (?, ?, ?, ?, ?, '{}', 1, ?)`,
				tm.num, tm.lat, tm.lon, tm.place, indoor, (base*60+tm.num)*1e9)
		}
	}
	for _, d := range datastreams {
		exec(`INSERT INTO datastreams (id, terminal_num, sensor, model, quantity, unit, resolution, first_minute, last_minute) VALUES (?, ?, ?, ?, ?, 'u', ?, ?, ?)`,
			d.id, d.terminal, d.sensor, d.model, d.quantity, d.resolution, base, base+119)
	}
	// Datastreams 10, 11, 13, 15, 16: 120 minutes each; 10's mean is
	// i + 0.5, the others' 1000 + i. Every 10th minute of 10 is flagged
	// incomplete, minute 7 out of range.
	for _, ds := range []int64{10, 11, 13, 15, 16} {
		for i := int64(0); i < 120; i++ {
			mean := 1000 + float64(i)
			flags := int64(0)
			if ds == 10 {
				mean = obsMean(i)
				if i%10 == 0 {
					flags = 2
				}
				if i == 7 {
					flags |= 4
				}
			}
			exec(`INSERT INTO observations (datastream_id, minute, mean, min, max, count, expected, warmup, invalid, flags, flat_run) VALUES (?, ?, ?, ?, ?, 60, 60, 0, 0, ?, 0)`,
				ds, base+i, mean, mean-1, mean+1, flags)
		}
	}
	// Datastream 12 hourly: three hours, the third not ended at fixNow.
	for h := int64(0); h < 3; h++ {
		exec(`INSERT INTO observations_hourly (datastream_id, hour, sum, min, max, minutes, count, expected, warmup, invalid, flags) VALUES (12, ?, ?, 400, 600, 60, 720, 720, 0, 0, 0)`,
			base+h*60, 60*(500+float64(h)))
	}
}

// testDB is one store's database with the fixture.
type testDB struct {
	d  Dialect
	db *sql.DB
}

func openDBs(t *testing.T) []testDB {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hub.db")
	st, err := sqlitestore.Open(ctx, path, sqlitestore.Opts{})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	lite, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lite.Close() })
	dbs := []testDB{{SQLite, lite}}

	url := pgtest.NewDatabase(t)
	ps, err := pgstore.Open(ctx, url, pgstore.Opts{})
	if err != nil {
		t.Fatal(err)
	}
	ps.Close()
	pg, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pg.Close() })
	dbs = append(dbs, testDB{Postgres, pg})
	for _, db := range dbs {
		seed(t, func(q string, args ...any) {
			if _, err := db.db.ExecContext(ctx, db.rewrite(q), args...); err != nil {
				t.Fatalf("%s: seed %s: %v", db.d, q, err)
			}
		})
	}
	return dbs
}

// rewrite turns "?" into PostgreSQL's "$n" as QueryOpenData does.
func (db testDB) rewrite(q string) string {
	if db.d != Postgres {
		return q
	}
	var b strings.Builder
	n := 0
	for _, c := range q {
		if c == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

func (db testDB) rows(t *testing.T, st Statement) []Row {
	t.Helper()
	rs, err := db.db.QueryContext(context.Background(), db.rewrite(st.SQL), st.Args...)
	if err != nil {
		t.Fatalf("%s: %v\n%s", db.d, err, st.SQL)
	}
	defer rs.Close()
	var out []Row
	for rs.Next() {
		r, err := st.Scan(rs.Scan)
		if err != nil {
			t.Fatalf("%s: %v", db.d, err)
		}
		out = append(out, r)
	}
	if err := rs.Err(); err != nil {
		t.Fatalf("%s: %v\n%s", db.d, err, st.SQL)
	}
	return out
}

func (db testDB) count(t *testing.T, st Statement) int64 {
	t.Helper()
	var n int64
	if err := db.db.QueryRowContext(context.Background(), db.rewrite(st.SQL), st.Args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v\n%s", db.d, err, st.SQL)
	}
	return n
}

func ids(rows []Row) []int64 {
	out := []int64{}
	for _, r := range rows {
		out = append(out, r.ID)
	}
	return out
}

func obsID(ds, minute int64) int64 { return ds*idFactor + minute }

func mustOptions(t *testing.T, set, raw string) Options {
	t.Helper()
	v, err := parseQuery(raw)
	if err != nil {
		t.Fatal(err)
	}
	o, err := ParseOptions(set, v, Limits{})
	if err != nil {
		t.Fatalf("%s?%s: %v", set, raw, err)
	}
	return o
}
