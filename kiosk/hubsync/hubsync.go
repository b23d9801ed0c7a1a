// Package hubsync sends the outbox to the hub: batches bounded by count and
// bytes, gzip-compressed and signed with the terminal's key, in the
// outbox's priority order. A record is deleted from the outbox only after
// the hub acknowledged the batch that carried it; the hub stores batches
// transactionally and idempotently, so a batch that was stored but whose
// answer was lost is simply sent again and acknowledged as duplicates.
//
// Failures back off exponentially with full jitter (randomness injectable);
// 429 and 503 answers are honoured with their Retry-After. Requests go
// through github.com/hashicorp/go-retryablehttp, which retries a few times
// quickly and re-signs each retry; the Syncer's own loop then waits longer.
// Nothing is kept in memory that a restart would need: after a crash the
// records are still in the outbox and the next round sends them.
package hubsync

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/kiosk/outbox"
)

// Queue is what the Syncer needs of the outbox.
type Queue interface {
	// PeekAfter returns records in priority order that come after the
	// position of after (the zero Record: from the start).
	PeekAfter(ctx context.Context, after outbox.Record, maxRecords, maxBytes int) ([]outbox.Record, error)
	Ack(ctx context.Context, ids []string) error
	// SetAside keeps records the hub refused for good out of the queue.
	SetAside(ctx context.Context, ids []string, reason string) error
	Notify() <-chan struct{}
}

// Credentials says who the terminal is; ok is false before enrolment.
type Credentials func() (hubURL, terminalID string, key ed25519.PrivateKey, err error)

// Opts configures a Syncer. Zero values take the documented defaults.
type Opts struct {
	// MaxBatchRecords bounds one batch. Default 2000, at most api.MaxBatchRecords.
	MaxBatchRecords int
	// MaxBatchBytes bounds the payload bytes of one batch. Default 2 MiB.
	MaxBatchBytes int
	// InFlight is how many batches may be on their way at once, so the hub
	// decodes one while it stores another. Default 2.
	InFlight int
	// Interval is how often an idle Syncer looks anyway. Default 30s.
	Interval time.Duration
	// MinBackoff and MaxBackoff bound the wait after a failed round.
	// Defaults 1s and 5m.
	MinBackoff, MaxBackoff time.Duration
	// PingInterval: an idle terminal checks that its hub answers at least
	// this often. Default 5m.
	PingInterval time.Duration
	// RequestTimeout bounds one HTTP request. Default 60s.
	RequestTimeout time.Duration
	// QuickRetries are retryablehttp's immediate retries per request.
	// Default 2; negative means none.
	QuickRetries int
	// HTTPClient is the transport, e.g. with the hub's CA. Default: pooled.
	HTTPClient *http.Client
	// Now and Rand are injectable for tests. Defaults time.Now and a
	// randomly seeded source.
	Now  func() time.Time
	Rand *rand.Rand
	// After waits like time.After; tests make long outages instant.
	After  func(time.Duration) <-chan time.Time
	Logger *slog.Logger
}

func (o *Opts) setDefaults() {
	if o.MaxBatchRecords <= 0 || o.MaxBatchRecords > api.MaxBatchRecords {
		o.MaxBatchRecords = min(2000, api.MaxBatchRecords)
	}
	if o.MaxBatchBytes <= 0 {
		o.MaxBatchBytes = 2 << 20
	}
	if o.InFlight <= 0 {
		o.InFlight = 2
	}
	if o.Interval <= 0 {
		o.Interval = 30 * time.Second
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 5 * time.Minute
	}
	if o.PingInterval <= 0 {
		o.PingInterval = 5 * time.Minute
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = 60 * time.Second
	}
	if o.QuickRetries == 0 {
		o.QuickRetries = 2
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Rand == nil {
		o.Rand = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	if o.After == nil {
		o.After = time.After
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Status is what the Syncer knows about its hub.
type Status struct {
	Enrolled     bool      `json:"enrolled"`
	Reachable    bool      `json:"hub_reachable"`
	LastAttempt  time.Time `json:"last_attempt,omitzero"`
	LastSuccess  time.Time `json:"last_sync,omitzero"`
	LastError    string    `json:"last_error,omitempty"`
	Failures     int       `json:"consecutive_failures"`
	NextAttempt  time.Time `json:"next_attempt,omitzero"`
	SentRecords  int64     `json:"sent_records"`
	SentBatches  int64     `json:"sent_batches"`
	Duplicates   int64     `json:"duplicates"`
	Unauthorized bool      `json:"unauthorized"`
	SetAside     int64     `json:"set_aside"`
}

// RoundResult is the outcome of one sync round.
type RoundResult struct {
	Sent    int
	Batches int
	Err     error
}

// Syncer moves records from the outbox to the hub. Create it with New and
// call Run.
type Syncer struct {
	q     Queue
	creds Credentials
	opts  Opts
	http  *retryablehttp.Client

	kick chan chan RoundResult
	// wake tells a waiting Run that the interval changed.
	wake chan struct{}

	mu       sync.Mutex
	status   Status
	interval time.Duration // the idle interval now; Opts.Interval until SetInterval
	contact  time.Time     // last time the hub answered a request with success
	rndMu    sync.Mutex
}

// New returns a Syncer for q.
func New(q Queue, creds Credentials, opts Opts) *Syncer {
	opts.setDefaults()
	s := &Syncer{q: q, creds: creds, opts: opts, kick: make(chan chan RoundResult, 8), wake: make(chan struct{}, 1), interval: opts.Interval}
	hc := retryablehttp.NewClient()
	if opts.HTTPClient != nil {
		hc.HTTPClient = opts.HTTPClient
	}
	hc.HTTPClient.Timeout = opts.RequestTimeout
	hc.RetryMax = opts.QuickRetries
	hc.RetryWaitMin = 200 * time.Millisecond
	hc.RetryWaitMax = 5 * time.Second
	hc.Backoff = s.backoff
	hc.Logger = nil
	// Each quick retry is signed afresh, so its timestamp stays current.
	hc.PrepareRetry = s.sign
	// Return the last response instead of a generic "giving up" error,
	// so the round can read the hub's reason and Retry-After.
	hc.ErrorHandler = retryablehttp.PassthroughErrorHandler
	s.http = hc
	return s
}

// Status returns a snapshot of the sync state.
func (s *Syncer) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status
}

// SetInterval changes how often an idle Syncer looks, from now on: a wait
// already under way is shortened or lengthened to end at its start plus d
// (at once if that has passed). d <= 0 restores Opts.Interval. A backoff
// after a failure is not changed. Safe to call from any goroutine.
func (s *Syncer) SetInterval(d time.Duration) {
	if d <= 0 {
		d = s.opts.Interval
	}
	s.mu.Lock()
	changed := s.interval != d
	s.interval = d
	s.mu.Unlock()
	if !changed {
		return
	}
	select {
	case s.wake <- struct{}{}:
	default: // a wake-up is already pending; it reads the newest interval
	}
}

// Interval returns the idle interval in use.
func (s *Syncer) Interval() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.interval
}

// SyncNow asks for a round now and waits for its result.
func (s *Syncer) SyncNow(ctx context.Context) RoundResult {
	reply := make(chan RoundResult, 1)
	select {
	case s.kick <- reply:
	case <-ctx.Done():
		return RoundResult{Err: ctx.Err()}
	}
	select {
	case r := <-reply:
		return r
	case <-ctx.Done():
		return RoundResult{Err: ctx.Err()}
	}
}

// Run syncs until ctx ends. It returns nil then.
func (s *Syncer) Run(ctx context.Context) error {
	var waiters []chan RoundResult
	wait := time.Duration(0)
	failures := 0
	for {
		if wait > 0 {
			start := s.opts.Now()
			s.mu.Lock()
			s.status.NextAttempt = start.Add(wait)
			s.mu.Unlock()
			// One timer for the whole wait: new records arriving while the
			// hub fails must neither cut the backoff short nor restart it.
			timer := s.opts.After(wait)
		waiting:
			for {
				select {
				case <-ctx.Done():
					return nil
				case w := <-s.kick:
					waiters = append(waiters, w)
					break waiting
				case <-s.q.Notify():
					if failures == 0 {
						break waiting
					}
				case <-s.wake:
					if failures > 0 {
						continue // a backoff keeps its length
					}
					// The idle wait now ends at its start plus the new interval.
					end := start.Add(s.Interval())
					left := end.Sub(s.opts.Now())
					if left <= 0 {
						break waiting
					}
					s.mu.Lock()
					s.status.NextAttempt = end
					s.mu.Unlock()
					timer = s.opts.After(left)
				case <-timer:
					break waiting
				}
			}
		}
		waiters = append(waiters, s.drainKicks()...)
		res := s.round(ctx)
		for _, w := range waiters {
			w <- res
		}
		waiters = nil
		if ctx.Err() != nil {
			return nil
		}
		if res.Err != nil {
			failures++
			wait = s.retryWait(res.Err, failures)
			s.opts.Logger.Warn("sync failed", "err", res.Err, "failures", failures, "retry_in", wait.Round(time.Millisecond))
		} else {
			failures = 0
			wait = s.Interval()
		}
	}
}

func (s *Syncer) drainKicks() []chan RoundResult {
	var ws []chan RoundResult
	for {
		select {
		case w := <-s.kick:
			ws = append(ws, w)
		default:
			return ws
		}
	}
}

// hubError is a refusal from the hub with its status and advice.
type hubError struct {
	status     int
	code       string
	msg        string
	retryAfter time.Duration
}

func (e *hubError) Error() string {
	return fmt.Sprintf("hub answered %d %s: %s", e.status, e.code, e.msg)
}

// ErrNotEnrolled: there is no identity to sync with.
var ErrNotEnrolled = errors.New("hubsync: terminal is not enrolled")

// retryWait is the pause after the failures-th failed round.
func (s *Syncer) retryWait(err error, failures int) time.Duration {
	var he *hubError
	if errors.As(err, &he) && he.retryAfter > 0 {
		return min(he.retryAfter, s.opts.MaxBackoff)
	}
	if errors.Is(err, ErrNotEnrolled) {
		return s.Interval()
	}
	return s.jitter(s.opts.MinBackoff, s.opts.MaxBackoff, failures-1)
}

// jitter is exponential backoff with full jitter: uniform in [base/2, base]
// where base doubles per attempt, so a fleet coming back does not
// stampede the hub in lockstep.
func (s *Syncer) jitter(lo, hi time.Duration, attempt int) time.Duration {
	base := lo
	for i := 0; i < attempt && base < hi; i++ {
		base *= 2
	}
	base = min(base, hi)
	s.rndMu.Lock()
	defer s.rndMu.Unlock()
	return base/2 + time.Duration(s.opts.Rand.Int64N(int64(base/2)+1))
}

// backoff is retryablehttp's wait between quick retries.
func (s *Syncer) backoff(lo, hi time.Duration, attempt int, resp *http.Response) time.Duration {
	if resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
		if d, ok := retryAfter(resp, s.opts.Now()); ok {
			return min(d, hi)
		}
	}
	return s.jitter(lo, hi, attempt)
}

// permanent reports whether the hub refused a batch for what it contains
// (400 invalid, 413 too large), which no retry can change.
func permanent(err error) bool {
	var he *hubError
	return errors.As(err, &he) && (he.status == http.StatusBadRequest || he.status == http.StatusRequestEntityTooLarge)
}

// isolate sends recs in halves until every record is either stored or, on
// its own, refused for good; those are set aside with the hub's reason.
func (s *Syncer) isolate(ctx context.Context, target, terminalID string, key ed25519.PrivateKey, recs []outbox.Record) (sent, batches int, err error) {
	body, err := encodeBatch(recs)
	if err != nil {
		return 0, 0, err
	}
	ids := make([]string, len(recs))
	for i, r := range recs {
		ids[i] = r.ID
	}
	perr := s.post(ctx, target, terminalID, key, body)
	switch {
	case perr == nil:
		if err := s.q.Ack(ctx, ids); err != nil {
			return 0, 0, fmt.Errorf("hubsync: ack: %w", err)
		}
		return len(recs), 1, nil
	case !permanent(perr):
		return 0, 0, perr
	case len(recs) == 1:
		s.opts.Logger.Warn("hub refused a record for good; set aside", "type", recs[0].Type, "err", perr)
		if err := s.q.SetAside(ctx, ids, perr.Error()); err != nil {
			return 0, 0, fmt.Errorf("hubsync: %w", err)
		}
		s.mu.Lock()
		s.status.SetAside++
		s.mu.Unlock()
		return 0, 0, nil
	}
	half := len(recs) / 2
	s1, b1, err := s.isolate(ctx, target, terminalID, key, recs[:half])
	if err != nil {
		return s1, b1, err
	}
	s2, b2, err := s.isolate(ctx, target, terminalID, key, recs[half:])
	return s1 + s2, b1 + b2, err
}

func encodeBatch(recs []outbox.Record) ([]byte, error) {
	b := api.Batch{Records: make([]api.Record, len(recs))}
	for i, r := range recs {
		b.Records[i] = api.Record{
			ID: r.ID, Type: r.Type, Class: r.Class.String(),
			CreatedAt: r.CreatedAt, Payload: json.RawMessage(r.Payload),
		}
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if err := json.NewEncoder(zw).Encode(&b); err != nil {
		return nil, fmt.Errorf("hubsync: encode batch: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("hubsync: compress batch: %w", err)
	}
	return buf.Bytes(), nil
}

// post sends one batch and interprets the answer.
func (s *Syncer) post(ctx context.Context, target, terminalID string, key ed25519.PrivateKey, body []byte) error {
	ctx = context.WithValue(ctx, signerKey{}, signer{terminalID, key, body})
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodPost, target, body)
	if err != nil {
		return fmt.Errorf("hubsync: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "gzip")
	_ = s.sign(req.Request)
	resp, err := s.http.Do(req)
	if err != nil {
		return fmt.Errorf("hubsync: post batch: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return readHubError(resp, s.opts.Now())
	}
	var ack api.BatchAck
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&ack); err != nil {
		return fmt.Errorf("hubsync: read ack: %w", err)
	}
	s.touch()
	s.mu.Lock()
	s.status.Duplicates += int64(ack.Duplicates)
	s.mu.Unlock()
	return nil
}

func (s *Syncer) lastContact() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.contact
}

func (s *Syncer) touch() {
	s.mu.Lock()
	s.contact = s.opts.Now()
	s.mu.Unlock()
}

// ping asks the hub whether it is there and still accepts this terminal.
func (s *Syncer) ping(ctx context.Context, target, terminalID string, key ed25519.PrivateKey) error {
	ctx = context.WithValue(ctx, signerKey{}, signer{terminalID, key, nil})
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return fmt.Errorf("hubsync: %w", err)
	}
	_ = s.sign(req.Request)
	resp, err := s.http.Do(req)
	if err != nil {
		return fmt.Errorf("hubsync: ping: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return readHubError(resp, s.opts.Now())
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	s.touch()
	return nil
}

type signerKey struct{}

// signer is what re-signing a request needs; it rides in the request's context.
type signer struct {
	terminalID string
	key        ed25519.PrivateKey
	body       []byte
}

func (s *Syncer) sign(r *http.Request) error {
	sg, ok := r.Context().Value(signerKey{}).(signer)
	if !ok {
		return errors.New("hubsync: request without signer")
	}
	api.SignRequest(r, sg.key, sg.terminalID, s.opts.Now(), sg.body)
	return nil
}

func readHubError(resp *http.Response, now time.Time) error {
	he := &hubError{status: resp.StatusCode}
	var body api.Error
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&body); err == nil {
		he.code, he.msg = body.Code, body.Error
	} else {
		he.msg = http.StatusText(resp.StatusCode)
	}
	if d, ok := retryAfter(resp, now); ok {
		he.retryAfter = d
	}
	return he
}

// retryAfter parses Retry-After in seconds or as an HTTP date.
func retryAfter(resp *http.Response, now time.Time) (time.Duration, bool) {
	v := resp.Header.Get("Retry-After")
	if v == "" {
		return 0, false
	}
	var secs int64
	if _, err := fmt.Sscanf(v, "%d", &secs); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}
