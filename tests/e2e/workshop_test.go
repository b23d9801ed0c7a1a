package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/quartierhub/quartierhub/kiosk/identity"
	"github.com/quartierhub/quartierhub/kiosk/localapi"
	"github.com/quartierhub/quartierhub/kiosk/session"
	"github.com/quartierhub/quartierhub/kiosk/ui"
)

var workshopCreated = regexp.MustCompile(`workshop (\S+) created \(draft\), join code (\S+)`)

// A workshop on the real window: the hub opens one for this terminal
// (hub-server workshop create, phase), the window's attract screen
// becomes the workshop's; a card on the reader checks its holder in, an
// idea typed on the on-screen keyboard reaches the hub; in the vote the
// participant gives a dot and sees it counted; the results are ranked.
func TestWorkshopThroughWindow(t *testing.T) {
	needDisplay(t)
	tm := startTerminal(t)
	id, err := identity.Load(tm.data)
	must(t, err)
	spec := fmt.Sprintf(`{"title": "Friedrichstraße neu denken", "question": "Was braucht die Friedrichstraße?",
  "lang": "de", "method": "simple", "dots": 2, "vote_on": "ideas", "phones": true, "terminals": [%q]}`, id.TerminalID)
	specFile := filepath.Join(tm.art, "workshop.json")
	must(t, os.WriteFile(specFile, []byte(spec), 0o600))
	out, err := tm.hub.CLI(tm.ctx, "workshop", "create", "--file", specFile)
	must(t, err)
	m := workshopCreated.FindSubmatch(out)
	if m == nil {
		t.Fatalf("workshop create said %q", out)
	}
	ws := string(m[1])
	phase := func(to string) {
		t.Helper()
		if out, err := tm.hub.CLI(tm.ctx, "workshop", "phase", "--id", ws, "--to", to); err != nil {
			t.Fatalf("phase %s: %v %s", to, err, out)
		}
	}
	phase("ideas")

	// The agent learns of it from the hub; the window shows it.
	tm.waitScreen(ui.ScreenWorkshop)
	tm.shadowFollows(ui.ScreenWorkshop)
	tm.screenshot("workshop-attract")

	// A card checks in (the shadow gets the same card's hash: a card is
	// the same voter every time).
	const uid = "01004CA53B"
	key, err := session.LoadCardKey(tm.data, "")
	must(t, err)
	tm.devsimSend("rdm6300 present " + uid)
	tm.waitScreen(ui.ScreenWorkshopJoin) // one moment while it checks in
	tm.waitScreen(ui.ScreenWorkshopIdeas)
	tm.shadow.HandleEvent(localapi.Event{Type: localapi.EventCard, Card: &localapi.CardEvent{Presented: true, Hash: session.HashCard(key, uid)}})
	if tm.shadow.Screen() != ui.ScreenWorkshopIdeas || tm.shadow.Voter() == "" {
		t.Fatal("the shadow did not check the same card in")
	}
	const idea = "Mehr Bänke"
	tm.typeText(idea)
	tm.screenshot("workshop-ideas")
	tm.tap("workshop.ideas.send")
	tm.wait("the idea at the hub", func() (bool, error) {
		out, err := tm.hub.CLI(tm.ctx, "workshop", "export", "--id", ws, "--format", "json")
		return err == nil && strings.Contains(string(out), idea), err
	})

	// The vote: one dot on the idea, counted once the hub has it.
	phase("vote")
	tm.waitScreen(ui.ScreenWorkshopVote)
	tm.shadowFollows(ui.ScreenWorkshopVote)
	tm.tap(ui.ItemAction("Punkt geben", idea))
	tm.wait("the dot counted", func() (bool, error) {
		v, err := tm.client.Workshop(tm.ctx, tm.shadow.Voter())
		if err != nil || v.Me == nil {
			return false, err
		}
		return len(v.Me.Dots) == 1 && v.Me.Dots[0].Status == "counted" && v.Me.DotsLeft == 1, nil
	})
	tm.screenshot("workshop-vote")

	phase("results")
	tm.waitScreen(ui.ScreenWorkshopResults)
	tm.screenshot("workshop-results")
	out, err = tm.hub.CLI(tm.ctx, "workshop", "export", "--id", ws, "--format", "json")
	must(t, err)
	var exp struct {
		Rounds []struct {
			Results []struct {
				Text string `json:"text"`
				Dots int    `json:"dots"`
			} `json:"results"`
		} `json:"rounds"`
	}
	must(t, json.Unmarshal(out, &exp))
	if len(exp.Rounds) != 1 || len(exp.Rounds[0].Results) != 1 || exp.Rounds[0].Results[0].Text != idea || exp.Rounds[0].Results[0].Dots != 1 {
		t.Errorf("the hub's results: %s", out)
	}

	// The card taken away ends the session: the workshop's screen again.
	tm.devsimSend("rdm6300 remove")
	tm.waitScreen(ui.ScreenWorkshop)
}

// shadowFollows brings the shadow to the workshop state the agent has
// now (the real window follows the agent's event stream; the shadow
// has none) and checks it shows screen.
func (tm *terminal) shadowFollows(screen string) {
	tm.t.Helper()
	tm.shadow.HandleEvent(localapi.Event{Type: localapi.EventWorkshop, Workshop: &localapi.WorkshopNote{}})
	if got := tm.shadow.Screen(); got != screen {
		tm.t.Fatalf("the shadow shows %s, the window %s", got, screen)
	}
}
