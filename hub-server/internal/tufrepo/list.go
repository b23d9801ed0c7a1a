package tufrepo

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

// ListStore is what Releases reads.
type ListStore interface {
	TUFMetadata(ctx context.Context, role string, version int64) (store.TUFMetadata, error)
	TUFTargets(ctx context.Context) ([]store.TUFTargetInfo, error)
}

// Release is a release the published targets.json lists.
type Release struct {
	Custom
	Target  string
	Length  int64
	SHA256  string
	AddedAt time.Time // when its artifact was stored; zero if it is not
}

// Releases lists the releases of the published targets.json, by target
// name; ErrNotInitialised before release init.
func Releases(ctx context.Context, st ListStore) ([]Release, error) {
	m, err := st.TUFMetadata(ctx, metadata.TARGETS, 0)
	if isNotFound(err) {
		return nil, ErrNotInitialised
	} else if err != nil {
		return nil, fmt.Errorf("tufrepo: targets: %w", err)
	}
	targets, err := ParseTargets(m.Body)
	if err != nil {
		return nil, err
	}
	stored, err := st.TUFTargets(ctx)
	if err != nil {
		return nil, fmt.Errorf("tufrepo: targets: %w", err)
	}
	added := map[string]time.Time{}
	for _, t := range stored {
		added[t.Name] = t.AddedAt
	}
	var out []Release
	for name, tf := range targets.Signed.Targets {
		rel := Release{Target: name, Length: tf.Length, SHA256: hex.EncodeToString(tf.Hashes["sha256"]), AddedAt: added[name]}
		if tf.Custom != nil {
			// A release without readable custom metadata is still listed;
			// its version stays empty.
			_ = json.Unmarshal(*tf.Custom, &rel.Custom)
		}
		out = append(out, rel)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Target < out[j].Target })
	return out, nil
}
