package fleet

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// Webhook events.
const (
	EventAlertOpened   = "alert.opened"
	EventAlertResolved = "alert.resolved"
)

// WebhookAlert is the body the notifier posts: one event per request.
type WebhookAlert struct {
	Event string `json:"event"` // alert.opened or alert.resolved
	Alert struct {
		ID         string    `json:"id"`
		Kind       string    `json:"kind"`
		State      string    `json:"state"`
		Detail     string    `json:"detail"`
		TerminalID string    `json:"terminal_id"`
		Terminal   string    `json:"terminal"` // name
		Quarter    string    `json:"quarter"`
		FirstSeen  time.Time `json:"first_seen"`
		LastSeen   time.Time `json:"last_seen"`
		ResolvedAt time.Time `json:"resolved_at,omitzero"`
	} `json:"alert"`
}

// NotifierOpts configures a Notifier. Zero values are the defaults.
type NotifierOpts struct {
	// URL receives alerts as JSON POSTs. Empty: the notifier does nothing.
	URL string
	// HTTPClient defaults to one with a 10s timeout.
	HTTPClient *http.Client
	// Poll is how often it looks for unsent notices without a Kick.
	// Default 30s.
	Poll time.Duration
	// MinBackoff and MaxBackoff bound the wait after a failed delivery
	// (doubling). Defaults 1s and 5m.
	MinBackoff, MaxBackoff time.Duration
	Now                    func() time.Time
	After                  func(time.Duration) <-chan time.Time
	Logger                 *slog.Logger
}

// NoticeStore is what the notifier needs of the store. Mutes are asked
// from the store on every round (PendingAlertNotices), so hub processes
// sharing a database agree on them.
type NoticeStore interface {
	Terminal(ctx context.Context, id string) (store.Terminal, error)
	PendingAlertNotices(ctx context.Context, now time.Time, limit int) ([]store.AlertNotice, error)
	MarkAlertNotified(ctx context.Context, id string, resolved bool, at time.Time) error
}

// Notifier sends alert openings and resolutions to a webhook. What was
// sent is recorded in the store, so nothing is lost or sent twice across
// restarts (a crash between sending and recording may repeat one notice).
//
// Mutes (store.AlertMute) hold notices back: an alert that opens under a
// mute is announced only if it is still open when the mute ends; one that
// opens and resolves under a mute is never announced; the resolution of
// an alert whose opening was sent is always sent, so a receiver tracking
// open alerts is not left with one that never ends.
type Notifier struct {
	st   NoticeStore
	o    NotifierOpts
	kick chan struct{}
}

// NewNotifier returns a notifier on st.
func NewNotifier(st NoticeStore, o NotifierOpts) *Notifier {
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if o.Poll <= 0 {
		o.Poll = 30 * time.Second
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 5 * time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.After == nil {
		o.After = time.After
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Notifier{st: st, o: o, kick: make(chan struct{}, 1)}
}

// Kick asks for a delivery round now.
func (n *Notifier) Kick() {
	select {
	case n.kick <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends.
func (n *Notifier) Run(ctx context.Context) error {
	if n.o.URL == "" {
		<-ctx.Done()
		return nil
	}
	backoff := time.Duration(0)
	for {
		wait := n.o.Poll
		if err := n.Round(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			backoff = min(max(2*backoff, n.o.MinBackoff), n.o.MaxBackoff)
			wait = backoff
			n.o.Logger.Warn("alert webhook failed", "err", err, "retry_in", backoff)
		} else {
			backoff = 0
		}
		select {
		case <-ctx.Done():
			return nil
		case <-n.kick:
			if backoff > 0 {
				// A new alert does not cut a backoff short.
				select {
				case <-ctx.Done():
					return nil
				case <-n.o.After(wait):
				}
			}
		case <-n.o.After(wait):
		}
	}
}

// Round sends every pending notice, oldest first, and stops at the first
// failure. Each notice it gets is sent or suppressed and then marked, so
// the loop ends.
func (n *Notifier) Round(ctx context.Context) error {
	for {
		als, err := n.st.PendingAlertNotices(ctx, n.o.Now(), 100)
		if err != nil {
			return fmt.Errorf("fleet: notify: %w", err)
		}
		if len(als) == 0 {
			return nil
		}
		for _, nt := range als {
			a := nt.Alert
			if nt.Suppress {
				for _, resolved := range []bool{false, true} {
					if err := n.st.MarkAlertNotified(ctx, a.ID, resolved, n.o.Now()); err != nil {
						return fmt.Errorf("fleet: notify: %w", err)
					}
				}
				continue
			}
			if a.NotifiedOpenAt.IsZero() {
				if err := n.send(ctx, EventAlertOpened, a); err != nil {
					return err
				}
				if err := n.st.MarkAlertNotified(ctx, a.ID, false, n.o.Now()); err != nil {
					return fmt.Errorf("fleet: notify: %w", err)
				}
			}
			if a.State == store.AlertResolved {
				if err := n.send(ctx, EventAlertResolved, a); err != nil {
					return err
				}
				if err := n.st.MarkAlertNotified(ctx, a.ID, true, n.o.Now()); err != nil {
					return fmt.Errorf("fleet: notify: %w", err)
				}
			}
		}
	}
}

func (n *Notifier) send(ctx context.Context, event string, a store.Alert) error {
	var body WebhookAlert
	body.Event = event
	al := &body.Alert
	al.ID, al.Kind, al.State, al.Detail, al.TerminalID = a.ID, a.Kind, a.State, a.Detail, a.TerminalID
	al.FirstSeen, al.LastSeen, al.ResolvedAt = a.FirstSeen, a.LastSeen, a.ResolvedAt
	if event == EventAlertOpened {
		al.State, al.ResolvedAt = store.AlertOpen, time.Time{}
	}
	if t, err := n.st.Terminal(ctx, a.TerminalID); err == nil {
		al.Terminal, al.Quarter = t.Name, t.Quarter
	}
	b, err := json.Marshal(&body)
	if err != nil {
		return fmt.Errorf("fleet: notify: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.o.URL, bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("fleet: notify: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := n.o.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("fleet: notify: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("fleet: notify: webhook answered %s", resp.Status)
	}
	return nil
}
