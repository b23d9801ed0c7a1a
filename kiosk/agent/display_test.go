package agent_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/quartierhub/quartierhub/kiosk/display"
)

// The hub's rotation reaches the compositor's file (which restarts the
// compositor through a systemd path unit), and only a change of rotation
// rewrites it: new night hours leave it alone. At a start from the cache
// it stays as it was.
func TestRotationReachesTheCompositor(t *testing.T) {
	r := newFleetRig(t)
	fa := r.start(t)
	file := filepath.Join(r.dir, display.CompositorFile)
	fa.kickUntil(t, "the compositor's file at start", func() bool {
		c, err := display.ReadCompositor(r.dir)
		_, serr := os.Stat(file)
		return err == nil && serr == nil && c.Rotation == 0
	})
	r.hub.SetConfig(`{"settings":{"display":{"rotation":90}}}`)
	fa.kickUntil(t, "rotation 90 for the compositor", func() bool {
		c, err := display.ReadCompositor(r.dir)
		return err == nil && c.Rotation == 90
	})
	before, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	v := r.hub.SetConfig(`{"settings":{"display":{"rotation":90,"night_from":"22:00","night_to":"06:00"}}}`)
	fa.kickUntil(t, "the night hours applied", func() bool {
		cr, err := fa.c.RemoteConfig(t.Context())
		return err == nil && cr.Version == v
	})
	after, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) {
		t.Fatal("new night hours rewrote the compositor's file (that restarts the compositor)")
	}
	fa.stop()
	fa = r.start(t)
	defer fa.stop()
	again, err := os.Stat(file)
	if err != nil || !os.SameFile(before, again) {
		t.Fatalf("a start from the cache rewrote the compositor's file (%v)", err)
	}
}
