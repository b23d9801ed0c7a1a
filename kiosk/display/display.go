// Package display carries the hub's display settings (api.DisplaySettings)
// to the screen, without Fyne: the compositor's weston.ini with the
// rotation (WestonINI, from the file the agent keeps, CompositorFile),
// the night hours the window blanks the screen in (Blanker) and the
// panel's backlight (Panel).
//
// Rotation is the compositor's: a change rewrites CompositorFile, a
// systemd path unit (provisioning/session) restarts the compositor, whose
// ExecStartPre writes weston.ini again with `kiosk session weston-ini`.
// Night blanking is the window's: it changes nothing but what is shown.
package display

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/internal/atomicfile"
)

// CompositorFile, in the agent's data directory, holds what the
// compositor takes from the hub's settings. It changes only when those
// do, so that writing it can restart the compositor.
const CompositorFile = "compositor.json"

// maxCompositorFile bounds what ReadCompositor reads.
const maxCompositorFile = 4 << 10

// Compositor is what the compositor takes from the hub's settings.
type Compositor struct {
	// Rotation is api.DisplaySettings.Rotation: 0, 90, 180 or 270.
	Rotation int `json:"rotation"`
}

// CompositorOf is the compositor's part of settings s (nil: defaults).
func CompositorOf(s *api.TerminalSettings) Compositor {
	if s == nil || s.Display == nil {
		return Compositor{}
	}
	return Compositor{Rotation: s.Display.Rotation}
}

// WriteCompositor stores c in dir's CompositorFile unless it holds c
// already, and reports whether it wrote.
func WriteCompositor(dir string, c Compositor) (changed bool, err error) {
	if old, err := ReadCompositor(dir); err == nil && old == c {
		if _, serr := os.Stat(filepath.Join(dir, CompositorFile)); serr == nil {
			return false, nil
		}
	}
	b, err := json.Marshal(c)
	if err != nil {
		return false, fmt.Errorf("display: %w", err)
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, CompositorFile), append(b, '\n'), 0o600); err != nil {
		return false, fmt.Errorf("display: %w", err)
	}
	return true, nil
}

// ReadCompositor reads dir's CompositorFile; without one it returns the
// defaults (rotation 0). A file that is too large, not JSON or out of
// range is an error: the caller runs with the defaults then.
func ReadCompositor(dir string) (Compositor, error) {
	var c Compositor
	f, err := os.Open(filepath.Join(dir, CompositorFile))
	if errors.Is(err, os.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("display: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxCompositorFile+1))
	if err != nil {
		return c, fmt.Errorf("display: %s: %w", CompositorFile, err)
	}
	if len(b) > maxCompositorFile {
		return c, fmt.Errorf("display: %s is larger than %d bytes", CompositorFile, maxCompositorFile)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Compositor{}, fmt.Errorf("display: %s: %w", CompositorFile, err)
	}
	if err := (&api.DisplaySettings{Rotation: c.Rotation}).Validate(); err != nil {
		return Compositor{}, fmt.Errorf("display: %s: %w", CompositorFile, err)
	}
	return c, nil
}

// FromDocument is the display section of a configuration document as
// the agent's local API returns it (nil when there is none). The agent
// validated the document before it took it; it is checked again here
// because the window must not trust a value it acts on.
func FromDocument(doc json.RawMessage) (*api.DisplaySettings, error) {
	if len(doc) == 0 {
		return nil, nil
	}
	var c struct {
		Settings *struct {
			Display *api.DisplaySettings `json:"display"`
		} `json:"settings"`
	}
	if err := json.Unmarshal(doc, &c); err != nil {
		return nil, fmt.Errorf("display: configuration: %w", err)
	}
	if c.Settings == nil || c.Settings.Display == nil {
		return nil, nil
	}
	if err := c.Settings.Display.Validate(); err != nil {
		return nil, fmt.Errorf("display: %w", err)
	}
	return c.Settings.Display, nil
}
