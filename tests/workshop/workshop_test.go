package workshop

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/internal/testutil"
	"github.com/quartierhub/quartierhub/kiosk/localapi"
	"github.com/quartierhub/quartierhub/kiosk/session"
	"github.com/quartierhub/quartierhub/tests/internal/harness"
)

// TestWorkshopEndToEnd: a hub, terminals A, B and C (C behind a proxy),
// the console and two phones run a workshop from the hub's command line
// to its export. Card voters check in with `kiosk workshop checkin
// --card`, guests on a terminal and the phones; ideas come from all
// three terminals and both phones; the moderator makes a theme, moves
// ideas into it and merges a duplicate; voting opens; C loses the hub
// and takes dots offline (shown pending), among them the dots of card
// X, which meanwhile spends on A — X has three dots and so spends four;
// C comes back, its dots are counted in hub order (X's last one over the
// limit, on every terminal); voting closes, the round is revealed, and
// the JSON and CSV exports hold exactly the counts the script implies.
func TestWorkshopEndToEnd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	began := time.Now()
	defer func() { t.Logf("took %s", time.Since(began).Round(time.Millisecond)) }()

	hub, err := harness.NewHub(bins, filepath.Join(t.TempDir(), "hub"))
	if err != nil {
		t.Fatal(err)
	}
	if err := hub.StartFresh(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = hub.Stop()
		if t.Failed() {
			t.Logf("hub log tail:\n%s", harness.Tail(hub.Log, 40))
		}
	})
	px, err := newCutProxy(hub.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer px.Close()

	// One card key for the deployment: a card is one voter on every terminal.
	cardKey := []byte(strings.Repeat("5a", 32) + "\n")
	terms := map[string]*terminal{}
	var ids []string
	for _, name := range []string{"A", "B", "C"} {
		url := hub.URL()
		if name == "C" {
			url = "http://" + px.Addr()
		}
		tm := enrol(t, ctx, hub, name, url, cardKey)
		terms[name] = tm
		ids = append(ids, tm.id)
	}
	a, b, c := terms["A"], terms["B"], terms["C"]

	// Prepare and open the workshop with the hub's command line.
	spec := fmt.Sprintf(`{"title":"Platz an der Kirche","question":"Was braucht der Platz?","lang":"de","method":"simple",
		"dots":3,"max_per_item":2,"vote_on":"ideas","phones":true,"terminals":["%s"]}`, strings.Join(ids, `","`))
	wid, code, err := hub.CreateWorkshop(ctx, []byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	if err := hub.WorkshopPhase(ctx, wid, "0"); err != nil {
		t.Fatal(err)
	}
	for _, tm := range []*terminal{a, b, c} {
		if err := tm.ag.Start(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for name, tm := range terms {
		testutil.Eventually(t, "terminal "+name+" online in the workshop", func() bool {
			v := tm.view(t, ctx, "")
			return v.Active && v.ID == wid && v.Online && v.Phase != nil && v.Phase.Kind == "ideas"
		}, testutil.Within(time.Minute))
	}

	// The moderator: the console's forms (harness.Console) and, with
	// Chromium, the run page and the projector in the browser.
	con, err := hub.NewConsole(ctx, "moderatorin")
	if err != nil {
		t.Fatal(err)
	}
	act := func(form url.Values) {
		t.Helper()
		st, loc, err := con.Act(ctx, wid, form)
		if err != nil || st != http.StatusSeeOther {
			t.Fatalf("console %s: %d %v (%s)", form.Get("op"), st, err, loc)
		}
	}
	br := newBrowser(t, hub.URL(), wid, "moderatorin", consolePassword)
	press := func(button, op string, fields ...string) {
		t.Helper()
		if br != nil {
			br.click(button)
			return
		}
		form := url.Values{"op": {op}}
		for i := 0; i+1 < len(fields); i += 2 {
			form.Set(fields[i], fields[i+1])
		}
		act(form)
	}

	// Check-ins: card X on A and on C (the same voter), Z on B, Y on C,
	// a guest on A, two phones.
	const cardX, cardY, cardZ = "04A1B2C3D4E5F6", "04C0FFEE123456", "0477AA55CC0011"
	xA := a.checkinCard(t, ctx, cardX)
	xC := c.checkinCard(t, ctx, cardX)
	if xA.Voter != xC.Voter {
		t.Fatalf("card X checked in as %s on A and %s on C: one card must be one voter", xA.Voter, xC.Voter)
	}
	x := xA.Voter
	y := c.checkinCard(t, ctx, cardY).Voter
	z := b.checkinCard(t, ctx, cardZ).Voter
	g, err := a.ag.Client.WorkshopCheckin(ctx, localapi.WorkshopCheckinRequest{Guest: true})
	if err != nil {
		t.Fatal(err)
	}
	phones := []*harness.Phone{
		harness.NewPhone(hub.URL(), code, "127.4.0.1"),
		harness.NewPhone(hub.URL(), code, "127.4.0.2"),
	}
	for i, p := range phones {
		defer p.Close()
		if loc, _, err := p.Post(ctx, "join", url.Values{}); err != nil || !strings.Contains(loc, "ok=joined") {
			t.Fatalf("phone %d join: %v (%s)", i, err, loc)
		}
	}

	// Ideas from every terminal and both phones.
	texts := map[string]string{
		"I1": "Mehr Bäume an der Hauptstraße",
		"I2": "Eine Bank am Spielplatz",
		"I3": "Trinkbrunnen am Markt",
		"I4": "Fahrradbügel vor der Schule",
		"I5": "Fahrradständer an der Schule",
		"I6": "Nachtbus am Wochenende",
	}
	a.idea(t, ctx, x, texts["I1"])
	a.idea(t, ctx, g.Voter, texts["I2"])
	b.idea(t, ctx, z, texts["I3"])
	c.idea(t, ctx, y, texts["I4"])
	phoneIdea(t, ctx, phones[0], texts["I5"])
	phoneIdea(t, ctx, phones[1], texts["I6"])
	for name, tm := range terms {
		testutil.Eventually(t, "every idea on terminal "+name, func() bool {
			v := tm.view(t, ctx, "")
			return v.Counts.Ideas == 6 && v.Counts.Voters == 6 && v.Queued == 0
		})
	}
	if br != nil {
		br.projectorShows(6, 6)
	}
	idOf := map[string]string{}
	for _, i := range a.view(t, ctx, "").Ideas {
		for k, txt := range texts {
			if i.Text == txt {
				idOf[k] = i.ID
			}
		}
	}
	if len(idOf) != 6 {
		t.Fatalf("terminal A shows ideas %v, want the six", idOf)
	}

	// The moderator clusters in the console: the next phase from the run
	// page in Chromium, a theme, two ideas in it and the duplicate merged
	// with the cluster board's forms.
	press("#ws-next", "next")
	act(url.Values{"op": {"theme_new"}, "name": {"Verkehr"}})
	var theme string
	testutil.Eventually(t, "the theme on terminal B", func() bool {
		v := b.view(t, ctx, "")
		if len(v.Themes) == 1 && v.Themes[0].Name == "Verkehr" {
			theme = v.Themes[0].ID
		}
		return theme != "" && v.Phase.Kind == "cluster"
	})
	act(url.Values{"op": {"move"}, "idea": {idOf["I4"]}, "to": {theme}})
	act(url.Values{"op": {"move"}, "idea": {idOf["I6"]}, "to": {theme}})
	act(url.Values{"op": {"merge"}, "idea": {idOf["I5"]}, "into": {idOf["I4"]}})

	// Voting opens: three dots each, at most two on one idea.
	press("#ws-next", "next")
	for name, tm := range terms {
		testutil.Eventually(t, "voting on terminal "+name, func() bool {
			v := tm.view(t, ctx, "")
			return v.Round != nil && v.Round.N == 1 && v.Round.Dots == 3 && !slices.Contains(v.Round.Items, idOf["I5"]) &&
				slices.Contains(v.Round.Items, idOf["I4"]) && len(v.Themes) == 1 && len(v.Themes[0].Ideas) >= 2
		})
	}

	// C loses the hub in the middle of the vote.
	b.dot(t, ctx, z, idOf["I3"])
	px.SetUp(false)
	testutil.Eventually(t, "terminal C offline", func() bool { return !c.view(t, ctx, "").Online }, testutil.Within(30*time.Second))
	// X spends two dots on A, which C cannot know of...
	a.dot(t, ctx, x, idOf["I1"])
	a.dot(t, ctx, x, idOf["I1"])
	// ...and two more on C, offline: C takes them, pending.
	c.dot(t, ctx, x, idOf["I3"])
	c.dot(t, ctx, x, idOf["I4"])
	c.dot(t, ctx, y, idOf["I4"])
	c.dot(t, ctx, y, idOf["I6"])
	me := c.view(t, ctx, y).Me
	if me == nil || len(me.Dots) != 2 || me.Dots[0].Status != "pending" || me.Dots[1].Status != "pending" || me.DotsLeft != 1 {
		t.Fatalf("offline terminal C shows Y's part as %+v, want two pending dots and one left", me)
	}
	if v := c.view(t, ctx, ""); v.Online || v.Queued < 4 {
		t.Fatalf("offline terminal C: online %v, queued %d; want offline with at least 4 queued", v.Online, v.Queued)
	}
	// Meanwhile the others vote on.
	a.dot(t, ctx, g.Voter, idOf["I2"])
	b.dot(t, ctx, z, idOf["I3"])
	b.dot(t, ctx, z, idOf["I6"])
	phoneDot(t, ctx, phones[0], idOf["I4"])
	phoneDot(t, ctx, phones[0], idOf["I6"])
	phoneDot(t, ctx, phones[1], idOf["I1"])
	phoneDot(t, ctx, phones[1], idOf["I6"])

	// C comes back: its dots reach the hub after A's, so X's fourth is
	// over the limit, on every terminal.
	px.SetUp(true)
	for name, tm := range terms {
		testutil.Eventually(t, "X's dots settled on terminal "+name, func() bool {
			v := tm.view(t, ctx, x)
			if v.Queued != 0 || v.Me == nil {
				return false
			}
			var st []string
			for _, d := range v.Me.Dots {
				st = append(st, d.Status)
			}
			slices.Sort(st)
			return slices.Equal(st, []string{"counted", "counted", "counted", "over_limit"})
		}, testutil.Within(2*time.Minute))
	}
	if me := c.view(t, ctx, y).Me; me == nil || len(me.Dots) != 2 || me.Dots[0].Status != "counted" || me.Dots[1].Status != "counted" {
		t.Fatalf("terminal C shows Y's part as %+v after coming back, want two counted dots", me)
	}

	// Voting closes, the round is revealed; every terminal shows the ranking.
	press("#ws-next", "next")
	testutil.Eventually(t, "voting closed on terminal A", func() bool {
		v := a.view(t, ctx, "")
		return v.Round == nil && v.Phase != nil && v.Phase.Kind == "results"
	})
	press("#ws-reveal", "reveal", "round", "1")
	want := map[string]int{idOf["I1"]: 3, idOf["I2"]: 1, idOf["I3"]: 3, idOf["I4"]: 2, idOf["I6"]: 4}
	for name, tm := range terms {
		testutil.EventuallyOK(t, "revealed results on terminal "+name, func() error {
			got := map[string]int{}
			v := tm.view(t, ctx, "")
			for _, r := range v.Results {
				got[r.Item] = r.Dots
			}
			if !maps(got, want) {
				return fmt.Errorf("shows %v (round %+v), want %v", got, v.Round, want)
			}
			return nil
		})
	}

	// The exports: exactly the script's counts.
	out, err := hub.WorkshopExport(ctx, wid, "json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Voters int `json:"voters"`
		Ideas  []struct {
			ID         string `json:"id"`
			MergedInto string `json:"merged_into"`
		} `json:"ideas"`
		Themes []struct {
			Name  string   `json:"name"`
			Ideas []string `json:"ideas"`
		} `json:"themes"`
		Rounds []struct {
			Round    int            `json:"round"`
			Revealed bool           `json:"revealed"`
			Closed   bool           `json:"closed"`
			Statuses map[string]int `json:"dot_statuses"`
			Results  []struct {
				Item string `json:"item"`
				Dots int    `json:"dots"`
				Rank int    `json:"rank"`
			} `json:"results"`
		} `json:"rounds"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("export json: %v\n%.500s", err, out)
	}
	if doc.Voters != 6 || len(doc.Ideas) != 6 || len(doc.Rounds) != 1 || !doc.Rounds[0].Revealed || !doc.Rounds[0].Closed {
		t.Fatalf("export: %d voters, %d ideas, rounds %+v; want 6, 6 and one closed, revealed round", doc.Voters, len(doc.Ideas), doc.Rounds)
	}
	got := map[string]int{}
	for _, r := range doc.Rounds[0].Results {
		got[r.Item] = r.Dots
	}
	if !maps(got, want) {
		t.Errorf("exported totals %v, want %v", got, want)
	}
	if st := doc.Rounds[0].Statuses; st["counted"] != 13 || st["over_limit"] != 1 {
		t.Errorf("exported dot statuses %v, want 13 counted and 1 over the limit", st)
	}
	if len(doc.Themes) != 1 || doc.Themes[0].Name != "Verkehr" || !slices.Contains(doc.Themes[0].Ideas, idOf["I4"]) || !slices.Contains(doc.Themes[0].Ideas, idOf["I6"]) {
		t.Errorf("exported themes %+v, want Verkehr with I4 and I6", doc.Themes)
	}
	for _, i := range doc.Ideas {
		if (i.ID == idOf["I5"]) != (i.MergedInto == idOf["I4"]) {
			t.Errorf("exported idea %s merged into %q; only I5 is, into I4", i.ID, i.MergedInto)
		}
	}
	out, err = hub.WorkshopExport(ctx, wid, "csv")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
	if err != nil || len(rows) < 2 {
		t.Fatalf("export csv: %v\n%s", err, out)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	gotCSV := map[string]int{}
	for _, r := range rows[1:] {
		n, err := strconv.Atoi(r[col["dots"]])
		if err != nil || r[col["round"]] != "1" {
			t.Fatalf("csv row %v", r)
		}
		gotCSV[r[col["item"]]] = n
	}
	if !maps(gotCSV, want) {
		t.Errorf("CSV totals %v, want %v", gotCSV, want)
	}
}

// consolePassword is the one harness.Hub.NewConsole gives its user.
const consolePassword = "a long enough passphrase"

func maps(got, want map[string]int) bool {
	for k, n := range want {
		if got[k] != n {
			return false
		}
	}
	for k, n := range got {
		if want[k] != n && n != 0 {
			return false
		}
	}
	return true
}

// terminal is an enrolled agent.
type terminal struct {
	name, id string
	ag       *harness.Agent
}

func enrol(t *testing.T, ctx context.Context, hub *harness.Hub, name, hubURL string, cardKey []byte) *terminal {
	t.Helper()
	ag, err := harness.NewAgent(bins, filepath.Join(t.TempDir(), "terminal-"+name))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := hub.Token(ctx, "werkstatt-"+name, "Johannstadt")
	if err != nil {
		t.Fatal(err)
	}
	if err := ag.Enroll(ctx, hubURL, tok); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ag.Dir, session.CardKeyFile), cardKey, 0o600); err != nil {
		t.Fatal(err)
	}
	id, err := harness.TerminalID(ag.Dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if ag.PID() != 0 {
			_ = ag.Stop()
		}
		if t.Failed() {
			t.Logf("agent %s log tail:\n%s", name, harness.Tail(ag.Log, 30))
		}
	})
	return &terminal{name: name, id: id, ag: ag}
}

func (tm *terminal) view(t *testing.T, ctx context.Context, voter string) localapi.WorkshopView {
	t.Helper()
	v, err := tm.ag.Client.Workshop(ctx, voter)
	if err != nil {
		t.Fatalf("terminal %s: %v", tm.name, err)
	}
	return v
}

// checkinCard checks a card in with the kiosk's command line.
func (tm *terminal) checkinCard(t *testing.T, ctx context.Context, uid string) localapi.WorkshopCheckin {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, tm.ag.Bin, "workshop", "checkin", "--card", uid, "--data", tm.ag.Dir, "--json")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kiosk workshop checkin --card on %s: %v: %s", tm.name, err, stderr.String())
	}
	var c localapi.WorkshopCheckin
	if err := json.Unmarshal(out, &c); err != nil || !strings.HasPrefix(c.Voter, "v:") {
		t.Fatalf("kiosk workshop checkin --json on %s printed %q (%v)", tm.name, out, err)
	}
	return c
}

func (tm *terminal) idea(t *testing.T, ctx context.Context, voter, text string) {
	t.Helper()
	if _, err := tm.ag.Client.WorkshopIdea(ctx, localapi.WorkshopIdeaRequest{Voter: voter, Text: text}); err != nil {
		t.Fatalf("idea on %s: %v", tm.name, err)
	}
}

func (tm *terminal) dot(t *testing.T, ctx context.Context, voter, item string) {
	t.Helper()
	if _, err := tm.ag.Client.WorkshopDot(ctx, localapi.WorkshopDotRequest{Voter: voter, Item: item}); err != nil {
		t.Fatalf("dot by %s on %s: %v", voter, tm.name, err)
	}
}

func phoneIdea(t *testing.T, ctx context.Context, p *harness.Phone, text string) {
	t.Helper()
	if loc, _, err := p.Post(ctx, "ideas", url.Values{"text": {text}}); err != nil || strings.Contains(loc, "e=") {
		t.Fatalf("phone idea: %v (%s)", err, loc)
	}
}

func phoneDot(t *testing.T, ctx context.Context, p *harness.Phone, item string) {
	t.Helper()
	if loc, _, err := p.Post(ctx, "dots", url.Values{"round": {"1"}, "item": {item}}); err != nil || strings.Contains(loc, "e=") {
		t.Fatalf("phone dot: %v (%s)", err, loc)
	}
}

// cutProxy forwards TCP connections to the hub while up; cut, it closes
// every connection it holds and refuses new ones, as a pulled cable
// between one terminal and the hub would.
type cutProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	up     bool
	conns  map[net.Conn]bool
}

func newCutProxy(target string) (*cutProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &cutProxy{ln: ln, target: target, up: true, conns: map[net.Conn]bool{}}
	go p.serve()
	return p, nil
}

func (p *cutProxy) Addr() string { return p.ln.Addr().String() }
func (p *cutProxy) Close() error { p.SetUp(false); return p.ln.Close() }

// SetUp lets traffic through or cuts it.
func (p *cutProxy) SetUp(up bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.up = up
	if !up {
		for c := range p.conns {
			c.Close()
		}
		clear(p.conns)
	}
}

func (p *cutProxy) track(cs ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.up {
		return false
	}
	for _, c := range cs {
		p.conns[c] = true
	}
	return true
}

func (p *cutProxy) serve() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		go func() {
			server, err := net.Dial("tcp", p.target)
			if err != nil {
				client.Close()
				return
			}
			if !p.track(client, server) {
				client.Close()
				server.Close()
				return
			}
			pipe := func(dst, src net.Conn) {
				buf := make([]byte, 32<<10)
				for {
					n, err := src.Read(buf)
					if n > 0 {
						if _, werr := dst.Write(buf[:n]); werr != nil {
							break
						}
					}
					if err != nil {
						break
					}
				}
				dst.Close()
				src.Close()
			}
			go pipe(server, client)
			pipe(client, server)
		}()
	}
}
