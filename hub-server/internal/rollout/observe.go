package rollout

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// Observe is called for each heartbeat of terminal terminalID (of
// quarter) received at now, with its updater's status (nil when the
// heartbeat has none). It records the terminal's state in the active
// rollout, if the terminal is a member whose stage has opened, and
// returns the offer to put in the heartbeat's answer: the release while
// the rollout runs and the terminal's stage is open, with the quarter's
// maintenance window; nil otherwise.
//
// Heartbeats are the hub's hot path: Observe reads the store only when
// its copy is older than Opts.CacheFor, and writes only when the
// terminal's state changed.
func (e *Engine) Observe(ctx context.Context, terminalID, quarter string, st *api.UpdaterStatus, now time.Time) (*api.UpdateOffer, error) {
	e.mu.Lock()
	snap, err := e.snapshot(ctx, now)
	if err != nil || !snap.active {
		e.mu.Unlock()
		return nil, err
	}
	r := &snap.r
	m, ok := snap.members[terminalID]
	if !ok || m.Stage > r.Stage {
		e.mu.Unlock()
		return nil, nil
	}
	var offer *api.UpdateOffer
	if r.State == store.RolloutRunning {
		offer = &api.UpdateOffer{RolloutID: r.ID, Version: r.Version, Target: r.Target}
		if w := store.WindowFor(snap.windows, quarter); w != nil {
			c := *w
			c.Days = slices.Clone(w.Days)
			offer.Window = &c
		}
	}
	state, detail := memberState(r, m, st)
	if state == m.State && detail == m.Detail {
		e.mu.Unlock()
		return offer, nil
	}
	m.State, m.Detail, m.Since = state, detail, now
	if m.OfferedAt.IsZero() {
		m.OfferedAt = now // the tick that opened its stage is not in this copy yet
	}
	snap.members[terminalID] = m
	e.mu.Unlock()
	if err := e.st.SaveRolloutMembers(ctx, []store.RolloutMember{m}); err != nil {
		e.forget()
		return offer, fmt.Errorf("rollout: observe: %w", err)
	}
	return offer, nil
}

// snapshot returns Observe's copy of the active rollout, read again when
// older than CacheFor. Called with e.mu held.
func (e *Engine) snapshot(ctx context.Context, now time.Time) (*snapshot, error) {
	if c := e.cache; c != nil && now.Sub(c.loaded) < e.o.CacheFor && !now.Before(c.loaded) {
		return c, nil
	}
	s := &snapshot{loaded: now}
	r, err := e.st.ActiveRollout(ctx)
	switch {
	case errors.Is(err, store.ErrNotFound):
		e.cache = s
		return s, nil
	case err != nil:
		return nil, fmt.Errorf("rollout: active: %w", err)
	}
	ms, err := e.st.RolloutMembers(ctx, r.ID)
	if err != nil {
		return nil, fmt.Errorf("rollout: members: %w", err)
	}
	ws, err := e.st.MaintenanceWindows(ctx)
	if err != nil {
		return nil, fmt.Errorf("rollout: windows: %w", err)
	}
	s.active, s.r, s.windows = true, r, ws
	s.members = make(map[string]store.RolloutMember, len(ms))
	for _, m := range ms {
		s.members[m.TerminalID] = m
	}
	e.cache = s
	return s, nil
}

// memberState is a member's state and detail after a heartbeat with st,
// given its stored state m:
//   - the release among the updater's bad versions: rolled back;
//   - running the release, done or idle: done;
//   - rolled back, failed or on the way (pending … trial) towards the
//     release (or towards nothing named): that state;
//   - idle on another version: pending.
//
// A heartbeat that says nothing about the release (no updater, or one
// busy with another version) keeps m's, except that it ends silence.
func memberState(r *store.Rollout, m store.RolloutMember, st *api.UpdaterStatus) (state, detail string) {
	if st != nil {
		towards := st.Target == r.Version || st.Target == ""
		switch {
		case slices.Contains(st.BadVersions, r.Version):
			// The updater clears its last error at its next round; the
			// reason of the rollback stays for the person reading the
			// rollout's page.
			if st.LastError == "" && m.State == store.MemberRolledBack {
				return store.MemberRolledBack, m.Detail
			}
			return store.MemberRolledBack, st.LastError
		case st.Version == r.Version && (st.State == api.UpdaterDone || st.State == api.UpdaterIdle):
			return store.MemberDone, ""
		case st.State == api.UpdaterRolledBack || st.State == api.UpdaterFailed:
			if towards {
				return st.State, st.LastError
			}
		case st.State == api.UpdaterIdle:
			return store.MemberPending, ""
		case st.State == api.UpdaterDone:
			// Done with another version than it runs: not this release.
		default: // pending … trial
			if towards {
				return st.State, ""
			}
		}
	}
	if m.State == store.MemberSilent {
		return store.MemberPending, ""
	}
	return m.State, m.Detail
}
