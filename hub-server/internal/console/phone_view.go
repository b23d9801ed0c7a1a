package console

import (
	"fmt"
	"sync"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/workshops"
	"github.com/quartierhub/quartierhub/internal/workshop"
)

// phoneView is what a participant's phone shows: rendered by the page
// template, and sent as JSON over the live socket for phone.js to
// render the same way. Texts are already in the participant's language;
// nothing in it names another participant.
type phoneView struct {
	Code     string `json:"code"`
	Title    string `json:"title"`
	Question string `json:"question"`
	// Phones: the workshop takes phones at all (Spec.Phones).
	Phones bool `json:"phones"`
	// Stage is "draft" (not open yet), "open" or "ended".
	Stage    string `json:"stage"`
	JoinOpen bool   `json:"join_open"`
	// Joined: this guest has a number here; Label is it ("Gast 17").
	Joined  bool   `json:"joined"`
	Label   string `json:"label,omitempty"`
	Removed bool   `json:"removed,omitempty"`
	// Voters is how many have checked in (all devices).
	Voters int        `json:"voters"`
	Phase  phonePhase `json:"phase"`
	// Ideas phase.
	MaxChars  int         `json:"max_chars"`
	Named     bool        `json:"named"`
	IdeaCount int         `json:"idea_count"` // everyone's visible ideas
	Mine      []phoneIdea `json:"mine"`
	Done      bool        `json:"done"`
	DoneCount int         `json:"done_count"`
	// Cluster phase: the themes as they form, and the ideas not yet in one.
	Themes   []phoneTheme `json:"themes"`
	Unsorted []string     `json:"unsorted"`
	// Vote phase.
	Vote *phoneVote `json:"vote,omitempty"`
	// Results of the revealed rounds, newest first.
	Results []phoneResults `json:"results"`
	// IdeaCountText says IdeaCount in words.
	IdeaCountText string `json:"idea_count_text"`
	// Words are the fixed texts phone.js needs to render the view.
	Words map[string]string `json:"words"`
	// Key is the phase and round the page's structure depends on:
	// phone.js reloads the page when it changes, re-renders otherwise.
	Key string `json:"key"`
}

type phonePhase struct {
	Index int    `json:"index"`
	N     int    `json:"n"` // Index+1, as people count
	Of    int    `json:"of"`
	Kind  string `json:"kind"`
	Title string `json:"title"`
	// EndsAt is the timer (unix ms), 0 for none; EndsText says it in words.
	EndsAt   int64  `json:"ends_at"`
	EndsText string `json:"ends_text,omitempty"`
}

type phoneIdea struct {
	ID     string `json:"id"`
	Text   string `json:"text"`
	Status string `json:"status,omitempty"` // in words: pending, hidden, held, late
}

type phoneTheme struct {
	Name  string   `json:"name"`
	Ideas []string `json:"ideas"`
}

type phoneVote struct {
	Round      int    `json:"round"`
	Dots       int    `json:"dots"`
	Left       int    `json:"left"`
	LeftText   string `json:"left_text"`
	MaxPerItem int    `json:"max_per_item"`
	// Summary says the guest's own dots in words: counted, pending,
	// over the limit.
	Summary  string      `json:"summary"`
	Revealed bool        `json:"revealed"`
	Closed   bool        `json:"closed"`
	Items    []phoneItem `json:"items"`
}

type phoneItem struct {
	ID   string `json:"id"`
	Text string `json:"text"`
	// Mine are the guest's own dots on it that can still be taken back.
	Mine []phoneDot `json:"mine"`
	// CanAdd: a dot left and the item's cap not reached.
	CanAdd bool `json:"can_add"`
	// Total once the round is revealed, else -1.
	Total int `json:"total"`
}

type phoneDot struct {
	ID     string `json:"id"`
	Status string `json:"status"` // counted, pending, over_limit, late
	Word   string `json:"word"`   // the status in words
}

type phoneResults struct {
	Round int           `json:"round"`
	On    string        `json:"on"`
	Items []phoneResult `json:"items"`
}

type phoneResult struct {
	Rank    int    `json:"rank"`
	Text    string `json:"text"`
	Dots    int    `json:"dots"`
	NearTie bool   `json:"near_tie"`
}

// dotWords names a dot's status for its voter.
var dotWords = map[workshop.DotStatus]*Message{
	workshop.DotCounted:   msg("phone.dot.counted"),
	workshop.DotPending:   msg("phone.dot.pending"),
	workshop.DotOverLimit: msg("phone.dot.over_limit"),
	workshop.DotLate:      msg("phone.dot.late"),
	workshop.DotRejected:  msg("phone.dot.rejected"),
	workshop.DotVoid:      msg("phone.dot.void"),
}

// buildPhoneView is what guest g (none: guest{}) sees of workshop v in
// lang at now.
func buildPhoneView(v workshops.View, g guest, lang string, now time.Time) phoneView {
	voter, _ := phoneVoter(v, g)
	return buildPhoneViewAs(v, voter, phoneBaseOf(v, lang), lang, now)
}

// phoneBase is the part of a phone's view that is the same for every
// participant of one language: built once per fold and language and
// shared read-only by every phone, so a change costs one walk over the
// workshop, not one per live socket.
type phoneBase struct {
	view  phoneView         // without the participant's parts
	texts map[string]string // visible ideas' texts by ID
}

// phoneBaseCache keeps the bases of the newest folds; a fold is never
// changed, so its pointer is the key.
type phoneBaseCache struct {
	mu sync.Mutex
	m  map[phoneBaseKey]*phoneBase
}

type phoneBaseKey struct {
	state  *workshop.State
	status string
	lang   string
}

// phoneBases is shared by every Console: the key names the fold itself.
var phoneBases = &phoneBaseCache{m: map[phoneBaseKey]*phoneBase{}}

// phoneBaseOf returns the base of v in lang, building it on first use.
func phoneBaseOf(v workshops.View, lang string) *phoneBase {
	k := phoneBaseKey{v.State, v.Workshop.Status, lang}
	phoneBases.mu.Lock()
	defer phoneBases.mu.Unlock()
	if b := phoneBases.m[k]; b != nil {
		return b
	}
	if len(phoneBases.m) >= 64 { // old folds are not asked for again
		clear(phoneBases.m)
	}
	b := buildPhoneBase(v, lang)
	phoneBases.m[k] = b
	return b
}

// buildPhoneBase is what everyone sees of workshop v in lang.
func buildPhoneBase(v workshops.View, lang string) *phoneBase {
	s := v.State
	spec := s.Spec
	pv := phoneView{Code: v.Workshop.JoinCode, Title: spec.Title, Question: spec.Question, Phones: spec.Phones,
		JoinOpen: s.JoinOpen, MaxChars: spec.MaxIdeaChars, Named: spec.Named,
		Themes: []phoneTheme{}, Unsorted: []string{}, Results: []phoneResults{}}
	if pv.MaxChars <= 0 || pv.MaxChars > workshop.MaxIdeaText {
		pv.MaxChars = workshop.MaxIdeaText
	}
	switch {
	case s.Ended || v.Workshop.Status == workshops.StatusEnded:
		pv.Stage = workshops.StatusEnded
	case s.PhaseIndex < 0 || v.Workshop.Status == workshops.StatusDraft:
		pv.Stage = workshops.StatusDraft
	default:
		pv.Stage = workshops.StatusOpen
	}
	pv.Phase = phonePhase{Index: s.PhaseIndex, N: s.PhaseIndex + 1, Of: len(spec.Phases)}
	if ps := s.Phase(); ps != nil && pv.Stage == workshops.StatusOpen {
		pv.Phase.Kind, pv.Phase.Title = ps.Kind, ps.Title
		if !s.PhaseEndsAt.IsZero() {
			pv.Phase.EndsAt = s.PhaseEndsAt.UnixMilli()
		}
	}
	for _, vo := range s.Voters {
		if !vo.Removed && !vo.Left {
			pv.Voters++
		}
		if vo.DonePhases[s.PhaseIndex] {
			pv.DoneCount++
		}
	}
	texts := map[string]string{}
	for _, i := range s.Ideas {
		if i.Visible() && i.MergedInto == "" {
			pv.IdeaCount++
			texts[i.ID] = i.Text
		}
	}
	themed := map[string]bool{}
	for _, t := range s.Themes {
		pt := phoneTheme{Name: t.Name, Ideas: []string{}}
		for _, id := range t.Ideas {
			if txt, ok := texts[id]; ok {
				pt.Ideas = append(pt.Ideas, txt)
				themed[id] = true
			}
		}
		pv.Themes = append(pv.Themes, pt)
	}
	for _, i := range s.Ideas {
		if _, ok := texts[i.ID]; ok && !themed[i.ID] && !i.Late && i.Theme != workshop.PlaceParking {
			pv.Unsorted = append(pv.Unsorted, i.Text)
		}
	}
	for i := len(s.Rounds) - 1; i >= 0; i-- {
		if r := s.Rounds[i]; r.Revealed {
			pv.Results = append(pv.Results, buildPhoneResults(s, r))
		}
	}
	pv.IdeaCountText = msg("phone.ideas.count", "n", pv.IdeaCount).In(lang)
	pv.Words = phoneWords(lang)
	return &phoneBase{view: pv, texts: texts}
}

// buildPhoneViewAs is base with voter's own parts (voter "": a guest
// without a number) at now.
func buildPhoneViewAs(v workshops.View, voter string, base *phoneBase, lang string, now time.Time) phoneView {
	s := v.State
	pv := base.view
	pv.Mine = []phoneIdea{}
	if pv.Phase.EndsAt != 0 {
		pv.Phase.EndsText = endsText(s.PhaseEndsAt, now).In(lang)
	}
	var me *workshop.Voter
	if voter != "" {
		me = s.Voter(voter)
	}
	if me != nil {
		pv.Joined, pv.Label, pv.Removed = !me.Removed, me.Label, me.Removed
		pv.Done = me.DonePhases[s.PhaseIndex]
		for _, i := range s.Ideas {
			if i.Voter != me.ID {
				continue
			}
			pi := phoneIdea{ID: i.ID, Text: i.Text}
			switch {
			case i.Hidden:
				pi.Status = msg("phone.idea.hidden").In(lang)
			case i.Held:
				pi.Status = msg("phone.idea.held").In(lang)
			case i.Late:
				pi.Status = msg("phone.idea.late").In(lang)
			case i.Pending:
				pi.Status = msg("phone.idea.pending").In(lang)
			}
			pv.Mine = append(pv.Mine, pi)
		}
	}
	if pv.Phase.Kind == workshop.PhaseVote {
		if r := s.CurrentRound(); r != nil {
			pv.Vote = buildPhoneVote(s, r, me, lang)
		}
	}
	pv.Key = fmt.Sprintf("%s/%d/%s/%t/%t/%t", pv.Stage, pv.Phase.Index, pv.Phase.Kind, pv.Phones, pv.Joined, pv.Joined || pv.JoinOpen)
	if pv.Vote != nil {
		pv.Key += fmt.Sprintf("/r%d", pv.Vote.Round)
	}
	return pv
}

// phoneWords are the texts phone.js puts around a view's data, in lang;
// {n} is filled in by the script.
func phoneWords(lang string) map[string]string {
	return map[string]string{
		"add":         msg("phone.vote.add").In(lang),
		"take":        msg("phone.vote.take").In(lang),
		"total":       msg("phone.vote.total", "n", "{n}").In(lang),
		"round":       msg("phone.results.round", "n", "{n}").In(lang),
		"near_tie":    msg("phone.results.near_tie").In(lang),
		"unsorted":    msg("phone.cluster.unsorted").In(lang),
		"empty_theme": msg("phone.cluster.empty_theme").In(lang),
		"no_ideas":    msg("phone.ideas.none").In(lang),
	}
}

// buildPhoneVote is round r as voter me (nil: not checked in) sees it.
func buildPhoneVote(s *workshop.State, r *workshop.Round, me *workshop.Voter, lang string) *phoneVote {
	pv := &phoneVote{Round: r.N, Dots: r.Dots, MaxPerItem: r.MaxPerItem, Revealed: r.Revealed, Closed: r.Closed, Items: []phoneItem{}}
	// The fold decides what can be voted on (Tally lists exactly that);
	// the items keep the order they came in, for the order of a tally
	// would give away the totals before they are revealed.
	tally := s.Tally(r.N)
	text := map[string]string{}
	totals := map[string]int{}
	for _, res := range tally {
		text[res.Item], totals[res.Item] = res.Text, res.Dots
	}
	var ids []string
	if r.On == workshop.OnThemes {
		for _, t := range s.Themes {
			if _, ok := text[t.ID]; ok {
				ids = append(ids, t.ID)
			}
		}
	} else {
		for _, i := range s.Ideas {
			if _, ok := text[i.ID]; ok {
				ids = append(ids, i.ID)
			}
		}
	}
	left := r.Dots
	var dots []*workshop.DotState
	if me != nil {
		left, dots = s.VoterDots(me.ID, r.N)
	}
	pv.Left = max(left, 0)
	pv.LeftText = msg("phone.vote.left", "n", pv.Left).In(lang)
	counts := map[workshop.DotStatus]int{}
	onItem := map[string][]phoneDot{}
	live := map[string]int{} // dots on an item that count toward its cap
	for _, d := range dots {
		counts[d.Status]++
		if d.Status == workshop.DotTaken || d.Status == workshop.DotVoid || d.Status == workshop.DotRejected {
			continue
		}
		onItem[d.Item] = append(onItem[d.Item], phoneDot{ID: d.ID, Status: string(d.Status), Word: dotWords[d.Status].In(lang)})
		if d.Status == workshop.DotCounted || d.Status == workshop.DotPending {
			live[d.Item]++
		}
	}
	pv.Summary = msg("phone.vote.summary", "counted", counts[workshop.DotCounted], "pending", counts[workshop.DotPending],
		"over", counts[workshop.DotOverLimit]).In(lang)
	for _, id := range ids {
		it := phoneItem{ID: id, Text: text[id], Mine: onItem[id], Total: -1}
		if it.Mine == nil {
			it.Mine = []phoneDot{}
		}
		it.CanAdd = me != nil && !me.Removed && !r.Closed && pv.Left > 0 && (r.MaxPerItem <= 0 || live[id] < r.MaxPerItem)
		if r.Revealed {
			it.Total = totals[id]
		}
		pv.Items = append(pv.Items, it)
	}
	return pv
}

// buildPhoneResults is round r's ranking as everyone may see it.
func buildPhoneResults(s *workshop.State, r *workshop.Round) phoneResults {
	out := phoneResults{Round: r.N, On: r.On, Items: []phoneResult{}}
	for _, res := range s.Tally(r.N) {
		out.Items = append(out.Items, phoneResult{Rank: res.Rank, Text: res.Text, Dots: res.Dots, NearTie: res.NearTie})
	}
	return out
}

// endsText says when a phase's timer ends: in how many minutes, and the
// time of day, so no one has to race a countdown they cannot see.
func endsText(at, now time.Time) *Message {
	left := at.Sub(now)
	if left <= 0 {
		return msg("phone.timer.over")
	}
	return msg("phone.timer.ends", "minutes", int((left+time.Minute-1)/time.Minute), "at", at.Local().Format("15:04"))
}
