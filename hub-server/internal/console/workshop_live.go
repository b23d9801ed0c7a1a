package console

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/coder/websocket"
)

// liveFragments are the parts of each page the live socket renders
// again: the same templates the page itself is made of.
var liveFragments = map[string][]string{
	"workshop_run":       {"ws-status", "ws-counts", "ws-inbox", "ws-moderation", "ws-voting", "ws-terminals"},
	"workshop_cluster":   {"ws-counts", "ws-board"},
	"workshop_projector": {"ws-projector", "ws-pj-qr"},
}

// liveRefresh is how often the socket sends the view unasked, for the
// terminals' state and the session check.
const liveRefresh = 15 * time.Second

// liveWriteTimeout bounds one message to a slow browser.
const liveWriteTimeout = 10 * time.Second

// liveEvery is the least time between two views on one socket: a busy
// workshop's changes coalesce into one render rather than one each.
const liveEvery = 100 * time.Millisecond

// maxStaffLive bounds the staff's live sockets on this hub process; each
// renders the page again on every change. Beyond it a page still works
// and reloads by hand.
const maxStaffLive = 64

// liveMessage is what the socket sends: the numbers, and the page's
// fragments rendered as on the page (HTML, escaped by the templates).
type liveMessage struct {
	Type     string            `json:"type"` // "view"
	Cursor   uint64            `json:"cursor"`
	Phase    int               `json:"phase"`
	Ended    bool              `json:"ended"`
	EndsAt   int64             `json:"ends_at"`
	Counts   workshopCounts    `json:"counts"`
	Revealed bool              `json:"revealed"`
	HTML     map[string]string `json:"html"`
}

// workshopLive is the staff pages' live socket (?page=run, cluster or
// projector). The guard has checked the session and the role; the
// socket library refuses an Origin other than this host. It sends the
// page's view on every change of the workshop (coalesced) and every
// liveRefresh, and ends when the session does. It reads nothing.
func (c *Console) workshopLive(w http.ResponseWriter, r *http.Request) {
	page := "workshop_" + r.URL.Query().Get("page")
	frags, ok := liveFragments[page]
	if !ok {
		c.fail(w, r, http.StatusNotFound, msg("error.no_such_page"))
		return
	}
	v, ok := c.workshopOf(w, r)
	if !ok {
		return
	}
	if !sameOrigin(r) {
		c.fail(w, r, http.StatusForbidden, msg("error.form_stale"))
		return
	}
	select {
	case c.liveSlots <- struct{}{}:
		defer func() { <-c.liveSlots }()
	default:
		c.fail(w, r, http.StatusTooManyRequests, msg("workshops.error.live_full"))
		return
	}
	id := r.PathValue("id")
	p := principalFrom(r.Context())
	lang := c.lang(r, p, false)
	if page == "workshop_projector" {
		lang = c.projectorLang(r, v.State.Spec)
	}
	conn, err := websocket.Accept(w, r, nil)
	if err != nil {
		c.o.Logger.Info("console: workshop live refused", "err", err)
		return
	}
	defer conn.CloseNow()
	updates, cancel := c.o.Workshops.Subscribe(id)
	defer cancel()
	// The page sends nothing; CloseRead answers pings and notices the close.
	ctx := conn.CloseRead(context.WithoutCancel(r.Context()))
	tick := time.NewTicker(liveRefresh)
	defer tick.Stop()
	var fleet fleetCache
	// The page names the cursor it was rendered at. A view goes out when
	// the workshop moved on from what the page shows, and every
	// liveRefresh (the terminals' state): re-rendering an unchanged page
	// would only take the nodes from under the moderator's pointer.
	shown, _ := strconv.ParseUint(r.URL.Query().Get("cursor"), 10, 64)
	refresh := false
	for {
		sent := time.Now()
		m, err := c.liveView(ctx, r, id, page, lang, frags, &fleet)
		if err != nil {
			c.o.Logger.Warn("console: workshop live view", "err", err)
			conn.Close(websocket.StatusInternalError, "view")
			return
		}
		if refresh || m.Cursor != shown {
			if err := c.liveSend(ctx, conn, m); err != nil {
				return
			}
			shown = m.Cursor
		}
		refresh = false
		select {
		case <-ctx.Done():
			return
		case _, ok := <-updates:
			if !ok {
				conn.Close(websocket.StatusGoingAway, "")
				return
			}
			if wait := liveEvery - time.Since(sent); wait > 0 {
				select {
				case <-ctx.Done():
					return
				case <-time.After(wait):
				}
			}
		case <-tick.C:
			refresh = true
			if p, err := c.authenticated(r); err != nil || p == nil {
				conn.Close(websocket.StatusPolicyViolation, "session ended")
				return
			}
		}
	}
}

func (c *Console) liveSend(ctx context.Context, conn *websocket.Conn, m liveMessage) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, liveWriteTimeout)
	defer cancel()
	return conn.Write(wctx, websocket.MessageText, b)
}

// liveView renders a page's fragments for the workshop as it is now.
func (c *Console) liveView(ctx context.Context, r *http.Request, id, page, lang string, frags []string, fleet *fleetCache) (liveMessage, error) {
	v, err := c.o.Workshops.Get(ctx, id)
	if err != nil {
		return liveMessage{}, fmt.Errorf("console: live: %w", err)
	}
	if v.State == nil {
		return liveMessage{}, errors.New("console: live: no state")
	}
	d, err := c.runData(ctx, r, v, fleet)
	if err != nil {
		return liveMessage{}, fmt.Errorf("console: live: %w", err)
	}
	m := liveMessage{Type: "view", Cursor: v.State.Cursor, Phase: v.State.PhaseIndex, Ended: v.State.Ended, EndsAt: d.EndsAt,
		Counts: d.Counts, Revealed: d.Round != nil && d.Round.Revealed, HTML: map[string]string{}}
	t := c.pages.m[lang][page]
	p := principalFrom(r.Context())
	vw := &view{Data: d, Lang: lang, User: &p.user, CSRF: p.session.CSRF}
	for _, f := range frags {
		var buf bytes.Buffer
		if err := t.ExecuteTemplate(&buf, f, vw); err != nil {
			return m, fmt.Errorf("console: live %s: %w", f, err)
		}
		m.HTML[f] = buf.String()
	}
	return m, nil
}
