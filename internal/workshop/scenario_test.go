package workshop

import (
	"slices"
	"testing"
)

// ws is a workshop under test: the hub's stamped log and devices that
// write events the hub receives later.
type ws struct {
	t    *testing.T
	a    *author
	spec Spec
	log  []Event
}

func newWS(t *testing.T, spec Spec) *ws {
	return &ws{t: t, a: newAuthor(t, 11), spec: spec}
}

// simpleSpec: ideas (0), cluster (1), vote (2), results (3).
func simpleSpec() Spec {
	s := goodSpec(MethodSimple)
	s.Words = nil
	return s
}

// hub writes an event on the hub, stamped at once (console, phones).
func (w *ws) hub(actor string, t Type, data any) Event {
	w.t.Helper()
	w.a.tick(10)
	e := w.a.stamp(w.a.ev(DeviceHub, actor, t, data))[0]
	e.Seq = e.HubSeq
	w.log = append(w.log, e)
	return e
}

// term writes an event on a terminal; nothing reaches the hub until
// deliver.
func (w *ws) term(device, actor string, t Type, data any) Event {
	w.t.Helper()
	w.a.tick(10)
	return w.a.ev(device, actor, t, data)
}

// termAt writes a terminal event with the given HLC wall time.
func (w *ws) termAt(wall int64, device, actor string, t Type, data any) Event {
	w.t.Helper()
	return w.a.evAt(device, actor, t, data, wall)
}

// deliver stamps events in the order given, as the hub receives them.
func (w *ws) deliver(evs ...Event) []Event {
	st := w.a.stamp(evs...)
	w.log = append(w.log, st...)
	return st
}

func (w *ws) fold(unstamped ...Event) *State {
	w.t.Helper()
	s := Fold(w.a.workshop, w.spec, append(slices.Clone(w.log), unstamped...))
	return s
}

func (w *ws) phase(index int) Event {
	w.t.Helper()
	w.a.tick(10)
	return w.hub("m:anna", TypePhase, Phase{Index: index, Deadline: w.a.wall})
}

func refusedFor(s *State, id string) Reason {
	for _, r := range s.Refused {
		if r.Event == id {
			return r.Reason
		}
	}
	return ""
}

func statuses(ds []*DotState) map[string]DotStatus {
	m := map[string]DotStatus{}
	for _, d := range ds {
		m[d.ID] = d.Status
	}
	return m
}

// Merge rule 1: one card over-spends its dots on two offline terminals.
// In hub order the first dots count, the rest are over the limit, shown to
// the voter (VoterDots) and the moderator (State.Dots); before the hub has
// them they are pending.
func TestMergeRuleOverspendOnTwoOfflineTerminals(t *testing.T) {
	for _, t2First := range []bool{false, true} {
		w := newWS(t, simpleSpec())
		w.spec.Dots = 3
		w.phase(0)
		var ideas []Event
		for i := range 4 {
			ideas = append(ideas, w.hub("m:anna", TypeIdea, Idea{Text: "idea " + string(rune('A'+i)), Phase: 0}))
		}
		w.phase(2) // vote: round 1
		const voter = "v:0123456789abcdef0123"
		in1 := w.term("t:T1", voter, TypeCheckIn, CheckIn{Via: ViaCard, Label: "Karte 1"})
		in2 := w.term("t:T2", voter, TypeCheckIn, CheckIn{Via: ViaCard, Label: "Karte 1"})
		var t1, t2 []Event
		for i := range 3 {
			t1 = append(t1, w.term("t:T1", voter, TypeDot, Dot{Round: 1, Item: ideas[i].ID}))
		}
		for i := range 2 {
			t2 = append(t2, w.term("t:T2", voter, TypeDot, Dot{Round: 1, Item: ideas[3-i].ID}))
		}

		// Offline: each terminal sees its own dots pending.
		local := w.fold(append([]Event{in1}, t1...)...)
		left, mine := local.VoterDots(voter, 1)
		if left != 0 || len(mine) != 3 {
			t.Fatalf("T1 offline: left %d, %d dots", left, len(mine))
		}
		for _, d := range mine {
			if d.Status != DotPending {
				t.Errorf("T1 offline: dot %s is %s, want pending", d.ID, d.Status)
			}
		}

		// Back online, in one order or the other.
		var stamped []Event
		if t2First {
			stamped = append(w.deliver(append([]Event{in2}, t2...)...), w.deliver(append([]Event{in1}, t1...)...)...)
		} else {
			stamped = append(w.deliver(append([]Event{in1}, t1...)...), w.deliver(append([]Event{in2}, t2...)...)...)
		}
		s := w.fold()
		var dotOrder []string
		for _, e := range stamped {
			if e.Type == TypeDot {
				dotOrder = append(dotOrder, e.ID)
			}
		}
		left, mine = s.VoterDots(voter, 1)
		got := statuses(mine)
		for i, id := range dotOrder {
			want := DotCounted
			if i >= 3 {
				want = DotOverLimit
			}
			if got[id] != want {
				t.Errorf("t2First=%v: dot %d in hub order is %s, want %s", t2First, i, got[id], want)
			}
			if s.Dot(id).Status != want {
				t.Errorf("moderator's view of dot %d: %s", i, s.Dot(id).Status)
			}
		}
		if left != 0 {
			t.Errorf("left %d, want 0", left)
		}
		total := 0
		for _, r := range s.Tally(1) {
			total += r.Dots
		}
		if total != 3 {
			t.Errorf("tally counts %d dots, want 3", total)
		}
		// The second check-in is a duplicate, not a second voter.
		if len(s.Voters) != 1 {
			t.Errorf("%d voters, want 1", len(s.Voters))
		}
		second := in2
		if t2First {
			second = in1
		}
		if r := refusedFor(s, second.ID); r != ReasonDuplicate {
			t.Errorf("second check-in: %q, want duplicate", r)
		}
		// Taking a counted dot back lets the first over-limit one count.
		take := w.deliver(w.term(dotDevice(stamped, dotOrder[0]), voter, TypeDotTake, DotTake{Dot: dotOrder[0]}))
		s = w.fold()
		if s.Dot(dotOrder[0]).Status != DotTaken || s.Dot(dotOrder[3]).Status != DotCounted || s.Dot(dotOrder[4]).Status != DotOverLimit {
			t.Errorf("after take %s: %s %s %s", take[0].ID, s.Dot(dotOrder[0]).Status, s.Dot(dotOrder[3]).Status, s.Dot(dotOrder[4]).Status)
		}
	}
}

func dotDevice(evs []Event, id string) string {
	for _, e := range evs {
		if e.ID == id {
			return e.Device
		}
	}
	return ""
}

// Merge rule 2: two moderators move the same idea; the last writer by HLC
// wins on every device, whatever the hub order; at equal clocks the
// device, then the event ID decides.
func TestMergeRuleTwoModeratorsMoveSameIdea(t *testing.T) {
	build := func(laterFirst bool, sameClock bool) (*State, string) {
		w := newWS(t, simpleSpec())
		w.phase(0)
		idea := w.hub("m:anna", TypeIdea, Idea{Text: "Bänke", Phase: 0})
		w.phase(1)
		w.hub("m:anna", TypeTheme, Theme{Theme: "green", Name: "Grün"})
		w.hub("m:anna", TypeTheme, Theme{Theme: "seats", Name: "Sitzen"})
		// Moderator A on the console, moderator B with a card at an
		// offline terminal whose clock is ahead.
		at := w.a.wall + 1000
		bAt := at + 500
		if sameClock {
			bAt = at
		}
		a := w.a.evAt(DeviceHub, "m:anna", TypeMove, Move{Idea: idea.ID, To: "green"}, at)
		b := w.a.evAt("t:T1", "c:9f3a", TypeMove, Move{Idea: idea.ID, To: "seats"}, bAt)
		a.HLC.Logical, b.HLC.Logical = 0, 0
		if laterFirst {
			w.deliver(b, a)
		} else {
			w.deliver(a, b)
		}
		return w.fold(), idea.ID
	}
	for _, same := range []bool{false, true} {
		s1, id := build(false, same)
		s2, _ := build(true, same)
		// Later clock: B. Same clock: "t:T1" > "hub", so B again.
		if s1.Idea(id).Theme != "seats" || s2.Idea(id).Theme != "seats" {
			t.Errorf("sameClock=%v: idea in %q and %q, want seats in both orders", same, s1.Idea(id).Theme, s2.Idea(id).Theme)
		}
		if th := s1.Theme("seats"); len(th.Ideas) != 1 || th.Ideas[0] != id || len(s1.Theme("green").Ideas) != 0 {
			t.Errorf("themes' members: seats %v green %v", th.Ideas, s1.Theme("green").Ideas)
		}
		if mustJSON(t, s1.Themes) != mustJSON(t, s2.Themes) {
			t.Errorf("themes differ between hub orders")
		}
	}
}

// Merge rule 3: an idea merged as a duplicate while it is voted on: its
// dots count for the surviving idea; undoing the merge restores them;
// chains resolve to their end; a cycle is refused.
func TestMergeRuleMergeDuringVote(t *testing.T) {
	w := newWS(t, simpleSpec())
	w.spec.Dots = 5
	w.phase(0)
	x := w.hub("m:anna", TypeIdea, Idea{Text: "Mehr Bäume", Phase: 0})
	y := w.hub("m:anna", TypeIdea, Idea{Text: "Bäume pflanzen", Phase: 0})
	z := w.hub("m:anna", TypeIdea, Idea{Text: "Baum!", Phase: 0})
	other := w.hub("m:anna", TypeIdea, Idea{Text: "Spielplatz", Phase: 0})
	w.phase(2)
	voters := []string{"v:a1", "v:a2", "v:a3"}
	for _, v := range voters {
		w.hub(v, TypeCheckIn, CheckIn{Via: ViaPhone, Label: v})
	}
	w.hub("v:a1", TypeDot, Dot{Round: 1, Item: x.ID})
	w.hub("v:a2", TypeDot, Dot{Round: 1, Item: x.ID})
	w.hub("v:a3", TypeDot, Dot{Round: 1, Item: y.ID})
	w.hub("v:a3", TypeDot, Dot{Round: 1, Item: z.ID})
	w.hub("v:a1", TypeDot, Dot{Round: 1, Item: other.ID})
	dotsOf := func(s *State) map[string]int {
		m := map[string]int{}
		for _, r := range s.Tally(1) {
			m[r.Item] = r.Dots
		}
		return m
	}
	before := dotsOf(w.fold())

	m1 := w.hub("m:anna", TypeMerge, Merge{Idea: x.ID, Into: y.ID})
	s := w.fold()
	after := dotsOf(s)
	if _, ok := after[x.ID]; ok {
		t.Errorf("merged idea still ranked")
	}
	if after[y.ID] != before[x.ID]+before[y.ID] || after[other.ID] != before[other.ID] {
		t.Errorf("after merge %v, before %v", after, before)
	}
	if s.Idea(x.ID).MergedInto != y.ID || s.Idea(x.ID).MergeEvent != m1.ID {
		t.Errorf("merged idea: %+v", s.Idea(x.ID))
	}
	for _, d := range s.Dots {
		if d.Item == x.ID && d.Counts != y.ID {
			t.Errorf("dot on x counts for %s", d.Counts)
		}
	}
	for _, r := range s.Tally(1) {
		if r.Item == y.ID && !slices.Contains(r.Ideas, x.ID) {
			t.Errorf("survivor's result does not list the duplicate: %v", r.Ideas)
		}
	}

	// A chain: y into z; x (into y) now counts for z too.
	w.hub("m:anna", TypeMerge, Merge{Idea: y.ID, Into: z.ID})
	s = w.fold()
	chain := dotsOf(s)
	if chain[z.ID] != before[x.ID]+before[y.ID]+before[z.ID] || s.Idea(x.ID).MergedInto != z.ID {
		t.Errorf("chain: %v (x merged into %s)", chain, s.Idea(x.ID).MergedInto)
	}
	// A cycle is refused and changes nothing.
	cyc := w.hub("m:anna", TypeMerge, Merge{Idea: z.ID, Into: x.ID})
	s = w.fold()
	if r := refusedFor(s, cyc.ID); r != ReasonMergeCycle {
		t.Errorf("cycle: %q, want merge_cycle", r)
	}
	if mustJSON(t, dotsOf(s)) != mustJSON(t, chain) {
		t.Errorf("refused cycle changed the tally")
	}

	// Undo the first merge: x stands alone again with its own dots.
	w.hub("m:anna", TypeUnmerge, Unmerge{Merge: m1.ID})
	s = w.fold()
	undone := dotsOf(s)
	if undone[x.ID] != before[x.ID] || undone[z.ID] != before[y.ID]+before[z.ID] {
		t.Errorf("after unmerge %v, before %v", undone, before)
	}
	if s.Idea(x.ID).MergedInto != "" {
		t.Errorf("unmerged idea still merged into %s", s.Idea(x.ID).MergedInto)
	}
	// Unmerging twice is refused.
	again := w.hub("m:anna", TypeUnmerge, Unmerge{Merge: m1.ID})
	if r := refusedFor(w.fold(), again.ID); r != ReasonUnknownItem {
		t.Errorf("second unmerge: %q", r)
	}
}

// Merge rule 4: a phase closes while a terminal is offline. The closing
// event's deadline decides: ideas written after it are late (late lane),
// dots written after their round closed wait for the moderator.
func TestMergeRulePhaseClosedWhileOffline(t *testing.T) {
	w := newWS(t, simpleSpec())
	w.spec.Dots = 3
	w.phase(0)
	const voter = "v:t2voter"
	in := w.term("t:T2", voter, TypeCheckIn, CheckIn{Via: ViaGuest, Label: "Gast 3"})
	w.deliver(in)
	// T2 goes offline; the moderator closes the ideas phase.
	closeIdeas := w.phase(1)
	deadline := deadlineOf(t, closeIdeas)
	onTime := w.termAt(deadline-1000, "t:T2", voter, TypeIdea, Idea{Text: "rechtzeitig", Phase: 0})
	late := w.termAt(deadline+5000, "t:T2", voter, TypeIdea, Idea{Text: "zu spät", Phase: 0})
	w.deliver(onTime, late)
	s := w.fold()
	if s.Idea(onTime.ID).Late || !s.Idea(late.ID).Late {
		t.Fatalf("late lane: on time %v, late %v", s.Idea(onTime.ID).Late, s.Idea(late.ID).Late)
	}
	// The moderator moves the late idea: it leaves the late lane.
	w.hub("m:anna", TypeMove, Move{Idea: late.ID, To: PlaceUnsorted})
	if w.fold().Idea(late.ID).Late {
		t.Error("moved idea still in the late lane")
	}

	// Voting; T2 offline again when the moderator closes the round.
	w.phase(2)
	closeVote := w.phase(3)
	vd := deadlineOf(t, closeVote)
	inTime := w.termAt(vd-100, "t:T2", voter, TypeDot, Dot{Round: 1, Item: onTime.ID})
	late1 := w.termAt(vd+100, "t:T2", voter, TypeDot, Dot{Round: 1, Item: onTime.ID})
	late2 := w.termAt(vd+200, "t:T2", voter, TypeDot, Dot{Round: 1, Item: late.ID})
	w.deliver(inTime, late1, late2)
	s = w.fold()
	if r := s.Round(1); !r.Closed || r.ClosedAt.UnixMilli() != vd {
		t.Fatalf("round 1 closed %v at %v, want at %d", r.Closed, r.ClosedAt, vd)
	}
	if a, b, c := s.Dot(inTime.ID).Status, s.Dot(late1.ID).Status, s.Dot(late2.ID).Status; a != DotCounted || b != DotLate || c != DotLate {
		t.Fatalf("dots: %s %s %s, want counted late late", a, b, c)
	}
	// The moderator accepts one and rejects the other, each an event.
	w.hub("m:anna", TypeLateDots, LateDots{Dots: []string{late1.ID}, Accept: true})
	w.hub("m:anna", TypeLateDots, LateDots{Dots: []string{late2.ID}, Accept: false})
	s = w.fold()
	if a, b := s.Dot(late1.ID).Status, s.Dot(late2.ID).Status; a != DotCounted || b != DotRejected {
		t.Errorf("after decisions: %s %s, want counted rejected", a, b)
	}
	for _, r := range s.Tally(1) {
		if r.Item == onTime.ID && r.Dots != 2 {
			t.Errorf("on-time idea has %d dots, want 2", r.Dots)
		}
	}
}

func deadlineOf(t *testing.T, e Event) int64 {
	t.Helper()
	p, err := e.Payload()
	if err != nil {
		t.Fatal(err)
	}
	return p.(Phase).Deadline
}

// A terminal sends over two roads (live socket and outbox), so the hub
// may stamp its later events first. The fold keeps each terminal's own
// order: a take-back stamped before its dot still takes it, an idea
// stamped before its author's check-in still counts, whatever the hub
// order, and a missing number holds nothing up.
func TestTerminalEventsStampedOutOfOrder(t *testing.T) {
	w := newWS(t, simpleSpec())
	w.spec.Dots = 2
	w.phase(0)
	const voter = "v:0123456789abcdef0123"
	in := w.term("t:T1", voter, TypeCheckIn, CheckIn{Via: ViaCard, Label: "Karte 1"})
	idea := w.term("t:T1", voter, TypeIdea, Idea{Text: "Mehr Bänke", Phase: 0})
	w.deliver(idea, in)
	w.phase(2)
	dot1 := w.term("t:T1", voter, TypeDot, Dot{Round: 1, Item: idea.ID})
	dot2 := w.term("t:T1", voter, TypeDot, Dot{Round: 1, Item: idea.ID})
	take := w.term("t:T1", voter, TypeDotTake, DotTake{Dot: dot2.ID})
	w.a.seq["t:T1"]++ // a number whose event never arrives
	dot3 := w.term("t:T1", voter, TypeDot, Dot{Round: 1, Item: idea.ID})
	w.deliver(take, dot3, dot2, dot1)

	s := w.fold()
	if i := s.Idea(idea.ID); i == nil || refusedFor(s, idea.ID) != "" {
		t.Fatalf("the idea stamped before its check-in: %+v, refused %q", i, refusedFor(s, idea.ID))
	}
	got := statuses(s.Dots)
	want := map[string]DotStatus{dot1.ID: DotCounted, dot2.ID: DotTaken, dot3.ID: DotCounted}
	for id, st := range want {
		if got[id] != st {
			t.Errorf("dot %s: %s, want %s (all: %v)", id, got[id], st, got)
		}
	}
	if left, _ := s.VoterDots(voter, 1); left != 0 {
		t.Errorf("dots left %d, want 0", left)
	}
}
