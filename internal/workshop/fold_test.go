package workshop

import (
	"slices"
	"sync"
	"testing"
)

// voting sets up a simple workshop in its vote phase with the given
// ideas (by the moderator) and voters (phones, checked in on the hub).
func voting(t *testing.T, spec Spec, ideas []string, voters ...string) (*ws, []Event) {
	w := newWS(t, spec)
	w.phase(0)
	var evs []Event
	for _, text := range ideas {
		evs = append(evs, w.hub("m:anna", TypeIdea, Idea{Text: text, Phase: 0}))
	}
	for _, v := range voters {
		w.hub(v, TypeCheckIn, CheckIn{Via: ViaPhone, Label: "Gast"})
	}
	w.phase(2)
	return w, evs
}

func tallyOf(s *State, round int) map[string]int {
	m := map[string]int{}
	for _, r := range s.Tally(round) {
		m[r.Item] = r.Dots
	}
	return m
}

func TestFoldPerItemCap(t *testing.T) {
	spec := simpleSpec()
	spec.Dots, spec.MaxPerItem = 3, 1
	w, ideas := voting(t, spec, []string{"a", "b"}, "v:1")
	d1 := w.hub("v:1", TypeDot, Dot{Round: 1, Item: ideas[0].ID})
	d2 := w.hub("v:1", TypeDot, Dot{Round: 1, Item: ideas[0].ID})
	d3 := w.hub("v:1", TypeDot, Dot{Round: 1, Item: ideas[1].ID})
	s := w.fold()
	if a, b, c := s.Dot(d1.ID).Status, s.Dot(d2.ID).Status, s.Dot(d3.ID).Status; a != DotCounted || b != DotOverLimit || c != DotCounted {
		t.Errorf("statuses %s %s %s, want counted over_limit counted", a, b, c)
	}
	if left, _ := s.VoterDots("v:1", 1); left != 1 {
		t.Errorf("left %d, want 1 (the capped dot uses none)", left)
	}
}

func TestFoldTakeBackOwnDotsOnly(t *testing.T) {
	spec := simpleSpec()
	spec.Dots = 2
	w, ideas := voting(t, spec, []string{"a"}, "v:1", "v:2")
	d := w.hub("v:1", TypeDot, Dot{Round: 1, Item: ideas[0].ID})
	theirs := w.hub("v:2", TypeDotTake, DotTake{Dot: d.ID})
	s := w.fold()
	if r := refusedFor(s, theirs.ID); r != ReasonNotAllowed {
		t.Errorf("taking another's dot: %q, want not_allowed", r)
	}
	if s.Dot(d.ID).Status != DotCounted {
		t.Errorf("dot %s after another's take", s.Dot(d.ID).Status)
	}
	w.hub("v:1", TypeDotTake, DotTake{Dot: d.ID})
	s = w.fold()
	if s.Dot(d.ID).Status != DotTaken {
		t.Errorf("own take: %s", s.Dot(d.ID).Status)
	}
	if left, _ := s.VoterDots("v:1", 1); left != 2 {
		t.Errorf("left %d after take, want 2", left)
	}
	unknown := w.hub("v:1", TypeDotTake, DotTake{Dot: ideas[0].ID})
	if r := refusedFor(w.fold(), unknown.ID); r != ReasonUnknownItem {
		t.Errorf("taking a non-dot: %q", r)
	}
}

func TestFoldRemovedVoter(t *testing.T) {
	spec := simpleSpec()
	spec.Dots = 2
	w, ideas := voting(t, spec, []string{"a"}, "v:1", "v:2")
	d := w.hub("v:1", TypeDot, Dot{Round: 1, Item: ideas[0].ID})
	keep := w.hub("v:2", TypeDot, Dot{Round: 1, Item: ideas[0].ID})
	w.hub("m:anna", TypeRemove, Remove{Voter: "v:1"})
	after := w.hub("v:1", TypeDot, Dot{Round: 1, Item: ideas[0].ID})
	back := w.hub("v:1", TypeCheckIn, CheckIn{Via: ViaPhone, Label: "Gast"})
	s := w.fold()
	if s.Dot(d.ID).Status != DotVoid || s.Dot(keep.ID).Status != DotCounted {
		t.Errorf("removed voter's dot %s, other's %s", s.Dot(d.ID).Status, s.Dot(keep.ID).Status)
	}
	if refusedFor(s, after.ID) != ReasonRemoved || refusedFor(s, back.ID) != ReasonRemoved {
		t.Errorf("removed voter acted: dot %q check-in %q", refusedFor(s, after.ID), refusedFor(s, back.ID))
	}
	if tallyOf(s, 1)[ideas[0].ID] != 1 {
		t.Errorf("tally %v", tallyOf(s, 1))
	}
	if !s.Voter("v:1").Removed {
		t.Error("voter not marked removed")
	}
}

func TestFoldJoinClosed(t *testing.T) {
	w := newWS(t, simpleSpec())
	w.hub("v:early", TypeCheckIn, CheckIn{Via: ViaPhone, Label: "Gast 1"})
	w.phase(0)
	w.hub("m:anna", TypeJoin, Join{Open: false})
	late := w.hub("v:late", TypeCheckIn, CheckIn{Via: ViaPhone, Label: "Gast 2"})
	again := w.deliver(w.term("t:T1", "v:early", TypeCheckIn, CheckIn{Via: ViaGuest, Label: "Gast 1"}))[0]
	s := w.fold()
	if r := refusedFor(s, late.ID); r != ReasonJoinClosed {
		t.Errorf("check-in with joining closed: %q", r)
	}
	if r := refusedFor(s, again.ID); r != ReasonDuplicate {
		t.Errorf("known voter again: %q, want duplicate", r)
	}
	if s.JoinOpen || len(s.Voters) != 1 {
		t.Errorf("join open %v, %d voters", s.JoinOpen, len(s.Voters))
	}
	w.hub("m:anna", TypeJoin, Join{Open: true})
	w.hub("v:late", TypeCheckIn, CheckIn{Via: ViaPhone, Label: "Gast 2"})
	if n := len(w.fold().Voters); n != 2 {
		t.Errorf("%d voters after reopening", n)
	}
}

func TestFoldPhonesRefused(t *testing.T) {
	spec := simpleSpec()
	spec.Phones = false
	w := newWS(t, spec)
	phone := w.hub("v:p", TypeCheckIn, CheckIn{Via: ViaPhone, Label: "Gast 1"})
	guest := w.deliver(w.term("t:T1", "v:g", TypeCheckIn, CheckIn{Via: ViaGuest, Label: "Gast 2"}))[0]
	s := w.fold()
	if r := refusedFor(s, phone.ID); r != ReasonNoPhones {
		t.Errorf("phone: %q", r)
	}
	if r := refusedFor(s, guest.ID); r != "" || s.Voter("v:g") == nil {
		t.Errorf("terminal guest refused: %q", r)
	}
}

func TestFoldWordList(t *testing.T) {
	spec := simpleSpec()
	spec.Words = []string{"doof", "dumme Kuh", "ärger"}
	w := newWS(t, spec)
	w.phase(0)
	cases := map[string]bool{
		"Das ist DOOF!":        true,
		"doofer Plan":          false,
		"Dumme   Kuh im Park":  true,
		"dumme Idee, Kuh":      false,
		"ÄRGER mit dem Lärm":   true,
		"Ärgernis":             false,
		"kein-ärger-bitte":     true,
		"Spielplatz für alle":  false,
		"Bänke\nund doof dazu": true,
	}
	ids := map[string]string{}
	for text := range cases {
		ids[text] = w.hub("m:anna", TypeIdea, Idea{Text: text, Phase: 0}).ID
	}
	s := w.fold()
	for text, held := range cases {
		if i := s.Idea(ids[text]); i.Held != held || i.Visible() == held {
			t.Errorf("%q: held %v visible %v, want held %v", text, i.Held, i.Visible(), held)
		}
	}
	w.hub("m:anna", TypeRestore, Restore{Idea: ids["Das ist DOOF!"]})
	if i := w.fold().Idea(ids["Das ist DOOF!"]); i.Held || !i.Visible() {
		t.Errorf("restored idea still held")
	}
}

func TestFoldHideRestoreEdit(t *testing.T) {
	spec := simpleSpec()
	spec.Dots = 2
	w, ideas := voting(t, spec, []string{"a", "b"}, "v:1")
	d := w.hub("v:1", TypeDot, Dot{Round: 1, Item: ideas[0].ID})
	w.hub("m:anna", TypeHide, Hide{Idea: ideas[0].ID, Reason: "Beleidigung"})
	s := w.fold()
	if i := s.Idea(ideas[0].ID); !i.Hidden || i.Reason != "Beleidigung" || i.Visible() {
		t.Errorf("hidden idea: %+v", i)
	}
	if s.Dot(d.ID).Status != DotVoid {
		t.Errorf("dot on hidden idea: %s", s.Dot(d.ID).Status)
	}
	if _, ok := tallyOf(s, 1)[ideas[0].ID]; ok {
		t.Error("hidden idea ranked")
	}
	w.hub("m:anna", TypeRestore, Restore{Idea: ideas[0].ID})
	s = w.fold()
	if i := s.Idea(ideas[0].ID); i.Hidden || i.Reason != "" || s.Dot(d.ID).Status != DotCounted {
		t.Errorf("restored: %+v, dot %s", i, s.Dot(d.ID).Status)
	}
	// Two edits: the later clock wins even when it reached the hub first.
	early := w.a.evAt(DeviceHub, "m:anna", TypeEdit, Edit{Idea: ideas[1].ID, Text: "b (früh)"}, w.a.wall+100)
	later := w.a.evAt("t:T1", "c:9f3a", TypeEdit, Edit{Idea: ideas[1].ID, Text: "b (spät)"}, w.a.wall+200)
	w.deliver(later, early)
	if i := w.fold().Idea(ideas[1].ID); i.Text != "b (spät)" || !i.Edited {
		t.Errorf("edited idea: %q edited %v", i.Text, i.Edited)
	}
	tooLong := w.hub("m:anna", TypeEdit, Edit{Idea: ideas[1].ID, Text: string(make([]rune, 0)) + longText(MaxIdeaText)})
	w.spec.MaxIdeaChars = 100
	if r := refusedFor(w.fold(), tooLong.ID); r != ReasonInvalid {
		t.Errorf("edit beyond the workshop's idea length: %q", r)
	}
}

func longText(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'x'
	}
	return string(b)
}

func TestFoldThemesAndParking(t *testing.T) {
	spec := simpleSpec()
	spec.Dots = 3
	w := newWS(t, spec)
	w.phase(0)
	a := w.hub("m:anna", TypeIdea, Idea{Text: "a", Phase: 0})
	b := w.hub("m:anna", TypeIdea, Idea{Text: "b", Phase: 0})
	w.phase(1)
	w.hub("m:anna", TypeTheme, Theme{Theme: "t1", Name: "Verkehr"})
	w.hub("m:anna", TypeTheme, Theme{Theme: "t2", Name: "Grün"})
	w.hub("m:anna", TypeTheme, Theme{Theme: "t1", Name: "Verkehr und Wege"})
	w.hub("m:anna", TypeMove, Move{Idea: a.ID, To: "t1"})
	w.hub("m:anna", TypeMove, Move{Idea: b.ID, To: "t2"})
	bad := w.hub("m:anna", TypeMove, Move{Idea: b.ID, To: "nope"})
	s := w.fold()
	if refusedFor(s, bad.ID) != ReasonUnknownItem {
		t.Errorf("move to an unknown theme: %q", refusedFor(s, bad.ID))
	}
	if th := s.Theme("t1"); th.Name != "Verkehr und Wege" || !slices.Equal(th.Ideas, []string{a.ID}) {
		t.Errorf("theme t1: %+v", th)
	}
	if len(s.Themes) != 2 || s.Themes[0].ID != "t1" {
		t.Errorf("themes not in creation order: %v", s.Themes)
	}
	w.hub("m:anna", TypeThemeDrop, ThemeDrop{Theme: "t1"})
	w.hub("m:anna", TypeMove, Move{Idea: b.ID, To: PlaceParking})
	w.phase(2)
	w.hub("v:1", TypeCheckIn, CheckIn{Via: ViaPhone, Label: "Gast"})
	onParked := w.hub("v:1", TypeDot, Dot{Round: 1, Item: b.ID})
	s = w.fold()
	if s.Theme("t1") != nil || len(s.Themes) != 1 || s.Idea(a.ID).Theme != PlaceUnsorted {
		t.Errorf("after drop: theme %v, idea in %q", s.Theme("t1"), s.Idea(a.ID).Theme)
	}
	if s.Idea(b.ID).Theme != PlaceParking || s.Dot(onParked.ID).Status != DotVoid {
		t.Errorf("parked idea in %q, its dot %s", s.Idea(b.ID).Theme, s.Dot(onParked.ID).Status)
	}
	if _, ok := tallyOf(s, 1)[b.ID]; ok {
		t.Error("parked idea ranked")
	}
	w.hub("m:anna", TypeMove, Move{Idea: b.ID, To: "t2"})
	if st := w.fold().Dot(onParked.ID).Status; st != DotCounted {
		t.Errorf("dot after unparking: %s", st)
	}
}

func TestFoldVoteOnThemes(t *testing.T) {
	spec := simpleSpec()
	spec.VoteOn, spec.Dots = OnThemes, 2
	w := newWS(t, spec)
	w.phase(0)
	a := w.hub("m:anna", TypeIdea, Idea{Text: "a", Phase: 0})
	w.phase(1)
	w.hub("m:anna", TypeTheme, Theme{Theme: "t1", Name: "Verkehr"})
	w.hub("m:anna", TypeTheme, Theme{Theme: "t2", Name: "Grün"})
	w.hub("m:anna", TypeMove, Move{Idea: a.ID, To: "t2"})
	w.phase(2)
	w.hub("v:1", TypeCheckIn, CheckIn{Via: ViaPhone, Label: "Gast"})
	w.hub("v:1", TypeDot, Dot{Round: 1, Item: "t2"})
	onIdea := w.hub("v:1", TypeDot, Dot{Round: 1, Item: a.ID})
	s := w.fold()
	if refusedFor(s, onIdea.ID) != ReasonUnknownItem {
		t.Errorf("dot on an idea in a theme round: %q", refusedFor(s, onIdea.ID))
	}
	res := s.Tally(1)
	if len(res) != 2 || res[0].Item != "t2" || res[0].Dots != 1 || res[0].Text != "Grün" || !slices.Equal(res[0].Ideas, []string{a.ID}) {
		t.Errorf("theme tally: %+v", res)
	}
	if s.Round(1).On != OnThemes {
		t.Errorf("round on %s", s.Round(1).On)
	}
}

func TestFoldRunoffTiesAtCut(t *testing.T) {
	spec := simpleSpec()
	spec.Dots = 5
	w, ideas := voting(t, spec, []string{"A", "B", "C", "D"}, "v:1", "v:2", "v:3")
	// A 3, B 2, C 2, D 1.
	for i, n := range []int{3, 2, 2, 1} {
		for k := range n {
			w.hub("v:"+string(rune('1'+k)), TypeDot, Dot{Round: 1, Item: ideas[i].ID})
		}
	}
	early := w.hub("m:anna", TypeRunoff, Runoff{From: 1, Round: 2, TopK: 2})
	w.phase(3) // results: round 1 closes
	skip := w.hub("m:anna", TypeRunoff, Runoff{From: 1, Round: 3, TopK: 2})
	w.hub("m:anna", TypeRunoff, Runoff{From: 1, Round: 2, TopK: 2})
	s := w.fold()
	if refusedFor(s, early.ID) != ReasonWrongPhase || refusedFor(s, skip.ID) != ReasonInvalid {
		t.Errorf("runoff on an open round %q, skipping a number %q", refusedFor(s, early.ID), refusedFor(s, skip.ID))
	}
	r := s.Round(2)
	want := []string{ideas[0].ID, ideas[1].ID, ideas[2].ID}
	if r == nil || !slices.Equal(r.Candidates, want) || r.From != 1 || r.Dots != 1 || r.Closed {
		t.Fatalf("runoff round: %+v", r)
	}
	if s.CurrentRound() != r {
		t.Errorf("current round %+v", s.CurrentRound())
	}
	onD := w.hub("v:1", TypeDot, Dot{Round: 2, Item: ideas[3].ID})
	onC := w.hub("v:2", TypeDot, Dot{Round: 2, Item: ideas[2].ID})
	s = w.fold()
	if s.Dot(onD.ID).Status != DotVoid || s.Dot(onC.ID).Status != DotCounted {
		t.Errorf("runoff dots: not a candidate %s, candidate %s", s.Dot(onD.ID).Status, s.Dot(onC.ID).Status)
	}
	res := s.Tally(2)
	if len(res) != 3 || res[0].Item != ideas[2].ID || res[0].Dots != 1 {
		t.Errorf("runoff tally %+v", res)
	}
	w.hub("m:anna", TypeReveal, Reveal{Round: 2})
	if !w.fold().Round(2).Revealed || w.fold().Round(1).Revealed {
		t.Error("reveal")
	}
}

func TestFoldModeratorActors(t *testing.T) {
	w := newWS(t, simpleSpec())
	byVoter := w.hub("v:1", TypePhase, Phase{Index: 0, Deadline: w.a.wall})
	mOnTerminal := w.deliver(w.term("t:T1", "m:anna", TypePhase, Phase{Index: 0, Deadline: w.a.wall}))[0]
	cOnHub := w.hub("c:9f3a", TypePhase, Phase{Index: 0, Deadline: w.a.wall})
	s := w.fold()
	for _, e := range []Event{byVoter, mOnTerminal, cOnHub} {
		if r := refusedFor(s, e.ID); r != ReasonNotAllowed {
			t.Errorf("%s on %s: %q, want not_allowed", e.Actor, e.Device, r)
		}
	}
	if s.Opened() {
		t.Error("a refused phase opened the workshop")
	}
	card := w.deliver(w.term("t:T1", "c:9f3a", TypePhase, Phase{Index: 0, Deadline: w.a.wall}))[0]
	s = w.fold()
	if refusedFor(s, card.ID) != "" || s.PhaseIndex != 0 {
		t.Errorf("card moderator at a terminal: %q, phase %d", refusedFor(s, card.ID), s.PhaseIndex)
	}
	// Participants' actions need a voter (an idea may come from a moderator).
	dot := w.hub("m:anna", TypeCheckIn, CheckIn{Via: ViaPhone, Label: "x"})
	idea := w.hub("m:anna", TypeIdea, Idea{Text: "vom Flipchart", Phase: 0})
	s = w.fold()
	if refusedFor(s, dot.ID) != ReasonNotAllowed || refusedFor(s, idea.ID) != "" {
		t.Errorf("moderator check-in %q, moderator idea %q", refusedFor(s, dot.ID), refusedFor(s, idea.ID))
	}
}

func TestFoldPhasesAndEnd(t *testing.T) {
	spec := simpleSpec()
	spec.Dots = 0 // the default from the ideas when voting opens
	w := newWS(t, spec)
	w.hub("v:1", TypeCheckIn, CheckIn{Via: ViaPhone, Label: "Gast"})
	early := w.hub("v:1", TypeIdea, Idea{Text: "zu früh", Phase: 0})
	w.phase(0)
	var n int
	for i := range 11 {
		w.hub("v:1", TypeIdea, Idea{Text: "Idee " + string(rune('a'+i)), Phase: 0})
		n++
	}
	wrong := w.hub("v:1", TypeIdea, Idea{Text: "im Clustern", Phase: 1})
	noRound := w.hub("v:1", TypeDot, Dot{Round: 1, Item: early.ID})
	done := w.hub("v:1", TypeDone, Done{Phase: 0})
	timer := w.hub("m:anna", TypeTimer, Timer{Phase: 0, EndsAt: w.a.wall + 60_000})
	s := w.fold()
	if refusedFor(s, early.ID) != ReasonNotOpen || refusedFor(s, wrong.ID) != ReasonWrongPhase || refusedFor(s, noRound.ID) != ReasonWrongPhase {
		t.Errorf("early %q wrong phase %q no round %q", refusedFor(s, early.ID), refusedFor(s, wrong.ID), refusedFor(s, noRound.ID))
	}
	if refusedFor(s, done.ID) != "" || !s.Voter("v:1").DonePhases[0] {
		t.Errorf("done: %q", refusedFor(s, done.ID))
	}
	if refusedFor(s, timer.ID) != "" || s.PhaseEndsAt.IsZero() {
		t.Errorf("timer: %q", refusedFor(s, timer.ID))
	}
	w.phase(2)
	s = w.fold()
	if r := s.CurrentRound(); r == nil || r.Dots != DefaultDots(n) || s.Phase().Kind != PhaseVote {
		t.Fatalf("round %+v, want %d dots", r, DefaultDots(n))
	}
	// The moderator adjusts the dots; the later clock wins.
	w.hub("m:anna", TypeVote, Vote{Round: 1, On: OnIdeas, Dots: 6, MaxPerItem: 2})
	older := w.a.evAt(DeviceHub, "m:anna", TypeVote, Vote{Round: 1, On: OnIdeas, Dots: 2}, w.a.wall-5)
	w.deliver(older)
	if r := w.fold().Round(1); r.Dots != 6 || r.MaxPerItem != 2 {
		t.Errorf("round after Vote events: %+v", r)
	}
	w.phase(-1)
	after := w.hub("v:1", TypeIdea, Idea{Text: "danach", Phase: 0})
	again := w.phase(1)
	s = w.fold()
	if !s.Ended || s.PhaseIndex != -1 || s.Phase() != nil || s.CurrentRound() != nil || !s.Round(1).Closed {
		t.Errorf("ended %v index %d round %+v", s.Ended, s.PhaseIndex, s.CurrentRound())
	}
	if refusedFor(s, after.ID) != ReasonNotOpen || refusedFor(s, again.ID) != ReasonNotOpen {
		t.Errorf("after the end: idea %q phase %q", refusedFor(s, after.ID), refusedFor(s, again.ID))
	}
}

func TestFoldIdeaRules(t *testing.T) {
	spec := simpleSpec()
	spec.MaxIdeaChars = 10
	w := newWS(t, spec)
	w.phase(0)
	stranger := w.hub("v:x", TypeIdea, Idea{Text: "wer bin ich", Phase: 0})
	w.hub("v:1", TypeCheckIn, CheckIn{Via: ViaPhone, Label: "Gast"})
	long := w.hub("v:1", TypeIdea, Idea{Text: "elf Zeichen", Phase: 0})
	named := w.hub("v:1", TypeIdea, Idea{Text: "kurz", Author: "Eva", Phase: 0})
	table := w.hub("v:1", TypeIdea, Idea{Text: "Tisch", Phase: 0, Table: 1})
	other := w.term("t:T1", "v:1", TypeIdea, Idea{Text: "x", Phase: 0})
	other.Workshop = "ws2"
	s := w.fold(other)
	if refusedFor(s, stranger.ID) != ReasonNotCheckedIn || refusedFor(s, long.ID) != ReasonInvalid ||
		refusedFor(s, table.ID) != ReasonInvalid || refusedFor(s, other.ID) != ReasonInvalid {
		t.Errorf("stranger %q long %q table %q other workshop %q", refusedFor(s, stranger.ID),
			refusedFor(s, long.ID), refusedFor(s, table.ID), refusedFor(s, other.ID))
	}
	if i := s.Idea(named.ID); i == nil || i.Author != "" {
		t.Errorf("anonymous workshop kept an author: %+v", i)
	}
	w.spec.Named = true
	if i := w.fold().Idea(named.ID); i.Author != "Eva" {
		t.Errorf("named workshop lost the author: %q", i.Author)
	}
}

func TestNearTieRule(t *testing.T) {
	for _, c := range []struct {
		a, b int
		want bool
	}{
		{39, 37, true}, {10, 8, false}, {40, 38, true}, {100, 95, true}, {100, 94, false},
		{1, 0, false}, {2, 1, true}, {0, 0, false}, {2, 2, true}, {3, 1, false}, {21, 20, true},
	} {
		if got := NearTie(c.a, c.b); got != c.want || NearTie(c.b, c.a) != c.want {
			t.Errorf("NearTie(%d, %d) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}

func TestTallyRanks(t *testing.T) {
	spec := simpleSpec()
	spec.Dots = 7
	texts := []string{"A", "B", "C", "D", "E"}
	w, ideas := voting(t, spec, texts, "v:1", "v:2", "v:3", "v:4", "v:5", "v:6")
	want := []int{6, 6, 3, 2, 0} // A and B tie; C and D are a near tie
	for i, n := range want {
		for k := range n {
			w.hub("v:"+string(rune('1'+k)), TypeDot, Dot{Round: 1, Item: ideas[i].ID})
		}
	}
	res := w.fold().Tally(1)
	got := map[string]Result{}
	for _, r := range res {
		got[r.Item] = r
	}
	for i, n := range want {
		r := got[ideas[i].ID]
		// Competition ranking: 1 + the number of items with more dots.
		rank := 1
		for _, m := range want {
			if m > n {
				rank++
			}
		}
		near := false
		for j, m := range want {
			if j != i && NearTie(n, m) && (j == i-1 || j == i+1) {
				near = true
			}
		}
		if r.Dots != n || r.Rank != rank || r.NearTie != near || r.Text != texts[i] {
			t.Errorf("%s: %+v, want dots %d rank %d near tie %v", texts[i], r, n, rank, near)
		}
	}
	for i := 1; i < len(res); i++ {
		if res[i].Dots > res[i-1].Dots {
			t.Errorf("tally not sorted: %+v", res)
		}
	}
}

func TestFoldEndBeforeOpening(t *testing.T) {
	w := newWS(t, simpleSpec())
	w.phase(-1)
	late := w.hub("v:1", TypeCheckIn, CheckIn{Via: ViaPhone, Label: "Gast"})
	s := w.fold()
	if !s.Ended || refusedFor(s, late.ID) != ReasonNotOpen {
		t.Errorf("ended %v, check-in after the end %q", s.Ended, refusedFor(s, late.ID))
	}
}

func TestFoldVoteDotsZeroMeansRoundDefault(t *testing.T) {
	spec := simpleSpec()
	spec.Dots = 4
	w, _ := voting(t, spec, []string{"a", "b"}, "v:1")
	w.hub("m:anna", TypeVote, Vote{Round: 1, On: OnIdeas, Dots: 6})
	if r := w.fold().Round(1); r.Dots != 6 {
		t.Fatalf("dots %d after Vote 6", r.Dots)
	}
	w.hub("m:anna", TypeVote, Vote{Round: 1, On: OnIdeas, Dots: 0})
	if r := w.fold().Round(1); r.Dots != spec.Dots {
		t.Errorf("dots %d after Vote 0, want the spec's %d", r.Dots, spec.Dots)
	}
	// A Vote for the next round sets it up before it opens.
	w.hub("m:anna", TypeVote, Vote{Round: 2, On: OnIdeas, Dots: 2, MaxPerItem: 1})
	far := w.hub("m:anna", TypeVote, Vote{Round: 4, On: OnIdeas, Dots: 2})
	w.phase(3)
	w.hub("m:anna", TypeRunoff, Runoff{From: 1, Round: 2, TopK: 2})
	s := w.fold()
	if r := s.Round(2); r.Dots != 2 || r.MaxPerItem != 1 {
		t.Errorf("runoff set up beforehand: %+v", r)
	}
	if refusedFor(s, far.ID) != ReasonInvalid {
		t.Errorf("Vote for a round far ahead: %q", refusedFor(s, far.ID))
	}
}

// A folded State is shared by readers (the hub's cache serves many); its
// methods must only read. Run with -race.
func TestFoldedStateConcurrentReads(t *testing.T) {
	spec, log, pending := randomWorkshop(t, 17, 400)
	s := Fold("ws1", spec, append(log, pending...))
	want := mustJSON(t, s.Tally(1))
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for _, r := range s.Rounds {
				s.Tally(r.N)
				for _, v := range s.Voters {
					s.VoterDots(v.ID, r.N)
				}
			}
		})
	}
	wg.Wait()
	if got := mustJSON(t, s.Tally(1)); got != want {
		t.Error("reading changed the state")
	}
}
