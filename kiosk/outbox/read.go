package outbox

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"time"

	"github.com/oklog/ulid/v2"
	bolt "go.etcd.io/bbolt"
)

// Peek returns up to maxRecords of the oldest records in priority order
// (resident, event, sensor; FIFO within a class) whose payloads total at
// most maxBytes — but always at least one record if any is stored, however
// large. Records stay stored until acknowledged with Ack.
func (o *Outbox) Peek(ctx context.Context, maxRecords, maxBytes int) ([]Record, error) {
	return o.PeekAfter(ctx, Record{}, maxRecords, maxBytes)
}

// PeekAfter is Peek starting after the position of after in priority
// order (its class and ID), so a sender can read the next batch while the
// previous one is still unacknowledged. The zero Record starts at the top.
func (o *Outbox) PeekAfter(ctx context.Context, after Record, maxRecords, maxBytes int) ([]Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if maxRecords <= 0 {
		return nil, nil
	}
	var from []byte
	if after.ID != "" {
		id, err := ulid.ParseStrict(after.ID)
		if err != nil || !after.Class.valid() {
			return nil, fmt.Errorf("outbox: peek: %w %q", ErrBadID, after.ID)
		}
		from = id[:]
	}
	var out []Record
	total := 0
	err := o.db.View(func(tx *bolt.Tx) error {
		for _, c := range Classes {
			if from != nil && c < after.Class {
				continue
			}
			cur := tx.Bucket(c.bucket()).Cursor()
			k, v := cur.First()
			if from != nil && c == after.Class {
				k, v = cur.Seek(from)
				if k != nil && bytes.Equal(k, from) {
					k, v = cur.Next()
				}
			}
			for ; k != nil; k, v = cur.Next() {
				r, err := decodeRecord(c, k, v)
				if err != nil {
					return fmt.Errorf("%w: class %s key %x", err, c, k)
				}
				if len(out) > 0 && total+len(r.Payload) > maxBytes {
					return nil
				}
				out = append(out, r)
				total += len(r.Payload)
				if len(out) >= maxRecords {
					return nil
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("outbox: peek: %w", err)
	}
	return out, nil
}

// parseIDs turns record IDs into their keys; op names the call in the
// error, which wraps ErrBadID for the first malformed ID.
func parseIDs(op string, ids []string) ([]ulid.ULID, error) {
	keys := make([]ulid.ULID, len(ids))
	for i, s := range ids {
		id, err := ulid.ParseStrict(s)
		if err != nil {
			return nil, fmt.Errorf("outbox: %s: %w %q: %w", op, ErrBadID, s, err)
		}
		keys[i] = id
	}
	return keys, nil
}

// Ack deletes the records with the given IDs, once durably. IDs not stored
// (already acknowledged, evicted) are ignored, so an ack may be repeated
// after a crash. A malformed ID fails the whole call before anything is
// deleted.
func (o *Outbox) Ack(ctx context.Context, ids []string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	keys, err := parseIDs("ack", ids)
	if err != nil {
		return err
	}
	if len(keys) == 0 {
		return nil
	}
	o.writeMu.Lock()
	defer o.writeMu.Unlock()
	c := o.ctr
	err = o.db.Update(func(tx *bolt.Tx) error {
		c = o.ctr
		changed := false
		for _, k := range keys {
			for _, cl := range Classes {
				b := tx.Bucket(cl.bucket())
				v := b.Get(k[:])
				if v == nil {
					continue
				}
				size := accounted(len(v))
				if err := b.Delete(k[:]); err != nil {
					return err
				}
				c.count[cl.idx()]--
				c.bytes[cl.idx()] -= size
				changed = true
				break
			}
		}
		if !changed {
			return nil
		}
		return tx.Bucket(metaBucket).Put(countersKey, c.marshal())
	})
	if err != nil {
		return fmt.Errorf("outbox: ack: %w", err)
	}
	o.setCounters(c)
	return nil
}

// Notify returns a channel that receives a value after a commit stored new
// records. Wake-ups coalesce; there is one channel, meant for one reader
// (the sync client), which should Peek until empty after each wake-up.
func (o *Outbox) Notify() <-chan struct{} { return o.notify }

// ClassStats describes one class.
type ClassStats struct {
	Count     int64         // records stored
	Bytes     int64         // accounted bytes (see RecordOverhead)
	Oldest    time.Time     // CreatedAt of the oldest record; zero if none
	OldestAge time.Duration // Now - Oldest; zero if none
	Thinned   int64         // readings deleted by thinning, ever
	Evicted   int64         // records deleted by eviction, ever
}

// Stats describes the outbox.
type Stats struct {
	Resident, Event, Sensor ClassStats
	UsedBytes               int64 // accounted bytes of all classes
	MaxBytes                int64 // the cap
	FileBytes               int64 // size of the bbolt file
	Quarantined             string
}

// Class returns the stats of class c.
func (s Stats) Class(c Class) ClassStats {
	switch c {
	case ClassResident:
		return s.Resident
	case ClassEvent:
		return s.Event
	case ClassSensor:
		return s.Sensor
	}
	return ClassStats{}
}

// Stats returns counts from the persisted counters and the oldest record
// per class; its cost does not grow with the number of records.
func (o *Outbox) Stats() (Stats, error) {
	o.ctrMu.Lock()
	c := o.ctr
	o.ctrMu.Unlock()
	now := o.opts.Now()
	s := Stats{UsedBytes: c.total(), MaxBytes: o.opts.MaxBytes, Quarantined: o.quarantined}
	err := o.db.View(func(tx *bolt.Tx) error {
		s.FileBytes = tx.Size()
		for _, cl := range Classes {
			i := cl.idx()
			cs := ClassStats{Count: c.count[i], Bytes: c.bytes[i], Thinned: c.thinned[i], Evicted: c.evicted[i]}
			if _, v := tx.Bucket(cl.bucket()).Cursor().First(); v != nil {
				if t, ok := createdAtOf(v); ok {
					cs.Oldest = t
					cs.OldestAge = max(now.Sub(t), 0)
				}
			}
			switch cl {
			case ClassResident:
				s.Resident = cs
			case ClassEvent:
				s.Event = cs
			case ClassSensor:
				s.Sensor = cs
			}
		}
		return nil
	})
	if err != nil {
		return Stats{}, fmt.Errorf("outbox: stats: %w", err)
	}
	return s, nil
}

// WriteTo writes a consistent copy of the whole file to w (a hot backup)
// while submissions continue.
func (o *Outbox) WriteTo(w io.Writer) (int64, error) {
	var n int64
	err := o.db.View(func(tx *bolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	if err != nil {
		return n, fmt.Errorf("outbox: backup: %w", err)
	}
	return n, nil
}
