package workshops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/internal/workshop"
)

// Act's events are committed in groups: while one group is folded and
// stored, the events acted meanwhile queue, and the next group takes
// them all, with one read of the log, one fold and one append. A fold
// costs in proportion to the log, so a burst of phones voting costs one
// fold per group rather than per dot.

// maxGroup bounds the events of one group.
const maxGroup = 500

// commitTimeout bounds storing a group; the group outlives the context
// of the Act that happened to lead it, for it carries others' events.
const commitTimeout = 30 * time.Second

type actRequest struct {
	ev    workshop.Event // unstamped
	at    time.Time
	audit store.Audit // set for moderators' events, which go in groups of one
	done  chan actResult
}

type actResult struct {
	ev  workshop.Event
	err error
}

func (r *actRequest) reply(ev workshop.Event, err error) { r.done <- actResult{ev, err} }

// enqueue adds r to e's queue and reports whether the caller leads:
// then it must drain the queue.
func (e *entry) enqueue(r *actRequest) (lead bool) {
	e.qmu.Lock()
	defer e.qmu.Unlock()
	e.queue = append(e.queue, r)
	if e.leading {
		return false
	}
	e.leading = true
	return true
}

// drain commits e's queue, group by group, until it is empty.
func (s *Service) drain(ctx context.Context, e *entry) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
	defer cancel()
	for {
		e.qmu.Lock()
		n := min(len(e.queue), maxGroup)
		if n == 0 {
			e.leading = false
			e.qmu.Unlock()
			return
		}
		batch := slices.Clone(e.queue[:n])
		e.queue = slices.Delete(e.queue, 0, n)
		e.qmu.Unlock()
		e.mu.Lock()
		// Moderators' events alone (each has its audit entry), the others
		// together, in the order they came.
		for len(batch) > 0 {
			k := 1
			if batch[0].audit.Action == "" {
				for k < len(batch) && batch[k].audit.Action == "" {
					k++
				}
			}
			s.commit(ctx, e, batch[:k])
			batch = batch[k:]
		}
		e.mu.Unlock()
	}
}

// commit folds reqs after the log (e.mu held), stores those the fold
// does not refuse and answers each request.
func (s *Service) commit(ctx context.Context, e *entry, reqs []*actRequest) {
	fail := func(err error) {
		for _, r := range reqs {
			r.reply(workshop.Event{}, err)
		}
	}
	sn, err := s.refreshLocked(ctx, e, false)
	if err != nil {
		fail(err)
		return
	}
	// An ended workshop is not closed to moderators: their tidying up
	// (reveal, late dots, moves, hides) goes on. A participant acting
	// through the hub is live and sees the end, so nothing of theirs is
	// taken as a late dot or idea (an offline terminal's still is).
	if sn.rec.Status == StatusEnded || sn.state.Ended {
		kept := reqs[:0:0]
		for _, r := range reqs {
			if strings.HasPrefix(r.ev.Actor, workshop.ActorModeratorPrefix) {
				kept = append(kept, r)
				continue
			}
			r.reply(workshop.Event{}, &Refused{Reason: workshop.ReasonNotOpen, Err: errors.New("the workshop has ended")})
		}
		if reqs = kept; len(reqs) == 0 {
			return
		}
	}
	// The trial puts the group at the next places in hub order, which it
	// gets unless another process or a terminal's upload comes first.
	next := sn.cursor() + 1
	evs := make([]workshop.Event, len(reqs))
	for i, r := range reqs {
		evs[i] = r.ev
		evs[i].Seq, evs[i].HubSeq = next+uint64(i), next+uint64(i)
	}
	trial := s.fold(e.id, sn.spec, append(slices.Clip(sn.events), evs...))
	refused := map[string]workshop.Reason{}
	for _, r := range trial.Refused {
		refused[r.Event] = r.Reason
	}
	var take []int
	rows := make([]store.WorkshopEvent, 0, len(reqs))
	for i, r := range reqs {
		if why, ok := refused[r.ev.ID]; ok {
			r.reply(workshop.Event{}, &Refused{Reason: why})
			continue
		}
		body, err := json.Marshal(r.ev) // Seq and HubSeq 0: the store stamps them
		if err != nil {
			r.reply(workshop.Event{}, fmt.Errorf("workshops: encode event: %w", err))
			continue
		}
		take = append(take, i)
		rows = append(rows, store.WorkshopEvent{ID: r.ev.ID, Workshop: e.id, Device: r.ev.Device, Body: body, ReceivedAt: r.at})
	}
	if len(take) == 0 {
		return
	}
	var audit store.Audit
	if len(reqs) == 1 {
		audit = reqs[0].audit
	}
	seqs, err := s.st.AppendWorkshopEvents(ctx, e.id, rows, audit)
	if err != nil {
		if errors.Is(err, store.ErrWorkshopFull) {
			err = &Refused{Reason: workshop.ReasonTooMany, Err: err}
		} else {
			err = fmt.Errorf("workshops: append: %w", err)
		}
		for _, i := range take {
			reqs[i].reply(workshop.Event{}, err)
		}
		return
	}
	s.m.appended.WithLabelValues("hub").Add(float64(len(seqs)))
	asTried := len(take) == len(reqs)
	for j, seq := range seqs {
		asTried = asTried && seq == next+uint64(j)
	}
	if asTried {
		// The trial is the state: keep it rather than fold again.
		ns := *sn
		ns.events = append(sn.events, evs...)
		ns.state = trial
		e.snap.Store(&ns)
		if err := s.syncStatus(ctx, e, &ns); err != nil {
			s.o.Logger.Error("workshop status", "workshop", e.id, "err", err)
		}
		e.publish(ns.cursor())
		for i, r := range reqs {
			r.reply(evs[i], nil)
		}
		return
	}
	after, err := s.refreshLocked(ctx, e, false)
	for j, i := range take {
		ev := reqs[i].ev
		ev.Seq, ev.HubSeq = seqs[j], seqs[j]
		switch {
		case err != nil:
			// Stored; the state could not be read back.
			reqs[i].reply(ev, nil)
		case refusalOf(after.state, ev.ID) != "":
			reqs[i].reply(ev, &Refused{Reason: refusalOf(after.state, ev.ID), Err: errors.New("refused after another append came first")})
		default:
			reqs[i].reply(ev, nil)
		}
	}
}
