package agent_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/kiosk/agent"
	"github.com/quartierhub/quartierhub/kiosk/session"
	"github.com/quartierhub/quartierhub/kiosk/updater"
	"github.com/quartierhub/quartierhub/kiosk/updater/handoff"
)

// The agent hands the hub's update offer to the updater (a file the
// updater accepts, removed when the hub withdraws it) and reports the
// updater's status in its heartbeats, mapped onto the API's states; a
// missing or damaged status is left out and the heartbeat still goes.
func TestUpdateOfferAndUpdaterStatus(t *testing.T) {
	r := newFleetRig(t)
	updDir := t.TempDir()
	writeStatus := func(st handoff.Status) {
		t.Helper()
		data, err := json.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(updDir, handoff.StatusFile), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	lastUpdater := func() *api.UpdaterStatus {
		hbs := r.hub.Heartbeats()
		if len(hbs) == 0 {
			return nil
		}
		return hbs[len(hbs)-1].Updater
	}
	offer := &api.UpdateOffer{RolloutID: "r-7", Version: "1.1.0", Target: updater.TargetName("1.1.0", "amd64"),
		Window: &api.MaintenanceWindow{Days: []string{"mon", "tue"}, Start: "02:00", DurationMinutes: 120, TimeZone: "Europe/Berlin"}}
	r.hub.SetUpdate(offer)
	writeStatus(handoff.Status{State: handoff.StateWaiting, Running: "1.0.0", Target: "1.1.0", Progress: 1})
	fa := r.start(t, func(o *agent.Opts) { o.UpdaterDir = updDir })

	offerPath := filepath.Join(r.dir, agent.UpdateOfferFile)
	fa.kickUntil(t, "the offer handed to the updater and its status at the hub", func() bool {
		u := lastUpdater()
		_, err := os.Stat(offerPath)
		return err == nil && u != nil && u.State == api.UpdaterWaitingForWindow
	})
	got, err := updater.ReadOffer(offerPath, "amd64")
	if err != nil {
		t.Fatalf("the updater refuses the agent's offer file: %v", err)
	}
	if got.Version != "1.1.0" || got.RolloutID != "r-7" || got.Window == nil || got.Window.Start != "02:00" {
		t.Fatalf("offer %+v", got)
	}
	if u := lastUpdater(); u.Version != "1.0.0" || u.Target != "1.1.0" {
		t.Fatalf("updater %+v", u)
	}
	if _, err := os.Stat(filepath.Join(r.dir, session.LockFile)); err != nil {
		t.Fatalf("the agent did not create the session lock: %v", err)
	}

	writeStatus(handoff.Status{State: handoff.StateTrying, Running: "1.1.0", Target: "1.1.0", Gate: true})
	fa.kickUntil(t, "the trial reported", func() bool {
		u := lastUpdater()
		return u != nil && u.State == api.UpdaterTrial
	})
	writeStatus(handoff.Status{State: handoff.StateIdle, Running: "1.0.0", Target: "1.1.0", Last: handoff.LastRolledBack,
		Bad: []string{"1.1.0"}, LastError: "updater: health gate: quartierhub-window.service restarted (0 -> 3)"})
	fa.kickUntil(t, "the rollback reported", func() bool {
		u := lastUpdater()
		return u != nil && u.State == api.UpdaterRolledBack && len(u.BadVersions) == 1 && u.LastError != ""
	})

	// The rollout paused: the offer goes.
	r.hub.SetUpdate(nil)
	fa.kickUntil(t, "the offer withdrawn", func() bool {
		_, err := os.Stat(offerPath)
		return os.IsNotExist(err)
	})

	// A damaged status is left out; no status at all too.
	for _, damage := range []func(){
		func() { os.WriteFile(filepath.Join(updDir, handoff.StatusFile), []byte(`{"state":"exploded"}`), 0o644) },
		func() { os.Remove(filepath.Join(updDir, handoff.StatusFile)) },
	} {
		damage()
		n := len(r.hub.Heartbeats())
		fa.kickUntil(t, "a heartbeat without the updater", func() bool {
			hbs := r.hub.Heartbeats()
			return len(hbs) > n && hbs[len(hbs)-1].Updater == nil
		})
	}
}
