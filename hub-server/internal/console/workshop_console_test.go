package console

import (
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/oklog/ulid/v2"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/teststores"
	"github.com/quartierhub/quartierhub/hub-server/internal/workshops"
	"github.com/quartierhub/quartierhub/internal/workshop"
)

// workshopHub is a hub on SQLite whose console drives the real workshop
// service, running until the test ends; mods change the console's
// options.
func workshopHub(t *testing.T, mods ...func(*Opts)) (*hub, *workshops.Service) {
	t.Helper()
	st := teststores.Open(t, teststores.SQLite)
	svc := workshops.New(st, workshops.Opts{Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	st.OnWorkshopAppend(svc.OnAppend)
	h := newHubWith(t, st, func(o *Opts) {
		o.Workshops = svc
		for _, m := range mods {
			m(o)
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("workshop service: %v", err)
		}
		st.OnWorkshopAppend(nil)
	})
	return h, svc
}

// workshopForm is the prepare form as a moderator fills it in: the
// simple method's phases, a terminal taking part, phones welcome.
func workshopFormValues(title string, terminals ...string) url.Values {
	f := url.Values{"title": {title}, "question": {"Was fehlt am Elbufer?"}, "lang": {"de"}, "method": {workshop.MethodSimple},
		"vote_on": {workshop.OnIdeas}, "phones": {"yes"}, "words": {"Mist\nDepp"}, "op": {"save"}}
	for _, p := range workshop.DefaultPhases(workshop.MethodSimple, 0) {
		f.Add("phase_kind", p.Kind)
		f.Add("phase_title", p.Title)
		f.Add("phase_minutes", blankZero(p.Minutes))
		f.Add("phase_round", "")
	}
	f["terminal"] = terminals
	return f
}

var workshopIDRe = regexp.MustCompile(`^/console/workshops/([0-9A-Z]{26})/edit`)

// prepare creates a workshop through the form and returns its ID.
func prepare(t *testing.T, b *browser, form url.Values) string {
	t.Helper()
	p := b.post("/console/workshops", form)
	m := workshopIDRe.FindStringSubmatch(p.header.Get("Location"))
	if p.status != http.StatusSeeOther || m == nil {
		t.Fatalf("create: %d %s %s", p.status, p.header.Get("Location"), p.body)
	}
	return m[1]
}

// act posts one staff action and wants it done.
func act(t *testing.T, b *browser, id string, form url.Values) {
	t.Helper()
	p := b.post("/console/workshops/"+id+"/act", form)
	if p.status != http.StatusSeeOther {
		t.Fatalf("%s: %d %s", form.Get("op"), p.status, p.body)
	}
}

// TestWorkshopFromTheConsole runs a workshop with the pages' forms alone
// (no JavaScript): prepare with a stale second save, open, a phone's
// idea in the inbox, hide and restore it, cluster it, vote, reveal, the
// results and the exports, and what the audit log says of it.
func TestWorkshopFromTheConsole(t *testing.T) {
	h, svc := workshopHub(t)
	ctx := context.Background()
	h.addUser("mia", store.RoleModerator)
	h.addUser("vic", store.RoleViewer)
	term := h.enrolTerminal("jst-library-1", "Johannstadt")
	b := h.browser()
	b.mustLogin("mia")

	if p := b.get("/console/workshops/new"); p.status != 200 || !strings.Contains(p.body, "jst-library-1") || !strings.Contains(p.body, "Johannstadt") {
		t.Fatalf("new workshop form: %d, terminals grouped by quarter missing\n%s", p.status, p.body)
	}
	// A number that is none names its field; nothing is stored.
	bad := workshopFormValues("Elbufer")
	bad.Set("dots", "viele")
	if p := b.post("/console/workshops", bad); p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "Dots: please enter a whole number") {
		t.Fatalf("bad dots: %d %s", p.status, p.body)
	}
	id := prepare(t, b, workshopFormValues("Elbufer", term.id))
	edit := b.get("/console/workshops/" + id + "/edit?done=workshop_saved")
	if !strings.Contains(edit.body, `name="version" value="1"`) || !strings.Contains(edit.body, "Workshop saved.") {
		t.Fatalf("edit page after create: %s", edit.body)
	}
	// Two moderators save the draft: the second, on the old version, sees
	// the conflict with their entries kept, and the first one's title.
	first := workshopFormValues("Elbufer 2027", term.id)
	first.Set("version", "1")
	if p := b.post("/console/workshops/"+id+"/edit", first); p.status != http.StatusSeeOther {
		t.Fatalf("first save: %d %s", p.status, p.body)
	}
	second := workshopFormValues("Elbufer (Entwurf B)", term.id)
	second.Set("version", "1")
	p := b.post("/console/workshops/"+id+"/edit", second)
	if p.status != http.StatusConflict || !strings.Contains(p.body, `id="ws-conflict"`) || !strings.Contains(p.body, "Elbufer (Entwurf B)") ||
		!strings.Contains(p.body, "Elbufer 2027") || !strings.Contains(p.body, `name="version" value="2"`) {
		t.Fatalf("stale save: %d %s", p.status, p.body)
	}
	if v, _ := svc.Get(ctx, id); v.Workshop.Title != "Elbufer 2027" {
		t.Fatalf("stored title %q, want the first save's", v.Workshop.Title)
	}

	// Open it; a phone joins and writes two ideas, one the word list holds.
	act(t, b, id, url.Values{"op": {"open"}})
	v, _ := svc.Get(ctx, id)
	voter, _, err := svc.JoinPhone(ctx, v.Workshop.JoinCode, strings.Repeat("k", 32))
	if err != nil {
		t.Fatal(err)
	}
	idea, err := svc.Act(ctx, id, voter, workshop.TypeIdea, workshop.Idea{Text: "Mehr Bänke am Elbufer", Phase: 0})
	if err != nil {
		t.Fatal(err)
	}
	held, err := svc.Act(ctx, id, voter, workshop.TypeIdea, workshop.Idea{Text: "So ein Mist hier", Phase: 0})
	if err != nil {
		t.Fatal(err)
	}
	run := b.get("/console/workshops/" + id)
	if !strings.Contains(run.body, "Mehr Bänke am Elbufer") || !strings.Contains(run.body, `id="count-voters">1<`) ||
		!strings.Contains(run.body, "held (word list)") || !strings.Contains(run.body, "jst-library-1") {
		t.Fatalf("run page: %s", run.body)
	}
	act(t, b, id, url.Values{"op": {"hide"}, "idea": {idea.ID}, "reason": {"Doppelt gepostet"}})
	if run = b.get("/console/workshops/" + id); !strings.Contains(run.body, "Hidden: Doppelt gepostet") {
		t.Fatalf("after hide: %s", run.body)
	}
	act(t, b, id, url.Values{"op": {"restore"}, "idea": {idea.ID}})
	act(t, b, id, url.Values{"op": {"restore"}, "idea": {held.ID}})
	act(t, b, id, url.Values{"op": {"edit"}, "idea": {held.ID}, "text": {"So ein Problem hier"}})
	// A hide without a reason is refused before anything is stored.
	if p := b.post("/console/workshops/"+id+"/act", url.Values{"op": {"hide"}, "idea": {idea.ID}}); p.status != http.StatusBadRequest {
		t.Fatalf("hide without reason: %d", p.status)
	}
	// The projector shows the question, counts and the join code's URL.
	pj := b.get("/console/workshops/" + id + "/projector")
	if !strings.Contains(pj.body, "Was fehlt am Elbufer?") || !strings.Contains(pj.body, "/w/"+v.Workshop.JoinCode) || !strings.Contains(pj.body, `<svg class="qr"`) ||
		!strings.Contains(pj.body, `id="pj-ideas">2<`) || !strings.Contains(pj.header.Get("Content-Security-Policy"), "connect-src 'self'") {
		t.Fatalf("projector: %s", pj.body)
	}

	// Cluster: a theme, the idea moved into it with the form.
	act(t, b, id, url.Values{"op": {"next"}})
	act(t, b, id, url.Values{"op": {"theme_new"}, "name": {"Sitzen"}, "back": {"cluster"}})
	v, _ = svc.Get(ctx, id)
	if len(v.State.Themes) != 1 {
		t.Fatalf("themes: %+v", v.State.Themes)
	}
	theme := v.State.Themes[0].ID
	act(t, b, id, url.Values{"op": {"move"}, "idea": {idea.ID}, "to": {theme}, "back": {"cluster"}})
	board := b.get("/console/workshops/" + id + "/cluster")
	col := board.body[strings.Index(board.body, `data-drop="`+theme+`"`):]
	col = col[:strings.Index(col, "</section>")]
	if !strings.Contains(col, `ws-text">Mehr Bänke am Elbufer`) || strings.Contains(col, `ws-text">So ein Problem hier`) {
		t.Fatalf("theme column: %s", col)
	}

	// A late idea (written for the ideas phase after it closed) waits in
	// the late lane until moved; a duplicate is merged and the merge undone.
	late, err := svc.Act(ctx, id, voter, workshop.TypeIdea, workshop.Idea{Text: "Noch mehr Bänke", Phase: 0})
	if err != nil {
		t.Fatal(err)
	}
	run = b.get("/console/workshops/" + id)
	lane := run.body[strings.Index(run.body, `id="h-late"`):]
	if lane = lane[:strings.Index(lane, `id="h-voters"`)]; !strings.Contains(lane, "Noch mehr Bänke") {
		t.Fatalf("late lane: %s", lane)
	}
	act(t, b, id, url.Values{"op": {"move"}, "idea": {late.ID}, "to": {"unsorted"}, "back": {"run"}})
	act(t, b, id, url.Values{"op": {"merge"}, "idea": {late.ID}, "into": {idea.ID}, "back": {"cluster"}})
	v, _ = svc.Get(ctx, id)
	if i := v.State.Idea(late.ID); i == nil || i.MergedInto != idea.ID || i.Late {
		t.Fatalf("after move and merge: %+v", i)
	}
	board = b.get("/console/workshops/" + id + "/cluster")
	if !strings.Contains(board.body, "Noch mehr Bänke</li>") && !strings.Contains(board.body, `Noch mehr Bänke <span class="muted">→ Mehr Bänke am Elbufer`) {
		t.Fatalf("duplicates: %s", board.body)
	}
	act(t, b, id, url.Values{"op": {"unmerge"}, "merge": {v.State.Idea(late.ID).MergeEvent}, "back": {"cluster"}})
	if v, _ = svc.Get(ctx, id); v.State.Idea(late.ID).MergedInto != "" {
		t.Fatal("the merge was not undone")
	}
	act(t, b, id, url.Values{"op": {"timer_add"}})
	act(t, b, id, url.Values{"op": {"join_close"}})
	if v, _ = svc.Get(ctx, id); v.State.JoinOpen || v.State.PhaseEndsAt.IsZero() {
		t.Fatalf("joining %t, timer %v", v.State.JoinOpen, v.State.PhaseEndsAt)
	}

	// Vote: 2 dots each; the phone places one; reveal.
	act(t, b, id, url.Values{"op": {"next"}})
	act(t, b, id, url.Values{"op": {"vote"}, "round": {"1"}, "dots": {"2"}, "on": {"ideas"}})
	if _, err := svc.Act(ctx, id, voter, workshop.TypeDot, workshop.Dot{Round: 1, Item: idea.ID}); err != nil {
		t.Fatal(err)
	}
	// The projector speaks the workshop's language (de), not mia's.
	if pj = b.get("/console/workshops/" + id + "/projector"); !strings.Contains(pj.body, "1 Punkte gesetzt") || strings.Contains(pj.body, "ranking-1") {
		t.Fatalf("projector while voting: %s", pj.body)
	}
	act(t, b, id, url.Values{"op": {"reveal"}, "round": {"1"}})
	if pj = b.get("/console/workshops/" + id + "/projector"); !strings.Contains(pj.body, `id="ranking-1"`) || !strings.Contains(pj.body, "Mehr Bänke am Elbufer") {
		t.Fatalf("projector after reveal: %s", pj.body)
	}

	// Once the vote phase is over, a run-off between the top 2 opens
	// round 2; removing the guest voids their dots.
	if run = b.get("/console/workshops/" + id); !strings.Contains(run.body, "A run-off can start once") {
		t.Fatalf("run page in the open round after the reveal: %s", run.body)
	}
	act(t, b, id, url.Values{"op": {"next"}})
	act(t, b, id, url.Values{"op": {"runoff"}, "from": {"1"}, "top_k": {"2"}})
	act(t, b, id, url.Values{"op": {"remove"}, "voter": {voter}})
	if v, _ = svc.Get(ctx, id); len(v.State.Rounds) != 2 || !slices.Contains(v.State.Rounds[1].Candidates, idea.ID) || v.State.Rounds[1].From != 1 {
		t.Fatalf("rounds after the run-off: %+v", *v.State.Rounds[1])
	}
	if run = b.get("/console/workshops/" + id); !strings.Contains(run.body, "Round 2: 1 dots each") || !strings.Contains(run.body, "removed") {
		t.Fatalf("run page after run-off and removal: %s", run.body)
	}

	// Results and exports; the page's digest is the archive's.
	res := b.get("/console/workshops/" + id + "/results")
	m := regexp.MustCompile(`id="log-sha">([0-9a-f]{64})<`).FindStringSubmatch(res.body)
	if m == nil || !strings.Contains(res.body, `id="ranking-1"`) {
		t.Fatalf("results page: %s", res.body)
	}
	csv := b.get("/console/workshops/" + id + "/export/csv")
	if csv.status != 200 || !strings.Contains(csv.body, "Mehr Bänke am Elbufer") || !strings.HasPrefix(csv.header.Get("Content-Type"), "text/csv") {
		t.Fatalf("csv: %d %s", csv.status, csv.body)
	}
	lg := b.get("/console/workshops/" + id + "/export/log")
	sum := sha256.Sum256([]byte(lg.body))
	if hex.EncodeToString(sum[:]) != m[1] {
		t.Fatalf("log archive's SHA-256 %x, page says %s", sum, m[1])
	}
	zr, err := gzip.NewReader(strings.NewReader(lg.body))
	if err != nil {
		t.Fatal(err)
	}
	lines, _ := io.ReadAll(zr)
	if !strings.Contains(string(lines), `"actor":"m:mia"`) {
		t.Fatalf("log archive names no moderator m:mia: %.400s", lines)
	}

	// The audit log: who did what to which workshop, never the ideas' texts.
	entries, err := h.st.AuditEntries(ctx, store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, e := range entries {
		if !strings.HasPrefix(e.Action, "workshop.") {
			continue
		}
		seen[e.Action]++
		// The service notes the status the fold gave (open, ended) as "system".
		if e.Actor != "mia" && e.Actor != workshops.SystemActor || e.Subject != "workshop:"+id && e.Action != "workshop.create" {
			t.Errorf("audit entry %+v", e)
		}
		for _, text := range []string{"Bänke", "Mist", "Problem", "Doppelt"} {
			if strings.Contains(e.Detail, text) {
				t.Errorf("audit detail %q holds a text", e.Detail)
			}
		}
	}
	if seen["workshop.create"] != 1 || seen["workshop.update"] != 1 || seen["workshop.conflict"] != 1 || seen["workshop.event"] < 10 || seen["workshop.export"] != 2 {
		t.Errorf("audit entries by action: %v", seen)
	}

	// A viewer may not run workshops.
	vb := h.browser()
	vb.mustLogin("vic")
	if p := vb.get("/console/workshops"); p.status != http.StatusForbidden {
		t.Fatalf("viewer: %d", p.status)
	}
	// The list shows it under open, with copy offered; a copy is a new draft.
	list := b.get("/console/workshops")
	if !strings.Contains(list.body, "Elbufer 2027") || !strings.Contains(list.body, `id="copy-workshop"`) {
		t.Fatalf("list: %s", list.body)
	}
	cp := b.post("/console/workshops", url.Values{"op": {"copy"}, "from": {id}})
	cm := workshopIDRe.FindStringSubmatch(cp.header.Get("Location"))
	if cm == nil || cm[1] == id {
		t.Fatalf("copy: %d %s", cp.status, cp.header.Get("Location"))
	}
	if c, _ := svc.Get(ctx, cm[1]); c.Workshop.Status != workshops.StatusDraft || c.State.Spec.Question != "Was fehlt am Elbufer?" {
		t.Fatalf("copy: %+v", c.Workshop)
	}
}

// terminalEvent is an event as a taking-part terminal writes it (the hub
// takes it through the service's Append, as from the terminal's socket).
func terminalEvent(t *testing.T, workshopID, terminalID string, seq uint64, wall time.Time, actor string, typ workshop.Type, data any) json.RawMessage {
	t.Helper()
	raw, err := workshop.Encode(data)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(workshop.Event{ID: ulid.Make().String(), Workshop: workshopID, Device: workshop.DeviceTerminalPrefix + terminalID,
		Seq: seq, HLC: workshop.HLC{Wall: wall.UnixMilli()}, Actor: actor, Type: typ, Data: raw})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestWorkshopDotsOverTheLimit: one card spends its two dots at one
// terminal and a third at another that was offline. The moderator sees,
// on the run page and its live socket, each round's dots by state and
// the card (by its label, never its hash) with a dot over the limit;
// the results page totals them. The projector speaks the workshop's
// language and, in the results phase and after the end, shows the public
// results page's QR code instead of the join code. Without a public
// address the run page says what the terminals cannot show.
func TestWorkshopDotsOverTheLimit(t *testing.T) {
	h, svc := workshopHub(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	h.addUser("mia", store.RoleModerator)
	t1 := h.enrolTerminal("jst-library-1", "Johannstadt")
	t2 := h.enrolTerminal("jst-cafe-1", "Johannstadt")
	b := h.browser()
	b.mustLogin("mia")
	id := prepare(t, b, workshopFormValues("Elbufer", t1.id, t2.id)) // in German
	act(t, b, id, url.Values{"op": {"open"}})
	v, _ := svc.Get(ctx, id)
	code := v.Workshop.JoinCode

	// The hub runs without a public URL: terminals take part, so the run
	// page says what they cannot show. A workshop without terminals has
	// nothing to say.
	run := b.get("/console/workshops/" + id)
	if !strings.Contains(run.body, `id="ws-no-public-url"`) || !strings.Contains(run.body, "The hub has no public address (serve --public-url)") {
		t.Fatalf("run page without a public URL: no notice\n%s", run.body)
	}
	other := prepare(t, b, workshopFormValues("Ohne Terminals"))
	if p := b.get("/console/workshops/" + other); strings.Contains(p.body, `id="ws-no-public-url"`) {
		t.Fatal("the notice on a workshop no terminal takes part in")
	}

	phone, _, err := svc.JoinPhone(ctx, code, strings.Repeat("q", 32))
	if err != nil {
		t.Fatal(err)
	}
	a, err := svc.Act(ctx, id, phone, workshop.TypeIdea, workshop.Idea{Text: "Mehr Bänke", Phase: 0})
	if err != nil {
		t.Fatal(err)
	}
	bIdea, err := svc.Act(ctx, id, phone, workshop.TypeIdea, workshop.Idea{Text: "Ein Trinkbrunnen", Phase: 0})
	if err != nil {
		t.Fatal(err)
	}
	act(t, b, id, url.Values{"op": {"next"}})
	act(t, b, id, url.Values{"op": {"next"}})
	act(t, b, id, url.Values{"op": {"vote"}, "round": {"1"}, "dots": {"2"}, "on": {"ideas"}})
	pj := b.get("/console/workshops/" + id + "/projector")
	if !strings.Contains(pj.body, `<html lang="de">`) || !strings.Contains(pj.body, "Mit dem Handy mitmachen") || !strings.Contains(pj.body, "0 Punkte gesetzt") ||
		!strings.Contains(pj.body, `id="pj-join-url">`+strings.TrimPrefix(h.srv.URL, "http://")+"/w/"+code+"<") || strings.Contains(pj.body, "/results") {
		t.Fatalf("projector while voting: not in the workshop's German, or no join code\n%s", pj.body)
	}
	if run = b.get("/console/workshops/" + id); !strings.Contains(run.body, `<html lang="en">`) {
		t.Fatal("the run page is not in the moderator's language")
	}

	// The card checks in at the library and places both its dots; the
	// café terminal, offline, did not know: its check-in is a duplicate,
	// its dot the third, over the limit. The phone's dot counts.
	card := "v:0123456789abcdef0123"
	now := time.Now()
	if _, err := svc.Append(ctx, t1.id, []json.RawMessage{
		terminalEvent(t, id, t1.id, 1, now, card, workshop.TypeCheckIn, workshop.CheckIn{Via: workshop.ViaCard, Label: "Karte 3"}),
		terminalEvent(t, id, t1.id, 2, now, card, workshop.TypeDot, workshop.Dot{Round: 1, Item: a.ID}),
		terminalEvent(t, id, t1.id, 3, now, card, workshop.TypeDot, workshop.Dot{Round: 1, Item: bIdea.ID}),
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Append(ctx, t2.id, []json.RawMessage{
		terminalEvent(t, id, t2.id, 1, now, card, workshop.TypeCheckIn, workshop.CheckIn{Via: workshop.ViaCard, Label: "Karte 3"}),
		terminalEvent(t, id, t2.id, 2, now, card, workshop.TypeDot, workshop.Dot{Round: 1, Item: a.ID}),
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Act(ctx, id, phone, workshop.TypeDot, workshop.Dot{Round: 1, Item: a.ID}); err != nil {
		t.Fatal(err)
	}
	v, _ = svc.Get(ctx, id)
	if _, dots := v.State.VoterDots(card, 1); len(dots) != 3 || dots[2].Status != workshop.DotOverLimit {
		t.Fatalf("the card's dots: %+v", dots)
	}

	// tally is round 1's row: counted, pending, over, late, void.
	tally := func(page string) string {
		row := between(page, `<tr id="dot-tally-1">`, "</tr>")
		return strings.Join(regexp.MustCompile(`<td class="num[^"]*">(\d+)</td>`).FindAllString(row, -1), "")
	}
	cells := func(n ...int) string {
		var s strings.Builder
		for i, k := range n {
			class := "num"
			if k > 0 && (i == 2 || i == 3) {
				class += " ws-attention"
			}
			fmt.Fprintf(&s, `<td class="%s">%d</td>`, class, k)
		}
		return s.String()
	}
	run = b.get("/console/workshops/" + id)
	if got, want := tally(run.body), cells(3, 0, 1, 0, 0); got != want {
		t.Fatalf("round 1's dots on the run page: %s, want %s\n%s", got, want, between(run.body, `id="ws-dot-tally"`, "</table>"))
	}
	over := between(run.body, `id="over-limit-1"`, "</ul>")
	if !strings.Contains(over, "<li>Karte 3: 1 over the limit</li>") || strings.Contains(over, card) || strings.Count(over, "<li>") != 1 {
		t.Fatalf("who is over the limit: %q", over)
	}

	// The live socket's run view carries the same block.
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(h.srv.URL, "http")+"/console/workshops/"+id+"/live?page=run",
		&websocket.DialOptions{HTTPClient: b.c, HTTPHeader: http.Header{"Origin": {h.srv.URL}}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	m := readLive(ctx, t, conn)
	if got, want := tally(m.HTML["ws-voting"]), cells(3, 0, 1, 0, 0); got != want || !strings.Contains(m.HTML["ws-voting"], "Karte 3: 1 over the limit") {
		t.Fatalf("the live run view's dots: %s, want %s\n%s", got, want, m.HTML["ws-voting"])
	}
	conn.Close(websocket.StatusNormalClosure, "")

	// Reveal and go on to the results phase: the round closes. A dot the
	// card placed after that, at the library, waits for a decision.
	act(t, b, id, url.Values{"op": {"reveal"}, "round": {"1"}})
	if pj = b.get("/console/workshops/" + id + "/projector"); strings.Contains(pj.body, "Die Ergebnisse zum Nachlesen") {
		t.Fatal("the results' QR code before the results phase")
	}
	act(t, b, id, url.Values{"op": {"next"}})
	if _, err := svc.Append(ctx, t1.id, []json.RawMessage{
		terminalEvent(t, id, t1.id, 4, time.Now().Add(time.Minute), card, workshop.TypeDot, workshop.Dot{Round: 1, Item: a.ID}),
	}); err != nil {
		t.Fatal(err)
	}
	run = b.get("/console/workshops/" + id)
	if got, want := tally(run.body), cells(3, 0, 1, 1, 0); got != want || !strings.Contains(run.body, "Karte 3: 1 over the limit") {
		t.Fatalf("round 1's dots after the round closed: %s, want %s", got, want)
	}
	res := b.get("/console/workshops/" + id + "/results")
	if !strings.Contains(res.body, `id="results-over-limit-1">1 dots were over a participant&#39;s limit and do not count.<`) {
		t.Fatalf("results page: no over-limit total\n%s", res.body)
	}

	// The projector points the room at the public results page: the QR
	// code of its absolute address, built as the join code's is.
	host := strings.TrimPrefix(h.srv.URL, "http://")
	resultsQR, err := qrSVG(h.srv.URL+"/w/"+code+"/results", host+"/w/"+code+"/results")
	if err != nil {
		t.Fatal(err)
	}
	wantResults := func(what, html string) {
		t.Helper()
		if !strings.Contains(html, "Die Ergebnisse zum Nachlesen auf dem Handy") || !strings.Contains(html, string(resultsQR)) ||
			!strings.Contains(html, `id="pj-results-url">`+host+"/w/"+code+"/results<") || strings.Contains(html, "Mit dem Handy mitmachen") {
			t.Fatalf("%s: no results QR code in the workshop's language\n%s", what, html)
		}
	}
	wantResults("projector in the results phase", b.get("/console/workshops/"+id+"/projector").body)
	act(t, b, id, url.Values{"op": {"end"}})
	wantResults("projector after the end", b.get("/console/workshops/"+id+"/projector").body)
	conn, _, err = websocket.Dial(ctx, "ws"+strings.TrimPrefix(h.srv.URL, "http")+"/console/workshops/"+id+"/live?page=projector",
		&websocket.DialOptions{HTTPClient: b.c, HTTPHeader: http.Header{"Origin": {h.srv.URL}}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	m = readLive(ctx, t, conn)
	wantResults("the projector's live view", m.HTML["ws-pj-qr"])
	if !strings.Contains(m.HTML["ws-projector"], "Der Workshop ist beendet") {
		t.Fatalf("the projector's live view is not in German: %s", m.HTML["ws-projector"])
	}
	conn.Close(websocket.StatusNormalClosure, "")
}

// TestWorkshopWithPublicURL: with the hub's public address the run page
// has no notice and the projector's codes carry that address.
func TestWorkshopWithPublicURL(t *testing.T) {
	h, svc := workshopHub(t, func(o *Opts) { o.PublicURL = "https://hub.example.org/" })
	h.addUser("mia", store.RoleModerator)
	term := h.enrolTerminal("jst-library-1", "Johannstadt")
	b := h.browser()
	b.mustLogin("mia")
	id := prepare(t, b, workshopFormValues("Elbufer", term.id))
	act(t, b, id, url.Values{"op": {"open"}})
	v, _ := svc.Get(context.Background(), id)
	if run := b.get("/console/workshops/" + id); run.status != 200 || strings.Contains(run.body, `id="ws-no-public-url"`) {
		t.Fatalf("run page with a public URL: %d, notice shown", run.status)
	}
	joinQR, err := qrSVG("https://hub.example.org/w/"+v.Workshop.JoinCode, "hub.example.org/w/"+v.Workshop.JoinCode)
	if err != nil {
		t.Fatal(err)
	}
	if pj := b.get("/console/workshops/" + id + "/projector"); !strings.Contains(pj.body, string(joinQR)) {
		t.Fatalf("projector: no join QR code of the public address\n%s", pj.body)
	}
	act(t, b, id, url.Values{"op": {"end"}})
	resultsQR, err := qrSVG("https://hub.example.org/w/"+v.Workshop.JoinCode+"/results", "hub.example.org/w/"+v.Workshop.JoinCode+"/results")
	if err != nil {
		t.Fatal(err)
	}
	if pj := b.get("/console/workshops/" + id + "/projector"); !strings.Contains(pj.body, string(resultsQR)) {
		t.Fatalf("projector after the end: no results QR code of the public address\n%s", pj.body)
	}
}

// readLive reads one message of a staff page's live socket.
func readLive(ctx context.Context, t *testing.T, conn *websocket.Conn) liveMessage {
	t.Helper()
	_, data, err := conn.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var m liveMessage
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}
