// Package framer is the frame hunt the serial drivers share for
// fixed-length frames that start with a head byte (RDM6300, MH-Z19,
// SDS011): bytes arrive in arbitrary chunks, so leftovers are kept between
// writes; noise before a head is skipped; a candidate that fails its check
// costs one byte and the hunt starts again, since a real head may sit
// inside a bad frame.
package framer

// Spec describes one kind of frame.
type Spec struct {
	// Size is the frame length in bytes, head included.
	Size int
	// Head is the first byte of every frame.
	Head byte
	// Second, if set, accepts or refuses byte 1: a head followed by a
	// refused byte starts no frame and is skipped without counting as bad.
	Second func(byte) bool
	// Valid checks a whole candidate (length Size): tail, checksum, content.
	Valid func([]byte) bool
}

// Buffer holds the bytes not yet part of a frame. The zero value is ready
// to use.
type Buffer struct {
	buf []byte
	// Skipped counts bytes discarded as noise or parts of bad frames.
	Skipped int
	// Bad counts candidate frames that failed Spec.Valid.
	Bad int
}

// Write appends received bytes. It never fails.
func (b *Buffer) Write(p []byte) (int, error) {
	b.buf = append(b.buf, p...)
	return len(p), nil
}

// Buffered returns how many bytes wait for the rest of a frame. After Next
// returns false it is always below Spec.Size.
func (b *Buffer) Buffered() int { return len(b.buf) }

// Reset discards the buffered bytes, counting them as skipped.
func (b *Buffer) Reset() {
	b.Skipped += len(b.buf)
	b.buf = b.buf[:0]
}

// Next returns the next valid frame of spec's kind, if a whole one is in:
// a view into the buffer, valid until the next Write.
func (b *Buffer) Next(spec Spec) ([]byte, bool) {
	for {
		i := 0
		for i < len(b.buf) && b.buf[i] != spec.Head {
			i++
		}
		b.drop(i)
		if len(b.buf) >= 2 && spec.Second != nil && !spec.Second(b.buf[1]) {
			b.drop(1) // a head byte that starts no frame
			continue
		}
		if len(b.buf) < spec.Size {
			b.compact(spec.Size)
			return nil, false
		}
		f := b.buf[:spec.Size]
		if spec.Valid(f) {
			b.buf = b.buf[spec.Size:]
			b.compact(spec.Size)
			return f, true
		}
		b.Bad++
		b.drop(1)
	}
}

func (b *Buffer) drop(n int) {
	b.Skipped += n
	if n == len(b.buf) {
		b.buf = b.buf[:0] // keep the array for the next Write
		return
	}
	b.buf = b.buf[n:]
}

// compact moves leftovers to the front so the buffer never grows
// unbounded.
func (b *Buffer) compact(size int) {
	if cap(b.buf) > 8*size && len(b.buf) <= 2*size {
		b.buf = append(make([]byte, 0, 2*size), b.buf...)
	}
}
