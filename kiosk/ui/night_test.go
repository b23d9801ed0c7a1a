package ui_test

import (
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/kiosk/display"
	"github.com/quartierhub/quartierhub/kiosk/localapi"
	"github.com/quartierhub/quartierhub/kiosk/ui"
)

// backlight records what the window asks of the panel.
type backlight struct{ states []bool }

func (b *backlight) Set(on bool, done func(error)) {
	b.states = append(b.states, on)
	done(nil)
}

func (b *backlight) last() string {
	switch {
	case len(b.states) == 0:
		return "untouched"
	case b.states[len(b.states)-1]:
		return "on"
	}
	return "off"
}

// In the night hours the attract screen goes dark and the backlight off;
// a touch wakes it for a while, a card starts a session as by day (never
// blanked), and at the end of the night it stays on.
func TestNightBlanking(t *testing.T) {
	bl := &backlight{}
	h := newHarnessWith(t, newFake(t), fyne.NewSize(1280, 800), func(o *ui.Opts) { o.Backlight = bl })
	h.clk.t = time.Date(2026, 12, 7, 21, 59, 30, 0, time.Local)
	h.u.SetNight(display.NightOf(&api.DisplaySettings{NightFrom: "22:00", NightTo: "06:00"}))
	h.u.Tick()
	if h.u.Dark() || bl.last() != "untouched" {
		t.Fatalf("dark %v, backlight %s before the night", h.u.Dark(), bl.last())
	}
	h.clk.Add(30 * time.Second)
	h.u.Tick()
	if !h.u.Dark() || bl.last() != "off" {
		t.Fatalf("at 22:00: dark %v, backlight %s", h.u.Dark(), bl.last())
	}
	if h.has(h.cat.T("de", "attract.touch")) {
		t.Fatal("the attract screen shows through the dark screen")
	}
	// Sensor readings redraw the attract screen; it stays dark.
	h.u.HandleEvent(localapi.Event{Type: localapi.EventReading, Reading: &localapi.Reading{Sensor: "co2-1", Quantity: "co2", Unit: "ppm", Value: 700}})
	if !h.u.Dark() {
		t.Fatal("a reading woke the screen")
	}

	// A touch wakes it: the attract screen, not a tap on it.
	test.TapCanvas(h.w.Canvas(), fyne.NewPos(640, 400))
	if h.u.Dark() || bl.last() != "on" {
		t.Fatalf("after a touch: dark %v, backlight %s", h.u.Dark(), bl.last())
	}
	h.expectScreen(ui.ScreenAttract)
	h.clk.Add(display.DefaultWakeFor - time.Second)
	h.u.Tick()
	if h.u.Dark() {
		t.Fatal("dark again before the wake time is up")
	}
	h.clk.Add(time.Second)
	h.u.Tick()
	if !h.u.Dark() || bl.last() != "off" {
		t.Fatalf("after the wake time: dark %v, backlight %s", h.u.Dark(), bl.last())
	}

	// A card at night starts a session, lit; after it, dark again.
	h.u.HandleEvent(localapi.Event{Type: localapi.EventCard, Card: &localapi.CardEvent{Presented: true, Hash: "resident"}})
	h.expectScreen(ui.ScreenHome)
	if h.u.Dark() || bl.last() != "on" {
		t.Fatalf("a session at night: dark %v, backlight %s", h.u.Dark(), bl.last())
	}
	h.clk.Add(20 * time.Second)
	h.u.Tick() // well within the session's timeout: lit
	if h.u.Dark() || h.u.Screen() != ui.ScreenHome {
		t.Fatal("a session went dark")
	}
	h.u.HandleEvent(localapi.Event{Type: localapi.EventCard, Card: &localapi.CardEvent{Presented: false, Hash: "resident"}})
	h.u.Tick()
	if !h.u.Dark() {
		t.Fatalf("screen %s not dark after the session at night", h.u.Screen())
	}

	// Morning.
	h.clk.t = time.Date(2026, 12, 8, 6, 0, 0, 0, time.Local)
	h.u.Tick()
	if h.u.Dark() || bl.last() != "on" {
		t.Fatalf("at 06:00: dark %v, backlight %s", h.u.Dark(), bl.last())
	}
	// No night hours from the hub: never dark.
	h.u.SetNight(display.Night{})
	h.clk.t = time.Date(2026, 12, 8, 23, 0, 0, 0, time.Local)
	h.u.Tick()
	if h.u.Dark() {
		t.Fatal("dark without night hours")
	}
}
