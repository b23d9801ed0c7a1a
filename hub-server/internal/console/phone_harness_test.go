package console

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/quartierhub/quartierhub/hub-server/internal/store/teststores"
	"github.com/quartierhub/quartierhub/hub-server/internal/workshops"
	"github.com/quartierhub/quartierhub/internal/workshop"
)

// phoneHub is a hub with the real workshop service and one open
// workshop that takes phones.
type phoneHub struct {
	*hub
	svc  *workshops.Service
	id   string
	code string
}

const phoneModerator = "m:mona"

// newPhoneHub is a hub on SQLite with a workshop made from spec (nil: a
// simple one that takes phones), opened (its first phase) with joining open.
func newPhoneHub(t *testing.T, spec *workshop.Spec, mod func(*Opts)) *phoneHub {
	t.Helper()
	st := teststores.Open(t, teststores.SQLite)
	ph := &phoneHub{}
	h := newHubWith(t, st, func(o *Opts) {
		ph.svc = workshops.New(st, workshops.Opts{Now: o.Now})
		o.Phone.Workshops = ph.svc
		secret, err := GuestSecret(context.Background(), st, nil) // as the hub does
		if err != nil {
			t.Fatal(err)
		}
		o.Phone.GuestSecret = secret
		if mod != nil {
			mod(o)
		}
	})
	ph.hub = h
	st.OnWorkshopAppend(ph.svc.OnAppend)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ph.svc.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("workshop service: %v", err)
		}
		st.OnWorkshopAppend(nil)
	})
	if spec == nil {
		spec = &workshop.Spec{Title: "Elbufer Johannstadt", Question: "Was soll am Elbufer besser werden?", Lang: "de",
			Method: workshop.MethodSimple, Phones: true, Dots: 2, VoteOn: workshop.OnIdeas,
			Phases: workshop.DefaultPhases(workshop.MethodSimple, 0)}
	}
	w, err := ph.svc.Create(context.Background(), *spec, "mona")
	if err != nil {
		t.Fatalf("create workshop: %v", err)
	}
	ph.id, ph.code = w.ID, w.JoinCode
	ph.moderate(workshop.TypePhase, workshop.Phase{Index: 0, Deadline: h.clock.Now().UnixMilli()})
	ph.moderate(workshop.TypeJoin, workshop.Join{Open: true})
	return ph
}

// moderate appends a moderator's event, as the console would.
func (ph *phoneHub) moderate(t workshop.Type, data any) workshop.Event {
	ph.t.Helper()
	ev, err := ph.svc.Act(context.Background(), ph.id, phoneModerator, t, data)
	if err != nil {
		ph.t.Fatalf("moderator %s: %v", t, err)
	}
	return ev
}

// state is the workshop's folded state.
func (ph *phoneHub) state() *workshop.State {
	ph.t.Helper()
	v, err := ph.svc.Get(context.Background(), ph.id)
	if err != nil {
		ph.t.Fatal(err)
	}
	return v.State
}

// phase goes to the plan's first phase of kind.
func (ph *phoneHub) phase(kind string) {
	ph.t.Helper()
	for i, p := range ph.state().Spec.Phases {
		if p.Kind == kind {
			ph.moderate(workshop.TypePhase, workshop.Phase{Index: i, Deadline: ph.clock.Now().UnixMilli()})
			return
		}
	}
	ph.t.Fatalf("no %s phase in the plan", kind)
}

// phone is a participant's browser: its own cookie jar.
func (ph *phoneHub) phone() *browser { return ph.browser() }

// join opens the page and takes a guest number; it returns the page after.
func (ph *phoneHub) join(b *browser) page {
	ph.t.Helper()
	if p := b.get("/w/" + ph.code); p.status != http.StatusOK {
		ph.t.Fatalf("phone page: %d %s", p.status, p.body)
	}
	p := b.post("/w/"+ph.code+"/join", nil)
	if p.status != http.StatusSeeOther {
		ph.t.Fatalf("join: %d %s", p.status, seen(p.body))
	}
	return b.get(p.header.Get("Location"))
}

// follow posts a form and follows the redirect back to the page.
func (ph *phoneHub) follow(b *browser, path string, form url.Values) page {
	ph.t.Helper()
	p := b.post(path, form)
	if p.status != http.StatusSeeOther {
		return p
	}
	loc := p.header.Get("Location")
	loc, _, _ = strings.Cut(loc, "#")
	return b.get(loc)
}

var phoneTagRe = regexp.MustCompile(`<[^>]*>`)

// text is a page's body without tags, spaces collapsed: what a reader sees.
func seen(body string) string {
	return strings.Join(strings.Fields(phoneTagRe.ReplaceAllString(body, " ")), " ")
}

// voterOf is the voter the phone b is in the workshop (its guest key's,
// workshops.PhoneVoter); nil before it joined.
func (ph *phoneHub) voterOf(b *browser) *workshop.Voter {
	ph.t.Helper()
	u, _ := url.Parse(ph.srv.URL)
	for _, ck := range b.c.Jar.Cookies(u) {
		if g, ok := parseGuest(ph.con.phone.o.GuestSecret, ck.Value); ck.Name == guestCookie && ok {
			return ph.state().Voter(workshops.PhoneVoter(ph.id, g.Key))
		}
	}
	return nil
}

// labelOf is the label the phone b took.
func (ph *phoneHub) labelOf(b *browser) string {
	ph.t.Helper()
	v := ph.voterOf(b)
	if v == nil {
		ph.t.Fatal("the phone has not joined")
	}
	return v.Label
}

// cutListener takes the hub off the network and back, as a restart or a
// lost Wi-Fi does: cut closes every connection, live sockets too (an
// httptest server lets go of a connection once it is hijacked, so
// closing the server would keep them), and refuses new ones until mend.
type cutListener struct {
	net.Listener
	mu    sync.Mutex
	down  bool
	conns map[*cutConn]struct{}
}

type cutConn struct {
	net.Conn
	l *cutListener
}

func (c *cutConn) Close() error {
	c.l.mu.Lock()
	delete(c.l.conns, c)
	c.l.mu.Unlock()
	return c.Conn.Close()
}

func (l *cutListener) Accept() (net.Conn, error) {
	for {
		nc, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.mu.Lock()
		if l.down {
			l.mu.Unlock()
			nc.Close()
			continue
		}
		c := &cutConn{Conn: nc, l: l}
		l.conns[c] = struct{}{}
		l.mu.Unlock()
		return c, nil
	}
}

// cut drops every connection and refuses new ones.
func (l *cutListener) cut() {
	l.mu.Lock()
	l.down = true
	conns := make([]*cutConn, 0, len(l.conns))
	for c := range l.conns {
		conns = append(conns, c)
	}
	l.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

// mend takes connections again.
func (l *cutListener) mend() {
	l.mu.Lock()
	l.down = false
	l.mu.Unlock()
}

// cuttable serves the hub behind a cutListener from now on: a new
// server on the same handler at ph.srv (the first one stays up, unused,
// until the test ends).
func (ph *phoneHub) cuttable() *cutListener {
	ph.t.Helper()
	srv := httptest.NewUnstartedServer(ph.srv.Config.Handler)
	l := &cutListener{Listener: srv.Listener, conns: map[*cutConn]struct{}{}}
	srv.Listener = l
	srv.Start()
	ph.t.Cleanup(srv.Close)
	ph.srv = srv
	return l
}
