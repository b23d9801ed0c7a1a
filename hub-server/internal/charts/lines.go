package charts

import (
	"fmt"
	"time"

	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Lines is several series over one time axis (the fleet's health:
// terminals online, unsent records, open alerts). Each series has its own
// colour and dash pattern and is named in a legend under the chart.
type Lines struct {
	// Title is drawn above the chart.
	Title string
	// YLabel labels the value axis ("terminals").
	YLabel string
	// From and To bound the time axis.
	From, To time.Time
	// Step is the points' spacing (the sampling interval): a point further
	// than 1.5 steps from the one before starts a new line. 0: no gaps.
	Step time.Duration
	// Series are drawn in order (at most 4 look apart; more repeat).
	Series []Series
	// Flagged names the cross on flagged points in the legend.
	Flagged string
	// Empty is written across a chart without points.
	Empty string
	// Size of the picture; zero: Wide.
	Size Size
	// Axis labels the time axis.
	Axis Axis
	// Decimal is the value axis's decimal separator; default ".".
	Decimal string
}

// Series is one named line.
type Series struct {
	Name   string
	Points []Point // oldest first
}

// SVG renders the chart. The value axis starts at 0 (counts) unless a
// value is negative.
func (l Lines) SVG() ([]byte, error) {
	if err := checkWindow(l.From, l.To, l.Step, &l.Size); err != nil {
		return nil, err
	}
	total := 0
	lo, hi := 0.0, 0.0
	flagged := false
	for _, s := range l.Series {
		total += len(s.Points)
		if !sorted(s.Points) {
			return nil, fmt.Errorf("%w: series %q not oldest first", ErrInvalid, s.Name)
		}
		for _, q := range s.Points {
			if finite(q.Value) {
				lo, hi = min(lo, q.Value), max(hi, q.Value)
			}
			flagged = flagged || q.Flagged
		}
	}
	if total > MaxPoints {
		return nil, fmt.Errorf("%w: %d points, at most %d", ErrInvalid, total, MaxPoints)
	}
	p := newPlot(l.Title, l.From, l.To, l.Axis, l.Size.Width)
	p.Y.Min, p.Y.Max = lo, niceTop(hi*1.05)
	if lo < 0 {
		p.Y.Min = -niceTop(-lo * 1.05)
	}
	p.Y.Label.Text = l.YLabel
	p.Y.Tick.Marker = valueTicks{sep: l.Decimal}
	p.Add(grid{})
	label := textStyle(10, ink)
	var items []legendItem
	for i, s := range l.Series {
		sty := draw.LineStyle{Color: seriesInk[i%len(seriesInk)], Width: vg.Points(1.75), Dashes: seriesDash[i%len(seriesDash)]}
		p.Add(gappedLine{runs: segments(s.Points, l.Step), style: sty})
		items = append(items, legendItem{name: s.Name, line: &sty})
	}
	if flagged {
		for _, s := range l.Series {
			p.Add(flagMarks{pts: s.Points})
		}
		g := flagGlyph
		items = append(items, legendItem{name: l.Flagged, glyph: &g})
	}
	return render(l.Size, func(c draw.Canvas) {
		legend := legendRows(items, c.Size().X, label)
		legendH := vg.Length(len(legend)) * legendLineHeight(label)
		if legendH > 0 {
			legendH += vg.Points(4)
		}
		area := draw.Crop(c, 0, 0, legendH, 0)
		p.Draw(area)
		da := p.DataCanvas(area)
		if total == 0 && l.Empty != "" {
			s := textStyle(11, ink)
			s.XAlign, s.YAlign = draw.XCenter, draw.YCenter
			da.FillText(s, da.Center(), l.Empty)
		}
		if legendH > 0 {
			drawLegend(draw.Crop(c, da.Min.X-c.Min.X, 0, 0, -(c.Size().Y-legendH)), legend, label)
		}
	})
}
