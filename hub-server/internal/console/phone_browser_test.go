package console

import (
	"context"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/quartierhub/quartierhub/internal/workshop"
)

// phoneWaitJS waits until the expression is true in the page (the live
// socket's updates arrive when they arrive; no sleeps).
func phoneWaitJS(t *testing.T, ctx context.Context, what, expr string) {
	t.Helper()
	// The page may reload itself meanwhile (phone.js does when the phase
	// changes), which ends a poll: poll again in the new page.
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(time.Until(deadline))))
		if err == nil {
			return
		}
		if time.Now().Before(deadline) && (strings.Contains(err.Error(), "navigated") || strings.Contains(err.Error(), "context with specified id")) {
			continue
		}
		body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
		t.Fatalf("%s: %v\npage: %s", what, err, body)
	}
}

// phoneFits checks the page at 360 px: no sideways scrolling and every
// button at least 44 × 44 px.
func phoneFits(t *testing.T, ctx context.Context, where string) {
	t.Helper()
	if !evalBool(t, ctx, where+": width", `document.documentElement.scrollWidth <= window.innerWidth`) {
		t.Errorf("%s: the page scrolls sideways at 360 px", where)
	}
	small, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('main button')).filter(b => {
		const r = b.getBoundingClientRect(); return r.width > 0 && (r.width < 44 || r.height < 44);
	}).map(b => b.textContent.trim())`))
	if err != nil {
		t.Fatal(err)
	}
	if len(small) > 0 {
		t.Errorf("%s: buttons smaller than 44 px: %q", where, small)
	}
}

// TestPhoneInBrowser: a participant on a German phone (360 × 740) joins,
// types an idea with the counter running, sees another participant's
// idea arrive live (the count, then the idea itself as the moderator
// sorts), places a dot and takes it back, and reads a refusal in German.
func TestPhoneInBrowser(t *testing.T) {
	ctx := newBrowserLang(t, "de-DE,de", true)
	ph := newPhoneHub(t, nil, nil)
	sh := shots{t: t, dir: os.Getenv("CONSOLE_SCREENSHOTS")}
	page := ph.srv.URL + "/w/" + ph.code

	run(t, ctx, "open", chromedp.Navigate(page), chromedp.WaitVisible(chromedp.ID("join")), sh.take("phone-join"))
	if !evalBool(t, ctx, "lang", `document.documentElement.lang === "de"`) {
		t.Fatal("the phone page is not German for a German phone")
	}
	phoneFits(t, ctx, "join")
	run(t, ctx, "join", chromedp.Click(chromedp.ID("join")), chromedp.WaitVisible(chromedp.ID("me")))
	if s := textOf(t, ctx, "#me"); !strings.HasPrefix(s, "Sie machen mit als ") || !strings.HasSuffix(s, " 1") {
		t.Fatalf("after joining: %q", s)
	}
	// The live socket is up before anyone else acts.
	phoneWaitJS(t, ctx, "live", `document.getElementById('phone').getAttribute('data-live-state') === 'live'`)

	run(t, ctx, "type", chromedp.SendKeys(chromedp.ID("idea-text"), "Mehr Bänke am Elbufer"))
	want := "Noch " + strconv.Itoa(workshop.MaxIdeaText-len([]rune("Mehr Bänke am Elbufer"))) + " Zeichen"
	if s := textOf(t, ctx, "#idea-chars"); s != want {
		t.Fatalf("counter %q, want %q", s, want)
	}
	phoneFits(t, ctx, "ideas")
	run(t, ctx, "add idea", chromedp.Click(chromedp.ID("idea-add")), chromedp.WaitVisible(chromedp.CSS(`#phone-status .ok`)), sh.take("phone-ideas"))
	if s := textOf(t, ctx, "#mine"); !strings.Contains(s, "Mehr Bänke am Elbufer") {
		t.Fatalf("own ideas: %q", s)
	}
	phoneWaitJS(t, ctx, "live again", `document.getElementById('phone').getAttribute('data-live-state') === 'live'`)

	// Another participant (another phone) adds an idea: the count rises without a reload.
	run(t, ctx, "mark the page", chromedp.Evaluate[chromedp.Void](`window.notReloaded = true`))
	ben := ph.phone()
	ph.join(ben)
	ph.follow(ben, "/w/"+ph.code+"/ideas", url.Values{"text": {"Ein Trinkbrunnen"}})
	phoneWaitJS(t, ctx, "count", `document.getElementById('idea-count').textContent === 'Ideen bisher: 2' && window.notReloaded === true`)

	// A form from a page that has gone stale (its token no longer fits) is refused, in German.
	run(t, ctx, "stale form", chromedp.Evaluate[chromedp.Void](`document.querySelector('#idea-form input[name=csrf]').value = 'old'`),
		chromedp.SendKeys(chromedp.ID("idea-text"), "Noch eine Idee"), chromedp.Click(chromedp.ID("idea-add")),
		chromedp.WaitVisible(chromedp.ID("phone-error")), sh.take("phone-refused"))
	if s := textOf(t, ctx, "#phone-error"); s != "Diese Seite war nicht mehr aktuell. Bitte versuchen Sie es jetzt noch einmal." {
		t.Fatalf("refusal: %q", s)
	}
	if !evalBool(t, ctx, "alert", `document.getElementById('phone-error').getAttribute('role') === 'alert'`) {
		t.Fatal("the refusal is not announced")
	}
	if s, _ := chromedp.Run(ctx, chromedp.Value(chromedp.ID("idea-text"))); s != "Noch eine Idee" {
		t.Fatalf("the refused idea is lost: %q", s)
	}
	run(t, ctx, "back", chromedp.Navigate(page), chromedp.WaitVisible(chromedp.ID("idea-form")))

	// The moderator opens clustering: the page follows by itself and
	// shows Ben's idea; then the theme forms live.
	ph.phase(workshop.PhaseCluster)
	phoneWaitJS(t, ctx, "cluster", `!!document.getElementById('themes') && document.getElementById('themes').textContent.includes('Ein Trinkbrunnen')`)
	run(t, ctx, "mark the page", chromedp.Evaluate[chromedp.Void](`window.notReloaded = true`))
	var brunnen string
	for _, i := range ph.state().Ideas {
		if i.Text == "Ein Trinkbrunnen" {
			brunnen = i.ID
		}
	}
	ph.moderate(workshop.TypeTheme, workshop.Theme{Theme: "th1", Name: "Wasser"})
	ph.moderate(workshop.TypeMove, workshop.Move{Idea: brunnen, To: "th1"})
	phoneWaitJS(t, ctx, "theme", `Array.from(document.querySelectorAll('#themes .theme')).some(s => s.querySelector('h3').textContent === 'Wasser' && s.textContent.includes('Ein Trinkbrunnen')) && window.notReloaded === true`)
	run(t, ctx, "cluster shot", sh.take("phone-cluster"))

	// Voting: a dot on Ben's idea, then taken back.
	ph.phase(workshop.PhaseVote)
	phoneWaitJS(t, ctx, "vote", `!!document.getElementById('dots-left') && document.getElementById('dots-left').textContent === 'Punkte übrig: 2'`)
	phoneFits(t, ctx, "vote")
	run(t, ctx, "dot", chromedp.Click(chromedp.CSS(`#item-`+brunnen+` form.add button`)),
		chromedp.WaitVisible(chromedp.CSS(`#item-`+brunnen+` .dot-counted`)), sh.take("phone-vote"))
	if s := textOf(t, ctx, "#dots-left"); s != "Punkte übrig: 1" {
		t.Fatalf("after a dot: %q", s)
	}
	if s := textOf(t, ctx, "#item-"+brunnen+" .dot"); s != "gezählt" {
		t.Fatalf("the dot says %q", s)
	}
	run(t, ctx, "take back", chromedp.Click(chromedp.CSS(`#item-`+brunnen+` button.take`)),
		chromedp.WaitNotPresent(chromedp.CSS(`#item-`+brunnen+` .dot`)))
	if s := textOf(t, ctx, "#dots-left"); s != "Punkte übrig: 2" {
		t.Fatalf("after taking back: %q", s)
	}

	// The moderator removes the guest: the page says so by itself.
	ph.moderate(workshop.TypeRemove, workshop.Remove{Voter: phoneVoterFromBrowser(t, ctx, ph)})
	phoneWaitJS(t, ctx, "removed", `!!document.getElementById('removed')`)
	if s := textOf(t, ctx, "#removed"); s != "Die Moderation hat Ihre Gastnummer aus diesem Workshop entfernt." {
		t.Fatalf("removed: %q", s)
	}
}

// phoneVoterFromBrowser is the voter of the one phone that joined from
// Chromium (the others joined over HTTP and have ideas of their own): the
// first voter to check in.
func phoneVoterFromBrowser(t *testing.T, ctx context.Context, ph *phoneHub) string {
	t.Helper()
	label := strings.TrimPrefix(textOf(t, ctx, "#me"), "Sie machen mit als ")
	for _, v := range ph.state().Voters {
		if v.Label == label {
			return v.ID
		}
	}
	t.Fatalf("no voter %q", label)
	return ""
}

// TestPhoneReconnectsInBrowser: the hub goes off the network while an
// English phone is on the ideas page. The page says so politely (a
// status line, in English, readable, focus left in the idea field, and a
// note beside the form), and when the hub is back it reconnects within
// seconds, drops the line and shows what happened meanwhile without a
// reload.
func TestPhoneReconnectsInBrowser(t *testing.T) {
	ctx := newBrowserLang(t, "en-GB,en", true)
	ph := newPhoneHub(t, nil, nil)
	sh := shots{t: t, dir: os.Getenv("CONSOLE_SCREENSHOTS")}
	wire := ph.cuttable()
	page := ph.srv.URL + "/w/" + ph.code
	const lost = "Connection lost — trying again… Your entries so far are kept."

	run(t, ctx, "open", chromedp.Navigate(page), chromedp.WaitVisible(chromedp.ID("join")))
	if !evalBool(t, ctx, "lang", `document.documentElement.lang === "en"`) {
		t.Fatal("the phone page is not English for an English phone")
	}
	run(t, ctx, "join", chromedp.Click(chromedp.ID("join")), chromedp.WaitVisible(chromedp.ID("idea-form")))
	phoneWaitJS(t, ctx, "live", `document.getElementById('phone').getAttribute('data-live-state') === 'live'`)
	if !evalBool(t, ctx, "no line while live", `!document.getElementById('live-lost') && document.querySelector('#idea-form [data-live-lost]').hidden`) {
		t.Fatal("the connection-lost line shows while the socket is live")
	}
	ben := ph.phone()
	ph.join(ben)
	run(t, ctx, "type and mark", chromedp.SendKeys(chromedp.ID("idea-text"), "Schattige Bänke"),
		chromedp.Evaluate[chromedp.Void](`window.notReloaded = true`))

	wire.cut()
	phoneWaitJS(t, ctx, "line", `!!document.getElementById('live-lost') && getComputedStyle(document.querySelector('#idea-form [data-live-lost]')).display !== 'none'`)
	run(t, ctx, "lost shot", sh.take("phone-lost"))
	if s := textOf(t, ctx, "#phone-status #live-lost"); s != lost {
		t.Fatalf("status line %q, want %q", s, lost)
	}
	if !evalBool(t, ctx, "region", `(s => s.getAttribute('role') === 'status' && s.getAttribute('aria-live') === 'polite')(document.getElementById('phone-status'))`) {
		t.Fatal("the line is not in a polite status region")
	}
	if !evalBool(t, ctx, "focus", `document.activeElement && document.activeElement.id === 'idea-text'`) {
		t.Fatal("the line took the focus from the idea field")
	}
	if s, _ := chromedp.Run(ctx, chromedp.Value(chromedp.ID("idea-text"))); s != "Schattige Bänke" {
		t.Fatalf("the typed idea is lost: %q", s)
	}
	// WCAG 1.4.3: text contrast of both notes as rendered.
	ratios, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](`Array.from(document.querySelectorAll('.live-lost')).filter(p => p.offsetParent).map(p => {
		const cs = getComputedStyle(p);
		const rgb = s => s.match(/[\d.]+/g).slice(0, 3).map(Number);
		const lum = c => c.map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); })
			.reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0);
		const a = lum(rgb(cs.color)), b = lum(rgb(cs.backgroundColor));
		return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
	})`))
	if err != nil {
		t.Fatal(err)
	}
	if len(ratios) != 2 {
		t.Fatalf("%d connection notes shown, want 2 (status line and beside the form)", len(ratios))
	}
	for _, r := range ratios {
		if r < 4.5 {
			t.Errorf("connection note contrast %.2f:1, want at least 4.5:1", r)
		}
	}
	phoneFits(t, ctx, "lost")

	// Ben's idea arrives while the phone is away.
	if _, err := ph.svc.Act(context.Background(), ph.id, ph.voterOf(ben).ID, workshop.TypeIdea,
		workshop.Idea{Text: "Ein Trinkbrunnen", Phase: ph.state().PhaseIndex}); err != nil {
		t.Fatal(err)
	}
	wire.mend()
	back := time.Now()
	phoneWaitJS(t, ctx, "back", `!document.getElementById('live-lost') && document.querySelector('#idea-form [data-live-lost]').hidden
		&& document.getElementById('idea-count').textContent === 'Ideas so far: 1'
		&& document.getElementById('phone').getAttribute('data-live-state') === 'live' && window.notReloaded === true`)
	// The step is at most 5 s (half to all of it, with jitter).
	if d := time.Since(back); d > 6*time.Second {
		t.Errorf("back after %v, want within the 5 s step", d)
	}
	if !evalBool(t, ctx, "focus kept", `document.activeElement && document.activeElement.id === 'idea-text'`) {
		t.Fatal("reconnecting moved the focus")
	}
}
