package console

import (
	"context"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// newBrowserLang is headless Chromium whose browser language is
// acceptLang, as a phone (360 × 740 CSS pixels, touch) or a desktop.
func newBrowserLang(t *testing.T, acceptLang string, phone bool) context.Context {
	path := chromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("accept-lang", acceptLang), chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelT(); cancelC(); cancelA() })
	start := chromedp.Do(ctx)
	if phone {
		start = chromedp.Do(ctx, chromedp.EmulateViewport(360, 740, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulatePortrait))
	}
	if start != nil {
		t.Fatalf("start chromium: %v", start)
	}
	return ctx
}

func evalBool(t *testing.T, ctx context.Context, what, js string) bool {
	t.Helper()
	ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return ok
}

// TestStatusPageOnPhone: a resident scans the receipt's QR code with a
// German phone, reads the status in German on a narrow screen without
// sideways scrolling, and switches to English.
func TestStatusPageOnPhone(t *testing.T) {
	ctx := newBrowserLang(t, "de-DE,de", true)
	h := newHub(t, nil)
	sh := shots{t: t, dir: os.Getenv("CONSOLE_SCREENSHOTS")}
	h.addUser("mod", store.RoleModerator)
	h.addUser("anna", store.RoleAdmin)
	term := h.enrolTerminal("jst-1", "Johannstadt")
	admin := h.browser()
	admin.mustLogin("anna")
	admin.post("/console/config/edit", url.Values{"scope": {"global"}, "document": {testContent}, "op": {"save"}})
	id := term.upload(api.RecordProblemReport, api.ProblemReport{Category: "litter", Language: "de",
		Text: "Am Spielplatz Bönischplatz liegen seit Tagen Glasscherben unter der Rutsche."})
	ref := api.ReportReference(id)
	mod := h.browser()
	mod.mustLogin("mod")
	mod.post("/console/reports/jst-1/"+id, url.Values{"status": {"in_progress"}, "publish_text": {"yes"},
		"public_note": {"Die Stadtreinigung ist informiert und kommt bis Donnerstag. Rückfragen: https://www.dresden.de/stadtreinigung-sperrmuell-und-strassenreinigung"}})

	run(t, ctx, "status page", chromedp.Navigate(h.srv.URL+"/status/"+ref), chromedp.WaitVisible(chromedp.CSS(".status-card")), sh.take("status-phone-de"))
	if s := textOf(t, ctx, "h1"); s != "Stand Ihrer Meldung" {
		t.Errorf("h1 %q, want the German page for a German phone", s)
	}
	if s := textOf(t, ctx, ".status-card"); !strings.Contains(s, "In Bearbeitung") || !strings.Contains(s, "Müll") || !strings.Contains(s, "Glasscherben") {
		t.Errorf("status card: %q", s)
	}
	if !evalBool(t, ctx, "overflow", `document.documentElement.scrollWidth <= window.innerWidth`) {
		t.Error("the page is wider than the phone's screen (sideways scrolling)")
	}
	// Touch targets: the button and the language switch at least 44 px high.
	if !evalBool(t, ctx, "targets", `[...document.querySelectorAll('.lookup button, .langs a')].every(e => e.getBoundingClientRect().height >= 44)`) {
		t.Error("a button or the language switch is smaller than 44 px")
	}
	run(t, ctx, "switch to English", chromedp.Click(chromedp.CSS(`.langs a[hreflang="en"]`)), chromedp.WaitVisible(chromedp.CSS(`html[lang="en"] .status-card`)), sh.take("status-phone-en"))
	if s := textOf(t, ctx, "h1"); s != "Status of your report" {
		t.Errorf("after the switch: h1 %q", s)
	}
	if s := textOf(t, ctx, ".status-card"); !strings.Contains(s, "In progress") || !strings.Contains(s, "Litter") {
		t.Errorf("English status card: %q", s)
	}
	// The lookup form keeps English (cookie) for another reference.
	run(t, ctx, "lookup", chromedp.SetValue(chromedp.ID("#ref"), "zzzz-zzzz"), chromedp.Submit(chromedp.ID("#ref")),
		chromedp.WaitVisible(chromedp.CSS(`p.error`)), sh.take("status-phone-unknown"))
	if s := textOf(t, ctx, "p.error"); !strings.Contains(s, "We do not know the reference ZZZZ-ZZZZ yet") {
		t.Errorf("unknown reference: %q", s)
	}
	if !evalBool(t, ctx, "overflow", `document.documentElement.scrollWidth <= window.innerWidth`) {
		t.Error("the unknown-reference page is wider than the phone's screen")
	}
}

// TestAnnouncementFormInBrowser: a moderator with a German browser adds
// "Bürgerbüro geschlossen" through the form — no JSON — checks it, saves
// it, and switches the console to English in the header.
func TestAnnouncementFormInBrowser(t *testing.T) {
	ctx := newBrowserLang(t, "de-DE,de", false)
	h := newHub(t, nil)
	sh := shots{t: t, dir: os.Getenv("CONSOLE_SCREENSHOTS")}
	h.addUser("anna", store.RoleAdmin)
	h.addUser("mod", store.RoleModerator)
	h.enrolTerminal("jst-1", "Johannstadt")
	admin := h.browser()
	admin.mustLogin("anna")
	admin.post("/console/config/edit", url.Values{"scope": {"global"}, "document": {testContent}, "op": {"save"}})
	base := h.srv.URL

	run(t, ctx, "log in", chromedp.Navigate(base+"/console/config"), chromedp.WaitVisible(chromedp.ID("#name")),
		chromedp.SendKeys(chromedp.ID("#name"), "mod"), chromedp.SendKeys(chromedp.ID("#password"), testPassword),
		chromedp.Submit(chromedp.ID("#password")), chromedp.WaitVisible(chromedp.CSS(`a[href*="view=announcements"][href$="Johannstadt"]`)))
	if s := textOf(t, ctx, "h1"); s != "Konfiguration und Inhalte" {
		t.Fatalf("German browser, config page h1 %q", s)
	}
	run(t, ctx, "open the editor", chromedp.Click(chromedp.CSS(`a[href*="view=announcements"][href$="Johannstadt"]`)),
		chromedp.WaitVisible(chromedp.ID("ann-new-title-de")))
	run(t, ctx, "fill in",
		chromedp.SendKeys(chromedp.ID("ann-new-title-de"), "Bürgerbüro am Freitag geschlossen"),
		chromedp.SendKeys(chromedp.ID("ann-new-body-de"), "Wegen einer Schulung bleibt das Bürgerbüro Johannstadt am Freitag zu."),
		chromedp.SendKeys(chromedp.ID("ann-new-title-en"), "Citizens' office closed on Friday"),
		chromedp.SetValue(chromedp.ID("ann-new-from"), "2026-12-03T12:00"),
		chromedp.SetValue(chromedp.ID("ann-new-until"), "2026-12-01T18:00"),
		chromedp.Click(chromedp.CSS(`#ann-new-h ~ form button[value="ann_preview"]`)), chromedp.WaitVisible(chromedp.CSS(`#ann-new-h ~ .error`)))
	if s := textOf(t, ctx, "#ann-new-h ~ .error"); !strings.Contains(s, "„Anzeigen bis“ muss später sein als „Anzeigen ab“.") {
		t.Fatalf("until before from: %q", s)
	}
	run(t, ctx, "preview", chromedp.SetValue(chromedp.ID("ann-new-until"), "2026-12-05T18:00"),
		chromedp.Click(chromedp.CSS(`#ann-new-h ~ form button[value="ann_preview"]`)), chromedp.WaitVisible(chromedp.CSS(`#ann-new-h ~ p.ok`)), sh.take("announcement-preview"))
	if s := textOf(t, ctx, "#ann-new-h ~ p.ok"); !strings.Contains(s, "Die Konfiguration ist gültig.") || !strings.Contains(s, "jst-1") {
		t.Fatalf("preview: %q", s)
	}
	run(t, ctx, "add", chromedp.Click(chromedp.CSS(`#ann-new-h ~ form button[value="ann_save"]`)), chromedp.WaitVisible(chromedp.CSS(".flash")),
		sh.take("announcements"))
	if s := textOf(t, ctx, "#ann-0-h"); !strings.Contains(s, "Bürgerbüro am Freitag geschlossen") {
		t.Fatalf("the list after adding: %q", s)
	}
	if l := layerOf(t, h, "quarter:Johannstadt"); l == nil || !strings.Contains(string(l.Document), "Wegen einer Schulung") {
		t.Fatal("not stored")
	}
	// The header switch: English, and it stays.
	run(t, ctx, "switch to English", chromedp.Click(chromedp.CSS(`form.langs button[value="en"]`)), chromedp.WaitVisible(chromedp.CSS(`html[lang="en"] #ann-0-h`)))
	if s := textOf(t, ctx, "h1"); s != "Announcements – quarter:Johannstadt" {
		t.Fatalf("after the switch: %q", s)
	}
	run(t, ctx, "fleet", chromedp.Navigate(base+"/console/"), chromedp.WaitVisible(chromedp.CSS("ul.counts")))
	if s := textOf(t, ctx, "h1"); s != "Fleet" {
		t.Fatalf("the choice did not stay: %q", s)
	}
}
