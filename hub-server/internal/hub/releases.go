package hub

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/tufrepo"
)

// releasePublisher is the TUF repository as the console publishes
// releases into it (console.TargetPublisher). It reads the online keys
// at each publication, since hub-server release init may install them
// while the hub runs; without them the repository is not initialised.
type releasePublisher struct {
	st      tufrepo.Store
	dataDir string
}

func (p releasePublisher) AddTarget(ctx context.Context, artifact, targetsJSON []byte, now time.Time) (tufrepo.Added, error) {
	if p.dataDir == "" {
		return tufrepo.Added{}, fmt.Errorf("%w: the online keys live in a data directory (serve --data), none given", tufrepo.ErrNotInitialised)
	}
	keys, err := tufrepo.LoadOnlineKeys(p.dataDir)
	if errors.Is(err, os.ErrNotExist) {
		return tufrepo.Added{}, fmt.Errorf("%w: %w", tufrepo.ErrNotInitialised, err)
	} else if err != nil {
		return tufrepo.Added{}, fmt.Errorf("hub: release keys: %w", err)
	}
	return tufrepo.New(p.st, keys).AddTarget(ctx, artifact, targetsJSON, now)
}
