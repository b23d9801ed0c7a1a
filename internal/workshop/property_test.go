package workshop

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"
)

// seedCount is how many random workshops the property test folds:
// QH_WORKSHOP_SEEDS, 200 if unset (make soak sets more).
func seedCount(t *testing.T) int {
	v := os.Getenv("QH_WORKSHOP_SEEDS")
	if v == "" {
		return 200
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("QH_WORKSHOP_SEEDS=%q: want a positive number", v)
	}
	return n
}

// randomWorkshop writes a workshop of about n events as a hub with three
// terminals would: phones and the console on the hub (stamped at once),
// terminals with skewed clocks buffering their events and delivering them
// in bursts, some never. Actions are random, so some are refused. It
// returns the spec, the hub's log and the events still only on terminals.
func randomWorkshop(t testing.TB, seed uint64, n int) (Spec, []Event, []Event) {
	a := newAuthor(t, seed)
	rng := rand.New(rand.NewPCG(seed, 99))
	methods := []string{MethodSimple, Method1248All, MethodCafe}
	spec := goodSpec(methods[rng.IntN(3)])
	spec.Dots = rng.IntN(5)
	if spec.Dots > 0 {
		spec.MaxPerItem = rng.IntN(spec.Dots + 1)
	}
	spec.VoteOn = []string{OnIdeas, OnThemes}[rng.IntN(2)]
	spec.Phones = rng.IntN(4) != 0
	spec.Named = rng.IntN(2) == 0
	if err := spec.Validate(); err != nil {
		t.Fatal(err)
	}
	terminals := []string{"t:T1", "t:T2", "t:T3"}
	skew := map[string]int64{DeviceHub: 0, "t:T1": 0, "t:T2": -1500, "t:T3": 2500}
	outbox := map[string][]Event{}
	var log []Event
	var ideas, dots, merges []string
	dotsOf := map[string][]string{}
	themes := []string{"t1", "t2", "t3", "t4", "t5"}
	voters := []string{}
	for i := range 12 {
		voters = append(voters, fmt.Sprintf("v:%02d", i))
	}
	voterDevice := func(v string) string {
		k, _ := strconv.Atoi(v[2:])
		if k%4 == 3 {
			return DeviceHub // a phone
		}
		return terminals[k%3]
	}
	pick := func(s []string) string {
		if len(s) == 0 {
			return "01ARZ3NDEKTSV4RRFFQ69G5FAV"
		}
		return s[rng.IntN(len(s))]
	}
	phase, round := -1, 0
	write := func(device, actor string, typ Type, data any) Event {
		wall := a.wall + skew[device] + int64(rng.IntN(200))
		e := a.evAt(device, actor, typ, data, wall)
		if device == DeviceHub {
			e = a.stamp(e)[0]
			e.Seq = e.HubSeq
			log = append(log, e)
		} else {
			outbox[device] = append(outbox[device], e)
		}
		return e
	}
	moderator := func() (string, string) {
		if rng.IntN(5) == 0 {
			return terminals[rng.IntN(3)], "c:card" + strconv.Itoa(rng.IntN(2))
		}
		return DeviceHub, "m:anna"
	}
	for range n {
		a.tick(int64(50 + rng.IntN(400)))
		v := pick(voters)
		dev := voterDevice(v)
		mdev, mod := moderator()
		switch k := rng.IntN(100); {
		case k < 8:
			via := ViaCard
			if dev == DeviceHub {
				via = ViaPhone
			}
			write(dev, v, TypeCheckIn, CheckIn{Via: via, Label: "Gast " + v[2:]})
		case k < 26:
			p := phase
			if p < 0 || rng.IntN(5) == 0 {
				p = rng.IntN(len(spec.Phases))
			}
			table := 0
			if spec.Method == MethodCafe {
				table = rng.IntN(spec.Tables + 1)
			}
			text := []string{"Mehr Bänke", "Bäume pflanzen", "doof hier", "Spielplatz\nmit Schatten", "Radweg"}[rng.IntN(5)]
			ideas = append(ideas, write(dev, v, TypeIdea, Idea{Text: text, Phase: p, Table: table, Author: "Eva"}).ID)
		case k < 46:
			item := pick(ideas)
			r := max(round, 1)
			if rr := rng.IntN(3); rr == 0 {
				r = 1 + rng.IntN(3)
			}
			if spec.VoteOn == OnThemes && rng.IntN(3) != 0 {
				item = pick(themes)
			}
			id := write(dev, v, TypeDot, Dot{Round: r, Item: item}).ID
			dots = append(dots, id)
			dotsOf[v] = append(dotsOf[v], id)
		case k < 51:
			if rng.IntN(5) == 0 {
				write(dev, v, TypeDotTake, DotTake{Dot: pick(dots)})
			} else {
				write(dev, v, TypeDotTake, DotTake{Dot: pick(dotsOf[v])})
			}
		case k < 53:
			write(dev, v, TypeDone, Done{Phase: max(phase, 0)})
		case k < 54:
			write(dev, v, TypeLeave, nil)
		case k < 60:
			next := phase + 1
			if rng.IntN(6) == 0 {
				next = rng.IntN(len(spec.Phases))
			}
			if next >= len(spec.Phases) || rng.IntN(40) == 0 {
				next = -1
			}
			if next >= 0 && spec.Phases[next].Kind == PhaseVote {
				round++
			}
			write(mdev, mod, TypePhase, Phase{Index: next, Deadline: a.wall, EndsAt: a.wall + 60_000})
			if next >= 0 {
				phase = next
			}
		case k < 70:
			write(mdev, mod, TypeMove, Move{Idea: pick(ideas), To: []string{PlaceUnsorted, PlaceParking, pick(themes)}[rng.IntN(3)]})
		case k < 74:
			write(mdev, mod, TypeTheme, Theme{Theme: pick(themes), Name: "Thema " + strconv.Itoa(rng.IntN(9))})
		case k < 75:
			write(mdev, mod, TypeThemeDrop, ThemeDrop{Theme: pick(themes)})
		case k < 79:
			x, y := pick(ideas), pick(ideas)
			if x != y {
				merges = append(merges, write(mdev, mod, TypeMerge, Merge{Idea: x, Into: y}).ID)
			}
		case k < 81:
			write(mdev, mod, TypeUnmerge, Unmerge{Merge: pick(merges)})
		case k < 83:
			write(mdev, mod, TypeHide, Hide{Idea: pick(ideas), Reason: "weg"})
		case k < 85:
			write(mdev, mod, TypeRestore, Restore{Idea: pick(ideas)})
		case k < 87:
			write(mdev, mod, TypeEdit, Edit{Idea: pick(ideas), Text: "bearbeitet " + strconv.Itoa(rng.IntN(5))})
		case k < 89:
			write(mdev, mod, TypeVote, Vote{Round: max(round, 1), On: spec.VoteOn, Dots: rng.IntN(6), MaxPerItem: 0})
		case k < 90:
			write(mdev, mod, TypeReveal, Reveal{Round: max(round, 1)})
		case k < 92:
			var ds []string
			for range 1 + rng.IntN(4) {
				ds = append(ds, pick(dots))
			}
			write(mdev, mod, TypeLateDots, LateDots{Dots: ds, Accept: rng.IntN(2) == 0})
		case k < 93:
			if round > 0 {
				round++
				write(mdev, mod, TypeRunoff, Runoff{From: round - 1, Round: round, TopK: 2 + rng.IntN(3)})
			}
		case k < 95:
			write(mdev, mod, TypeJoin, Join{Open: rng.IntN(3) != 0})
		case k < 96:
			write(mdev, mod, TypeRemove, Remove{Voter: pick(voters)})
		case k < 97:
			write(mdev, mod, TypeTimer, Timer{Phase: max(phase, 0), EndsAt: a.wall + 30_000})
		default:
			// A terminal comes back online and delivers its outbox.
			term := terminals[rng.IntN(3)]
			log = append(log, a.stamp(outbox[term]...)...)
			outbox[term] = nil
		}
		// Now and then a terminal delivers part of its outbox.
		if rng.IntN(10) == 0 {
			term := terminals[rng.IntN(3)]
			k := rng.IntN(len(outbox[term]) + 1)
			log = append(log, a.stamp(outbox[term][:k]...)...)
			outbox[term] = outbox[term][k:]
		}
	}
	var pending []Event
	for _, term := range terminals {
		if rng.IntN(2) == 0 {
			log = append(log, a.stamp(outbox[term]...)...)
		} else {
			pending = append(pending, outbox[term]...)
		}
	}
	return spec, log, pending
}

func canonical(t testing.TB, s *State) string {
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The fold gives the same state however the events arrive: shuffled,
// duplicated, and with unstamped copies beside the stamped ones.
func TestPropertyFoldOrderAndDuplicateIndependent(t *testing.T) {
	seeds := seedCount(t)
	refusedKinds := map[Reason]int{}
	statusKinds := map[DotStatus]int{}
	for seed := range uint64(seeds) {
		spec, log, pending := randomWorkshop(t, seed, 300)
		all := append(append([]Event(nil), log...), pending...)
		want := Fold("ws1", spec, all)
		wantJSON := canonical(t, want)
		checkInvariants(t, seed, want)
		for _, r := range want.Refused {
			refusedKinds[r.Reason]++
		}
		for _, d := range want.Dots {
			statusKinds[d.Status]++
		}
		rng := rand.New(rand.NewPCG(seed, 3))
		for variant := range 3 {
			evs := append([]Event(nil), all...)
			for _, e := range all {
				switch rng.IntN(4) {
				case 0:
					evs = append(evs, e) // a duplicate
				case 1:
					if e.HubSeq != 0 {
						e.HubSeq = 0 // the device's own, unstamped copy
						evs = append(evs, e)
					}
				}
			}
			rng.Shuffle(len(evs), func(i, j int) { evs[i], evs[j] = evs[j], evs[i] })
			if got := canonical(t, Fold("ws1", spec, evs)); got != wantJSON {
				t.Fatalf("seed %d variant %d: the state depends on how the events arrived\n got %.600s\nwant %.600s", seed, variant, got, wantJSON)
			}
		}
	}
	// The generator must reach the rules it is meant to test.
	for _, r := range []Reason{ReasonWrongPhase, ReasonUnknownItem, ReasonNotCheckedIn, ReasonDuplicate} {
		if refusedKinds[r] == 0 && seeds >= 50 {
			t.Errorf("no event refused as %s in %d workshops", r, seeds)
		}
	}
	for _, st := range []DotStatus{DotCounted, DotPending, DotOverLimit, DotLate, DotTaken, DotVoid} {
		if statusKinds[st] == 0 && seeds >= 50 {
			t.Errorf("no dot %s in %d workshops", st, seeds)
		}
	}
}

// checkInvariants checks what must hold for any log: no voter beyond the
// round's dots or the cap, counted dots only on items that can count.
func checkInvariants(t *testing.T, seed uint64, s *State) {
	t.Helper()
	for _, r := range s.Rounds {
		used := map[string]int{}
		perItem := map[voterItem]int{}
		for _, d := range s.Dots {
			if d.Round != r.N || d.Status != DotCounted {
				continue
			}
			used[d.Voter]++
			perItem[voterItem{d.Voter, d.Counts}]++
			if !s.eligible(r, d.Item) {
				t.Errorf("seed %d: counted dot %s on an item that cannot count", seed, d.ID)
			}
			if v := s.Voter(d.Voter); v == nil || v.Removed {
				t.Errorf("seed %d: counted dot of a removed or unknown voter", seed)
			}
		}
		for v, n := range used {
			if n > r.Dots {
				t.Errorf("seed %d: voter %s has %d dots counted in round %d of %d", seed, v, n, r.N, r.Dots)
			}
		}
		for k, n := range perItem {
			if r.MaxPerItem > 0 && n > r.MaxPerItem {
				t.Errorf("seed %d: %d dots of %s on %s, cap %d", seed, n, k.voter, k.item, r.MaxPerItem)
			}
		}
		sum := 0
		for _, res := range s.Tally(r.N) {
			sum += res.Dots
		}
		counted := 0
		for _, d := range s.Dots {
			if d.Round == r.N && d.Status == DotCounted {
				counted++
			}
		}
		if sum != counted {
			t.Errorf("seed %d round %d: tally sums to %d, %d dots counted", seed, r.N, sum, counted)
		}
	}
	for _, i := range s.Ideas {
		if i.MergedInto != "" && s.Idea(i.MergedInto).MergedInto != "" {
			t.Errorf("seed %d: idea merged into a duplicate", seed)
		}
	}
}

// FuzzFold: events from untrusted bytes (one per line, through
// DecodeEvent) fold without panicking, keep the invariants, and fold the
// same in reverse order.
func FuzzFold(f *testing.F) {
	spec, log, pending := randomWorkshop(f, 5, 25)
	var seed []byte
	for _, e := range append(log, pending...) {
		b, err := Encode(e)
		if err != nil {
			f.Fatal(err)
		}
		seed = append(append(seed, b...), '\n')
	}
	f.Add(seed)
	f.Fuzz(func(t *testing.T, b []byte) {
		var evs []Event
		for line := range bytes.SplitSeq(b, []byte("\n")) {
			if e, err := DecodeEvent(line); err == nil {
				evs = append(evs, e)
			}
		}
		s := Fold("ws1", spec, evs)
		checkInvariants(t, 0, s)
		slices.Reverse(evs)
		if canonical(t, Fold("ws1", spec, evs)) != canonical(t, s) {
			t.Fatal("the state depends on the order of the events")
		}
	})
}
