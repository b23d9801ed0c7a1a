package console

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/teststores"
	"github.com/quartierhub/quartierhub/internal/testutil"
)

// TestBrowserSiteAndTrends, in a real browser under the console's
// policy: an admin publishes a terminal from its page by pasting a map's
// coordinates, indoors (CO2 hourly, the warning beside it), then saves a
// change after someone else changed the site meanwhile and gets the
// conflict with the entries kept, saves again from it; the fleet page's
// health charts load as pictures.
func TestBrowserSiteAndTrends(t *testing.T) {
	ctx := newBrowser(t)
	axe := axeScript(t)
	st := teststores.Open(t, teststores.SQLite)
	h := newHubWith(t, st, nil)
	sh := shots{t: t, dir: os.Getenv("CONSOLE_SCREENSHOTS")}
	h.addUser("anna", store.RoleAdmin)
	term := h.enrolTerminal("jst-library-1", "Johannstadt")
	bg := context.Background()
	last := time.Now().UTC().Truncate(5 * time.Minute)
	for i := range 24 * 12 {
		s := store.FleetTrend{SampledAt: last.Add(-time.Duration(i) * 5 * time.Minute), Terminals: 40, Online: 36 + i%4, Offline: 4 - i%4,
			Unsent: int64(200 + 150*(i%24)), OpenAlerts: 3 + i%5, UnackedAlerts: i % 3}
		if err := st.AddFleetTrend(bg, s); err != nil {
			t.Fatal(err)
		}
	}
	base := h.srv.URL
	run(t, ctx, "log in", chromedp.Navigate(base+"/console/login?next=/console/terminals/jst-library-1"), chromedp.WaitVisible(chromedp.ID("#name")),
		chromedp.SendKeys(chromedp.ID("#name"), "anna"), chromedp.SendKeys(chromedp.ID("#password"), testPassword),
		chromedp.Submit(chromedp.ID("#password")), chromedp.WaitVisible(chromedp.ID("#site-link")))
	run(t, ctx, "open the site page", chromedp.Click(chromedp.ID("#site-link")), chromedp.WaitVisible(chromedp.ID("#site-form")))
	if got := textOf(t, ctx, "#site-none"); !strings.Contains(got, "Not published") {
		t.Fatalf("unpublished terminal: %q", got)
	}
	run(t, ctx, "publish indoors",
		chromedp.SendKeys(chromedp.ID("#latitude"), "51.0536, 13.7612"),
		chromedp.SendKeys(chromedp.ID("#place"), "Städtische Bibliothek Johannstadt, Foyer"),
		chromedp.Click(chromedp.ID("#indoor")), sh.take("site-form"),
		chromedp.Submit(chromedp.ID("#place")), chromedp.WaitVisible(chromedp.ID("#site-done")))
	if got := textOf(t, ctx, "#site-stored"); !strings.Contains(got, "51.0536, 13.7612") || !strings.Contains(got, "indoors") || !strings.Contains(got, "hourly means") {
		t.Fatalf("published site: %q", got)
	}
	if got := textOf(t, ctx, "#co2-warning"); !strings.Contains(got, "whether people are in the room") {
		t.Errorf("no warning beside CO2: %q", got)
	}
	checkAxe(t, ctx, axe, "site page", "")

	// Someone else moves the terminal while anna edits the place.
	cur, err := st.Site(bg, term.id)
	if err != nil {
		t.Fatal(err)
	}
	cur.Place = "Bibliothek, Lesesaal"
	if _, err := st.PutSite(bg, cur, store.Audit{At: time.Now(), Actor: "bernd", Action: "site.set"}); err != nil {
		t.Fatal(err)
	}
	run(t, ctx, "save on the old version",
		chromedp.SetValue(chromedp.ID("#place"), "Bibliothek, Eingang Pfotenhauerstraße"),
		chromedp.Submit(chromedp.ID("#place")), chromedp.WaitVisible(chromedp.ID("#site-conflict")), sh.take("site-conflict"))
	kept, err := chromedp.Run(ctx, chromedp.Value(chromedp.ID("#place")))
	if err != nil || kept != "Bibliothek, Eingang Pfotenhauerstraße" {
		t.Fatalf("the conflict page lost the entry: %q %v", kept, err)
	}
	if got := textOf(t, ctx, "#site-stored"); !strings.Contains(got, "Bibliothek, Lesesaal") {
		t.Errorf("the conflict page does not show what is stored: %q", got)
	}
	checkAxe(t, ctx, axe, "site conflict page", "")
	run(t, ctx, "save again", chromedp.Submit(chromedp.ID("#place")), chromedp.WaitVisible(chromedp.ID("#site-done")))
	if s, _ := st.Site(bg, term.id); s.Place != "Bibliothek, Eingang Pfotenhauerstraße" || s.Version != 3 {
		t.Fatalf("stored after the conflict: %+v", s)
	}

	run(t, ctx, "fleet page", chromedp.Navigate(base+"/console/"), chromedp.WaitVisible(chromedp.ID("#fleet-trends")))
	testutil.Eventually(t, "the fleet's three health charts load as pictures", func() bool {
		res, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](`(() => { const is = [...document.querySelectorAll('#fleet-trends img')];
			return [is.filter(i => i.complete && i.naturalWidth > 0).length, is.length]; })()`))
		return err == nil && len(res) == 2 && res[0] == 3 && res[1] == 3
	})
	checkAxe(t, ctx, axe, "fleet health charts", "#fleet-trends")
	run(t, ctx, "screenshot", chromedp.ScrollIntoView(chromedp.ID("#fleet-trends")), sh.take("fleet-trends"))
}
