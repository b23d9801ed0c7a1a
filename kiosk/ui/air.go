package ui

import (
	"context"
	"fmt"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"

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
	cols := container.NewGridWithColumns(len(session.Quantities))
	for _, q := range session.Quantities {
		box := container.NewVBox(subheading(u.tr("air." + q + ".name")))
		if r, ok := u.latest[q]; ok {
			lvl := session.LevelOf(q, r.Value)
			box.Add(u.airLine(q, r.Value))
			box.Add(wrapped(u.tr(fmt.Sprintf("air.advice.%s.%d", q, lvl))))
		} else {
			box.Add(wrapped(u.tr("air.none")))
		}
		box.Add(wrapped(u.tr("air." + q + ".about")))
		var pts []localapi.Minute
		for _, m := range minutes {
			if m.Quantity == q {
				pts = append(pts, m)
			}
		}
		box.Add(wrapped(u.tr("air.chart", "hours", 24)))
		box.Add(u.chart(q, pts))
		cols.Add(box)
	}
	return container.NewBorder(heading(u.tr("air.title")), nil, nil, nil, container.NewVScroll(cols))
}

// chart draws 24 hours of minute means with the level bands as labelled
// lines, so the meaning does not depend on colour.
func (u *UI) chart(q string, pts []localapi.Minute) fyne.CanvasObject {
	th, _ := session.ThresholdsOf(q)
	top := th[3] * 1.25
	for _, p := range pts {
		top = max(top, p.Mean*1.1)
	}
	end := u.opts.Now()
	start := end.Add(-24 * time.Hour)
	c := &chartLayout{start: start, end: end, top: top}
	var objs []fyne.CanvasObject
	bg := canvas.NewRectangle(theme.Color(theme.ColorNameInputBackground))
	bg.StrokeColor = theme.Color(theme.ColorNameForeground)
	bg.StrokeWidth = 1
	objs = append(objs, bg)
	c.bands = th[:]
	for i, v := range th {
		l := canvas.NewLine(theme.Color(theme.ColorNameDisabled))
		l.StrokeWidth = 1
		t := canvas.NewText(u.tr(fmt.Sprintf("air.level.%d", i+1)), theme.Color(theme.ColorNameForeground))
		t.TextSize = theme.Size(theme.SizeNameCaptionText)
		_ = v
		objs = append(objs, l, t)
	}
	for i := 1; i < len(pts); i++ {
		l := canvas.NewLine(theme.Color(theme.ColorNamePrimary))
		l.StrokeWidth = 3
		objs = append(objs, l)
	}
	c.pts = pts
	return container.New(c, objs...)
}

type chartLayout struct {
	start, end time.Time
	top        float64
	bands      []float64
	pts        []localapi.Minute
}

func (c *chartLayout) MinSize([]fyne.CanvasObject) fyne.Size { return fyne.NewSize(240, 260) }

func (c *chartLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	objs[0].Move(fyne.NewPos(0, 0))
	objs[0].Resize(size)
	y := func(v float64) float32 { return size.Height * float32(1-v/c.top) }
	x := func(t time.Time) float32 {
		return size.Width * float32(t.Sub(c.start).Seconds()/c.end.Sub(c.start).Seconds())
	}
	i := 1
	for _, b := range c.bands {
		l := objs[i].(*canvas.Line)
		l.Position1 = fyne.NewPos(0, y(b))
		l.Position2 = fyne.NewPos(size.Width, y(b))
		t := objs[i+1].(*canvas.Text)
		t.Move(fyne.NewPos(4, y(b)+2))
		i += 2
	}
	for k := 1; k < len(c.pts); k++ {
		l := objs[i].(*canvas.Line)
		l.Position1 = fyne.NewPos(x(c.pts[k-1].Minute), y(c.pts[k-1].Mean))
		l.Position2 = fyne.NewPos(x(c.pts[k].Minute), y(c.pts[k].Mean))
		i++
	}
}
