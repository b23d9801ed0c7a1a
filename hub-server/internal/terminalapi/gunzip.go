package terminalapi

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"sync"
)

var errTooLarge = errors.New("too large")

// gzipSize is the uncompressed size a gzip stream's trailer announces
// (ISIZE, RFC 1952; modulo 2³², so only a hint), 0 if there is none.
func gzipSize(data []byte) int64 {
	if len(data) < 18 {
		return 0
	}
	return int64(binary.LittleEndian.Uint32(data[len(data)-4:]))
}

// Pools keep the decompression state and buffers of a busy hub from being
// allocated anew for every batch.
var (
	bufPool  = sync.Pool{New: func() any { return new(bytes.Buffer) }}
	gzipPool sync.Pool // *gzip.Reader
)

// gunzip decompresses data into out (reset first), at most limit bytes.
func gunzip(out *bytes.Buffer, data []byte, limit int64) error {
	out.Reset()
	var zr *gzip.Reader
	if v := gzipPool.Get(); v != nil {
		zr = v.(*gzip.Reader)
		if err := zr.Reset(bytes.NewReader(data)); err != nil {
			return err
		}
	} else {
		var err error
		if zr, err = gzip.NewReader(bytes.NewReader(data)); err != nil {
			return err
		}
	}
	defer gzipPool.Put(zr)
	n, err := out.ReadFrom(io.LimitReader(zr, limit+1))
	if err != nil {
		return err
	}
	if n > limit {
		return errTooLarge
	}
	return nil
}
