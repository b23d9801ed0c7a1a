package display

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
)

// The generated weston.ini keeps the base, sets the transform in the
// base's output sections (replacing one there) and adds a section for
// each connector the base does not name.
func TestWestonINIRotation(t *testing.T) {
	base := "[core]\nshell=kiosk-shell.so\n\n[output]\nname=HDMI-A-1\nmode=1920x1080\ntransform=rotate-180\n\n[keyboard]\nvt-switching=false\n"
	out, err := WestonINI([]byte(base), Compositor{Rotation: 90}, []string{"HDMI-A-1", "eDP-1"})
	if err != nil {
		t.Fatal(err)
	}
	want := "[core]\nshell=kiosk-shell.so\n\n[output]\nname=HDMI-A-1\nmode=1920x1080\ntransform=rotate-90\n\n[keyboard]\nvt-switching=false\n\n[output]\nname=eDP-1\ntransform=rotate-90\n"
	if string(out) != want {
		t.Fatalf("got\n%s\nwant\n%s", out, want)
	}
	out, err = WestonINI([]byte(base), Compositor{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(string(out), "transform=") != 1 || !strings.Contains(string(out), "transform=normal\n") {
		t.Fatalf("rotation 0 leaves another transform:\n%s", out)
	}
	if _, err := WestonINI([]byte(base), Compositor{Rotation: 45}, nil); err == nil {
		t.Fatal("rotation 45 accepted")
	}
}

// DRM's connectors, as sysfs lists them, are the output names.
func TestConnectors(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"card0-HDMI-A-1", "card0-eDP-1", "card1-DP-2", "renderD128", "card0", "version"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(d, "card") && strings.Contains(d, "-") {
			if err := os.WriteFile(filepath.Join(dir, d, "status"), []byte("connected\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got := strings.Join(Connectors(dir), ","); got != "DP-2,HDMI-A-1,eDP-1" {
		t.Fatalf("connectors %s", got)
	}
}

// The agent writes the compositor's file only when the rotation changes
// (a write restarts the compositor); what it wrote reads back, and a bad
// file is an error, not a rotation.
func TestCompositorFile(t *testing.T) {
	dir := t.TempDir()
	if c, err := ReadCompositor(dir); err != nil || c != (Compositor{}) {
		t.Fatalf("no file: %+v, %v", c, err)
	}
	s := &api.TerminalSettings{Display: &api.DisplaySettings{Rotation: 270, NightFrom: "22:00", NightTo: "06:00"}}
	for i, want := range []bool{true, false} {
		changed, err := WriteCompositor(dir, CompositorOf(s))
		if err != nil || changed != want {
			t.Fatalf("write %d: changed %v, %v; want %v", i, changed, err, want)
		}
	}
	if c, err := ReadCompositor(dir); err != nil || c.Rotation != 270 {
		t.Fatalf("read back %+v, %v", c, err)
	}
	// Only the night hours change: the compositor's file stays.
	s.Display.NightFrom = "23:00"
	if changed, err := WriteCompositor(dir, CompositorOf(s)); err != nil || changed {
		t.Fatalf("night hours changed the compositor's file: %v, %v", changed, err)
	}
	if changed, err := WriteCompositor(dir, CompositorOf(nil)); err != nil || !changed {
		t.Fatalf("back to 0: changed %v, %v", changed, err)
	}
	for _, bad := range []string{`{"rotation":45}`, `{"rotation":90,"x":1}`, `[`, strings.Repeat(" ", 5000) + `{}`} {
		if err := os.WriteFile(filepath.Join(dir, CompositorFile), []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		if c, err := ReadCompositor(dir); err == nil {
			t.Errorf("%.20q read as %+v", bad, c)
		}
	}
}

func TestFromDocument(t *testing.T) {
	d, err := FromDocument([]byte(`{"content":{},"settings":{"display":{"rotation":180,"night_from":"21:00","night_to":"05:30"}}}`))
	if err != nil || d == nil || d.Rotation != 180 || d.NightTo != "05:30" {
		t.Fatalf("%+v, %v", d, err)
	}
	for _, doc := range []string{``, `{}`, `{"settings":{}}`, `{"settings":{"display":null}}`} {
		if d, err := FromDocument([]byte(doc)); err != nil || d != nil {
			t.Errorf("%s: %+v, %v", doc, d, err)
		}
	}
	if _, err := FromDocument([]byte(`{"settings":{"display":{"rotation":3}}}`)); err == nil {
		t.Error("rotation 3 accepted")
	}
}

func at(loc *time.Location, h, m int) time.Time { return time.Date(2026, 3, 28, h, m, 0, 0, loc) }

// Night hours across midnight and within a day, in local time; a touch
// keeps the screen on for WakeFor, then it is dark again.
func TestBlanker(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no time zone data")
	}
	var b Blanker
	if b.Dark(at(berlin, 3, 0)) {
		t.Fatal("dark without night hours")
	}
	b.SetNight(NightOf(&api.DisplaySettings{NightFrom: "22:30", NightTo: "06:00"}))
	for _, c := range []struct {
		h, m int
		dark bool
	}{{22, 29, false}, {22, 30, true}, {23, 59, true}, {0, 0, true}, {5, 59, true}, {6, 0, false}, {12, 0, false}} {
		if got := b.Dark(at(berlin, c.h, c.m)); got != c.dark {
			t.Errorf("%02d:%02d dark %v, want %v", c.h, c.m, got, c.dark)
		}
	}
	// Local time, not UTC: 23:00 in Berlin is 22:00 UTC (winter).
	if !b.Dark(time.Date(2026, 1, 10, 22, 0, 0, 0, time.UTC).In(berlin)) {
		t.Error("23:00 Berlin time is not night")
	}
	b.WakeFor = 90 * time.Second
	b.Wake(at(berlin, 2, 0))
	if b.Dark(at(berlin, 2, 1)) {
		t.Error("dark a minute after a touch")
	}
	if !b.Dark(at(berlin, 2, 0).Add(90 * time.Second)) {
		t.Error("still awake after WakeFor")
	}
	b = Blanker{}
	b.SetNight(NightOf(&api.DisplaySettings{NightFrom: "01:00", NightTo: "04:00"}))
	if b.Dark(at(berlin, 0, 59)) || !b.Dark(at(berlin, 1, 0)) || b.Dark(at(berlin, 4, 0)) {
		t.Error("night within one day")
	}
}

// The panel's backlights go off and on through bl_power; the last call
// wins; without any backlight nothing fails.
func TestPanel(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"intel_backlight", "acpi_video0"} {
		if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name, "bl_power"), []byte("0\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p := &Panel{Dir: dir}
	if !p.Present() {
		t.Fatal("backlights not found")
	}
	set := func(on bool, want string) {
		t.Helper()
		done := make(chan error, 1)
		p.Set(on, func(err error) { done <- err })
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"intel_backlight", "acpi_video0"} {
			if b, _ := os.ReadFile(filepath.Join(dir, name, "bl_power")); string(b) != want {
				t.Errorf("%s bl_power %q, want %q", name, b, want)
			}
		}
	}
	set(false, "4\n")
	set(true, "0\n")
	none := &Panel{Dir: filepath.Join(dir, "absent")}
	done := make(chan error, 1)
	none.Set(false, func(err error) { done <- err })
	if err := <-done; err != nil || none.Present() {
		t.Fatalf("no backlight: %v", err)
	}
}
