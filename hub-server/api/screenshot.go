package api

import (
	"bytes"
	"errors"
	"fmt"
	"image/png"
)

// ScreenshotPath is where a terminal uploads the picture for command id.
func ScreenshotPath(id string) string { return PathCommands + "/" + id + "/screenshot" }

// Screenshot limits.
const (
	// MaxScreenshotBytes is the largest PNG a terminal may upload.
	MaxScreenshotBytes = 4 << 20
	// MaxScreenshotSide is the widest and tallest picture, in pixels.
	MaxScreenshotSide = 8192
	// MaxScreenshotPixels bounds width × height (a 4K screen has 8.3 M):
	// what a browser showing it must decode.
	MaxScreenshotPixels = 4096 * 4096
)

// ScreenshotAck answers a stored screenshot.
type ScreenshotAck struct {
	ID string `json:"id"`
}

// Reasons a command failed that the console translates ([CommandResult]
// Reason). The texts are what the hub stores and the CLI shows.
const (
	// ReasonResidentSession: the window refused a screenshot because a
	// resident is using the terminal (what they type is theirs).
	ReasonResidentSession = "resident_session"
	// ReasonNoWindow: no window is attached to the agent.
	ReasonNoWindow = "no_window"
	// ReasonWindowSilent: the window did not answer in time.
	ReasonWindowSilent = "window_silent"
)

// ResultReasons lists the reasons in ReasonText.
var ResultReasons = []string{ReasonResidentSession, ReasonNoWindow, ReasonWindowSilent}

var reasonTexts = map[string]string{
	ReasonResidentSession: "refused: a resident is using the terminal",
	ReasonNoWindow:        "no window is attached to the agent",
	ReasonWindowSilent:    "the window did not answer in time",
}

// ReasonText is the stored text of a result reason, "" for an unknown one.
func ReasonText(reason string) string { return reasonTexts[reason] }

// ReasonOf is the reason whose text is result, if any.
func ReasonOf(result string) (string, bool) {
	for r, t := range reasonTexts {
		if t == result {
			return r, true
		}
	}
	return "", false
}

// pngSignature starts every PNG; pngEnd (an empty IEND chunk with its
// CRC) ends every complete one.
var (
	pngSignature = []byte("\x89PNG\r\n\x1a\n")
	pngEnd       = []byte("\x00\x00\x00\x00IEND\xaeB`\x82")
)

// ErrNotPNG is wrapped by CheckScreenshot's refusals.
var ErrNotPNG = errors.New("api: not a screenshot PNG")

// CheckScreenshot reads a screenshot's size without decoding its pixels:
// b must be at most MaxScreenshotBytes, start with the PNG signature and
// a well-formed header, end with the IEND chunk (so a cut upload is not
// stored), and be at most MaxScreenshotSide wide and tall and
// MaxScreenshotPixels in all.
func CheckScreenshot(b []byte) (width, height int, err error) {
	switch {
	case len(b) > MaxScreenshotBytes:
		return 0, 0, fmt.Errorf("%w: larger than %d bytes", ErrNotPNG, MaxScreenshotBytes)
	case !bytes.HasPrefix(b, pngSignature):
		return 0, 0, fmt.Errorf("%w: no PNG signature", ErrNotPNG)
	case !bytes.HasSuffix(b, pngEnd):
		return 0, 0, fmt.Errorf("%w: does not end with IEND (cut off?)", ErrNotPNG)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return 0, 0, fmt.Errorf("%w: %v", ErrNotPNG, err)
	}
	w, h := cfg.Width, cfg.Height
	switch {
	case w <= 0 || h <= 0:
		return 0, 0, fmt.Errorf("%w: empty picture", ErrNotPNG)
	case w > MaxScreenshotSide || h > MaxScreenshotSide || int64(w)*int64(h) > MaxScreenshotPixels:
		return 0, 0, fmt.Errorf("%w: %d × %d pixels is more than %d × %d or %d pixels", ErrNotPNG, w, h, MaxScreenshotSide, MaxScreenshotSide, MaxScreenshotPixels)
	}
	return w, h, nil
}
