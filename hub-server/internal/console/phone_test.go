package console

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/quartierhub/quartierhub/internal/workshop"
)

// TestPhoneJoinIdeasAndDots is a participant's way through a workshop on
// the phone page without JavaScript: take a number, add ideas (an empty
// and a too long one refused in German), see the themes, place dots up
// to the limit and take one back; a second browser is a second voter,
// the same browser again is the same one.
func TestPhoneJoinIdeasAndDots(t *testing.T) {
	ph := newPhoneHub(t, nil, nil)
	anna := ph.phone()
	first := anna.get("/w/" + ph.code)
	if first.status != http.StatusOK || !strings.Contains(first.body, `lang="de"`) || !strings.Contains(seen(first.body), "Gastnummer nehmen") {
		t.Fatalf("phone page before joining: %d %s", first.status, seen(first.body))
	}
	if csp := first.header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "connect-src 'self'") {
		t.Fatalf("phone page CSP %q", csp)
	}
	p := ph.join(anna)
	if !strings.Contains(seen(p.body), "Sie machen mit als "+ph.labelOf(anna)) || !strings.HasSuffix(ph.labelOf(anna), " 1") {
		t.Fatalf("after joining: %s", seen(p.body))
	}
	// The same browser joining again (a reload of the form, a second tab) is the same voter.
	again := anna.post("/w/"+ph.code+"/join", nil)
	if again.status != http.StatusSeeOther {
		t.Fatalf("join again: %d", again.status)
	}
	if n := len(ph.state().Voters); n != 1 {
		t.Fatalf("one browser joined twice: %d voters", n)
	}
	ben := ph.phone()
	if p := ph.join(ben); !strings.Contains(seen(p.body), ph.labelOf(ben)) || !strings.HasSuffix(ph.labelOf(ben), " 2") {
		t.Fatalf("second browser: %s", seen(p.body))
	}

	ideas := "/w/" + ph.code + "/ideas"
	p = ph.follow(anna, ideas, url.Values{"text": {"  Mehr Bänke am Elbufer  "}})
	if !strings.Contains(seen(p.body), "Ihre Idee ist angekommen.") || !strings.Contains(p.body, "<li>Mehr Bänke am Elbufer</li>") {
		t.Fatalf("after an idea: %s", seen(p.body))
	}
	p = ph.follow(anna, ideas, url.Values{"text": {"   "}})
	if !strings.Contains(seen(p.body), "Bitte schreiben Sie zuerst Ihre Idee.") {
		t.Fatalf("empty idea: %s", seen(p.body))
	}
	p = ph.follow(anna, ideas, url.Values{"text": {strings.Repeat("ä", workshop.MaxIdeaText+1)}})
	if !strings.Contains(seen(p.body), "Ihre Idee ist zu lang.") {
		t.Fatalf("long idea: %s", seen(p.body))
	}
	ph.follow(ben, ideas, url.Values{"text": {"Ein Trinkbrunnen"}})
	ph.follow(ben, ideas, url.Values{"text": {"Schattenbäume"}})
	p = ph.follow(anna, "/w/"+ph.code+"/done", nil)
	if !strings.Contains(seen(p.body), "Sie haben gesagt, dass Sie fertig sind.") {
		t.Fatalf("done: %s", seen(p.body))
	}
	// Anna sees her own idea only and the count of all.
	if strings.Contains(p.body, "Trinkbrunnen") || !strings.Contains(seen(p.body), "Ideen bisher: 3") {
		t.Fatalf("ideas phase shows others' ideas or a wrong count: %s", seen(p.body))
	}

	st := ph.state()
	var brunnen, baeume string
	for _, i := range st.Ideas {
		switch i.Text {
		case "Ein Trinkbrunnen":
			brunnen = i.ID
		case "Schattenbäume":
			baeume = i.ID
		}
	}
	ph.phase(workshop.PhaseCluster)
	ph.moderate(workshop.TypeTheme, workshop.Theme{Theme: "th1", Name: "Wasser"})
	ph.moderate(workshop.TypeMove, workshop.Move{Idea: brunnen, To: "th1"})
	p = anna.get("/w/" + ph.code)
	if s := seen(p.body); !strings.Contains(s, "Wasser Ein Trinkbrunnen") || !strings.Contains(s, "Noch nicht einsortiert") || !strings.Contains(s, "Schattenbäume") {
		t.Fatalf("cluster phase: %s", s)
	}

	ph.phase(workshop.PhaseVote)
	p = anna.get("/w/" + ph.code)
	if !strings.Contains(seen(p.body), "Punkte übrig: 2") {
		t.Fatalf("vote phase: %s", seen(p.body))
	}
	round := ph.state().CurrentRound().N
	dots := "/w/" + ph.code + "/dots"
	dot := url.Values{"round": {fmt.Sprint(round)}, "item": {brunnen}}
	res := anna.post(dots, dot)
	if res.status != http.StatusSeeOther || !strings.HasSuffix(res.header.Get("Location"), "#item-"+brunnen) {
		t.Fatalf("dot: %d %s", res.status, res.header.Get("Location"))
	}
	ph.follow(anna, dots, dot)
	p = anna.get("/w/" + ph.code)
	if s := seen(p.body); !strings.Contains(s, "Punkte übrig: 0") || !strings.Contains(s, "Ihre Punkte: 2 gezählt, 0 noch nicht gezählt, 0 über dem Limit.") {
		t.Fatalf("two dots: %s", s)
	}
	// A third dot, as a script or a second tab would post it: it does not count.
	p = ph.follow(anna, dots, url.Values{"round": {fmt.Sprint(round)}, "item": {baeume}})
	if !strings.Contains(seen(p.body), "Ihr Punkt ist gesetzt, zählt aber nicht: Sie haben keine Punkte mehr übrig.") {
		t.Fatalf("a dot over the limit: %s", seen(p.body))
	}
	left, mine := ph.state().VoterDots(ph.voterOf(anna).ID, round)
	counted := 0
	for _, d := range mine {
		if d.Status == workshop.DotCounted {
			counted++
		}
	}
	if left != 0 || counted != 2 {
		t.Fatalf("after a third dot: left %d, counted %d (%s)", left, counted, seen(p.body))
	}
	if s := seen(p.body); !strings.Contains(s, "Schattenbäume über dem Limit: zählt nicht") || !strings.Contains(s, "2 gezählt, 0 noch nicht gezählt, 1 über dem Limit.") {
		t.Fatalf("the third dot is not shown over the limit: %s", s)
	}
	// Totals are hidden until revealed.
	if strings.Contains(p.body, `class="total"`) {
		t.Fatalf("a total before the reveal: %s", seen(p.body))
	}
	// Take one back: the dot over the limit now counts (the first dots in hub order count).
	var take string
	for _, d := range mine {
		if d.Status == workshop.DotCounted {
			take = d.ID
			break
		}
	}
	p = ph.follow(anna, "/w/"+ph.code+"/dots/take", url.Values{"dot": {take}, "item": {brunnen}})
	if s := seen(p.body); !strings.Contains(s, "Ihr Punkt ist zurückgenommen.") || !strings.Contains(s, "Ihre Punkte: 2 gezählt, 0 noch nicht gezählt, 0 über dem Limit.") ||
		!strings.Contains(s, "Ein Trinkbrunnen gezählt Zurücknehmen Schattenbäume gezählt") {
		t.Fatalf("take back: %s", seen(p.body))
	}
	// Ben cannot take back Anna's dot.
	var annas string
	for _, d := range ph.state().Dots {
		if d.Voter == ph.voterOf(anna).ID && d.Status == workshop.DotCounted {
			annas = d.ID
		}
	}
	p = ph.follow(ben, "/w/"+ph.code+"/dots/take", url.Values{"dot": {annas}, "item": {brunnen}})
	if !strings.Contains(seen(p.body), "nicht Ihr Punkt") {
		t.Fatalf("another's dot: %s", seen(p.body))
	}

	ph.moderate(workshop.TypeReveal, workshop.Reveal{Round: round})
	res2 := ph.phone().get("/w/" + ph.code + "/results")
	if s := seen(res2.body); res2.status != http.StatusOK || !strings.Contains(s, "Ein Trinkbrunnen Punkte: 1") || !strings.Contains(s, "Schattenbäume Punkte: 1 fast gleichauf") {
		t.Fatalf("results page: %d %s", res2.status, seen(res2.body))
	}
	if strings.Contains(res2.body, ph.labelOf(anna)) || strings.Contains(res2.body, "v:g") {
		t.Fatalf("the results page shows a participant: %s", seen(res2.body))
	}
}

// TestPhoneFormsRefused: forms without the guest's token, with another
// guest's token, from another site or too large are refused; so is a
// forged cookie.
func TestPhoneFormsRefused(t *testing.T) {
	ph := newPhoneHub(t, nil, nil)
	anna, ben := ph.phone(), ph.phone()
	ph.join(anna)
	ph.join(ben)
	ideas := "/w/" + ph.code + "/ideas"
	if p := anna.post(ideas, url.Values{"text": {"x"}, "csrf": {""}}); p.status != http.StatusForbidden || !strings.Contains(seen(p.body), "nicht mehr aktuell") {
		t.Fatalf("no token: %d %s", p.status, seen(p.body))
	}
	if p := anna.post(ideas, url.Values{"text": {"x"}, "csrf": {ben.csrf}}); p.status != http.StatusForbidden {
		t.Fatalf("another guest's token: %d", p.status)
	}
	req, _ := http.NewRequest(http.MethodPost, ph.srv.URL+ideas, strings.NewReader(url.Values{"text": {"x"}, "csrf": {anna.csrf}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	if p := anna.do(req); p.status != http.StatusForbidden {
		t.Fatalf("cross-site post: %d", p.status)
	}
	big := url.Values{"text": {strings.Repeat("a", 64<<10)}, "csrf": {anna.csrf}}
	if p := anna.post(ideas, big); p.status != http.StatusRequestEntityTooLarge {
		t.Fatalf("64 KiB form: %d", p.status)
	}
	// A cookie not signed by this hub (a key made up by a script) is no guest.
	u, _ := url.Parse(ph.srv.URL)
	for _, ck := range anna.c.Jar.Cookies(u) {
		if ck.Name != guestCookie {
			continue
		}
		g, ok := parseGuest(ph.con.phone.o.GuestSecret, ck.Value)
		if !ok {
			t.Fatal("the hub's own cookie does not parse")
		}
		forged := encodeGuest([]byte("not the hub's secret............"), g)
		req, _ := http.NewRequest(http.MethodPost, ph.srv.URL+ideas, strings.NewReader(url.Values{"text": {"x"}, "csrf": {anna.csrf}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(&http.Cookie{Name: guestCookie, Value: forged})
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusForbidden {
			t.Fatalf("forged cookie: %d", res.StatusCode)
		}
	}
	if n := len(ph.state().Ideas); n != 0 {
		t.Fatalf("%d ideas stored from refused forms", n)
	}
}

// TestPhoneJoinFlood: a script taking 100 numbers from one network (a
// fresh cookie each time) gets the burst and then 429 with Retry-After,
// in the participant's language; another network still joins.
func TestPhoneJoinFlood(t *testing.T) {
	ph := newPhoneHub(t, nil, func(o *Opts) { o.Phone.JoinBurst = 10; o.Phone.JoinEvery = time.Hour })
	joined, limited := 0, 0
	for range 100 {
		b := ph.phone()
		b.get("/w/" + ph.code)
		p := b.post("/w/"+ph.code+"/join", nil)
		switch p.status {
		case http.StatusSeeOther:
			joined++
		case http.StatusTooManyRequests:
			limited++
			if p.header.Get("Retry-After") == "" || !strings.Contains(seen(p.body), "Das war viel in kurzer Zeit.") {
				t.Fatalf("limited join: %v %s", p.header, seen(p.body))
			}
		default:
			t.Fatalf("join: %d %s", p.status, seen(p.body))
		}
	}
	if joined != 10 || limited != 90 {
		t.Fatalf("joined %d, limited %d; want 10 and 90", joined, limited)
	}
	if n := len(ph.state().Voters); n != 10 {
		t.Fatalf("%d voters after the flood", n)
	}
	ph.clock.Advance(time.Hour)
	late := ph.phone()
	if p := ph.join(late); !strings.Contains(seen(p.body), ph.labelOf(late)) || !strings.HasSuffix(ph.labelOf(late), " 11") {
		t.Fatalf("after the wait: %s", seen(p.body))
	}
}

// TestPhoneIdeaFlood: one guest's ideas are limited, whatever tab or
// script posts them.
func TestPhoneIdeaFlood(t *testing.T) {
	ph := newPhoneHub(t, nil, func(o *Opts) { o.Phone.IdeaBurst = 5; o.Phone.IdeaEvery = time.Hour })
	anna := ph.phone()
	ph.join(anna)
	limited := 0
	for i := range 20 {
		p := anna.post("/w/"+ph.code+"/ideas", url.Values{"text": {fmt.Sprintf("Idee %d", i)}})
		if p.status == http.StatusTooManyRequests {
			limited++
		}
	}
	if n := len(ph.state().Ideas); n != 5 || limited != 15 {
		t.Fatalf("%d ideas stored, %d limited", n, limited)
	}
}

// TestPhoneModeratorCloses: closed joining, a removed guest and a
// workshop for terminals only each say why, in German.
func TestPhoneModeratorCloses(t *testing.T) {
	ph := newPhoneHub(t, nil, nil)
	anna := ph.phone()
	ph.join(anna)
	ph.moderate(workshop.TypeJoin, workshop.Join{Open: false})
	late := ph.phone()
	p := late.get("/w/" + ph.code)
	if !strings.Contains(seen(p.body), "Die Moderation hat die Anmeldung geschlossen.") || strings.Contains(p.body, `id="join"`) {
		t.Fatalf("joining closed: %s", seen(p.body))
	}
	p = ph.follow(late, "/w/"+ph.code+"/join", nil)
	if !strings.Contains(seen(p.body), "Die Moderation hat die Anmeldung geschlossen.") || len(ph.state().Voters) != 1 {
		t.Fatalf("join while closed: %s", seen(p.body))
	}
	ph.moderate(workshop.TypeRemove, workshop.Remove{Voter: ph.voterOf(anna).ID})
	p = ph.follow(anna, "/w/"+ph.code+"/ideas", url.Values{"text": {"Noch eine Idee"}})
	if !strings.Contains(seen(p.body), "Die Moderation hat Ihre Gastnummer aus diesem Workshop entfernt.") {
		t.Fatalf("removed guest: %s", seen(p.body))
	}
	if n := len(ph.state().Ideas); n != 0 {
		t.Fatalf("a removed guest's idea was stored (%d)", n)
	}

	spec := workshop.Spec{Title: "Nur Terminals", Question: "Was fehlt?", Lang: "de", Method: workshop.MethodSimple,
		Phones: false, VoteOn: workshop.OnIdeas, Phases: workshop.DefaultPhases(workshop.MethodSimple, 0)}
	term := newPhoneHub(t, &spec, nil)
	b := term.phone()
	p = b.get("/w/" + term.code)
	if !strings.Contains(seen(p.body), "Dieser Workshop läuft nur an den Terminals im Raum.") || strings.Contains(p.body, `id="join"`) {
		t.Fatalf("terminals only: %s", seen(p.body))
	}
	p = term.follow(b, "/w/"+term.code+"/join", nil)
	if !strings.Contains(seen(p.body), "nur an den Terminals") || len(term.state().Voters) != 0 {
		t.Fatalf("join a terminals-only workshop: %s", seen(p.body))
	}
}

// TestPhoneEnglishAndUnknownCode: the switch and the browser choose the
// language; an unknown code is a 404 in it, and guessing codes is limited.
func TestPhoneEnglishAndUnknownCode(t *testing.T) {
	ph := newPhoneHub(t, nil, func(o *Opts) { o.Phone.LookupBurst = 3; o.Phone.LookupEvery = time.Hour })
	b := ph.phone()
	p := b.get("/w/" + ph.code + "?lang=en")
	if !strings.Contains(p.body, `lang="en"`) || !strings.Contains(seen(p.body), "Take a guest number") {
		t.Fatalf("English: %s", seen(p.body))
	}
	if p := b.get("/w/" + ph.code); !strings.Contains(seen(p.body), "Take a guest number") {
		t.Fatalf("the language choice does not hold: %s", seen(p.body))
	}
	for i := range 3 {
		if p := b.get(fmt.Sprintf("/w/NOPE%d", i)); p.status != http.StatusNotFound || !strings.Contains(seen(p.body), "There is no workshop with this code.") {
			t.Fatalf("unknown code: %d %s", p.status, seen(p.body))
		}
	}
	if p := b.get("/w/NOPE9"); p.status != http.StatusTooManyRequests {
		t.Fatalf("a fourth unknown code: %d", p.status)
	}
	if p := b.get("/w/" + strings.Repeat("A", 100)); p.status != http.StatusNotFound {
		t.Fatalf("a long code: %d", p.status)
	}
}

// TestPhoneLive: the live socket pushes the guest's view when the
// workshop changes (another participant's idea raises the count), only
// to a guest of this hub, only from this site.
func TestPhoneLive(t *testing.T) {
	ph := newPhoneHub(t, nil, nil)
	anna, ben := ph.phone(), ph.phone()
	ph.join(anna)
	ph.join(ben)
	u, _ := url.Parse(ph.srv.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	live := "ws://" + u.Host + "/w/" + ph.code + "/live"
	if _, res, err := websocket.Dial(ctx, live, nil); err == nil || res == nil || res.StatusCode != http.StatusForbidden {
		t.Fatalf("a socket without a guest cookie: %v %v", err, res)
	}
	if _, res, err := websocket.Dial(ctx, live, &websocket.DialOptions{HTTPClient: anna.c, HTTPHeader: http.Header{"Origin": {"https://evil.example"}}}); err == nil {
		t.Fatalf("a socket from another site was accepted (%v)", res.StatusCode)
	}
	conn, _, err := websocket.Dial(ctx, live, &websocket.DialOptions{HTTPClient: anna.c})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	next := func() phoneView {
		t.Helper()
		_, b, err := conn.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var m phoneLiveMsg
		if err := json.Unmarshal(b, &m); err != nil || m.Type != "view" {
			t.Fatalf("live message %s: %v", b, err)
		}
		return m.View
	}
	v := next()
	if !v.Joined || v.Label != ph.labelOf(anna) || v.IdeaCount != 0 || v.Phase.Kind != workshop.PhaseIdeas {
		t.Fatalf("first view: %+v", v)
	}
	ph.follow(ben, "/w/"+ph.code+"/ideas", url.Values{"text": {"Ein Trinkbrunnen"}})
	v = next()
	if v.IdeaCount != 1 || v.IdeaCountText != "Ideen bisher: 1" || len(v.Mine) != 0 {
		t.Fatalf("after Ben's idea: %+v", v)
	}
	ph.phase(workshop.PhaseCluster)
	v = next()
	if v.Phase.Kind != workshop.PhaseCluster || len(v.Unsorted) != 1 || v.Unsorted[0] != "Ein Trinkbrunnen" {
		t.Fatalf("cluster view: %+v", v)
	}
}

// TestPhoneGuestAcrossRestart: with the guest secret kept in the store,
// a hub started again (a new console on the same store) knows the
// guest's cookie and number.
func TestPhoneGuestAcrossRestart(t *testing.T) {
	first := newPhoneHub(t, nil, nil)
	anna := first.phone()
	first.join(anna)
	first.follow(anna, "/w/"+first.code+"/ideas", url.Values{"text": {"Mehr Bänke"}})

	again, err := GuestSecret(context.Background(), first.st, nil)
	if err != nil {
		t.Fatal(err)
	}
	restarted, err := New(first.st, Opts{Now: first.clock.Now, Params: cheap, Phone: PhoneOpts{Workshops: first.svc, GuestSecret: again}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(restarted)
	defer srv.Close()
	// Both servers are 127.0.0.1: Anna's cookie goes to the new one too.
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/w/"+first.code, nil)
	p := anna.do(req)
	if s := seen(p.body); !strings.Contains(s, "Sie machen mit als "+first.labelOf(anna)) || !strings.Contains(s, "Mehr Bänke") {
		t.Fatalf("after the restart: %s", s)
	}
}

// TestPhoneTimerAndResultsBeforeReveal: the timer says minutes and the
// time of day (it never acts); the results page before any reveal says
// there are none and shows no dots.
func TestPhoneTimerAndResultsBeforeReveal(t *testing.T) {
	ph := newPhoneHub(t, nil, nil)
	ends := ph.clock.Now().Add(9*time.Minute + 30*time.Second)
	ph.moderate(workshop.TypeTimer, workshop.Timer{Phase: 0, EndsAt: ends.UnixMilli()})
	b := ph.phone()
	p := b.get("/w/" + ph.code)
	want := "Noch etwa 10 Min. (bis " + ends.Local().Format("15:04") + ")."
	if !strings.Contains(seen(p.body), want) {
		t.Fatalf("timer: want %q in %s", want, seen(p.body))
	}
	ph.clock.Advance(10 * time.Minute)
	if p := b.get("/w/" + ph.code); !strings.Contains(seen(p.body), "Die Zeit ist um; die Moderation beendet die Phase.") {
		t.Fatalf("timer over: %s", seen(p.body))
	}
	anna := ph.phone()
	ph.join(anna)
	ph.follow(anna, "/w/"+ph.code+"/ideas", url.Values{"text": {"Mehr Bänke"}})
	ph.phase(workshop.PhaseVote)
	round := ph.state().CurrentRound().N
	ph.follow(anna, "/w/"+ph.code+"/dots", url.Values{"round": {fmt.Sprint(round)}, "item": {ph.state().Ideas[0].ID}})
	p = b.get("/w/" + ph.code + "/results")
	if s := seen(p.body); p.status != http.StatusOK || !strings.Contains(s, "Es wurden noch keine Ergebnisse gezeigt.") || strings.Contains(s, "Mehr Bänke") {
		t.Fatalf("results before the reveal: %s", s)
	}
}

// TestPhoneSocketCaps: live sockets are capped per guest, per network
// and in all, and a closed socket frees its place.
func TestPhoneSocketCaps(t *testing.T) {
	p, err := newPhones(PhoneOpts{SocketsPerGuest: 2, SocketsPerNet: 3, Sockets: 4}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Guest a opens three (two tabs and a script): the third is refused.
	for i, want := range []bool{true, true, false} {
		if got := p.openSocket("a", "n1"); got != want {
			t.Fatalf("guest a's socket %d: %t", i+1, got)
		}
	}
	if !p.openSocket("b", "n1") || p.openSocket("c", "n1") {
		t.Fatal("per network")
	}
	if !p.openSocket("d", "n2") || p.openSocket("e", "n3") {
		t.Fatal("in all")
	}
	p.closeSocket("a", "n1")
	if !p.openSocket("e", "n3") {
		t.Fatal("a closed socket's place is not free")
	}
	p.closeSocket("b", "n1")
	p.closeSocket("a", "n1")
	p.closeSocket("d", "n2")
	p.closeSocket("e", "n3")
	if p.sockets != 0 || len(p.socketsByGuest) != 0 || len(p.socketsByNet) != 0 {
		t.Fatalf("after closing all: %d %v %v", p.sockets, p.socketsByGuest, p.socketsByNet)
	}
}

// TestPhoneNamedIdeasInEnglish: in a workshop with named ideas the form
// asks for a first name (optional) and the idea keeps it; an English
// phone reads the page in English whatever the workshop's language.
func TestPhoneNamedIdeasInEnglish(t *testing.T) {
	spec := workshop.Spec{Title: "Elbufer", Question: "What is missing?", Lang: "de", Method: workshop.MethodSimple, Phones: true,
		Named: true, VoteOn: workshop.OnIdeas, Phases: workshop.DefaultPhases(workshop.MethodSimple, 0)}
	ph := newPhoneHub(t, &spec, nil)
	b := ph.phone()
	req, _ := http.NewRequest(http.MethodGet, ph.srv.URL+"/w/"+ph.code, nil)
	req.Header.Set("Accept-Language", "en-GB,en;q=0.9")
	if p := b.do(req); !strings.Contains(p.body, `lang="en"`) || !strings.Contains(seen(p.body), "Take a guest number") {
		t.Fatalf("English phone: %s", seen(p.body))
	}
	p := ph.join(b)
	if !strings.Contains(p.body, `id="idea-author"`) {
		t.Fatalf("no name field in a named workshop: %s", seen(p.body))
	}
	ph.follow(b, "/w/"+ph.code+"/ideas", url.Values{"text": {"Benches"}, "author": {" Ada "}})
	ph.follow(b, "/w/"+ph.code+"/ideas", url.Values{"text": {"Shade"}, "author": {strings.Repeat("x", workshop.MaxAuthorName+1)}})
	ideas := ph.state().Ideas
	if len(ideas) != 1 || ideas[0].Author != "Ada" {
		t.Fatalf("named ideas: %+v", ideas)
	}
}
