package console

import (
	"context"
	"encoding/csv"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/charts"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// The fleet page's charts of the fleet's health over time (the samples
// of fleet.Sampler): terminals online, unsent records, open alerts, over
// the last 24 hours (every sample) or 30 days (hourly means). Each is an
// <img> of an SVG the console renders (charts.Lines), so the page needs
// no script and its content security policy stays; beside it the figures
// in words (alt), a table, and the samples as CSV.

// trendWindow is a window the fleet page offers.
type trendWindow struct {
	ID     string
	Length time.Duration
	// Bucket averages the samples per bucket (0: every sample).
	Bucket time.Duration
	Label  *Message
}

var trendWindows = []trendWindow{
	{ID: "24h", Length: 24 * time.Hour, Label: msg("fleet.trends.window_24h")},
	{ID: "30d", Length: 30 * 24 * time.Hour, Bucket: time.Hour, Label: msg("fleet.trends.window_30d")},
}

// trendSampleEvery is the sampler's period (fleet.SamplerOpts default):
// a gap longer than 1.5 of it breaks the line.
const trendSampleEvery = 5 * time.Minute

func trendWindowNamed(id string) (trendWindow, bool) {
	for _, w := range trendWindows {
		if w.ID == id {
			return w, true
		}
	}
	return trendWindows[0], false
}

// trendChart is one chart: its series, each a field of the samples.
type trendChart struct {
	ID     string
	Title  *Message
	YLabel *Message
	Series []trendSeries
}

type trendSeries struct {
	Name  *Message
	Value func(store.FleetTrend) float64
}

var trendCharts = []trendChart{
	{ID: "online", Title: msg("fleet.trends.online_title"), YLabel: msg("fleet.trends.y_terminals"), Series: []trendSeries{
		{msg("fleet.trends.series_online"), func(s store.FleetTrend) float64 { return float64(s.Online) }},
		{msg("fleet.trends.series_offline"), func(s store.FleetTrend) float64 { return float64(s.Offline) }},
	}},
	{ID: "unsent", Title: msg("fleet.trends.unsent_title"), YLabel: msg("fleet.trends.y_records"), Series: []trendSeries{
		{msg("fleet.trends.series_unsent"), func(s store.FleetTrend) float64 { return float64(s.Unsent) }},
	}},
	{ID: "alerts", Title: msg("fleet.trends.alerts_title"), YLabel: msg("fleet.trends.y_alerts"), Series: []trendSeries{
		{msg("fleet.trends.series_open"), func(s store.FleetTrend) float64 { return float64(s.OpenAlerts) }},
		{msg("fleet.trends.series_unacked"), func(s store.FleetTrend) float64 { return float64(s.UnackedAlerts) }},
	}},
}

func trendChartNamed(id string) (trendChart, bool) {
	for _, c := range trendCharts {
		if c.ID == id {
			return c, true
		}
	}
	return trendChart{}, false
}

// trendsView is the fleet page's section.
type trendsView struct {
	Window  string
	Windows []trendWindowLink
	Charts  []trendChartView
	CSV     string
	Samples int
}

type trendWindowLink struct {
	ID      string
	Label   *Message
	Current bool
}

type trendChartView struct {
	ID, Title, Src, Alt string
	Width, Height       int // CSS pixels, so the page keeps the picture's place
	Rows                []trendRow
}

type trendRow struct {
	Series, Now, Lowest, Highest string
}

// trendRange is the window ending now: its end is the next sample point,
// so the newest sample is inside.
func trendRange(w trendWindow, now time.Time) (from, to time.Time) {
	to = now.UTC().Truncate(trendSampleEvery).Add(trendSampleEvery)
	return to.Add(-w.Length), to
}

// trendPoints turns samples into each series' points of w: every sample,
// or their mean per bucket (at the bucket's start).
func trendPoints(ch trendChart, w trendWindow, samples []store.FleetTrend) [][]charts.Point {
	out := make([][]charts.Point, len(ch.Series))
	for i, s := range ch.Series {
		var pts []charts.Point
		var sum float64
		var n int
		var bucket time.Time
		flush := func() {
			if n > 0 {
				pts = append(pts, charts.Point{At: bucket, Value: sum / float64(n)})
			}
		}
		for _, sm := range samples {
			if w.Bucket == 0 {
				pts = append(pts, charts.Point{At: sm.SampledAt, Value: s.Value(sm)})
				continue
			}
			if b := sm.SampledAt.Truncate(w.Bucket); !b.Equal(bucket) {
				flush()
				bucket, sum, n = b, 0, 0
			}
			sum += s.Value(sm)
			n++
		}
		if w.Bucket != 0 {
			flush()
		}
		out[i] = pts
	}
	return out
}

func (c *Console) trendSamples(ctx context.Context, w trendWindow, now time.Time) ([]store.FleetTrend, time.Time, time.Time, error) {
	from, to := trendRange(w, now)
	s, err := c.st.FleetTrendsBetween(ctx, from, to)
	if err != nil {
		return nil, from, to, fmt.Errorf("fleet trends: %w", err)
	}
	return s, from, to, nil
}

// fleetTrends builds the fleet page's section for the window ?trends= asks for.
func (c *Console) fleetTrends(ctx context.Context, lang, window string, now time.Time) (trendsView, error) {
	w, _ := trendWindowNamed(window)
	samples, _, _, err := c.trendSamples(ctx, w, now)
	if err != nil {
		return trendsView{}, err
	}
	v := trendsView{Window: w.ID, Samples: len(samples), CSV: "/console/fleet/trends/" + w.ID + "/samples.csv"}
	for _, tw := range trendWindows {
		v.Windows = append(v.Windows, trendWindowLink{ID: tw.ID, Label: tw.Label, Current: tw.ID == w.ID})
	}
	width, height := int(charts.Wide.Width*4/3), int(charts.Wide.Height*4/3)
	for _, ch := range trendCharts {
		title := ch.Title.In(lang)
		cv := trendChartView{ID: ch.ID, Title: title, Src: "/console/fleet/trends/" + w.ID + "/" + ch.ID + ".svg?lang=" + lang,
			Width: width, Height: height}
		var alts []string
		for i, pts := range trendPoints(ch, w, samples) {
			name := ch.Series[i].Name.In(lang)
			sum, ok := charts.Summarize(pts)
			if !ok {
				continue
			}
			row := trendRow{Series: name, Now: trendNumber(lang, sum.Latest.Value),
				Lowest:  msg("fleet.trends.value_at", "value", trendNumber(lang, sum.Min.Value), "time", trendTime(lang, sum.Min.At)).In(lang),
				Highest: msg("fleet.trends.value_at", "value", trendNumber(lang, sum.Max.Value), "time", trendTime(lang, sum.Max.At)).In(lang)}
			cv.Rows = append(cv.Rows, row)
			alts = append(alts, msg("fleet.trends.alt_series", "series", name, "now", row.Now, "lowest", row.Lowest, "highest", row.Highest).In(lang))
		}
		if len(alts) == 0 {
			cv.Alt = msg("fleet.trends.alt_none", "title", title, "window", w.Label).In(lang)
		} else {
			cv.Alt = msg("fleet.trends.alt", "title", title, "window", w.Label, "figures", strings.Join(alts, "; ")).In(lang)
		}
		v.Charts = append(v.Charts, cv)
	}
	return v, nil
}

// trendNumber writes a count, or a mean with one decimal in the page's
// language.
func trendNumber(lang string, v float64) string {
	if v == math.Trunc(v) {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	s := strconv.FormatFloat(v, 'f', 1, 64)
	if lang == "de" {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s
}

// trendTime is a sample's time in Berlin ("7.12. 14:05").
func trendTime(lang string, t time.Time) string {
	t = t.In(charts.Berlin)
	if lang == "de" {
		return t.Format("2.1. 15:04")
	}
	return t.Format("Jan 2 15:04")
}

// fleetTrendFile serves a chart (online.svg, unsent.svg, alerts.svg) or
// the window's samples (samples.csv).
func (c *Console) fleetTrendFile(w http.ResponseWriter, r *http.Request) {
	win, ok := trendWindowNamed(r.PathValue("window"))
	if !ok {
		c.fail(w, r, http.StatusNotFound, msg("error.no_such_page"))
		return
	}
	file := r.PathValue("file")
	if file == "samples.csv" {
		c.fleetTrendCSV(w, r, win)
		return
	}
	id, isSVG := strings.CutSuffix(file, ".svg")
	ch, known := trendChartNamed(id)
	if !isSVG || !known {
		c.fail(w, r, http.StatusNotFound, msg("error.no_such_page"))
		return
	}
	lang := c.lang(r, principalFrom(r.Context()), false)
	samples, from, to, err := c.trendSamples(r.Context(), win, c.o.Now())
	if err != nil {
		c.serverError(w, r, "fleet trends", err)
		return
	}
	step := trendSampleEvery
	if win.Bucket != 0 {
		step = win.Bucket
	}
	lines := charts.Lines{Title: msg("fleet.trends.chart_title", "title", ch.Title, "window", win.Label).In(lang), YLabel: ch.YLabel.In(lang),
		From: from, To: to, Step: step, Empty: msg("fleet.trends.empty").In(lang), Decimal: map[bool]string{true: ",", false: "."}[lang == "de"]}
	for i, pts := range trendPoints(ch, win, samples) {
		lines.Series = append(lines.Series, charts.Series{Name: ch.Series[i].Name.In(lang), Points: pts})
	}
	svg, err := lines.SVG()
	if err != nil {
		c.serverError(w, r, "fleet trend chart", err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "image/svg+xml")
	// The picture's own policy: an SVG opened by itself runs nothing.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	h.Set("Cache-Control", "private, max-age=60")
	h.Set("Content-Language", lang)
	w.Write(svg)
}

// fleetTrendCSV serves the window's samples, one row each, oldest first.
func (c *Console) fleetTrendCSV(w http.ResponseWriter, r *http.Request, win trendWindow) {
	samples, _, _, err := c.trendSamples(r.Context(), win, c.o.Now())
	if err != nil {
		c.serverError(w, r, "fleet trends", err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="fleet-health-`+win.ID+`.csv"`)
	h.Set("Cache-Control", "no-store")
	cw := csv.NewWriter(w)
	cw.Write([]string{"sampled_at", "terminals", "online", "offline", "never_seen", "revoked", "unsent_records", "open_alerts", "unacknowledged_alerts"})
	for _, s := range samples {
		cw.Write([]string{s.SampledAt.UTC().Format(time.RFC3339), strconv.Itoa(s.Terminals), strconv.Itoa(s.Online), strconv.Itoa(s.Offline),
			strconv.Itoa(s.Never), strconv.Itoa(s.Revoked), strconv.FormatInt(s.Unsent, 10), strconv.Itoa(s.OpenAlerts), strconv.Itoa(s.UnackedAlerts)})
	}
	cw.Flush()
}
