package api_test

import (
	"bytes"
	"errors"
	"image/png"
	"testing"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/internal/testutil"
)

func TestCheckScreenshot(t *testing.T) {
	good := testutil.PNG(t, 64, 40)
	if w, h, err := api.CheckScreenshot(good); err != nil || w != 64 || h != 40 {
		t.Fatalf("a 64 × 40 PNG: %d × %d, %v", w, h, err)
	}
	if w, h, err := api.CheckScreenshot(testutil.PNGClaiming(good, 3840, 2160)); err != nil || w != 3840 || h != 2160 {
		t.Fatalf("a 4K header: %d × %d, %v", w, h, err)
	}
	jpeg := []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00")
	for name, b := range map[string][]byte{
		"empty":               nil,
		"JPEG":                jpeg,
		"cut off":             good[:len(good)-20],
		"signature only":      append([]byte("\x89PNG\r\n\x1a\n"), good[len(good)-12:]...),
		"bad header CRC":      func() []byte { b := bytes.Clone(good); b[20] ^= 1; return b }(),
		"zero wide":           testutil.PNGClaiming(good, 0, 10),
		"too wide":            testutil.PNGClaiming(good, api.MaxScreenshotSide+1, 10),
		"too many pixels":     testutil.PNGClaiming(good, 8000, 8000),
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
	good := testutil.PNG(f, 8, 5)
	f.Add(good)
	f.Add(testutil.PNGClaiming(good, 9000, 2))
	f.Add(testutil.PNGClaiming(good, 5000, 5000))
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
