package outbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"

	"github.com/oklog/ulid/v2"
	bolt "go.etcd.io/bbolt"

	"github.com/quartierhub/quartierhub/internal/userr"
)

// request states: a Submit and the committer race to move a request out of
// pending; whoever wins decides whether it is cancelled or committed.
const (
	pending int32 = iota
	taken
	cancelled
)

type request struct {
	rec   Record
	key   ulid.ULID
	value []byte
	state atomic.Int32
	err   error
	done  chan struct{}
}

// Submit stores a record and returns once it is durably committed. payload
// must be a JSON object; it is copied. See the package doc for cancellation,
// the cap policy and which errors are *userr.Error.
func (o *Outbox) Submit(ctx context.Context, typ string, class Class, payload []byte) (Record, error) {
	if err := validate(typ, class, payload, o.opts.MaxRecordBytes); err != nil {
		return Record{}, err
	}
	if err := ctx.Err(); err != nil {
		return Record{}, err
	}
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return Record{}, o.fail(class, ErrClosed)
	}
	now := o.opts.Now().UTC()
	id, err := o.ids.next(now)
	if err != nil {
		o.mu.Unlock()
		return Record{}, o.fail(class, err)
	}
	r := &request{
		rec:   Record{ID: id.String(), Type: typ, Class: class, CreatedAt: now, Payload: bytes.Clone(payload)},
		key:   id,
		value: encodeValue(typ, now, payload),
		done:  make(chan struct{}),
	}
	o.queue = append(o.queue, r)
	o.wake.Signal()
	o.mu.Unlock()

	select {
	case <-r.done:
	case <-ctx.Done():
		if r.state.CompareAndSwap(pending, cancelled) {
			return Record{}, ctx.Err()
		}
		<-r.done // already in a commit: report its outcome
	}
	if r.err != nil {
		return Record{}, r.err
	}
	return r.rec, nil
}

func (o *Outbox) setCounters(c counters) {
	o.ctrMu.Lock()
	o.ctr = c
	o.ctrMu.Unlock()
}

// fail wraps err; for a resident submission it becomes a message the UI may
// show.
func (o *Outbox) fail(class Class, err error) error {
	if class == ClassResident {
		return userr.New(MsgCannotStore, err)
	}
	return err
}

// commitLoop is the single committer: it takes everything queued and
// commits it in one transaction, then looks again.
func (o *Outbox) commitLoop() {
	defer close(o.loopDone)
	for {
		o.mu.Lock()
		for len(o.queue) == 0 && !o.closed {
			o.wake.Wait()
		}
		if len(o.queue) == 0 { // closed and drained
			o.mu.Unlock()
			return
		}
		n := min(len(o.queue), o.opts.MaxBatchRecords)
		batch := o.queue[:n:n]
		if n == len(o.queue) {
			o.queue = nil
		} else {
			o.queue = append([]*request(nil), o.queue[n:]...)
		}
		o.mu.Unlock()
		o.commit(batch)
		// Let the submitters just released by this commit run and queue
		// their next records, so they join the next transaction instead of
		// waiting for the one after it. This yields the processor; it does
		// not wait for time to pass.
		runtime.Gosched()
	}
}

// commit writes one batch in one transaction. A record that does not fit
// fails alone; a transaction error fails the whole batch and leaves the
// file as it was.
func (o *Outbox) commit(batch []*request) {
	live := batch[:0:0]
	for _, r := range batch {
		if r.state.CompareAndSwap(pending, taken) {
			live = append(live, r)
		}
	}
	if len(live) == 0 {
		return
	}
	o.writeMu.Lock()
	c := o.ctr
	stored := 0
	err := o.db.Update(func(tx *bolt.Tx) error {
		stored = 0
		c = o.ctr
		for _, r := range live {
			r.err = nil
			size := accounted(len(r.value))
			if err := o.makeRoom(tx, &c, r.rec.Class, size); err != nil {
				if errors.Is(err, ErrFull) {
					r.err = o.fail(r.rec.Class, err)
					continue
				}
				return err
			}
			if err := tx.Bucket(r.rec.Class.bucket()).Put(r.key[:], r.value); err != nil {
				return err
			}
			c.count[r.rec.Class.idx()]++
			c.bytes[r.rec.Class.idx()] += size
			stored++
		}
		return tx.Bucket(metaBucket).Put(countersKey, c.marshal())
	})
	if err == nil {
		o.setCounters(c)
		o.commits.Add(1)
	}
	o.writeMu.Unlock()

	if err != nil {
		o.log.Error("outbox commit failed", "records", len(live), "err", err)
		for _, r := range live {
			r.err = o.fail(r.rec.Class, fmt.Errorf("outbox: commit: %w", err))
		}
	}
	for _, r := range live {
		close(r.done)
	}
	if err == nil && stored > 0 {
		select {
		case o.notify <- struct{}{}:
		default:
		}
	}
}

// makeRoom frees space for a record of size bytes of class, following the
// package's cap policy, or returns ErrFull without deleting anything.
func (o *Outbox) makeRoom(tx *bolt.Tx, c *counters, class Class, size int64) error {
	over := c.total() + size - o.opts.MaxBytes
	if over <= 0 {
		return nil
	}
	evictable := c.bytes[ClassSensor.idx()]
	if class != ClassSensor {
		evictable += c.bytes[ClassEvent.idx()]
	}
	if evictable < over {
		return fmt.Errorf("outbox: %w: %d bytes needed, %d bytes of %d in use, %d evictable",
			ErrFull, size, c.total(), o.opts.MaxBytes, evictable)
	}
	freed, err := o.thin(tx, c, over)
	if err != nil {
		return err
	}
	if freed < over {
		n, err := evictOldest(tx, c, ClassSensor, over-freed)
		if err != nil {
			return err
		}
		freed += n
	}
	if freed < over && class != ClassSensor {
		n, err := evictOldest(tx, c, ClassEvent, over-freed)
		if err != nil {
			return err
		}
		freed += n
	}
	if freed < over { // counters disagree with the buckets
		return fmt.Errorf("outbox: make room: freed %d of %d bytes: counters inconsistent", freed, over)
	}
	return nil
}

// thin deletes every second not-yet-thinned sensor reading older than
// ThinMinAge, oldest first, until need bytes are freed or none are left.
func (o *Outbox) thin(tx *bolt.Tx, c *counters, need int64) (int64, error) {
	cutoff := ulid.ULID{}
	age := o.opts.Now().Add(-o.opts.ThinMinAge)
	if age.UnixMilli() <= 0 {
		return 0, nil
	}
	if err := cutoff.SetTime(ulid.Timestamp(age)); err != nil {
		return 0, nil // clock out of ULID range: thin nothing
	}
	b := tx.Bucket(ClassSensor.bucket())
	cur := b.Cursor()
	k, v := cur.Seek(c.thinMark[:])
	if k != nil && bytes.Equal(k, c.thinMark[:]) {
		k, v = cur.Next()
	}
	var drop [][]byte
	var freed int64
	keep := true
	for ; k != nil && freed < need && bytes.Compare(k, cutoff[:]) < 0; k, v = cur.Next() {
		if !keep {
			drop = append(drop, bytes.Clone(k))
			freed += accounted(len(v))
			// The mark only passes complete pairs, so a kept reading
			// without its dropped partner is kept again by the next pass.
			copy(c.thinMark[:], k)
		}
		keep = !keep
	}
	// Delete after the walk rather than through the cursor, which would
	// have to be repositioned after every delete.
	for _, k := range drop {
		if err := b.Delete(k); err != nil {
			return 0, err
		}
	}
	i := ClassSensor.idx()
	c.count[i] -= int64(len(drop))
	c.bytes[i] -= freed
	c.thinned[i] += int64(len(drop))
	return freed, nil
}

// evictOldest deletes records of class oldest first until need bytes are
// freed or the class is empty.
func evictOldest(tx *bolt.Tx, c *counters, class Class, need int64) (int64, error) {
	b := tx.Bucket(class.bucket())
	cur := b.Cursor()
	var drop [][]byte
	var freed int64
	for k, v := cur.First(); k != nil && freed < need; k, v = cur.Next() {
		drop = append(drop, bytes.Clone(k))
		freed += accounted(len(v))
	}
	for _, k := range drop {
		if err := b.Delete(k); err != nil {
			return 0, err
		}
	}
	i := class.idx()
	c.count[i] -= int64(len(drop))
	c.bytes[i] -= freed
	c.evicted[i] += int64(len(drop))
	return freed, nil
}
