package console

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/hub-server/internal/workshops"
	"github.com/quartierhub/quartierhub/internal/userr"
	"github.com/quartierhub/quartierhub/internal/workshop"
)

// phaseRows is how many empty phase rows the prepare form adds for new phases.
const phaseRows = 2

// workshopForm is the prepare form as typed, so a refused save shows
// the moderator's entries again.
type workshopForm struct {
	ID                            string // "" for a new workshop
	Version                       int64
	Status                        string
	Title, Question, Lang, Method string
	Phases                        []phaseRow
	Dots, MaxPerItem, Tables      string
	MaxIdeaChars                  string
	VoteOn                        string
	Named, Phones                 bool
	Words                         string
	Terminals                     map[string]bool
}

// phaseRow is one phase of the plan as typed.
type phaseRow struct{ Kind, Title, Minutes, Round string }

// workshopEditData is the prepare page.
type workshopEditData struct {
	Form    workshopForm
	Methods []string
	Kinds   []string
	Groups  []terminalGroup
	// DefaultDots explains the blank dots field: its formula's value for
	// a few idea counts.
	DefaultDots []defaultDots
	Problem     *Message
	Conflict    bool
	// Current is the spec saved meanwhile, shown beside the entries on a conflict.
	Current *workshop.Spec
	// Locked: the workshop has opened; its spec is fixed.
	Locked bool
}

type defaultDots struct{ Ideas, Dots int }

// terminalGroup is a quarter's terminals for the checkboxes.
type terminalGroup struct {
	Quarter   string
	Terminals []store.Terminal
}

var (
	workshopMethods = []string{workshop.MethodSimple, workshop.Method1248All, workshop.MethodCafe}
	phaseKinds      = []string{workshop.PhaseIdeas, workshop.PhaseCluster, workshop.PhaseVote, workshop.PhaseResults}
)

// formFromSpec is the prepare form of a stored spec.
func formFromSpec(info store.Workshop, s workshop.Spec) workshopForm {
	f := workshopForm{ID: info.ID, Version: info.Version, Status: info.Status, Title: s.Title, Question: s.Question, Lang: s.Lang,
		Method: s.Method, VoteOn: s.VoteOn, Named: s.Named, Phones: s.Phones, Words: strings.Join(s.Words, "\n"),
		Terminals: map[string]bool{}}
	for _, p := range s.Phases {
		f.Phases = append(f.Phases, phaseFromSpec(p))
	}
	f.Dots, f.MaxPerItem, f.Tables, f.MaxIdeaChars = blankZero(s.Dots), blankZero(s.MaxPerItem), blankZero(s.Tables), blankZero(s.MaxIdeaChars)
	for _, t := range s.Terminals {
		f.Terminals[t] = true
	}
	return f
}

func phaseFromSpec(p workshop.PhaseSpec) phaseRow {
	return phaseRow{Kind: p.Kind, Title: p.Title, Minutes: blankZero(p.Minutes), Round: blankZero(p.Round)}
}

func blankZero(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

// newWorkshopForm is the form of a new workshop: simple method, its
// default phases, phones welcome, in the console user's language.
func newWorkshopForm(lang string) workshopForm {
	f := workshopForm{Lang: lang, Method: workshop.MethodSimple, VoteOn: workshop.OnIdeas, Phones: true, Terminals: map[string]bool{}}
	for _, p := range workshop.DefaultPhasesIn(f.Method, 0, f.Lang) {
		f.Phases = append(f.Phases, phaseFromSpec(p))
	}
	return f
}

// readWorkshopForm reads the posted prepare form.
func readWorkshopForm(r *http.Request) workshopForm {
	v := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	f := workshopForm{ID: r.PathValue("id"), Version: formVersion(r), Title: v("title"), Question: v("question"), Lang: v("lang"),
		Method: v("method"), Dots: v("dots"), MaxPerItem: v("max_per_item"), Tables: v("tables"), MaxIdeaChars: v("max_idea_chars"),
		VoteOn: v("vote_on"), Named: v("named") == "yes", Phones: v("phones") == "yes",
		Words: strings.ReplaceAll(r.PostFormValue("words"), "\r\n", "\n"), Terminals: map[string]bool{}}
	kinds, titles, minutes, rounds := r.PostForm["phase_kind"], r.PostForm["phase_title"], r.PostForm["phase_minutes"], r.PostForm["phase_round"]
	for i := range titles {
		row := phaseRow{Title: strings.TrimSpace(titles[i])}
		if i < len(kinds) {
			row.Kind = kinds[i]
		}
		if i < len(minutes) {
			row.Minutes = strings.TrimSpace(minutes[i])
		}
		if i < len(rounds) {
			row.Round = strings.TrimSpace(rounds[i])
		}
		if row.Title == "" && row.Minutes == "" {
			continue // an empty row, or one the moderator cleared to drop it
		}
		f.Phases = append(f.Phases, row)
	}
	for _, t := range r.PostForm["terminal"] {
		f.Terminals[t] = true
	}
	return f
}

// spec turns the form into a spec; a number that is no number is a
// problem naming its field.
func (f workshopForm) spec() (workshop.Spec, *Message) {
	s := workshop.Spec{Title: f.Title, Question: f.Question, Lang: f.Lang, Method: f.Method, VoteOn: f.VoteOn, Named: f.Named, Phones: f.Phones}
	num := func(field *Message, v string, dst *int) *Message {
		if v == "" {
			return nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return msg("workshops.error.number", "field", field)
		}
		*dst = n
		return nil
	}
	for _, p := range []struct {
		field *Message
		v     string
		dst   *int
	}{{msg("workshops.dots"), f.Dots, &s.Dots}, {msg("workshops.max_per_item"), f.MaxPerItem, &s.MaxPerItem},
		{msg("workshops.tables"), f.Tables, &s.Tables}, {msg("workshops.max_idea_chars"), f.MaxIdeaChars, &s.MaxIdeaChars}} {
		if m := num(p.field, p.v, p.dst); m != nil {
			return s, m
		}
	}
	for _, row := range f.Phases {
		p := workshop.PhaseSpec{Kind: row.Kind, Title: row.Title}
		if m := num(msg("workshops.minutes"), row.Minutes, &p.Minutes); m != nil {
			return s, m
		}
		if m := num(msg("workshops.round"), row.Round, &p.Round); m != nil {
			return s, m
		}
		s.Phases = append(s.Phases, p)
	}
	for _, w := range strings.FieldsFunc(f.Words, func(r rune) bool { return r == '\n' || r == ',' }) {
		if w = strings.TrimSpace(w); w != "" && !slices.Contains(s.Words, w) {
			s.Words = append(s.Words, w)
		}
	}
	for t := range f.Terminals {
		s.Terminals = append(s.Terminals, t)
	}
	slices.Sort(s.Terminals)
	return s, nil
}

// editData fills what the prepare page shows besides the form.
func (c *Console) editData(r *http.Request, f workshopForm) (workshopEditData, error) {
	d := workshopEditData{Form: f, Methods: workshopMethods, Kinds: phaseKinds, Locked: f.Status != "" && f.Status != workshopDraft}
	for range phaseRows {
		d.Form.Phases = append(d.Form.Phases, phaseRow{})
	}
	for _, n := range []int{6, 12, 21} {
		d.DefaultDots = append(d.DefaultDots, defaultDots{Ideas: n, Dots: workshop.DefaultDots(n)})
	}
	ts, err := c.st.Terminals(r.Context())
	if err != nil {
		return d, err
	}
	for _, t := range ts {
		if t.Revoked() {
			continue
		}
		i := slices.IndexFunc(d.Groups, func(g terminalGroup) bool { return g.Quarter == t.Quarter })
		if i < 0 {
			d.Groups = append(d.Groups, terminalGroup{Quarter: t.Quarter})
			i = len(d.Groups) - 1
		}
		d.Groups[i].Terminals = append(d.Groups[i].Terminals, t)
	}
	slices.SortFunc(d.Groups, func(a, b terminalGroup) int { return cmp.Compare(a.Quarter, b.Quarter) })
	return d, nil
}

func (c *Console) showWorkshopEdit(w http.ResponseWriter, r *http.Request, status int, d workshopEditData) {
	c.render(w, r, status, "workshop_edit", msg("workshops.prepare"), "workshops", d)
}

// workshopNew shows the prepare form of a new workshop.
func (c *Console) workshopNew(w http.ResponseWriter, r *http.Request) {
	if c.o.Workshops == nil {
		c.fail(w, r, http.StatusNotFound, msg("workshops.error.no_service"))
		return
	}
	d, err := c.editData(r, newWorkshopForm(c.lang(r, principalFrom(r.Context()), false)))
	if err != nil {
		c.serverError(w, r, "workshop new", err)
		return
	}
	c.showWorkshopEdit(w, r, http.StatusOK, d)
}

// workshopEdit shows a workshop's prepare form.
func (c *Console) workshopEdit(w http.ResponseWriter, r *http.Request) {
	v, ok := c.workshopOf(w, r)
	if !ok {
		return
	}
	d, err := c.editData(r, formFromSpec(v.Workshop, v.State.Spec))
	if err != nil {
		c.serverError(w, r, "workshop edit", err)
		return
	}
	c.showWorkshopEdit(w, r, http.StatusOK, d)
}

// workshopSave stores the prepare form: a new workshop (POST
// /console/workshops) or a draft's new spec on the version the form was
// loaded with. op=method only swaps in the chosen method's default
// phases and shows the form again (how the page works without JavaScript).
func (c *Console) workshopSave(w http.ResponseWriter, r *http.Request) {
	if c.o.Workshops == nil {
		c.fail(w, r, http.StatusNotFound, msg("workshops.error.no_service"))
		return
	}
	if r.PostFormValue("op") == "copy" {
		c.workshopCopy(w, r)
		return
	}
	ctx := r.Context()
	f := readWorkshopForm(r)
	if f.ID != "" {
		cur, ok := c.workshopOf(w, r)
		if !ok {
			return
		}
		f.Status = cur.Workshop.Status
	}
	var current *workshop.Spec // the version saved meanwhile, on a conflict
	show := func(status int, problem *Message, conflict bool) {
		d, err := c.editData(r, f)
		if err != nil {
			c.serverError(w, r, "workshop edit", err)
			return
		}
		d.Problem, d.Conflict, d.Current = problem, conflict, current
		c.showWorkshopEdit(w, r, status, d)
	}
	if r.PostFormValue("op") == "method" {
		tables, _ := strconv.Atoi(f.Tables)
		f.Phases = nil
		for _, p := range workshop.DefaultPhasesIn(f.Method, tables, f.Lang) {
			f.Phases = append(f.Phases, phaseFromSpec(p))
		}
		show(http.StatusOK, nil, false)
		return
	}
	if f.Status != "" && f.Status != workshopDraft {
		show(http.StatusConflict, msg("workshops.error.locked"), false)
		return
	}
	spec, problem := f.spec()
	if problem == nil {
		if err := spec.Validate(); err != nil {
			problem = verbatim(err.Error())
		}
	}
	if problem != nil {
		show(http.StatusUnprocessableEntity, problem, false)
		return
	}
	// The service audits what it stores (create, update) in the same transaction.
	if f.ID == "" {
		ws, err := c.o.Workshops.Create(ctx, spec, actor(ctx))
		if err != nil {
			c.workshopSaveFailed(w, r, err, show)
			return
		}
		c.redirect(w, r, "/console/workshops/"+ws.ID+"/edit", "workshop_saved")
		return
	}
	_, err := c.o.Workshops.UpdateSpec(ctx, f.ID, spec, f.Version, actor(ctx))
	if errors.Is(err, store.ErrVersionConflict) {
		cur, ok := c.workshopOf(w, r)
		if !ok {
			return
		}
		c.o.Logger.Info("console: workshop edit conflict", "workshop", f.ID, "base", f.Version, "current", cur.Workshop.Version)
		if err := c.audit(ctx, "workshop.conflict", "workshop:"+f.ID, fmt.Sprintf("not saved: based on version %d, version %d was saved meanwhile", f.Version, cur.Workshop.Version)); err != nil {
			c.o.Logger.Error("console: audit", "action", "workshop.conflict", "err", err)
		}
		// The moderator's entries stay; saving again replaces the version
		// saved meanwhile, which the page shows beside them.
		f.Version, f.Status, current = cur.Workshop.Version, cur.Workshop.Status, &cur.State.Spec
		show(http.StatusConflict, nil, true)
		return
	} else if err != nil {
		c.workshopSaveFailed(w, r, err, show)
		return
	}
	c.redirect(w, r, "/console/workshops/"+f.ID+"/edit", "workshop_saved")
}

// workshopSaveFailed answers a save the service refused: opened
// meanwhile, or a plan its rules refuse (a message a person may read).
func (c *Console) workshopSaveFailed(w http.ResponseWriter, r *http.Request, err error, show func(int, *Message, bool)) {
	var ue *userr.Error
	switch {
	case errors.Is(err, workshops.ErrNotDraft):
		show(http.StatusConflict, msg("workshops.error.locked"), false)
	case errors.As(err, &ue):
		show(http.StatusUnprocessableEntity, verbatim(ue.Msg), false)
	default:
		c.serverError(w, r, "workshop save", err)
	}
}
