package opendata

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/internal/air"
)

// Columns are the day file's header row, in order (docs/open-data.md
// describes each).
var Columns = []string{"terminal_name", "thing_id", "datastream_id", "quarter", "observed_property", "unit_ucum",
	"interval_start", "interval_end", "mean", "min", "max", "count", "expected_count", "qc_flag", "qc_reasons",
	"latitude", "longitude"}

// terminalInfo is what a row says about its terminal.
type terminalInfo struct {
	name, quarter string
	site          store.Site
	hasSite       bool
}

// terminalInfos maps terminal IDs to their names, quarters and sites.
func (f *Files) terminalInfos(ctx context.Context) (map[string]terminalInfo, error) {
	ts, err := f.src.Terminals(ctx)
	if err != nil {
		return nil, fmt.Errorf("opendata: terminals: %w", err)
	}
	sites, err := f.src.Sites(ctx)
	if err != nil {
		return nil, fmt.Errorf("opendata: sites: %w", err)
	}
	m := make(map[string]terminalInfo, len(ts))
	for _, t := range ts {
		m[t.ID] = terminalInfo{name: t.Name, quarter: t.Quarter}
	}
	for _, s := range sites {
		ti := m[s.TerminalID]
		ti.site, ti.hasSite = s, true
		m[s.TerminalID] = ti
	}
	return m, nil
}

// WriteDay writes the gzipped CSV of day (a UTC date; the time of day is
// ignored) to w: every observation published for it, by datastream then
// time. Rows are streamed from the store; the gzip stream carries no name
// or time, so the same data always makes the same bytes.
func (f *Files) WriteDay(ctx context.Context, w io.Writer, day time.Time) error {
	day = dayOf(day)
	infos, err := f.terminalInfos(ctx)
	if err != nil {
		return err
	}
	zw, err := gzip.NewWriterLevel(w, gzip.DefaultCompression)
	if err != nil {
		return fmt.Errorf("opendata: %w", err)
	}
	bw := bufio.NewWriterSize(zw, 64<<10)
	cw := csv.NewWriter(bw)
	if err := cw.Write(Columns); err != nil {
		return fmt.Errorf("opendata: day %s: %w", day.Format(time.DateOnly), err)
	}
	row := make([]string, len(Columns))
	var buf []byte // number formatting without an allocation per field
	num := func(v float64) string {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return ""
		}
		buf = strconv.AppendFloat(buf[:0], v, 'f', -1, 64)
		return string(buf)
	}
	err = f.src.PublishedObservations(ctx, day, day.AddDate(0, 0, 1), func(ds store.Datastream, o store.Observation) error {
		ti := infos[ds.TerminalID]
		step := time.Minute
		if ds.Resolution == store.ResolutionHour {
			step = time.Hour
		}
		unit := ds.Unit
		if q, ok := air.QuantityByID(ds.Quantity); ok {
			unit = q.UCUM
		}
		start := o.Minute.UTC()
		row[0] = ti.name
		row[1] = strconv.FormatInt(ds.TerminalNum, 10)
		row[2] = strconv.FormatInt(ds.ID, 10)
		row[3] = ti.quarter
		row[4] = ds.Quantity
		row[5] = unit
		row[6] = start.Format(time.RFC3339)
		row[7] = start.Add(step).Format(time.RFC3339)
		if o.Count > 0 {
			row[8], row[9], row[10] = num(o.Mean), num(o.Min), num(o.Max)
		} else {
			row[8], row[9], row[10] = "", "", ""
		}
		row[11] = strconv.Itoa(o.Count)
		row[12] = ""
		if o.Expected > 0 {
			row[12] = strconv.Itoa(o.Expected)
		}
		row[13] = o.Flags.Verdict()
		row[14] = o.Flags.String()
		row[15], row[16] = "", ""
		if ti.hasSite {
			row[15], row[16] = num(ti.site.Latitude), num(ti.site.Longitude)
		}
		return cw.Write(row)
	})
	if err != nil {
		return fmt.Errorf("opendata: day %s: %w", day.Format(time.DateOnly), err)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("opendata: day %s: %w", day.Format(time.DateOnly), err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("opendata: day %s: %w", day.Format(time.DateOnly), err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("opendata: day %s: %w", day.Format(time.DateOnly), err)
	}
	return nil
}
