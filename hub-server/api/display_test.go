package api_test

import (
	"strings"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
)

// The display section: a rotation of a quarter turn, night hours as
// HH:MM pairs (across midnight too); anything else is refused with the
// field it is about.
func TestDisplaySettings(t *testing.T) {
	good := `{"settings":{"display":{"rotation":270,"night_from":"22:30","night_to":"06:00"}}}`
	c, err := api.ValidateConfig([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	d := c.Settings.Display
	from, to, ok, err := d.Night()
	if d.Rotation != 270 || !ok || err != nil || from != 22*time.Hour+30*time.Minute || to != 6*time.Hour {
		t.Fatalf("%+v: night %v–%v %v %v", d, from, to, ok, err)
	}
	if _, _, ok, err := (&api.DisplaySettings{Rotation: 90}).Night(); ok || err != nil {
		t.Fatalf("no night hours: ok %v, %v", ok, err)
	}
	for doc, want := range map[string]string{
		`{"settings":{"display":{"rotation":45}}}`:                              "rotation 45",
		`{"settings":{"display":{"rotation":-90}}}`:                             "rotation -90",
		`{"settings":{"display":{"night_from":"22:00"}}}`:                       "go together",
		`{"settings":{"display":{"night_from":"24:00","night_to":"06:00"}}}`:    "night_from",
		`{"settings":{"display":{"night_from":"22:00","night_to":"6:00"}}}`:     "night_to",
		`{"settings":{"display":{"night_from":"22:00","night_to":"+6:00"}}}`:    "night_to",
		`{"settings":{"display":{"night_from":"22:60","night_to":"06:00"}}}`:    "night_from",
		`{"settings":{"display":{"night_from":"06:00","night_to":"06:00"}}}`:    "both",
		`{"settings":{"display":{"rotation":90,"brightness":3}}}`:               "unknown field",
		`{"settings":{"display":{"rotation":"90"}}}`:                            "rotation",
		`{"settings":{"display":{"night_from":"22:00 ","night_to":"06:00"}}}`:   "night_from",
		`{"settings":{"display":{"night_from":"22:00","night_to":"06:00:00"}}}`: "night_to",
	} {
		if _, err := api.ValidateConfigLayer([]byte(doc)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error about %q", doc, err, want)
		}
	}
}
