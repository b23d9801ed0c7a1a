package workshops

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/internal/workshop"
)

// pageSize is how many events one read of the log takes.
const pageSize = 1000

// View is a workshop as it stands: its record and its folded state.
// Both are shared: callers must not change them.
type View struct {
	Workshop store.Workshop
	State    *workshop.State
}

// snapshot is what readers of an entry see, replaced whole on change.
type snapshot struct {
	rec    store.Workshop
	recAt  time.Time // when rec was read
	spec   workshop.Spec
	events []workshop.Event // stamped, in HubSeq order; never changed in place
	state  *workshop.State
	// gen is the entry's generation when the refresh that made this
	// snapshot began: a snapshot older than the entry's is not fresh.
	gen uint64
}

func (sn *snapshot) cursor() uint64 {
	if len(sn.events) == 0 {
		return 0
	}
	return sn.events[len(sn.events)-1].HubSeq
}

// entry is one cached workshop and its subscribers.
type entry struct {
	id string
	// mu serializes reading the log, appending and folding, so the
	// cursors published are monotonic.
	mu   sync.Mutex
	snap atomic.Pointer[snapshot] // nil until loaded
	// gen grows whenever the log may have grown elsewhere (Advanced) or
	// a refresh failed. A generation rather than a flag, so that a reader
	// arriving while a refresh runs cannot take the snapshot from before
	// the refresh for a fresh one.
	gen      atomic.Uint64
	lastUsed atomic.Int64 // unix nanoseconds

	// joinMu serializes phones checking in (JoinPhone).
	joinMu sync.Mutex

	// Act's queue (commit.go).
	qmu     sync.Mutex
	queue   []*actRequest
	leading bool

	subsMu sync.Mutex
	subs   map[*subscriber]struct{}
}

// entry returns the cache entry of id, making an unloaded one if needed.
func (s *Service) entry(id string) *entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.entries[id]
	if e == nil {
		e = &entry{id: id, subs: map[*subscriber]struct{}{}}
		s.entries[id] = e
		s.m.cached.Set(float64(len(s.entries)))
	}
	e.lastUsed.Store(s.o.Now().UnixNano())
	return e
}

// Get returns the workshop as it stands (store.ErrNotFound wrapped when
// there is none).
func (s *Service) Get(ctx context.Context, id string) (View, error) {
	sn, err := s.current(ctx, s.entry(id))
	if err != nil {
		s.dropIfUnloaded(id)
		return View{}, err
	}
	return View{Workshop: sn.rec, State: sn.state}, nil
}

// GetByCode returns the workshop with a join code as a person typed it
// (store.ErrNotFound wrapped when there is none).
func (s *Service) GetByCode(ctx context.Context, typed string) (View, error) {
	code, ok := NormalizeJoinCode(typed)
	if !ok {
		return View{}, fmt.Errorf("workshops: join code: %w", store.ErrNotFound)
	}
	w, err := s.st.WorkshopByJoinCode(ctx, code)
	if err != nil {
		return View{}, fmt.Errorf("workshops: join code: %w", err)
	}
	return s.Get(ctx, w.ID)
}

// Events returns up to limit (at most 1,000) stored events of the
// workshop after HubSeq after, in hub order, and whether more follow.
func (s *Service) Events(ctx context.Context, id string, after uint64, limit int) ([]workshop.Event, bool, error) {
	sn, err := s.current(ctx, s.entry(id))
	if err != nil {
		s.dropIfUnloaded(id)
		return nil, false, err
	}
	if limit <= 0 || limit > pageSize {
		limit = pageSize
	}
	// HubSeq is gapless from 1: the event after after sits at index after.
	evs := sn.events
	i, _ := slices.BinarySearchFunc(evs, after+1, func(e workshop.Event, seq uint64) int {
		switch {
		case e.HubSeq < seq:
			return -1
		case e.HubSeq > seq:
			return 1
		}
		return 0
	})
	end := min(i+limit, len(evs))
	return slices.Clip(evs[i:end]), end < len(evs), nil
}

// current returns e's snapshot, loading it or reading what the log
// gained when it is out of date, and reading the record again when it is old.
func (s *Service) current(ctx context.Context, e *entry) (*snapshot, error) {
	if sn := s.fresh(e); sn != nil {
		return sn, nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	// Readers that queued here behind one refresh take its result.
	if sn := s.fresh(e); sn != nil {
		return sn, nil
	}
	return s.refreshLocked(ctx, e, false)
}

// fresh returns e's snapshot if it needs no refresh, else nil.
func (s *Service) fresh(e *entry) *snapshot {
	sn := e.snap.Load()
	if sn != nil && sn.gen == e.gen.Load() && s.o.Now().Sub(sn.recAt) < s.o.RecordFor {
		return sn
	}
	return nil
}

// refreshLocked brings e up to the store (e.mu held): the record when
// old (or forced), the events after the cursor, a new fold when either
// changed, the record's status when the fold opened or ended the
// workshop; and tells subscribers of a new cursor.
func (s *Service) refreshLocked(ctx context.Context, e *entry, forceRecord bool) (*snapshot, error) {
	old := e.snap.Load()
	now := s.o.Now()
	gen := e.gen.Load()
	next := &snapshot{}
	if old != nil {
		*next = *old
	}
	next.gen = gen
	recChanged := false
	if old == nil || forceRecord || now.Sub(old.recAt) >= s.o.RecordFor {
		rec, err := s.st.Workshop(ctx, e.id)
		if err != nil {
			e.gen.Add(1)
			return nil, fmt.Errorf("workshops: %s: %w", e.id, err)
		}
		next.rec, next.recAt = rec, now
		if old == nil || rec.Version != old.rec.Version {
			if next.spec, err = decodeSpec(rec.Spec); err != nil {
				return nil, err
			}
			recChanged = true
		}
	}
	added, err := s.readAfter(ctx, e.id, next.cursor())
	if err != nil {
		e.gen.Add(1)
		return nil, err
	}
	if len(added) > 0 {
		next.events = append(next.events, added...)
	}
	if recChanged || len(added) > 0 || next.state == nil {
		next.state = s.fold(e.id, next.spec, next.events)
	}
	e.snap.Store(next)
	if next.state != nil {
		if err := s.syncStatus(ctx, e, next); err != nil {
			s.o.Logger.Error("workshop status", "workshop", e.id, "err", err)
		}
	}
	if old == nil || next.cursor() != old.cursor() {
		e.publish(next.cursor())
	}
	return e.snap.Load(), nil
}

// readAfter reads the events stored after cursor, all pages.
func (s *Service) readAfter(ctx context.Context, id string, cursor uint64) ([]workshop.Event, error) {
	var out []workshop.Event
	for {
		rows, err := s.st.WorkshopEvents(ctx, id, cursor, pageSize)
		if err != nil {
			return nil, fmt.Errorf("workshops: %s: events: %w", id, err)
		}
		for _, r := range rows {
			if r.HubSeq != cursor+1 {
				return nil, fmt.Errorf("workshops: %s: events: hub sequence %d after %d", id, r.HubSeq, cursor)
			}
			cursor = r.HubSeq
			ev, err := workshop.DecodeEvent(r.Body)
			if err != nil {
				// Stored by this hub, so only a newer binary's event could
				// fail; it is left out of the fold, the cursor moves on.
				s.o.Logger.Error("stored workshop event unreadable", "workshop", id, "hub_seq", r.HubSeq, "err", err)
				continue
			}
			ev.HubSeq = r.HubSeq
			out = append(out, ev)
		}
		if len(rows) < pageSize {
			return out, nil
		}
	}
}

// fold folds events (shared, never changed) into a new state.
func (s *Service) fold(id string, spec workshop.Spec, events []workshop.Event) *workshop.State {
	start := time.Now()
	st := workshop.Fold(id, spec, slices.Clip(events))
	s.m.foldSeconds.Observe(time.Since(start).Seconds())
	return st
}

// syncStatus keeps the record's status in step with the fold: open once
// a phase began, ended once the workshop closed. Another process may do
// the same at the same moment; the compare-and-swap lets one win.
func (s *Service) syncStatus(ctx context.Context, e *entry, sn *snapshot) error {
	want, action := sn.rec.Status, ""
	switch {
	case sn.state.Ended && sn.rec.Status != StatusEnded:
		want, action = StatusEnded, ActionEnd
	case sn.state.PhaseIndex >= 0 && sn.rec.Status == StatusDraft:
		want, action = StatusOpen, ActionOpen
	}
	if action == "" {
		return nil
	}
	w := sn.rec
	now := s.o.Now().UTC()
	w.Status, w.UpdatedAt = want, now
	_, err := s.st.UpdateWorkshop(ctx, w, store.Audit{At: now, Actor: SystemActor, Action: action, Subject: "workshop:" + e.id})
	if err != nil && !errors.Is(err, store.ErrVersionConflict) {
		return err
	}
	// Read the record again (also after losing the race) on next use.
	rec, rerr := s.st.Workshop(ctx, e.id)
	if rerr != nil {
		return rerr
	}
	next := *sn
	next.rec, next.recAt = rec, s.o.Now()
	e.snap.Store(&next)
	return nil
}

// forgetRecord makes the next use of id read its record again.
func (s *Service) forgetRecord(id string) {
	s.mu.Lock()
	e := s.entries[id]
	s.mu.Unlock()
	if e == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if sn := e.snap.Load(); sn != nil {
		next := *sn
		next.recAt = time.Time{}
		e.snap.Store(&next)
	}
}

// dropIfUnloaded removes id's entry when it never loaded (no such
// workshop) and nobody subscribed, so misses do not fill the cache.
func (s *Service) dropIfUnloaded(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.entries[id]
	if e == nil || e.snap.Load() != nil || e.subscribers() > 0 {
		return
	}
	delete(s.entries, id)
	s.m.cached.Set(float64(len(s.entries)))
}

// evict drops entries idle for IdleAfter and, beyond MaxCached, the
// least recently used; never one with subscribers.
func (s *Service) evict() {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.o.Now().UnixNano()
	type use struct {
		id string
		at int64
	}
	var free []use
	for id, e := range s.entries {
		if e.subscribers() > 0 {
			continue
		}
		at := e.lastUsed.Load()
		if now-at >= int64(s.o.IdleAfter) {
			delete(s.entries, id)
			continue
		}
		free = append(free, use{id, at})
	}
	if over := len(s.entries) - s.o.MaxCached; over > 0 {
		slices.SortFunc(free, func(a, b use) int { return cmp.Compare(a.at, b.at) })
		for _, u := range free[:min(over, len(free))] {
			delete(s.entries, u.id)
		}
	}
	s.m.cached.Set(float64(len(s.entries)))
}

// Evict drops idle workshops from the cache now (Run does it every
// Opts.Poll).
func (s *Service) Evict() { s.evict() }
