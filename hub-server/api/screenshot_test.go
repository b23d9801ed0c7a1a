package api_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"testing"

	"github.com/quartierhub/quartierhub/hub-server/api"
)

// pngOf encodes a w × h picture.
func pngOf(t testing.TB, w, h int) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = byte(i * 7)
	}
	img.Set(0, 0, color.NRGBA{R: 200, A: 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// claiming rewrites a PNG's header to claim w × h pixels (with a valid
// CRC), leaving its pixel data as it was: a decompression bomb's shape.
func claiming(b []byte, w, h uint32) []byte {
	out := bytes.Clone(b)
	binary.BigEndian.PutUint32(out[16:], w)
	binary.BigEndian.PutUint32(out[20:], h)
	binary.BigEndian.PutUint32(out[29:], crc32.ChecksumIEEE(out[12:29]))
	return out
}

func TestCheckScreenshot(t *testing.T) {
	good := pngOf(t, 64, 40)
	if w, h, err := api.CheckScreenshot(good); err != nil || w != 64 || h != 40 {
		t.Fatalf("a 64 × 40 PNG: %d × %d, %v", w, h, err)
	}
	if w, h, err := api.CheckScreenshot(claiming(good, 3840, 2160)); err != nil || w != 3840 || h != 2160 {
		t.Fatalf("a 4K header: %d × %d, %v", w, h, err)
	}
	jpeg := []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00")
	for name, b := range map[string][]byte{
		"empty":               nil,
		"JPEG":                jpeg,
		"cut off":             good[:len(good)-20],
		"signature only":      append([]byte("\x89PNG\r\n\x1a\n"), good[len(good)-12:]...),
		"bad header CRC":      func() []byte { b := bytes.Clone(good); b[20] ^= 1; return b }(),
		"zero wide":           claiming(good, 0, 10),
		"too wide":            claiming(good, api.MaxScreenshotSide+1, 10),
		"too many pixels":     claiming(good, 8000, 8000),
		"larger than allowed": append(bytes.Clone(good[:len(good)-12]), append(make([]byte, api.MaxScreenshotBytes), good[len(good)-12:]...)...),
	} {
		if w, h, err := api.CheckScreenshot(b); !errors.Is(err, api.ErrNotPNG) {
			t.Errorf("%s: %d × %d, %v; want ErrNotPNG", name, w, h, err)
		}
	}
}

// A result reason's text reads back as the reason; other texts do not.
func TestReasonText(t *testing.T) {
	for _, r := range api.ResultReasons {
		text := api.ReasonText(r)
		if got, ok := api.ReasonOf(text); text == "" || !ok || got != r {
			t.Errorf("%s: text %q reads back as %q, %v", r, text, got, ok)
		}
	}
	if r, ok := api.ReasonOf("sent 3 records in 1 batches"); ok {
		t.Errorf("an ordinary result reads as reason %q", r)
	}
	if api.ReasonText("sparkle") != "" {
		t.Error("an unknown reason has a text")
	}
}

func FuzzCheckScreenshot(f *testing.F) {
	good := pngOf(f, 8, 5)
	f.Add(good)
	f.Add(claiming(good, 9000, 2))
	f.Add(claiming(good, 5000, 5000))
	f.Add(good[:40])
	f.Add([]byte("\x89PNG\r\n\x1a\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		w, h, err := api.CheckScreenshot(b)
		if err != nil {
			if !errors.Is(err, api.ErrNotPNG) {
				t.Fatalf("error %v is not ErrNotPNG", err)
			}
			return
		}
		if w <= 0 || h <= 0 || w > api.MaxScreenshotSide || h > api.MaxScreenshotSide || w*h > api.MaxScreenshotPixels || len(b) > api.MaxScreenshotBytes {
			t.Fatalf("accepted %d × %d, %d bytes", w, h, len(b))
		}
		cfg, err := png.DecodeConfig(bytes.NewReader(b))
		if err != nil || cfg.Width != w || cfg.Height != h {
			t.Fatalf("accepted %d × %d; the PNG decoder reads %+v, %v", w, h, cfg, err)
		}
	})
}
