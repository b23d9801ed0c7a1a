package console

import (
	"encoding/xml"
	"fmt"
	"html"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/charts"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/teststores"
)

var airImgRe = regexp.MustCompile(`<img src="([^"]+)" alt="([^"]*)"`)

// chartSrcs are the page's chart addresses (unescaped) with their alt texts.
func chartSrcs(body string) map[string]string {
	out := map[string]string{}
	for _, m := range airImgRe.FindAllStringSubmatch(body, -1) {
		out[html.UnescapeString(m[1])] = html.UnescapeString(m[2])
	}
	return out
}

func wellFormed(t *testing.T, svg string) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(svg))
	for {
		if _, err := d.Token(); err == io.EOF {
			return
		} else if err != nil {
			t.Fatalf("chart is not well-formed XML: %v", err)
		}
	}
}

// TestAirPublicPages: a resident (no login, no cookie, no script) sees the
// published terminals by quarter with their values now, each terminal's
// charts with text alternatives, and nothing that is not published.
func TestAirPublicPages(t *testing.T) { teststores.EachKind(t, testAirPublicPages) }

func testAirPublicPages(t *testing.T, kind string) {
	h := newHubOn(t, kind, nil)
	w := newAirWorld(t, h)
	b := h.browser()

	p := b.get("/air?lang=en")
	if p.status != 200 {
		t.Fatalf("/air: %d\n%s", p.status, p.body)
	}
	if strings.Contains(p.body, "<script") || !strings.Contains(p.header.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Errorf("/air has a script or lacks the policy: %q", p.header.Get("Content-Security-Policy"))
	}
	// By quarter (Friedrichstadt before Johannstadt), the unpublished terminal absent.
	fst, jst := strings.Index(p.body, "<h2>Friedrichstadt</h2>"), strings.Index(p.body, "<h2>Johannstadt</h2>")
	if fst < 0 || jst < fst {
		t.Errorf("quarters missing or out of order: %d %d", fst, jst)
	}
	if strings.Contains(p.body, "prohlis-center-1") || strings.Contains(p.body, "Prohlis") {
		t.Errorf("the terminal without a site is shown")
	}
	if !strings.Contains(p.body, fmt.Sprintf(`href="/air/t/%d?lang=en"`, w.outNum)) {
		t.Errorf("no link to the outdoor terminal's page")
	}
	// Its PM2.5 now: the last uploaded minute's value with its level word.
	last := w.ds["out/pm25"]
	obs, err := h.st.ObservationWindow(t.Context(), last.ID, last.Last, last.Last.Add(time.Minute), store.ResolutionMinute)
	if err != nil || len(obs) != 1 {
		t.Fatalf("latest: %v %v", obs, err)
	}
	_, word := levelWord("en", "pm25", obs[0].Mean)
	if want := fmt.Sprintf("%.1f µg/m³, %s", obs[0].Mean, word); !strings.Contains(p.body, want) {
		t.Errorf("overview lacks %q", want)
	}
	// When it was measured, and whether the measurement is in doubt, in words.
	if want := "As of " + airTime("en", last.Last); !strings.Contains(p.body, want) {
		t.Errorf("overview lacks %q", want)
	}
	if want := fmt.Sprintf("%.1f µg/m³, %s (measurement uncertain)", obs[0].Mean, word); strings.Contains(p.body, want) != (obs[0].Flags != 0) {
		t.Errorf("overview with flags %v: %q shown = %v", obs[0].Flags, want, !(obs[0].Flags != 0))
	}
	// The place is the card's title; the terminal's name comes second.
	if want := fmt.Sprintf(`<h3><a href="/air/t/%d?lang=en">Bönischplatz, an der Bibliothek</a></h3>`, w.outNum); !strings.Contains(p.body, want) {
		t.Errorf("overview lacks the card title %s", want)
	}
	// The indoor terminal's PM10 is off: only its CO2 is listed.
	inCard := p.body[fst:jst]
	if strings.Contains(inCard, "PM10") || !strings.Contains(inCard, "Carbon dioxide") {
		t.Errorf("indoor card: %s", inCard)
	}

	// The outdoor terminal's page: per datastream a day and a month chart.
	p = b.get(fmt.Sprintf("/air/t/%d?lang=en", w.outNum))
	if p.status != 200 {
		t.Fatalf("terminal page: %d\n%s", p.status, p.body)
	}
	srcs := chartSrcs(p.body)
	if len(srcs) != 4 {
		t.Fatalf("%d charts, want 4 (PM2.5 and PM10, day and month): %v", len(srcs), srcs)
	}
	var daySrc string
	for src, alt := range srcs {
		if strings.Contains(src, fmt.Sprintf("ds=%d", last.ID)) && strings.Contains(src, "w=day") {
			daySrc = src
			if !strings.Contains(alt, "last 24 hours") || !strings.Contains(alt, "Latest value") || !strings.Contains(alt, word) {
				t.Errorf("alt text of the PM2.5 day chart: %q", alt)
			}
		}
	}
	if daySrc == "" {
		t.Fatalf("no PM2.5 day chart among %v", srcs)
	}
	// The link to the data (html/template writes the parentheses escaped).
	if !strings.Contains(p.body, fmt.Sprintf(`href="/sta/v1.1/Datastreams%%28%d%%29/Observations?`, last.ID)) || !strings.Contains(p.body, "<details>") {
		t.Errorf("no data link or table")
	}
	// The day table: an hour missing (its row absent), newest first.
	if rows := strings.Count(p.body, `<tr><th scope="row">`); rows < 2*24 {
		t.Errorf("%d table rows, want at least 48", rows)
	}

	c := b.get(daySrc)
	if c.status != 200 || c.header.Get("Content-Type") != "image/svg+xml" {
		t.Fatalf("chart: %d %q", c.status, c.header.Get("Content-Type"))
	}
	if csp := c.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script") {
		t.Errorf("chart policy %q", csp)
	}
	wellFormed(t, c.body)
	if !strings.Contains(c.body, "very good") || !strings.Contains(c.body, "Particulate matter PM2.5, last 24 hours") {
		t.Errorf("chart lacks its title or level words")
	}
	// The minute missing an hour ago breaks the line: two runs.
	if n := strings.Count(c.body, "stroke:#1F3A93;"); n != 2 {
		t.Errorf("PM2.5 day chart has %d line runs, want 2 (a gap of an hour)", n)
	}
	// In German with a comma.
	de := b.get(strings.Replace(daySrc, "lang=en", "lang=de", 1))
	if !strings.Contains(de.body, "sehr gut") || !strings.Contains(de.body, "letzte 24 Stunden") {
		t.Errorf("German chart lacks German words")
	}

	// The indoor terminal: CO2 hourly, finished hours only; PM10 not at all.
	p = b.get(fmt.Sprintf("/air/t/%d?lang=en", w.inNum))
	if p.status != 200 {
		t.Fatalf("indoor page: %d", p.status)
	}
	srcs = chartSrcs(p.body)
	if len(srcs) != 2 {
		t.Fatalf("indoor page has %d charts, want 2 (CO2 day and month): %v", len(srcs), srcs)
	}
	hourStart := w.now.Truncate(time.Hour)
	if want := fmt.Sprintf("(mean of %s–%s)", airTime("en", hourStart.Add(-time.Hour)), hourStart.In(charts.Berlin).Format("15:04")); !strings.Contains(p.body, want) {
		t.Errorf("indoor value now does not name its hour %q", want)
	}
	for src, alt := range srcs {
		if !strings.Contains(alt, "hourly means") {
			t.Errorf("indoor chart %s: %q is not hourly", src, alt)
		}
		// The latest value shown is the last finished hour's.
		if want := airTime("en", hourStart.Add(-time.Hour)); !strings.Contains(alt, want) {
			t.Errorf("indoor alt %q: latest should be the hour %s", alt, want)
		}
	}
	if strings.Contains(p.body, airTime("en", w.now.Truncate(time.Minute).Add(-time.Minute))) && w.now.Sub(hourStart) > 2*time.Minute {
		t.Errorf("indoor page shows a minute of CO2")
	}
	off := fmt.Sprintf("/air/t/%d/chart?ds=%d&w=day&s=w&lang=en", w.inNum, w.ds["in/pm10"].ID)
	if c := b.get(off); c.status != 404 {
		t.Errorf("unpublished PM10 chart: %d, want 404", c.status)
	}
	// Another terminal's datastream under this terminal's address: 404.
	if c := b.get(fmt.Sprintf("/air/t/%d/chart?ds=%d&w=day", w.inNum, last.ID)); c.status != 404 {
		t.Errorf("foreign datastream: %d, want 404", c.status)
	}
	for _, bad := range []string{"?ds=x&w=day", "?ds=1&w=year", "?w=day", "?ds=" + strings.Repeat("9", 40) + "&w=day"} {
		if c := b.get(fmt.Sprintf("/air/t/%d/chart%s", w.outNum, bad)); c.status != 400 {
			t.Errorf("chart%s: %d, want 400", bad, c.status)
		}
	}
	for _, path := range []string{fmt.Sprintf("/air/t/%d", w.hiddenNum), "/air/t/999999", "/air/t/x", "/air/t/-1"} {
		if p := b.get(path); p.status != 404 {
			t.Errorf("%s: %d, want 404", path, p.status)
		}
	}
	// The page never needed a cookie, and set none without ?lang=.
	if p := h.browser().get(fmt.Sprintf("/air/t/%d", w.outNum)); p.status != 200 || len(p.header.Values("Set-Cookie")) != 0 {
		t.Errorf("plain request: %d, cookies %v", p.status, p.header.Values("Set-Cookie"))
	}
}

// TestAirLanguage: German by default (Dresden), English when the browser
// asks for it, ?lang= over both.
func TestAirLanguage(t *testing.T) {
	h := newHub(t, nil)
	newAirWorld(t, h)
	get := func(path, accept string) page {
		req, _ := http.NewRequest(http.MethodGet, h.srv.URL+path, nil)
		if accept != "" {
			req.Header.Set("Accept-Language", accept)
		}
		return h.browser().do(req)
	}
	if p := get("/air", ""); !strings.Contains(p.body, "Luft in den Quartieren") || !strings.Contains(p.body, `lang="de"`) {
		t.Errorf("default is not German")
	}
	if p := get("/air", "en-GB,en;q=0.8"); !strings.Contains(p.body, "Air in the quarters") {
		t.Errorf("Accept-Language en ignored")
	}
	if p := get("/air?lang=de", "en"); !strings.Contains(p.body, "Luft in den Quartieren") {
		t.Errorf("?lang=de ignored")
	}
}

// TestAirLimited: one network's requests beyond the burst get 429 with
// Retry-After; the charts count too.
func TestAirLimited(t *testing.T) {
	h := newHub(t, nil)
	b := h.browser()
	limited := 0
	for i := range 80 {
		path := "/air"
		if i%2 == 1 {
			path = "/air/t/1/chart?ds=1&w=day"
		}
		p := b.get(path)
		if p.status == http.StatusTooManyRequests {
			if p.header.Get("Retry-After") == "" {
				t.Fatalf("429 without Retry-After")
			}
			limited++
		}
	}
	if limited == 0 || limited > 30 {
		t.Errorf("%d of 80 quick requests limited, want some beyond the burst of 60", limited)
	}
}

// TestAirStaffCharts: viewers and up see every datastream of a terminal
// per minute on its console page, marked with what is published.
func TestAirStaffCharts(t *testing.T) {
	h := newHub(t, nil)
	w := newAirWorld(t, h)
	h.addUser("vera", store.RoleViewer)
	b := h.browser()
	if p := b.get("/console/terminals/fst-school-1/air?ds=1&w=day"); p.status != http.StatusSeeOther {
		t.Errorf("anonymous staff chart: %d, want a redirect to login", p.status)
	}
	b.mustLogin("vera")
	p := b.get("/console/terminals/fst-school-1")
	if p.status != 200 {
		t.Fatalf("terminal page: %d", p.status)
	}
	if !strings.Contains(p.body, `id="h-air"`) || !strings.Contains(p.body, "not published") || !strings.Contains(p.body, "published as hourly means") {
		t.Errorf("air block lacks its publication marks")
	}
	srcs := chartSrcs(p.body)
	if len(srcs) != 4 {
		t.Fatalf("%d staff charts, want 4 (CO2 and PM10, day and month)", len(srcs))
	}
	for src, alt := range srcs {
		if strings.Contains(src, "w=day") && strings.Contains(alt, "hourly") {
			t.Errorf("staff day chart %s is hourly: %q", src, alt)
		}
		c := b.get(src)
		if c.status != 200 || c.header.Get("Content-Type") != "image/svg+xml" || !strings.Contains(c.header.Get("Cache-Control"), "private") {
			t.Errorf("staff chart %s: %d %q %q", src, c.status, c.header.Get("Content-Type"), c.header.Get("Cache-Control"))
		}
		wellFormed(t, c.body)
	}
	// A datastream of another terminal is not this terminal's chart.
	if c := b.get(fmt.Sprintf("/console/terminals/fst-school-1/air?ds=%d&w=day", w.ds["out/pm25"].ID)); c.status != 404 {
		t.Errorf("foreign datastream: %d", c.status)
	}
}

func TestAirMapLayout(t *testing.T) {
	places := []mapPlace{{Lat: 51.0466, Lon: 13.7665, Label: "a", URL: "/air/t/1"}, {Lat: 51.0573, Lon: 13.7137, Label: "b", URL: "/air/t/2"}}
	m := AirMap{Tiles: "https://tile.example.org/{z}/{x}/{y}.png", Attribution: "© OpenStreetMap"}
	if err := m.Check(); err != nil {
		t.Fatal(err)
	}
	v, ok := m.layout(places)
	if !ok {
		t.Fatal("no map")
	}
	var x0, y0, w, hgt float64
	fmt.Sscanf(v.ViewBox, "%g %g %g %g", &x0, &y0, &w, &hgt)
	// Every marker inside the frame, away from its edge; every tile
	// overlapping it; the frame fully covered.
	for _, mk := range v.Markers {
		if mk.X < x0+20 || mk.X > x0+w-20 || mk.Y < y0+20 || mk.Y > y0+hgt-20 {
			t.Errorf("marker %+v outside frame %s", mk, v.ViewBox)
		}
	}
	covered := 0.0
	for _, tl := range v.Tiles {
		if tl.X+tl.W <= x0 || tl.X >= x0+w || tl.Y+tl.H <= y0 || tl.Y >= y0+hgt {
			t.Errorf("tile %+v outside the frame", tl)
		}
		ox := min(tl.X+tl.W, x0+w) - max(tl.X, x0)
		oy := min(tl.Y+tl.H, y0+hgt) - max(tl.Y, y0)
		covered += ox * oy
		if !strings.HasPrefix(tl.URL, "https://tile.example.org/") {
			t.Errorf("tile URL %q", tl.URL)
		}
	}
	if covered != w*hgt {
		t.Errorf("tiles cover %g of %g", covered, w*hgt)
	}
	// The two places 3.7 km apart: a city zoom, not the whole world.
	var z int
	fmt.Sscanf(v.Tiles[0].URL, "https://tile.example.org/%d/", &z)
	if z < 12 || z > 15 {
		t.Errorf("zoom %d for two places in Dresden", z)
	}
	// WMS: one GetMap in Web Mercator for the frame.
	m = AirMap{WMS: "https://geoportal.example.de/wms?map=stadtplan", WMSLayer: "stadtplan"}
	if err := m.Check(); err != nil {
		t.Fatal(err)
	}
	v, _ = m.layout(places)
	if len(v.Tiles) != 1 || !strings.Contains(v.Tiles[0].URL, "?map=stadtplan&") || !strings.Contains(v.Tiles[0].URL, "CRS=EPSG%3A3857") ||
		!strings.Contains(v.Tiles[0].URL, "LAYERS=stadtplan") || !strings.Contains(v.Tiles[0].URL, "BBOX=1") {
		t.Errorf("GetMap %+v", v.Tiles)
	}
	// One place: the closest zoom.
	v, _ = AirMap{Tiles: "https://t.example/{z}/{x}/{y}.png", MaxZoom: 16}.layout(places[:1])
	if !strings.HasPrefix(v.Tiles[0].URL, "https://t.example/16/") {
		t.Errorf("one place: %s", v.Tiles[0].URL)
	}
	for _, bad := range []AirMap{{Tiles: "https://x/{z}/{x}.png"}, {Tiles: "ftp://x/{z}/{x}/{y}"}, {WMS: "https://x/wms"},
		{Tiles: "https://x/{z}/{x}/{y}", WMS: "https://y/wms", WMSLayer: "a"}, {Tiles: "https://u:p@x/{z}/{x}/{y}"}, {Tiles: "https://x/{z}/{x}/{y}", MaxZoom: 30}} {
		if bad.Check() == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

// TestAirPageMap: with a map configured the overview draws the tiles and
// a link per terminal, and its policy lets images come from the tile
// host only; without one, no map and the console's policy.
func TestAirPageMap(t *testing.T) {
	h := newHub(t, func(o *Opts) {
		o.AirMap = AirMap{Tiles: "https://tile.example.org/{z}/{x}/{y}.png", Attribution: "© OpenStreetMap-Mitwirkende"}
	})
	w := newAirWorld(t, h)
	p := h.browser().get("/air")
	if !strings.Contains(p.body, `<image href="https://tile.example.org/`) || !strings.Contains(p.body, "© OpenStreetMap-Mitwirkende") {
		t.Errorf("no tiles or attribution")
	}
	if !strings.Contains(p.body, fmt.Sprintf(`<a href="/air/t/%d" aria-label="jst-library-1">`, w.outNum)) {
		t.Errorf("no marker link for the outdoor terminal")
	}
	if csp := p.header.Get("Content-Security-Policy"); !strings.Contains(csp, "img-src 'self' data: https://tile.example.org;") {
		t.Errorf("policy %q", csp)
	}
	h2 := newHub(t, nil)
	newAirWorld(t, h2)
	p = h2.browser().get("/air")
	if strings.Contains(p.body, "<image") || strings.Contains(p.header.Get("Content-Security-Policy"), "example") {
		t.Errorf("a map without configuration")
	}
}

func TestAirRows(t *testing.T) {
	s := airStream{Datastream: store.Datastream{Quantity: "pm25"}}
	s.Q.ID = "pm25"
	base := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC) // 10:00 in Berlin
	var pts []charts.Point
	for i := range 90 {
		pts = append(pts, charts.Point{At: base.Add(time.Duration(i) * time.Minute), Value: float64(i)})
	}
	rows := airRows("de", s, pts, func(t time.Time) time.Time { return t.In(charts.Berlin).Truncate(time.Hour) }, func(t time.Time) string { return airTime("de", t) })
	if len(rows) != 2 || rows[0].When != "7.12. 11:00" || rows[1].Mean != "29,5" || rows[1].Min != "0,0" || rows[1].Max != "59,0" || rows[0].Level != "sehr schlecht" {
		t.Errorf("rows %+v", rows)
	}
}
