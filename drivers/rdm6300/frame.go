package rdm6300

import (
	"encoding/hex"
	"fmt"

	"github.com/quartierhub/quartierhub/drivers/internal/framer"
)

const (
	stx      = 0x02
	etx      = 0x03
	frameLen = 14
)

// Encode returns the 14-byte frame for a 5-byte card id (version + tag).
func Encode(id [5]byte) []byte {
	var sum byte
	for _, b := range id {
		sum ^= b
	}
	f := make([]byte, 0, frameLen)
	f = append(f, stx)
	f = hex.AppendEncode(f, id[:])
	f = hex.AppendEncode(f, []byte{sum})
	f = append(f, etx)
	return upper(f)
}

// ParseUID parses a 10-character hex card id such as "01004CA53B".
func ParseUID(s string) ([5]byte, error) {
	var id [5]byte
	if len(s) != 10 {
		return id, fmt.Errorf("rdm6300: card id %q: want 10 hex characters", s)
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return id, fmt.Errorf("rdm6300: card id %q: %w", s, err)
	}
	return id, nil
}

func upper(b []byte) []byte {
	for i, c := range b {
		if c >= 'a' && c <= 'f' {
			b[i] = c - 'a' + 'A'
		}
	}
	return b
}

// Scanner finds valid frames in a byte stream that arrives in arbitrary
// chunks. It keeps leftovers between writes, hunts for STX, and on a bad
// frame drops one byte and rescans, since a real STX may sit inside it.
type Scanner struct {
	// Buffer keeps leftovers and counts Skipped bytes (noise or parts of
	// bad frames) and Bad candidates (wrong ETX, non-hex, checksum).
	framer.Buffer
}

var frameSpec = framer.Spec{
	Size:  frameLen,
	Head:  stx,
	Valid: func(f []byte) bool { _, ok := decode(f); return ok },
}

// Next returns the next valid card id in the stream, if a whole one is in.
func (s *Scanner) Next() ([5]byte, bool) {
	f, ok := s.Buffer.Next(frameSpec)
	if !ok {
		return [5]byte{}, false
	}
	id, _ := decode(f)
	return id, true
}

func decode(f []byte) ([5]byte, bool) {
	var id [5]byte
	if f[0] != stx || f[frameLen-1] != etx {
		return id, false
	}
	var raw [6]byte
	for i := range raw {
		hi, ok1 := unhex(f[1+2*i])
		lo, ok2 := unhex(f[2+2*i])
		if !ok1 || !ok2 {
			return id, false
		}
		raw[i] = hi<<4 | lo
	}
	var sum byte
	for _, b := range raw[:5] {
		sum ^= b
	}
	if sum != raw[5] {
		return id, false
	}
	copy(id[:], raw[:5])
	return id, true
}

// unhex accepts upper- and lowercase hex: some clones send lowercase.
func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}
