package terminalapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/time/rate"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/internal/workshop"
)

// A workshop's live sockets share one subscription to the service and
// one encoded message per step of the log (a group): the hub reads the
// new events and marshals them once however many terminals follow the
// workshop, and each socket's writer sends those bytes. A socket that
// fell behind the group's recent messages (it just connected, or it is
// slow) reads and encodes its own catch-up, so a slow terminal costs
// only itself.

// Close codes of a live socket besides the standard ones.
const (
	// liveReplaced: the terminal opened a newer socket for the workshop.
	liveReplaced websocket.StatusCode = 4001
)

// liveRecent is how many of a group's recent messages its sockets may
// still take from it.
const liveRecent = 16

type liveKey struct{ terminal, workshop string }

// livePush is one encoded events message: the events after hub sequence
// after, up to cursor.
type livePush struct {
	after, cursor uint64
	msg           []byte
}

// liveHub holds the live sockets: one per terminal and workshop.
type liveHub struct {
	h       *Handler
	mu      sync.Mutex
	closed  bool // Run ended: no new sockets
	groups  map[string]*liveGroup
	sockets map[liveKey]*liveSocket
}

func newLiveHub(h *Handler) *liveHub {
	return &liveHub{h: h, groups: map[string]*liveGroup{}, sockets: map[liveKey]*liveSocket{}}
}

// Run serves live sockets until ctx ends, then closes them (going away):
// the server's shutdown does not reach connections taken over by a
// WebSocket.
func (h *Handler) Run(ctx context.Context) error {
	<-ctx.Done()
	h.live.mu.Lock()
	h.live.closed = true
	socks := make([]*liveSocket, 0, len(h.live.sockets))
	for _, s := range h.live.sockets {
		socks = append(socks, s)
	}
	h.live.mu.Unlock()
	for _, s := range socks {
		s.end(websocket.StatusGoingAway, "hub stopping")
	}
	return nil
}

func (l *liveHub) stopped() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closed
}

// liveGroup is one workshop's sockets in this hub process.
type liveGroup struct {
	hub      *liveHub
	workshop string
	cancel   func() // the subscription's, and the group's goroutine's

	mu      sync.Mutex
	members map[*liveSocket]struct{}
	recent  []livePush // oldest first, consecutive
	head    uint64     // the newest hub sequence the service told of
	known   bool       // head was told
}

// liveSocket is one terminal's socket on one workshop.
type liveSocket struct {
	key    liveKey
	conn   *websocket.Conn
	group  *liveGroup
	kick   chan struct{} // the group has more; one pending is enough
	cancel context.CancelFunc
	once   sync.Once
	sent   uint64 // the writer's: the hub sequence sent up to
}

// end closes the socket with code and reason, once.
func (s *liveSocket) end(code websocket.StatusCode, reason string) {
	s.once.Do(func() {
		// Close sends the close frame and waits a few seconds for the
		// peer's while the read loop reads it; then the socket's context
		// ends its goroutines.
		go func() {
			defer s.cancel()
			s.conn.Close(code, reason)
		}()
	})
}

func (s *liveSocket) poke() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// join adds s to its workshop's group and replaces the terminal's older
// socket there; false once the hub stops.
func (l *liveHub) join(s *liveSocket) (context.Context, bool) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil, false
	}
	// Not the request's context (taken over with the connection) nor
	// Run's: a socket ends by end, with the close code that says why.
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	old := l.sockets[s.key]
	l.sockets[s.key] = s
	g := l.groups[s.key.workshop]
	if g == nil {
		g = &liveGroup{hub: l, workshop: s.key.workshop, members: map[*liveSocket]struct{}{}}
		cursors, unsubscribe := l.h.o.Workshops.Service.Subscribe(s.key.workshop)
		gctx, stop := context.WithCancel(context.Background()) // ended by the last socket's leave
		g.cancel = func() { stop(); unsubscribe() }
		l.groups[s.key.workshop] = g
		go g.run(gctx, cursors)
	}
	s.group = g
	g.mu.Lock()
	g.members[s] = struct{}{}
	g.mu.Unlock()
	l.mu.Unlock()
	if old != nil {
		old.end(liveReplaced, "replaced by a newer socket")
	}
	return ctx, true
}

// leave removes s; the last socket of a workshop ends its group.
func (l *liveHub) leave(s *liveSocket) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sockets[s.key] == s {
		delete(l.sockets, s.key)
	}
	g := s.group
	g.mu.Lock()
	delete(g.members, s)
	empty := len(g.members) == 0
	g.mu.Unlock()
	if empty && l.groups[g.workshop] == g {
		delete(l.groups, g.workshop)
		g.cancel()
	}
}

// run follows the service's cursor for the group's workshop.
func (g *liveGroup) run(ctx context.Context, cursors <-chan uint64) {
	for {
		select {
		case <-ctx.Done():
			return
		case n, ok := <-cursors:
			if !ok { // the service stops, or has no room for another subscriber
				g.each(func(s *liveSocket) { s.end(websocket.StatusTryAgainLater, "no live updates now") })
				return
			}
			g.advance(ctx, n)
		}
	}
}

// advance reads and encodes the events up to hub sequence n, once for
// all the group's sockets, and wakes them.
func (g *liveGroup) advance(ctx context.Context, n uint64) {
	g.mu.Lock()
	head, known := g.head, g.known
	if !known {
		// Where the sockets are is their own business until the group
		// knows where it starts; they catch up by themselves.
		g.head, g.known = n, true
	}
	g.mu.Unlock()
	for known && head < n {
		evs, _, err := g.hub.h.o.Workshops.Service.Events(ctx, g.workshop, head, api.MaxLivePushEvents)
		if err != nil {
			if ctx.Err() == nil {
				g.hub.h.o.Logger.Warn("terminal api: workshop live events", "workshop", g.workshop, "err", err)
			}
			break
		}
		if len(evs) == 0 {
			break
		}
		p, err := encodePush(head, evs)
		if err != nil {
			g.hub.h.o.Logger.Error("terminal api: workshop live events", "workshop", g.workshop, "err", err)
			break
		}
		head = p.cursor
		g.mu.Lock()
		if len(g.recent) == liveRecent {
			g.recent = append(g.recent[:0:0], g.recent[1:]...)
		}
		g.recent = append(g.recent, p)
		g.head = max(g.head, head)
		g.mu.Unlock()
	}
	g.mu.Lock()
	g.head = max(g.head, n)
	g.mu.Unlock()
	g.each((*liveSocket).poke)
}

func (g *liveGroup) each(f func(*liveSocket)) {
	g.mu.Lock()
	socks := make([]*liveSocket, 0, len(g.members))
	for s := range g.members {
		socks = append(socks, s)
	}
	g.mu.Unlock()
	for _, s := range socks {
		f(s)
	}
}

// next returns the group's head and its message that follows hub
// sequence after, if it still holds it.
func (g *liveGroup) next(after uint64) (uint64, *livePush) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for i := range g.recent {
		if g.recent[i].after == after {
			return g.head, &g.recent[i]
		}
	}
	return g.head, nil
}

// encodePush encodes the events message for evs, which follow hub
// sequence after. Built by hand: the events are marshalled once each and
// not again as part of the envelope.
func encodePush(after uint64, evs []workshop.Event) (livePush, error) {
	buf := make([]byte, 0, 64+len(evs)*256)
	buf = append(buf, `{"type":"events","events":[`...)
	for i := range evs {
		if i > 0 {
			buf = append(buf, ',')
		}
		b, err := json.Marshal(&evs[i])
		if err != nil {
			return livePush{}, fmt.Errorf("encoding event %s: %w", evs[i].ID, err)
		}
		buf = append(buf, b...)
	}
	cursor := evs[len(evs)-1].HubSeq
	buf = append(buf, `],"after":`...)
	buf = strconv.AppendUint(buf, after, 10)
	buf = append(buf, `,"cursor":`...)
	buf = strconv.AppendUint(buf, cursor, 10)
	buf = append(buf, '}')
	return livePush{after: after, cursor: cursor, msg: buf}, nil
}

// workshopLive serves a terminal's live socket on a workshop.
func (h *Handler) workshopLive(w http.ResponseWriter, r *http.Request) {
	t, _ := TerminalFrom(r.Context())
	id := r.PathValue("id")
	after, err := cursorParam(r)
	if err != nil {
		h.refuse(w, r, http.StatusBadRequest, api.CodeBadRequest, err.Error(), t.ID)
		return
	}
	if !h.takesPart(w, r, t.ID, id, false) {
		return
	}
	if h.live.stopped() {
		h.overloaded(w)
		return
	}
	conn, err := websocket.Accept(w, r, nil)
	if err != nil {
		h.o.Logger.Info("terminal api: workshop live: upgrade", "terminal", t.ID, "err", err)
		return // Accept answered
	}
	conn.SetReadLimit(api.MaxLiveMessageBytes)
	s := &liveSocket{key: liveKey{terminal: t.ID, workshop: id}, conn: conn, kick: make(chan struct{}, 1), sent: after}
	ctx, ok := h.live.join(s)
	if !ok {
		conn.Close(websocket.StatusGoingAway, "hub stopping")
		return
	}
	defer h.live.leave(s)
	var wg sync.WaitGroup
	for _, loop := range []func(context.Context) error{s.writeLoop(h), s.readLoop(h), s.pingLoop(h)} {
		wg.Go(func() {
			err := loop(ctx)
			var ce websocket.CloseError
			switch {
			case err == nil, ctx.Err() != nil:
				s.end(websocket.StatusNormalClosure, "")
			case errors.As(err, &ce):
				s.end(ce.Code, "")
			case errors.Is(err, errRefused):
				s.end(websocket.StatusPolicyViolation, err.Error())
			default:
				h.o.Logger.Debug("terminal api: workshop live ended", "terminal", t.ID, "err", err)
				s.end(websocket.StatusInternalError, "")
			}
		})
	}
	wg.Wait()
}

var errRefused = errors.New("refused")

// writeLoop sends the events after what it sent, first its catch-up,
// then whenever the group has more.
func (s *liveSocket) writeLoop(h *Handler) func(context.Context) error {
	svc := h.o.Workshops.Service
	return func(ctx context.Context) error {
		catchingUp := true // until a short read: the socket's own start
		for {
			head, p := s.group.next(s.sent)
			switch {
			case p != nil:
				if err := s.write(ctx, h, p.msg); err != nil {
					return err
				}
				s.sent = p.cursor
				continue
			case catchingUp || s.sent < head:
				evs, more, err := svc.Events(ctx, s.key.workshop, s.sent, api.MaxLivePushEvents)
				if err != nil {
					return fmt.Errorf("workshop events: %w", err)
				}
				evs = evs[:min(len(evs), api.MaxLivePushEvents)]
				catchingUp = more
				if len(evs) > 0 {
					own, err := encodePush(s.sent, evs)
					if err != nil {
						return err
					}
					if err := s.write(ctx, h, own.msg); err != nil {
						return err
					}
					s.sent = own.cursor
					continue
				}
			}
			select {
			case <-ctx.Done():
				return nil
			case <-s.kick:
			}
		}
	}
}

func (s *liveSocket) write(ctx context.Context, h *Handler, msg []byte) error {
	wctx, cancel := context.WithTimeout(ctx, h.o.Workshops.WriteTimeout)
	defer cancel()
	return s.conn.Write(wctx, websocket.MessageText, msg)
}

// pingLoop pings every interval; a terminal that does not answer within
// one loses its socket.
func (s *liveSocket) pingLoop(h *Handler) func(context.Context) error {
	every := h.o.Workshops.PingInterval
	return func(ctx context.Context) error {
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-tick.C:
			}
			pctx, cancel := context.WithTimeout(ctx, every)
			err := s.conn.Ping(pctx)
			cancel()
			if err != nil {
				return fmt.Errorf("%w: no answer to a ping: %w", errRefused, err)
			}
		}
	}
}

// readLoop takes the terminal's events, a few messages a second at
// most: beyond that it reads later, and the terminal's writes wait.
func (s *liveSocket) readLoop(h *Handler) func(context.Context) error {
	return func(ctx context.Context) error {
		lim := rate.NewLimiter(api.LiveMessagesPerSecond, api.LiveMessagesBurst)
		for {
			if err := lim.Wait(ctx); err != nil {
				return nil
			}
			typ, b, err := s.conn.Read(ctx)
			if err != nil {
				return err
			}
			if typ != websocket.MessageText {
				return fmt.Errorf("%w: binary message; messages are JSON text", errRefused)
			}
			reply := s.take(ctx, h, b)
			if err := s.write(ctx, h, reply); err != nil {
				return err
			}
		}
	}
}

// take stores the events of a terminal's message and answers the ack,
// or the error that refused the message.
func (s *liveSocket) take(ctx context.Context, h *Handler, b []byte) []byte {
	m, err := api.DecodeTerminalLive(b)
	if err != nil {
		return liveError(api.CodeBadRequest, err.Error())
	}
	for i, raw := range m.Events {
		ev, err := terminalEvent(raw, s.key.terminal)
		if err == nil && ev.Workshop != s.key.workshop {
			err = fmt.Errorf("workshop %.64q is not this socket's", ev.Workshop)
		}
		if err != nil {
			return liveError(api.CodeInvalidRecord, fmt.Sprintf("event %d: %v", i, err))
		}
	}
	ids, err := h.o.Workshops.Service.Append(ctx, s.key.terminal, m.Events)
	if err != nil {
		if ctx.Err() == nil {
			h.o.Logger.Warn("terminal api: workshop live append", "terminal", s.key.terminal, "workshop", s.key.workshop, "err", err)
		}
		return liveError(api.CodeInternal, "events not stored; the outbox delivers them")
	}
	out, _ := json.Marshal(api.LiveMessage{Type: api.LiveAck, IDs: ids})
	return out
}

func liveError(code, msg string) []byte {
	out, _ := json.Marshal(api.LiveMessage{Type: api.LiveError, Code: code, Error: msg})
	return out
}

// terminalEvent decodes an event a terminal authored: valid, its own
// (device "t:" + its ID) and not yet stamped by the hub.
func terminalEvent(raw []byte, terminal string) (workshop.Event, error) {
	ev, err := workshop.DecodeEvent(raw)
	switch {
	case err != nil:
		return ev, err
	case ev.Device != workshop.DeviceTerminalPrefix+terminal:
		return ev, fmt.Errorf("device %.80q is not this terminal (%s%s)", ev.Device, workshop.DeviceTerminalPrefix, terminal)
	case ev.HubSeq != 0:
		return ev, errors.New("hub_seq is the hub's to set")
	}
	return ev, nil
}
