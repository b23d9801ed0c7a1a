// Package boltfile checks a bbolt file before it is opened. bbolt maps
// the file into memory, so a file cut short (a failing disk, a copy
// interrupted) does not fail bolt.Open cleanly: the process dies of a
// bus error when a page beyond the end is touched. The outbox and the
// sensor history both check first and set such a file aside.
package boltfile

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
)

// CheckComplete reads a bbolt file's meta pages and checks that the file
// holds every page the newest valid one counts: bbolt maps the file into
// memory and a file cut short faults there instead of failing cleanly.
// A missing or empty file is fine (bbolt creates one). Meta pages are
// read little-endian, as bbolt writes them on the terminals' amd64 and
// arm64.
func CheckComplete(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	size := fi.Size()
	if size == 0 {
		return nil
	}
	type meta struct {
		pageSize   uint32
		pgid, txid uint64
		valid      bool
	}
	read := func(off int64) meta {
		b := make([]byte, 16+64) // page header, then the meta
		if _, err := f.ReadAt(b, off); err != nil && !errors.Is(err, io.EOF) {
			return meta{}
		}
		m := b[16:]
		h := fnv.New64a()
		_, _ = h.Write(m[:56])
		if binary.LittleEndian.Uint32(m[0:]) != 0xED0CDAED || binary.LittleEndian.Uint32(m[4:]) != 2 || binary.LittleEndian.Uint64(m[56:]) != h.Sum64() {
			return meta{}
		}
		return meta{pageSize: binary.LittleEndian.Uint32(m[8:]), pgid: binary.LittleEndian.Uint64(m[40:]), txid: binary.LittleEndian.Uint64(m[48:]), valid: true}
	}
	m0 := read(0)
	ps := int64(os.Getpagesize())
	if m0.valid {
		ps = int64(m0.pageSize)
	}
	m1 := read(ps)
	best := m0
	if m1.valid && (!m0.valid || m1.txid > m0.txid) {
		best = m1
	}
	switch {
	case !best.valid:
		return errors.New("no valid meta page")
	case best.pageSize < 512 || best.pageSize > 1<<16:
		return fmt.Errorf("page size %d", best.pageSize)
	case uint64(size) < best.pgid*uint64(best.pageSize):
		return fmt.Errorf("file cut short: %d bytes of %d", size, best.pgid*uint64(best.pageSize))
	}
	return nil
}
