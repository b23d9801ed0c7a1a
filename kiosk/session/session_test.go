package session_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/kiosk/session"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newManager(c *clock) *session.Manager {
	n := 0
	return session.NewManager(session.Opts{Timeout: 60 * time.Second, Warning: 20 * time.Second, CardHold: 5 * time.Second,
		Language: "de", Now: c.Now, NewID: func() string { n++; return strings.Repeat("x", n) }})
}

func TestTimeoutWarnsThenEnds(t *testing.T) {
	c := &clock{t: time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)}
	m := newManager(c)
	if st, _ := m.Check(); st != session.Idle {
		t.Fatalf("state %v before any session", st)
	}
	m.Start("")
	c.Add(59 * time.Second)
	if st, _ := m.Check(); st != session.Active {
		t.Fatalf("state after 59 s: %v", st)
	}
	c.Add(time.Second)
	st, left := m.Check()
	if st != session.Warning || left != 20*time.Second {
		t.Fatalf("after 60 s: %v %v, want warning 20s", st, left)
	}
	m.Extend()
	if st, _ := m.Check(); st != session.Active {
		t.Fatalf("after more time: %v", st)
	}
	c.Add(80 * time.Second)
	if st, _ := m.Check(); st != session.Idle || m.Current() != nil {
		t.Fatalf("after 80 s idle: %v, session %v", st, m.Current())
	}
	if why, n := m.LastEnd(); why != session.EndTimeout || n != 1 {
		t.Fatalf("end %v %d", why, n)
	}
}

func TestNextSessionSeesNothing(t *testing.T) {
	c := &clock{t: time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)}
	m := newManager(c)
	for _, why := range []session.EndReason{session.EndDone, session.EndTimeout, session.EndCardRemoved} {
		s := m.Start("cafe")
		old := s
		s.Language, s.LargeText, s.HighContrast = "en", true, true
		s.Report = session.Report{Category: "litter", Text: "Glas am Spielplatz", Place: "yenidze"}
		sv := api.Survey{ID: "s1", Once: api.OncePerSession, Questions: []api.Question{{ID: "q", Kind: api.QuestionText}}}
		session.BeginSurvey(s, sv)
		s.Survey.Text["q"] = "geheim"
		s.Answered["s1"] = true
		s.Ticket, s.Reference = 7, "ABCD-EFGH"
		switch why {
		case session.EndTimeout:
			c.Add(time.Hour)
			m.Check()
		case session.EndCardRemoved:
			c.Add(10 * time.Second)
			m.Card(false, "cafe")
		default:
			m.End(why)
		}
		if m.Current() != nil {
			t.Fatalf("%v: session still running", why)
		}
		if !reflect.DeepEqual(*old, session.Session{}) {
			t.Fatalf("%v: the ended session still holds %+v", why, *old)
		}
		next := m.Start("")
		want := session.Session{ID: next.ID, Started: c.Now(), Language: "de", Answered: map[string]bool{}}
		if !reflect.DeepEqual(*next, want) {
			t.Fatalf("%v: next session starts with %+v", why, *next)
		}
		m.End(session.EndDone)
	}
}

func TestCardTapIdentifiesHoldEnds(t *testing.T) {
	c := &clock{t: time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)}
	m := newManager(c)
	s, started, _ := m.Card(true, "h1")
	if !started || s.CardHash != "h1" {
		t.Fatalf("a card should start a session with its hash: %v %+v", started, s)
	}
	c.Add(time.Second)
	if s, _, ended := m.Card(false, "h1"); ended || s == nil {
		t.Fatal("a short tap must not end the session")
	}
	// Another card does not take over an identified session.
	m.Card(true, "h2")
	if m.Current().CardHash != "h1" {
		t.Fatal("the session's card changed")
	}
	c.Add(10 * time.Second)
	if _, _, ended := m.Card(false, "h2"); ended {
		t.Fatal("removing a foreign card ended the session")
	}
	m.Card(true, "h1")
	c.Add(6 * time.Second)
	if _, _, ended := m.Card(false, "h1"); !ended {
		t.Fatal("taking away a card that lay on the reader must end the session")
	}
	if why, _ := m.LastEnd(); why != session.EndCardRemoved {
		t.Fatalf("end reason %v", why)
	}
	// A card tapped during an anonymous session identifies it.
	m.Start("")
	m.Card(true, "h3")
	if m.Current().CardHash != "h3" {
		t.Fatal("tap did not identify the session")
	}
}

func TestCardKey(t *testing.T) {
	dir := t.TempDir()
	k1, err := session.LoadCardKey(dir, "")
	if err != nil || len(k1) != session.CardKeyLen {
		t.Fatalf("generated key: %v %d", err, len(k1))
	}
	fi, err := os.Stat(filepath.Join(dir, session.CardKeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", err, fi)
	}
	k2, _ := session.LoadCardKey(dir, "")
	if string(k1) != string(k2) {
		t.Fatal("the key changed across restarts")
	}
	k3, err := session.LoadCardKey(dir, "000102030405060708090a0b0c0d0e0f")
	if err != nil || len(k3) != 16 {
		t.Fatalf("config key: %v", err)
	}
	if _, err := session.LoadCardKey(dir, "abc"); err == nil {
		t.Fatal("a short config key was accepted")
	}
	h := session.HashCard(k3, "01004ca53b")
	if h != session.HashCard(k3, "01004CA53B ") || h == session.HashCard(k1, "01004CA53B") {
		t.Fatal("hash must be case-insensitive in the UID and depend on the key")
	}
	if len(h) != 64 || strings.Contains(strings.ToUpper(h), "01004CA53B") {
		t.Fatalf("hash %q", h)
	}
	if !session.IsServiceCard(h, []string{strings.ToUpper(h)}) || session.IsServiceCard(h, nil) {
		t.Fatal("service card check")
	}
}

func TestRespondentOnceRules(t *testing.T) {
	c := &clock{t: time.Now()}
	m := newManager(c)
	card := api.Survey{ID: "a", Once: api.OncePerCard}
	sess := api.Survey{ID: "b", Once: api.OncePerSession}
	s := m.Start("")
	if _, err := session.Respondent(card, s); err != session.ErrNeedsCard {
		t.Fatalf("card survey without card: %v", err)
	}
	r1, err := session.Respondent(sess, s)
	if err != nil {
		t.Fatal(err)
	}
	s.Answered["b"] = true
	if _, err := session.Respondent(sess, s); err != session.ErrAnswered {
		t.Fatalf("second answer in a session: %v", err)
	}
	m.End(session.EndDone)
	s = m.Start("h")
	r2, _ := session.Respondent(sess, s)
	if r1 == r2 {
		t.Fatal("two sessions gave the same respondent")
	}
	c1, _ := session.Respondent(card, s)
	m.End(session.EndDone)
	s = m.Start("h")
	c2, _ := session.Respondent(card, s)
	if c1 != c2 || strings.Contains(c1, "h") && len(c1) != 64 {
		t.Fatal("the same card must give the same respondent across sessions")
	}
	other, _ := session.Respondent(api.Survey{ID: "z", Once: api.OncePerCard}, s)
	if other == c1 {
		t.Fatal("respondent must differ per survey so answers cannot be linked")
	}
}

func TestSurveyDraftAndResponse(t *testing.T) {
	sv := api.Survey{ID: "s", Once: api.OncePerSession, Questions: []api.Question{
		{ID: "one", Kind: api.QuestionSingle}, {ID: "many", Kind: api.QuestionMultiple},
		{ID: "scale", Kind: api.QuestionScale, Min: 1, Max: 5}, {ID: "free", Kind: api.QuestionText}, {ID: "skipped", Kind: api.QuestionText}}}
	s := &session.Session{ID: "x", Language: "en", Answered: map[string]bool{}}
	session.BeginSurvey(s, sv)
	q := sv.Questions
	s.Survey.Toggle(q[0], "a")
	s.Survey.Toggle(q[0], "b")
	s.Survey.Toggle(q[1], "a")
	s.Survey.Toggle(q[1], "b")
	s.Survey.Toggle(q[1], "a")
	s.Survey.Scale["scale"] = 4
	s.Survey.Text["free"] = "mehr Bänke"
	r := session.Response(sv, s, "R")
	four := 4
	want := map[string]session.Answer{"one": {Choices: []string{"b"}}, "many": {Choices: []string{"b"}}, "scale": {Scale: &four}, "free": {Text: "mehr Bänke"}}
	if !reflect.DeepEqual(r.Answers, want) || r.Respondent != "R" || r.Language != "en" {
		t.Fatalf("response %+v", r)
	}
}

func TestReference(t *testing.T) {
	if got := session.Reference("01JQ3V9ZK8M4T6W2XA7B5C9D0E"); got != "7B5C-9D0E" {
		t.Fatalf("reference %q", got)
	}
	if got := session.StatusURL("http://hub:8480/", "7B5C-9D0E"); got != "http://hub:8480/status/7B5C-9D0E" {
		t.Fatalf("status url %q", got)
	}
	// The receipt and the hub's status page read the same code.
	for _, id := range []string{"01JQ3V9ZK8M4T6W2XA7B5C9D0E", "01jq3v9zk8m4t6w2xa7b5c9d0e", "SHORT"} {
		ref := session.Reference(id)
		if ref != api.ReportReference(id) {
			t.Errorf("%s: kiosk %q, hub %q", id, ref, api.ReportReference(id))
		}
		if n, ok := api.ParseReference(ref); len(id) >= 8 && (!ok || n != ref) {
			t.Errorf("%s: the hub does not read %q back (%q, %v)", id, ref, n, ok)
		}
	}
}

func TestAirLevels(t *testing.T) {
	cases := []struct {
		q    string
		v    float64
		want session.Level
	}{{"pm25", 3, 1}, {"pm25", 10, 1}, {"pm25", 10.1, 2}, {"pm25", 24, 3}, {"pm25", 30, 4}, {"pm25", 80, 5},
		{"pm10", 40, 3}, {"co2", 420, 1}, {"co2", 1200, 3}, {"co2", 2500, 5}, {"noise", 3, 0}}
	for _, c := range cases {
		if got := session.LevelOf(c.q, c.v); got != c.want {
			t.Errorf("LevelOf(%s, %g) = %d, want %d", c.q, c.v, got, c.want)
		}
	}
}

func TestPrinterState(t *testing.T) {
	dev := func(state string, det map[string]any) []session.Device {
		return []session.Device{{Name: "pm-1", State: "connected"}, {Name: "printer", State: state, Detail: det}}
	}
	cases := []struct {
		devs   []session.Device
		ok     bool
		reason string
	}{
		{nil, false, session.PrinterMissing},
		{dev("lost", nil), false, session.PrinterUnreachable},
		{dev("connected", map[string]any{"printable": true, "paper": "near_end"}), true, ""},
		{dev("connected", map[string]any{"printable": false, "paper": "out"}), false, session.PrinterPaperOut},
		{dev("recovered", map[string]any{"printable": false, "paper": "ok", "cover_open": true}), false, session.PrinterCoverOpen},
		{dev("connected", map[string]any{"printable": false, "paper": "ok", "error": true, "online": false}), false, session.PrinterFault},
	}
	for i, c := range cases {
		ok, reason := session.PrinterState(c.devs)
		if ok != c.ok || reason != c.reason {
			t.Errorf("case %d: %v %q, want %v %q", i, ok, reason, c.ok, c.reason)
		}
	}
}

func TestServicePIN(t *testing.T) {
	h, err := api.HashPIN("2468", []byte("0123456789abcdef"), 1000)
	if err != nil {
		t.Fatal(err)
	}
	if !api.CheckPIN(h, "2468") || api.CheckPIN(h, "2469") || api.CheckPIN(h, "") || api.CheckPIN("nonsense", "2468") {
		t.Fatal("pin check")
	}
}

// Processes that start at once and find no card key agree on one: each
// gets the key that ends up on disk.
func TestCardKeyCreatedOnce(t *testing.T) {
	dir := t.TempDir()
	const n = 12
	keys := make([][]byte, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			k, err := session.LoadCardKey(dir, "")
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
		})
	}
	wg.Wait()
	onDisk, err := session.LoadCardKey(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range keys {
		if string(k) != string(onDisk) {
			t.Errorf("starter %d got a key that is not the one on disk", i)
		}
	}
}

// TestSpeechModeTiming: a warning shorter than 20 s is lengthened, speech
// mode makes both timeout and warning three times longer, and the warning
// can be answered with "more time" again and again.
func TestSpeechModeTiming(t *testing.T) {
	c := &clock{t: time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)}
	m := session.NewManager(session.Opts{Timeout: 60 * time.Second, Warning: 5 * time.Second, Now: c.Now})
	if _, w := m.Timing(); w != session.MinWarning {
		t.Fatalf("warning %v, want the minimum %v", w, session.MinWarning)
	}
	m.SetTiming(0, 10*time.Second)
	if _, w := m.Timing(); w != session.MinWarning {
		t.Fatalf("warning from the content %v, want the minimum %v", w, session.MinWarning)
	}
	m.SetSpeechMode(true)
	if to, w := m.Timing(); to != 180*time.Second || w != 60*time.Second {
		t.Fatalf("speech timing %v/%v, want 180s/60s", to, w)
	}
	m.Start("")
	for i := range 12 {
		c.Add(179 * time.Second)
		if st, _ := m.Check(); st != session.Active {
			t.Fatalf("extension %d: %v after 179 s in speech mode", i, st)
		}
		c.Add(time.Second)
		st, left := m.Check()
		if st != session.Warning || left != 60*time.Second {
			t.Fatalf("extension %d: %v %v, want a warning with 60 s", i, st, left)
		}
		c.Add(59 * time.Second)
		m.Extend()
		if st, _ := m.Check(); st != session.Active {
			t.Fatalf("extension %d refused: %v", i, st)
		}
	}
	m.SetSpeechMode(false)
	c.Add(60 * time.Second)
	if st, left := m.Check(); st != session.Warning || left != 20*time.Second {
		t.Fatalf("after speech mode: %v %v, want a 20 s warning", st, left)
	}
	c.Add(20 * time.Second)
	if st, _ := m.Check(); st != session.Idle {
		t.Fatalf("not ended: %v", st)
	}
}
