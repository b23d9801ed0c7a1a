package terminalapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/oklog/ulid/v2"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/pgstore"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/teststores"
	"github.com/quartierhub/quartierhub/hub-server/internal/terminalapi"
	"github.com/quartierhub/quartierhub/hub-server/internal/workshops"
	"github.com/quartierhub/quartierhub/internal/testutil"
	"github.com/quartierhub/quartierhub/internal/workshop"
)

// wenv is a terminal API with the real workshop service on a real store.
type wenv struct {
	*env
	svc    *workshops.Service
	h      *terminalapi.Handler
	stop   context.CancelFunc // ends the handler's and the service's Run
	seq    map[string]uint64  // device sequence per terminal
	hlc    int64
	lead   string
	public string
}

func newWorkshopEnv(t testing.TB, o terminalapi.Opts) *wenv {
	t.Helper()
	// Under TestPostgres/ on PostgreSQL, the service listening for the
	// store's notifications; on SQLite elsewhere.
	var st store.Store
	var pgURL string
	if strings.HasPrefix(t.Name(), "TestPostgres/") {
		pgURL = teststores.PostgresURL(t)
		var err error
		if st, err = pgstore.Open(context.Background(), pgURL, pgstore.Opts{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
	} else {
		st = teststores.Open(t, teststores.SQLite)
	}
	e := &env{st: st}
	if tt, ok := t.(*testing.T); ok {
		e.t = tt
	}
	e.now.Store(t0.UnixNano())
	clock := func() time.Time { return time.Unix(0, e.now.Load()).UTC() }
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := workshops.New(st, workshops.Opts{Now: clock, Logger: quiet, PostgresURL: pgURL})
	o.Now, o.Logger = clock, quiet
	o.Workshops.Service = svc
	o.Workshops.PublicURL = "https://hub.example"
	h := terminalapi.New(st, o)
	ctx, cancel := context.WithCancel(context.Background())
	runs := make(chan error, 2)
	go func() { runs <- svc.Run(ctx) }()
	go func() { runs <- h.Run(ctx) }()
	e.srv = httptest.NewServer(h)
	t.Cleanup(func() {
		cancel()
		<-runs
		<-runs
		e.srv.Close()
	})
	return &wenv{env: e, svc: svc, h: h, stop: cancel, seq: map[string]uint64{}, hlc: t0.UnixMilli(), lead: workshops.ModeratorActor("lead"), public: "https://hub.example"}
}

// openWorkshop creates a workshop the terminals take part in, with
// phones, and opens its first phase (hub sequence 1).
func (w *wenv) openWorkshop(t testing.TB, terminals ...term) string {
	t.Helper()
	ctx := context.Background()
	spec := workshop.Spec{Title: "Elbwiesen", Question: "Was fehlt an den Elbwiesen?", Phones: true}
	for _, tm := range terminals {
		spec.Terminals = append(spec.Terminals, tm.id)
	}
	ws, err := w.svc.Create(ctx, spec, "lead")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.GoToPhase(ctx, ws.ID, w.lead, 0); err != nil {
		t.Fatal(err)
	}
	return ws.ID
}

// event is terminal tm's next event in workshop id: a guest checking in.
func (w *wenv) event(t testing.TB, tm term, id string) workshop.Event {
	t.Helper()
	w.seq[tm.id]++
	w.hlc++
	data, err := workshop.Encode(workshop.CheckIn{Via: workshop.ViaGuest, Label: fmt.Sprintf("Gast %d", w.seq[tm.id])})
	if err != nil {
		t.Fatal(err)
	}
	return workshop.Event{ID: ulid.Make().String(), Workshop: id, Device: workshop.DeviceTerminalPrefix + tm.id, Seq: w.seq[tm.id],
		HLC: workshop.HLC{Wall: w.hlc}, Actor: fmt.Sprintf("v:g%016x", w.hlc), Type: workshop.TypeCheckIn, Data: data}
}

func encoded(t testing.TB, ev workshop.Event) json.RawMessage {
	t.Helper()
	b, err := workshop.Encode(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func workshopRecord(t testing.TB, ev workshop.Event) api.Record {
	return api.Record{ID: ulid.Make().String(), Type: api.RecordWorkshopEvent, Class: api.ClassResident, CreatedAt: t0, Payload: encoded(t, ev)}
}

func (w *wenv) events(t testing.TB, tm term, id string, after uint64) (resp, api.WorkshopEvents) {
	t.Helper()
	r := w.do(w.signed(tm, "GET", api.WorkshopEventsPath(id)+"?after="+strconv.FormatUint(after, 10), nil, false))
	var out api.WorkshopEvents
	if r.status == 200 {
		if err := json.Unmarshal(r.body, &out); err != nil {
			t.Fatal(err)
		}
	}
	return r, out
}

func TestWorkshopListAndEvents(t *testing.T) {
	w := newWorkshopEnv(t, terminalapi.Opts{})
	a, b := w.enrolled("a"), w.enrolled("b")
	id := w.openWorkshop(t, a)
	other := w.openWorkshop(t, b)
	if _, err := w.svc.Create(context.Background(), workshop.Spec{Title: "Entwurf", Question: "?", Terminals: []string{a.id}}, "lead"); err != nil {
		t.Fatal(err)
	}

	r := w.do(w.signed(a, "GET", api.PathWorkshops, nil, false))
	var list api.WorkshopList
	if r.status != 200 || json.Unmarshal(r.body, &list) != nil {
		t.Fatalf("list: %d %s", r.status, r.body)
	}
	if len(list.Workshops) != 1 || list.Workshops[0].ID != id || list.Workshops[0].Status != api.WorkshopOpen ||
		!strings.HasPrefix(list.Workshops[0].JoinURL, w.public+"/w/") || list.Workshops[0].Title != "Elbwiesen" {
		t.Fatalf("a's list (one open workshop, not b's, not the draft): %s", r.body)
	}
	var spec workshop.Spec
	if err := json.Unmarshal(list.Workshops[0].Spec, &spec); err != nil || spec.Question == "" || len(spec.Phases) == 0 {
		t.Errorf("spec %s: %v", list.Workshops[0].Spec, err)
	}

	r, page := w.events(t, a, id, 0)
	if r.status != 200 || len(page.Events) != 1 || page.Cursor != 1 || page.More {
		t.Fatalf("events after 0: %d %s", r.status, r.body)
	}
	ev, err := workshop.DecodeEvent(page.Events[0])
	if err != nil || ev.HubSeq != 1 || ev.Type != workshop.TypePhase {
		t.Fatalf("first event %s: %v", page.Events[0], err)
	}
	if r, page := w.events(t, a, id, 1); r.status != 200 || len(page.Events) != 0 || page.Cursor != 1 {
		t.Errorf("events after the last: %d %s", r.status, r.body)
	}
	for _, path := range []string{api.WorkshopEventsPath(other), api.WorkshopEventsPath("nope"), api.WorkshopEventsPath(strings.Repeat("x", 65))} {
		if r := w.do(w.signed(a, "GET", path, nil, false)); r.status != 404 || r.errCode(t) != api.CodeNotFound {
			t.Errorf("%s: %d %s", path, r.status, r.body)
		}
	}
	for _, q := range []string{"?after=x", "?after=-1", "?after=1&after=2", "?before=3"} {
		if r := w.do(w.signed(a, "GET", api.WorkshopEventsPath(id)+q, nil, false)); r.status != 400 || r.errCode(t) != api.CodeBadRequest {
			t.Errorf("%s: %d %s", q, r.status, r.body)
		}
	}
	req, _ := http.NewRequest("GET", w.srv.URL+api.PathWorkshops, nil)
	if r := w.do(req); r.status != 401 {
		t.Errorf("unsigned list: %d", r.status)
	}

	// Once ended, a workshop leaves the list and takes no socket, but a
	// terminal that was away still pulls how it ended.
	if _, err := w.svc.GoToPhase(context.Background(), id, w.lead, -1); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, "the workshop ends", func() bool {
		r := w.do(w.signed(a, "GET", api.PathWorkshops, nil, false))
		return r.status == 200 && !strings.Contains(string(r.body), id)
	})
	if r, page := w.events(t, a, id, 1); r.status != 200 || len(page.Events) != 1 || !strings.Contains(string(page.Events[0]), `"index":-1`) {
		t.Errorf("events of the ended workshop: %d %s", r.status, r.body)
	}
	if _, res, err := w.dial(a, id, 1); err == nil || res == nil || res.StatusCode != 404 {
		t.Errorf("socket on the ended workshop: %v %v", res, err)
	}
}

// A page holds at most 1000 events and says whether more follow.
func TestWorkshopEventsPages(t *testing.T) {
	w := newWorkshopEnv(t, terminalapi.Opts{})
	a := w.enrolled("a")
	id := w.openWorkshop(t, a)
	var recs []api.Record
	for range api.MaxWorkshopEventsPage + 10 {
		recs = append(recs, workshopRecord(t, w.event(t, a, id)))
	}
	ack(t, w.post(a, recs, true))
	if stored, err := w.st.WorkshopEvents(context.Background(), id, 0, 0); err != nil || len(stored) != len(recs)+1 {
		t.Fatalf("store holds %d events, %v", len(stored), err)
	}
	// The service reads the log again once told (Advanced), not
	// necessarily before the upload is answered.
	var r resp
	var first api.WorkshopEvents
	testutil.Eventually(t, "the service sees the upload", func() bool {
		r, first = w.events(t, a, id, 0)
		return r.status != 200 || len(first.Events) > 1
	})
	if r.status != 200 || len(first.Events) != api.MaxWorkshopEventsPage || !first.More || first.Cursor != api.MaxWorkshopEventsPage {
		t.Fatalf("first page: %d events, cursor %d, more %v", len(first.Events), first.Cursor, first.More)
	}
	_, rest := w.events(t, a, id, first.Cursor)
	if len(rest.Events) != 11 || rest.More || rest.Cursor != api.MaxWorkshopEventsPage+11 {
		t.Fatalf("second page: %d events, cursor %d, more %v", len(rest.Events), rest.Cursor, rest.More)
	}
}

// Workshop events in a batch are checked like the live socket's: the
// whole batch is refused for one that is not the terminal's own valid
// event, and nothing of it is stored.
func TestWorkshopRecordsChecked(t *testing.T) {
	w := newWorkshopEnv(t, terminalapi.Opts{})
	a, b := w.enrolled("a"), w.enrolled("b")
	id := w.openWorkshop(t, a, b)

	good := workshopRecord(t, w.event(t, a, id))
	if got := ack(t, w.post(a, []api.Record{good, records(0, 1)[0]}, true)); got.Stored != 2 {
		t.Fatalf("good batch: %+v", got)
	}
	hubStamped := w.event(t, a, id)
	hubStamped.HubSeq = 7
	sensor := workshopRecord(t, w.event(t, a, id))
	sensor.Class = api.ClassSensor
	noActor := w.event(t, a, id)
	noActor.Actor = ""
	for name, rec := range map[string]api.Record{
		"b's event from a":  workshopRecord(t, w.event(t, b, id)),
		"hub's event":       workshopRecord(t, workshop.Event{ID: ulid.Make().String(), Workshop: id, Device: workshop.DeviceHub, Seq: 1, HLC: workshop.HLC{Wall: 1}, Actor: w.lead, Type: workshop.TypeLeave}),
		"stamped by itself": {ID: ulid.Make().String(), Type: api.RecordWorkshopEvent, Class: api.ClassResident, CreatedAt: t0, Payload: mustJSON(t, hubStamped)},
		"class sensor":      sensor,
		"no actor":          {ID: ulid.Make().String(), Type: api.RecordWorkshopEvent, Class: api.ClassResident, CreatedAt: t0, Payload: mustJSON(t, noActor)},
		"not an event":      {ID: ulid.Make().String(), Type: api.RecordWorkshopEvent, Class: api.ClassResident, CreatedAt: t0, Payload: json.RawMessage(`{"pm25":3}`)},
	} {
		r := w.post(a, []api.Record{records(1, 1)[0], rec}, true)
		if r.status != 400 || r.errCode(t) != api.CodeInvalidRecord || !strings.Contains(string(r.body), "record 1") {
			t.Errorf("%s: %d %s", name, r.status, r.body)
		}
	}
	if stored, err := w.st.WorkshopEvents(context.Background(), id, 0, 0); err != nil || len(stored) != 2 {
		t.Errorf("the log holds %d events (%v); want the phase and a's check-in", len(stored), err)
	}
	if n := w.stored(); n != 1 {
		t.Errorf("%d records stored; want the one sensor record of the good batch", n)
	}
}

// live is a terminal's socket as the test sees it.
type live struct {
	t    testing.TB
	conn *websocket.Conn
}

func (w *wenv) dial(tm term, id string, after uint64) (*live, *http.Response, error) {
	return w.dialWith(tm, id, after, &websocket.DialOptions{})
}

func (w *wenv) dialWith(tm term, id string, after uint64, o *websocket.DialOptions) (*live, *http.Response, error) {
	path := api.WorkshopLivePath(id) + "?after=" + strconv.FormatUint(after, 10)
	o.HTTPHeader = http.Header{"Authorization": {api.Sign(tm.priv, tm.id, "GET", path, w.clock(), nil)}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, res, err := websocket.Dial(ctx, w.srv.URL+path, o)
	if err != nil {
		return nil, res, err
	}
	conn.SetReadLimit(api.MaxLivePushBytes)
	return &live{conn: conn}, res, nil
}

func (w *wenv) mustDial(t testing.TB, tm term, id string, after uint64) *live {
	t.Helper()
	l, _, err := w.dial(tm, id, after)
	if err != nil {
		t.Fatal(err)
	}
	l.t = t
	t.Cleanup(func() { l.conn.CloseNow() })
	return l
}

// next reads the next message; an error ends the test.
func (l *live) next() api.LiveMessage {
	l.t.Helper()
	m, err := l.read()
	if err != nil {
		l.t.Fatal(err)
	}
	return m
}

func (l *live) read() (api.LiveMessage, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, b, err := l.conn.Read(ctx)
	if err != nil {
		return api.LiveMessage{}, err
	}
	return api.DecodeHubLive(b)
}

func (l *live) send(msg string) {
	l.t.Helper()
	if err := l.conn.Write(context.Background(), websocket.MessageText, []byte(msg)); err != nil {
		l.t.Fatal(err)
	}
}

func liveMsg(evs ...json.RawMessage) string {
	b, _ := json.Marshal(api.LiveMessage{Type: api.LiveEvents, Events: evs})
	return string(b)
}

func TestWorkshopLive(t *testing.T) {
	w := newWorkshopEnv(t, terminalapi.Opts{})
	a, b := w.enrolled("a"), w.enrolled("b")
	id := w.openWorkshop(t, a, b)

	// The catch-up after the cursor given.
	la := w.mustDial(t, a, id, 0)
	if m := la.next(); m.Type != api.LiveEvents || m.After != 0 || m.Cursor != 1 || len(m.Events) != 1 {
		t.Fatalf("catch-up: %+v", m)
	}

	// b's upload through the outbox reaches a's socket.
	bev := w.event(t, b, id)
	ack(t, w.post(b, []api.Record{workshopRecord(t, bev)}, true))
	if m := la.next(); m.Type != api.LiveEvents || m.After != 1 || m.Cursor != 2 || !strings.Contains(string(m.Events[0]), bev.ID) {
		t.Fatalf("push of b's upload: %+v", m)
	}

	// a's own events over the socket: acked, then pushed to both, stamped.
	lb := w.mustDial(t, b, id, 2)
	own1, own2 := w.event(t, a, id), w.event(t, a, id)
	la.send(liveMsg(encoded(t, own1), encoded(t, own2)))
	var acked []string
	var pushed []json.RawMessage
	for len(acked) < 2 || len(pushed) < 2 {
		switch m := la.next(); m.Type {
		case api.LiveAck:
			acked = append(acked, m.IDs...)
		case api.LiveEvents:
			pushed = append(pushed, m.Events...)
		default:
			t.Fatalf("unexpected %+v", m)
		}
	}
	if strings.Join(acked, ",") != own1.ID+","+own2.ID || !strings.Contains(string(pushed[1]), `"hub_seq":4`) {
		t.Fatalf("acked %v, pushed %s", acked, pushed)
	}
	if m := lb.next(); m.After != 2 || m.Cursor != 4 && m.Cursor != 3 {
		t.Fatalf("b's push: %+v", m)
	}
	// The same events again (the outbox's copy, a reconnect): acked, not stored twice.
	la.send(liveMsg(encoded(t, own1)))
	if m := la.next(); m.Type != api.LiveAck || len(m.IDs) != 1 || m.IDs[0] != own1.ID {
		t.Fatalf("repeat: %+v", m)
	}
	if stored, err := w.st.WorkshopEvents(context.Background(), id, 0, 0); err != nil || len(stored) != 4 {
		t.Errorf("the log holds %d events after a repeat (%v), want 4", len(stored), err)
	}

	// Refused messages are answered, and the socket stays.
	otherWorkshop := w.event(t, a, id)
	otherWorkshop.Workshop = "elsewhere"
	for name, msg := range map[string]string{
		"b's event":      liveMsg(encoded(t, w.event(t, b, id))),
		"other workshop": liveMsg(encoded(t, otherWorkshop)),
		"an ack":         `{"type":"ack","ids":["x"]}`,
		"not JSON":       `hello`,
		"no events":      `{"type":"events","events":[]}`,
	} {
		la.send(msg)
		if m := la.next(); m.Type != api.LiveError || m.Error == "" || m.Code == "" {
			t.Errorf("%s: %+v", name, m)
		}
	}

	// A message beyond the limit ends the socket (1009).
	la.send(liveMsg(json.RawMessage(`{"x":"` + strings.Repeat("a", api.MaxLiveMessageBytes) + `"}`)))
	for {
		_, err := la.read()
		if err != nil {
			if websocket.CloseStatus(err) != websocket.StatusMessageTooBig {
				t.Errorf("oversized message: %v", err)
			}
			break
		}
	}

	// A newer socket of b replaces the older.
	w.mustDial(t, b, id, 4)
	for {
		_, err := lb.read()
		if err != nil {
			if websocket.CloseStatus(err) != 4001 {
				t.Errorf("replaced socket: %v", err)
			}
			break
		}
	}
}

func TestWorkshopLiveRefused(t *testing.T) {
	w := newWorkshopEnv(t, terminalapi.Opts{})
	a, b := w.enrolled("a"), w.enrolled("b")
	id := w.openWorkshop(t, a)
	for name, tc := range map[string]struct {
		tm     term
		id     string
		status int
	}{
		"not taking part": {b, id, 404},
		"unknown":         {a, "nope", 404},
		"stranger's key":  {term{a.id, b.priv}, id, 401},
	} {
		_, res, err := w.dial(tc.tm, tc.id, 0)
		if err == nil || res == nil || res.StatusCode != tc.status {
			t.Errorf("%s: %v %v", name, res, err)
		}
	}
	// A plain GET is not an upgrade.
	if r := w.do(w.signed(a, "GET", api.WorkshopLivePath(id), nil, false)); r.status != http.StatusUpgradeRequired {
		t.Errorf("plain GET: %d %s", r.status, r.body)
	}
}

// The hub stopping closes the sockets with going away.
func TestWorkshopLiveHubStops(t *testing.T) {
	w := newWorkshopEnv(t, terminalapi.Opts{})
	a := w.enrolled("a")
	id := w.openWorkshop(t, a)
	l := w.mustDial(t, a, id, 1)
	w.stop()
	_, err := l.read()
	if websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Errorf("socket after the hub stopped: %v", err)
	}
	if _, res, err := w.dial(a, id, 1); err == nil || res == nil || res.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("dial after the stop: %v %v", res, err)
	}
}

// A terminal that answers no ping loses its socket.
func TestWorkshopLivePing(t *testing.T) {
	w := newWorkshopEnv(t, terminalapi.Opts{Workshops: terminalapi.WorkshopOpts{PingInterval: 50 * time.Millisecond}})
	a := w.enrolled("a")
	id := w.openWorkshop(t, a)
	l := w.mustDial(t, a, id, 1)
	// Reading answers pings: the socket stays through many intervals.
	w.svc.GoToPhase(context.Background(), id, w.lead, 1)
	if m := l.next(); m.Cursor != 2 {
		t.Fatalf("push: %+v", m)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	_, _, err := l.conn.Read(ctx)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a reading terminal's socket ended: %v", err)
	}
	// One that answers no ping loses its socket.
	quiet, _, err := w.dialWith(a, id, 2, &websocket.DialOptions{OnPingReceived: func(context.Context, []byte) bool { return false }})
	if err != nil {
		t.Fatal(err)
	}
	defer quiet.conn.CloseNow()
	if _, err := quiet.read(); err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a terminal that answers no ping kept its socket: %v", err)
	}
}
