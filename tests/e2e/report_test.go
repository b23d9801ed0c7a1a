package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/quartierhub/quartierhub/kiosk/session"
	"github.com/quartierhub/quartierhub/kiosk/ui"
)

// A resident reports a problem on the touchscreen: the report reaches the
// hub with the text typed on the on-screen keyboard, and the receipt with
// its reference and the status URL as QR code comes out of the printer.
func TestReportThroughWindow(t *testing.T) {
	needDisplay(t)
	tm := startTerminal(t)
	tm.screenshot("attract")

	tm.tap(ui.AttractArea)
	tm.screenshot("home")
	if st, err := tm.client.Status(tm.ctx); err != nil || st.Fleet.Screen != ui.FleetSession {
		// The window reports its state to the fleet; a session is on.
		tm.wait("the fleet state session", func() (bool, error) {
			st, err := tm.client.Status(tm.ctx)
			return err == nil && st.Fleet.Screen == ui.FleetSession, err
		})
	}
	tm.tap("Problem melden")
	tm.tap("Müll oder Sperrmüll")
	const text = "Müll überall"
	tm.typeText(text)
	tm.screenshot("describe")
	tm.tap("action.next")
	tm.tap("Yenidze / Weißeritzstraße")
	tm.screenshot("confirm")
	tm.tap("report.confirm.send")
	tm.screenshot("thanks")

	// At the hub, with what was typed and chosen.
	var id string
	tm.wait("the report at the hub", func() (bool, error) {
		recs, err := tm.hub.Export(tm.ctx)
		if err != nil {
			return false, err
		}
		for _, r := range recs {
			if r.Type != "problem_report" {
				continue
			}
			var p struct{ Category, Text, Place, Language string }
			if err := json.Unmarshal(r.Payload, &p); err != nil {
				return false, err
			}
			if p.Category != "litter" || p.Text != text || p.Place != "yenidze" || p.Language != "de" {
				t.Fatalf("the hub has %s", r.Payload)
			}
			id = r.ID
			return true, nil
		}
		return false, nil
	})

	// On paper: the reference and the QR code with the status URL.
	ref := session.Reference(id)
	qr := `qr centre model 2 module`
	url := session.StatusURL(tm.hub.URL(), ref)
	tm.wait("the receipt in the printer's transcript", func() (bool, error) {
		out := tm.devsimSend("escpos transcript")
		if !strings.HasPrefix(out, "escpos transcript,") {
			return false, fmt.Errorf("devsim answered %q", out)
		}
		return strings.Contains(out, `"`+ref+`"`) && strings.Contains(out, qr) && strings.Contains(out, `"`+url+`"`) &&
			strings.Contains(out, "cut "), nil
	})

	// Done: back to the attract screen, and the fleet hears so.
	tm.tap("action.done")
	tm.wait("the fleet state attract", func() (bool, error) {
		st, err := tm.client.Status(tm.ctx)
		return err == nil && st.Fleet.Screen == ui.FleetAttract, err
	})
	tm.screenshot("attract-again")
}
