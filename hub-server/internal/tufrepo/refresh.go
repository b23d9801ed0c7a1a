package tufrepo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// RefresherOpts configure a Refresher. Zero values are the defaults.
type RefresherOpts struct {
	// Every is the period. Default 1 hour: RefreshTimestamp re-signs at
	// half the timestamp's 24 h lifetime, so an hourly check leaves 11
	// hours of failed checks before a terminal sees it expire.
	Every time.Duration
	Now   func() time.Time
	After func(time.Duration) <-chan time.Time
	// OnCheck, if set, is told after each check whether it published,
	// when the newest timestamp expires (zero if none is published) and
	// the check's error; the hub turns it into metrics.
	OnCheck func(published bool, expires time.Time, err error)
	Logger  *slog.Logger
}

// Refresher keeps the timestamp (and snapshot) fresh: Run calls
// RefreshTimestamp every period. With several hub processes on one
// database one of them runs it; a second would only find nothing to do.
//
// It loads the online keys when it first needs them, so a hub started
// before release init installed them keeps its timestamp fresh from the
// next period on, without a restart.
type Refresher struct {
	st   Store
	keys func() (OnlineKeys, error)
	o    RefresherOpts
	mu   sync.Mutex // one check at a time
	repo *Repo      // nil until the keys are loaded
}

// NewRefresher returns a refresher of the repository on st, signing with
// the keys keys returns (e.g. LoadOnlineKeys of the data directory); an
// error wrapping os.ErrNotExist means none are installed yet.
func NewRefresher(st Store, keys func() (OnlineKeys, error), o RefresherOpts) *Refresher {
	if o.Every <= 0 {
		o.Every = time.Hour
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
	return &Refresher{st: st, keys: keys, o: o}
}

// Check refreshes once. Without online keys installed it only reports
// the timestamp's expiry (zero before release init), unless a timestamp
// is published: then the missing keys are an error, since it will expire.
func (f *Refresher) Check(ctx context.Context) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.repo == nil {
		keys, err := f.keys()
		if err != nil {
			expires, xerr := (&Repo{st: f.st}).TimestampExpires(ctx)
			if xerr == nil && expires.IsZero() && errors.Is(err, os.ErrNotExist) {
				err = nil // not initialised: nothing to keep fresh
			} else if xerr != nil {
				err = errors.Join(err, xerr)
			}
			if f.o.OnCheck != nil {
				f.o.OnCheck(false, expires, err)
			}
			return false, err
		}
		f.repo = New(f.st, keys)
	}
	published, err := f.repo.RefreshTimestamp(ctx, f.o.Now())
	var expires time.Time
	if err == nil {
		expires, err = f.repo.TimestampExpires(ctx)
	}
	if f.o.OnCheck != nil {
		f.o.OnCheck(published, expires, err)
	}
	return published, err
}

// Run checks at once and then every period until ctx ends; a failed
// check is logged and retried at the next period.
func (f *Refresher) Run(ctx context.Context) error {
	for {
		if published, err := f.Check(ctx); err != nil && ctx.Err() == nil {
			f.o.Logger.Error("tuf timestamp refresh", "err", err)
		} else if published {
			f.o.Logger.Info("tuf timestamp re-signed")
		}
		select {
		case <-ctx.Done():
			return nil
		case <-f.o.After(f.o.Every):
		}
	}
}

// TimestampExpires is when the newest published timestamp expires; zero
// when nothing is published (ErrNotInitialised is not an error here).
func (r *Repo) TimestampExpires(ctx context.Context) (time.Time, error) {
	m, err := r.st.TUFMetadata(ctx, metadata.TIMESTAMP, 0)
	if isNotFound(err) {
		return time.Time{}, nil
	} else if err != nil {
		return time.Time{}, fmt.Errorf("tufrepo: timestamp: %w", err)
	}
	stamp, err := parse[metadata.TimestampType]("timestamp.json", m.Body)
	if err != nil {
		return time.Time{}, err
	}
	return stamp.Signed.Expires, nil
}
