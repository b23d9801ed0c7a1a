package main

import (
	"context"
	"database/sql"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/internal/air"
	"github.com/quartierhub/quartierhub/tests/internal/harness"
)

// TestStaSeed seeds a small history into a database the real hub made and
// checks it the way the store would have written it: datastreams bound
// their observations, hourly rows add up their minutes, flags follow
// air.Assess and the cross checks, and the B-tree walk agrees with
// SQLite's own dbstat.
func TestStaSeed(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir := t.TempDir()
	bin, err := harness.BuildHub(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	hub, err := harness.NewHub(harness.Bins{Hub: bin}, filepath.Join(dir, "hub"))
	if err != nil {
		t.Fatal(err)
	}
	if err := hub.StartFresh(ctx); err != nil {
		t.Fatal(err)
	}
	if err := hub.Stop(); err != nil {
		t.Fatal(err)
	}
	const terminals, days = 12, 3
	end := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	path := filepath.Join(hub.Dir, "hub.db")
	info, err := staSeed(ctx, path, terminals, days, end)
	if err != nil {
		t.Fatal(err)
	}
	if info.EndMinute != end.Unix()/60 || info.FirstMinute != info.EndMinute-days*1440 {
		t.Fatalf("minutes %d..%d, want the %d days before %s", info.FirstMinute, info.EndMinute, days, end)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=query_only(ON)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var mode string
	if err := db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal mode %q (%v), want the hub's wal", mode, err)
	}
	var nObs, nHour, nSites int64
	if err := db.QueryRow(`SELECT (SELECT COUNT(*) FROM observations), (SELECT COUNT(*) FROM observations_hourly), (SELECT COUNT(*) FROM terminal_sites)`).Scan(&nObs, &nHour, &nSites); err != nil {
		t.Fatal(err)
	}
	if nObs != info.Observations || nHour != info.Hourly || nSites != terminals {
		t.Errorf("%d observations, %d hourly, %d sites; the seed says %d, %d, want %d sites", nObs, nHour, nSites, info.Observations, info.Hourly, terminals)
	}
	// Every minute a terminal is up has PM rows; CO2 misses its first
	// minutes after a start.
	if nObs < int64(terminals*days*1440*2) || nObs > int64(terminals*days*1440*3) {
		t.Errorf("%d observations for %d terminals × %d days", nObs, terminals, days)
	}

	// Datastreams: three per terminal, bounds equal to their rows.
	rows, err := db.Query(`SELECT d.id, d.terminal_num, d.quantity, d.resolution, d.first_minute, d.last_minute, MIN(o.minute), MAX(o.minute), s.indoor
		FROM datastreams d JOIN terminal_sites s ON s.terminal_num = d.terminal_num JOIN observations o ON o.datastream_id = d.id GROUP BY d.id ORDER BY d.id`)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		var id, num, first, last, minM, maxM, indoor int64
		var q, res string
		if err := rows.Scan(&id, &num, &q, &res, &first, &last, &minM, &maxM, &indoor); err != nil {
			t.Fatal(err)
		}
		n++
		want := staStreams[(id-1)%3].Quantity
		if num != (id-1)/3+1 || q != want {
			t.Errorf("datastream %d: terminal %d quantity %s, want %d %s", id, num, q, (id-1)/3+1, want)
		}
		if first != minM || last != maxM || first < info.FirstMinute || last >= info.EndMinute {
			t.Errorf("datastream %d: bounds %d..%d, rows %d..%d", id, first, last, minM, maxM)
		}
		wantRes := "minute"
		if indoor == 1 && q == "co2" {
			wantRes = "hour"
		}
		if res != wantRes {
			t.Errorf("datastream %d (%s, indoor %d): resolution %s, want %s", id, q, indoor, res, wantRes)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if n != 3*terminals {
		t.Errorf("%d datastreams with observations, want %d", n, 3*terminals)
	}

	// Minutes: flags as the store sets them; hours summed from them.
	type key struct{ ds, hour int64 }
	sums := map[key]staRow{}
	pm := map[[2]int64]float64{} // (terminal, minute) → PM2.5 mean, for the PM10 row
	seen := air.Flags(0)
	rows, err = db.Query(`SELECT datastream_id, minute, mean, min, max, count, expected, warmup, invalid, flags, flat_run FROM observations ORDER BY datastream_id, minute`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var ds int64
		var o staRow
		if err := rows.Scan(&ds, &o.Minute, &o.Mean, &o.Min, &o.Max, &o.Count, &o.Expected, &o.WarmUp, &o.Invalid, &o.Flags, &o.Flat); err != nil {
			t.Fatal(err)
		}
		seen |= o.Flags
		s := staStreams[(ds-1)%3]
		own := air.Assess(air.Minute{Quantity: s.Quantity, Mean: o.Mean, Min: o.Min, Max: o.Max, Count: int(o.Count), Expected: int(o.Expected), WarmUp: int(o.WarmUp), Invalid: int(o.Invalid)})
		if got := o.Flags & (air.WarmUp | air.Incomplete | air.OutOfRange); got != own {
			t.Errorf("datastream %d minute %d: flags %s, air.Assess gives %s", ds, o.Minute, o.Flags, own)
		}
		if o.Min > o.Mean || o.Mean > o.Max {
			t.Errorf("datastream %d minute %d: min %v mean %v max %v", ds, o.Minute, o.Min, o.Mean, o.Max)
		}
		if model, _ := air.ModelByID(s.Model); o.Expected != int64(model.SamplesPerMinute) {
			t.Errorf("datastream %d: expected %d samples, the model's minute holds %d", ds, o.Expected, model.SamplesPerMinute)
		}
		if (o.Flat >= air.FlatLineMinutes) != (o.Flags&air.FlatLine != 0) || (o.Flat > 0 && o.Min != o.Max) {
			t.Errorf("datastream %d minute %d: flat_run %d, flags %s, min %v max %v", ds, o.Minute, o.Flat, o.Flags, o.Min, o.Max)
		}
		num := (ds-1)/3 + 1
		switch s.Quantity {
		case "pm25":
			pm[[2]int64{num, o.Minute}] = o.Mean
		case "pm10":
			p25, ok := pm[[2]int64{num, o.Minute}]
			if !ok {
				t.Fatalf("datastream %d minute %d: PM10 without PM2.5", ds, o.Minute)
			}
			if (p25 > o.Mean) != (o.Flags&air.PM25AbovePM10 != 0) {
				t.Errorf("datastream %d minute %d: PM2.5 %v, PM10 %v, flags %s", ds, o.Minute, p25, o.Mean, o.Flags)
			}
		}
		k := key{ds, o.Minute - o.Minute%60}
		h, ok := sums[k]
		if !ok {
			h.Min, h.Max = math.Inf(1), math.Inf(-1)
		}
		h.Mean += o.Mean
		h.Min, h.Max = min(h.Min, o.Min), max(h.Max, o.Max)
		h.Flat++
		h.Count += o.Count
		h.Expected += o.Expected
		h.WarmUp += o.WarmUp
		h.Invalid += o.Invalid
		h.Flags |= o.Flags
		sums[k] = h
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	for _, f := range []air.Flags{air.WarmUp, air.Incomplete, air.PM25AbovePM10, air.HighHumidity, air.FlatLine} {
		if seen&f == 0 {
			t.Errorf("no observation flagged %s: the data is not as varied as a real fleet's", f)
		}
	}
	rows, err = db.Query(`SELECT datastream_id, hour, sum, min, max, minutes, count, expected, warmup, invalid, flags FROM observations_hourly`)
	if err != nil {
		t.Fatal(err)
	}
	nh := 0
	for rows.Next() {
		var k key
		var h staRow
		if err := rows.Scan(&k.ds, &k.hour, &h.Mean, &h.Min, &h.Max, &h.Flat, &h.Count, &h.Expected, &h.WarmUp, &h.Invalid, &h.Flags); err != nil {
			t.Fatal(err)
		}
		nh++
		w, ok := sums[k]
		if !ok || math.Abs(w.Mean-h.Mean) > 1e-6 || w.Min != h.Min || w.Max != h.Max || w.Flat != h.Flat || w.Count != h.Count ||
			w.Expected != h.Expected || w.WarmUp != h.WarmUp || w.Invalid != h.Invalid || w.Flags != h.Flags {
			t.Errorf("hour %v: stored %+v, its minutes give %+v", k, h, w)
		}
	}
	rows.Close()
	if nh != len(sums) {
		t.Errorf("%d hourly rows, the minutes make %d hours", nh, len(sums))
	}

	// The B-tree walk against dbstat (which reads every page).
	var root int64
	if err := db.QueryRow(`SELECT rootpage FROM sqlite_master WHERE name = 'observations'`).Scan(&root); err != nil {
		t.Fatal(err)
	}
	depth, fanout, perLeaf, err := staBtree(path, root)
	if err != nil {
		t.Fatal(err)
	}
	var maxPath string
	var leafCells int
	if err := db.QueryRow(`SELECT MAX(length(path)), (SELECT ncell FROM dbstat WHERE name = 'observations' AND pagetype = 'leaf' ORDER BY path LIMIT 1)
		FROM dbstat WHERE name = 'observations'`).Scan(new(int), &leafCells); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`SELECT path FROM dbstat WHERE name = 'observations' ORDER BY length(path) DESC LIMIT 1`).Scan(&maxPath); err != nil {
		t.Fatal(err)
	}
	if want := strings.Count(maxPath, "/"); depth != want {
		t.Errorf("staBtree depth %d, dbstat's deepest page %s is at depth %d", depth, maxPath, want)
	}
	if perLeaf != leafCells {
		t.Errorf("staBtree: %d rows in the first leaf, dbstat says %d", perLeaf, leafCells)
	}
	if est := staDepthFor(float64(info.Observations), perLeaf, fanout); est != depth {
		t.Errorf("staDepthFor(%d rows, %d a leaf, fanout %d) = %d, the tree is %d deep", info.Observations, perLeaf, fanout, est, depth)
	}
}
