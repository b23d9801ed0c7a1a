package opendata

import (
	"bytes"
	"container/list"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/quartierhub/quartierhub/internal/atomicfile"
)

// ErrTooLarge: a day's file does not fit the memory cache.
var ErrTooLarge = errors.New("opendata: the day's file is larger than the memory cache; give the hub a data directory")

// DayFile is one finished day's file, ready to serve. Close it.
type DayFile struct {
	content io.ReadSeeker
	size    int64
	modTime time.Time
	etag    string // quoted
	close   func() error
}

// Content is the gzipped CSV.
func (e DayFile) Content() io.ReadSeeker { return e.content }

// Size is its length in bytes.
func (e DayFile) Size() int64 { return e.size }

// ModTime is when it was made.
func (e DayFile) ModTime() time.Time { return e.modTime }

// ETag is its entity tag (quoted): a hash of the content.
func (e DayFile) ETag() string { return e.etag }

// Close releases it.
func (e DayFile) Close() error { return e.close() }

// cache keeps finished days' files. get returns the file when present;
// put makes it with write and returns it.
type cache interface {
	get(day time.Time) (DayFile, bool, error)
	put(day time.Time, now time.Time, write func(io.Writer) error) (DayFile, error)
	size(day time.Time) (int64, bool)
}

// hashingWriter counts and hashes what passes through it.
type hashingWriter struct {
	w io.Writer
	h hash.Hash
	n int64
}

func (hw *hashingWriter) Write(p []byte) (int, error) {
	n, err := hw.w.Write(p)
	hw.h.Write(p[:n])
	hw.n += int64(n)
	return n, err
}

func etagOf(h hash.Hash) string { return `"` + hex.EncodeToString(h.Sum(nil)[:16]) + `"` }

// dirCache keeps the files in a directory: DIR/air/YYYY-MM-DD.csv.gz,
// written atomically, so each hub process sharing the directory (or
// restarting) finds them whole. ETags are the content's hash, computed
// once per process.
type dirCache struct {
	dir   string
	perm  os.FileMode // of the files; 0: 0640 (the hub's own cache)
	mu    sync.Mutex
	etags map[string]string // by file name
}

func (c *dirCache) path(day time.Time) string {
	return filepath.Join(c.dir, filepath.FromSlash(DayFileName(day)))
}

func (c *dirCache) get(day time.Time) (DayFile, bool, error) {
	p := c.path(day)
	fh, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return DayFile{}, false, nil
	} else if err != nil {
		return DayFile{}, false, fmt.Errorf("opendata: cache: %w", err)
	}
	fi, err := fh.Stat()
	if err != nil {
		fh.Close()
		return DayFile{}, false, fmt.Errorf("opendata: cache: %w", err)
	}
	c.mu.Lock()
	etag := c.etags[p]
	c.mu.Unlock()
	if etag == "" {
		h := sha256.New()
		if _, err := io.Copy(h, fh); err != nil {
			fh.Close()
			return DayFile{}, false, fmt.Errorf("opendata: cache: %w", err)
		}
		if _, err := fh.Seek(0, io.SeekStart); err != nil {
			fh.Close()
			return DayFile{}, false, fmt.Errorf("opendata: cache: %w", err)
		}
		etag = etagOf(h)
		c.remember(p, etag)
	}
	return DayFile{content: fh, size: fi.Size(), modTime: fi.ModTime().UTC(), etag: etag, close: fh.Close}, true, nil
}

// staleTemp is the age after which a temporary day file is an earlier
// run's leftover (a hub killed while writing it), never one being written.
const staleTemp = time.Hour

// sweep removes the temporary files atomicfile left in the cache's day
// directory when a process died while writing (".DAY.csv.gz…"), if they
// were last written before before. It returns how many it removed.
func (c *dirCache) sweep(before time.Time) (int, error) {
	dir := filepath.Dir(c.path(time.Unix(0, 0)))
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	} else if err != nil {
		return 0, fmt.Errorf("opendata: cache: %w", err)
	}
	n := 0
	for _, e := range ents {
		name := e.Name()
		if !e.Type().IsRegular() || !strings.HasPrefix(name, ".") || !strings.Contains(name, ".csv.gz") {
			continue
		}
		fi, err := e.Info()
		if err != nil || !fi.ModTime().Before(before) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return n, fmt.Errorf("opendata: cache: %w", err)
		}
		n++
	}
	return n, nil
}

func (c *dirCache) remember(p, etag string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.etags == nil {
		c.etags = map[string]string{}
	}
	c.etags[p] = etag
}

func (c *dirCache) put(day, now time.Time, write func(io.Writer) error) (DayFile, error) {
	p := c.path(day)
	if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
		return DayFile{}, fmt.Errorf("opendata: cache: %w", err)
	}
	h := sha256.New()
	perm := c.perm
	if perm == 0 {
		perm = 0o640
	}
	err := atomicfile.Stream(p, perm, func(w io.Writer) error {
		return write(&hashingWriter{w: w, h: h})
	})
	if err != nil {
		return DayFile{}, err
	}
	c.remember(p, etagOf(h))
	e, ok, err := c.get(day)
	if err == nil && !ok {
		err = fmt.Errorf("opendata: cache: %s vanished after it was written", p)
	}
	return e, err
}

func (c *dirCache) size(day time.Time) (int64, bool) {
	fi, err := os.Stat(c.path(day))
	if err != nil {
		return 0, false
	}
	return fi.Size(), true
}

// memCache keeps the files in memory, at most max bytes, dropping the
// least recently served first.
type memCache struct {
	max   int64
	mu    sync.Mutex
	used  int64
	order *list.List // of *memFile, most recent first
	files map[time.Time]*list.Element
}

type memFile struct {
	day     time.Time
	data    []byte
	modTime time.Time
	etag    string
}

func newMemCache(maxBytes int64) *memCache {
	return &memCache{max: maxBytes, order: list.New(), files: map[time.Time]*list.Element{}}
}

func (f *memFile) entry() DayFile {
	return DayFile{content: bytes.NewReader(f.data), size: int64(len(f.data)), modTime: f.modTime, etag: f.etag, close: func() error { return nil }}
}

func (c *memCache) get(day time.Time) (DayFile, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.files[day]
	if !ok {
		return DayFile{}, false, nil
	}
	c.order.MoveToFront(el)
	return el.Value.(*memFile).entry(), true, nil
}

// limitedBuffer fails a write that would take it past max.
type limitedBuffer struct {
	bytes.Buffer
	max int64
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if int64(b.Len()+len(p)) > b.max {
		return 0, ErrTooLarge
	}
	return b.Buffer.Write(p)
}

func (c *memCache) put(day, now time.Time, write func(io.Writer) error) (DayFile, error) {
	buf := &limitedBuffer{max: c.max}
	h := sha256.New()
	if err := write(&hashingWriter{w: buf, h: h}); err != nil {
		return DayFile{}, err
	}
	f := &memFile{day: day, data: buf.Bytes(), modTime: now.UTC().Truncate(time.Second), etag: etagOf(h)}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.files[day]; ok {
		c.drop(el)
	}
	for c.used+int64(len(f.data)) > c.max && c.order.Len() > 0 {
		c.drop(c.order.Back())
	}
	c.files[day] = c.order.PushFront(f)
	c.used += int64(len(f.data))
	return f.entry(), nil
}

func (c *memCache) drop(el *list.Element) {
	f := c.order.Remove(el).(*memFile)
	delete(c.files, f.day)
	c.used -= int64(len(f.data))
}

func (c *memCache) size(day time.Time) (int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.files[day]; ok {
		return int64(len(el.Value.(*memFile).data)), true
	}
	return 0, false
}
