package charts

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

var levelsDE = [5]string{"sehr gut", "gut", "mäßig", "schlecht", "sehr schlecht"}

// minutes makes n points a minute apart from start, value f(i), leaving
// out the minutes skip says.
func minutes(start time.Time, n int, f func(int) float64, skip func(int) bool) []Point {
	var out []Point
	for i := range n {
		if skip != nil && skip(i) {
			continue
		}
		out = append(out, Point{At: start.Add(time.Duration(i) * time.Minute), Value: f(i)})
	}
	return out
}

// element is one drawn SVG element: its name, attributes and text.
type element struct {
	name  string
	attrs map[string]string
	text  string
}

// parseSVG reads svg as XML (failing the test when it is not well formed)
// and returns its drawing elements.
func parseSVG(t *testing.T, svg []byte) []element {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(svg))
	var out []element
	var cur *element
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("svg is not well-formed XML: %v", err)
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			e := element{name: tk.Name.Local, attrs: map[string]string{}}
			for _, a := range tk.Attr {
				e.attrs[a.Name.Local] = a.Value
			}
			out = append(out, e)
			cur = &out[len(out)-1]
		case xml.CharData:
			if cur != nil {
				cur.text += string(tk)
			}
		case xml.EndElement:
			cur = nil
		}
	}
	if len(out) == 0 || out[0].name != "svg" {
		t.Fatalf("no svg root element")
	}
	return out
}

// strokes counts the paths stroked in colour (as vgsvg writes it, "#1F3A93").
func strokes(els []element, colour string) int {
	n := 0
	for _, e := range els {
		if e.name == "path" && strings.Contains(e.attrs["style"], "stroke:"+colour+";") {
			n++
		}
	}
	return n
}

func texts(els []element) map[string][]element {
	out := map[string][]element{}
	for _, e := range els {
		if e.name == "text" {
			out[e.text] = append(out[e.text], e)
		}
	}
	return out
}

var day = time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)

func TestAirBreaksTheLineAtGaps(t *testing.T) {
	// Minutes 0–9 and 20–29, one lone minute at 40: two lines and a dot.
	pts := minutes(day, 41, func(i int) float64 { return 5 + float64(i%3) }, func(i int) bool { return i >= 10 && i < 20 || i >= 30 && i < 40 })
	svg, err := Air{Title: "PM2.5", Quantity: "pm25", Unit: "µg/m³", Levels: levelsDE, From: day, To: day.Add(time.Hour), Step: time.Minute, Points: pts}.SVG()
	if err != nil {
		t.Fatal(err)
	}
	els := parseSVG(t, svg)
	if n := strokes(els, "#1F3A93"); n != 2 {
		t.Errorf("%d stroked lines, want 2 (one per run between gaps)", n)
	}
	dots := 0
	for _, e := range els {
		if e.name == "path" && strings.Contains(e.attrs["style"], "fill:#1F3A93") {
			dots++
		}
	}
	if dots != 1 {
		t.Errorf("%d dots, want 1 for the lone minute", dots)
	}
	// Without gaps, one line.
	svg, err = Air{Quantity: "pm25", Levels: levelsDE, From: day, To: day.Add(time.Hour), Step: time.Minute, Points: minutes(day, 60, func(int) float64 { return 7 }, nil)}.SVG()
	if err != nil {
		t.Fatal(err)
	}
	if n := strokes(parseSVG(t, svg), "#1F3A93"); n != 1 {
		t.Errorf("%d stroked lines without gaps, want 1", n)
	}
}

func TestSegments(t *testing.T) {
	at := func(m ...int) []Point {
		var out []Point
		for _, i := range m {
			out = append(out, Point{At: day.Add(time.Duration(i) * time.Minute), Value: float64(i)})
		}
		return out
	}
	pts := at(0, 1, 2, 4, 5, 9)
	pts = append(pts, Point{At: day.Add(10 * time.Minute), Value: math.NaN()}, Point{At: day.Add(11 * time.Minute), Value: 11})
	var got [][]float64
	for _, run := range segments(pts, time.Minute) {
		var vs []float64
		for _, p := range run {
			vs = append(vs, p.Value)
		}
		got = append(got, vs)
	}
	want := [][]float64{{0, 1, 2}, {4, 5}, {9}, {11}}
	if len(got) != len(want) {
		t.Fatalf("runs %v, want %v", got, want)
	}
	for i := range want {
		if len(got[i]) != len(want[i]) || got[i][0] != want[i][0] {
			t.Fatalf("runs %v, want %v", got, want)
		}
	}
	if n := len(segments(at(0, 5, 60), 0)); n != 1 {
		t.Errorf("step 0: %d runs, want 1", n)
	}
}

func TestFlaggedPointsAreCrossed(t *testing.T) {
	pts := minutes(day, 30, func(i int) float64 { return 30 }, nil)
	pts[3].Flagged, pts[17].Flagged = true, true
	svg, err := Air{Quantity: "pm10", Levels: levelsDE, Flagged: "fraglich", From: day, To: day.Add(30 * time.Minute), Step: time.Minute, Points: pts}.SVG()
	if err != nil {
		t.Fatal(err)
	}
	els := parseSVG(t, svg)
	// Two strokes per cross: two on the line, one in the legend.
	if n := strokes(els, "#8E1B1B"); n != 6 {
		t.Errorf("%d cross strokes, want 6 (2 points + legend)", n)
	}
	if len(texts(els)["fraglich"]) != 1 {
		t.Errorf("legend does not name the cross")
	}
	// Nothing flagged: no crosses, no legend.
	pts[3].Flagged, pts[17].Flagged = false, false
	svg, _ = Air{Quantity: "pm10", Levels: levelsDE, Flagged: "fraglich", From: day, To: day.Add(30 * time.Minute), Step: time.Minute, Points: pts}.SVG()
	els = parseSVG(t, svg)
	if n := strokes(els, "#8E1B1B"); n != 0 || len(texts(els)["fraglich"]) != 0 {
		t.Errorf("unflagged chart has %d cross strokes, legend %v", n, texts(els)["fraglich"])
	}
}

var textY = regexp.MustCompile(`^-?[0-9.]+$`)

// TestBandNamesApart: every level is named once, right of the plot, and
// names never overlap even where a value far above the bands squeezes
// them (PM2.5 at 900: the bands 0–50 take a sixteenth of the height).
func TestBandNamesApart(t *testing.T) {
	for _, top := range []float64{12, 900} {
		pts := minutes(day, 60, func(i int) float64 { return top * float64(i) / 59 }, nil)
		for _, sz := range []Size{Wide, Narrow} {
			svg, err := Air{Title: "PM2.5", Quantity: "pm25", Levels: levelsDE, From: day, To: day.Add(time.Hour), Step: time.Minute, Points: pts, Size: sz}.SVG()
			if err != nil {
				t.Fatal(err)
			}
			byText := texts(parseSVG(t, svg))
			var ys []float64
			for _, l := range levelsDE {
				es := byText[l]
				if len(es) != 1 {
					t.Fatalf("level %q drawn %d times", l, len(es))
				}
				x, _ := strconv.ParseFloat(es[0].attrs["x"], 64)
				if x < sz.Width*0.6 {
					t.Errorf("level %q at x %g: not in the right-hand column", l, x)
				}
				if !textY.MatchString(es[0].attrs["y"]) {
					t.Fatalf("y %q", es[0].attrs["y"])
				}
				y, _ := strconv.ParseFloat(es[0].attrs["y"], 64)
				ys = append(ys, y)
			}
			sort.Float64s(ys)
			for i := 1; i < len(ys); i++ {
				if ys[i]-ys[i-1] < 10 { // the names are 10 pt
					t.Errorf("top %g, size %v: band names %g apart: %v", top, sz, ys[i]-ys[i-1], ys)
				}
			}
		}
	}
}

func TestTimeAxisInLocalTime(t *testing.T) {
	tt := timeTicks{loc: Berlin, day: Axis{}.day, labels: 9}
	// A winter day: 24 h → a label every 3 h at Berlin's hours (UTC+1).
	from := time.Date(2026, 12, 6, 20, 30, 0, 0, time.UTC)
	labels := map[string]time.Time{}
	for _, tk := range tt.Ticks(unix(from), unix(from.Add(24*time.Hour))) {
		at := time.UnixMilli(int64(tk.Value * 1000)).In(Berlin)
		if at.Minute() != 0 || at.Second() != 0 {
			t.Errorf("tick at %v is not on a whole hour", at)
		}
		if !tk.IsMinor() {
			labels[tk.Label] = at
			if at.Hour()%3 != 0 {
				t.Errorf("label %q at %v: not on a 3-hour step", tk.Label, at)
			}
		}
	}
	if at, ok := labels["03:00"]; !ok || at.UTC().Hour() != 2 {
		t.Errorf("03:00 Berlin should be 02:00 UTC: labels %v", labels)
	}
	if _, ok := labels["7.12."]; !ok {
		t.Errorf("midnight is not named by its day: %v", labels)
	}
	// The day summer time starts (29 March 2026, 02:00 → 03:00): hours
	// still labelled by the local clock.
	from = time.Date(2026, 3, 28, 23, 0, 0, 0, time.UTC)
	for _, tk := range tt.Ticks(unix(from), unix(from.Add(24*time.Hour))) {
		at := time.UnixMilli(int64(tk.Value * 1000)).In(Berlin)
		if !tk.IsMinor() && tk.Label != at.Format("15:04") && (at.Hour() != 0 || tk.Label != at.Format("2.1.")) {
			t.Errorf("label %q at %v", tk.Label, at)
		}
	}
	// 30 days: dates, at most the asked number of labels, at local midnight.
	from = time.Date(2026, 11, 7, 21, 0, 0, 0, time.UTC)
	n := 0
	for _, tk := range tt.Ticks(unix(from), unix(from.AddDate(0, 0, 30))) {
		at := time.UnixMilli(int64(tk.Value * 1000)).In(Berlin)
		if at.Hour() != 0 || at.Minute() != 0 {
			t.Errorf("day tick at %v", at)
		}
		if !tk.IsMinor() {
			n++
			if tk.Label != at.Format("2.1.") {
				t.Errorf("label %q at %v", tk.Label, at)
			}
		}
	}
	if n < 3 || n > 9 {
		t.Errorf("%d day labels on 30 days, want 3..9", n)
	}
}

func TestDayNamesAndDecimals(t *testing.T) {
	from := time.Date(2026, 11, 7, 23, 0, 0, 0, time.UTC)
	pts := []Point{{At: from.Add(time.Hour), Value: 0.5}, {At: from.Add(2 * time.Hour), Value: 1.5}}
	svg, err := Air{Quantity: "pm25", Levels: levelsDE, From: from, To: from.AddDate(0, 0, 30), Step: time.Hour, Points: pts, Decimal: ",",
		Axis: Axis{Day: func(t time.Time) string { return "D" + t.Format("02") }}}.SVG()
	if err != nil {
		t.Fatal(err)
	}
	byText := texts(parseSVG(t, svg))
	if len(byText["D14"])+len(byText["D15"])+len(byText["D13"]) == 0 {
		t.Errorf("the Day function names no tick: %v", keys(byText))
	}
	for k := range byText {
		if regexp.MustCompile(`^[0-9]+\.[0-9]+$`).MatchString(k) {
			t.Errorf("value label %q has a point, want a comma", k)
		}
	}
}

func keys(m map[string][]element) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestLines(t *testing.T) {
	from := day
	every := 5 * time.Minute
	var online, alerts []Point
	for i := range 12 {
		at := from.Add(time.Duration(i) * every)
		online = append(online, Point{At: at, Value: float64(40 + i)})
		if i != 6 { // a missed sample: a gap in this series only
			alerts = append(alerts, Point{At: at, Value: float64(i % 3)})
		}
	}
	svg, err := Lines{Title: "Fleet", YLabel: "count", From: from, To: from.Add(time.Hour), Step: every,
		Series: []Series{{Name: "online", Points: online}, {Name: "open alerts", Points: alerts}}}.SVG()
	if err != nil {
		t.Fatal(err)
	}
	els := parseSVG(t, svg)
	// online: one line + its legend sample; alerts: two lines + legend.
	if n := strokes(els, "#1F3A93"); n != 2 {
		t.Errorf("online: %d strokes, want 2", n)
	}
	if n := strokes(els, "#A03A12"); n != 3 {
		t.Errorf("alerts: %d strokes, want 3", n)
	}
	// The second series is dashed, so it differs by more than colour.
	dashed := false
	for _, e := range els {
		if e.name == "path" && strings.Contains(e.attrs["style"], "stroke:#A03A12;") && strings.Contains(e.attrs["style"], "stroke-dasharray") {
			dashed = true
		}
	}
	if !dashed {
		t.Errorf("second series not dashed")
	}
	bt := texts(els)
	for _, want := range []string{"Fleet", "count", "online", "open alerts"} {
		if len(bt[want]) == 0 {
			t.Errorf("no text %q: %v", want, keys(bt))
		}
	}
	// No points at all: the Empty text instead.
	svg, err = Lines{From: from, To: from.Add(time.Hour), Empty: "no samples yet"}.SVG()
	if err != nil {
		t.Fatal(err)
	}
	if len(texts(parseSVG(t, svg))["no samples yet"]) != 1 {
		t.Errorf("empty chart does not say so")
	}
}

func TestInvalidCharts(t *testing.T) {
	ok := Air{Quantity: "pm25", From: day, To: day.Add(time.Hour)}
	if _, err := ok.SVG(); err != nil {
		t.Fatalf("a valid empty chart: %v", err)
	}
	bad := map[string]func(a *Air){
		"unknown quantity": func(a *Air) { a.Quantity = "humidity" },
		"empty window":     func(a *Air) { a.To = a.From },
		"negative step":    func(a *Air) { a.Step = -time.Minute },
		"tiny":             func(a *Air) { a.Size = Size{Width: 10, Height: 10} },
		"huge":             func(a *Air) { a.Size = Size{Width: 1e6, Height: 300} },
		"unsorted": func(a *Air) {
			a.Points = []Point{{At: day.Add(time.Minute), Value: 1}, {At: day, Value: 2}}
		},
		"too many": func(a *Air) { a.Points = make([]Point, MaxPoints+1) },
	}
	for name, mod := range bad {
		a := ok
		mod(&a)
		if _, err := a.SVG(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err %v, want ErrInvalid", name, err)
		}
	}
	if _, err := (Lines{From: day, To: day}).SVG(); !errors.Is(err, ErrInvalid) {
		t.Errorf("lines, empty window: %v", err)
	}
}

// TestFontsFallBack: the text names fonts a browser has (vgsvg writes
// only Liberation Sans, which a phone may lack).
func TestFontsFallBack(t *testing.T) {
	svg, err := Air{Title: "x", Quantity: "co2", Levels: levelsDE, From: day, To: day.Add(time.Hour)}.SVG()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range parseSVG(t, svg) {
		if e.name == "text" && !strings.Contains(e.attrs["style"], "sans-serif") {
			t.Fatalf("text %q without a fallback font: %s", e.text, e.attrs["style"])
		}
	}
}

func TestSummarize(t *testing.T) {
	if _, ok := Summarize(nil); ok {
		t.Fatal("nothing summarised")
	}
	pts := minutes(day, 5, func(i int) float64 { return []float64{4, 9, 1, 9, 3}[i] }, nil)
	pts = append(pts, Point{At: day.Add(10 * time.Minute), Value: math.NaN()})
	s, ok := Summarize(pts)
	if !ok || s.Count != 5 || s.Latest.Value != 3 || s.Min.Value != 1 || s.Max.Value != 9 || !s.Max.At.Equal(day.Add(time.Minute)) {
		t.Errorf("summary %+v", s)
	}
}

// BenchmarkAir24h renders the public page's biggest chart: 24 hours of
// minutes (1,440 points), a few flagged.
func BenchmarkAir24h(b *testing.B) {
	pts := minutes(day, 1440, func(i int) float64 { return 12 + 10*math.Sin(float64(i)/90) }, nil)
	for i := 0; i < len(pts); i += 97 {
		pts[i].Flagged = true
	}
	a := Air{Title: "PM2.5 – last 24 hours", Quantity: "pm25", Unit: "µg/m³", Levels: levelsDE, Flagged: "flagged",
		From: day, To: day.Add(24 * time.Hour), Step: time.Minute, Points: pts}
	b.ReportAllocs()
	var n int
	for b.Loop() {
		svg, err := a.SVG()
		if err != nil {
			b.Fatal(err)
		}
		n = len(svg)
	}
	b.ReportMetric(float64(n), "svg-bytes")
}

// A count axis reads "25", not "25.00"; a decimal keeps its digits.
func TestValueTicksWithoutTrailingZeros(t *testing.T) {
	for _, tc := range []struct {
		min, max float64
		sep      string
		want     []string
	}{
		{0, 100, ".", []string{"0", "50", "100"}},
		{0, 0.3, ",", []string{"0", "0,15", "0,3"}},
	} {
		var labels []string
		for _, tk := range (valueTicks{sep: tc.sep}).Ticks(tc.min, tc.max) {
			if tk.Label != "" {
				labels = append(labels, tk.Label)
				if strings.HasSuffix(tk.Label, "0") && strings.ContainsAny(tk.Label, ".,") {
					t.Errorf("label %q keeps a trailing zero", tk.Label)
				}
			}
		}
		for _, w := range tc.want {
			if !slices.Contains(labels, w) {
				t.Errorf("ticks %g..%g: labels %q lack %q", tc.min, tc.max, labels, w)
			}
		}
	}
}
