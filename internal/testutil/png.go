package testutil

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"testing"
)

// PNG encodes a w × h picture with a colour gradient (no two
// neighbouring pixels alike, so it does not compress to nothing), as a
// window's screenshot would be.
func PNG(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.NRGBA{R: byte(x * 3), G: byte(y * 5), B: byte((x + y) * 7), A: 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// PNGClaiming rewrites a PNG's header (its IHDR chunk, with a valid CRC)
// to claim w × h pixels, leaving the pixel data as it was: a
// decompression bomb's shape, a few bytes that say gigabytes.
func PNGClaiming(b []byte, w, h uint32) []byte {
	out := bytes.Clone(b)
	binary.BigEndian.PutUint32(out[16:], w)
	binary.BigEndian.PutUint32(out[20:], h)
	binary.BigEndian.PutUint32(out[29:], crc32.ChecksumIEEE(out[12:29]))
	return out
}
