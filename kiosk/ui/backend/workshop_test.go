package backend_test

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/kiosk/localapi"
	"github.com/quartierhub/quartierhub/kiosk/ui/backend"
)

func votingView() localapi.WorkshopView {
	return localapi.WorkshopView{
		Active: true, ID: "W1", Title: "T", Question: "Q?", Started: true, Online: true,
		Phase: &localapi.WorkshopPhase{Index: 2, Count: 4, Kind: "vote", Title: "Punkte"},
		Ideas: []localapi.WorkshopIdea{
			{ID: "I1", Text: "Bänke", Theme: "T1", Mine: true},
			{ID: "I2", Text: "Bänke!", Theme: "T1", MergedInto: "I1"},
			{ID: "I3", Text: "Bäume", Pending: true},
			{ID: "I4", Text: "Später", Theme: "parking"},
		},
		Themes:  []localapi.WorkshopTheme{{ID: "T1", Name: "Sitzen", Ideas: []string{"I1", "I2"}}},
		Round:   &localapi.WorkshopRound{N: 1, On: "ideas", Dots: 3, MaxPerItem: 2, Items: []string{"I1", "I3"}},
		Results: []localapi.WorkshopResult{{Item: "I1", Text: "Bänke", Dots: 7, Rank: 1}},
		Me: &localapi.WorkshopMe{Voter: "v:1", Label: "Gast 3", DotsLeft: 1, Dots: []localapi.WorkshopDot{
			{ID: "D1", Item: "I1", Status: "counted"}, {ID: "D2", Item: "I1", Status: "over_limit"}, {ID: "D3", Item: "I3", Status: "pending"}}},
		Available: []localapi.WorkshopSummary{{ID: "W1", Title: "T"}, {ID: "W2", Title: "U"}},
	}
}

// The view as the screens read it: duplicates left out (their dots
// follow the surviving idea), the voter's dots on their items, totals
// only once revealed, the current workshop marked among those open.
func TestWorkshopOf(t *testing.T) {
	v := votingView()
	w := backend.WorkshopOf(v)
	if len(w.Ideas) != 3 || w.Ideas[1].ID != "I3" {
		t.Fatalf("ideas %+v", w.Ideas)
	}
	if got := w.Themes[0].Ideas; len(got) != 2 || got[0].Text != "Bänke" || got[1].Text != "Bänke!" {
		t.Fatalf("theme's ideas %+v", got)
	}
	if u, p := w.Unsorted(), w.Parked(); len(u) != 1 || u[0].Text != "Bäume" || len(p) != 1 || p[0].Text != "Später" {
		t.Fatalf("unsorted %+v parked %+v", u, p)
	}
	if len(w.Items) != 2 || w.Items[0].Text != "Bänke" || w.Items[0].Total != -1 || len(w.Items[0].Mine) != 2 {
		t.Fatalf("items %+v", w.Items)
	}
	if len(w.Results) != 0 {
		t.Fatal("results before the reveal")
	}
	if w.Step() != backend.StepVote || w.Me.Label != "Gast 3" || !w.Open[0].Current || w.Open[1].Current {
		t.Fatalf("step %s, me %+v, open %+v", w.Step(), w.Me, w.Open)
	}
	if mine := w.MyIdeas(); len(mine) != 1 || mine[0].ID != "I1" {
		t.Fatalf("my ideas %+v", mine)
	}
	v.Round.Revealed = true
	w = backend.WorkshopOf(v)
	if w.Items[0].Total != 7 || w.Items[1].Total != 0 || len(w.Results) != 1 {
		t.Fatalf("revealed: items %+v results %+v", w.Items, w.Results)
	}
	v.Round.On = "themes"
	v.Round.Items = []string{"T1"}
	if w = backend.WorkshopOf(v); w.Items[0].Text != "Sitzen" || !w.Round.OnThemes {
		t.Fatalf("a round on themes: %+v", w.Items)
	}
}

// A voter's dots in words: counted, pending, over the limit; "take back"
// takes one over the limit first; "give a dot" stops at the voter's dots
// and at the item cap.
func TestWorkshopDots(t *testing.T) {
	w := backend.WorkshopOf(votingView())
	bench, trees := w.Items[0], w.Items[1]
	if c := bench.Count(); c != (backend.DotCount{Counted: 1, Over: 1}) || bench.Placed() != 2 {
		t.Fatalf("bench: %+v", c)
	}
	if trees.Count().Pending != 1 {
		t.Fatalf("trees: %+v", trees.Count())
	}
	if bench.Takeable() != "D2" || trees.Takeable() != "D3" || (backend.VoteItem{}).Takeable() != "" {
		t.Fatalf("takeable %q %q", bench.Takeable(), trees.Takeable())
	}
	if ok, why := w.CanAdd(bench); ok || why != "workshop.vote.item_full" {
		t.Fatalf("bench at the cap: %v %q", ok, why)
	}
	if ok, _ := w.CanAdd(trees); !ok {
		t.Fatal("a dot left, trees under the cap: refused")
	}
	w.Me.DotsLeft = 0
	if ok, why := w.CanAdd(trees); ok || why != "workshop.vote.none_left" {
		t.Fatalf("no dots left: %v %q", ok, why)
	}
	w.Round.Closed = true
	if ok, why := w.CanAdd(trees); ok || why != "workshop.vote.closed" {
		t.Fatalf("closed: %v %q", ok, why)
	}
	w.Me = nil
	if ok, _ := w.CanAdd(trees); ok {
		t.Fatal("a dot without a voter")
	}
}

// Named ideas: each idea, its place in a theme, its vote item and its
// result carry the writer's first name; in an anonymous workshop no
// name is shown even if one came. A café's ideas phase asks for the
// table; its cluster phase, or ideas without a round, do not.
func TestWorkshopNamedAndCafe(t *testing.T) {
	v := votingView()
	v.Named = true
	v.Ideas[0].Author, v.Ideas[2].Author = "Anna", "Ömer"
	v.Round.Revealed = true
	w := backend.WorkshopOf(v)
	if w.Ideas[0].Author != "Anna" || w.Themes[0].Ideas[0].Author != "Anna" || w.Items[1].Author != "Ömer" || w.Results[0].Author != "Anna" {
		t.Fatalf("named: ideas %+v themes %+v items %+v results %+v", w.Ideas, w.Themes, w.Items, w.Results)
	}
	if u := w.Unsorted(); len(u) != 1 || u[0].Author != "Ömer" {
		t.Fatalf("unsorted %+v", u)
	}
	v.Named = false
	w = backend.WorkshopOf(v)
	if w.Ideas[0].Author != "" || w.Items[1].Author != "" || w.Results[0].Author != "" || w.Themes[0].Ideas[0].Author != "" {
		t.Fatal("a name shown in an anonymous workshop")
	}
	if w.AsksTable() {
		t.Fatal("a table asked outside a café")
	}
	cafe := localapi.WorkshopView{Active: true, Started: true, Method: "cafe", Tables: 4,
		Phase: &localapi.WorkshopPhase{Kind: "ideas", Round: 2}}
	if w := backend.WorkshopOf(cafe); !w.AsksTable() || w.Tables != 4 || w.Phase.Round != 2 {
		t.Fatalf("café ideas phase: asks %v, %+v", w.AsksTable(), w)
	}
	cafe.Phase = &localapi.WorkshopPhase{Kind: "cluster"}
	if backend.WorkshopOf(cafe).AsksTable() {
		t.Fatal("a table asked in the café's cluster phase")
	}
	cafe.Phase = &localapi.WorkshopPhase{Kind: "ideas"}
	if backend.WorkshopOf(cafe).AsksTable() {
		t.Fatal("a table asked in an ideas phase without a café round")
	}
}

// Which screen a phase gets, and the timer.
func TestWorkshopStepAndTimer(t *testing.T) {
	now := time.Date(2025, 3, 3, 9, 30, 0, 0, time.UTC)
	for _, c := range []struct {
		v    localapi.WorkshopView
		want string
	}{
		{localapi.WorkshopView{Active: true}, backend.StepWait},
		{localapi.WorkshopView{Active: true, Started: true, Phase: &localapi.WorkshopPhase{Kind: "ideas"}}, backend.StepIdeas},
		{localapi.WorkshopView{Active: true, Started: true, Phase: &localapi.WorkshopPhase{Kind: "cluster"}}, backend.StepThemes},
		{localapi.WorkshopView{Active: true, Started: true, Phase: &localapi.WorkshopPhase{Kind: "vote"}}, backend.StepWait}, // no round yet
		{localapi.WorkshopView{Active: true, Started: true, Phase: &localapi.WorkshopPhase{Kind: "results"}}, backend.StepResults},
		{localapi.WorkshopView{Active: true, Started: true, Ended: true}, backend.StepWait},
		{localapi.WorkshopView{Active: true, Started: true, Ended: true, Results: []localapi.WorkshopResult{{Item: "I1"}}}, backend.StepResults},
	} {
		if got := backend.WorkshopOf(c.v).Step(); got != c.want {
			t.Errorf("%+v: step %s, want %s", c.v, got, c.want)
		}
	}
	w := backend.WorkshopOf(localapi.WorkshopView{Phase: &localapi.WorkshopPhase{EndsAt: now.Add(4*time.Minute + 4500*time.Millisecond)}})
	if left, ok := w.TimeLeft(now); !ok || backend.Clock(left) != "4:05" {
		t.Fatalf("left %v %v", left, ok)
	}
	if left, ok := w.TimeLeft(now.Add(time.Hour)); !ok || left != 0 {
		t.Fatalf("after the end: %v %v", left, ok)
	}
	if _, ok := (backend.Workshop{}).TimeLeft(now); ok {
		t.Fatal("a timer without one")
	}
	if backend.Clock(3723*time.Second) != "1:02:03" || backend.Clock(0) != "0:00" {
		t.Fatal("clock format")
	}
	if backend.Short("a  b\nc", 10) != "a b c" || backend.Short("abcdefghijkl", 5) != "abcd…" {
		t.Fatal("short")
	}
}

// refuser is an agent whose workshop refuses everything with code.
type refuser struct {
	localapi.Backend
	localapi.WorkshopBackend
	code string
}

func (r refuser) WorkshopIdea(context.Context, localapi.WorkshopIdeaRequest) (localapi.WorkshopIdeaResponse, error) {
	return localapi.WorkshopIdeaResponse{}, &localapi.WorkshopError{Code: r.code, Message: "no", Status: 409}
}

// A refusal's code crosses the agent's socket and the window finds it;
// an error that is no refusal has none.
func TestWorkshopRefusalOverTheSocket(t *testing.T) {
	// "invalid" is also the local API's own code for a bad request (the
	// client makes it ErrInvalid): the window still says why.
	for _, code := range []string{"wrong_phase", "invalid"} {
		dir, err := os.MkdirTemp("", "qh-ws") // short: a socket path has ~100 bytes
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		srv := localapi.NewServer(dir, refuser{code: code}, slog.New(slog.DiscardHandler))
		ln, err := srv.Listen()
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- srv.Serve(ctx, ln) }()
		t.Cleanup(func() { cancel(); <-done })
		_, err = localapi.NewClient(dir).WorkshopIdea(ctx, localapi.WorkshopIdeaRequest{Voter: "v:1", Text: "x"})
		if got := backend.WorkshopRefusal(err); got != code {
			t.Fatalf("refusal %q from %v, want %q", got, err, code)
		}
	}
	if got := backend.WorkshopRefusal(errors.New("connection reset")); got != "" {
		t.Fatalf("a broken connection is refusal %q", got)
	}
}

// Every refusal code the model and the local API define is one the
// window has words for (kiosk/ui's TestWorkshopRefusalsTranslated checks
// the words): a code added there without words here fails.
func TestWorkshopRefusalsComplete(t *testing.T) {
	have := map[string]bool{}
	for _, c := range backend.WorkshopRefusals {
		have[c] = true
	}
	fset := token.NewFileSet()
	for file, typ := range map[string]string{"../../../internal/workshop/state.go": "Reason", "../../localapi/workshop.go": ""} {
		f, err := parser.ParseFile(fset, file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, sp := range g.Specs {
				vs := sp.(*ast.ValueSpec)
				name := vs.Names[0].Name
				if typ != "" && (vs.Type == nil || fmt.Sprint(vs.Type) != typ) || typ == "" && !strings.HasPrefix(name, "Code") {
					continue
				}
				code, _ := strconv.Unquote(vs.Values[0].(*ast.BasicLit).Value)
				if !have[code] {
					t.Errorf("%s: %s = %q has no words in the window", file, name, code)
				}
			}
		}
	}
}
