package console

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/internal/testutil"
	"github.com/quartierhub/quartierhub/internal/workshop"
)

// waitJS waits until a page expression is true (the live socket's
// updates arrive without a reload).
func waitJS(what, expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(10*time.Second))(ctx, t); err != nil {
			return fmt.Errorf("waiting for %s: %w", what, err)
		}
		return nil
	})
}

// fresh runs a step on the live pages again if the socket replaced its
// node between finding and using it (a fragment re-rendered at that
// moment); a person would simply click again.
func fresh(a chromedp.Action[chromedp.Void]) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		var err error
		for range 3 {
			if _, err = a(ctx, t); err == nil || !strings.Contains(err.Error(), "Could not find node") {
				return err
			}
		}
		return err
	})
}

// TestBrowserWorkshop is a moderator's workshop in Chromium: prepare it,
// open it, see a phone's idea arrive on the run page and the projector
// without a reload, drag it into a theme, open voting, reveal, export CSV.
func TestBrowserWorkshop(t *testing.T) {
	ctx := newBrowser(t)
	h, svc := workshopHub(t)
	sh := shots{t: t, dir: os.Getenv("CONSOLE_SCREENSHOTS")}
	h.addUser("mia", store.RoleModerator)
	h.enrolTerminal("jst-library-1", "Johannstadt")
	base := h.srv.URL
	bg := context.Background()

	run(t, ctx, "log in", chromedp.Navigate(base+"/console/login"), chromedp.WaitVisible(chromedp.ID("#name")),
		chromedp.SendKeys(chromedp.ID("#name"), "mia"), chromedp.SendKeys(chromedp.ID("#password"), testPassword),
		chromedp.Submit(chromedp.ID("#password")), chromedp.WaitVisible(chromedp.CSS(`ul.counts`)))

	// Prepare: the simple method's phases are there; title and question.
	run(t, ctx, "prepare", chromedp.Navigate(base+"/console/workshops"), chromedp.Click(chromedp.ID("#new-workshop")),
		chromedp.WaitVisible(chromedp.ID("#ws-phases")),
		chromedp.SendKeys(chromedp.ID("#title"), "Elbufer"), chromedp.SendKeys(chromedp.ID("#question"), "Was fehlt am Elbufer?"),
		chromedp.Click(chromedp.ID("#ws-save")), chromedp.WaitVisible(chromedp.CSS(".flash")), sh.take("workshop-prepare"))
	ws, err := svc.List(bg)
	if err != nil || len(ws) != 1 {
		t.Fatalf("workshops after prepare: %v %v", ws, err)
	}
	id := ws[0].ID

	// Open it from the run page; the socket replaces the controls.
	run(t, ctx, "run page", chromedp.Navigate(base+"/console/workshops/"+id), fresh(chromedp.WaitVisible(chromedp.ID("#ws-open"))),
		waitJS("the live socket", `document.querySelector(".ws-live").dataset.connected === "true"`),
		fresh(chromedp.Click(chromedp.ID("#ws-open"))), fresh(chromedp.WaitVisible(chromedp.ID("#ws-next"))))

	// The projector in a second tab.
	pctx, cancel := chromedp.NewContext(ctx)
	defer cancel()
	run(t, pctx, "projector", chromedp.Navigate(base+"/console/workshops/"+id+"/projector"), fresh(chromedp.WaitVisible(chromedp.CSS(".pj-question"))),
		waitJS("the projector's socket", `document.querySelector(".ws-live").dataset.connected === "true"`))

	// A phone joins and writes an idea: both pages show it, unreloaded.
	v, _ := svc.Get(bg, id)
	voter, _, err := svc.JoinPhone(bg, v.Workshop.JoinCode, strings.Repeat("g", 32))
	if err != nil {
		t.Fatal(err)
	}
	idea, err := svc.Act(bg, id, voter, workshop.TypeIdea, workshop.Idea{Text: "Mehr Bänke am Elbufer", Phase: 0})
	if err != nil {
		t.Fatal(err)
	}
	run(t, ctx, "idea on the run page", chromedp.Evaluate[chromedp.Void](`window.notReloaded = true`),
		waitJS("the idea in the inbox", `document.getElementById("ws-inbox").textContent.includes("Mehr Bänke am Elbufer")`),
		waitJS("no reload", `window.notReloaded === true`), sh.take("workshop-run"))
	run(t, pctx, "idea on the projector", waitJS("1 idea on the projector", `document.getElementById("pj-ideas").textContent.trim() === "1"`),
		sh.take("workshop-projector"))

	// Cluster: next phase, a theme, the idea dragged into it.
	run(t, ctx, "cluster", fresh(chromedp.Click(chromedp.ID("#ws-next"))), waitJS("the cluster phase", `!!document.querySelector("#ws-status") && document.querySelector("#ws-status").textContent.includes("Clustering")`),
		chromedp.Navigate(base+"/console/workshops/"+id+"/cluster"), fresh(chromedp.WaitVisible(chromedp.ID("#theme-name"))),
		waitJS("the board's socket", `document.querySelector(".ws-live").dataset.connected === "true"`),
		fresh(chromedp.SendKeys(chromedp.ID("#theme-name"), "Sitzen")), fresh(chromedp.Click(chromedp.CSS("#ws-theme-new button"))),
		waitJS("the new theme's column", `[...document.querySelectorAll(".ws-col h2")].some(h => h.textContent.includes("Sitzen"))`))
	v, _ = svc.Get(bg, id)
	theme := v.State.Themes[0].ID
	drag := fmt.Sprintf(`(() => {
		const card = document.getElementById("card-%s"), col = document.querySelector('[data-drop="%s"]');
		const dt = new DataTransfer();
		card.dispatchEvent(new DragEvent("dragstart", {bubbles: true, dataTransfer: dt}));
		col.dispatchEvent(new DragEvent("dragover", {bubbles: true, cancelable: true, dataTransfer: dt}));
		col.dispatchEvent(new DragEvent("drop", {bubbles: true, cancelable: true, dataTransfer: dt}));
		card.dispatchEvent(new DragEvent("dragend", {bubbles: true, dataTransfer: dt}));
	})()`, idea.ID, theme)
	run(t, ctx, "drag into the theme", chromedp.Evaluate[chromedp.Void](drag),
		waitJS("the idea in the theme after the server's update", fmt.Sprintf(`!!document.querySelector('[data-drop="%s"] #card-%s') && document.getElementById("col-%s").textContent.includes("(1)")`, theme, idea.ID, theme)),
		sh.take("workshop-cluster"))
	testutil.EventuallyOK(t, "the move stored", func() error {
		v, _ := svc.Get(bg, id)
		if i := v.State.Idea(idea.ID); i == nil || i.Theme != theme {
			return fmt.Errorf("idea is in %+v", i)
		}
		return nil
	}, testutil.Every(20*time.Millisecond))

	// Vote: next phase, open round 1 with the suggested dots; the phone
	// places a dot; the projector counts it but shows no totals; reveal.
	run(t, ctx, "vote", chromedp.Navigate(base+"/console/workshops/"+id), fresh(chromedp.WaitVisible(chromedp.ID("#ws-next"))),
		waitJS("the live socket", `document.querySelector(".ws-live").dataset.connected === "true"`),
		fresh(chromedp.Click(chromedp.ID("#ws-next"))), waitJS("the vote phase", `document.getElementById("ws-status").textContent.includes("Voting")`),
		fresh(chromedp.Click(chromedp.ID("#ws-vote"))), fresh(chromedp.WaitVisible(chromedp.ID("#ws-reveal"))))
	if _, err := svc.Act(bg, id, voter, workshop.TypeDot, workshop.Dot{Round: 1, Item: idea.ID}); err != nil {
		t.Fatal(err)
	}
	run(t, pctx, "dots on the projector", waitJS("1 dot placed", `(document.getElementById("pj-dots") || {textContent: ""}).textContent.includes("1 dots placed")`))
	if n, _ := chromedp.Run(pctx, chromedp.Evaluate[int](`document.querySelectorAll(".ws-ranking").length`)); n != 0 {
		t.Fatal("the projector shows totals before the reveal")
	}
	run(t, ctx, "reveal", fresh(chromedp.Click(chromedp.ID("#ws-reveal"))), fresh(chromedp.WaitVisible(chromedp.ID("#ranking-1"))))
	run(t, pctx, "results on the projector", waitJS("the ranking", `!!document.getElementById("ranking-1") && document.getElementById("ranking-1").textContent.includes("Mehr Bänke am Elbufer")`),
		sh.take("workshop-projector-results"))
	// On to the results phase: the projector's join code gives way to
	// the public results page's, unreloaded.
	run(t, pctx, "mark the projector", chromedp.Evaluate[chromedp.Void](`window.notReloaded = true`))
	run(t, ctx, "results phase", fresh(chromedp.Click(chromedp.ID("#ws-next"))), waitJS("the results phase", `document.getElementById("ws-status").textContent.includes("Results")`))
	run(t, pctx, "results QR code on the projector", waitJS("the results page's address",
		`!!document.getElementById("pj-results-url") && document.getElementById("pj-results-url").textContent.endsWith("/w/`+v.Workshop.JoinCode+`/results") && !document.getElementById("pj-join-url")`),
		waitJS("no reload", `window.notReloaded === true`))

	// Results page and its CSV export, fetched by the browser's session.
	run(t, ctx, "results", fresh(chromedp.Click(chromedp.CSS(`#ws-nav a[href$="/results"]`))), fresh(chromedp.WaitVisible(chromedp.ID("#export-csv"))), sh.take("workshop-results"))
	csv, err := chromedp.Run(ctx, chromedp.Evaluate[string](`fetch(document.getElementById("export-csv").href).then(r => r.text())`, chromedp.EvalAwaitPromise))
	if err != nil || !strings.Contains(csv, "Mehr Bänke am Elbufer") || !strings.Contains(csv, "1") {
		t.Fatalf("CSV export: %v\n%s", err, csv)
	}
}
