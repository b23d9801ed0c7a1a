package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/quartierhub/quartierhub/assets"
	"github.com/quartierhub/quartierhub/hub-server/api"
)

// content is what the terminal shows: the content of the hub's
// configuration (fleet.go) if the terminal has one, else DATA/content.json
// if it is there and valid, else the embedded demo content.
func (a *Agent) content() (api.Content, error) {
	if c, ok := a.RemoteContent(); ok {
		return c, nil
	}
	path := filepath.Join(a.opts.DataDir, ContentFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return assets.DemoContent()
	}
	if err != nil {
		return api.Content{}, fmt.Errorf("agent: content: %w", err)
	}
	var c api.Content
	if err := json.Unmarshal(b, &c); err != nil {
		return api.Content{}, fmt.Errorf("agent: %s: %w", path, err)
	}
	if err := c.Validate(); err != nil {
		return api.Content{}, fmt.Errorf("agent: %s: %w", path, err)
	}
	return c, nil
}
