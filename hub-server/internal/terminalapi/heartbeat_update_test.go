package terminalapi_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/rollout"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/hub-server/internal/terminalapi"
)

// engineOnStore is the rollout engine, made once newEnv opened the store.
type engineOnStore struct{ e *rollout.Engine }

func (d *engineOnStore) Observe(ctx context.Context, id, quarter string, st *api.UpdaterStatus, now time.Time) (*api.UpdateOffer, error) {
	return d.e.Observe(ctx, id, quarter, st, now)
}

// The heartbeat answer carries the rollout's offer to a terminal of an
// open stage, and none to others; the updater's state is recorded.
func TestHeartbeatCarriesUpdateOffer(t *testing.T) {
	eng := &engineOnStore{}
	var st store.Store
	e := newEnv(t, func(s terminalapi.Store) terminalapi.Store {
		st = s.(store.Store)
		eng.e = rollout.New(st, rollout.Opts{Now: func() time.Time { return time.Unix(0, 0) }, Logger: slog.New(slog.DiscardHandler)})
		return s
	}, terminalapi.Opts{Fleet: terminalapi.FleetOpts{Updates: eng}})
	canary, other := e.enrolled("jst-1"), e.enrolled("jst-2")
	ctx := context.Background()
	const v = "2.0.0"
	target := "quartierhub-kiosk/2.0.0/quartierhub-kiosk_2.0.0_amd64.tar.gz"
	if err := st.AddRelease(ctx, store.Release{Version: v, Target: target, AddedAt: t0, AddedBy: "ops"}, store.Audit{At: t0, Actor: "ops", Action: "release.add"}); err != nil {
		t.Fatal(err)
	}
	r, err := eng.e.Start(ctx, rollout.Plan{Version: v, Canary: []string{canary.id}}, "ops")
	if err != nil {
		t.Fatal(err)
	}
	hb := heartbeatBody("ok")
	hb.Updater = &api.UpdaterStatus{State: api.UpdaterDownloading, Version: "1.2.3", Target: v, ProgressBytes: 1 << 20, TotalBytes: 30 << 20}
	resp := decode[api.HeartbeatResponse](t, e.jsonReq(canary, "POST", api.PathHeartbeat, hb))
	if u := resp.Update; u == nil || u.RolloutID != r.ID || u.Version != v || u.Target != target || u.Window != nil {
		t.Fatalf("canary's answer offers %+v", resp.Update)
	}
	if resp := decode[api.HeartbeatResponse](t, e.jsonReq(other, "POST", api.PathHeartbeat, heartbeatBody("ok"))); resp.Update != nil {
		t.Fatalf("a terminal of a later stage was offered %+v", resp.Update)
	}
	ms, err := st.RolloutMembers(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if want := map[string]string{canary.id: store.MemberDownloading, other.id: store.MemberPending}[m.TerminalID]; m.State != want {
			t.Errorf("%s: %s, want %s", m.TerminalID, m.State, want)
		}
	}
}
