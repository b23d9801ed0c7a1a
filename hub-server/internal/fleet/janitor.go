package fleet

import (
	"context"
	"log/slog"
	"time"
)

// JanitorStore is what the janitor needs of the store.
type JanitorStore interface {
	ExpireCommands(ctx context.Context, now time.Time) (int64, error)
	PruneHealthHistory(ctx context.Context, before time.Time) (int64, error)
}

// JanitorOpts configures a Janitor. Zero values are the defaults.
type JanitorOpts struct {
	// HistoryRetention is how long health history is kept. Default 30 days.
	// With a heartbeat every 30 s and a sample every 15 min, a terminal
	// writes at most one row per heartbeat (only while its state flaps)
	// and usually ~100 a day, so history stays bounded by retention.
	HistoryRetention time.Duration
	// Every is the period. Default 1 minute.
	Every  time.Duration
	Now    func() time.Time
	After  func(time.Duration) <-chan time.Time
	Logger *slog.Logger
}

// Janitor expires commands and prunes health history.
type Janitor struct {
	st JanitorStore
	o  JanitorOpts
}

// NewJanitor returns a janitor on st.
func NewJanitor(st JanitorStore, o JanitorOpts) *Janitor {
	if o.HistoryRetention <= 0 {
		o.HistoryRetention = 30 * 24 * time.Hour
	}
	if o.Every <= 0 {
		o.Every = time.Minute
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
	return &Janitor{st: st, o: o}
}

// Tick does one round.
func (j *Janitor) Tick(ctx context.Context) error {
	now := j.o.Now()
	n, err := j.st.ExpireCommands(ctx, now)
	if err != nil {
		return err
	}
	if n > 0 {
		j.o.Logger.Info("commands expired", "count", n)
	}
	if _, err := j.st.PruneHealthHistory(ctx, now.Add(-j.o.HistoryRetention)); err != nil {
		return err
	}
	return nil
}

// Run ticks every Every until ctx ends; failures are logged.
func (j *Janitor) Run(ctx context.Context) error {
	for {
		if err := j.Tick(ctx); err != nil && ctx.Err() == nil {
			j.o.Logger.Error("fleet janitor", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-j.o.After(j.o.Every):
		}
	}
}
