package console

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/charts"
	"github.com/quartierhub/quartierhub/hub-server/internal/netlimit"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/internal/air"
)

// The air pages (air_show.go) show each published terminal's air: the
// last 24 hours (per minute, or per finished hour for a datastream
// published hourly) and the last 30 days (hourly means, finished hours)
// per datastream. Staff see every datastream of a terminal per minute on
// its console page, marked with what is published of it.

// airWindow is one of a chart's two periods.
type airWindow string

const (
	airDay   airWindow = "day"
	airMonth airWindow = "month"
)

// airView says whose chart it is: the public's (only published
// datastreams at their resolution) or staff's (everything, per minute).
type airView int

const (
	airPublic airView = iota
	airStaff
)

// airStream is one datastream as the air pages show it.
type airStream struct {
	store.Datastream
	Q air.Quantity
	// Published is what is published of it: store.ResolutionMinute,
	// ResolutionHour, or ResolutionOff (also for a terminal without site).
	Published string
	// Latest is the newest value the page may show, nil when none is
	// recent enough to call current (then no level is claimed).
	Latest *store.Observation
}

// airTerminal is one published terminal on the public pages.
type airTerminal struct {
	Num                  int64
	Name, Quarter, Place string
	Indoor               bool
	Lat, Lon             float64
	Streams              []airStream
}

// current: a minute older than this, or an hour finished longer ago than
// this, is no longer "now".
const (
	airMinuteCurrent = 15 * time.Minute
	airHourCurrent   = 2 * time.Hour
)

// airRange is the window of a chart at a resolution: for hourly data
// only finished hours (the public's hourly datastreams and every 30-day
// chart), so an hour's mean never changes once shown.
func airRange(now time.Time, w airWindow, resolution string) (from, to time.Time, step time.Duration) {
	if w == airMonth || resolution == store.ResolutionHour {
		to = now.Truncate(time.Hour)
		if w == airMonth {
			return to.AddDate(0, 0, -30), to, time.Hour
		}
		return to.Add(-24 * time.Hour), to, time.Hour
	}
	to = now.Truncate(time.Minute)
	return to.Add(-24 * time.Hour), to, time.Minute
}

// resolutionFor is the resolution a view reads a stream's window at.
func resolutionFor(view airView, s airStream, w airWindow) string {
	if w == airMonth {
		return store.ResolutionHour
	}
	if view == airPublic && s.Published == store.ResolutionHour {
		return store.ResolutionHour
	}
	return store.ResolutionMinute
}

// airStreamsOf builds airStreams from datastreams, keeping only the
// published quantities (a humidity stream is no chart).
func airStreamsOf(ds []store.Datastream, site *store.Site) []airStream {
	var out []airStream
	for _, d := range ds {
		q, ok := air.QuantityByID(d.Quantity)
		if !ok {
			continue
		}
		pub := store.ResolutionOff
		if site != nil {
			pub = d.Resolution
		}
		out = append(out, airStream{Datastream: d, Q: q, Published: pub})
	}
	// Quantities in air.Quantities' order, then by sensor.
	order := func(id string) int {
		return slices.IndexFunc(air.Quantities, func(q air.Quantity) bool { return q.ID == id })
	}
	slices.SortStableFunc(out, func(a, b airStream) int {
		if d := order(a.Quantity) - order(b.Quantity); d != 0 {
			return d
		}
		return strings.Compare(a.Sensor, b.Sensor)
	})
	return out
}

// latest fills s.Latest: the newest value the view may show, if recent.
func (c *Console) latest(ctx context.Context, view airView, s *airStream, now time.Time) error {
	res := resolutionFor(view, *s, airDay)
	var from, to time.Time
	if res == store.ResolutionHour {
		_, to, _ = airRange(now, airDay, res)
		from = to.Add(-airHourCurrent)
	} else {
		from, to = now.Add(-airMinuteCurrent), now.Add(time.Minute)
		if s.Last.Before(from) {
			return nil // the stream knows its newest minute: no query
		}
	}
	obs, err := c.st.ObservationWindow(ctx, s.ID, from, to, res)
	if err != nil {
		return fmt.Errorf("latest of datastream %d: %w", s.ID, err)
	}
	if len(obs) > 0 {
		s.Latest = &obs[len(obs)-1]
	}
	return nil
}

// publishedTerminals is every terminal the public pages show: a site and
// at least one published datastream, with each stream's latest value.
// Revoked terminals stay (their history is published).
func (c *Console) publishedTerminals(ctx context.Context, now time.Time) ([]airTerminal, error) {
	sites, err := c.st.Sites(ctx)
	if err != nil {
		return nil, fmt.Errorf("air: sites: %w", err)
	}
	ds, err := c.st.Datastreams(ctx, store.DatastreamFilter{Published: true})
	if err != nil {
		return nil, fmt.Errorf("air: datastreams: %w", err)
	}
	ts, err := c.st.Terminals(ctx)
	if err != nil {
		return nil, fmt.Errorf("air: terminals: %w", err)
	}
	byID := map[string]store.Terminal{}
	for _, t := range ts {
		byID[t.ID] = t
	}
	var out []airTerminal
	for _, site := range sites {
		t, ok := byID[site.TerminalID]
		if !ok {
			continue
		}
		var mine []store.Datastream
		for _, d := range ds {
			if d.TerminalID == site.TerminalID {
				mine = append(mine, d)
			}
		}
		streams := airStreamsOf(mine, &site)
		if len(streams) == 0 {
			continue
		}
		for i := range streams {
			if err := c.latest(ctx, airPublic, &streams[i], now); err != nil {
				return nil, err
			}
		}
		out = append(out, airTerminal{Num: streams[0].TerminalNum, Name: t.Name, Quarter: t.Quarter, Place: site.Place, Indoor: site.Indoor,
			Lat: site.Latitude, Lon: site.Longitude, Streams: streams})
	}
	slices.SortFunc(out, func(a, b airTerminal) int {
		if d := strings.Compare(a.Quarter, b.Quarter); d != 0 {
			return d
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out, nil
}

// airPoints turns observations into chart points (an hour's mean is
// shown at the hour's start).
func airPoints(obs []store.Observation) []charts.Point {
	out := make([]charts.Point, len(obs))
	for i, o := range obs {
		out[i] = charts.Point{At: o.Minute, Value: o.Mean, Flagged: o.Flags != 0}
	}
	return out
}

// airCache keeps rendered charts and loaded overviews briefly: the public
// page is open to anyone, and a reload must not cost a render.
type airCache struct {
	mu  sync.Mutex
	ttl time.Duration
	max int
	m   map[string]airCached
}

type airCached struct {
	v     any
	until time.Time
}

func newAirCache(ttl time.Duration, max int) *airCache {
	return &airCache{ttl: ttl, max: max, m: map[string]airCached{}}
}

func (a *airCache) get(key string, now time.Time) (any, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	e, ok := a.m[key]
	if !ok || !now.Before(e.until) {
		return nil, false
	}
	return e.v, true
}

func (a *airCache) put(key string, v any, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.m) >= a.max {
		for k, e := range a.m {
			if !now.Before(e.until) {
				delete(a.m, k)
			}
		}
		for k := range a.m { // still full: any one goes
			if len(a.m) < a.max {
				break
			}
			delete(a.m, k)
		}
	}
	a.m[key] = airCached{v: v, until: now.Add(a.ttl)}
}

// airState is the air pages' share of the console: the public limit per
// client network and the caches.
type airState struct {
	limit *netlimit.Limiter
	cache *airCache
}

func newAirState(o Opts) *airState {
	return &airState{
		// A terminal's page is one page and up to a dozen charts; a
		// burst of 60 covers a few pages, then five a second.
		limit: netlimit.New(netlimit.Limits{Every: 200 * time.Millisecond, Burst: 60, Clients: 10000}),
		cache: newAirCache(time.Minute, 512),
	}
}

// formatValue writes v as the page's language does, with the
// quantity's precision (µg/m³ to a tenth, ppm whole).
func formatValue(lang string, q air.Quantity, v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	prec := 1
	if q.ID == "co2" {
		prec = 0
	}
	s := strconv.FormatFloat(v, 'f', prec, 64)
	if lang == "de" {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s
}

// decimalSep is the decimal separator of lang.
func decimalSep(lang string) string {
	if lang == "de" {
		return ","
	}
	return "."
}

var monthsShortEN = [...]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// airDayName names a day on a chart's axis and in its table: "7.12." in
// German, "7 Dec" in English.
func airDayName(lang string) func(time.Time) string {
	return func(t time.Time) string {
		t = t.In(charts.Berlin)
		if lang == "de" {
			return t.Format("2.1.")
		}
		return fmt.Sprintf("%d %s", t.Day(), monthsShortEN[t.Month()-1])
	}
}

// airTime is a time in Berlin as the air pages write it.
func airTime(lang string, t time.Time) string {
	return airDayName(lang)(t) + " " + t.In(charts.Berlin).Format("15:04")
}
