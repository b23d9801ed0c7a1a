// Package workshops is the hub's workshop service, without HTTP: it
// creates, copies and edits workshops (the store's records), keeps each
// workshop's event log and folded state in a bounded cache, appends the
// events the hub authors for the console and phones (Act, JoinPhone) and
// the events terminals send over their live sockets (Append), tells
// subscribers (live sockets of terminals, consoles and phones) that a
// workshop advanced, and exports a workshop's results and log.
//
// The fold itself is package internal/workshop's; this package only
// decides who may append what, stamps nothing itself (the store stamps
// HubSeq) and keeps the store's status (draft, open, ended) in step with
// what the fold says.
//
// Several hub processes may share one PostgreSQL database: the store
// notifies channel 'qh_workshop' with the workshop's ID in the
// transaction that appends, and Run listens on it. On SQLite (one
// process) Run polls the workshops that have subscribers, which picks up
// what the command line appended.
package workshops

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/internal/workshop"
)

// Store is what the service needs of the hub's store.
type Store interface {
	CreateWorkshop(ctx context.Context, w store.Workshop, a store.Audit) error
	Workshop(ctx context.Context, id string) (store.Workshop, error)
	WorkshopByJoinCode(ctx context.Context, code string) (store.Workshop, error)
	Workshops(ctx context.Context) ([]store.Workshop, error)
	UpdateWorkshop(ctx context.Context, w store.Workshop, a store.Audit) (store.Workshop, error)
	AppendWorkshopEvents(ctx context.Context, workshop string, evs []store.WorkshopEvent, a store.Audit) ([]uint64, error)
	WorkshopEvents(ctx context.Context, workshop string, after uint64, limit int) ([]store.WorkshopEvent, error)
}

// Opts configures a Service. Zero values are the defaults.
type Opts struct {
	// PostgresURL, when the store is PostgreSQL, is the database Run
	// listens on for other processes' appends. Empty: Run polls.
	PostgresURL string
	// Poll is how often Run reads the log of each workshop with
	// subscribers for events appended elsewhere: the command line on
	// SQLite, or, with PostgreSQL, while the listening connection is down
	// (PgBouncer in transaction mode cannot LISTEN, for one). Default 2 s.
	// While it listens, Run polls only every ListeningPoll.
	Poll time.Duration
	// ListeningPoll is how often Run polls while PostgreSQL's
	// notifications arrive, in case one was lost. Default 30 s.
	ListeningPoll time.Duration
	// IdleAfter evicts a workshop from the cache after this long without
	// use and without subscribers. Default 15 minutes.
	IdleAfter time.Duration
	// MaxCached bounds the workshops in the cache; the least recently
	// used without subscribers go first. Default 64.
	MaxCached int
	// MaxSubscribers bounds the subscribers of one workshop. Default 5,000.
	MaxSubscribers int
	// RecordFor is how long the cached store record (title, status,
	// spec) is trusted before it is read again. Default 5 s.
	RecordFor time.Duration
	// Metrics, if set, gets the service's metrics.
	Metrics prometheus.Registerer
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Rand is the entropy for IDs and join codes. Default crypto/rand.
	Rand   io.Reader
	Logger *slog.Logger
}

// Status of a workshop's record (store.Workshop.Status).
const (
	StatusDraft = store.WorkshopDraft
	StatusOpen  = store.WorkshopOpen
	StatusEnded = store.WorkshopEnded
)

// Audit actions of the service.
const (
	ActionCreate = "workshop.create"
	ActionCopy   = "workshop.copy"
	ActionUpdate = "workshop.update"
	ActionOpen   = "workshop.open"
	ActionEnd    = "workshop.end"
	// ActionEvent audits a moderator's event (console or command line)
	// with the event's type and ID; participants' events are not audited.
	ActionEvent = "workshop.event"
)

// SystemActor is the audit actor of status changes the fold caused.
const SystemActor = "system"

// Errors of the service; test with errors.Is.
var (
	// ErrNotDraft: the spec is fixed once the workshop opened.
	ErrNotDraft = errors.New("workshops: the workshop has opened; its plan can no longer change")
	// ErrConflict: someone else changed the workshop since it was read.
	ErrConflict = fmt.Errorf("workshops: %w", store.ErrVersionConflict)
)

// Refused is an action the workshop's rules refuse; Reason is the code
// screens translate.
type Refused struct {
	Reason workshop.Reason
	// Err says more, in English, for logs; may be nil.
	Err error
}

func (e *Refused) Error() string {
	if e.Err == nil {
		return "workshops: refused: " + string(e.Reason)
	}
	return "workshops: refused: " + string(e.Reason) + ": " + e.Err.Error()
}

func (e *Refused) Unwrap() error { return e.Err }

// WorkshopReason returns the reason (for consumers that match an
// interface rather than import this package).
func (e *Refused) WorkshopReason() workshop.Reason { return e.Reason }

// Reason returns the refusal's reason if err is a *Refused, else "".
func Reason(err error) workshop.Reason {
	var r *Refused
	if errors.As(err, &r) {
		return r.Reason
	}
	return ""
}

// Service is the hub's workshop service. Safe for concurrent use.
type Service struct {
	st    Store
	o     Opts
	clock *workshop.Clock
	m     metrics

	randMu sync.Mutex // o.Rand need not be safe for concurrent use

	mu      sync.Mutex
	entries map[string]*entry
	kick    chan struct{}   // Run's refresher has work
	dirty   map[string]bool // workshops Advanced named, for the refresher

	listening atomic.Bool
}

// New returns a service on st.
func New(st Store, o Opts) *Service {
	if o.Poll <= 0 {
		o.Poll = 2 * time.Second
	}
	if o.ListeningPoll <= 0 {
		o.ListeningPoll = 30 * time.Second
	}
	if o.IdleAfter <= 0 {
		o.IdleAfter = 15 * time.Minute
	}
	if o.MaxCached <= 0 {
		o.MaxCached = 64
	}
	if o.MaxSubscribers <= 0 {
		o.MaxSubscribers = 5000
	}
	if o.RecordFor <= 0 {
		o.RecordFor = 5 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	s := &Service{st: st, o: o, clock: workshop.NewClock(o.Now), entries: map[string]*entry{},
		kick: make(chan struct{}, 1), dirty: map[string]bool{}}
	s.m = newMetrics(o.Metrics)
	return s
}

// newULID returns a new ULID at now from the service's entropy.
func (s *Service) newULID(now time.Time) (string, error) {
	s.randMu.Lock()
	defer s.randMu.Unlock()
	id, err := ulid.New(ulid.Timestamp(now), s.o.Rand)
	if err != nil {
		return "", fmt.Errorf("workshops: id: %w", err)
	}
	return id.String(), nil
}

// decodeSpec reads a stored spec (the service wrote it).
func decodeSpec(b []byte) (workshop.Spec, error) {
	var sp workshop.Spec
	if err := json.Unmarshal(b, &sp); err != nil {
		return sp, fmt.Errorf("workshops: stored spec: %w", err)
	}
	return sp, nil
}
