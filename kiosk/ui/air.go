package ui

import (
	"context"
	"fmt"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/quartierhub/quartierhub/kiosk/a11y"
	"github.com/quartierhub/quartierhub/kiosk/localapi"
	"github.com/quartierhub/quartierhub/kiosk/session"
)

// showAir fetches the last 24 hours and shows the air screen.
func (u *UI) showAir() {
	var hist localapi.SensorHistory
	var err error
	u.opts.Async(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		hist, err = u.be.Sensors(ctx)
	}, func() {
		if u.sess.Current() == nil {
			return
		}
		if err != nil {
			u.log.Warn("sensor history", "err", err)
		}
		for _, r := range hist.Latest {
			if !r.WarmUp {
				u.latest[r.Quantity] = r
			}
		}
		u.show(ScreenAir, func() fyne.CanvasObject { return u.airScreen(hist.Minutes) })
	})
}

// airScreen: each quantity's value now, what it means, and its last 24 h.
func (u *UI) airScreen(minutes []localapi.Minute) fyne.CanvasObject {
	cols := newColumns(18*theme.TextSize(), len(session.Quantities))
	var now []string // the values now and what they mean, said first
	for _, q := range session.Quantities {
		box := container.NewVBox(u.subheading(u.tr("air." + q + ".name")))
		if r, ok := u.latest[q]; ok {
			lvl := session.LevelOf(q, r.Value)
			box.Add(u.airLine(q, r.Value))
			box.Add(u.wrapped(u.tr(fmt.Sprintf("air.advice.%s.%d", q, lvl))))
			now = append(now, u.airText(q, r.Value), u.tr(fmt.Sprintf("air.advice.%s.%d", q, lvl)))
		} else {
			box.Add(u.wrapped(u.tr("air.none")))
		}
		box.Add(u.wrapped(u.tr("air." + q + ".about")))
		var pts []localapi.Minute
		for _, m := range minutes {
			if m.Quantity == q {
				pts = append(pts, m)
			}
		}
		box.Add(u.wrapped(u.tr("air.chart", "hours", 24)))
		if len(pts) < 2 { // an empty plot says nothing to a resident
			box.Add(u.notice(theme.HistoryIcon(), u.tr("air.chart_empty")))
		} else {
			chart := u.chart(q, pts)
			// The chart, said: what it shows and where the line ends now.
			name, desc := u.tr("air."+q+".name")+": "+u.tr("air.chart", "hours", 24), ""
			if r, ok := u.latest[q]; ok {
				desc = u.airText(q, r.Value)
			}
			u.node(accNode{Node: a11y.Node{Role: a11y.RoleImage, Target: chart}, live: func() string { return name }, desc: func() string { return desc }})
			box.Add(chart)
			// Which side is now: the time axis's two ends, in words.
			from, now := widget.NewLabel(u.tr("air.chart_from", "hours", 24)), widget.NewLabel(u.tr("air.chart_now"))
			from.SizeName, now.SizeName = theme.SizeNameCaptionText, theme.SizeNameCaptionText
			box.Add(container.New(&chartAxis{chart: box.Objects[len(box.Objects)-1]}, from, now))
		}
		cols.Add(box)
	}
	u.announce(now...)
	return container.NewBorder(u.heading(u.tr("air.title")), nil, nil, nil, u.vscroll(cols))
}

// chart draws 24 hours of minute means over the level bands. The bands
// are separated by lines and named in a legend column to the right, each
// name beside its band (a short leader line to the band's middle), so
// the meaning does not depend on colour. Names never overlap: a band too
// thin for its name pushes it up or down the column (chartLayout).
func (u *UI) chart(q string, pts []localapi.Minute) fyne.CanvasObject {
	th, _ := session.ThresholdsOf(q)
	top := th[len(th)-1] * 1.25
	for _, p := range pts {
		top = max(top, p.Mean*1.1)
	}
	end := u.opts.Now()
	start := end.Add(-24 * time.Hour)
	c := &chartLayout{start: start, end: end, top: top, pts: pts, gap: theme.Padding()}
	// Bands bottom up: level 1 from 0 to th[0], … the last from th[3] to top.
	lo := 0.0
	for _, hi := range append(th[:], top) {
		c.bands = append(c.bands, [2]float64{lo, hi})
		lo = hi
	}
	fg := theme.Color(theme.ColorNameForeground)
	bg := canvas.NewRectangle(theme.Color(theme.ColorNameInputBackground))
	bg.StrokeColor = fg
	bg.StrokeWidth = 1
	objs := []fyne.CanvasObject{bg}
	for range th { // band boundaries
		l := canvas.NewLine(theme.Color(theme.ColorNameDisabled))
		l.StrokeWidth = 1
		objs = append(objs, l)
	}
	for i := range c.bands { // a name and its leader line per band
		t := canvas.NewText(u.tr(fmt.Sprintf("air.level.%d", i+1)), fg)
		t.TextSize = theme.Size(theme.SizeNameCaptionText)
		l := canvas.NewLine(fg)
		l.StrokeWidth = 1
		objs = append(objs, t, l)
	}
	for i := 1; i < len(pts); i++ {
		l := canvas.NewLine(theme.Color(theme.ColorNamePrimary))
		l.StrokeWidth = 3
		objs = append(objs, l)
	}
	return container.New(c, objs...)
}

// chartLayout lays out chart's objects: the plot's background, the band
// boundary lines, per band its name and leader line, then the data lines.
type chartLayout struct {
	start, end time.Time
	top        float64
	bands      [][2]float64 // value ranges, bottom band first
	pts        []localapi.Minute
	gap        float32 // between legend names, and plot to legend
}

const (
	chartMinPlot   = 240 // plot width
	chartMinHeight = 260
	chartLeader    = 12 // leader line length beside the plot
)

func (c *chartLayout) names(objs []fyne.CanvasObject) []fyne.CanvasObject {
	first := 1 + len(c.bands) - 1
	var out []fyne.CanvasObject
	for i := range c.bands {
		out = append(out, objs[first+2*i])
	}
	return out
}

// legendWidth is the legend column's width: the widest name and its leader.
func (c *chartLayout) legendWidth(objs []fyne.CanvasObject) float32 {
	var w float32
	for _, t := range c.names(objs) {
		w = max(w, t.MinSize().Width)
	}
	return chartLeader + c.gap + w
}

// MinSize: the plot, the legend, and tall enough for every name.
func (c *chartLayout) MinSize(objs []fyne.CanvasObject) fyne.Size {
	var h float32
	for _, t := range c.names(objs) {
		h += t.MinSize().Height + c.gap
	}
	return fyne.NewSize(chartMinPlot+c.legendWidth(objs), max(chartMinHeight, h))
}

func (c *chartLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	plotW := max(size.Width-c.legendWidth(objs), 1)
	objs[0].Move(fyne.NewPos(0, 0))
	objs[0].Resize(fyne.NewSize(plotW, size.Height))
	y := func(v float64) float32 { return size.Height * float32(1-v/c.top) }
	x := func(t time.Time) float32 {
		return plotW * float32(t.Sub(c.start).Seconds()/c.end.Sub(c.start).Seconds())
	}
	i := 1
	for _, b := range c.bands[:len(c.bands)-1] {
		l := objs[i].(*canvas.Line)
		l.Position1 = fyne.NewPos(0, y(b[1]))
		l.Position2 = fyne.NewPos(plotW, y(b[1]))
		i++
	}
	// Legend names, top band first: each wants to sit centred beside its
	// band; stacked with a gap where bands are thin, kept inside.
	n := len(c.bands)
	want, tops, heights := make([]float32, n), make([]float32, n), make([]float32, n)
	for k := range n {
		b := c.bands[n-1-k]
		want[k] = y((b[0] + b[1]) / 2)
		heights[k] = objs[i+2*(n-1-k)].MinSize().Height
		tops[k] = want[k] - heights[k]/2
	}
	tops = stack(tops, heights, c.gap, size.Height)
	for k := range n {
		t := objs[i+2*(n-1-k)]
		t.Resize(t.MinSize())
		t.Move(fyne.NewPos(plotW+chartLeader+c.gap, tops[k]))
		l := objs[i+2*(n-1-k)+1].(*canvas.Line)
		l.Position1 = fyne.NewPos(plotW, want[k])
		l.Position2 = fyne.NewPos(plotW+chartLeader, tops[k]+heights[k]/2)
	}
	i += 2 * n
	for k := 1; k < len(c.pts); k++ {
		l := objs[i].(*canvas.Line)
		l.Position1 = fyne.NewPos(x(c.pts[k-1].Minute), y(c.pts[k-1].Mean))
		l.Position2 = fyne.NewPos(x(c.pts[k].Minute), y(c.pts[k].Mean))
		i++
	}
}

// stack moves boxes (tops and heights, in order from the top) apart so
// that each starts at least gap below the one before and all lie in
// [0, height], moving each as little as it can. If they do not fit, the
// first starts at 0 and the rest follow (MinSize makes them fit).
func stack(tops, heights []float32, gap, height float32) []float32 {
	out := append([]float32(nil), tops...)
	for k := range out { // down: below the previous one
		out[k] = max(out[k], 0)
		if k > 0 {
			out[k] = max(out[k], out[k-1]+heights[k-1]+gap)
		}
	}
	for k := len(out) - 1; k >= 0; k-- { // up: above the next one, inside
		limit := height - heights[k]
		if k < len(out)-1 {
			limit = out[k+1] - gap - heights[k]
		}
		out[k] = max(min(out[k], limit), 0)
	}
	for k := 1; k < len(out); k++ { // too tall: keep the order anyway
		out[k] = max(out[k], out[k-1]+heights[k-1]+gap)
	}
	return out
}

// chartAxis puts the time axis's ends under the chart's plot: the first
// object at its left edge, the second at its right (the plot is the
// chart less its legend column).
type chartAxis struct{ chart fyne.CanvasObject }

func (a *chartAxis) MinSize(objs []fyne.CanvasObject) fyne.Size {
	l, r := objs[0].MinSize(), objs[1].MinSize()
	return fyne.NewSize(l.Width+r.Width, max(l.Height, r.Height))
}

func (a *chartAxis) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	plotW := size.Width
	if c, ok := a.chart.(*fyne.Container); ok {
		if cl, ok := c.Layout.(*chartLayout); ok {
			plotW = max(size.Width-cl.legendWidth(c.Objects), objs[0].MinSize().Width+objs[1].MinSize().Width)
		}
	}
	l, r := objs[0].MinSize(), objs[1].MinSize()
	objs[0].Move(fyne.NewPos(0, 0))
	objs[0].Resize(fyne.NewSize(l.Width, size.Height))
	objs[1].Move(fyne.NewPos(plotW-r.Width, 0))
	objs[1].Resize(fyne.NewSize(r.Width, size.Height))
}
