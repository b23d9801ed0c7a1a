package ui_test

import (
	"fmt"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"

	"github.com/quartierhub/quartierhub/kiosk/localapi"
	"github.com/quartierhub/quartierhub/kiosk/ui"
)

// The 24 h charts name their level bands in a legend beside the plot; the
// names never overlap each other or the plot, in normal and large text,
// also when a spike squeezes the bands into a thin strip at the bottom.
func TestAirChartNamesNeverOverlap(t *testing.T) {
	base := time.Date(2025, 3, 3, 9, 30, 0, 0, time.Local)
	histories := map[string]func(i int) float64{
		"calm":  func(i int) float64 { return float64(i % 40) },
		"spike": func(i int) float64 { return float64(i%40) + float64(i/200)*900 },
	}
	for name, wave := range histories {
		for _, lang := range []string{"de", "en"} {
			for _, mode := range []string{"normal", "large"} {
				t.Run(fmt.Sprintf("%s-%s-%s", name, lang, mode), func(t *testing.T) {
					be := newFake(t)
					for i := range 24 * 12 {
						at := base.Add(-24*time.Hour + time.Duration(i)*5*time.Minute)
						be.history.Minutes = append(be.history.Minutes,
							localapi.Minute{Quantity: "pm25", Minute: at, Mean: 4 + wave(i)},
							localapi.Minute{Quantity: "pm10", Minute: at, Mean: 8 + wave(i)},
							localapi.Minute{Quantity: "co2", Minute: at, Mean: 420 + 10*wave(i)})
					}
					h := newHarness(t, be)
					if lang == "de" {
						h.tapAttract()
					} else {
						h.chooseLanguage("en")
					}
					if mode == "large" {
						h.tap("display.large")
					}
					h.tap(tileTitle(lang, "air"))
					h.expectScreen(ui.ScreenAir)
					charts := 0
					for _, o := range h.objects() {
						c, ok := o.(*fyne.Container)
						if !ok || fmt.Sprintf("%T", c.Layout) != "*ui.chartLayout" {
							continue
						}
						charts++
						checkChartNames(t, h, c)
					}
					if charts != 3 {
						t.Fatalf("%d charts, want 3", charts)
					}
					if *screenshots != "" {
						writePNG(t, fmt.Sprintf("%s/air-chart-%s-%s-%s.png", *screenshots, name, lang, mode), h.w)
					}
				})
			}
		}
	}
}

func checkChartNames(t *testing.T, h *harness, c *fyne.Container) {
	t.Helper()
	plot := c.Objects[0].Size()
	want := map[string]bool{}
	for l := 1; l <= 5; l++ {
		want[h.cat.T(h.lang(), fmt.Sprintf("air.level.%d", l))] = true
	}
	type rect struct {
		name   string
		x0, y0 float32
		x1, y1 float32
	}
	var rs []rect
	for _, o := range c.Objects {
		txt, ok := o.(*canvas.Text)
		if !ok {
			continue
		}
		if !want[txt.Text] {
			t.Errorf("chart text %q is not a level name", txt.Text)
		}
		delete(want, txt.Text)
		p, s := txt.Position(), txt.Size()
		if s.Width < txt.MinSize().Width || s.Height < txt.MinSize().Height {
			t.Errorf("%q is %v, smaller than its text %v", txt.Text, s, txt.MinSize())
		}
		r := rect{txt.Text, p.X, p.Y, p.X + s.Width, p.Y + s.Height}
		if r.x0 < plot.Width || r.y0 < 0 || r.x1 > c.Size().Width || r.y1 > c.Size().Height {
			t.Errorf("%q at %v: over the %v plot or outside the %v chart", r.name, r, plot, c.Size())
		}
		rs = append(rs, r)
	}
	if len(want) > 0 {
		t.Errorf("level names missing from the chart: %v", want)
	}
	for i := range rs {
		for j := i + 1; j < len(rs); j++ {
			a, b := rs[i], rs[j]
			if a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1 {
				t.Errorf("%q %v and %q %v overlap", a.name, a, b.name, b)
			}
		}
	}
}

// Right after a start there is no history yet: the air screen says so in
// words instead of drawing empty plots; with history, the plot's time
// axis is named at both ends.
func TestAirChartEmptySaysSo(t *testing.T) {
	for _, withHistory := range []bool{false, true} {
		be := newFake(t)
		if withHistory {
			base := time.Date(2025, 3, 3, 9, 30, 0, 0, time.Local)
			for i := range 12 {
				be.history.Minutes = append(be.history.Minutes, localapi.Minute{Quantity: "co2", Minute: base.Add(-time.Duration(i) * time.Hour), Mean: 500})
			}
		}
		h := newHarness(t, be)
		h.tapAttract()
		h.tap(tileTitle("de", "air"))
		h.expectScreen(ui.ScreenAir)
		empty := h.cat.T("de", "air.chart_empty")
		now := h.cat.T("de", "air.chart_now")
		if !withHistory && !h.has(empty) {
			t.Errorf("no history: %q not shown", empty)
		}
		if withHistory && !h.has(now) {
			t.Errorf("with history: the time axis's end %q is not named", now)
		}
		if !withHistory && h.has(now) {
			t.Errorf("no history, yet a time axis is drawn")
		}
	}
}
