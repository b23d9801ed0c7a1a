package console

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/rollout"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/internal/userr"
)

// RolloutEngine is the staged rollout engine as the console uses it
// (rollout.Engine): staff start, pause, resume and stop; the engine
// audits each. Its errors a person may read are userr errors.
type RolloutEngine interface {
	Start(ctx context.Context, p rollout.Plan, actor string) (store.Rollout, error)
	Pause(ctx context.Context, id, actor, reason string) error
	Resume(ctx context.Context, id, actor string) error
	Stop(ctx context.Context, id, actor, reason string) error
}

// memberStates are a rollout member's states in the order of an update.
var memberStates = []string{store.MemberPending, store.MemberDownloading, store.MemberWaitingForWindow, store.MemberInstalling,
	store.MemberTrial, store.MemberDone, store.MemberRolledBack, store.MemberFailed, store.MemberSilent}

// rolloutStates are a rollout's states.
var rolloutStates = []string{store.RolloutRunning, store.RolloutPaused, store.RolloutHalted, store.RolloutDone, store.RolloutStopped}

// stageRows is how many stage rows the start form offers.
const stageRows = 6

// stageForm is one stage row of the start form, as typed.
type stageForm struct{ Name, Percent, Soak string }

// startForm is the start form, as shown or as sent.
type startForm struct {
	Version                                string
	Stages                                 []stageForm
	SuccessPercent, FailCount, FailPercent string
	Canary, CanaryTags                     []string // terminal names, tags
}

func (f startForm) HasCanary(name string) bool { return slices.Contains(f.Canary, name) }
func (f startForm) HasTag(tag string) bool     { return slices.Contains(f.CanaryTags, tag) }

// defaultStartForm is canary → 5 % → 25 % → 100 %, each soaking an hour,
// and the engine's default thresholds.
func defaultStartForm() startForm {
	f := startForm{SuccessPercent: strconv.Itoa(rollout.DefaultSuccessPercent), FailCount: "0",
		FailPercent: strconv.Itoa(rollout.DefaultFailPercent)}
	for _, s := range rollout.DefaultStages(time.Hour) {
		f.Stages = append(f.Stages, stageForm{Name: s.Name, Percent: strconv.Itoa(s.Percent), Soak: strconv.FormatInt(s.SoakSeconds/60, 10)})
	}
	for len(f.Stages) < stageRows {
		f.Stages = append(f.Stages, stageForm{})
	}
	return f
}

type rolloutListData struct {
	Rollouts  []store.Rollout
	Active    *store.Rollout
	Releases  []store.Release
	Terminals []store.Terminal // enrolled, not revoked: canary choices
	Tags      []string
	Form      startForm
	Error     *Message
	// Ready: the hub runs a rollout engine.
	Ready bool
}

func (c *Console) rolloutList(w http.ResponseWriter, r *http.Request) {
	c.showRollouts(w, r, http.StatusOK, defaultStartForm(), nil)
}

func (c *Console) showRollouts(w http.ResponseWriter, r *http.Request, status int, f startForm, problem *Message) {
	ctx := r.Context()
	d := rolloutListData{Form: f, Error: problem, Ready: c.o.Rollouts != nil}
	var err error
	if d.Rollouts, err = c.st.Rollouts(ctx, 50); err != nil {
		c.serverError(w, r, "rollouts", err)
		return
	}
	for i := range d.Rollouts {
		if d.Rollouts[i].Active() {
			d.Active = &d.Rollouts[i]
		}
	}
	if d.Releases, err = c.st.Releases(ctx); err != nil {
		c.serverError(w, r, "rollouts", err)
		return
	}
	ts, err := c.st.Terminals(ctx)
	if err != nil {
		c.serverError(w, r, "rollouts", err)
		return
	}
	for _, t := range ts {
		if !t.Revoked() {
			d.Terminals = append(d.Terminals, t)
		}
	}
	_, d.Tags = quartersAndTags(d.Terminals)
	c.render(w, r, status, "rollouts", msg("rollouts.title"), "updates", d)
}

// rolloutStart starts a rollout from the start form: the canary
// terminals are those chosen by name and those with a chosen tag.
func (c *Console) rolloutStart(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	f := startForm{Version: r.PostFormValue("version"), SuccessPercent: strings.TrimSpace(r.PostFormValue("success_percent")),
		FailCount: strings.TrimSpace(r.PostFormValue("fail_count")), FailPercent: strings.TrimSpace(r.PostFormValue("fail_percent")),
		Canary: r.PostForm["canary"], CanaryTags: r.PostForm["canary_tag"]}
	names, percents, soaks := r.PostForm["stage_name"], r.PostForm["stage_percent"], r.PostForm["stage_soak"]
	if len(names) > stageRows || len(percents) != len(names) || len(soaks) != len(names) || len(f.Canary) > rollout.MaxCanary || len(f.CanaryTags) > maxTags {
		c.showRollouts(w, r, http.StatusBadRequest, defaultStartForm(), msg("rollouts.error.form"))
		return
	}
	for i := range names {
		f.Stages = append(f.Stages, stageForm{Name: strings.TrimSpace(names[i]), Percent: strings.TrimSpace(percents[i]), Soak: strings.TrimSpace(soaks[i])})
	}
	bad := func(status int, problem *Message) {
		for len(f.Stages) < stageRows {
			f.Stages = append(f.Stages, stageForm{})
		}
		c.showRollouts(w, r, status, f, problem)
	}
	if c.o.Rollouts == nil {
		bad(http.StatusConflict, msg("rollouts.error.no_engine"))
		return
	}
	p, problem := c.planOf(ctx, f)
	if problem != nil {
		bad(http.StatusBadRequest, problem)
		return
	}
	ro, err := c.o.Rollouts.Start(ctx, p, actor(ctx))
	switch {
	case errors.Is(err, store.ErrRolloutActive):
		bad(http.StatusConflict, msg("rollouts.error.active"))
		return
	case err != nil && userr.Message(err, "") != "":
		bad(http.StatusBadRequest, verbatim(userr.Message(err, "")))
		return
	case err != nil:
		c.serverError(w, r, "rollout start", err)
		return
	}
	c.redirect(w, r, "/console/rollouts/"+url.PathEscape(ro.ID), "rollout_start")
}

// planOf turns the start form into a plan; the engine checks the rest
// (shares growing, the last 100 %, bounds).
func (c *Console) planOf(ctx context.Context, f startForm) (rollout.Plan, *Message) {
	p := rollout.Plan{Version: f.Version}
	if f.Version == "" {
		return p, msg("rollouts.error.version_missing")
	}
	for i, s := range f.Stages {
		if s.Name == "" && s.Percent == "" && s.Soak == "" {
			continue
		}
		percent, err1 := strconv.Atoi(s.Percent)
		soak, err2 := strconv.ParseInt(s.Soak, 10, 64)
		if s.Name == "" || err1 != nil || err2 != nil || soak < 0 || soak > int64(rollout.MaxSoak/time.Minute) {
			return p, msg("rollouts.error.stage", "n", i+1)
		}
		p.Stages = append(p.Stages, store.Stage{Name: s.Name, Percent: percent, SoakSeconds: soak * 60})
	}
	if len(p.Stages) == 0 {
		return p, msg("rollouts.error.no_stages")
	}
	var err1, err2, err3 error
	p.SuccessPercent, err1 = strconv.Atoi(f.SuccessPercent)
	p.FailCount, err2 = strconv.Atoi(f.FailCount)
	p.FailPercent, err3 = strconv.Atoi(f.FailPercent)
	if err1 != nil || err2 != nil || err3 != nil || p.SuccessPercent < 1 || p.SuccessPercent > 100 || p.FailPercent < 1 || p.FailPercent > 100 || p.FailCount < 0 {
		return p, msg("rollouts.error.thresholds")
	}
	ts, err := c.st.Terminals(ctx)
	if err != nil {
		return p, msg("error.server")
	}
	for _, t := range ts {
		if t.Revoked() {
			continue
		}
		if slices.Contains(f.Canary, t.Name) || slices.ContainsFunc(t.Tags, func(tag string) bool { return slices.Contains(f.CanaryTags, tag) }) {
			p.Canary = append(p.Canary, t.ID)
		}
	}
	for _, name := range f.Canary {
		if !slices.ContainsFunc(ts, func(t store.Terminal) bool { return t.Name == name && !t.Revoked() }) {
			return p, msg("rollouts.error.canary_unknown", "terminal", name)
		}
	}
	if p.Stages[0].Percent == 0 && len(p.Canary) == 0 {
		return p, msg("rollouts.error.canary_missing")
	}
	return p, nil
}

// stageView is one stage on the rollout page.
type stageView struct {
	store.Stage
	State string // done, open, open_ended (the rollout ended in it), waiting, not_reached
	// SoakMinutes is the stage's soak time; SoakLeftMinutes what is left
	// of it while the stage is open.
	SoakMinutes, SoakLeftMinutes int64
	Members                      int
}

// memberRow is one terminal of a rollout.
type memberRow struct {
	store.RolloutMember
	Name, Quarter, StageName string
}

// stateCount is how many members are in one state.
type stateCount struct {
	State string
	N     int
}

type rolloutData struct {
	R       store.Rollout
	Stages  []stageView
	Counts  []stateCount
	Members []memberRow
	Error   *Message
	Reason  string // a refused form's reason, kept
	Ready   bool
	Active  bool // running, paused or halted: staff may act
}

func (c *Console) rolloutShow(w http.ResponseWriter, r *http.Request) {
	c.showRollout(w, r, http.StatusOK, nil, "")
}

func (c *Console) showRollout(w http.ResponseWriter, r *http.Request, status int, problem *Message, reason string) {
	ctx := r.Context()
	ro, err := c.st.Rollout(ctx, r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		c.fail(w, r, http.StatusNotFound, msg("rollouts.error.not_found"))
		return
	} else if err != nil {
		c.serverError(w, r, "rollout", err)
		return
	}
	ms, err := c.st.RolloutMembers(ctx, ro.ID)
	if err != nil {
		c.serverError(w, r, "rollout members", err)
		return
	}
	ts, err := c.st.Terminals(ctx)
	if err != nil {
		c.serverError(w, r, "rollout", err)
		return
	}
	byID := map[string]store.Terminal{}
	for _, t := range ts {
		byID[t.ID] = t
	}
	now := c.o.Now()
	d := rolloutData{R: ro, Error: problem, Reason: reason, Ready: c.o.Rollouts != nil, Active: ro.Active()}
	for i, s := range ro.Stages {
		v := stageView{Stage: s, SoakMinutes: s.SoakSeconds / 60}
		switch {
		case ro.State == store.RolloutDone || i < ro.Stage:
			v.State = "done"
		case i == ro.Stage && ro.Active():
			v.State = "open"
			v.SoakLeftMinutes = int64((max(0, ro.StageStartedAt.Add(s.Soak()).Sub(now)) + time.Minute - 1) / time.Minute)
		case i == ro.Stage:
			v.State = "open_ended"
		case ro.Active():
			v.State = "waiting"
		default:
			v.State = "not_reached"
		}
		d.Stages = append(d.Stages, v)
	}
	count := map[string]int{}
	for _, m := range ms {
		count[m.State]++
		if m.Stage >= 0 && m.Stage < len(d.Stages) {
			d.Stages[m.Stage].Members++
		}
		row := memberRow{RolloutMember: m, Name: m.TerminalID}
		if t, ok := byID[m.TerminalID]; ok {
			row.Name, row.Quarter = t.Name, t.Quarter
		}
		if m.Stage >= 0 && m.Stage < len(ro.Stages) {
			row.StageName = ro.Stages[m.Stage].Name
		}
		d.Members = append(d.Members, row)
	}
	for _, s := range memberStates {
		d.Counts = append(d.Counts, stateCount{State: s, N: count[s]})
	}
	for s, n := range count {
		if !slices.Contains(memberStates, s) {
			d.Counts = append(d.Counts, stateCount{State: s, N: n})
		}
	}
	slices.SortStableFunc(d.Members, func(a, b memberRow) int {
		if a.Stage != b.Stage {
			return a.Stage - b.Stage
		}
		return strings.Compare(a.Name, b.Name)
	})
	c.render(w, r, status, "rollout", msg("rollouts.rollout_of", "version", ro.Version), "updates", d)
}

// rolloutPause, rolloutResume and rolloutStop are the staff actions on a
// rollout; pause and stop need a reason, which the audit log keeps.
func (c *Console) rolloutPause(w http.ResponseWriter, r *http.Request) {
	c.rolloutAct(w, r, "rollout_pause", true, func(ctx context.Context, id, reason string) error {
		return c.o.Rollouts.Pause(ctx, id, actor(ctx), reason)
	})
}

func (c *Console) rolloutResume(w http.ResponseWriter, r *http.Request) {
	c.rolloutAct(w, r, "rollout_resume", false, func(ctx context.Context, id, _ string) error {
		return c.o.Rollouts.Resume(ctx, id, actor(ctx))
	})
}

func (c *Console) rolloutStop(w http.ResponseWriter, r *http.Request) {
	c.rolloutAct(w, r, "rollout_stop", true, func(ctx context.Context, id, reason string) error {
		return c.o.Rollouts.Stop(ctx, id, actor(ctx), reason)
	})
}

func (c *Console) rolloutAct(w http.ResponseWriter, r *http.Request, done string, needReason bool, act func(ctx context.Context, id, reason string) error) {
	id, reason := r.PathValue("id"), strings.TrimSpace(r.PostFormValue("reason"))
	switch {
	case c.o.Rollouts == nil:
		c.showRollout(w, r, http.StatusConflict, msg("rollouts.error.no_engine"), reason)
		return
	case needReason && reason == "":
		c.showRollout(w, r, http.StatusBadRequest, msg("rollouts.error.reason_missing"), reason)
		return
	case len(reason) > rollout.MaxReasonBytes:
		c.showRollout(w, r, http.StatusBadRequest, msg("rollouts.error.reason_too_long", "max", rollout.MaxReasonBytes), reason)
		return
	}
	err := act(r.Context(), id, reason)
	switch {
	case errors.Is(err, store.ErrNotFound):
		c.fail(w, r, http.StatusNotFound, msg("rollouts.error.not_found"))
		return
	case errors.Is(err, rollout.ErrWrongState):
		c.showRollout(w, r, http.StatusConflict, msg("rollouts.error.wrong_state"), reason)
		return
	case err != nil && userr.Message(err, "") != "":
		c.showRollout(w, r, http.StatusBadRequest, verbatim(userr.Message(err, "")), reason)
		return
	case err != nil:
		c.serverError(w, r, "rollout "+done, err)
		return
	}
	c.redirect(w, r, "/console/rollouts/"+url.PathEscape(id), done)
}
