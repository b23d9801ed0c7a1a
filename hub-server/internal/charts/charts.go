// Package charts draws the hub's charts on the server as SVG
// (gonum.org/v1/plot with its vgsvg backend), so the console and the
// public air page show pictures without a script and under a strict
// content security policy: a page references a chart as an <img>, and
// the chart's response carries its own policy.
//
// Two kinds: Air, one quantity of one terminal over a window, drawn over
// the level bands the terminal's air screen uses (internal/air), each band
// named on the right so no level is told by colour alone; and Lines,
// several series over time (the fleet's health). Both break their line
// where points are missing (a gap is a gap, never a straight line across
// it), label the time axis in local time (Europe/Berlin unless told) and
// carry a title. Flagged points are marked with a cross, not a colour
// only.
//
// Every chart needs a text alternative beside it: Summarize gives the
// figures for one (latest, lowest and highest point of the window); the
// page writes the words.
//
// No I/O and no state: a chart is a value, SVG renders it; callers cache.
package charts

import (
	"bytes"
	"errors"
	"fmt"
	"image/color"
	"math"
	"sort"
	"strings"
	"time"
	_ "time/tzdata" // Europe/Berlin on a machine without a zoneinfo database

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Point is one value at one time. At is the start of the interval the
// value stands for (a minute, an hour, a sample).
type Point struct {
	At    time.Time
	Value float64
	// Flagged marks a value whose quality is in doubt (air.Flags): drawn
	// with a cross on the line.
	Flagged bool
}

// Size is a chart's size in points (1/72 inch; a browser draws a point as
// 4/3 CSS pixels before the page scales the image).
type Size struct{ Width, Height float64 }

// Sizes the pages use: Wide for a desktop column, Narrow for a phone
// (text stays readable when the image is scaled to 360 px).
var (
	Wide   = Size{Width: 720, Height: 300}
	Narrow = Size{Width: 340, Height: 280}
)

// MaxPoints bounds the points of one chart (a 30-day window of minutes is
// 43,200): more is a caller's mistake, refused rather than drawn slowly.
const MaxPoints = 50_000

// ErrInvalid is wrapped by every error about a chart's description.
var ErrInvalid = errors.New("charts: invalid chart")

// Berlin is the default time zone of the axes.
var Berlin = mustZone("Europe/Berlin")

func mustZone(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err) // time/tzdata is linked in: cannot happen
	}
	return l
}

// Axis says how the time axis is labelled.
type Axis struct {
	// Location of the labels. Default Berlin.
	Location *time.Location
	// Day names a day on a tick of a window longer than two days and at
	// midnight on shorter ones. Default "2.1." (day.month.).
	Day func(time.Time) string
}

func (a Axis) location() *time.Location {
	if a.Location == nil {
		return Berlin
	}
	return a.Location
}

func (a Axis) day(t time.Time) string {
	if a.Day == nil {
		return t.Format("2.1.")
	}
	return a.Day(t)
}

// Colours of the drawing. The bands are pale so the line (dark blue, as
// on the terminal) keeps a contrast above 7:1 over every band.
var (
	ink       = color.RGBA{0x1a, 0x1a, 0x1a, 0xff}
	grey      = color.RGBA{0x6b, 0x6b, 0x6b, 0xff}
	lineBlue  = color.RGBA{0x1f, 0x3a, 0x93, 0xff}
	flagInk   = color.RGBA{0x8e, 0x1b, 0x1b, 0xff}
	seriesInk = []color.Color{lineBlue, color.RGBA{0xa0, 0x3a, 0x12, 0xff}, color.RGBA{0x1e, 0x6b, 0x3a, 0xff}, color.RGBA{0x5b, 0x2c, 0x83, 0xff}}
	// Dashes tell the series apart without colour.
	seriesDash = [][]vg.Length{nil, {vg.Points(6), vg.Points(3)}, {vg.Points(1.5), vg.Points(2.5)}, {vg.Points(8), vg.Points(3), vg.Points(1.5), vg.Points(3)}}
)

// BandColors are the five levels' background tints, level 1 (very good)
// first: blue-green, green, yellow, orange, red, as air quality indices
// colour them. Pages may reuse them (e.g. a level's badge).
var BandColors = [5]color.RGBA{
	{0xcf, 0xec, 0xec, 0xff},
	{0xdb, 0xf0, 0xc9, 0xff},
	{0xfb, 0xef, 0xb9, 0xff},
	{0xfb, 0xd5, 0xb5, 0xff},
	{0xf6, 0xc0, 0xc8, 0xff},
}

// Hex is c as CSS writes it.
func Hex(c color.RGBA) string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }

func sans(size float64) font.Font {
	return font.From(font.Font{Typeface: "Liberation", Variant: "Sans"}, vg.Points(size))
}

func textStyle(size float64, c color.Color) text.Style {
	return text.Style{Color: c, Font: sans(size), Handler: plot.DefaultTextHandler}
}

// newPlot is a plot with the pages' fonts, no padding between axes and
// data (the bands fill the data area) and the time axis from..to.
func newPlot(title string, from, to time.Time, axis Axis, width float64) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font = sans(12)
	p.Title.TextStyle.Color = ink
	p.Title.Padding = vg.Points(6)
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = sans(10)
		a.Label.TextStyle.Color = ink
		a.Tick.Label.Font = sans(10)
		a.Tick.Label.Color = ink
		a.Tick.Length = vg.Points(4)
		a.Padding = 0
		a.LineStyle.Color = grey
		a.Tick.LineStyle.Color = grey
	}
	p.X.Min, p.X.Max = unix(from), unix(to)
	p.X.Tick.Marker = timeTicks{loc: axis.location(), day: axis.day, labels: max(2, int(width/75))}
	return p
}

func unix(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

// checkWindow checks what every chart shares.
func checkWindow(from, to time.Time, step time.Duration, s *Size) error {
	if !to.After(from) {
		return fmt.Errorf("%w: window %s..%s is empty", ErrInvalid, from, to)
	}
	if step < 0 {
		return fmt.Errorf("%w: negative step", ErrInvalid)
	}
	if s.Width == 0 && s.Height == 0 {
		*s = Wide
	}
	if s.Width < 200 || s.Height < 150 || s.Width > 4000 || s.Height > 4000 {
		return fmt.Errorf("%w: size %gx%g pt outside 200x150..4000x4000", ErrInvalid, s.Width, s.Height)
	}
	return nil
}

// segments splits pts (oldest first) into runs without a gap: a point
// more than 1.5 steps after the one before starts a new run. NaN and
// infinite values are gaps too. With step 0 nothing is a gap.
func segments(pts []Point, step time.Duration) [][]Point {
	var out [][]Point
	start := -1
	for i, p := range pts {
		if !finite(p.Value) {
			if start >= 0 {
				out = append(out, pts[start:i])
			}
			start = -1
			continue
		}
		if start >= 0 && step > 0 && p.At.Sub(pts[i-1].At) > step+step/2 {
			out = append(out, pts[start:i])
			start = -1
		}
		if start < 0 {
			start = i
		}
	}
	if start >= 0 {
		out = append(out, pts[start:])
	}
	return out
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// gappedLine draws runs of points as lines; a run of one point as a dot,
// so a lone minute between gaps is still seen.
type gappedLine struct {
	runs  [][]Point
	style draw.LineStyle
}

func (g gappedLine) Plot(c draw.Canvas, p *plot.Plot) {
	tx, ty := p.Transforms(&c)
	for _, run := range g.runs {
		if len(run) == 1 {
			pt := vg.Point{X: tx(unix(run[0].At)), Y: ty(run[0].Value)}
			if c.Contains(pt) {
				c.DrawGlyph(draw.GlyphStyle{Color: g.style.Color, Radius: g.style.Width, Shape: draw.CircleGlyph{}}, pt)
			}
			continue
		}
		line := make([]vg.Point, len(run))
		for i, q := range run {
			line[i] = vg.Point{X: tx(unix(q.At)), Y: ty(q.Value)}
		}
		c.StrokeLines(g.style, c.ClipLinesXY(line)...)
	}
}

// flagMarks draws a cross on every flagged point.
type flagMarks struct{ pts []Point }

var flagGlyph = draw.GlyphStyle{Color: flagInk, Radius: vg.Points(3.5), Shape: boldCross{}}

// boldCross is an × drawn thick enough to be seen on a 1.5 pt line.
type boldCross struct{}

func (boldCross) DrawGlyph(c *draw.Canvas, sty draw.GlyphStyle, pt vg.Point) {
	ls := draw.LineStyle{Color: sty.Color, Width: vg.Points(1.5)}
	r := sty.Radius
	c.StrokeLine2(ls, pt.X-r, pt.Y-r, pt.X+r, pt.Y+r)
	c.StrokeLine2(ls, pt.X-r, pt.Y+r, pt.X+r, pt.Y-r)
}

func (f flagMarks) Plot(c draw.Canvas, p *plot.Plot) {
	tx, ty := p.Transforms(&c)
	for _, q := range f.pts {
		if !q.Flagged || !finite(q.Value) {
			continue
		}
		pt := vg.Point{X: tx(unix(q.At)), Y: ty(q.Value)}
		if c.Contains(pt) {
			c.DrawGlyph(flagGlyph, pt)
		}
	}
}

// legendItem is one entry of the legend row under a chart: a sample of
// its line or glyph and its name.
type legendItem struct {
	name  string
	line  *draw.LineStyle
	glyph *draw.GlyphStyle
}

const legendSample = 18 // points

// legendRows lays items out in rows within width; it returns each row's
// items.
func legendRows(items []legendItem, width vg.Length, sty text.Style) [][]legendItem {
	var rows [][]legendItem
	var x vg.Length
	for _, it := range items {
		w := vg.Points(legendSample+4) + sty.Width(it.name) + vg.Points(12)
		if len(rows) == 0 || x+w > width && x > 0 {
			rows = append(rows, nil)
			x = 0
		}
		rows[len(rows)-1] = append(rows[len(rows)-1], it)
		x += w
	}
	return rows
}

func legendLineHeight(sty text.Style) vg.Length { return sty.Height("Mg") + vg.Points(4) }

// drawLegend draws rows from the top of c down.
func drawLegend(c draw.Canvas, rows [][]legendItem, sty text.Style) {
	lh := legendLineHeight(sty)
	y := c.Max.Y - lh/2
	for _, row := range rows {
		x := c.Min.X
		for _, it := range row {
			mid := vg.Point{X: x + vg.Points(legendSample/2), Y: y}
			if it.line != nil {
				c.StrokeLine2(*it.line, x, y, x+vg.Points(legendSample), y)
			}
			if it.glyph != nil {
				c.DrawGlyphNoClip(*it.glyph, mid)
			}
			s := sty
			s.YAlign = draw.YCenter
			c.FillText(s, vg.Point{X: x + vg.Points(legendSample+4), Y: y}, it.name)
			x += vg.Points(legendSample+4) + sty.Width(it.name) + vg.Points(12)
		}
		y -= lh
	}
}

// render draws a chart: draw gets the canvas and paints it.
func render(s Size, paint func(draw.Canvas)) ([]byte, error) {
	c := vgsvg.New(vg.Points(s.Width), vg.Points(s.Height))
	dc := draw.New(c)
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())
	// A little margin all round, so labels at the edges are not cut.
	paint(draw.Crop(dc, vg.Points(4), -vg.Points(8), vg.Points(4), -vg.Points(4)))
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("charts: write svg: %w", err)
	}
	return fallbackFonts(buf.Bytes()), nil
}

// fallbackFonts names fonts a browser has after the one the text was
// measured with (Liberation Sans, which vgsvg names alone and does not
// embed): Arimo and Arial share its metrics, so labels fit where the
// reader lacks it.
func fallbackFonts(svg []byte) []byte {
	return bytes.ReplaceAll(svg, []byte("font-family:Liberation Sans;"), []byte("font-family:'Liberation Sans',Arimo,Arial,Helvetica,sans-serif;"))
}

// timeTicks labels a time axis in local time: hours for windows up to
// two days (a day's date at midnight), days beyond, at most labels of
// them; minor ticks between.
type timeTicks struct {
	loc    *time.Location
	day    func(time.Time) string
	labels int
}

var (
	hourSteps = []int{1, 2, 3, 4, 6, 12, 24}
	daySteps  = []int{1, 2, 3, 5, 7, 14, 28}
)

func (tt timeTicks) Ticks(min, max float64) []plot.Tick {
	from := time.UnixMilli(int64(min * 1000)).In(tt.loc)
	to := time.UnixMilli(int64(max * 1000)).In(tt.loc)
	span := to.Sub(from)
	var out []plot.Tick
	if span <= 48*time.Hour {
		step := hourSteps[len(hourSteps)-1]
		for _, s := range hourSteps {
			if span.Hours()/float64(s) <= float64(tt.labels) {
				step = s
				break
			}
		}
		// Every whole local hour in the window; those on the step are
		// labelled. Walking absolute hours keeps DST days right.
		t := from.Truncate(time.Hour)
		if t.Before(from) {
			t = t.Add(time.Hour)
		}
		for ; !t.After(to); t = t.Add(time.Hour) {
			lt := t.In(tt.loc)
			if lt.Minute() != 0 {
				continue // a zone off the hour: ticks still on whole hours
			}
			tk := plot.Tick{Value: unix(t)}
			if lt.Hour()%step == 0 {
				tk.Label = lt.Format("15:04")
				if lt.Hour() == 0 {
					tk.Label = tt.day(lt)
				}
			} else if step > 6 && lt.Hour()%3 != 0 {
				continue // a minor tick every 3 h is enough on wide steps
			}
			out = append(out, tk)
		}
		return out
	}
	days := span.Hours() / 24
	step := daySteps[len(daySteps)-1]
	for _, s := range daySteps {
		if days/float64(s) <= float64(tt.labels) {
			step = s
			break
		}
	}
	d := time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, tt.loc)
	if d.Before(from) {
		d = d.AddDate(0, 0, 1)
	}
	for k := 0; !d.After(to); k++ {
		tk := plot.Tick{Value: unix(d)}
		// Labels on days counted from the epoch's, so a window that moves
		// by a day keeps its labels on the same dates.
		if (d.Unix()/86400+1)%int64(step) == 0 || step == 1 {
			tk.Label = tt.day(d)
		}
		out = append(out, tk)
		d = time.Date(d.Year(), d.Month(), d.Day()+1, 0, 0, 0, 0, tt.loc)
	}
	return out
}

// valueTicks are the value axis's ticks: plot's defaults without
// trailing zeros (a count reads "25", not "25.00"), written with sep as
// the decimal separator.
type valueTicks struct{ sep string }

func (v valueTicks) Ticks(min, max float64) []plot.Tick {
	ts := plot.DefaultTicks{}.Ticks(min, max)
	for i := range ts {
		l := ts[i].Label
		if strings.Contains(l, ".") && !strings.ContainsAny(l, "eE") {
			l = strings.TrimRight(strings.TrimRight(l, "0"), ".")
		}
		if v.sep != "" && v.sep != "." {
			l = strings.ReplaceAll(l, ".", v.sep)
		}
		ts[i].Label = l
	}
	return ts
}

// niceTop rounds v up to a number the value axis can end on.
func niceTop(v float64) float64 {
	if v <= 0 || !finite(v) {
		return 1
	}
	mag := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10} {
		if m*mag >= v {
			return m * mag
		}
	}
	return 10 * mag
}

// sorted reports whether pts are oldest first.
func sorted(pts []Point) bool {
	return sort.SliceIsSorted(pts, func(i, j int) bool { return pts[i].At.Before(pts[j].At) })
}

// grid draws light lines at the value axis's labelled ticks.
type grid struct{}

func (grid) Plot(c draw.Canvas, p *plot.Plot) {
	_, ty := p.Transforms(&c)
	sty := draw.LineStyle{Color: color.RGBA{0xdd, 0xdd, 0xdd, 0xff}, Width: vg.Points(0.5)}
	for _, t := range p.Y.Tick.Marker.Ticks(p.Y.Min, p.Y.Max) {
		if t.IsMinor() {
			continue
		}
		y := ty(t.Value)
		c.StrokeLine2(sty, c.Min.X, y, c.Max.X, y)
	}
}
