package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/netlimit"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// The public "air in the quarters" page (/air), a page per terminal
// (/air/t/{num}, num being the SensorThings Thing id) and their charts;
// and the staff's charts on a terminal's console page. Public means
// anyone: every request is limited per client network (Console.air),
// rendered charts and loaded windows are kept a minute, the pages need
// no script and no cookie, and only published datastreams are shown, at
// their resolution.

func init() {
	guarded = append(guarded, route{"GET /console/terminals/{name}/air", ViewFleet, (*Console).airStaffChart})
}

// airRoutes mounts the public air pages.
func (c *Console) airRoutes() {
	c.mux.HandleFunc("GET /air", c.airShow)
	c.mux.HandleFunc("GET /air/t/{num}", c.airTerminalShow)
	c.mux.HandleFunc("GET /air/t/{num}/chart", c.airPublicChart)
}

// airPolicy is the air pages' content security policy: the console's,
// with the map's host allowed for images.
func (c *Console) airPolicy(w http.ResponseWriter) {
	img := "'self' data:"
	if o := c.o.AirMap.origin(); c.o.AirMap.Enabled() && o != "" {
		img += " " + o
	}
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src "+img+"; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
}

// airAllowed charges r's network; false: it answered 429.
func (c *Console) airAllowed(w http.ResponseWriter, r *http.Request) bool {
	ok, wait := c.air.limit.Allow(c.clientNet(r), c.o.Now())
	if ok {
		return true
	}
	w.Header().Set("Retry-After", netlimit.RetryAfter(wait))
	c.fail(w, r, http.StatusTooManyRequests, msg("air.limited"))
	return false
}

// airOverview is the published terminals with their latest values,
// loaded once a minute at most.
func (c *Console) airOverview(ctx context.Context, now time.Time) ([]airTerminal, error) {
	if v, ok := c.air.cache.get("overview", now); ok {
		return v.([]airTerminal), nil
	}
	ts, err := c.publishedTerminals(ctx, now)
	if err != nil {
		return nil, err
	}
	c.air.cache.put("overview", ts, now)
	return ts, nil
}

type airQuarter struct {
	Name      string
	Terminals []airTerminalView
}

type airTerminalView struct {
	Num         int64
	Name, Place string
	URL         string
	Indoor      bool
	Values      []airStreamView // only Heading, Now and Level
	// AsOf says when the newest value was measured ("Stand: 7.12. 23:17").
	AsOf string
}

type airPageData struct {
	Lang     string
	Quarters []airQuarter
	Map      *mapView
	Empty    bool
}

func (c *Console) airLangQuery(r *http.Request, lang string) string {
	if r.URL.Query().Get("lang") != "" {
		return "?lang=" + lang
	}
	return ""
}

func (c *Console) airShow(w http.ResponseWriter, r *http.Request) {
	if !c.airAllowed(w, r) {
		return
	}
	now := c.o.Now()
	lang := c.lang(r, nil, true)
	ts, err := c.airOverview(r.Context(), now)
	if err != nil {
		c.serverError(w, r, "air", err)
		return
	}
	d := airPageData{Lang: lang, Empty: len(ts) == 0}
	var places []mapPlace
	for _, t := range ts {
		tv := airTerminalView{Num: t.Num, Name: t.Name, Place: t.Place, Indoor: t.Indoor, URL: fmt.Sprintf("/air/t/%d%s", t.Num, c.airLangQuery(r, lang))}
		worst := 0
		var asOf time.Time
		for _, s := range t.Streams {
			v := airStreamView{Heading: airQuantityNames[s.Quantity].In(lang), Now: msg("air.no_current").In(lang)}
			if s.Latest != nil {
				l, word := levelWord(lang, s.Quantity, s.Latest.Mean)
				value := msg("air.value", "value", formatValue(lang, s.Q, s.Latest.Mean), "unit", s.Q.Symbol, "level", word)
				if s.Latest.Flags != 0 { // warm-up, incomplete, suspect: said in words, not only on the chart
					value = msg("air.value_doubtful", "value", formatValue(lang, s.Q, s.Latest.Mean), "unit", s.Q.Symbol, "level", word)
				}
				v.Level, v.Now = l, value.In(lang)
				worst = max(worst, l)
				if s.Latest.Minute.After(asOf) {
					asOf = s.Latest.Minute
				}
			}
			tv.Values = append(tv.Values, v)
		}
		if !asOf.IsZero() {
			tv.AsOf = msg("air.as_of", "time", airTime(lang, asOf)).In(lang)
		}
		if n := len(d.Quarters); n == 0 || d.Quarters[n-1].Name != t.Quarter {
			d.Quarters = append(d.Quarters, airQuarter{Name: t.Quarter})
		}
		q := &d.Quarters[len(d.Quarters)-1]
		q.Terminals = append(q.Terminals, tv)
		places = append(places, mapPlace{Lat: t.Lat, Lon: t.Lon, Label: t.Name, URL: tv.URL, Level: worst})
	}
	if m, ok := c.o.AirMap.layout(places); ok {
		d.Map = &m
	}
	c.airPolicy(w)
	c.renderIn(w, r, http.StatusOK, lang, "air", msg("air.title"), "", d)
}

type airTerminalData struct {
	Lang    string
	T       airTerminalView
	Quarter string
	Streams []airStreamView
	Back    string
}

// airTerminalOf finds the published terminal of the {num} path value; it
// answers 404 itself.
func (c *Console) airTerminalOf(w http.ResponseWriter, r *http.Request, now time.Time) (airTerminal, bool) {
	raw := r.PathValue("num")
	num, err := strconv.ParseInt(raw, 10, 64)
	if err == nil && len(raw) <= 19 {
		ts, err := c.airOverview(r.Context(), now)
		if err != nil {
			c.serverError(w, r, "air", err)
			return airTerminal{}, false
		}
		for _, t := range ts {
			if t.Num == num {
				return t, true
			}
		}
	}
	c.fail(w, r, http.StatusNotFound, msg("air.no_such_terminal"))
	return airTerminal{}, false
}

func (c *Console) airTerminalShow(w http.ResponseWriter, r *http.Request) {
	if !c.airAllowed(w, r) {
		return
	}
	now := c.o.Now()
	lang := c.lang(r, nil, true)
	t, ok := c.airTerminalOf(w, r, now)
	if !ok {
		return
	}
	base := fmt.Sprintf("/air/t/%d/chart", t.Num)
	streams, err := c.airStreamViews(r.Context(), lang, airPublic, t.Streams, now, func(s airStream, win airWindow, size string) string {
		return airChartURL(base, lang, s, win, size)
	})
	if err != nil {
		c.serverError(w, r, "air terminal", err)
		return
	}
	d := airTerminalData{Lang: lang, T: airTerminalView{Num: t.Num, Name: t.Name, Place: t.Place, Indoor: t.Indoor}, Quarter: t.Quarter,
		Streams: streams, Back: "/air" + c.airLangQuery(r, lang)}
	c.airPolicy(w)
	c.renderIn(w, r, http.StatusOK, lang, "air_terminal", verbatim(t.Name), "", d)
}

// airPublicChart serves one chart of a published terminal's datastream.
func (c *Console) airPublicChart(w http.ResponseWriter, r *http.Request) {
	if !c.airAllowed(w, r) {
		return
	}
	now := c.o.Now()
	q, ok := parseAirChartQuery(r.URL.Query(), c.o.PublicLang)
	if !ok {
		c.fail(w, r, http.StatusBadRequest, msg("air.bad_chart"))
		return
	}
	t, ok := c.airTerminalOf(w, r, now)
	if !ok {
		return
	}
	for _, s := range t.Streams {
		if s.ID == q.ds {
			c.airServeChart(w, r, airPublic, s, q, now, "public, max-age=60")
			return
		}
	}
	c.fail(w, r, http.StatusNotFound, msg("air.no_such_chart"))
}

// airStaffChart serves one chart of any of the {name} terminal's
// datastreams to staff: per minute, published or not.
func (c *Console) airStaffChart(w http.ResponseWriter, r *http.Request) {
	now := c.o.Now()
	q, ok := parseAirChartQuery(r.URL.Query(), c.lang(r, principalFrom(r.Context()), false))
	if !ok {
		c.fail(w, r, http.StatusBadRequest, msg("air.bad_chart"))
		return
	}
	t, ok := c.terminalNamed(w, r)
	if !ok {
		return
	}
	streams, err := c.terminalStreams(r.Context(), t)
	if err != nil {
		c.serverError(w, r, "air chart", err)
		return
	}
	for _, s := range streams {
		if s.ID == q.ds {
			c.airServeChart(w, r, airStaff, s, q, now, "private, max-age=60")
			return
		}
	}
	c.fail(w, r, http.StatusNotFound, msg("air.no_such_chart"))
}

// airServeChart renders (or takes from the cache) and sends a chart, as
// an image with its own policy: nothing but its inline styles.
func (c *Console) airServeChart(w http.ResponseWriter, r *http.Request, view airView, s airStream, q airChartQuery, now time.Time, cache string) {
	pts, from, to, step, err := c.airWindowPoints(r.Context(), view, s, q.w, now)
	if err != nil {
		c.serverError(w, r, "air chart", err)
		return
	}
	key := fmt.Sprintf("svg|%d|%d|%s|%s|%s|%d", view, s.ID, q.w, q.sz, q.lang, to.Unix()/60)
	var svg []byte
	if v, ok := c.air.cache.get(key, now); ok {
		svg = v.([]byte)
	} else {
		svg, err = airChart(q.lang, s, q.w, step, from, to, pts, q.size).SVG()
		if err != nil {
			c.serverError(w, r, "air chart", err)
			return
		}
		c.air.cache.put(key, svg, now)
	}
	h := w.Header()
	h.Set("Content-Type", "image/svg+xml")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	h.Set("Cache-Control", cache)
	h.Set("Content-Language", q.lang)
	w.Write(svg)
}

// terminalStreams is every datastream of t with what is published of it.
func (c *Console) terminalStreams(ctx context.Context, t store.Terminal) ([]airStream, error) {
	ds, err := c.st.Datastreams(ctx, store.DatastreamFilter{TerminalID: t.ID})
	if err != nil {
		return nil, fmt.Errorf("air: datastreams of %s: %w", t.Name, err)
	}
	var site *store.Site
	if s, err := c.st.Site(ctx, t.ID); err == nil {
		site = &s
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("air: site of %s: %w", t.Name, err)
	}
	return airStreamsOf(ds, site), nil
}

// terminalAir is the air block of a terminal's console page.
type terminalAir struct {
	Streams []airStreamView
	// Public is the terminal's public page, when it has one.
	Public string
}

// terminalAirOf builds t's air block for the console page in lang.
func (c *Console) terminalAirOf(ctx context.Context, lang string, t store.Terminal, now time.Time) (terminalAir, error) {
	streams, err := c.terminalStreams(ctx, t)
	if err != nil {
		return terminalAir{}, err
	}
	var a terminalAir
	for i := range streams {
		if err := c.latest(ctx, airStaff, &streams[i], now); err != nil {
			return a, err
		}
		if streams[i].Published != store.ResolutionOff && a.Public == "" {
			a.Public = fmt.Sprintf("/air/t/%d", streams[i].TerminalNum)
		}
	}
	base := "/console/terminals/" + url.PathEscape(t.Name) + "/air"
	a.Streams, err = c.airStreamViews(ctx, lang, airStaff, streams, now, func(s airStream, w airWindow, size string) string {
		return airChartURL(base, lang, s, w, size)
	})
	return a, err
}
