package store

import (
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
)

// Screenshot is a picture of a terminal's window it uploaded for a
// screenshot command.
type Screenshot struct {
	ScreenshotInfo
	PNG []byte
}

// ScreenshotInfo describes a stored screenshot without its bytes.
type ScreenshotInfo struct {
	ID            string
	TerminalID    string
	CommandID     string
	ReceivedAt    time.Time
	Width, Height int
	Size          int64 // bytes of the PNG
}

// ScreenshotKeep bounds the stored screenshots (SaveScreenshot).
type ScreenshotKeep struct {
	PerTerminal int   // newest pictures kept per terminal, at least 1
	TotalBytes  int64 // of all pictures together
}

// ScreenshotWanted reports whether command c takes a screenshot received
// at at (SaveScreenshot): ErrNotFound if it is not a screenshot command,
// ErrCommandClosed if it finished or expired.
func ScreenshotWanted(c Command, at time.Time) error {
	switch {
	case c.Kind != api.CommandScreenshot:
		return ErrNotFound
	case c.State != api.CommandQueued && c.State != api.CommandDelivered, !at.Before(c.ExpiresAt):
		return ErrCommandClosed
	}
	return nil
}
