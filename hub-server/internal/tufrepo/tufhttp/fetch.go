package tufhttp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/quartierhub/quartierhub/hub-server/internal/tufrepo"
)

// FetchTargets fetches the targets.json a hub publishes (timestamp.json,
// then the snapshot it names, then the targets.json that names), for the
// release signer who has no access to the hub's database. It checks no
// signature: the signer's tufrepo.SignTargets accepts it only if the
// trusted root's targets keys signed it, and the hub refuses a new
// targets.json whose version is not above the published one, so a hub
// answering with an old file only wastes a signature.
func FetchTargets(ctx context.Context, c *http.Client, hubURL string) ([]byte, error) {
	base := strings.TrimRight(hubURL, "/") + Prefix + "metadata/"
	stampBody, err := get(ctx, c, base+"timestamp.json")
	if err != nil {
		return nil, err
	}
	stamp, err := (&metadata.Metadata[metadata.TimestampType]{}).FromBytes(stampBody)
	if err != nil {
		return nil, fmt.Errorf("tufhttp: timestamp.json: %w", err)
	}
	sm := stamp.Signed.Meta["snapshot.json"]
	if sm == nil || sm.Version < 1 {
		return nil, errors.New("tufhttp: timestamp.json names no snapshot")
	}
	snapBody, err := get(ctx, c, base+strconv.FormatInt(sm.Version, 10)+".snapshot.json")
	if err != nil {
		return nil, err
	}
	snap, err := (&metadata.Metadata[metadata.SnapshotType]{}).FromBytes(snapBody)
	if err != nil {
		return nil, fmt.Errorf("tufhttp: snapshot.json: %w", err)
	}
	tm := snap.Signed.Meta["targets.json"]
	if tm == nil || tm.Version < 1 {
		return nil, errors.New("tufhttp: snapshot.json names no targets.json")
	}
	body, err := get(ctx, c, base+strconv.FormatInt(tm.Version, 10)+".targets.json")
	if err != nil {
		return nil, err
	}
	if _, err := tufrepo.ParseTargets(body); err != nil {
		return nil, err
	}
	return body, nil
}

// get fetches url, at most tufrepo.MaxMetadataBytes.
func get(ctx context.Context, c *http.Client, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("tufhttp: %w", err)
	}
	res, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("tufhttp: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("tufhttp: GET %s: %s", url, res.Status)
	}
	b, err := io.ReadAll(io.LimitReader(res.Body, tufrepo.MaxMetadataBytes+1))
	if err != nil {
		return nil, fmt.Errorf("tufhttp: GET %s: %w", url, err)
	}
	if len(b) > tufrepo.MaxMetadataBytes {
		return nil, fmt.Errorf("tufhttp: GET %s: larger than %d bytes", url, tufrepo.MaxMetadataBytes)
	}
	return b, nil
}
