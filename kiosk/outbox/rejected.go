package outbox

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

var rejectedBucket = []byte("rejected")

// RejectedRecord is a record the hub refused for good, with its reason.
type RejectedRecord struct {
	Record
	Reason     string
	RejectedAt time.Time
}

// SetAside moves records that the hub permanently refused (a 400 for a
// record that will never become valid) out of the queue, so they no
// longer block what comes after them. They are kept, with the hub's
// reason, until staff look at them: never sent again, never evicted.
func (o *Outbox) SetAside(ctx context.Context, ids []string, reason string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	keys, err := parseIDs("set aside", ids)
	if err != nil {
		return err
	}
	if len(reason) > 1000 {
		reason = reason[:1000]
	}
	now := o.opts.Now().UTC()
	o.writeMu.Lock()
	defer o.writeMu.Unlock()
	c := o.ctr
	err = o.db.Update(func(tx *bolt.Tx) error {
		c = o.ctr
		rb, err := tx.CreateBucketIfNotExists(rejectedBucket)
		if err != nil {
			return err
		}
		for _, k := range keys {
			for _, cl := range Classes {
				b := tx.Bucket(cl.bucket())
				v := b.Get(k[:])
				if v == nil {
					continue
				}
				size := accounted(len(v))
				entry := make([]byte, 0, 11+len(reason)+len(v))
				entry = append(entry, byte(cl))
				entry = binary.BigEndian.AppendUint64(entry, uint64(now.UnixNano()))
				entry = binary.BigEndian.AppendUint16(entry, uint16(len(reason)))
				entry = append(entry, reason...)
				entry = append(entry, v...)
				if err := rb.Put(k[:], entry); err != nil {
					return err
				}
				if err := b.Delete(k[:]); err != nil {
					return err
				}
				c.count[cl.idx()]--
				c.bytes[cl.idx()] -= size
				break
			}
		}
		return tx.Bucket(metaBucket).Put(countersKey, c.marshal())
	})
	if err != nil {
		return fmt.Errorf("outbox: set aside: %w", err)
	}
	o.setCounters(c)
	o.log.Warn("records set aside after the hub refused them", "count", len(ids), "reason", reason)
	return nil
}

// Rejected lists up to max records set aside, oldest first.
func (o *Outbox) Rejected(ctx context.Context, max int) ([]RejectedRecord, int, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	var out []RejectedRecord
	total := 0
	err := o.db.View(func(tx *bolt.Tx) error {
		rb := tx.Bucket(rejectedBucket)
		if rb == nil {
			return nil
		}
		return rb.ForEach(func(k, v []byte) error {
			total++
			if len(out) >= max {
				return nil
			}
			if len(v) < 11 {
				return errBadValue
			}
			n := int(binary.BigEndian.Uint16(v[9:11]))
			if len(v) < 11+n {
				return errBadValue
			}
			rec, err := decodeRecord(Class(v[0]), k, v[11+n:])
			if err != nil {
				return err
			}
			out = append(out, RejectedRecord{
				Record:     rec,
				Reason:     string(v[11 : 11+n]),
				RejectedAt: time.Unix(0, int64(binary.BigEndian.Uint64(v[1:9]))).UTC(),
			})
			return nil
		})
	})
	if err != nil {
		return nil, 0, fmt.Errorf("outbox: rejected: %w", err)
	}
	return out, total, nil
}
