package rollout

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/oklog/ulid/v2"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/internal/userr"
)

// Audit actions of rollouts.
const (
	ActionStart  = "rollout.start"
	ActionPause  = "rollout.pause"
	ActionResume = "rollout.resume"
	ActionStop   = "rollout.stop"
	ActionStage  = "rollout.stage" // the engine opened the next stage
	ActionHalt   = "rollout.halt"  // the engine halted on the failure thresholds
	ActionDone   = "rollout.done"  // the last stage succeeded
)

func notFound(id string) error {
	return userr.New("no such rollout", fmt.Errorf("rollout %.64q: %w", id, store.ErrNotFound))
}

// Start starts a rollout of p.Version as actor: the canary terminals and
// the enrolled terminals that are not revoked become its members, each
// in its stage; the first stage opens at once. A person may be shown the
// error (userr): an invalid plan, an unknown version or canary terminal
// (errors.Is store.ErrNotFound), another active rollout
// (store.ErrRolloutActive).
func (e *Engine) Start(ctx context.Context, p Plan, actor string) (store.Rollout, error) {
	p, err := p.withDefaults(e.o.Soak)
	if err != nil {
		return store.Rollout{}, err
	}
	rels, err := e.st.Releases(ctx)
	if err != nil {
		return store.Rollout{}, fmt.Errorf("rollout: start: %w", err)
	}
	i := slices.IndexFunc(rels, func(r store.Release) bool { return r.Version == p.Version })
	if i < 0 {
		return store.Rollout{}, userr.New("version "+p.Version+" is not a published release",
			fmt.Errorf("rollout: start: %w", store.ErrNotFound))
	}
	ts, err := e.st.Terminals(ctx)
	if err != nil {
		return store.Rollout{}, fmt.Errorf("rollout: start: %w", err)
	}
	var ids []string
	enrolled := map[string]bool{}
	for _, t := range ts {
		if !t.Revoked() {
			ids = append(ids, t.ID)
			enrolled[t.ID] = true
		}
	}
	for _, c := range p.Canary {
		if !enrolled[c] {
			return store.Rollout{}, userr.New(fmt.Sprintf("canary terminal %.64q is not an enrolled terminal", c),
				fmt.Errorf("rollout: start: %w", store.ErrNotFound))
		}
	}
	now := e.o.Now()
	id, err := ulid.New(ulid.Timestamp(now), e.o.Rand)
	if err != nil {
		return store.Rollout{}, fmt.Errorf("rollout: id: %w", err)
	}
	r := store.Rollout{ID: id.String(), Version: p.Version, Target: rels[i].Target, State: store.RolloutRunning, Stages: p.Stages,
		StageStartedAt: now, SuccessPercent: p.SuccessPercent, FailCount: p.FailCount, FailPercent: p.FailPercent,
		FailuresSince: now, CreatedAt: now, CreatedBy: actor, UpdatedAt: now, Seq: 1}
	stageOf := assign(r.ID, p.Stages, p.Canary, ids)
	members := make([]store.RolloutMember, 0, len(stageOf))
	for term, stage := range stageOf {
		m := store.RolloutMember{RolloutID: r.ID, TerminalID: term, Stage: stage, State: store.MemberPending, Since: now}
		if stage == 0 {
			m.OfferedAt = now
		}
		members = append(members, m)
	}
	err = e.st.StartRollout(ctx, r, members, store.Audit{At: now, Actor: actor, Action: ActionStart, Subject: r.ID,
		Detail: describe(p, len(members))})
	e.forget()
	switch {
	case errors.Is(err, store.ErrRolloutActive):
		return store.Rollout{}, userr.New("another rollout is active: stop it or let it finish first", err)
	case errors.Is(err, store.ErrNotFound):
		return store.Rollout{}, userr.New("version "+p.Version+" is not a published release", err)
	case err != nil:
		return store.Rollout{}, fmt.Errorf("rollout: start: %w", err)
	}
	e.o.Logger.Info("rollout started", "rollout", r.ID, "version", r.Version, "terminals", len(members))
	return r, nil
}

// Pause holds a running rollout as actor: no stage opens and no terminal
// is offered the release until Resume. Terminals already installing go
// on; their failures still halt it.
func (e *Engine) Pause(ctx context.Context, id, actor, reason string) error {
	reason, err := cleanReason(reason)
	if err != nil {
		return err
	}
	_, err = e.staffChange(ctx, id, actor, ActionPause, func(r *store.Rollout, _ time.Time) (string, error) {
		if r.State != store.RolloutRunning {
			return "", wrongState("only a running rollout can be paused", r.State)
		}
		r.State, r.Reason = store.RolloutPaused, reason
		return reason, nil
	})
	return err
}

// Resume lets a paused or halted rollout run again as actor. Resuming a
// halt accepts the failures so far: only terminals that begin failing
// afterwards count against the thresholds, and the accepted ones no
// longer count in their stage's success share. The halt's alert is
// resolved.
func (e *Engine) Resume(ctx context.Context, id, actor string) error {
	r, err := e.staffChange(ctx, id, actor, ActionResume, func(r *store.Rollout, now time.Time) (string, error) {
		if r.State != store.RolloutPaused && r.State != store.RolloutHalted {
			return "", wrongState("only a paused or halted rollout can be resumed", r.State)
		}
		detail := "from " + r.State
		if r.State == store.RolloutHalted {
			r.FailuresSince = now
			detail += ", failures so far accepted"
		}
		r.State, r.Reason = store.RolloutRunning, ""
		return detail, e.resolveAlert(ctx, r, now)
	})
	if err == nil {
		e.o.Logger.Info("rollout resumed", "rollout", r.ID)
	}
	return err
}

// Stop ends an active rollout for good as actor: no terminal is offered
// its release any more (an updater that has not begun installing waits),
// and its halt alert, if any, is resolved.
func (e *Engine) Stop(ctx context.Context, id, actor, reason string) error {
	reason, err := cleanReason(reason)
	if err != nil {
		return err
	}
	r, err := e.staffChange(ctx, id, actor, ActionStop, func(r *store.Rollout, now time.Time) (string, error) {
		if !r.Active() {
			return "", wrongState("the rollout has already ended", r.State)
		}
		r.State, r.Reason = store.RolloutStopped, reason
		return reason, e.resolveAlert(ctx, r, now)
	})
	if err == nil {
		e.o.Logger.Info("rollout stopped", "rollout", r.ID)
	}
	return err
}

// resolveAlert resolves r's halt alert, before the change that forgets
// it is stored: if that change then fails, the next tick raises it again.
func (e *Engine) resolveAlert(ctx context.Context, r *store.Rollout, now time.Time) error {
	if r.AlertTerminal == "" {
		return nil
	}
	if e.o.Alerts != nil {
		if err := e.o.Alerts.Resolve(ctx, r.AlertTerminal, AlertKind, now); err != nil {
			return fmt.Errorf("rollout: resolve alert: %w", err)
		}
	}
	r.AlertTerminal = ""
	return nil
}

// ErrWrongState: the rollout is not in a state the action applies to
// (e.g. pausing a halted one).
var ErrWrongState = errors.New("rollout: not in a state for that")

func wrongState(msg, state string) error {
	return userr.New(msg, fmt.Errorf("rollout is %s: %w", state, ErrWrongState))
}

// cleanReason trims a staff reason and refuses one too long or with
// control characters.
func cleanReason(s string) (string, error) {
	s = strings.TrimSpace(s)
	if len(s) > MaxReasonBytes || !utf8.ValidString(s) || strings.ContainsFunc(s, unicode.IsControl) {
		return "", userr.New(fmt.Sprintf("the reason must be plain text of at most %d bytes", MaxReasonBytes), errors.New("rollout: bad reason"))
	}
	return s, nil
}

// staffChange applies change to rollout id as actor and audits it as
// action; when a tick changed the rollout meanwhile, change decides again
// on the new row.
func (e *Engine) staffChange(ctx context.Context, id, actor, action string,
	change func(r *store.Rollout, now time.Time) (detail string, err error)) (store.Rollout, error) {
	for attempt := 0; ; attempt++ {
		r, err := e.st.Rollout(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return r, notFound(id)
		} else if err != nil {
			return r, fmt.Errorf("rollout: %s: %w", action, err)
		}
		now := e.o.Now()
		detail, err := change(&r, now)
		if err != nil {
			return r, err
		}
		out, err := e.update(ctx, r, store.Audit{At: now, Actor: actor, Action: action, Subject: id, Detail: detail})
		if errors.Is(err, store.ErrVersionConflict) && attempt < 3 {
			continue
		}
		if err != nil {
			return r, fmt.Errorf("rollout: %s: %w", action, err)
		}
		return out, nil
	}
}
