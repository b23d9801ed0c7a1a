package query

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/store/sqlitestore"
)

func BenchmarkCompile(b *testing.B) {
	o, err := ParseOptions("Observations", map[string][]string{
		"$filter":  {"phenomenonTime ge 2026-12-06T00:00:00Z and phenomenonTime lt 2026-12-07T00:00:00Z and resultQuality/flag eq 'ok'"},
		"$orderby": {"phenomenonTime desc"},
	}, Limits{})
	if err != nil {
		b.Fatal(err)
	}
	t := Target{Via: &Via{"Datastreams", 10, "Observations"}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile(SQLite, t, o, time.Now()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSQLiteWindow: one datastream with 30 days of minutes; the
// latest observation and a day's window (1,440 rows) through the
// compiled statements, scanned and decoded.
func BenchmarkSQLiteWindow(b *testing.B) {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "hub.db")
	st, err := sqlitestore.Open(ctx, path, sqlitestore.Opts{})
	if err != nil {
		b.Fatal(err)
	}
	st.Close()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	tx, err := db.Begin()
	if err != nil {
		b.Fatal(err)
	}
	exec := func(q string, args ...any) {
		if _, err := tx.Exec(q, args...); err != nil {
			b.Fatal(err)
		}
	}
	seed(b, exec)
	const days = 30
	for m := base + 120; m < base+days*1440; m++ {
		exec(`INSERT INTO observations (datastream_id, minute, mean, min, max, count, expected, warmup, invalid, flags, flat_run) VALUES (10, ?, 5, 4, 6, 60, 60, 0, 0, 0, 0)`, m)
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	now := minuteTime(base + days*1440)
	dayStart := base + (days-1)*1440
	for _, c := range []struct{ name, query string }{
		{"latest", "$orderby=phenomenonTime desc&$top=1"},
		{"day", fmt.Sprintf("$filter=phenomenonTime ge %s and phenomenonTime lt %s&$top=1440", iso(dayStart), iso(dayStart+1440))},
	} {
		b.Run(c.name, func(b *testing.B) {
			v, _ := parseQuery(c.query)
			for b.Loop() {
				o, err := ParseOptions("Observations", v, Limits{})
				if err != nil {
					b.Fatal(err)
				}
				s, err := Compile(SQLite, Target{Via: &Via{"Datastreams", 10, "Observations"}}, o, now)
				if err != nil {
					b.Fatal(err)
				}
				rs, err := db.QueryContext(ctx, s.SQL, s.Args...)
				if err != nil {
					b.Fatal(err)
				}
				n := 0
				for rs.Next() {
					if _, err := s.Scan(rs.Scan); err != nil {
						b.Fatal(err)
					}
					n++
				}
				rs.Close()
				if n == 0 {
					b.Fatal("no rows")
				}
			}
		})
	}
}

// BenchmarkScan decodes one Observation row (all properties).
func BenchmarkScan(b *testing.B) {
	st, err := Compile(SQLite, Target{EntitySet: "Observations"}, Options{Top: 1}, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	row := []any{int64(1029000040), int64(29000040), int64(29000041), 5.5, int64(29000041), int64(6), 4.5, 6.5, int64(60), int64(60), int64(0), int64(0), int64(1), int64(1), int64(10), int64(29000040)}
	scan := func(dest ...any) error {
		if len(dest) != len(row) {
			return fmt.Errorf("%d dest, %d values", len(dest), len(row))
		}
		for i, d := range dest {
			*(d.(*any)) = row[i]
		}
		return nil
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := st.Scan(scan); err != nil {
			b.Fatal(err)
		}
	}
}
