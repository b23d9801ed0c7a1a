package outbox

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/oklog/ulid/v2"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/quartierhub/quartierhub/internal/atomicfile"
	"github.com/quartierhub/quartierhub/kiosk/internal/boltfile"
)

// Defaults for zero Opts fields.
const (
	DefaultMaxBytes        = 256 << 20
	DefaultMaxRecordBytes  = 1 << 20
	DefaultThinMinAge      = time.Hour
	DefaultLockTimeout     = time.Second
	DefaultMaxBatchRecords = 4096
)

// MsgCannotStore is shown to a resident whose submission could not be stored.
const MsgCannotStore = "This terminal cannot store your submission right now. Please try again later or ask staff."

// Errors. Test with errors.Is.
var (
	ErrFull    = errors.New("outbox is full")
	ErrInvalid = errors.New("invalid record")
	ErrInUse   = errors.New("outbox is in use by another process")
	ErrClosed  = errors.New("outbox is closed")
	ErrBadID   = errors.New("malformed record id")
)

// Opts configures an Outbox. Zero values select the documented defaults.
type Opts struct {
	// MaxBytes caps the accounted size of all records (see the package
	// doc for the policy). Default DefaultMaxBytes (256 MiB).
	MaxBytes int64
	// MaxRecordBytes rejects larger payloads. Default 1 MiB.
	MaxRecordBytes int
	// ThinMinAge protects sensor readings younger than this from thinning
	// (not from eviction). Default 1 h.
	ThinMinAge time.Duration
	// LockTimeout is how long Open waits for another process to release
	// the file. Default 1 s.
	LockTimeout time.Duration
	// MaxBatchRecords bounds how many submissions share one transaction.
	// Default 4096. 1 means one transaction per record (for benchmarks).
	MaxBatchRecords int
	// NoFreelistSync is bbolt's option: commits skip writing the freelist,
	// and every Open rebuilds it by scanning the file. Default off.
	NoFreelistSync bool
	// CheckOnOpen runs bbolt's consistency check in Open and salvages the
	// readable records into a fresh file if it fails. Default off: the
	// check reads the whole file.
	CheckOnOpen bool
	// Now is the clock for IDs, CreatedAt and thinning age. Default time.Now.
	Now func() time.Time
	// Entropy feeds ULID randomness. Default crypto/rand.Reader.
	Entropy io.Reader
	// Logger receives operational events, never payloads. Default slog.Default().
	Logger *slog.Logger

	// maxFileSize is bbolt's MaxSize; tests use it to simulate a full disk.
	maxFileSize int
}

func (o *Opts) setDefaults() {
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MaxRecordBytes <= 0 {
		o.MaxRecordBytes = DefaultMaxRecordBytes
	}
	if o.ThinMinAge <= 0 {
		o.ThinMinAge = DefaultThinMinAge
	}
	if o.LockTimeout <= 0 {
		o.LockTimeout = DefaultLockTimeout
	}
	if o.MaxBatchRecords <= 0 {
		o.MaxBatchRecords = DefaultMaxBatchRecords
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Entropy == nil {
		o.Entropy = rand.Reader
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Outbox is a durable, prioritised queue in one bbolt file. It is safe for
// concurrent use.
type Outbox struct {
	db   *bolt.DB
	opts Opts
	log  *slog.Logger
	path string

	// mu guards the queue, the ID generator and closed. IDs are made and
	// queued under the same lock, so queue order is ID order.
	mu     sync.Mutex
	wake   *sync.Cond
	queue  []*request
	ids    idGen
	closed bool

	// writeMu serialises write transactions; ctr holds the committed
	// counters they start from. ctr is written under both locks, so
	// either suffices to read it.
	writeMu sync.Mutex
	ctrMu   sync.Mutex
	ctr     counters

	commits     atomic.Int64 // successful group commits, for tests
	notify      chan struct{}
	loopDone    chan struct{}
	closeOnce   sync.Once
	closeErr    error
	quarantined string
}

var metaBucket = []byte("meta")
var countersKey = []byte("counters")

// Open opens or creates the outbox at path and starts its committer.
func Open(path string, opts Opts) (*Outbox, error) {
	opts.setDefaults()
	o := &Outbox{
		opts:     opts,
		log:      opts.Logger.With("component", "outbox"),
		path:     path,
		notify:   make(chan struct{}, 1),
		loopDone: make(chan struct{}),
	}
	o.wake = sync.NewCond(&o.mu)
	o.ids.entropy = opts.Entropy

	db, err := o.openDB()
	if err != nil {
		return nil, err
	}
	o.db = db
	if opts.CheckOnOpen {
		if err := o.checkAndSalvage(); err != nil {
			if o.db != nil {
				_ = o.db.Close()
			}
			return nil, err
		}
	}
	if err := o.init(); err != nil {
		_ = o.db.Close()
		return nil, err
	}
	go o.commitLoop()
	return o, nil
}

func (o *Outbox) boltOptions() *bolt.Options {
	return &bolt.Options{
		Timeout:        o.opts.LockTimeout,
		FreelistType:   bolt.FreelistMapType,
		NoFreelistSync: o.opts.NoFreelistSync,
		MaxSize:        o.opts.maxFileSize,
	}
}

// openDB opens the bbolt file, quarantining one that is not a valid
// database so the terminal keeps working.
func (o *Outbox) openDB() (*bolt.DB, error) {
	db, err := safeOpen(o.path, o.boltOptions())
	if err == nil {
		return db, o.syncDir(db)
	}
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("outbox: open %s: %w (lock not released within %s)", o.path, ErrInUse, o.opts.LockTimeout)
	}
	if !isCorrupt(err) {
		return nil, fmt.Errorf("outbox: open %s: %w", o.path, err)
	}
	q, qerr := o.quarantine()
	if qerr != nil {
		return nil, fmt.Errorf("outbox: open %s: %w (quarantine failed: %v)", o.path, err, qerr)
	}
	o.log.Error("outbox file unreadable; moved aside and starting empty", "err", err, "quarantined", q)
	db, err = safeOpen(o.path, o.boltOptions())
	if err != nil {
		return nil, fmt.Errorf("outbox: open %s after quarantine: %w", o.path, err)
	}
	return db, o.syncDir(db)
}

// syncDir makes the file's directory entry durable (bbolt fsyncs the file,
// not its directory): records confirmed in a file just created, or just
// put in place of a quarantined one, must not vanish with a power cut.
func (o *Outbox) syncDir(db *bolt.DB) error {
	if err := atomicfile.SyncDir(filepath.Dir(o.path)); err != nil {
		_ = db.Close()
		return fmt.Errorf("outbox: open %s: %w", o.path, err)
	}
	return nil
}

var (
	errPanic      = errors.New("bbolt panicked")
	errIncomplete = errors.New("incomplete database file")
)

// safeOpen turns a bbolt panic on a damaged file into an error.
func safeOpen(path string, opts *bolt.Options) (db *bolt.DB, err error) {
	// A file cut short would not fail here but kill the process later
	// with a bus error on its memory map: refuse it before mapping it.
	if err := boltfile.CheckComplete(path); err != nil {
		return nil, fmt.Errorf("%w: %v", errIncomplete, err)
	}
	defer func() {
		if r := recover(); r != nil {
			db, err = nil, fmt.Errorf("%w: %v", errPanic, r)
		}
	}()
	return bolt.Open(path, 0o600, opts)
}

func isCorrupt(err error) bool {
	return errors.Is(err, berrors.ErrInvalid) || errors.Is(err, berrors.ErrChecksum) ||
		errors.Is(err, berrors.ErrVersionMismatch) || errors.Is(err, errPanic) || errors.Is(err, errIncomplete)
}

// quarantine renames the file aside; it is kept for staff, never deleted.
func (o *Outbox) quarantine() (string, error) {
	q := fmt.Sprintf("%s.corrupt-%s", o.path, o.opts.Now().UTC().Format("20060102T150405.000000000"))
	if err := os.Rename(o.path, q); err != nil {
		return "", err
	}
	o.quarantined = q
	return q, nil
}

// init creates the buckets, loads the counters (rebuilding them if
// missing) and seeds the ID generator with the newest stored ID.
func (o *Outbox) init() error {
	err := o.db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(metaBucket)
		if err != nil {
			return err
		}
		for _, c := range Classes {
			b, err := tx.CreateBucketIfNotExists(c.bucket())
			if err != nil {
				return err
			}
			if k, _ := b.Cursor().Last(); k != nil {
				var id ulid.ULID
				copy(id[:], k)
				if id.Compare(o.ids.last) > 0 {
					o.ids.last = id
				}
			}
		}
		if v := meta.Get(countersKey); v != nil {
			if err := o.ctr.unmarshal(v); err == nil {
				return nil
			}
			o.ctr = counters{}
			o.log.Warn("outbox counters unreadable; recounting")
		}
		c, err := recount(tx, o.ctr)
		if err != nil {
			return err
		}
		o.ctr = c
		return meta.Put(countersKey, c.marshal())
	})
	if err != nil {
		return fmt.Errorf("outbox: init: %w", err)
	}
	return nil
}

// recount rebuilds count and bytes by scanning; loss counters and the
// thinning mark are kept from old.
func recount(tx *bolt.Tx, old counters) (counters, error) {
	c := old
	for _, cl := range Classes {
		c.count[cl.idx()], c.bytes[cl.idx()] = 0, 0
		err := tx.Bucket(cl.bucket()).ForEach(func(k, v []byte) error {
			c.count[cl.idx()]++
			c.bytes[cl.idx()] += accounted(len(v))
			return nil
		})
		if err != nil {
			return c, err
		}
	}
	return c, nil
}

// Close stops accepting submissions, commits those already queued, and
// closes the file. It is safe to call more than once.
func (o *Outbox) Close() error {
	o.closeOnce.Do(func() {
		o.mu.Lock()
		o.closed = true
		o.wake.Broadcast()
		o.mu.Unlock()
		<-o.loopDone
		if err := o.db.Close(); err != nil {
			o.closeErr = fmt.Errorf("outbox: close: %w", err)
		}
	})
	return o.closeErr
}

// Path returns the file path.
func (o *Outbox) Path() string { return o.path }

// counters are persisted in the meta bucket, updated in the same
// transaction as the records they describe.
type counters struct {
	count, bytes     [numClasses]int64
	evicted, thinned [numClasses]int64
	thinMark         [keyLen]byte // sensor keys <= thinMark were thinned once
}

const countersVersion = 1
const countersLen = 1 + 4*numClasses*8 + keyLen

func (c *counters) total() int64 {
	var t int64
	for _, b := range c.bytes {
		t += b
	}
	return t
}

func (c *counters) marshal() []byte {
	v := make([]byte, 0, countersLen)
	v = append(v, countersVersion)
	for _, arr := range []*[numClasses]int64{&c.count, &c.bytes, &c.evicted, &c.thinned} {
		for _, n := range arr {
			v = binary.BigEndian.AppendUint64(v, uint64(n))
		}
	}
	return append(v, c.thinMark[:]...)
}

func (c *counters) unmarshal(v []byte) error {
	if len(v) != countersLen || v[0] != countersVersion {
		return errors.New("outbox: bad counters")
	}
	p := v[1:]
	for _, arr := range []*[numClasses]int64{&c.count, &c.bytes, &c.evicted, &c.thinned} {
		for i := range arr {
			arr[i] = int64(binary.BigEndian.Uint64(p))
			p = p[8:]
		}
	}
	copy(c.thinMark[:], p)
	return nil
}
