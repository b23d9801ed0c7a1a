package ui_test

import (
	"testing"

	"fyne.io/fyne/v2/test"

	"github.com/quartierhub/quartierhub/kiosk/ui"
)

// Locate finds what the flow taps, inside the window, and tapping what it
// returns does what tapping the widget does.
func TestLocate(t *testing.T) {
	h := newHarness(t, newFake(t))
	steps := []struct{ label, screen string }{
		{ui.AttractArea, ui.ScreenHome},
		{"Problem melden", ui.ScreenCategory},
		{"Müll oder Sperrmüll", ui.ScreenDescribe},
		{"M", ui.ScreenDescribe},
		{"ü", ui.ScreenDescribe},
		{"keyboard.space", ui.ScreenDescribe},
		{"action.next", ui.ScreenPlace},
	}
	for _, s := range steps {
		obj, pos, err := h.u.Locate(s.label)
		if err != nil {
			t.Fatal(err)
		}
		if pos.X <= 0 || pos.Y <= 0 || pos.X >= 1920 || pos.Y >= 1080 {
			t.Fatalf("%s at %v", s.label, pos)
		}
		test.Tap(obj)
		h.expectScreen(s.screen)
	}
	if got := h.u.Session().Report.Text; got != "Mü " {
		t.Fatalf("typed %q", got)
	}
	if _, _, err := h.u.Locate("no such button"); err == nil {
		t.Fatal("located a button that is not there")
	}
	// The keyboard's top row and the language button are at different heights.
	_, de, _ := h.u.Locate("Deutsch")
	_, kb, _ := h.u.Locate("action.back")
	if de.Y >= kb.Y {
		t.Fatalf("top bar at %v below the back button at %v", de, kb)
	}
}
