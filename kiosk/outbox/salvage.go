package outbox

import (
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// checkAndSalvage runs bbolt's consistency check; if it finds damage, the
// file is quarantined and every record that can still be read is copied
// into a fresh file.
func (o *Outbox) checkAndSalvage() error {
	problems := checkDB(o.db)
	if len(problems) == 0 {
		return nil
	}
	o.log.Error("outbox consistency check failed; salvaging", "problems", len(problems), "first", problems[0])
	if err := o.db.Close(); err != nil {
		return fmt.Errorf("outbox: salvage: close: %w", err)
	}
	o.db = nil
	q, err := o.quarantine()
	if err != nil {
		return fmt.Errorf("outbox: salvage: %w", err)
	}
	db, err := safeOpen(o.path, o.boltOptions())
	if err != nil {
		return fmt.Errorf("outbox: salvage: create: %w", err)
	}
	o.db = db
	old, err := safeOpen(q, &bolt.Options{ReadOnly: true, Timeout: o.opts.LockTimeout})
	if err != nil {
		o.log.Error("outbox quarantined file unreadable; starting empty", "err", err)
		return nil
	}
	defer old.Close()
	n, err := copyReadable(old, db)
	o.log.Warn("outbox salvage done", "records", n, "err", err, "quarantined", q)
	return nil
}

// checkDB returns what tx.Check reports, or the panic it hit.
func checkDB(db *bolt.DB) (problems []error) {
	defer func() {
		if r := recover(); r != nil {
			problems = append(problems, fmt.Errorf("%w: %v", errPanic, r))
		}
	}()
	_ = db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			problems = append(problems, err)
		}
		return nil
	})
	return problems
}

// copyReadable copies records class by class until it hits unreadable
// data, and keeps the loss counters. init recounts the rest.
func copyReadable(src, dst *bolt.DB) (n int, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", errPanic, r)
		}
	}()
	err = src.View(func(stx *bolt.Tx) error {
		return dst.Update(func(dtx *bolt.Tx) error {
			meta, err := dtx.CreateBucketIfNotExists(metaBucket)
			if err != nil {
				return err
			}
			var c counters
			if sm := stx.Bucket(metaBucket); sm != nil {
				if v := sm.Get(countersKey); v != nil && c.unmarshal(v) == nil {
					c.count, c.bytes = [numClasses]int64{}, [numClasses]int64{}
				}
			}
			for _, cl := range Classes {
				sb := stx.Bucket(cl.bucket())
				db, err := dtx.CreateBucketIfNotExists(cl.bucket())
				if err != nil {
					return err
				}
				if sb == nil {
					continue
				}
				_ = copyBucket(sb, db, &n)
			}
			c, err = recount(dtx, c)
			if err != nil {
				return err
			}
			return meta.Put(countersKey, c.marshal())
		})
	})
	return n, err
}

// copyBucket copies well-formed records, stopping at a panic (a damaged page).
func copyBucket(src, dst *bolt.Bucket, n *int) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = errors.Join(err, fmt.Errorf("%w: %v", errPanic, r))
		}
	}()
	return src.ForEach(func(k, v []byte) error {
		if len(k) != keyLen || len(v) < 10 || v[0] != valueVersion {
			return nil
		}
		if err := dst.Put(k, v); err != nil {
			return err
		}
		*n++
		return nil
	})
}
