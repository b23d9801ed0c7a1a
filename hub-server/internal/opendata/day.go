package opendata

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// Errors of Day, for what the handler answers.
var (
	// ErrNotFinished: the day has not ended (plus Settle) yet.
	ErrNotFinished = errors.New("opendata: the day is not finished yet")
	// ErrBeforeData: no data is published before the day.
	ErrBeforeData = errors.New("opendata: no data is published for days this early")
	// ErrBadDay: not a day file's name.
	ErrBadDay = errors.New("opendata: not a day file")
)

// ParseDayFile parses a day file's name below air/, "YYYY-MM-DD.csv.gz",
// into its UTC midnight. Anything else (other lengths, signs, spaces,
// impossible dates, years before 2000 or after 2099) is ErrBadDay.
func ParseDayFile(name string) (time.Time, error) {
	const suffix = ".csv.gz"
	if len(name) != len("2006-01-02")+len(suffix) || name[10:] != suffix {
		return time.Time{}, ErrBadDay
	}
	date := name[:10]
	for i := 0; i < len(date); i++ {
		c := date[i]
		if i == 4 || i == 7 {
			if c != '-' {
				return time.Time{}, ErrBadDay
			}
		} else if c < '0' || c > '9' {
			return time.Time{}, ErrBadDay
		}
	}
	d, err := time.Parse(time.DateOnly, date)
	if err != nil || d.Year() < 2000 || d.Year() > 2099 {
		return time.Time{}, ErrBadDay
	}
	return d, nil
}

// Day returns day's file: from the cache, or made now (at most one
// generation of a day at once; at most two days at once, the machine's
// cores). The caller closes the entry. ErrNotFinished for a day not
// finished at Now, ErrBeforeData for a day before the first published
// observation.
func (f *Files) Day(ctx context.Context, day time.Time) (DayFile, error) {
	day = dayOf(day)
	if !f.Finished(day, f.o.Now()) {
		return DayFile{}, ErrNotFinished
	}
	if e, ok, err := f.cache.get(day); err != nil || ok {
		return e, err
	}
	// Only days with data are made, so a stranger cannot fill the cache
	// with empty files for every date there is.
	cov, _, err := f.coverage(ctx)
	if err != nil {
		return DayFile{}, err
	}
	if cov.First.IsZero() || day.Before(dayOf(cov.First)) {
		return DayFile{}, ErrBeforeData
	}
	key := day.Format(time.DateOnly)
	ch := f.flight.DoChan(key, func() (any, error) {
		select {
		case f.gen <- struct{}{}:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		defer func() { <-f.gen }()
		if e, ok, err := f.cache.get(day); err != nil || ok {
			if ok {
				e.Close()
			}
			return nil, err
		}
		// The generation belongs to every waiter, not to the request
		// that started it: it runs to its end if that one goes away.
		gctx := context.WithoutCancel(ctx)
		start := time.Now()
		e, err := f.cache.put(day, f.o.Now(), func(w io.Writer) error { return f.WriteDay(gctx, w, day) })
		if err != nil {
			return nil, err
		}
		e.Close()
		f.log.Info("open data: day file made", "day", key, "bytes", e.size, "took", time.Since(start).Round(time.Millisecond))
		return nil, nil
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return DayFile{}, res.Err
		}
	case <-ctx.Done():
		return DayFile{}, ctx.Err()
	}
	e, ok, err := f.cache.get(day)
	if err == nil && !ok {
		// A memory cache too small for two days may have dropped it again.
		err = fmt.Errorf("opendata: day %s was made but is no longer cached", key)
	}
	return e, err
}

// Warm makes the files of the finished days the catalogue lists that are
// not cached yet, oldest first, so the index shows their sizes and the
// first harvester does not wait.
func (f *Files) Warm(ctx context.Context) error {
	cov, _, err := f.coverage(ctx)
	if err != nil {
		return err
	}
	days := f.Days(cov, f.o.Now())
	if _, inMemory := f.cache.(*memCache); inMemory && len(days) > 1 {
		// Memory holds a few days at most: warm the one most asked for.
		days = days[len(days)-1:]
	}
	for _, d := range days {
		e, err := f.Day(ctx, d)
		if err != nil {
			return err
		}
		e.Close()
	}
	return nil
}

// Run warms the cache now and after each day's settle time until ctx
// ends. Failures are logged and tried again at the next turn.
func (f *Files) Run(ctx context.Context) error {
	if c, ok := f.cache.(*dirCache); ok {
		if n, err := c.sweep(f.o.Now().Add(-staleTemp)); err != nil {
			f.log.Warn("open data: removing unfinished day files", "err", err)
		} else if n > 0 {
			f.log.Info("open data: removed unfinished day files of an earlier run", "files", n)
		}
	}
	for {
		if err := f.Warm(ctx); err != nil && ctx.Err() == nil {
			f.log.Warn("open data: warming the day files", "err", err)
		}
		now := f.o.Now()
		next := dayOf(now.Add(-f.o.Settle)).AddDate(0, 0, 1).Add(f.o.Settle)
		t := time.NewTimer(next.Sub(now) + time.Second)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}
