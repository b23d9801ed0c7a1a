package hub_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/fleet"
	"github.com/quartierhub/quartierhub/hub-server/internal/hub"
	"github.com/quartierhub/quartierhub/hub-server/internal/rollout"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/internal/testutil"
	"github.com/quartierhub/quartierhub/tests/fleetsim"
)

// simTerminal is an enrolled terminal whose updater follows the hub's
// offers: downloading, installing, trial, then done — or, for a broken
// build, rolled back with the version among its bad ones.
type simTerminal struct {
	id     fleetsim.Identity
	broken bool // the release fails this terminal's health gate
	st     api.UpdaterStatus
	offers int // heartbeat answers that offered the release
}

var updaterSteps = []string{api.UpdaterDownloading, api.UpdaterInstalling, api.UpdaterTrial}

// heartbeat sends one signed heartbeat with the updater's state, then
// takes the updater one step on if the answer offered a release.
func (s *simTerminal) heartbeat(ctx context.Context, base string) error {
	hb := api.Heartbeat{SoftwareVersion: s.st.Version, UptimeSeconds: 60, Updater: &s.st}
	body, _ := json.Marshal(&hb)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+api.PathHeartbeat, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	api.SignRequest(req, s.id.Key, s.id.ID, time.Now(), body)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: heartbeat: %d %s", s.id.Name, res.StatusCode, b)
	}
	var hr api.HeartbeatResponse
	if err := json.Unmarshal(b, &hr); err != nil {
		return err
	}
	if hr.Update == nil {
		return nil
	}
	s.offers++
	v := hr.Update.Version
	switch i := slices.Index(updaterSteps, s.st.State); {
	case slices.Contains(s.st.BadVersions, v) || s.st.Version == v:
	case i == len(updaterSteps)-1 && s.broken:
		s.st = api.UpdaterStatus{State: api.UpdaterRolledBack, Version: s.st.Version, Target: v, BadVersions: []string{v},
			LastError: "health gate: watchdog not fed"}
	case i == len(updaterSteps)-1:
		s.st = api.UpdaterStatus{State: api.UpdaterDone, Version: v}
	default:
		s.st = api.UpdaterStatus{State: updaterSteps[i+1], Version: s.st.Version, Target: v}
	}
	return nil
}

// A rollout across 20 terminals heartbeating over HTTP halts by itself
// when its canary terminals roll the release back: the engine's tick
// halts it, the fleet's alert reaches the webhook, and no terminal of a
// later stage is ever offered the release.
func TestRolloutHaltsWhenCanariesRollBack(t *testing.T) {
	hook := &webhook{}
	hookSrv := httptest.NewServer(hook)
	defer hookSrv.Close()
	h := start(t, hub.Config{Fleet: hub.FleetConfig{Webhook: hookSrv.URL}})
	ctx := context.Background()

	var tokens []fleetsim.NamedToken
	for i := range 20 {
		tok := fmt.Sprintf("rollout-token-%02d", i)
		name := fmt.Sprintf("johannstadt-%02d", i)
		if err := h.Store.CreateEnrolToken(ctx, store.EnrolToken{Hash: sha256.Sum256([]byte(tok)), TerminalName: name, Quarter: "Johannstadt",
			CreatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		tokens = append(tokens, fleetsim.NamedToken{Name: name, Token: tok})
	}
	ids, err := fleetsim.Enroll(ctx, h.base, tokens, 4, nil)
	if err != nil {
		t.Fatal(err)
	}
	const v = "2.0.0"
	if err := h.Store.AddRelease(ctx, store.Release{Version: v, Target: "quartierhub-kiosk/2.0.0/quartierhub-kiosk_2.0.0_amd64.tar.gz",
		AddedAt: time.Now(), AddedBy: "ops"}, store.Audit{At: time.Now(), Actor: "ops", Action: "release.add", Subject: v}); err != nil {
		t.Fatal(err)
	}
	terms := make([]*simTerminal, len(ids))
	for i, id := range ids {
		terms[i] = &simTerminal{id: id, broken: true, st: api.UpdaterStatus{State: api.UpdaterIdle, Version: "1.9.0"}}
	}
	canary := []string{ids[0].ID, ids[1].ID}
	// No soak: only the canaries' failure can keep the next stages closed.
	stages := []store.Stage{{Name: "canary", Percent: 0}, {Name: "5%", Percent: 5}, {Name: "25%", Percent: 25}, {Name: "100%", Percent: 100}}
	r, err := h.Rollouts.Start(ctx, rollout.Plan{Version: v, Stages: stages, Canary: canary}, "ops")
	if err != nil {
		t.Fatal(err)
	}

	round := func() {
		t.Helper()
		var wg sync.WaitGroup
		errs := make([]error, len(terms))
		for i, s := range terms {
			wg.Go(func() { errs[i] = s.heartbeat(ctx, h.base) })
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if err := h.Rollouts.Tick(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for n := 0; ; n++ {
		round()
		got, err := h.Store.Rollout(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.State == store.RolloutHalted {
			if !strings.Contains(got.Reason, "2 of 2") || !strings.Contains(got.Reason, "rolled back 2") || !slices.Contains(canary, got.AlertTerminal) || got.Stage != 0 {
				t.Fatalf("halted: %+v", got)
			}
			break
		}
		if got.State != store.RolloutRunning || n == 10 {
			t.Fatalf("after %d rounds: %+v, want it halted", n+1, got)
		}
	}
	// Offered with each step (downloading, installing, trial, rolled back)
	// and with the heartbeat that reported the rollback.
	for _, s := range terms[:2] {
		if s.st.State != api.UpdaterRolledBack || s.offers != 5 {
			t.Errorf("canary %s: %+v after %d offers", s.id.Name, s.st, s.offers)
		}
	}
	round() // halted: nobody is offered anything, the rollout stays halted
	for _, s := range terms {
		if s.offers > 5 || !slices.Contains(canary, s.id.ID) && s.offers != 0 {
			t.Errorf("%s offered %d times", s.id.Name, s.offers)
		}
	}
	ms, err := h.Store.RolloutMembers(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if want := map[bool]string{true: store.MemberRolledBack, false: store.MemberPending}[m.Stage == 0]; m.State != want || len(ms) != 20 {
			t.Errorf("member %+v of %d, want %s", m, len(ms), want)
		}
	}
	als, err := h.Store.Alerts(ctx, store.AlertFilter{State: store.AlertOpen, Kind: fleet.AlertRolloutHalted})
	if err != nil || len(als) != 1 || !strings.Contains(als[0].Detail, r.ID) {
		t.Fatalf("open rollout alerts %+v, %v", als, err)
	}
	testutil.Eventually(t, "the webhook hears of the halt", func() bool {
		return slices.Contains(hook.got(), "alert.opened "+fleet.AlertRolloutHalted)
	})
	au, err := h.Store.AuditEntries(ctx, store.AuditFilter{Action: rollout.ActionHalt})
	if err != nil || len(au) != 1 || au[0].Actor != rollout.SystemActor {
		t.Fatalf("halt audits %+v, %v", au, err)
	}

	// Stopped by staff: the alert resolves and the webhook hears that too.
	if err := h.Rollouts.Stop(ctx, r.ID, "ops", "build fails its health gate"); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, "the webhook hears the alert resolved", func() bool {
		return slices.Contains(hook.got(), "alert.resolved "+fleet.AlertRolloutHalted)
	})
}
