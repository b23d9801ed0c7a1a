package console

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/workshops"
	"github.com/quartierhub/quartierhub/internal/workshop"
)

// maxLateDots is how many late dots one decision takes (workshop.LateDots).
const maxLateDots = 1000

// workshopBackPages are where a staff action returns to (form field back).
var workshopBackPages = map[string]string{"run": "", "cluster": "/cluster", "projector": "/projector", "results": "/results"}

// workshopAct turns one staff action (form field op) into an event
// through the workshop service. A script sending Accept:
// application/json gets {"ok":true} or {"error":"…"} instead of a page.
func (c *Console) workshopAct(w http.ResponseWriter, r *http.Request) {
	v, ok := c.workshopOf(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	op := r.PostFormValue("op")
	typ, data, detail, problem := c.workshopEvent(r, op, v)
	if problem != nil {
		c.workshopAnswer(w, r, v.Workshop.ID, http.StatusBadRequest, problem)
		return
	}
	// The service audits the event (who, its type and ID) in the
	// transaction that stores it: a refused action stores and audits nothing.
	if _, err := c.o.Workshops.Act(ctx, v.Workshop.ID, moderatorActor(ctx), typ, data); err != nil {
		reason, refused := workshopRefusal(err)
		if !refused {
			c.serverError(w, r, "workshop act", err)
			return
		}
		c.o.Logger.Info("console: workshop action refused", "workshop", v.Workshop.ID, "op", op, "what", detail, "reason", string(reason))
		c.workshopAnswer(w, r, v.Workshop.ID, http.StatusConflict, refusalMessage(reason))
		return
	}
	c.workshopAnswer(w, r, v.Workshop.ID, http.StatusOK, nil)
}

// workshopAnswer answers an action: JSON for scripts, else back to the
// page it came from, or the error page with the problem.
func (c *Console) workshopAnswer(w http.ResponseWriter, r *http.Request, id string, status int, problem *Message) {
	if strings.Contains(r.Header.Get("Accept"), "application/json") {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(status)
		body := map[string]any{"ok": problem == nil}
		if problem != nil {
			body["error"] = problem.In(c.lang(r, principalFrom(r.Context()), false))
		}
		json.NewEncoder(w).Encode(body)
		return
	}
	if problem != nil {
		c.fail(w, r, status, problem)
		return
	}
	c.redirect(w, r, "/console/workshops/"+id+workshopBackPages[r.PostFormValue("back")], "")
}

// workshopEvent is the event an op makes, a note of it for the log
// (IDs and numbers, never a participant's text), or a problem with the form.
func (c *Console) workshopEvent(r *http.Request, op string, v workshops.View) (workshop.Type, any, string, *Message) {
	s := v.State
	now := c.o.Now()
	field := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	intField := func(k string) (int, bool) {
		n, err := strconv.Atoi(field(k))
		return n, err == nil && n >= 0
	}
	// goTo is a phase change: the phase left closes now, the new one's
	// timer starts with its planned minutes.
	goTo := func(index int) (workshop.Type, any, string, *Message) {
		p := workshop.Phase{Index: index, Deadline: now.UnixMilli()}
		if index >= 0 && index < len(s.Spec.Phases) && s.Spec.Phases[index].Minutes > 0 {
			p.EndsAt = now.Add(time.Duration(s.Spec.Phases[index].Minutes) * time.Minute).UnixMilli()
		}
		return workshop.TypePhase, p, fmt.Sprintf("phase %d → %d", s.PhaseIndex, index), nil
	}
	idea := field("idea")
	switch op {
	case "open":
		return goTo(0)
	case "next":
		return goTo(s.PhaseIndex + 1)
	case "back":
		if s.PhaseIndex <= 0 {
			return "", nil, "", msg("workshops.error.no_phase_before")
		}
		return goTo(s.PhaseIndex - 1)
	case "end":
		return goTo(-1)
	case "timer_add":
		from := now
		if s.PhaseEndsAt.After(now) {
			from = s.PhaseEndsAt
		}
		return workshop.TypeTimer, workshop.Timer{Phase: s.PhaseIndex, EndsAt: from.Add(time.Minute).UnixMilli()}, "timer +1 min", nil
	case "timer_stop":
		return workshop.TypeTimer, workshop.Timer{Phase: s.PhaseIndex}, "timer stopped", nil
	case "join_open", "join_close":
		return workshop.TypeJoin, workshop.Join{Open: op == "join_open"}, "", nil
	case "hide":
		reason := field("reason")
		if reason == "" {
			return "", nil, "", msg("workshops.error.reason_needed")
		}
		return workshop.TypeHide, workshop.Hide{Idea: idea, Reason: reason}, "idea " + idea, nil
	case "restore":
		return workshop.TypeRestore, workshop.Restore{Idea: idea}, "idea " + idea, nil
	case "edit":
		text := field("text")
		if text == "" {
			return "", nil, "", msg("workshops.error.text_needed")
		}
		return workshop.TypeEdit, workshop.Edit{Idea: idea, Text: text}, "idea " + idea, nil
	case "remove":
		return workshop.TypeRemove, workshop.Remove{Voter: field("voter")}, "voter " + field("voter"), nil
	case "move":
		to := field("to")
		if to == "unsorted" {
			to = workshop.PlaceUnsorted
		}
		return workshop.TypeMove, workshop.Move{Idea: idea, To: to}, "idea " + idea + " → " + field("to"), nil
	case "theme_new":
		name := field("name")
		if name == "" {
			return "", nil, "", msg("workshops.error.name_needed")
		}
		id, err := c.randToken(6)
		if err != nil {
			return "", nil, "", msg("error.server")
		}
		id = "th-" + strings.NewReplacer("_", "", "-", "").Replace(id)
		return workshop.TypeTheme, workshop.Theme{Theme: id, Name: name}, "theme " + id, nil
	case "theme_rename":
		name := field("name")
		if name == "" {
			return "", nil, "", msg("workshops.error.name_needed")
		}
		return workshop.TypeTheme, workshop.Theme{Theme: field("theme"), Name: name}, "theme " + field("theme"), nil
	case "theme_drop":
		return workshop.TypeThemeDrop, workshop.ThemeDrop{Theme: field("theme")}, "theme " + field("theme"), nil
	case "merge":
		into := field("into")
		if into == "" || into == idea {
			return "", nil, "", msg("workshops.error.choose_into")
		}
		return workshop.TypeMerge, workshop.Merge{Idea: idea, Into: into}, "idea " + idea + " into " + into, nil
	case "unmerge":
		return workshop.TypeUnmerge, workshop.Unmerge{Merge: field("merge")}, "merge " + field("merge"), nil
	case "vote":
		// Blank dots: the service's default (the plan's, or the formula's
		// for the items there are); blank cap: none.
		round, ok := intField("round")
		dots, ok2 := intField("dots")
		if field("dots") == "" {
			dots, ok2 = 0, true
		}
		maxPer, ok3 := intField("max_per_item")
		if field("max_per_item") == "" {
			maxPer, ok3 = 0, true
		}
		if !ok || !ok2 || !ok3 || round < 1 || dots > workshop.MaxDotsPerVoter {
			return "", nil, "", msg("workshops.error.vote_numbers", "max", workshop.MaxDotsPerVoter)
		}
		on := field("on")
		if on != workshop.OnThemes {
			on = workshop.OnIdeas
		}
		return workshop.TypeVote, workshop.Vote{Round: round, On: on, Dots: dots, MaxPerItem: maxPer},
			fmt.Sprintf("round %d on %s: %d dots, at most %d an item", round, on, dots, maxPer), nil
	case "reveal":
		round, ok := intField("round")
		if !ok || round < 1 {
			return "", nil, "", msg("workshops.error.vote_numbers", "max", workshop.MaxDotsPerVoter)
		}
		return workshop.TypeReveal, workshop.Reveal{Round: round}, fmt.Sprintf("round %d", round), nil
	case "runoff":
		from, ok := intField("from")
		k, ok2 := intField("top_k")
		if !ok || !ok2 || from < 1 || k < 2 {
			return "", nil, "", msg("workshops.error.runoff_numbers")
		}
		return workshop.TypeRunoff, workshop.Runoff{From: from, Round: len(s.Rounds) + 1, TopK: k}, fmt.Sprintf("top %d of round %d", k, from), nil
	case "late_accept", "late_reject":
		dots := r.PostForm["dot"]
		if len(dots) == 0 {
			for _, d := range s.Dots {
				if d.Status == workshop.DotLate {
					dots = append(dots, d.ID)
				}
			}
		}
		if len(dots) == 0 || len(dots) > maxLateDots {
			return "", nil, "", msg("workshops.error.no_late_dots")
		}
		return workshop.TypeLateDots, workshop.LateDots{Dots: dots, Accept: op == "late_accept"}, fmt.Sprintf("%d dots", len(dots)), nil
	}
	return "", nil, "", msg("workshops.error.unknown_action")
}
