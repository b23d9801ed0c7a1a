package workshop

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	ws "github.com/quartierhub/quartierhub/internal/workshop"
)

// Live socket bounds (hub-server/api): what one message may carry.
const (
	maxSendEvents = 100
	maxSendBytes  = 60 << 10
	// maxPullPages bounds one catch-up: 100,000 events is the log's cap.
	maxPullPages = ws.MaxEventsPerLog/1000 + 1
)

// Run keeps the terminal's workshop in step with the hub until ctx ends:
// it asks which workshop runs (every ListInterval and whenever the live
// socket closes), pulls its events after the cursor, then holds the
// live socket, offering own events the hub has not stamped and taking
// the others' as they come. Failures back off with jitter; meanwhile
// the terminal works on with what it has.
func (e *Engine) Run(ctx context.Context) error {
	if e.opts.Hub == nil {
		<-ctx.Done()
		return nil
	}
	failures := 0
	for ctx.Err() == nil {
		idle, err := e.round(ctx)
		if ctx.Err() != nil {
			return nil
		}
		var wait time.Duration
		switch {
		case err != nil:
			failures++
			wait = e.jitter(min(e.opts.MaxBackoff, e.opts.MinBackoff<<min(failures-1, 16)))
			e.log.Debug("workshop sync failed", "err", err, "failures", failures, "retry_in", wait)
		case idle:
			failures, wait = 0, e.opts.ListInterval
		default:
			failures = 0 // the socket closed cleanly: at once
		}
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
			case <-t.C:
			case <-e.relist:
			}
			t.Stop()
		}
	}
	return nil
}

// round is one pass: list, pull, live. idle says no workshop runs here.
func (e *Engine) round(ctx context.Context) (idle bool, err error) {
	if err := e.list(ctx); err != nil {
		return false, err
	}
	e.mu.Lock()
	id := e.sh.Current
	e.mu.Unlock()
	if id == "" {
		return true, nil
	}
	if err := e.pull(ctx, id); err != nil {
		return false, err
	}
	e.mu.Lock()
	var cursor uint64
	if e.cur != nil && e.cur.info.ID == id {
		cursor = e.cur.cursor
	}
	e.mu.Unlock()
	live, err := e.opts.Hub.Live(ctx, id, cursor)
	if err != nil {
		return false, fmt.Errorf("workshop: live: %w", err)
	}
	defer live.Close()
	return false, e.session(ctx, id, live)
}

// list asks the hub which workshops run here and chooses what to show.
func (e *Engine) list(ctx context.Context) error {
	infos, err := e.opts.Hub.List(ctx)
	if err != nil {
		return fmt.Errorf("workshop: list: %w", err)
	}
	usable := infos[:0:0]
	for _, info := range infos {
		if !ws.ValidID(info.ID) {
			continue
		}
		if _, err := decodeSpec(info.Spec); err != nil {
			e.log.Warn("workshop: the hub's spec does not decode; skipped", "workshop", info.ID, "err", err)
			continue
		}
		usable = append(usable, info)
	}
	e.choose.Lock()
	defer e.choose.Unlock()
	e.mu.Lock()
	e.avail = usable
	sh := e.sh
	next, info := pick(sh, usable)
	same := info != nil && e.cur != nil && e.cur.info.ID == next && sameInfo(e.cur.info, *info)
	e.mu.Unlock()
	if next == sh.Current && (info == nil || same) {
		return nil // nothing new: no write, no event
	}
	return e.setShown(ctx, sh, next, info)
}

// pull fetches workshop id's events after the cursor until the hub has
// no more.
func (e *Engine) pull(ctx context.Context, id string) error {
	for range maxPullPages {
		e.mu.Lock()
		if e.cur == nil || e.cur.info.ID != id {
			e.mu.Unlock()
			return nil
		}
		cursor := e.cur.cursor
		e.mu.Unlock()
		page, err := e.opts.Hub.Events(ctx, id, cursor)
		if err != nil {
			return fmt.Errorf("workshop: pull: %w", err)
		}
		if err := e.apply(id, page.Events, page.Cursor); err != nil {
			return err
		}
		if !page.More || page.Cursor <= cursor {
			break
		}
	}
	e.mu.Lock()
	recovering := e.recovered
	var mine, guests uint64
	if c := e.cur; c != nil && c.info.ID == id {
		if dev, err := e.opts.Terminal(); err == nil {
			mine = e.peekSeq(c.eventList(), ws.DeviceTerminalPrefix+dev) - 1
			for _, v := range c.folded().Voters {
				if v.Device == ws.DeviceTerminalPrefix+dev {
					guests++ // every check-in here drew a number
				}
			}
		}
	}
	e.mu.Unlock()
	if recovering {
		// After a lost log, numbers continue after the hub's copy.
		if err := e.lf.raiseSeq(id, mine, guests); err != nil {
			return err
		}
		e.mu.Lock()
		e.recovered = false
		e.mu.Unlock()
	}
	return nil
}

// apply takes stamped events of workshop id from the hub (decoded by
// the client; one of another workshop or unstamped is skipped and
// logged), tells the clock, updates the log and folds again.
func (e *Engine) apply(id string, in []ws.Event, cursor uint64) error {
	evs := make([]ws.Event, 0, len(in))
	keep := make([][]byte, 0, len(in))
	for _, ev := range in {
		var raw []byte
		err := ev.Validate()
		if err == nil && (ev.Workshop != id || ev.HubSeq == 0) {
			err = errors.New("not a stamped event of this workshop")
		}
		if err == nil {
			raw, err = ws.Encode(ev)
		}
		if err != nil {
			e.log.Warn("workshop: event from the hub skipped", "workshop", id, "err", err)
			continue
		}
		e.clock.Observe(ev.HLC)
		evs = append(evs, ev)
		keep = append(keep, raw)
	}
	now := e.opts.Now()
	if err := e.lf.pulled(id, evs, keep, cursor, now); err != nil {
		return err
	}
	e.mu.Lock()
	c := e.cur
	if c == nil || c.info.ID != id {
		e.mu.Unlock()
		return nil
	}
	changed := cursor > c.cursor
	for _, ev := range evs {
		if old, have := c.events[ev.ID]; !have || old.HubSeq != ev.HubSeq {
			changed = true
		}
		c.events[ev.ID] = ev
		delete(c.raw, ev.ID) // kept for own events on their way only
		delete(c.own, ev.ID)
		delete(c.acked, ev.ID)
	}
	c.cursor = max(c.cursor, cursor)
	c.synced = now
	c.dirty = c.dirty || changed
	e.mu.Unlock()
	if changed {
		e.changed()
	}
	return nil
}

// session serves one live socket until it breaks, ctx ends or the
// workshop shown changes.
func (e *Engine) session(ctx context.Context, id string, live Live) error {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type got struct {
		m   LiveMessage
		err error
	}
	msgs := make(chan got, 1)
	go func() {
		for {
			m, err := live.Receive(sctx)
			select {
			case msgs <- got{m, err}:
			case <-sctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	e.setOnline(true)
	defer e.setOnline(false)
	e.mu.Lock()
	if e.cur != nil {
		clear(e.cur.acked)
	}
	e.mu.Unlock()
	if err := e.offer(sctx, id, live); err != nil {
		return err
	}
	relist := time.NewTicker(e.opts.ListInterval)
	defer relist.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case g := <-msgs:
			if g.err != nil {
				return fmt.Errorf("workshop: live: %w", g.err)
			}
			if err := e.received(sctx, id, g.m); err != nil {
				return err
			}
		case <-e.kick:
			if err := e.offer(sctx, id, live); err != nil {
				return err
			}
		case <-e.relist:
			if moved, err := e.moved(ctx, id); moved || err != nil {
				return err
			}
		case <-relist.C:
			if moved, err := e.moved(ctx, id); moved || err != nil {
				return err
			}
		}
	}
}

// moved lists again and reports whether the workshop shown changed.
func (e *Engine) moved(ctx context.Context, id string) (bool, error) {
	if err := e.list(ctx); err != nil {
		return false, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.sh.Current != id, nil
}

func (e *Engine) setOnline(on bool) {
	e.mu.Lock()
	was := e.online
	e.online = on
	e.mu.Unlock()
	if was != on {
		e.changed()
	}
}

// received handles one message from the hub.
func (e *Engine) received(ctx context.Context, id string, m LiveMessage) error {
	e.mu.Lock()
	if e.cur != nil && e.cur.info.ID == id {
		e.cur.synced = e.opts.Now() // the terminal heard from the hub
	}
	e.mu.Unlock()
	switch m.Type {
	case LiveEvents:
		e.mu.Lock()
		var cursor uint64
		if e.cur != nil && e.cur.info.ID == id {
			cursor = e.cur.cursor
		}
		e.mu.Unlock()
		if m.After > cursor {
			return e.pull(ctx, id) // missed some: the pull fills the gap
		}
		return e.apply(id, m.Events, m.Cursor)
	case LiveAck:
		e.mu.Lock()
		if e.cur != nil && e.cur.info.ID == id {
			for _, ack := range m.IDs {
				if e.cur.own[ack] {
					e.cur.acked[ack] = true
				}
			}
		}
		e.mu.Unlock()
	case LiveError:
		e.log.Warn("workshop: the hub refused a live message", "code", m.Code, "error", m.Error)
	}
	return nil
}

// offer sends the own events the hub has not acknowledged on this
// socket, in messages within the hub's bounds.
func (e *Engine) offer(ctx context.Context, id string, live Live) error {
	e.mu.Lock()
	c := e.cur
	if c == nil || c.info.ID != id {
		e.mu.Unlock()
		return nil
	}
	var pending []ws.Event
	for evID := range c.own {
		if !c.acked[evID] {
			pending = append(pending, c.events[evID])
		}
	}
	raws := map[string][]byte{}
	for _, ev := range pending {
		raws[ev.ID] = c.raw[ev.ID]
	}
	e.mu.Unlock()
	ordered := sortedEvents(toMap(pending))
	var batch []json.RawMessage
	size := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := live.Send(ctx, batch)
		batch, size = nil, 0
		if err != nil {
			return fmt.Errorf("workshop: live send: %w", err)
		}
		return nil
	}
	for _, ev := range ordered {
		raw := raws[ev.ID]
		if raw == nil {
			var err error
			if raw, err = encodeEvent(ev); err != nil {
				continue
			}
		}
		if len(batch) == maxSendEvents || size+len(raw) > maxSendBytes {
			if err := flush(); err != nil {
				return err
			}
		}
		batch = append(batch, raw)
		size += len(raw) + 1
	}
	return flush()
}

func sameInfo(a, b Info) bool {
	return a.ID == b.ID && a.Title == b.Title && a.Status == b.Status && a.JoinURL == b.JoinURL && bytes.Equal(a.Spec, b.Spec)
}

func toMap(evs []ws.Event) map[string]ws.Event {
	m := make(map[string]ws.Event, len(evs))
	for _, ev := range evs {
		m[ev.ID] = ev
	}
	return m
}
