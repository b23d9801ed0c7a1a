package cli

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/internal/fakehub"
	"github.com/quartierhub/quartierhub/internal/testutil"
	ws "github.com/quartierhub/quartierhub/internal/workshop"
	"github.com/quartierhub/quartierhub/kiosk/agent"
	"github.com/quartierhub/quartierhub/kiosk/config"
	"github.com/quartierhub/quartierhub/kiosk/hubsync"
	"github.com/quartierhub/quartierhub/kiosk/identity"
)

// Every workshop action a terminal offers, from the command line: status,
// check-ins by card and as a guest, an idea, a dot placed and taken back,
// done; refusals carry their code; --json prints the answer.
func TestWorkshopCommands(t *testing.T) {
	dir := t.TempDir()
	h := fakehub.Start(t, fakehub.Opts{})
	if err := identity.Save(dir, identity.Identity{TerminalID: "T1", Name: "t", Quarter: "q", HubURL: h.URL(), Key: h.NewTerminal("T1")}); err != nil {
		t.Fatal(err)
	}
	spec := ws.Spec{Title: "Spielplatz", Question: "Was fehlt?", Lang: "en", Method: ws.MethodSimple,
		Phases: []ws.PhaseSpec{{Kind: ws.PhaseIdeas, Title: "Ideas"}, {Kind: ws.PhaseVote, Title: "Dots"}},
		Dots:   2, VoteOn: ws.OnIdeas, Terminals: []string{"T1"}}
	sb, _ := json.Marshal(spec)
	h.AddWorkshop(api.WorkshopInfo{ID: "w1", Title: "Spielplatz", Spec: sb}, "T1")
	moderate := func(typ ws.Type, data any) {
		body, _ := ws.Encode(data)
		h.AppendEvent(ws.Event{ID: ulid.Make().String(), Workshop: "w1", Device: ws.DeviceHub,
			HLC: ws.HLC{Wall: time.Now().UnixMilli()}, Actor: "m:mod", Type: typ, Data: body})
	}
	moderate(ws.TypePhase, ws.Phase{Index: 0, Deadline: time.Now().UnixMilli()})
	a := agent.New(agent.Opts{DataDir: dir, Logger: slog.New(slog.DiscardHandler),
		Config:   config.Config{CardHashKey: "00112233445566778899aabbccddeeff"},
		Sync:     hubsync.Opts{Interval: 50 * time.Millisecond, MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond},
		Workshop: agent.WorkshopOpts{ListInterval: 100 * time.Millisecond, MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	<-a.Ready()

	run := func(args ...string) string {
		t.Helper()
		code, out, errs := runCLI(t, append([]string{"workshop", args[0], "--data", dir}, args[1:]...)...)
		if code != 0 {
			t.Fatalf("kiosk workshop %v: exit %d: %s", args, code, errs)
		}
		return out
	}
	testutil.Eventually(t, "the workshop in the status", func() bool {
		_, out, _ := runCLI(t, "workshop", "status", "--data", dir)
		return strings.Contains(out, "Spielplatz (w1)") && strings.Contains(out, `1/2 ideas "Ideas"`)
	})
	guest := strings.Fields(run("checkin", "--guest"))
	if len(guest) != 4 || !strings.HasPrefix(guest[0], "v:g") || guest[1]+" "+guest[2] != "Guest 1" || guest[3] != "(pending)" {
		t.Fatalf("checkin --guest printed %q", guest)
	}
	var card struct{ Voter, Label string }
	if err := json.Unmarshal([]byte(run("checkin", "--json", "--card", "01004CA53B")), &card); err != nil || !strings.HasPrefix(card.Voter, "v:") {
		t.Fatalf("checkin --card --json: %+v %v", card, err)
	}
	idea := strings.Fields(run("idea", "--voter", guest[0], "Ein", "Trinkbrunnen"))[0]
	if code, _, errs := runCLI(t, "workshop", "idea", "--data", dir, "--voter", guest[0], "--table", "2", "Bank"); code == 0 || !strings.Contains(errs, "no café table 2") {
		t.Fatalf("a café table outside a café: exit %d, %q", code, errs)
	}
	run("done", "--voter", guest[0])
	code, _, errs := runCLI(t, "workshop", "dot", "--data", dir, "--voter", guest[0], idea)
	if code == 0 || !strings.Contains(errs, "(wrong_phase)") {
		t.Fatalf("a dot in the ideas phase: exit %d, %q", code, errs)
	}
	moderate(ws.TypePhase, ws.Phase{Index: 1, Deadline: time.Now().UnixMilli()})
	testutil.Eventually(t, "the round open", func() bool {
		_, out, _ := runCLI(t, "workshop", "status", "--data", dir)
		return strings.Contains(out, "round") && strings.Contains(out, "1 on ideas, 2 dots each")
	})
	dot := strings.Fields(run("dot", "--voter", card.Voter, idea))
	if len(dot) != 4 || dot[1] != "pending" || dot[2] != "1" {
		t.Fatalf("dot printed %q", dot)
	}
	status := run("status", "--voter", card.Voter)
	if !strings.Contains(status, "dot "+dot[0]) || !strings.Contains(status, "Ein Trinkbrunnen") {
		t.Fatalf("status with the voter:\n%s", status)
	}
	if out := strings.Fields(run("undot", "--voter", card.Voter, dot[0])); out[1] != "taken" || out[2] != "2" {
		t.Fatalf("undot printed %q", out)
	}
	code, _, errs = runCLI(t, "workshop", "idea", "--data", dir, "Text")
	if code == 0 || !strings.Contains(errs, "--voter V is required") {
		t.Fatalf("idea without a voter: %d %q", code, errs)
	}
}
