package workshop

import (
	"cmp"
	"slices"
	"strings"
	"time"
)

// Fold turns a workshop's events into its state. The result depends only
// on the set of events, not on the order or how often they are given:
// events are deduplicated by ID (a stamped copy wins over an unstamped
// one), stamped events are applied in HubSeq order and unstamped ones
// after them by (HLC, Device, Seq, ID). Events that do not apply are
// listed in State.Refused; nothing is ever dropped silently. See
// merge.go for how conflicts are decided.
func Fold(id string, spec Spec, events []Event) *State {
	f := newFolder(id, spec, len(events))
	for i, e := range orderEvents(events) {
		if i >= MaxEventsPerLog {
			f.refuse(e, ReasonTooMany)
			continue
		}
		f.apply(e)
	}
	f.finish()
	return f.s
}

// orderEvents deduplicates events by ID and sorts them into fold order.
func orderEvents(events []Event) []Event {
	at := make(map[string]int, len(events))
	out := make([]Event, 0, len(events))
	for _, e := range events {
		i, ok := at[e.ID]
		if !ok {
			at[e.ID] = len(out)
			out = append(out, e)
			continue
		}
		if preferCopy(e, out[i]) {
			out[i] = e
		}
	}
	slices.SortFunc(out, compareFoldOrder)
	return inDeviceOrder(out)
}

// inDeviceOrder keeps sorted's order except that a terminal's event
// waits for that terminal's events with lower sequence numbers that are
// in the log: a terminal sends over two roads (its live socket and its
// outbox), so the hub may stamp its sixth event before its fifth, and a
// dot's take-back or an idea must not be folded before the dot or the
// check-in it follows. A missing number holds nothing up. The result
// depends only on the events, so every device still folds alike.
func inDeviceOrder(sorted []Event) []Event {
	seqs := map[string][]uint64{}
	for _, e := range sorted {
		if e.Device != DeviceHub {
			seqs[e.Device] = append(seqs[e.Device], e.Seq)
		}
	}
	inOrder := true
	for _, s := range seqs {
		if !slices.IsSorted(s) {
			inOrder = false
			slices.Sort(s)
		}
	}
	if inOrder {
		return sorted
	}
	out := make([]Event, 0, len(sorted))
	next := make(map[string]int, len(seqs))
	held := map[string]map[uint64][]Event{}
	for _, e := range sorted {
		s, d := seqs[e.Device], e.Device
		if s == nil || s[next[d]] == e.Seq {
			out = append(out, e)
			if s == nil {
				continue
			}
			next[d]++
			// Release what waited for it, in sequence order.
			for next[d] < len(s) {
				waiting := held[d][s[next[d]]]
				if len(waiting) == 0 {
					break
				}
				out = append(out, waiting[0])
				held[d][s[next[d]]] = waiting[1:]
				next[d]++
			}
			continue
		}
		if held[d] == nil {
			held[d] = map[uint64][]Event{}
		}
		held[d][e.Seq] = append(held[d][e.Seq], e)
	}
	return out
}

// preferCopy reports whether a is the copy of an event to keep over b
// (same ID): the stamped one, else the lower HubSeq, else, for copies
// that differ though they should not, the lesser content, so the choice
// does not depend on which came first.
func preferCopy(a, b Event) bool {
	if (a.HubSeq == 0) != (b.HubSeq == 0) {
		return a.HubSeq != 0
	}
	if a.HubSeq != b.HubSeq {
		return a.HubSeq < b.HubSeq
	}
	return compareContent(a, b) < 0
}

func compareContent(a, b Event) int {
	if c := compareUnstamped(a, b); c != 0 {
		return c
	}
	return cmp.Or(
		cmp.Compare(a.Workshop, b.Workshop),
		cmp.Compare(a.Actor, b.Actor),
		cmp.Compare(a.Type, b.Type),
		cmp.Compare(string(a.Data), string(b.Data)),
	)
}

func compareFoldOrder(a, b Event) int {
	as, bs := a.HubSeq != 0, b.HubSeq != 0
	switch {
	case as && bs:
		return cmp.Or(cmp.Compare(a.HubSeq, b.HubSeq), cmp.Compare(a.ID, b.ID))
	case as:
		return -1
	case bs:
		return 1
	}
	return compareUnstamped(a, b)
}

func compareUnstamped(a, b Event) int {
	return cmp.Or(a.HLC.Compare(b.HLC), cmp.Compare(a.Device, b.Device),
		cmp.Compare(a.Seq, b.Seq), cmp.Compare(a.ID, b.ID))
}

// folder is one fold's working state.
type folder struct {
	s     *State
	words wordList
	order int // events applied so far

	ideasClosedAt map[int]int64   // ideas phase → deadline that closed it (absent while open)
	phaseOpened   map[int]bool    // phases entered at least once
	phaseRound    map[int]*Round  // vote phase → its round
	rounds        map[int]*Round  // round number → round
	roundDefault  map[int]int     // round number → default dots when it opened
	voteCfg       map[int]voteCfg // round number → last Vote by HLC

	placeKey map[string]lwwKey // idea → the Move (or drop) that placed it
	moved    map[string]bool   // ideas a moderator moved (out of the late lane)
	textKey  map[string]lwwKey // idea → the Edit that set its text
	nameKey  map[string]lwwKey // theme → the Theme event that named it

	merges map[string]mergeEdge // Merge event ID → its edge, while active

	dots      []*dotRec
	roundDots map[int][]*dotRec
	dotIdx    map[string]*dotRec
}

type voteCfg struct {
	v   Vote
	key lwwKey
}

type mergeEdge struct{ idea, into string }

// dotRec is a dot and what the fold learnt about it besides its status.
type dotRec struct {
	*DotState
	at       int64 // HLC wall, ms
	pending  bool
	taken    bool
	decision int8 // 0 undecided, decAccept, decReject (late dots)
}

const (
	decAccept int8 = 1
	decReject int8 = 2
)

func newFolder(id string, spec Spec, events int) *folder {
	return &folder{
		s: &State{
			ID: id, Spec: spec, PhaseIndex: -1, JoinOpen: true,
			ideaIdx: map[string]*IdeaState{}, themeIdx: map[string]*ThemeState{},
			voterIdx: map[string]*Voter{}, dotIdx: make(map[string]*DotState, events/2),
			parent: map[string]string{}, roundDots: map[int][]*DotState{},
		},
		words:         newWordList(spec.Words),
		ideasClosedAt: map[int]int64{},
		phaseOpened:   map[int]bool{},
		phaseRound:    map[int]*Round{},
		rounds:        map[int]*Round{},
		roundDefault:  map[int]int{},
		voteCfg:       map[int]voteCfg{},
		placeKey:      map[string]lwwKey{},
		moved:         map[string]bool{},
		textKey:       map[string]lwwKey{},
		nameKey:       map[string]lwwKey{},
		merges:        map[string]mergeEdge{},
		roundDots:     map[int][]*dotRec{},
		dotIdx:        make(map[string]*dotRec, events/2),
	}
}

func (f *folder) refuse(e Event, r Reason) {
	f.s.Refused = append(f.s.Refused, Refusal{Event: e.ID, Actor: e.Actor, Device: e.Device, Reason: r})
}

// moderatorActor reports whether e comes from a moderator where one can
// be: console staff ("m:") through the hub, a moderator's card ("c:") at
// a terminal.
func moderatorActor(e Event) bool {
	switch {
	case strings.HasPrefix(e.Actor, ActorModeratorPrefix):
		return e.Device == DeviceHub
	case strings.HasPrefix(e.Actor, ActorCardPrefix):
		return strings.HasPrefix(e.Device, DeviceTerminalPrefix)
	}
	return false
}

func (f *folder) apply(e Event) {
	if e.Workshop != f.s.ID || e.validateEnvelope() != nil {
		f.refuse(e, ReasonInvalid)
		return
	}
	p, err := e.payload(false)
	if err != nil {
		f.refuse(e, ReasonInvalid)
		return
	}
	f.order++
	if e.HubSeq > f.s.Cursor {
		f.s.Cursor = e.HubSeq
	}
	if ModeratorType(e.Type) {
		if !moderatorActor(e) {
			f.refuse(e, ReasonNotAllowed)
			return
		}
		if r := f.moderate(e, p); r != "" {
			f.refuse(e, r)
		}
		return
	}
	var r Reason
	switch v := p.(type) {
	case CheckIn:
		r = f.checkIn(e, v)
	case Idea:
		r = f.idea(e, v)
	case Done:
		r = f.done(e, v)
	case Dot:
		r = f.dot(e, v)
	case DotTake:
		r = f.dotTake(e, v)
	case nil: // TypeLeave
		r = f.leave(e)
	default:
		r = ReasonInvalid
	}
	if r != "" {
		f.refuse(e, r)
	}
}

// voter returns the acting voter if it may act, or why not.
func (f *folder) voter(e Event) (*Voter, Reason) {
	if !strings.HasPrefix(e.Actor, ActorVoterPrefix) {
		return nil, ReasonNotAllowed
	}
	v := f.s.voterIdx[e.Actor]
	switch {
	case v == nil:
		return nil, ReasonNotCheckedIn
	case v.Removed:
		return nil, ReasonRemoved
	}
	return v, ""
}

func (f *folder) checkIn(e Event, c CheckIn) Reason {
	if !strings.HasPrefix(e.Actor, ActorVoterPrefix) {
		return ReasonNotAllowed
	}
	if f.s.Ended {
		return ReasonNotOpen
	}
	if v := f.s.voterIdx[e.Actor]; v != nil {
		switch {
		case v.Removed:
			return ReasonRemoved
		case v.Left:
			v.Left = false
			return ""
		}
		return ReasonDuplicate
	}
	switch {
	case !f.s.JoinOpen:
		return ReasonJoinClosed
	case c.Via == ViaPhone && !f.s.Spec.Phones:
		return ReasonNoPhones
	case len(f.s.Voters) >= MaxVoters:
		return ReasonTooMany
	}
	v := &Voter{ID: e.Actor, Via: c.Via, Label: c.Label, Device: e.Device, Pending: e.HubSeq == 0}
	f.s.Voters = append(f.s.Voters, v)
	f.s.voterIdx[v.ID] = v
	return ""
}

func (f *folder) leave(e Event) Reason {
	v, r := f.voter(e)
	if r != "" {
		return r
	}
	v.Left = true
	return ""
}

func (f *folder) idea(e Event, d Idea) Reason {
	if strings.HasPrefix(e.Actor, ActorVoterPrefix) {
		if _, r := f.voter(e); r != "" {
			return r
		}
	} else if !moderatorActor(e) {
		return ReasonNotAllowed
	}
	if f.s.Ended || len(f.phaseOpened) == 0 {
		return ReasonNotOpen
	}
	if d.Phase >= len(f.s.Spec.Phases) || f.s.Spec.Phases[d.Phase].Kind != PhaseIdeas || !f.phaseOpened[d.Phase] {
		return ReasonWrongPhase
	}
	if runeCount(d.Text) > f.s.Spec.IdeaChars() {
		return ReasonInvalid
	}
	if d.Table > 0 && (f.s.Spec.Method != MethodCafe || d.Table > f.s.Spec.Tables) {
		return ReasonInvalid
	}
	if len(f.s.Ideas) >= MaxIdeas {
		return ReasonTooMany
	}
	if !f.s.Spec.Named {
		d.Author = "" // an anonymous workshop keeps no names, whatever a device sent
	}
	i := &IdeaState{
		ID: e.ID, Text: d.Text, Author: d.Author, Voter: e.Actor, Device: e.Device,
		Phase: d.Phase, Table: d.Table, At: e.HLC.Time(), Held: f.words.holds(d.Text),
		Pending: e.HubSeq == 0,
	}
	f.s.Ideas = append(f.s.Ideas, i)
	f.s.ideaIdx[i.ID] = i
	return ""
}

func runeCount(s string) int {
	n := 0
	for range s {
		n++
	}
	return n
}

func (f *folder) done(e Event, d Done) Reason {
	v, r := f.voter(e)
	if r != "" {
		return r
	}
	if f.s.Ended {
		return ReasonNotOpen
	}
	if !f.phaseOpened[d.Phase] {
		return ReasonWrongPhase
	}
	if v.DonePhases == nil {
		v.DonePhases = map[int]bool{}
	}
	v.DonePhases[d.Phase] = true
	return ""
}

func (f *folder) dot(e Event, d Dot) Reason {
	if _, r := f.voter(e); r != "" {
		return r
	}
	// No check of Ended: a dot an offline terminal took before the end
	// still counts; one after it is late (see merge.go).
	r := f.rounds[d.Round]
	if r == nil {
		return ReasonWrongPhase
	}
	switch r.On {
	case OnIdeas:
		if f.s.ideaIdx[d.Item] == nil {
			return ReasonUnknownItem
		}
	case OnThemes:
		if f.s.themeIdx[d.Item] == nil {
			return ReasonUnknownItem
		}
	}
	ds := &DotState{ID: e.ID, Voter: e.Actor, Round: d.Round, Item: d.Item, Counts: d.Item,
		Device: e.Device, At: e.HLC.Time()}
	rec := &dotRec{DotState: ds, at: e.HLC.Wall, pending: e.HubSeq == 0}
	f.dots = append(f.dots, rec)
	f.roundDots[d.Round] = append(f.roundDots[d.Round], rec)
	f.s.roundDots[d.Round] = append(f.s.roundDots[d.Round], ds)
	f.dotIdx[ds.ID] = rec
	return ""
}

func (f *folder) dotTake(e Event, d DotTake) Reason {
	if _, r := f.voter(e); r != "" {
		return r
	}
	rec := f.dotIdx[d.Dot]
	if rec == nil {
		return ReasonUnknownItem
	}
	if rec.Voter != e.Actor {
		return ReasonNotAllowed
	}
	if r := f.rounds[rec.Round]; r.Closed && e.HLC.Wall > r.ClosedAt.UnixMilli() {
		return ReasonWrongPhase
	}
	rec.taken = true
	return ""
}

// moderate applies a moderator's event.
func (f *folder) moderate(e Event, p any) Reason {
	key := keyOf(e)
	switch v := p.(type) {
	case Phase:
		return f.phase(e, v)
	case Timer:
		if f.s.Ended {
			return ReasonNotOpen
		}
		if v.Phase != f.s.PhaseIndex {
			return ReasonWrongPhase
		}
		f.s.PhaseEndsAt = msTime(v.EndsAt)
	case Join:
		if f.s.Ended {
			return ReasonNotOpen
		}
		f.s.JoinOpen = v.Open
	case Remove:
		vt := f.s.voterIdx[v.Voter]
		if vt == nil {
			return ReasonUnknownItem
		}
		vt.Removed = true
	case Hide:
		i := f.s.ideaIdx[v.Idea]
		if i == nil {
			return ReasonUnknownItem
		}
		i.Hidden, i.Reason = true, v.Reason
	case Restore:
		i := f.s.ideaIdx[v.Idea]
		if i == nil {
			return ReasonUnknownItem
		}
		i.Hidden, i.Held, i.Reason = false, false, ""
	case Edit:
		i := f.s.ideaIdx[v.Idea]
		if i == nil {
			return ReasonUnknownItem
		}
		if runeCount(v.Text) > f.s.Spec.IdeaChars() {
			return ReasonInvalid
		}
		i.Edited = true
		if key.after(f.textKey[i.ID]) {
			i.Text = v.Text
			f.textKey[i.ID] = key
		}
	case Theme:
		return f.theme(key, v)
	case ThemeDrop:
		return f.themeDrop(key, v)
	case Move:
		return f.move(key, v)
	case Merge:
		return f.merge(e, v)
	case Unmerge:
		m, ok := f.merges[v.Merge]
		if !ok {
			return ReasonUnknownItem
		}
		delete(f.merges, v.Merge)
		delete(f.s.parent, m.idea)
		clear(f.s.roots)
	case Vote:
		return f.vote(key, v)
	case Reveal:
		r := f.rounds[v.Round]
		if r == nil {
			return ReasonUnknownItem
		}
		r.Revealed = true
	case LateDots:
		known := 0
		dec := decReject
		if v.Accept {
			dec = decAccept
		}
		for _, id := range v.Dots {
			if rec := f.dotIdx[id]; rec != nil {
				rec.decision = dec
				known++
			}
		}
		if known == 0 {
			return ReasonUnknownItem
		}
	case Runoff:
		return f.runoff(v)
	default:
		return ReasonInvalid
	}
	return ""
}

func msTime(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

func (f *folder) phase(e Event, p Phase) Reason {
	s := f.s
	if s.Ended {
		return ReasonNotOpen
	}
	if p.Index >= len(s.Spec.Phases) {
		return ReasonInvalid
	}
	if p.Index >= 0 && p.Index == s.PhaseIndex {
		s.PhaseEndsAt = msTime(p.EndsAt)
		return ""
	}
	deadline := p.Deadline
	if deadline == 0 {
		deadline = e.HLC.Wall
	}
	if cur := s.PhaseIndex; cur >= 0 {
		if s.Spec.Phases[cur].Kind == PhaseIdeas {
			f.ideasClosedAt[cur] = deadline
		}
	}
	// Whatever round is open (the vote phase's or a runoff) closes with
	// the phase it was open in.
	for _, r := range s.Rounds {
		if !r.Closed {
			r.Closed, r.ClosedAt = true, time.UnixMilli(deadline).UTC()
		}
	}
	s.PhaseEndsAt = msTime(p.EndsAt)
	if p.Index < 0 {
		s.PhaseIndex, s.Ended, s.PhaseEndsAt = -1, true, time.Time{}
		return ""
	}
	s.PhaseIndex = p.Index
	f.phaseOpened[p.Index] = true
	switch s.Spec.Phases[p.Index].Kind {
	case PhaseIdeas:
		delete(f.ideasClosedAt, p.Index)
	case PhaseVote:
		if r := f.phaseRound[p.Index]; r != nil {
			r.Closed, r.ClosedAt = false, time.Time{}
		} else if len(s.Rounds) < MaxRounds {
			on := s.Spec.VoteOn
			if on == "" {
				on = OnIdeas
			}
			r := f.openRound(on, s.Spec.Dots, s.Spec.MaxPerItem)
			r.Phase = p.Index
			f.phaseRound[p.Index] = r
		}
	}
	return ""
}

// openRound opens the next round with these settings unless a Vote event
// already set it up. dots 0 means DefaultDots of the items there are now;
// a Vote with dots 0 goes back to what the round opened with.
func (f *folder) openRound(on string, dots, maxPerItem int) *Round {
	r := &Round{N: len(f.s.Rounds) + 1, On: on, MaxPerItem: maxPerItem, Phase: -1}
	if c, ok := f.voteCfg[r.N]; ok {
		r.On, r.MaxPerItem = c.v.On, c.v.MaxPerItem
		if c.v.Dots > 0 {
			dots = c.v.Dots
		}
	}
	if dots == 0 {
		dots = DefaultDots(f.countItems(r.On))
	}
	f.roundDefault[r.N] = dots
	r.Dots = dots
	f.s.Rounds = append(f.s.Rounds, r)
	f.rounds[r.N] = r
	return r
}

// countItems counts what a round on "on" could vote for now.
func (f *folder) countItems(on string) int {
	if on == OnThemes {
		return len(f.s.themeIdx)
	}
	n := 0
	for _, i := range f.s.Ideas {
		if i.Visible() && i.Theme != PlaceParking && f.s.parent[i.ID] == "" {
			n++
		}
	}
	return n
}

func (f *folder) vote(key lwwKey, v Vote) Reason {
	if v.Round > len(f.s.Rounds)+1 {
		return ReasonInvalid
	}
	if c, ok := f.voteCfg[v.Round]; ok && !key.after(c.key) {
		return "" // an older setting; the newer one stands
	}
	f.voteCfg[v.Round] = voteCfg{v: v, key: key}
	if r := f.rounds[v.Round]; r != nil {
		r.On, r.Dots, r.MaxPerItem = v.On, v.Dots, v.MaxPerItem
		if r.Dots == 0 {
			r.Dots = f.roundDefault[r.N]
		}
	}
	return ""
}

func (f *folder) runoff(v Runoff) Reason {
	from := f.rounds[v.From]
	if from == nil {
		return ReasonUnknownItem
	}
	if !from.Closed {
		return ReasonWrongPhase
	}
	if v.Round != len(f.s.Rounds)+1 {
		return ReasonInvalid
	}
	f.resolveRound(from)
	res := f.s.Tally(from.N)
	var cands []string
	for i, r := range res {
		if i >= v.TopK && r.Dots < res[v.TopK-1].Dots {
			break
		}
		cands = append(cands, r.Item)
	}
	r := f.openRound(from.On, 1, 0)
	r.From = from.N
	r.Candidates = cands
	if r.Candidates == nil {
		r.Candidates = []string{}
	}
	return ""
}

func (f *folder) theme(key lwwKey, v Theme) Reason {
	if t := f.s.themeIdx[v.Theme]; t != nil {
		if key.after(f.nameKey[t.ID]) {
			t.Name = v.Name
			f.nameKey[t.ID] = key
		}
		return ""
	}
	if len(f.s.themeIdx) >= MaxThemes {
		return ReasonTooMany
	}
	t := &ThemeState{ID: v.Theme, Name: v.Name}
	f.s.themeIdx[t.ID] = t
	f.s.Themes = append(f.s.Themes, t)
	f.nameKey[t.ID] = key
	return ""
}

func (f *folder) themeDrop(key lwwKey, v ThemeDrop) Reason {
	if f.s.themeIdx[v.Theme] == nil {
		return ReasonUnknownItem
	}
	delete(f.s.themeIdx, v.Theme)
	delete(f.nameKey, v.Theme)
	f.s.Themes = slices.DeleteFunc(f.s.Themes, func(t *ThemeState) bool { return t.ID == v.Theme })
	for _, i := range f.s.Ideas {
		if i.Theme == v.Theme {
			i.Theme = PlaceUnsorted
			if key.after(f.placeKey[i.ID]) {
				f.placeKey[i.ID] = key
			}
		}
	}
	return ""
}

func (f *folder) move(key lwwKey, v Move) Reason {
	i := f.s.ideaIdx[v.Idea]
	if i == nil {
		return ReasonUnknownItem
	}
	if v.To != PlaceUnsorted && v.To != PlaceParking && f.s.themeIdx[v.To] == nil {
		return ReasonUnknownItem
	}
	f.moved[i.ID] = true
	if key.after(f.placeKey[i.ID]) {
		i.Theme = v.To
		f.placeKey[i.ID] = key
	}
	return ""
}

func (f *folder) merge(e Event, v Merge) Reason {
	if f.s.ideaIdx[v.Idea] == nil || f.s.ideaIdx[v.Into] == nil {
		return ReasonUnknownItem
	}
	if f.s.parent[v.Idea] != "" {
		return ReasonInvalid // already a duplicate: unmerge it first
	}
	// Idea is not merged, so it ends its own chain: Into's chain reaching
	// it would close a cycle.
	if f.s.root(v.Into) == v.Idea {
		return ReasonMergeCycle
	}
	f.s.parent[v.Idea] = v.Into
	clear(f.s.roots)
	f.merges[e.ID] = mergeEdge{idea: v.Idea, into: v.Into}
	return ""
}

// finish settles what depends on the whole log: merges, the late lane,
// themes' members and every dot's status.
func (f *folder) finish() {
	s := f.s
	mergeEvent := make(map[string]string, len(f.merges))
	for id, m := range f.merges {
		mergeEvent[m.idea] = id
	}
	for _, i := range s.Ideas {
		i.MergedInto, i.MergeEvent = "", ""
		if f.s.parent[i.ID] != "" {
			i.MergedInto = s.root(i.ID)
			i.MergeEvent = mergeEvent[i.ID]
		}
		if closed, ok := f.ideasClosedAt[i.Phase]; ok && i.At.UnixMilli() > closed && !f.moved[i.ID] {
			i.Late = true
		}
	}
	for _, t := range s.Themes {
		t.Ideas = nil
	}
	var placed []*IdeaState
	for _, i := range s.Ideas {
		if s.themeIdx[i.Theme] != nil {
			placed = append(placed, i)
		}
	}
	slices.SortStableFunc(placed, func(a, b *IdeaState) int { return f.placeKey[a.ID].compare(f.placeKey[b.ID]) })
	for _, i := range placed {
		t := s.themeIdx[i.Theme]
		t.Ideas = append(t.Ideas, i.ID)
	}
	for _, r := range s.Rounds {
		f.resolveRound(r)
	}
	s.Dots = make([]*DotState, len(f.dots))
	for i, d := range f.dots {
		s.Dots[i] = d.DotState
		s.dotIdx[d.ID] = d.DotState
	}
	s.folded = true
}
