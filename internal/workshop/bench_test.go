package workshop

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// realisticLog is a 10,000-event workshop as a large citizen lab would
// produce it: 40 voters on three terminals and phones, 300 ideas, 12
// themes with a lot of dragging, merges, edits and hides, a vote with
// dots placed and taken back, and a runoff.
func realisticLog(tb testing.TB) (Spec, []Event) {
	a := newAuthor(tb, 2026)
	rng := rand.New(rand.NewPCG(1, 2))
	spec := goodSpec(MethodSimple)
	spec.Dots, spec.MaxPerItem = 7, 2
	devices := []string{"t:T1", "t:T2", "t:T3", DeviceHub}
	var evs []Event
	add := func(device, actor string, t Type, data any) Event {
		a.tick(int64(20 + rng.IntN(100)))
		e := a.stamp(a.ev(device, actor, t, data))[0]
		evs = append(evs, e)
		return e
	}
	phase := func(i int) { add(DeviceHub, "m:anna", TypePhase, Phase{Index: i, Deadline: a.wall}) }
	voters := make([]string, 40)
	for i := range voters {
		voters[i] = fmt.Sprintf("v:%020x", i)
		via := ViaCard
		if i%4 == 3 {
			via = ViaPhone
		}
		add(devices[i%4], voters[i], TypeCheckIn, CheckIn{Via: via, Label: fmt.Sprintf("Gast %d", i)})
	}
	phase(0)
	var ideas []string
	for i := range 300 {
		v := i % 40
		ideas = append(ideas, add(devices[v%4], voters[v], TypeIdea, Idea{Text: fmt.Sprintf("Idee %d: mehr Grün und Bänke am Platz", i), Phase: 0}).ID)
	}
	for i := range 40 {
		add(devices[i%4], voters[i], TypeDone, Done{Phase: 0})
	}
	phase(1)
	themes := make([]string, 12)
	for i := range themes {
		themes[i] = fmt.Sprintf("th%d", i)
		add(DeviceHub, "m:anna", TypeTheme, Theme{Theme: themes[i], Name: fmt.Sprintf("Thema %d", i)})
	}
	for i := range 20 {
		add(DeviceHub, "m:anna", TypeMerge, Merge{Idea: ideas[i*2], Into: ideas[i*2+1]})
	}
	for i := range 30 {
		add(DeviceHub, "m:anna", TypeEdit, Edit{Idea: ideas[100+i], Text: fmt.Sprintf("Idee %d (bearbeitet)", i)})
		add(DeviceHub, "m:anna", TypeHide, Hide{Idea: ideas[200+i], Reason: "doppelt"})
	}
	for range 2500 {
		add(DeviceHub, "m:anna", TypeMove, Move{Idea: ideas[rng.IntN(300)], To: themes[rng.IntN(12)]})
	}
	phase(2)
	placed := map[string][]string{}
	for range 4200 {
		v := rng.IntN(40)
		if len(placed[voters[v]]) > 5 && rng.IntN(3) == 0 {
			d := placed[voters[v]][0]
			placed[voters[v]] = placed[voters[v]][1:]
			add(devices[v%4], voters[v], TypeDotTake, DotTake{Dot: d})
			continue
		}
		placed[voters[v]] = append(placed[voters[v]], add(devices[v%4], voters[v], TypeDot, Dot{Round: 1, Item: ideas[rng.IntN(300)]}).ID)
	}
	phase(3)
	add(DeviceHub, "m:anna", TypeReveal, Reveal{Round: 1})
	add(DeviceHub, "m:anna", TypeRunoff, Runoff{From: 1, Round: 2, TopK: 5})
	s := Fold(a.workshop, spec, evs)
	cands := s.Round(2).Candidates
	for len(evs) < 10_000 {
		v := rng.IntN(40)
		add(devices[v%4], voters[v], TypeDot, Dot{Round: 2, Item: cands[rng.IntN(len(cands))]})
	}
	return spec, evs
}

func BenchmarkFold10k(b *testing.B) {
	spec, evs := realisticLog(b)
	b.ReportAllocs()
	for b.Loop() {
		Fold("ws1", spec, evs)
	}
	b.ReportMetric(float64(len(evs))*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
