package hubsync

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/kiosk/outbox"
)

// round sends batches until the outbox is empty or something fails; with
// nothing to send for a while it pings the hub instead. The status says
// how it went.
func (s *Syncer) round(ctx context.Context) RoundResult {
	s.markAttempt()
	hub, err := s.connect()
	if err != nil {
		return RoundResult{Err: err}
	}
	res := s.drain(ctx, hub)
	if res.Err == nil && res.Batches == 0 && s.idle() {
		// Make sure the hub is there and still knows us, so an idle
		// terminal does not report a hub it has not seen.
		res.Err = s.ping(ctx, hub.url(api.PathPing), hub.terminalID, hub.key)
	}
	s.recordRound(res)
	return res
}

// hubTarget is where a round sends, and as whom.
type hubTarget struct {
	base       string // the hub's URL without a trailing slash
	terminalID string
	key        ed25519.PrivateKey
}

func (h hubTarget) url(path string) string { return h.base + path }

func (s *Syncer) markAttempt() {
	now := s.opts.Now()
	s.mu.Lock()
	s.status.LastAttempt = now
	s.mu.Unlock()
}

// connect reads the terminal's credentials; without them the round ends
// as not enrolled, which is no failure of the hub's.
func (s *Syncer) connect() (hubTarget, error) {
	hubURL, terminalID, key, err := s.creds()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.status.Enrolled = false
		s.status.LastError = err.Error()
		return hubTarget{}, fmt.Errorf("%w: %v", ErrNotEnrolled, err)
	}
	s.status.Enrolled = true
	return hubTarget{base: strings.TrimRight(hubURL, "/"), terminalID: terminalID, key: key}, nil
}

// idle reports whether the hub has not answered for PingInterval.
func (s *Syncer) idle() bool {
	return s.opts.Now().Sub(s.lastContact()) >= s.opts.PingInterval
}

// recordRound puts a round's outcome into the status.
func (s *Syncer) recordRound(res RoundResult) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status.SentRecords += int64(res.Sent)
	s.status.SentBatches += int64(res.Batches)
	var he *hubError
	switch {
	case res.Err == nil:
		s.status.Reachable = true
		s.status.Unauthorized = false
		s.status.LastSuccess = s.contact
		s.status.LastError = ""
		s.status.Failures = 0
	case errors.As(res.Err, &he):
		s.status.Reachable = true // it answered
		s.status.Unauthorized = he.status == http.StatusUnauthorized
		s.status.LastError = res.Err.Error()
		s.status.Failures++
	default:
		s.status.Reachable = false
		s.status.LastError = res.Err.Error()
		s.status.Failures++
	}
}

// drain sends the outbox in priority order, up to Opts.InFlight batches
// at once, until it is empty or something fails.
func (s *Syncer) drain(ctx context.Context, hub hubTarget) RoundResult {
	p := &pipeline{s: s, ctx: ctx, hub: hub, target: hub.url(api.PathRecords)}
	for p.err == nil && ctx.Err() == nil {
		recs := p.peek()
		if len(recs) == 0 || !p.send(recs) {
			break
		}
		if len(p.inflight) >= s.opts.InFlight {
			p.landOldest()
		}
		p.restartIfOutranked()
	}
	p.landAll()
	p.fail(ctx.Err())
	p.res.Err = p.err
	return p.res
}

// pipeline is one drain: the batches in flight, oldest first, and where
// the next batch starts.
type pipeline struct {
	s      *Syncer
	ctx    context.Context
	hub    hubTarget
	target string

	inflight []flight
	cursor   outbox.Record // the last record sent; the next batch follows it
	err      error         // the first failure: the drain stops sending
	res      RoundResult
}

// flight is a batch on its way to the hub.
type flight struct {
	recs []outbox.Record
	ids  []string
	done chan error
}

// fail keeps err if it is the first failure.
func (p *pipeline) fail(err error) {
	if err != nil && p.err == nil {
		p.err = err
	}
}

// peek returns the next batch after the cursor, nil if there is none or
// the outbox failed.
func (p *pipeline) peek() []outbox.Record {
	recs, err := p.s.q.PeekAfter(p.ctx, p.cursor, p.s.opts.MaxBatchRecords, p.s.opts.MaxBatchBytes)
	if err != nil {
		p.fail(fmt.Errorf("hubsync: %w", err))
		return nil
	}
	if len(recs) > 0 {
		p.cursor = recs[len(recs)-1]
	}
	return recs
}

// send puts recs on their way; false if they could not be encoded.
func (p *pipeline) send(recs []outbox.Record) bool {
	body, err := encodeBatch(recs)
	if err != nil {
		p.fail(err)
		return false
	}
	f := flight{recs: recs, ids: make([]string, len(recs)), done: make(chan error, 1)}
	for i, r := range recs {
		f.ids[i] = r.ID
	}
	go func() { f.done <- p.s.post(p.ctx, p.target, p.hub.terminalID, p.hub.key, body) }()
	p.inflight = append(p.inflight, f)
	return true
}

// restartIfOutranked: a new record may outrank what is being drained, so
// once what is in flight has landed the drain starts over from the top.
func (p *pipeline) restartIfOutranked() {
	select {
	case <-p.s.q.Notify():
		p.landAll()
		p.cursor = outbox.Record{}
	default:
	}
}

func (p *pipeline) landOldest() {
	p.land(p.inflight[0])
	p.inflight = p.inflight[1:]
}

func (p *pipeline) landAll() {
	for _, f := range p.inflight {
		p.land(f)
	}
	p.inflight = nil
}

// land waits for f's answer: acknowledged records leave the outbox; a
// batch the hub refuses for what it contains is taken apart (isolate).
func (p *pipeline) land(f flight) {
	err := <-f.done
	if permanent(err) {
		sent, batches, ierr := p.s.isolate(p.ctx, p.target, p.hub.terminalID, p.hub.key, f.recs)
		p.res.Sent += sent
		p.res.Batches += batches
		p.fail(ierr)
		return
	}
	if err == nil {
		if aerr := p.s.q.Ack(p.ctx, f.ids); aerr != nil {
			err = fmt.Errorf("hubsync: ack: %w", aerr)
		}
	}
	if err != nil {
		p.fail(err)
		return
	}
	p.res.Sent += len(f.ids)
	p.res.Batches++
}
