package workshop

import (
	"context"
	"encoding/json"

	"github.com/quartierhub/quartierhub/kiosk/hubsync"
)

// HubClient is the engine's Hub over kiosk/hubsync's signed client.
func HubClient(c *hubsync.WorkshopClient) Hub { return hubClient{c} }

type hubClient struct{ c *hubsync.WorkshopClient }

func (h hubClient) List(ctx context.Context) ([]Info, error) { return h.c.List(ctx) }

func (h hubClient) Events(ctx context.Context, id string, after uint64) (Page, error) {
	p, err := h.c.Events(ctx, id, after)
	return Page{Events: p.Events, Cursor: p.Cursor, More: p.More}, err
}

func (h hubClient) Live(ctx context.Context, id string, after uint64) (Live, error) {
	l, err := h.c.Live(ctx, id, after)
	if err != nil {
		return nil, err
	}
	return liveConn{l}, nil
}

type liveConn struct{ l *hubsync.LiveConn }

func (l liveConn) Send(ctx context.Context, evs []json.RawMessage) error { return l.l.Send(ctx, evs) }
func (l liveConn) Close() error                                          { return l.l.Close() }

func (l liveConn) Receive(ctx context.Context) (LiveMessage, error) {
	m, err := l.l.Receive(ctx)
	return LiveMessage{Type: m.Type, Events: m.Events, After: m.After, Cursor: m.Cursor, IDs: m.IDs, Error: m.Error, Code: m.Code}, err
}
