package ui

import (
	"context"
	"image/color"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/quartierhub/quartierhub/kiosk/display"
)

// Night blanking: the attract and out-of-order
// screens go dark in the night hours (settings.display) and a touch
// wakes them for display.DefaultWakeFor. A resident's session, the PIN
// and the service menu are never blanked; a session ended at night goes
// dark at the next tick.
//
// The dark screen is black with one dim line that says a touch wakes it.
// Where the panel has a backlight (Opts.Backlight), it is switched off
// too; a monitor without one (HDMI, DisplayPort) stays lit and shows
// black (display.Panel says more).

// displayPoll is how often the window asks the agent for the display
// settings: a change from the console reaches the screen within it.
const displayPoll = 30 * time.Second

// nightInk is the dim hint on the dark screen: readable up close, and
// no light worth speaking of.
var nightInk = color.NRGBA{0x50, 0x50, 0x50, 0xff}

// followDisplay takes the night hours from Opts.DisplaySettings, at
// start and every displayPoll, until ctx ends.
func (u *UI) followDisplay(ctx context.Context) {
	if u.opts.DisplaySettings == nil {
		return
	}
	tick := time.NewTicker(displayPoll)
	defer tick.Stop()
	for {
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		d, err := u.opts.DisplaySettings(dctx)
		cancel()
		if err != nil {
			u.log.Warn("display settings", "err", err)
		} else {
			n := display.NightOf(d)
			fyne.Do(func() { u.SetNight(n) })
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// SetNight sets the night hours (on the Fyne goroutine).
func (u *UI) SetNight(n display.Night) {
	if n == u.night.Night() {
		return
	}
	u.night.SetNight(n)
	u.log.Info("night hours", "from", n.From.String(), "to", n.To.String())
	u.updateNight()
}

// Dark tells whether the window shows the dark night screen.
func (u *UI) Dark() bool { return u.dark }

// nightDue tells whether the screen should be dark now.
func (u *UI) nightDue() bool {
	return (u.name == ScreenAttract || u.name == ScreenOutOfOrder) && u.night.Dark(u.opts.Now())
}

// updateNight darkens or wakes the screen when that is due (every tick).
func (u *UI) updateNight() {
	if u.nightDue() != u.dark {
		u.render()
	}
}

// renderNight is render's first step: it switches the backlight when the
// screen goes dark or wakes, and shows the dark screen when it is due,
// which it reports.
func (u *UI) renderNight() bool {
	dark := u.nightDue()
	if dark != u.dark {
		u.dark = dark
		u.log.Info("night screen", "dark", dark)
		if u.opts.Backlight != nil {
			u.opts.Backlight.Set(!dark, func(err error) {
				if err != nil {
					u.log.Warn("backlight", "on", !dark, "err", err)
				}
			})
		}
	}
	if !dark {
		return false
	}
	u.clock, u.targets = nil, nil
	u.win.SetContent(u.shielded(newNightScreen(u.tr("night.wake"), func() {
		u.night.Wake(u.opts.Now())
		u.render()
	})))
	return true
}

// nightScreen is black and takes any tap as a wish to wake the screen.
type nightScreen struct {
	widget.BaseWidget
	hint string
	wake func()
}

func newNightScreen(hint string, wake func()) *nightScreen {
	n := &nightScreen{hint: hint, wake: wake}
	n.ExtendBaseWidget(n)
	return n
}

func (n *nightScreen) Tapped(*fyne.PointEvent) { n.wake() }

func (n *nightScreen) CreateRenderer() fyne.WidgetRenderer {
	bg := canvas.NewRectangle(color.Black)
	hint := canvas.NewText(n.hint, nightInk)
	hint.Alignment = fyne.TextAlignCenter
	return widget.NewSimpleRenderer(container.NewStack(bg, container.NewCenter(hint)))
}
