package rollout

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// Tick does what needs no heartbeat, on the active rollout: it marks
// silent terminals, halts the rollout when its failure thresholds are
// reached (raising the alert, and raising it again while it stays
// halted), and opens the next stage when the open one succeeded and
// soaked (done after the last). A staff change meanwhile (a conflict on
// the rollout's Seq) leaves the rest to the next tick.
func (e *Engine) Tick(ctx context.Context) error {
	r, err := e.st.ActiveRollout(ctx)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	} else if err != nil {
		return fmt.Errorf("rollout: tick: %w", err)
	}
	ms, err := e.st.RolloutMembers(ctx, r.ID)
	if err != nil {
		return fmt.Errorf("rollout: tick: %w", err)
	}
	ts, err := e.st.Terminals(ctx)
	if err != nil {
		return fmt.Errorf("rollout: tick: %w", err)
	}
	now := e.o.Now()
	if err := e.markSilent(ctx, &r, ms, ts, now); err != nil {
		return err
	}
	if r.State == store.RolloutRunning || r.State == store.RolloutPaused {
		if reason, culprit := e.failing(&r, ms); reason != "" {
			return e.halt(ctx, r, reason, culprit, now)
		}
	}
	switch r.State {
	case store.RolloutHalted:
		return e.raiseAlert(ctx, &r, now)
	case store.RolloutRunning:
		return e.advance(ctx, r, ms, now)
	}
	return nil
}

// markSilent marks the members of opened stages that are not in a final
// state and were not heard for OfflineAfter silent, and gives a member
// of an opened stage its offer time if a crash between a stage's opening
// and its members' save left it without. A terminal that was already
// unheard when offered, and never reported on the release, stays
// pending: its silence is not the release's doing.
func (e *Engine) markSilent(ctx context.Context, r *store.Rollout, ms []store.RolloutMember, ts []store.Terminal, now time.Time) error {
	seen := make(map[string]time.Time, len(ts))
	for _, t := range ts {
		if t.Revoked() {
			continue // gone for good: its silence is not the release's doing
		}
		at := t.LastSeenAt
		if at.IsZero() {
			at = t.EnrolledAt
		}
		seen[t.ID] = at
	}
	var changed []store.RolloutMember
	for i := range ms {
		m := &ms[i]
		if m.Stage > r.Stage {
			continue
		}
		dirty := false
		if m.OfferedAt.IsZero() {
			m.OfferedAt, dirty = now, true
		}
		last, known := seen[m.TerminalID]
		engaged := m.State != store.MemberPending || last.After(m.OfferedAt)
		if known && engaged && m.State != store.MemberSilent && !store.MemberFinal(m.State) && now.Sub(last) > e.o.OfflineAfter {
			m.State, m.Since, m.Detail, dirty = store.MemberSilent, now, "last heard "+last.UTC().Format(time.RFC3339), true
		}
		if dirty {
			changed = append(changed, *m)
		}
	}
	if len(changed) == 0 {
		return nil
	}
	if err := e.st.SaveRolloutMembers(ctx, changed); err != nil {
		return fmt.Errorf("rollout: silent members: %w", err)
	}
	e.forget()
	return nil
}

// failing returns why r must halt ("" if it need not) and the failing
// member to carry its alert (the first to fail).
func (e *Engine) failing(r *store.Rollout, ms []store.RolloutMember) (reason, culprit string) {
	var opened int
	var fails []store.RolloutMember
	byState := map[string]int{}
	for _, m := range ms {
		if m.Stage > r.Stage {
			continue
		}
		opened++
		if store.MemberFailing(m.State) && !accepted(r, m) {
			fails = append(fails, m)
			byState[m.State]++
		}
	}
	k := len(fails)
	if k == 0 || !(r.FailCount > 0 && k >= r.FailCount || k*100 >= r.FailPercent*opened) {
		return "", ""
	}
	slices.SortFunc(fails, func(a, b store.RolloutMember) int {
		if c := a.Since.Compare(b.Since); c != 0 {
			return c
		}
		return strings.Compare(a.TerminalID, b.TerminalID)
	})
	var parts []string
	for _, s := range []string{store.MemberRolledBack, store.MemberFailed, store.MemberSilent} {
		if byState[s] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", strings.ReplaceAll(s, "_", " "), byState[s]))
		}
	}
	return fmt.Sprintf("%d of %d terminals of the opened stages failing (%s)", k, opened, strings.Join(parts, ", ")), fails[0].TerminalID
}

func (e *Engine) halt(ctx context.Context, r store.Rollout, reason, culprit string, now time.Time) error {
	r.State, r.Reason, r.AlertTerminal = store.RolloutHalted, reason, culprit
	r, err := e.update(ctx, r, store.Audit{At: now, Actor: SystemActor, Action: ActionHalt, Subject: r.ID, Detail: reason})
	if errors.Is(err, store.ErrVersionConflict) {
		return nil
	} else if err != nil {
		return fmt.Errorf("rollout: halt: %w", err)
	}
	e.o.Logger.Warn("rollout halted", "rollout", r.ID, "version", r.Version, "reason", reason)
	return e.raiseAlert(ctx, &r, now)
}

// raiseAlert raises (or keeps raised) the alert of halted r.
func (e *Engine) raiseAlert(ctx context.Context, r *store.Rollout, now time.Time) error {
	if e.o.Alerts == nil || r.AlertTerminal == "" {
		return nil
	}
	detail := fmt.Sprintf("rollout %s of %s halted: %s", r.ID, r.Version, r.Reason)
	if err := e.o.Alerts.Raise(ctx, r.AlertTerminal, AlertKind, detail, now); err != nil {
		return fmt.Errorf("rollout: alert: %w", err)
	}
	return nil
}

// advance opens the next stage of running r when the open one has
// succeeded (SuccessPercent of its members done, not counting failures
// staff accepted by resuming a halt) and soaked, and ends r after the
// last; a stage without members opens the next at once.
func (e *Engine) advance(ctx context.Context, r store.Rollout, ms []store.RolloutMember, now time.Time) error {
	for {
		var members, done int
		for _, m := range ms {
			if m.Stage == r.Stage && !accepted(&r, m) {
				members++
				if m.State == store.MemberDone {
					done++
				}
			}
		}
		stage := r.Stages[r.Stage]
		if members > 0 && (done*100 < r.SuccessPercent*members || now.Sub(r.StageStartedAt) < stage.Soak()) {
			return nil
		}
		summary := fmt.Sprintf("stage %s: %d of %d terminals done", stage.Name, done, members)
		if r.Stage == len(r.Stages)-1 {
			r.State = store.RolloutDone
			_, err := e.update(ctx, r, store.Audit{At: now, Actor: SystemActor, Action: ActionDone, Subject: r.ID, Detail: summary})
			if errors.Is(err, store.ErrVersionConflict) {
				return nil
			} else if err != nil {
				return fmt.Errorf("rollout: done: %w", err)
			}
			e.o.Logger.Info("rollout done", "rollout", r.ID, "version", r.Version)
			return nil
		}
		r.Stage++
		r.StageStartedAt = now
		next := r.Stages[r.Stage]
		var opened []store.RolloutMember
		for i := range ms {
			if ms[i].Stage == r.Stage {
				ms[i].OfferedAt = now
				opened = append(opened, ms[i])
			}
		}
		var err error
		r, err = e.update(ctx, r, store.Audit{At: now, Actor: SystemActor, Action: ActionStage, Subject: r.ID,
			Detail: fmt.Sprintf("%s; stage %s opened for %d terminals", summary, next.Name, len(opened))})
		if errors.Is(err, store.ErrVersionConflict) {
			return nil
		} else if err != nil {
			return fmt.Errorf("rollout: open stage: %w", err)
		}
		// After the rollout: a crash here leaves offer times for the
		// next tick's markSilent to fill in.
		if err := e.st.SaveRolloutMembers(ctx, opened); err != nil {
			return fmt.Errorf("rollout: open stage: %w", err)
		}
		e.forget()
		e.o.Logger.Info("rollout stage opened", "rollout", r.ID, "stage", next.Name, "terminals", len(opened))
	}
}

// accepted reports whether m failed before r's FailuresSince: staff
// resumed the halt it caused, so it counts neither for nor against r.
func accepted(r *store.Rollout, m store.RolloutMember) bool {
	return store.MemberFailing(m.State) && m.Since.Before(r.FailuresSince)
}
