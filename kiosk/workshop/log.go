package workshop

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/quartierhub/quartierhub/internal/atomicfile"
	ws "github.com/quartierhub/quartierhub/internal/workshop"
	"github.com/quartierhub/quartierhub/kiosk/internal/boltfile"
)

// The log's layout. The root bucket "meta" holds which workshop the
// terminal shows; each workshop it took part in has a bucket "w/ID" with:
//
//	info     the hub's Info (JSON), so a terminal restarted offline
//	         continues
//	seq      this terminal's last sequence number in the workshop
//	cursor   the highest hub sequence held
//	guests   the last guest number drawn
//	synced   when the hub last answered about it (unix ms)
//	ev/      event ID → event JSON (own and pulled; a stamped copy
//	         replaces the own one)
//	own/     event IDs of own events the hub has not stamped yet
//	intent/  event ID → event JSON: own events numbered but not yet
//	         confirmed by the outbox (see Engine.author)
var (
	bucketMeta   = []byte("meta")
	keyShown     = []byte("shown")
	keyInfo      = []byte("info")
	keySeq       = []byte("seq")
	keyCursor    = []byte("cursor")
	keyGuests    = []byte("guests")
	keySynced    = []byte("synced")
	bucketEvents = []byte("ev")
	bucketOwn    = []byte("own")
	bucketIntent = []byte("intent")
)

func workshopBucket(id string) []byte { return []byte("w/" + id) }

// shown is which workshop the terminal shows and why.
type shown struct {
	// Current is the workshop shown, "" for none.
	Current string `json:"current"`
	// Chosen is the workshop a moderator switched to; it wins over the
	// others the hub lists while it is listed.
	Chosen string `json:"chosen,omitempty"`
	// Left are workshops a moderator took the terminal out of: the
	// terminal does not go back to them by itself.
	Left []string `json:"left,omitempty"`
}

// maxLeft bounds the Left list: the oldest are forgotten.
const maxLeft = 64

// logFile is the bbolt file: all its reads and writes.
type logFile struct {
	db *bolt.DB
}

// errIncomplete marks a file cut short, refused before bbolt maps it.
var errIncomplete = errors.New("incomplete database file")

// openLog opens path, setting aside (PATH.corrupt-TIME) a file bbolt
// cannot use: the log is a copy of what the outbox and the hub hold,
// except the sequence counters (see Engine.recovered).
func openLog(path string, now time.Time) (*logFile, bool, error) {
	db, err := openBolt(path)
	if err == nil {
		return &logFile{db: db}, false, nil
	}
	if !corrupt(err) {
		return nil, false, fmt.Errorf("workshop: open %s: %w", path, err)
	}
	aside := fmt.Sprintf("%s.corrupt-%s", path, now.UTC().Format("20060102T150405"))
	if rerr := os.Rename(path, aside); rerr != nil {
		return nil, false, fmt.Errorf("workshop: open %s: %w (setting it aside failed: %v)", path, err, rerr)
	}
	db, err = openBolt(path)
	if err != nil {
		return nil, false, fmt.Errorf("workshop: open %s: %w", path, err)
	}
	return &logFile{db: db}, true, nil
}

func openBolt(path string) (db *bolt.DB, err error) {
	// A file cut short would not fail bolt.Open but kill the process
	// later with a bus error on its memory map.
	if err := boltfile.CheckComplete(path); err != nil {
		return nil, fmt.Errorf("%w: %v", errIncomplete, err)
	}
	defer func() {
		if r := recover(); r != nil {
			db, err = nil, fmt.Errorf("%w: bbolt panicked: %v", berrors.ErrInvalid, r)
		}
	}()
	db, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return nil, err
	}
	if err := atomicfile.SyncDir(filepath.Dir(path)); err != nil {
		_ = db.Close()
		return nil, err
	}
	return db, nil
}

func corrupt(err error) bool {
	return errors.Is(err, errIncomplete) || errors.Is(err, berrors.ErrInvalid) ||
		errors.Is(err, berrors.ErrChecksum) || errors.Is(err, berrors.ErrVersionMismatch)
}

func (l *logFile) close() error { return l.db.Close() }

func u64(b []byte) uint64 {
	if len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

func putU64(b *bolt.Bucket, key []byte, v uint64) error {
	var buf [8]byte
	binary.BigEndian.PutUint64(buf[:], v)
	return b.Put(key, buf[:])
}

// loadShown reads the meta record; a missing one is the zero value.
func (l *logFile) loadShown() (shown, error) {
	var s shown
	err := l.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketMeta); b != nil {
			if v := b.Get(keyShown); v != nil {
				var err error
				s, err = decodeShown(v)
				return err
			}
		}
		return nil
	})
	return s, err
}

// decodeShown parses the meta record: at most 64 KiB, IDs bounded.
func decodeShown(v []byte) (shown, error) {
	var s shown
	if len(v) > 64<<10 {
		return s, errors.New("workshop: log: meta record too large")
	}
	if err := json.Unmarshal(v, &s); err != nil {
		return shown{}, fmt.Errorf("workshop: log: meta record: %w", err)
	}
	if len(s.Current) > ws.MaxIDLen || len(s.Chosen) > ws.MaxIDLen || len(s.Left) > maxLeft {
		return shown{}, errors.New("workshop: log: meta record out of bounds")
	}
	return s, nil
}

func (l *logFile) saveShown(s shown) error {
	if len(s.Left) > maxLeft {
		s.Left = s.Left[len(s.Left)-maxLeft:]
	}
	v, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return l.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		return b.Put(keyShown, v)
	})
}

// stored is one workshop's content in the log.
type stored struct {
	Info    *Info
	Seq     uint64
	Cursor  uint64
	Guests  uint64
	Synced  time.Time
	Events  []ws.Event
	Own     map[string]bool     // unstamped own events
	Intents map[string]ws.Event // numbered, not confirmed by the outbox
	// Skipped counts stored events that did not decode (kept on disk).
	Skipped int
}

// load reads workshop id's content; nothing stored is the zero value.
func (l *logFile) load(id string) (stored, error) {
	st := stored{Own: map[string]bool{}, Intents: map[string]ws.Event{}}
	err := l.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(workshopBucket(id))
		if b == nil {
			return nil
		}
		if v := b.Get(keyInfo); v != nil {
			info, err := decodeInfo(v)
			if err != nil {
				return err
			}
			st.Info = &info
		}
		st.Seq, st.Cursor, st.Guests = u64(b.Get(keySeq)), u64(b.Get(keyCursor)), u64(b.Get(keyGuests))
		if ms := u64(b.Get(keySynced)); ms != 0 {
			st.Synced = time.UnixMilli(int64(ms)).UTC()
		}
		if eb := b.Bucket(bucketEvents); eb != nil {
			if err := eb.ForEach(func(k, v []byte) error {
				ev, err := decodeStoredEvent(id, k, v)
				if err != nil {
					st.Skipped++
					return nil
				}
				st.Events = append(st.Events, ev)
				return nil
			}); err != nil {
				return err
			}
		}
		if ob := b.Bucket(bucketOwn); ob != nil {
			_ = ob.ForEach(func(k, _ []byte) error { st.Own[string(k)] = true; return nil })
		}
		if ib := b.Bucket(bucketIntent); ib != nil {
			_ = ib.ForEach(func(k, v []byte) error {
				if ev, err := decodeStoredEvent(id, k, v); err == nil {
					st.Intents[ev.ID] = ev
				}
				return nil
			})
		}
		return nil
	})
	if err != nil {
		return stored{}, fmt.Errorf("workshop: log: %w", err)
	}
	return st, nil
}

// decodeStoredEvent parses an event as the log keeps it: the model's
// strict decoder, under its key, in its workshop.
func decodeStoredEvent(workshop string, key, v []byte) (ws.Event, error) {
	ev, err := ws.DecodeEvent(v)
	if err != nil {
		return ws.Event{}, err
	}
	if ev.ID != string(key) || ev.Workshop != workshop {
		return ws.Event{}, errors.New("workshop: log: event stored under another key")
	}
	return ev, nil
}

// decodeInfo parses a cached Info: at most 64 KiB plus the spec's bound.
func decodeInfo(v []byte) (Info, error) {
	var info Info
	if len(v) > maxInfoBytes {
		return info, errors.New("workshop: log: info too large")
	}
	if err := json.Unmarshal(v, &info); err != nil {
		return Info{}, fmt.Errorf("workshop: log: info: %w", err)
	}
	if info.ID == "" || len(info.ID) > ws.MaxIDLen {
		return Info{}, errors.New("workshop: log: info without a valid ID")
	}
	return info, nil
}

// maxInfoBytes bounds a workshop's info (its spec holds up to 200 words
// and 64 terminals).
const maxInfoBytes = 128 << 10

func (l *logFile) update(id string, fn func(b *bolt.Bucket) error) error {
	err := l.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(workshopBucket(id))
		if err != nil {
			return err
		}
		return fn(b)
	})
	if err != nil {
		return fmt.Errorf("workshop: log: %w", err)
	}
	return nil
}

func sub(b *bolt.Bucket, name []byte) (*bolt.Bucket, error) {
	return b.CreateBucketIfNotExists(name)
}

// saveInfo caches the hub's info on workshop id.
func (l *logFile) saveInfo(info Info, synced time.Time) error {
	v, err := json.Marshal(info)
	if err != nil {
		return err
	}
	return l.update(info.ID, func(b *bolt.Bucket) error {
		if err := putU64(b, keySynced, uint64(synced.UnixMilli())); err != nil {
			return err
		}
		return b.Put(keyInfo, v)
	})
}

// reserve numbers ev (Seq = the last + 1) and keeps it as an intent, in
// one fsync'd transaction: the number is on disk before it is used, and
// the event with it, so a crash before the outbox confirmed it resends
// the very same event (see Engine.recover).
func (l *logFile) reserve(ev *ws.Event, encode func(ws.Event) ([]byte, error)) error {
	return l.update(ev.Workshop, func(b *bolt.Bucket) error {
		ev.Seq = u64(b.Get(keySeq)) + 1
		v, err := encode(*ev)
		if err != nil {
			return err
		}
		ib, err := sub(b, bucketIntent)
		if err != nil {
			return err
		}
		if err := ib.Put([]byte(ev.ID), v); err != nil {
			return err
		}
		return putU64(b, keySeq, ev.Seq)
	})
}

// release gives back the number of an intent the outbox refused: the
// event went nowhere, so the next one takes its number.
func (l *logFile) release(ev ws.Event) error {
	return l.update(ev.Workshop, func(b *bolt.Bucket) error {
		if ib := b.Bucket(bucketIntent); ib != nil {
			if err := ib.Delete([]byte(ev.ID)); err != nil {
				return err
			}
		}
		if u64(b.Get(keySeq)) == ev.Seq {
			return putU64(b, keySeq, ev.Seq-1)
		}
		return nil
	})
}

// confirm moves an intent the outbox holds into the log as an own,
// unstamped event.
func (l *logFile) confirm(ev ws.Event, v []byte) error {
	return l.update(ev.Workshop, func(b *bolt.Bucket) error {
		if ib := b.Bucket(bucketIntent); ib != nil {
			if err := ib.Delete([]byte(ev.ID)); err != nil {
				return err
			}
		}
		eb, err := sub(b, bucketEvents)
		if err != nil {
			return err
		}
		if eb.Get([]byte(ev.ID)) != nil {
			return nil // the hub's copy came first
		}
		ob, err := sub(b, bucketOwn)
		if err != nil {
			return err
		}
		if err := eb.Put([]byte(ev.ID), v); err != nil {
			return err
		}
		return ob.Put([]byte(ev.ID), nil)
	})
}

// pulled stores events from the hub (stamped, raw as received after
// validation) and the new cursor: a stamped copy replaces an own one.
func (l *logFile) pulled(workshop string, evs []ws.Event, raws [][]byte, cursor uint64, synced time.Time) error {
	return l.update(workshop, func(b *bolt.Bucket) error {
		eb, err := sub(b, bucketEvents)
		if err != nil {
			return err
		}
		ob, err := sub(b, bucketOwn)
		if err != nil {
			return err
		}
		for i, ev := range evs {
			if err := eb.Put([]byte(ev.ID), raws[i]); err != nil {
				return err
			}
			if err := ob.Delete([]byte(ev.ID)); err != nil {
				return err
			}
		}
		if cursor > u64(b.Get(keyCursor)) {
			if err := putU64(b, keyCursor, cursor); err != nil {
				return err
			}
		}
		return putU64(b, keySynced, uint64(synced.UnixMilli()))
	})
}

// nextGuest draws the next guest number of workshop id, on disk before
// it is handed out.
func (l *logFile) nextGuest(id string) (uint64, error) {
	var n uint64
	err := l.update(id, func(b *bolt.Bucket) error {
		n = u64(b.Get(keyGuests)) + 1
		return putU64(b, keyGuests, n)
	})
	return n, err
}

// raiseSeq sets workshop id's sequence to at least seq and its guest
// count to at least guests: after a lost log, the hub's copy of this
// terminal's events says where it was.
func (l *logFile) raiseSeq(id string, seq, guests uint64) error {
	return l.update(id, func(b *bolt.Bucket) error {
		if seq > u64(b.Get(keySeq)) {
			if err := putU64(b, keySeq, seq); err != nil {
				return err
			}
		}
		if guests > u64(b.Get(keyGuests)) {
			return putU64(b, keyGuests, guests)
		}
		return nil
	})
}
