package framer

import (
	"bytes"
	"testing"
)

// A 4-byte frame: head 0xAA, kind 0x01, payload, and a tail byte that
// must equal the payload plus one.
var testSpec = Spec{
	Size:   4,
	Head:   0xAA,
	Second: func(b byte) bool { return b == 0x01 },
	Valid:  func(f []byte) bool { return f[3] == f[2]+1 },
}

func TestNext(t *testing.T) {
	var b Buffer
	// noise (2) · head with a wrong kind and the byte after it (2) · bad
	// candidate AA 01 05 00 (costs 1 byte, Bad 1; the 01 05 00 left is
	// noise, 3) · a frame split across writes · a trailing partial frame.
	in := []byte{0x10, 0x20, 0xAA, 0x02, 0xAA, 0x01, 0x05, 0x00, 0xAA, 0x01, 0x07, 0x08, 0xAA, 0x01}
	b.Write(in[:10])
	if f, ok := b.Next(testSpec); ok {
		t.Fatalf("frame % X before its end arrived", f)
	}
	b.Write(in[10:])
	f, ok := b.Next(testSpec)
	if !ok || !bytes.Equal(f, []byte{0xAA, 0x01, 0x07, 0x08}) {
		t.Fatalf("Next = % X %v, want AA 01 07 08", f, ok)
	}
	if _, ok := b.Next(testSpec); ok {
		t.Fatal("a second frame from a partial one")
	}
	if b.Skipped != 8 || b.Bad != 1 || b.Buffered() != 2 {
		t.Fatalf("Skipped %d, Bad %d, Buffered %d; want 8, 1, 2", b.Skipped, b.Bad, b.Buffered())
	}
	b.Reset()
	if b.Skipped != 10 || b.Buffered() != 0 {
		t.Fatalf("after Reset: Skipped %d, Buffered %d; want 10, 0", b.Skipped, b.Buffered())
	}
}

// TestBounded: however much noise comes, what stays buffered after Next
// returns false is less than one frame, and the array is given back.
func TestBounded(t *testing.T) {
	var b Buffer
	b.Write(bytes.Repeat([]byte{0xAA, 0x01, 0x00, 0x00}, 1000))
	for {
		if _, ok := b.Next(testSpec); !ok {
			break
		}
	}
	if b.Buffered() >= testSpec.Size || cap(b.buf) > 2*testSpec.Size*8 {
		t.Fatalf("after noise: %d buffered, capacity %d", b.Buffered(), cap(b.buf))
	}
}
