package tufrepo

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// RenewRoot returns previous re-signed as the next version with a new
// expiry, the same keys and thresholds, signed by rootKeys (offline, at
// least the root's threshold of them: two of the ceremony's three).
// A root expires (RootLifetime), and a client refuses an expired final
// root, so it is renewed before, like targets.json.
func RenewRoot(previous []byte, rootKeys []ed25519.PrivateKey, expires time.Time) ([]byte, error) {
	prev, err := ParseRoot(previous)
	if err != nil {
		return nil, err
	}
	if err := prev.VerifyDelegate(metadata.ROOT, prev); err != nil {
		return nil, fmt.Errorf("tufrepo: previous root.json: %w", err)
	}
	next, err := ParseRoot(previous)
	if err != nil {
		return nil, err
	}
	next.ClearSignatures()
	next.Signed.Version = prev.Signed.Version + 1
	next.Signed.Expires = expires.UTC().Truncate(time.Second)
	for _, k := range rootKeys {
		if err := checkRoleKey(prev, metadata.ROOT, k); err != nil {
			return nil, err
		}
		if err := signWith(next, k); err != nil {
			return nil, err
		}
	}
	if err := prev.VerifyDelegate(metadata.ROOT, next); err != nil {
		return nil, fmt.Errorf("tufrepo: %d of the root keys signed, the root needs %d: %w", len(rootKeys), prev.Signed.Roles[metadata.ROOT].Threshold, err)
	}
	b, err := next.ToBytes(true)
	if err != nil {
		return nil, fmt.Errorf("tufrepo: root.json: %w", err)
	}
	return b, nil
}

// AddRoot publishes a new root.json: one version above the trusted root,
// signed by the trusted root's root threshold and by its own (what a
// client checks when it walks from its pinned root), using consistent
// snapshots, not expired, still trusting the hub's online keys, and
// trusting the keys that signed the published targets.json, so that
// clients keep accepting the repository.
func (r *Repo) AddRoot(ctx context.Context, rootJSON []byte, now time.Time) (int64, error) {
	// What needs no store first: a bad upload costs no database read.
	root, err := ParseRoot(rootJSON)
	if err != nil {
		return 0, err
	}
	if err := root.VerifyDelegate(metadata.ROOT, root); err != nil {
		return 0, fmt.Errorf("%w: root.json is not signed by its own root keys: %w", ErrRejected, err)
	}
	if !root.Signed.ConsistentSnapshot {
		return 0, fmt.Errorf("%w: root.json: consistent snapshots are off", ErrRejected)
	}
	if root.Signed.IsExpired(now) {
		return 0, fmt.Errorf("%w: root.json expired at %s", ErrRejected, root.Signed.Expires)
	}
	trusted, err := r.trustedRoot(ctx)
	if err != nil {
		return 0, err
	}
	if root.Signed.Version != trusted.Signed.Version+1 {
		return 0, fmt.Errorf("%w: root.json version %d, want %d (one above the published)", ErrRejected, root.Signed.Version, trusted.Signed.Version+1)
	}
	if err := trusted.VerifyDelegate(metadata.ROOT, root); err != nil {
		return 0, fmt.Errorf("%w: root.json is not signed by the published root's root keys: %w", ErrRejected, err)
	}
	for role, k := range map[string]ed25519.PrivateKey{metadata.SNAPSHOT: r.keys.Snapshot, metadata.TIMESTAMP: r.keys.Timestamp} {
		if err := checkRoleKey(root, role, k); err != nil {
			return 0, fmt.Errorf("%w: root.json no longer trusts the hub's %s key", ErrRejected, role)
		}
	}
	cur, err := r.st.TUFMetadata(ctx, metadata.TARGETS, 0)
	if err != nil {
		return 0, fmt.Errorf("tufrepo: root: %w", err)
	}
	targets, err := ParseTargets(cur.Body)
	if err != nil {
		return 0, err
	}
	if err := root.VerifyDelegate(metadata.TARGETS, targets); err != nil {
		return 0, fmt.Errorf("%w: root.json does not trust the keys that signed the published targets.json: %w", ErrRejected, err)
	}
	err = r.st.PublishTUF(ctx, []store.TUFMetadata{{Role: metadata.ROOT, Version: root.Signed.Version, Body: rootJSON, AddedAt: now.UTC()}}, nil)
	if err != nil {
		return 0, fmt.Errorf("tufrepo: root: %w", err)
	}
	return root.Signed.Version, nil
}
