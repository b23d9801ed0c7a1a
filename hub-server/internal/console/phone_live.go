package console

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/coder/websocket"

	"github.com/quartierhub/quartierhub/hub-server/internal/workshops"
)

// The live socket (/w/CODE/live) is an acceleration, never the source of
// truth: the page works without it. When the socket is lost phone.js says
// so on the page and reconnects (0.5 s doubling to 5 s, with jitter); the
// first message of every new socket is the whole current view, so a
// phone that was away misses nothing. The server pushes the guest's phoneView as
// {"type":"view","view":{…}} when the socket opens and whenever the
// workshop's log advances and the view changed; the client sends
// nothing (a data message closes the socket). Sockets are capped per
// guest, per client network and in all (PhoneOpts.Sockets*).
const (
	phoneLivePing  = 25 * time.Second // keeps proxies from closing an idle socket
	phoneLiveWrite = 10 * time.Second // a phone that takes longer to read is dropped
)

// phoneLiveMsg is what the server pushes.
type phoneLiveMsg struct {
	Type string    `json:"type"` // "view"
	View phoneView `json:"view"`
}

func (c *Console) phoneLive(w http.ResponseWriter, r *http.Request) {
	v, ok := c.phoneWorkshop(w, r)
	if !ok {
		return
	}
	g, ok := c.guestFrom(r)
	if !ok {
		http.Error(w, "no guest cookie: open the workshop's page first", http.StatusForbidden)
		return
	}
	network := c.clientNet(r)
	if !c.phone.openSocket(g.Key, network) {
		w.Header().Set("Retry-After", "30")
		http.Error(w, "too many live connections", http.StatusTooManyRequests)
		return
	}
	defer c.phone.closeSocket(g.Key, network)
	// Accept refuses an Origin other than this host: a page of another
	// site cannot open a socket with the guest's cookie.
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{CompressionMode: websocket.CompressionDisabled})
	if err != nil {
		return // Accept has answered
	}
	defer conn.CloseNow()
	ctx := conn.CloseRead(r.Context())
	lang := c.phoneLang(r, v.State.Spec)
	events, cancel := c.phone.o.Workshops.Subscribe(v.Workshop.ID)
	defer cancel()
	ping := time.NewTicker(phoneLivePing)
	defer ping.Stop()
	// The voter is fixed for the socket's life: derived once, not per push.
	voter := workshops.PhoneVoter(v.Workshop.ID, g.Key)
	var last []byte
	send := func(v workshops.View) bool {
		view := buildPhoneViewAs(v, voter, phoneBaseOf(v, lang), lang, c.o.Now())
		b, err := json.Marshal(phoneLiveMsg{Type: "view", View: view})
		if err != nil {
			c.o.Logger.Error("console: phone live view", "err", err)
			return false
		}
		if bytes.Equal(b, last) {
			return true
		}
		last = b
		wctx, done := context.WithTimeout(ctx, phoneLiveWrite)
		defer done()
		return conn.Write(wctx, websocket.MessageText, b) == nil
	}
	if !send(v) {
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case _, open := <-events:
			if !open {
				conn.Close(websocket.StatusGoingAway, "")
				return
			}
			nv, err := c.phone.o.Workshops.Get(ctx, v.Workshop.ID)
			if err != nil {
				if ctx.Err() == nil {
					c.o.Logger.Warn("console: phone live", "err", err)
					conn.Close(websocket.StatusInternalError, "")
				}
				return
			}
			if nv.State == nil {
				continue
			}
			if !send(nv) {
				return
			}
		case <-ping.C:
			pctx, done := context.WithTimeout(ctx, phoneLiveWrite)
			err := conn.Ping(pctx)
			done()
			if err != nil {
				return
			}
		}
	}
}
