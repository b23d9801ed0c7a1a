package hubsync_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/oklog/ulid/v2"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/internal/fakehub"
	"github.com/quartierhub/quartierhub/internal/workshop"
	"github.com/quartierhub/quartierhub/kiosk/hubsync"
	"github.com/quartierhub/quartierhub/kiosk/outbox"
)

const testWorkshop = "W1"

// workshopRig is a fake hub with workshop W1, in which terminal T1 takes
// part, and T1's workshop client.
type workshopRig struct {
	hub  *fakehub.Hub
	c    *hubsync.WorkshopClient
	priv ed25519.PrivateKey // T1's key
	seq  uint64             // T1's device sequence
}

func newWorkshopRig(t *testing.T) *workshopRig {
	t.Helper()
	hub := fakehub.Start(t, fakehub.Opts{})
	priv := hub.NewTerminal("T1")
	hub.AddWorkshop(api.WorkshopInfo{ID: testWorkshop, Title: "Elbwiesen", JoinURL: "http://hub.test/w/ABC234",
		Spec: json.RawMessage(`{"title":"Elbwiesen","terminals":["T1"]}`)}, "T1")
	url := hub.URL()
	creds := func() (string, string, ed25519.PrivateKey, error) { return url, "T1", priv, nil }
	return &workshopRig{hub: hub, priv: priv, c: hubsync.NewWorkshopClient(creds, hubsync.WorkshopClientOpts{})}
}

// hubEvent is an event the console authored: joining opened or closed.
func hubEvent(t *testing.T, open bool) workshop.Event {
	t.Helper()
	data, err := workshop.Encode(workshop.Join{Open: open})
	if err != nil {
		t.Fatal(err)
	}
	return workshop.Event{ID: ulid.Make().String(), Workshop: testWorkshop, Device: workshop.DeviceHub,
		HLC: workshop.HLC{Wall: time.Now().UnixMilli()}, Actor: "m:lead", Type: workshop.TypeJoin, Data: data}
}

// ownEvent is T1's next event: a guest checking in, as the outbox holds it.
func (r *workshopRig) ownEvent(t *testing.T) json.RawMessage {
	t.Helper()
	r.seq++
	data, err := workshop.Encode(workshop.CheckIn{Via: workshop.ViaGuest, Label: fmt.Sprintf("Gast %d", r.seq)})
	if err != nil {
		t.Fatal(err)
	}
	b, err := workshop.Encode(workshop.Event{ID: ulid.Make().String(), Workshop: testWorkshop, Device: "t:T1", Seq: r.seq,
		HLC: workshop.HLC{Wall: time.Now().UnixMilli()}, Actor: fmt.Sprintf("v:g%016x", r.seq), Type: workshop.TypeCheckIn, Data: data})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestWorkshopListAndEvents(t *testing.T) {
	r := newWorkshopRig(t)
	ctx := context.Background()
	r.hub.NewTerminal("T2")
	r.hub.AddWorkshop(api.WorkshopInfo{ID: "W2", Title: "not for T1"}, "T2")
	list, err := r.c.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].ID != testWorkshop || list[0].Status != api.WorkshopOpen || list[0].JoinURL == "" {
		t.Fatalf("list: %+v", list)
	}
	var spec workshop.Spec
	if err := json.Unmarshal(list[0].Spec, &spec); err != nil || spec.Title != "Elbwiesen" {
		t.Errorf("spec %s: %v", list[0].Spec, err)
	}

	// A page, the rest after its cursor, and the pages of a long log.
	for range 3 {
		r.hub.AppendEvent(hubEvent(t, true))
	}
	page, err := r.c.Events(ctx, testWorkshop, 0)
	if err != nil || len(page.Events) != 3 || page.Cursor != 3 || page.More || page.Events[2].HubSeq != 3 || page.Events[0].Seq != 1 {
		t.Fatalf("events after 0: %+v, %v", page, err)
	}
	if page, err := r.c.Events(ctx, testWorkshop, 2); err != nil || len(page.Events) != 1 || page.Events[0].HubSeq != 3 || page.Cursor != 3 {
		t.Fatalf("events after 2: %+v, %v", page, err)
	}
	if page, err := r.c.Events(ctx, testWorkshop, 3); err != nil || len(page.Events) != 0 || page.Cursor != 3 || page.More {
		t.Fatalf("events after the last: %+v, %v", page, err)
	}
	for range api.MaxWorkshopEventsPage {
		r.hub.AppendEvent(hubEvent(t, false))
	}
	first, err := r.c.Events(ctx, testWorkshop, 0)
	if err != nil || len(first.Events) != api.MaxWorkshopEventsPage || !first.More || first.Cursor != api.MaxWorkshopEventsPage {
		t.Fatalf("first page of %d: %d events, cursor %d, more %v, %v", api.MaxWorkshopEventsPage+3, len(first.Events), first.Cursor, first.More, err)
	}
	rest, err := r.c.Events(ctx, testWorkshop, first.Cursor)
	if err != nil || len(rest.Events) != 3 || rest.More || rest.Cursor != api.MaxWorkshopEventsPage+3 {
		t.Fatalf("second page: %d events, cursor %d, more %v, %v", len(rest.Events), rest.Cursor, rest.More, err)
	}

	// A workshop the terminal does not take part in is not found.
	var he *hubsync.HubError
	if _, err := r.c.Events(ctx, "W2", 0); !errors.As(err, &he) || he.Status != 404 || he.Code != api.CodeNotFound {
		t.Errorf("another terminal's workshop: %v", err)
	}
	r.hub.EndWorkshop(testWorkshop)
	if list, err := r.c.List(ctx); err != nil || len(list) != 0 {
		t.Errorf("list after the workshop ended: %+v, %v", list, err)
	}
}

// receive waits for the next message of type typ, skipping others.
func receive(t *testing.T, l *hubsync.LiveConn, typ string) hubsync.LiveMessage {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		m, err := l.Receive(ctx)
		if err != nil {
			t.Fatalf("waiting for %s: %v", typ, err)
		}
		if m.Type == typ {
			return m
		}
	}
}

func TestWorkshopLive(t *testing.T) {
	r := newWorkshopRig(t)
	ctx := context.Background()
	r.hub.AppendEvent(hubEvent(t, true))
	r.hub.AppendEvent(hubEvent(t, false))

	// From after 1: the second event, then each new one.
	l, err := r.c.Live(ctx, testWorkshop, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if m := receive(t, l, api.LiveEvents); m.After != 1 || m.Cursor != 2 || len(m.Events) != 1 || m.Events[0].HubSeq != 2 {
		t.Fatalf("catch-up: %+v", m)
	}
	r.hub.AppendEvent(hubEvent(t, true))
	if m := receive(t, l, api.LiveEvents); m.After != 2 || m.Cursor != 3 || m.Events[0].Type != workshop.TypeJoin {
		t.Fatalf("push: %+v", m)
	}

	// Own events, more than one message holds: acked in parts, then pushed back stamped.
	var own []json.RawMessage
	for range api.MaxLiveEvents + 20 {
		own = append(own, r.ownEvent(t))
	}
	if err := l.Send(ctx, own); err != nil {
		t.Fatal(err)
	}
	var acked []string
	var pushed []workshop.Event
	for len(acked) < len(own) || len(pushed) < len(own) {
		m, err := l.Receive(ctx)
		if err != nil {
			t.Fatal(err)
		}
		switch m.Type {
		case api.LiveAck:
			acked = append(acked, m.IDs...)
		case api.LiveEvents:
			pushed = append(pushed, m.Events...)
		default:
			t.Fatalf("unexpected %+v", m)
		}
	}
	for i, raw := range own {
		var ev workshop.Event
		if err := json.Unmarshal(raw, &ev); err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(acked, ev.ID) || pushed[i].ID != ev.ID || pushed[i].HubSeq != uint64(4+i) {
			t.Fatalf("own event %d (%s): acked %v, pushed as %+v", i, ev.ID, slices.Contains(acked, ev.ID), pushed[i])
		}
	}
	if n := len(r.hub.WorkshopEvents(testWorkshop)); n != 3+len(own) {
		t.Errorf("hub holds %d events", n)
	}

	// Another device's event is refused with a reason; the socket stays.
	bad := hubEvent(t, true)
	bad.Seq = 1
	badRaw, _ := workshop.Encode(bad)
	if err := l.Send(ctx, []json.RawMessage{badRaw}); err != nil {
		t.Fatal(err)
	}
	if m := receive(t, l, api.LiveError); m.Code != api.CodeInvalidRecord || m.Error == "" {
		t.Errorf("hub-device event from a terminal: %+v", m)
	}

	// A newer socket replaces this one.
	l2, err := r.c.Live(ctx, testWorkshop, r.hub.WorkshopEvents(testWorkshop)[len(own)+2].HubSeq)
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for {
		_, err := l.Receive(rctx)
		if err == nil {
			continue
		}
		if websocket.CloseStatus(err) != hubsync.LiveReplaced {
			t.Errorf("the older socket ended with %v, want close status %d", err, hubsync.LiveReplaced)
		}
		break
	}

	// The hub going away ends the socket.
	r.hub.Stop()
	if _, err := l2.Receive(rctx); err == nil {
		t.Error("socket still open after the hub stopped")
	}
}

func TestWorkshopLiveRefused(t *testing.T) {
	r := newWorkshopRig(t)
	r.hub.AddWorkshop(api.WorkshopInfo{ID: "W2"}, "T2")
	var he *hubsync.HubError
	if _, err := r.c.Live(context.Background(), "W2", 0); !errors.As(err, &he) || he.Status != 404 {
		t.Errorf("another terminal's workshop: %v", err)
	}
	r.hub.Revoke("T1")
	if _, err := r.c.Live(context.Background(), testWorkshop, 0); !errors.As(err, &he) || he.Status != 401 || he.Code != api.CodeRevoked {
		t.Errorf("revoked terminal: %v", err)
	}
}

// A terminal's workshop events go through the outbox like any record;
// the hub refuses a batch with another device's event whole.
func TestWorkshopEventRecords(t *testing.T) {
	r := newWorkshopRig(t)
	ctx := context.Background()
	l, err := r.c.Live(ctx, testWorkshop, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	upload := func(terminal string, priv ed25519.PrivateKey, payload []byte) hubsync.RoundResult {
		ob, err := outbox.Open(filepath.Join(t.TempDir(), "outbox.db"), outbox.Opts{})
		if err != nil {
			t.Fatal(err)
		}
		defer ob.Close()
		if _, err := ob.Submit(ctx, api.RecordWorkshopEvent, outbox.ClassResident, payload); err != nil {
			t.Fatal(err)
		}
		url := r.hub.URL()
		s := hubsync.New(ob, func() (string, string, ed25519.PrivateKey, error) { return url, terminal, priv, nil },
			hubsync.Opts{Logger: slog.New(slog.DiscardHandler), Interval: 2 * time.Hour, QuickRetries: -1})
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- s.Run(rctx) }()
		defer func() { cancel(); <-done }()
		return s.SyncNow(ctx)
	}
	if res := upload("T1", r.priv, r.ownEvent(t)); res.Err != nil || res.Sent != 1 {
		t.Fatalf("upload: %+v", res)
	}
	if m := receive(t, l, api.LiveEvents); len(m.Events) != 1 || m.Events[0].HubSeq != 1 || m.Events[0].Device != "t:T1" {
		t.Fatalf("pushed after the upload: %+v", m)
	}
	upload("T2", r.hub.NewTerminal("T2"), r.ownEvent(t))
	if n := len(r.hub.WorkshopEvents(testWorkshop)); n != 1 {
		t.Errorf("T2 uploaded T1's event: the hub holds %d events", n)
	}
}
