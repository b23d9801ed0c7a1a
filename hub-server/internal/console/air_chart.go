package console

import (
	"context"
	"fmt"
	"html/template"
	"net/url"
	"strconv"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/charts"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/internal/air"
)

// The words of the levels 1–5 (index 0: unknown), the terminal's words.
var airLevelWords = [6]*Message{msg("air.level.0"), msg("air.level.1"), msg("air.level.2"), msg("air.level.3"), msg("air.level.4"), msg("air.level.5")}

// airQuantityNames name the published quantities.
var airQuantityNames = map[string]*Message{"pm25": msg("air.quantity.pm25"), "pm10": msg("air.quantity.pm10"), "co2": msg("air.quantity.co2")}

// airPublished names what is published of a datastream, for staff.
var airPublished = map[string]*Message{store.ResolutionMinute: msg("air.published.minute"), store.ResolutionHour: msg("air.published.hour"),
	store.ResolutionOff: msg("air.published.off")}

func levelWord(lang string, q string, v float64) (int, string) {
	l := int(air.LevelOf(q, v))
	return l, airLevelWords[l].In(lang)
}

// airStreamView is one datastream on a page: its name, its value now and
// its two charts.
type airStreamView struct {
	ID        int64
	Heading   string
	Now       string // "12,3 µg/m³ – gut", or that there is none
	Level     int    // of Now, 0 when none
	Published string // staff only: what is published of it
	Charts    []airChartView
	DataLink  template.URL // public only: its observations in the SensorThings API (built here from an ID, so not escaped again)
}

// airChartView is one chart and its text alternative: the <img>'s alt
// (latest, lowest, highest) and a table of hourly or daily means.
type airChartView struct {
	Title              string
	Src, SrcNarrow     string
	Alt                string
	TableCaption       string
	Rows               []airRow
	WideW, WideH       int // CSS pixels of the pictures, so the page keeps their place
	NarrowW, NarrowH   int
	ColTime, ColMean   string
	ColLowest, ColHigh string
	ColLevel           string
}

type airRow struct {
	When, Mean, Min, Max, Level string
	LevelN                      int
}

func px(pt float64) int { return int(pt * 4 / 3) }

// airChartSize is the picture a request asks for: "n" narrow (phones),
// else wide.
func airChartSize(s string) (charts.Size, string) {
	if s == "n" {
		return charts.Narrow, "n"
	}
	return charts.Wide, "w"
}

// airWindowPoints loads a stream's window for a view (cached a minute,
// so a page and its charts read the store once).
func (c *Console) airWindowPoints(ctx context.Context, view airView, s airStream, w airWindow, now time.Time) (pts []charts.Point, from, to time.Time, step time.Duration, err error) {
	res := resolutionFor(view, s, w)
	from, to, step = airRange(now, w, res)
	key := fmt.Sprintf("obs|%d|%d|%s|%s|%d", view, s.ID, w, res, to.Unix()/60)
	if v, ok := c.air.cache.get(key, now); ok {
		return v.([]charts.Point), from, to, step, nil
	}
	obs, err := c.st.ObservationWindow(ctx, s.ID, from, to, res)
	if err != nil {
		return nil, from, to, step, fmt.Errorf("air: window of datastream %d: %w", s.ID, err)
	}
	pts = airPoints(obs)
	c.air.cache.put(key, pts, now)
	return pts, from, to, step, nil
}

// airChart describes the chart of a stream's window in lang.
func airChart(lang string, s airStream, w airWindow, step time.Duration, from, to time.Time, pts []charts.Point, size charts.Size) charts.Air {
	var levels [5]string
	for i := range levels {
		levels[i] = airLevelWords[i+1].In(lang)
	}
	if step == time.Hour { // an hour's mean stands for the whole hour: drawn at its middle
		mid := make([]charts.Point, len(pts))
		for i, p := range pts {
			mid[i] = p
			mid[i].At = p.At.Add(30 * time.Minute)
		}
		pts = mid
	}
	return charts.Air{Title: airTitle(lang, s, w, step), Quantity: s.Quantity, Unit: s.Q.Symbol, Levels: levels,
		Flagged: msg("air.flagged").In(lang), Empty: msg("air.chart_empty").In(lang), From: from, To: to, Step: step, Points: pts,
		Size: size, Axis: charts.Axis{Day: airDayName(lang)}, Decimal: decimalSep(lang)}
}

func airTitle(lang string, s airStream, w airWindow, step time.Duration) string {
	win := msg("air.window.day")
	switch {
	case w == airMonth:
		win = msg("air.window.month")
	case step == time.Hour:
		win = msg("air.window.day_hourly")
	}
	return msg("air.chart_title", "quantity", airQuantityNames[s.Quantity], "window", win).In(lang)
}

// airStreamViews builds the page's view of streams: the value now and,
// per window, the chart's addresses (src gives one for a stream, window
// and size), its text alternative and its table.
func (c *Console) airStreamViews(ctx context.Context, lang string, view airView, streams []airStream, now time.Time,
	src func(s airStream, w airWindow, size string) string) ([]airStreamView, error) {
	sensors := map[string]int{}
	for _, s := range streams {
		sensors[s.Quantity]++
	}
	var out []airStreamView
	for _, s := range streams {
		v := airStreamView{ID: s.ID, Heading: airQuantityNames[s.Quantity].In(lang)}
		if sensors[s.Quantity] > 1 { // two sensors of one quantity: say which
			v.Heading += " (" + s.Sensor + ")"
		}
		if view == airStaff {
			v.Published = airPublished[s.Published].In(lang)
		} else {
			v.DataLink = template.URL(fmt.Sprintf("/sta/v1.1/Datastreams(%d)/Observations?%s", s.ID, url.Values{"$orderby": {"phenomenonTime desc"}}.Encode()))
		}
		if s.Latest != nil {
			l, word := levelWord(lang, s.Quantity, s.Latest.Mean)
			v.Level = l
			v.Now = msg("air.now", "value", formatValue(lang, s.Q, s.Latest.Mean), "unit", s.Q.Symbol, "level", word,
				"time", airTime(lang, s.Latest.Minute)).In(lang)
			if resolutionFor(view, s, airDay) == store.ResolutionHour { // an hour's mean: say which hour
				v.Now = msg("air.now_hour", "value", formatValue(lang, s.Q, s.Latest.Mean), "unit", s.Q.Symbol, "level", word,
					"time", airTime(lang, s.Latest.Minute), "end", s.Latest.Minute.Add(time.Hour).In(charts.Berlin).Format("15:04")).In(lang)
			}
		} else {
			v.Now = msg("air.no_current").In(lang)
		}
		for _, w := range []airWindow{airDay, airMonth} {
			pts, _, _, step, err := c.airWindowPoints(ctx, view, s, w, now)
			if err != nil {
				return nil, err
			}
			cv := airChartView{Title: airTitle(lang, s, w, step), Src: src(s, w, "w"), SrcNarrow: src(s, w, "n"),
				WideW: px(charts.Wide.Width), WideH: px(charts.Wide.Height), NarrowW: px(charts.Narrow.Width), NarrowH: px(charts.Narrow.Height),
				ColTime: msg("air.col.time").In(lang), ColMean: msg("air.col.mean").In(lang), ColLowest: msg("air.col.lowest").In(lang),
				ColHigh: msg("air.col.highest").In(lang), ColLevel: msg("air.col.level").In(lang)}
			cv.Alt = airAlt(lang, s, cv.Title, pts)
			if w == airDay {
				cv.TableCaption = msg("air.table.hours").In(lang)
				cv.Rows = airRows(lang, s, pts, func(t time.Time) time.Time { return t.In(charts.Berlin).Truncate(time.Hour) }, func(t time.Time) string { return airTime(lang, t) })
			} else {
				cv.TableCaption = msg("air.table.days").In(lang)
				cv.Rows = airRows(lang, s, pts, func(t time.Time) time.Time {
					t = t.In(charts.Berlin)
					return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, charts.Berlin)
				}, airDayName(lang))
			}
			v.Charts = append(v.Charts, cv)
		}
		out = append(out, v)
	}
	return out, nil
}

// airAlt is a chart's alt text: what it shows, the latest value with its
// level and time, the lowest and the highest.
func airAlt(lang string, s airStream, title string, pts []charts.Point) string {
	sum, ok := charts.Summarize(pts)
	if !ok {
		return msg("air.alt_empty", "title", title).In(lang)
	}
	_, word := levelWord(lang, s.Quantity, sum.Latest.Value)
	return msg("air.alt", "title", title, "value", formatValue(lang, s.Q, sum.Latest.Value), "unit", s.Q.Symbol, "level", word,
		"time", airTime(lang, sum.Latest.At), "min", formatValue(lang, s.Q, sum.Min.Value), "max", formatValue(lang, s.Q, sum.Max.Value)).In(lang)
}

// airRows groups points by group (an hour, a day: its start) into the
// table under a chart: mean, lowest and highest value and the mean's
// level, newest first.
func airRows(lang string, s airStream, pts []charts.Point, group func(time.Time) time.Time, when func(time.Time) string) []airRow {
	type acc struct {
		at            time.Time
		sum, min, max float64
		n             int
	}
	var accs []acc
	for _, p := range pts {
		g := group(p.At)
		if len(accs) == 0 || !accs[len(accs)-1].at.Equal(g) {
			accs = append(accs, acc{at: g, min: p.Value, max: p.Value})
		}
		a := &accs[len(accs)-1]
		a.sum += p.Value
		a.min, a.max = min(a.min, p.Value), max(a.max, p.Value)
		a.n++
	}
	out := make([]airRow, 0, len(accs))
	for i := len(accs) - 1; i >= 0; i-- {
		a := accs[i]
		mean := a.sum / float64(a.n)
		l, word := levelWord(lang, s.Quantity, mean)
		out = append(out, airRow{When: when(a.at), Mean: formatValue(lang, s.Q, mean), Min: formatValue(lang, s.Q, a.min),
			Max: formatValue(lang, s.Q, a.max), Level: word, LevelN: l})
	}
	return out
}

// airChartQuery is a chart request's query: ?ds=ID&w=day|month&s=w|n&lang=.
type airChartQuery struct {
	ds   int64
	w    airWindow
	size charts.Size
	sz   string
	lang string
}

func parseAirChartQuery(q url.Values, defLang string) (airChartQuery, bool) {
	var a airChartQuery
	ds := q.Get("ds")
	if len(ds) == 0 || len(ds) > 19 {
		return a, false
	}
	id, err := strconv.ParseInt(ds, 10, 64)
	if err != nil || id <= 0 {
		return a, false
	}
	a.ds = id
	switch airWindow(q.Get("w")) {
	case airDay:
		a.w = airDay
	case airMonth:
		a.w = airMonth
	default:
		return a, false
	}
	a.size, a.sz = airChartSize(q.Get("s"))
	a.lang = defLang
	if l := q.Get("lang"); knownLang(l) {
		a.lang = l
	}
	return a, true
}

// airChartURL is the address of a chart of s under base.
func airChartURL(base, lang string, s airStream, w airWindow, size string) string {
	return base + "?" + url.Values{"ds": {strconv.FormatInt(s.ID, 10)}, "w": {string(w)}, "s": {size}, "lang": {lang}}.Encode()
}
