package charts

import (
	"time"

	"fmt"
	"gonum.org/v1/plot/text"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/quartierhub/quartierhub/internal/air"
)

// Air is one quantity of one terminal over a window, over its level
// bands.
type Air struct {
	// Title is drawn above the chart ("PM2.5, last 24 hours").
	Title string
	// Quantity is an air.Quantities ID; its bands (air.ThresholdsOf) are
	// shaded behind the line, each named on the right by Levels.
	Quantity string
	// Unit labels the value axis ("µg/m³").
	Unit string
	// Levels are the words of levels 1 (very good) to 5 (very bad) in the
	// page's language, as the terminal's air screen says them.
	Levels [5]string
	// Flagged names the cross on flagged points in the legend under the
	// chart (drawn only when a point is flagged).
	Flagged string
	// Empty is written across a chart without points ("no values yet").
	Empty string
	// From and To bound the time axis.
	From, To time.Time
	// Step is the points' spacing (a minute, an hour): a point further
	// than 1.5 steps from the one before starts a new line.
	Step time.Duration
	// Points, oldest first.
	Points []Point
	// Size of the picture; zero: Wide.
	Size Size
	// Axis labels the time axis.
	Axis Axis
	// Decimal is the value axis's decimal separator; default ".".
	Decimal string
}

const (
	bandLeader = 10 // points from the plot's edge to a band's name
	bandGap    = 3
)

// SVG renders the chart.
func (a Air) SVG() ([]byte, error) {
	if err := checkWindow(a.From, a.To, a.Step, &a.Size); err != nil {
		return nil, err
	}
	th, ok := air.ThresholdsOf(a.Quantity)
	if !ok {
		return nil, fmt.Errorf("%w: no bands for quantity %q", ErrInvalid, a.Quantity)
	}
	if len(a.Points) > MaxPoints {
		return nil, fmt.Errorf("%w: %d points, at most %d", ErrInvalid, len(a.Points), MaxPoints)
	}
	if !sorted(a.Points) {
		return nil, fmt.Errorf("%w: points not oldest first", ErrInvalid)
	}
	top := th[3] * 1.25
	for _, p := range a.Points {
		if finite(p.Value) && !p.At.Before(a.From) && p.At.Before(a.To) {
			top = max(top, p.Value*1.05)
		}
	}
	top = niceTop(top)

	p := newPlot(a.Title, a.From, a.To, a.Axis, a.Size.Width)
	p.Y.Min, p.Y.Max = 0, top
	p.Y.Label.Text = a.Unit
	p.Y.Tick.Marker = valueTicks{sep: a.Decimal}
	bounds := []float64{0, th[0], th[1], th[2], th[3], top}
	p.Add(bands{bounds: bounds})
	p.Add(gappedLine{runs: segments(a.Points, a.Step), style: draw.LineStyle{Color: lineBlue, Width: vg.Points(1.5)}})
	var flagged bool
	for _, q := range a.Points {
		flagged = flagged || q.Flagged
	}
	if flagged {
		p.Add(flagMarks{pts: a.Points})
	}

	label := textStyle(10, ink)
	var labelW vg.Length
	for _, l := range a.Levels {
		labelW = max(labelW, label.Width(l))
	}
	labelW += vg.Points(bandLeader + bandGap)
	var items []legendItem
	if flagged {
		g := flagGlyph
		items = append(items, legendItem{name: a.Flagged, glyph: &g})
	}

	return render(a.Size, func(c draw.Canvas) {
		legend := legendRows(items, c.Size().X, label)
		legendH := vg.Length(len(legend)) * legendLineHeight(label)
		if legendH > 0 {
			legendH += vg.Points(4)
		}
		area := draw.Crop(c, 0, -labelW, legendH, 0)
		p.Draw(area)
		da := p.DataCanvas(area)
		if len(a.Points) == 0 && a.Empty != "" {
			s := textStyle(11, ink)
			s.XAlign, s.YAlign = draw.XCenter, draw.YCenter
			da.FillText(s, da.Center(), a.Empty)
		}
		drawBandNames(da, p, bounds, a.Levels, label)
		if legendH > 0 {
			drawLegend(draw.Crop(c, da.Min.X-c.Min.X, 0, 0, -(c.Size().Y-legendH)), legend, label)
		}
	})
}

// bands shades the level bands between bounds (bottom up) and draws a
// dotted line on each boundary, so neighbouring bands part without
// colour.
type bands struct{ bounds []float64 }

func (b bands) Plot(c draw.Canvas, p *plot.Plot) {
	_, ty := p.Transforms(&c)
	for i := 0; i+1 < len(b.bounds) && i < len(BandColors); i++ {
		lo, hi := ty(b.bounds[i]), ty(b.bounds[i+1])
		c.FillPolygon(BandColors[i], c.ClipPolygonXY([]vg.Point{{X: c.Min.X, Y: lo}, {X: c.Max.X, Y: lo}, {X: c.Max.X, Y: hi}, {X: c.Min.X, Y: hi}}))
	}
	sty := draw.LineStyle{Color: grey, Width: vg.Points(0.5), Dashes: []vg.Length{vg.Points(2), vg.Points(2)}}
	for _, v := range b.bounds[1 : len(b.bounds)-1] {
		y := ty(v)
		c.StrokeLine2(sty, c.Min.X, y, c.Max.X, y)
	}
}

// drawBandNames writes each level's word right of the data area, beside
// its band's middle, with a short leader line; names of thin bands are
// pushed apart so none overlaps (stack).
func drawBandNames(da draw.Canvas, p *plot.Plot, bounds []float64, levels [5]string, sty text.Style) {
	_, ty := p.Transforms(&da)
	n := len(bounds) - 1
	h := sty.Height("Mg")
	// Downward distances from the data area's top, top band first.
	want, tops, heights := make([]vg.Length, n), make([]vg.Length, n), make([]vg.Length, n)
	for k := range n {
		lvl := n - 1 - k
		mid := ty((bounds[lvl] + bounds[lvl+1]) / 2)
		want[k] = da.Max.Y - mid
		heights[k] = h
		tops[k] = want[k] - h/2
	}
	tops = stack(tops, heights, vg.Points(1), da.Max.Y-da.Min.Y)
	s := sty
	s.YAlign = draw.YCenter
	lead := draw.LineStyle{Color: grey, Width: vg.Points(0.5)}
	x0 := da.Max.X
	for k := range n {
		lvl := n - 1 - k
		y := da.Max.Y - tops[k] - heights[k]/2
		da.StrokeLine2(lead, x0, da.Max.Y-want[k], x0+vg.Points(bandLeader), y)
		da.FillText(s, vg.Point{X: x0 + vg.Points(bandLeader+bandGap), Y: y}, levels[lvl])
	}
}

// stack moves boxes (tops and heights, downward from 0, in order) apart
// so that each starts at least gap below the one before and all lie in
// [0, height], moving each as little as it can (the terminal's air
// screen lays its band names out the same way).
func stack(tops, heights []vg.Length, gap, height vg.Length) []vg.Length {
	out := append([]vg.Length(nil), tops...)
	for k := range out {
		out[k] = max(out[k], 0)
		if k > 0 {
			out[k] = max(out[k], out[k-1]+heights[k-1]+gap)
		}
	}
	for k := len(out) - 1; k >= 0; k-- {
		limit := height - heights[k]
		if k < len(out)-1 {
			limit = out[k+1] - gap - heights[k]
		}
		out[k] = max(min(out[k], limit), 0)
	}
	for k := 1; k < len(out); k++ {
		out[k] = max(out[k], out[k-1]+heights[k-1]+gap)
	}
	return out
}
