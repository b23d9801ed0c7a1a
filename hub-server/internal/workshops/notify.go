package workshops

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/internal/workshop"
)

// NotifyChannel is the PostgreSQL channel the store notifies, with the
// workshop's ID as payload, when it appends workshop events.
const NotifyChannel = "qh_workshop"

// subscriber holds the latest cursor not yet taken: a buffer of one
// that a newer cursor replaces, so publishing never waits and a slow
// reader misses only intermediate cursors, never the latest.
type subscriber struct{ ch chan uint64 }

// offer puts cursor in s's buffer, replacing an older one. Callers hold
// the entry's subsMu, so cursors only grow.
func (s *subscriber) offer(cursor uint64) {
	for {
		select {
		case s.ch <- cursor:
			return
		default:
		}
		select {
		case <-s.ch:
		default:
		}
	}
}

func (e *entry) subscribers() int {
	e.subsMu.Lock()
	defer e.subsMu.Unlock()
	return len(e.subs)
}

// publish tells every subscriber of e the new cursor.
func (e *entry) publish(cursor uint64) {
	e.subsMu.Lock()
	defer e.subsMu.Unlock()
	for s := range e.subs {
		s.offer(cursor)
	}
}

// Subscribe returns a channel that receives the workshop's cursor (its
// highest HubSeq) whenever events were appended, at once with the
// current one when the workshop is cached, and a cancel func to call
// when done. Notifications coalesce: a subscriber that reads slowly
// misses intermediate cursors but always gets the latest; the
// publisher never waits. The channel is closed at once when the
// workshop already has Opts.MaxSubscribers subscribers (try again later).
func (s *Service) Subscribe(workshopID string) (<-chan uint64, func()) {
	e := s.entry(workshopID)
	sub := &subscriber{ch: make(chan uint64, 1)}
	e.subsMu.Lock()
	if len(e.subs) >= s.o.MaxSubscribers {
		e.subsMu.Unlock()
		close(sub.ch)
		return sub.ch, func() {}
	}
	e.subs[sub] = struct{}{}
	if sn := e.snap.Load(); sn != nil {
		sub.offer(sn.cursor())
	}
	e.subsMu.Unlock()
	s.m.subscribers.Inc()
	done := false
	return sub.ch, func() {
		e.subsMu.Lock()
		defer e.subsMu.Unlock()
		if !done {
			done = true
			delete(e.subs, sub)
			s.m.subscribers.Dec()
		}
		e.lastUsed.Store(s.o.Now().UnixNano())
	}
}

// Advanced says the workshops' logs grew outside this service (a
// terminal's upload, another process): their cached events are read
// again on next use, and Run reads them now and tells their
// subscribers. It never blocks.
func (s *Service) Advanced(workshopIDs ...string) {
	s.mu.Lock()
	for _, id := range workshopIDs {
		if e := s.entries[id]; e != nil {
			e.gen.Add(1)
			s.dirty[id] = true
		}
	}
	n := len(s.dirty)
	s.mu.Unlock()
	if n > 0 {
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
}

// Run reads the logs Advanced named and tells their subscribers, polls
// the workshops with subscribers every Opts.Poll (Opts.ListeningPoll
// while PostgreSQL's notifications arrive), evicts idle workshops and,
// with PostgreSQL, listens for other processes' appends; until ctx ends
// (then it returns nil).
func (s *Service) Run(ctx context.Context) error {
	if s.o.PostgresURL != "" {
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.listen(ctx)
		}()
		defer wg.Wait()
	}
	poll := time.NewTicker(s.o.Poll)
	defer poll.Stop()
	var retry <-chan time.Time
	var lastPoll time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.kick:
			if s.refreshDirty(ctx) && retry == nil {
				retry = time.After(retryAfter)
			}
		case <-retry:
			retry = nil
			s.mu.Lock()
			n := len(s.dirty)
			s.mu.Unlock()
			if n > 0 && s.refreshDirty(ctx) {
				retry = time.After(retryAfter)
			}
		case now := <-poll.C:
			s.evict()
			if s.Listening() && now.Sub(lastPoll) < s.o.ListeningPoll {
				continue
			}
			lastPoll = now
			s.Advanced(s.subscribed()...)
		}
	}
}

// subscribed lists the workshops with subscribers.
func (s *Service) subscribed() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for id, e := range s.entries {
		if e.subscribers() > 0 {
			ids = append(ids, id)
		}
	}
	return ids
}

// retryAfter is how soon a workshop whose log could not be read is
// read again.
const retryAfter = time.Second

// refreshDirty reads what the logs Advanced named gained. It reports
// whether a read failed; those workshops stay marked for a retry.
func (s *Service) refreshDirty(ctx context.Context) (failed bool) {
	s.mu.Lock()
	ids := make([]string, 0, len(s.dirty))
	for id := range s.dirty {
		ids = append(ids, id)
	}
	clear(s.dirty)
	s.mu.Unlock()
	for _, id := range ids {
		if ctx.Err() != nil {
			return false
		}
		if err := s.refreshNow(ctx, id); err != nil {
			if ctx.Err() == nil {
				s.o.Logger.Error("workshop refresh", "workshop", id, "err", err)
			}
			s.mu.Lock()
			s.dirty[id] = true
			s.mu.Unlock()
			failed = true
		}
	}
	return failed
}

// listen keeps a connection LISTENing on NotifyChannel and passes each
// notification to Advanced; after a lost connection it connects again
// (backing off up to 30 s) and marks every cached workshop advanced,
// for what it missed.
func (s *Service) listen(ctx context.Context) {
	backoff := time.Second
	for ctx.Err() == nil {
		listening, err := s.listenOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		if listening {
			backoff = time.Second
		}
		s.o.Logger.Warn("workshop notifications lost; reconnecting", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

func (s *Service) listenOnce(ctx context.Context) (listening bool, err error) {
	// The URL is the store's: pgxpool's parser takes its pool_* settings
	// out, which a single connection would send to the server.
	cfg, err := pgxpool.ParseConfig(s.o.PostgresURL)
	if err != nil {
		return false, fmt.Errorf("workshops: listen: %w", err)
	}
	conn, err := pgx.ConnectConfig(ctx, cfg.ConnConfig)
	if err != nil {
		return false, fmt.Errorf("workshops: listen: connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+NotifyChannel); err != nil {
		return false, fmt.Errorf("workshops: listen: %w", err)
	}
	s.m.listening.Set(1)
	s.listening.Store(true)
	defer func() {
		s.m.listening.Set(0)
		s.listening.Store(false)
	}()
	// What was appended while not listening.
	s.Advanced(s.cachedIDs()...)
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return true, fmt.Errorf("workshops: listen: %w", err)
		}
		if n.Channel == NotifyChannel && len(n.Payload) <= workshop.MaxIDLen {
			s.Advanced(n.Payload)
		}
	}
}

// cachedIDs lists the cached workshops.
func (s *Service) cachedIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, 0, len(s.entries))
	for id := range s.entries {
		ids = append(ids, id)
	}
	return ids
}

// Listening reports whether Run currently listens for PostgreSQL's
// notifications (tests wait for it).
func (s *Service) Listening() bool { return s.listening.Load() }

// OnAppend is the store's hook (store.Workshops.OnWorkshopAppend): a
// terminal's upload advanced workshops. The service's own appends
// refresh their workshops already.
func (s *Service) OnAppend(a store.WorkshopAppend) {
	if a.Terminal != "" && len(a.Workshops) > 0 {
		s.Advanced(a.Workshops...)
	}
}
