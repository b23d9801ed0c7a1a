package agent_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/quartierhub/quartierhub/assets"
	"github.com/quartierhub/quartierhub/drivers/sim/escpossim"
	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/internal/fakehub"
	"github.com/quartierhub/quartierhub/internal/testutil"
	ws "github.com/quartierhub/quartierhub/internal/workshop"
	"github.com/quartierhub/quartierhub/kiosk/agent"
	"github.com/quartierhub/quartierhub/kiosk/identity"
	"github.com/quartierhub/quartierhub/kiosk/localapi"
	"github.com/quartierhub/quartierhub/kiosk/session"
	"github.com/quartierhub/quartierhub/kiosk/ui/backend"
)

func hubEvent(t *testing.T, h *fakehub.Hub, id string, typ ws.Type, data any) {
	t.Helper()
	body, err := ws.Encode(data)
	if err != nil {
		t.Fatal(err)
	}
	h.AppendEvent(ws.Event{ID: ulid.Make().String(), Workshop: id, Device: ws.DeviceHub,
		HLC: ws.HLC{Wall: time.Now().UnixMilli()}, Actor: "m:moderator", Type: typ, Data: body})
}

func workshopCode(err error) string {
	var we *localapi.WorkshopError
	if errors.As(err, &we) {
		return we.Code
	}
	return ""
}

// A workshop over the local API: the window learns of it from a
// "workshop" event, checks in a guest and a card, takes an idea and
// dots, sees its own part, and prints the revealed results; a
// moderator's service card and PIN switch the terminal, a wrong PIN
// does not.
func TestWorkshopOverTheLocalAPI(t *testing.T) {
	r := newRig(t)
	h := fakehub.Start(t, fakehub.Opts{})
	if err := os.MkdirAll(r.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := identity.Save(r.dir, identity.Identity{TerminalID: "T1", Name: "test", Quarter: "Johannstadt", HubURL: h.URL(), Key: h.NewTerminal("T1")}); err != nil {
		t.Fatal(err)
	}
	key, _ := hex.DecodeString(testCardKey)
	serviceCard := "01004CA53B"
	content, err := assets.DemoContent()
	if err != nil {
		t.Fatal(err)
	}
	content.ServiceCards = []string{session.HashCard(key, serviceCard)}
	if content.ServicePIN, err = api.HashPIN("2468", []byte("0123456789abcdef"), 1000); err != nil {
		t.Fatal(err)
	}
	moderatorCard := "0A0B0C0D0E"
	content.ModeratorCards = []string{session.HashCard(key, moderatorCard)}
	if content.ModeratorPIN, err = api.HashPIN("1357", []byte("fedcba9876543210"), 1000); err != nil {
		t.Fatal(err)
	}
	cb, _ := json.Marshal(content)
	if err := os.WriteFile(filepath.Join(r.dir, agent.ContentFile), cb, 0o600); err != nil {
		t.Fatal(err)
	}
	spec := ws.Spec{Title: "Spielplatz", Question: "Was fehlt?", Lang: "de", Method: ws.MethodSimple,
		Phases: []ws.PhaseSpec{{Kind: ws.PhaseIdeas, Title: "Ideen"}, {Kind: ws.PhaseVote, Title: "Punkte"}, {Kind: ws.PhaseResults, Title: "Ergebnis"}},
		Dots:   2, VoteOn: ws.OnIdeas, Terminals: []string{"T1"}}
	sb, _ := json.Marshal(spec)

	c := runAgent(t, r.dir, agent.Opts{Config: r.cfg, Workshop: agent.WorkshopOpts{ListInterval: 100 * time.Millisecond, MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events, err := c.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The workshop opens while the window listens (a stream tells of
	// changes from its start on; a window reads the view when it starts).
	h.AddWorkshop(api.WorkshopInfo{ID: "w1", Title: "Spielplatz", JoinURL: "https://hub.example/w/K7", Spec: sb}, "T1")
	h.AddWorkshop(api.WorkshopInfo{ID: "w2", Title: "Radwege", Spec: sb}, "T1")
	hubEvent(t, h, "w1", ws.TypePhase, ws.Phase{Index: 0, Deadline: time.Now().UnixMilli()})
	testutil.Eventually(t, "the printer ready", func() bool {
		st, err := c.Status(ctx)
		ok, _ := backend.PrinterState(st.Devices)
		return err == nil && ok
	})
	sawWorkshop := make(chan struct{})
	go func() {
		for e := range events {
			if e.Type == localapi.EventWorkshop && e.Workshop != nil && e.Workshop.Workshop != "" {
				close(sawWorkshop)
				break
			}
		}
		for range events { // keep reading
		}
	}()
	var v localapi.WorkshopView
	testutil.Eventually(t, "a workshop shown", func() bool {
		v, err = c.Workshop(ctx, "")
		return err == nil && v.Active && v.Phase != nil
	})
	select {
	case <-sawWorkshop:
	case <-time.After(10 * time.Second):
		t.Fatal("no workshop event on the stream")
	}
	if v.ID != "w1" || v.Phase.Kind != ws.PhaseIdeas || v.ResultsURL != "https://hub.example/w/K7/results" || len(v.Available) != 2 {
		t.Fatalf("view %+v", v)
	}

	if _, err := c.Workshop(ctx, strings.Repeat("v", 65)); !errors.Is(err, localapi.ErrInvalid) {
		t.Fatalf("a voter ID of 65 characters: %v", err)
	}
	guest, err := c.WorkshopCheckin(ctx, localapi.WorkshopCheckinRequest{Guest: true})
	if err != nil || guest.Label != "Gast 1" || !guest.New {
		t.Fatalf("guest: %+v, %v", guest, err)
	}
	card, err := c.WorkshopCheckin(ctx, localapi.WorkshopCheckinRequest{CardUID: "01004CA53C"})
	if err != nil {
		t.Fatal(err)
	}
	byHash, err := c.WorkshopCheckin(ctx, localapi.WorkshopCheckinRequest{CardHash: session.HashCard(key, "01004CA53C")})
	if err != nil || byHash.Voter != card.Voter || byHash.New {
		t.Fatalf("the same card by its hash: %+v (%+v), %v", byHash, card, err)
	}
	if _, err := c.WorkshopCheckin(ctx, localapi.WorkshopCheckinRequest{Guest: true, CardUID: "1"}); !errors.Is(err, localapi.ErrInvalid) {
		t.Fatalf("guest and card at once: %v", err)
	}
	idea, err := c.WorkshopIdea(ctx, localapi.WorkshopIdeaRequest{Voter: guest.Voter, Text: "Ein Trinkbrunnen"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.WorkshopIdea(ctx, localapi.WorkshopIdeaRequest{Voter: guest.Voter, Text: strings.Repeat("lang ", 100)}); workshopCode(err) != "too_long" {
		t.Fatalf("a long idea: %v", err)
	}
	if _, err := c.WorkshopDot(ctx, localapi.WorkshopDotRequest{Voter: guest.Voter, Item: idea.ID}); workshopCode(err) != string(ws.ReasonWrongPhase) {
		t.Fatalf("a dot in the ideas phase: %v", err)
	}
	if err := c.WorkshopDone(ctx, localapi.WorkshopDoneRequest{Voter: guest.Voter}); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, "the hub's copies", func() bool {
		v, err = c.Workshop(ctx, guest.Voter)
		return err == nil && v.Queued == 0 && len(v.Ideas) == 1 && !v.Ideas[0].Pending
	})
	if v.Me == nil || v.Me.Label != "Gast 1" || !v.Me.Done || v.Me.Ideas != 1 || !v.Ideas[0].Mine || v.Counts.Voters != 2 || v.Counts.Done != 1 {
		t.Fatalf("the guest's view: %+v me %+v", v, v.Me)
	}

	hubEvent(t, h, "w1", ws.TypePhase, ws.Phase{Index: 1, Deadline: time.Now().UnixMilli()})
	testutil.Eventually(t, "the vote open", func() bool {
		v, err = c.Workshop(ctx, card.Voter)
		return err == nil && v.Round != nil
	})
	dot, err := c.WorkshopDot(ctx, localapi.WorkshopDotRequest{Voter: card.Voter, Item: idea.ID})
	if err != nil || dot.Status != string(ws.DotPending) || dot.DotsLeft != 1 {
		t.Fatalf("dot: %+v, %v", dot, err)
	}
	if _, err := c.WorkshopPrint(ctx, localapi.WorkshopPrintRequest{}); workshopCode(err) != string(ws.ReasonWrongPhase) {
		t.Fatalf("print before the reveal: %v", err)
	}
	testutil.Eventually(t, "the dot counted", func() bool {
		v, err = c.Workshop(ctx, card.Voter)
		return err == nil && len(v.Me.Dots) == 1 && v.Me.Dots[0].Status == string(ws.DotCounted)
	})
	hubEvent(t, h, "w1", ws.TypeReveal, ws.Reveal{Round: 1})
	testutil.Eventually(t, "the results", func() bool {
		v, err = c.Workshop(ctx, "")
		return err == nil && len(v.Results) == 1 && v.Results[0].Dots == 1
	})
	if _, err := c.WorkshopPrint(ctx, localapi.WorkshopPrintRequest{Lang: "en"}); err != nil {
		t.Fatal(err)
	}
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	if err := r.printer.WaitCuts(wctx, 1); err != nil {
		t.Fatal(err)
	}
	tr := r.printer.Transcript()
	if !strings.Contains(tr.Of(escpossim.Line).String(), "Ein Trinkbrunnen") || !strings.Contains(tr.Of(escpossim.QR).String(), "https://hub.example/w/K7/results") {
		t.Fatalf("summary transcript:\n%s", tr)
	}

	// Voting closes (the results phase): the revealed ranking stays.
	hubEvent(t, h, "w1", ws.TypePhase, ws.Phase{Index: 2, Deadline: time.Now().UnixMilli()})
	testutil.Eventually(t, "the results phase", func() bool {
		v, err = c.Workshop(ctx, "")
		return err == nil && v.Phase != nil && v.Phase.Kind == ws.PhaseResults
	})
	if v.Round != nil || len(v.Results) != 1 || v.Results[0].Dots != 1 {
		t.Fatalf("the results phase shows round %+v, results %+v; want the revealed ranking", v.Round, v.Results)
	}

	// The moderator: a wrong PIN, a card that is no service card, then
	// the right ones.
	if _, err := c.WorkshopSwitch(ctx, localapi.WorkshopSwitchRequest{Workshop: "w2", CardUID: serviceCard, PIN: "1111"}); workshopCode(err) != localapi.CodeBadCredentials {
		t.Fatalf("a wrong PIN: %v", err)
	}
	if _, err := c.WorkshopSwitch(ctx, localapi.WorkshopSwitchRequest{Workshop: "w2", CardUID: "01004CA53C", PIN: "2468"}); workshopCode(err) != localapi.CodeBadCredentials {
		t.Fatalf("a participant's card: %v", err)
	}
	v, err = c.WorkshopSwitch(ctx, localapi.WorkshopSwitchRequest{Workshop: "w2", CardHash: session.HashCard(key, serviceCard), PIN: "2468"})
	if err != nil || v.ID != "w2" {
		t.Fatalf("switch: %+v, %v", v.ID, err)
	}
	v, err = c.WorkshopLeave(ctx, localapi.WorkshopLeaveRequest{CardUID: serviceCard, PIN: "2468"})
	if err != nil || v.ID != "w1" {
		t.Fatalf("leave: %q, %v", v.ID, err)
	}
	// A moderator's card goes with the moderator PIN, not the service PIN.
	if _, err := c.WorkshopSwitch(ctx, localapi.WorkshopSwitchRequest{Workshop: "w2", CardUID: moderatorCard, PIN: "2468"}); workshopCode(err) != localapi.CodeBadCredentials {
		t.Fatalf("a moderator card with the service PIN: %v", err)
	}
	v, err = c.WorkshopSwitch(ctx, localapi.WorkshopSwitchRequest{Workshop: "w2", CardUID: moderatorCard, PIN: "1357"})
	if err != nil || v.ID != "w2" {
		t.Fatalf("switch with a moderator card: %q, %v", v.ID, err)
	}
}

// Wrong credentials lock the switch for a minute after five tries.
func TestModeratorSwitchLocksAfterWrongTries(t *testing.T) {
	c, _ := startAgent(t, agent.Opts{})
	ctx := context.Background()
	for i := range 5 {
		if _, err := c.WorkshopSwitch(ctx, localapi.WorkshopSwitchRequest{Workshop: "w", CardUID: "01", PIN: "0000"}); workshopCode(err) != localapi.CodeBadCredentials {
			t.Fatalf("try %d: %v", i, err)
		}
	}
	_, err := c.WorkshopSwitch(ctx, localapi.WorkshopSwitchRequest{Workshop: "w", CardUID: "01", PIN: "0000"})
	var we *localapi.WorkshopError
	if !errors.As(err, &we) || we.Status != 429 {
		t.Fatalf("sixth try: %v", err)
	}
}
