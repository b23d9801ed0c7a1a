// Package tufrepo is the hub's TUF repository (The Update Framework,
// github.com/theupdateframework/go-tuf/v2): releases of the kiosk are TUF
// targets that terminals' updaters verify before installing.
//
// Who signs what (issue 13's decisions): the root keys (2 of 3) and the
// targets key stay offline (Ceremony, SignTargets); the hub holds only
// the snapshot and timestamp keys. So the hub alone cannot publish a
// release: AddTarget accepts only a targets.json signed by the keys and
// threshold the trusted root names for targets, and no code path here
// signs targets with an online key. Consistent snapshots are on: every
// version of targets and snapshot stays stored and addressable, and
// artifacts are served under their SHA-256.
//
// The repository lives in the store (store.TUF), so every hub process on
// one PostgreSQL database serves the same files and each publication is
// one transaction. The engine has no HTTP; package tufhttp serves it.
package tufrepo

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// Bounds of input from outside the hub.
const (
	// MaxMetadataBytes bounds a metadata file read or uploaded (a
	// targets.json lists about 300 bytes per release).
	MaxMetadataBytes = 1 << 20
	// MaxArtifactBytes bounds a release artifact.
	MaxArtifactBytes = 512 << 20
	// maxTargets bounds the releases one targets.json lists.
	maxTargets = 1000
)

// Errors of the repository; each is wrapped with details.
var (
	ErrNotInitialised = errors.New("tufrepo: repository not initialised (hub-server release init)")
	ErrInitialised    = errors.New("tufrepo: repository already initialised")
	ErrRejected       = errors.New("tufrepo: metadata rejected")
)

// Store is the part of the hub's store the repository uses.
type Store interface {
	PublishTUF(ctx context.Context, metas []store.TUFMetadata, target *store.TUFTarget) error
	TUFMetadata(ctx context.Context, role string, version int64) (store.TUFMetadata, error)
	TUFTarget(ctx context.Context, name string) (store.TUFTarget, error)
}

// OnlineKeys are the keys the hub signs with.
type OnlineKeys struct {
	Snapshot, Timestamp ed25519.PrivateKey
}

// KeyDir is where the online keys live in the hub's data directory.
func KeyDir(dataDir string) string { return filepath.Join(dataDir, "tuf") }

// InstallOnlineKeys copies the ceremony's snapshot and timestamp keys
// into the hub's data directory (KeyDir), 0600. A key already installed
// is kept if it is the same key (so release init may be run again after
// a failure) and refused if it is another.
func InstallOnlineKeys(dataDir, snapshotKey, timestampKey string) error {
	dir := KeyDir(dataDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("tufrepo: key directory: %w", err)
	}
	for src, dst := range map[string]string{snapshotKey: SnapshotKeyFile, timestampKey: TimestampKeyFile} {
		k, err := ReadKey(src)
		if err != nil {
			return err
		}
		path := filepath.Join(dir, dst)
		if have, err := ReadKey(path); err == nil {
			if !have.Equal(k) {
				return fmt.Errorf("tufrepo: %s holds another key; the hub's online keys are replaced only with a new root", path)
			}
			continue
		} else if !errors.Is(err, os.ErrNotExist) {
			return err
		}
		if err := WriteKey(path, k); err != nil {
			return err
		}
	}
	return nil
}

// LoadOnlineKeys reads the keys InstallOnlineKeys installed.
func LoadOnlineKeys(dataDir string) (OnlineKeys, error) {
	s, err := ReadKey(filepath.Join(KeyDir(dataDir), SnapshotKeyFile))
	if err != nil {
		return OnlineKeys{}, err
	}
	t, err := ReadKey(filepath.Join(KeyDir(dataDir), TimestampKeyFile))
	if err != nil {
		return OnlineKeys{}, err
	}
	return OnlineKeys{Snapshot: s, Timestamp: t}, nil
}

// Repo is the repository on a store, signing with the online keys. Safe
// for concurrent use, also by several processes on one store: the store
// refuses a second publication of a version, and Repo then rereads.
type Repo struct {
	st   Store
	keys OnlineKeys
}

// New returns the repository on st.
func New(st Store, keys OnlineKeys) *Repo { return &Repo{st: st, keys: keys} }

// ParseRoot parses a root.json of at most MaxMetadataBytes (no signature
// check) whose keys are all usable.
func ParseRoot(b []byte) (*metadata.Metadata[metadata.RootType], error) {
	root, err := parse[metadata.RootType]("root.json", b)
	if err != nil {
		return nil, err
	}
	for id, k := range root.Signed.Keys {
		if err := checkPublicKey(k); err != nil {
			return nil, fmt.Errorf("%w: root.json: key %.16s: %w", ErrRejected, id, err)
		}
	}
	return root, nil
}

// checkPublicKey refuses a key go-tuf would accept and then panic on:
// crypto/ed25519 panics verifying with a public key that is not 32 bytes
// long, and go-tuf v2.4.2 does not check the length (fixed upstream in
// go-tuf#739). Found by FuzzAddRoot.
func checkPublicKey(k *metadata.Key) error {
	pub, err := k.ToPublicKey()
	if err != nil {
		return err
	}
	if ek, ok := pub.(ed25519.PublicKey); ok && len(ek) != ed25519.PublicKeySize {
		return fmt.Errorf("ed25519 public key of %d bytes, want %d", len(ek), ed25519.PublicKeySize)
	}
	return nil
}

// ParseTargets parses a targets.json of at most MaxMetadataBytes (no
// signature check).
func ParseTargets(b []byte) (*metadata.Metadata[metadata.TargetsType], error) {
	return parse[metadata.TargetsType]("targets.json", b)
}

func parse[T metadata.Roles](what string, b []byte) (*metadata.Metadata[T], error) {
	if len(b) > MaxMetadataBytes {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrRejected, what, MaxMetadataBytes)
	}
	m, err := (&metadata.Metadata[T]{}).FromBytes(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrRejected, what, err)
	}
	return m, nil
}

// Init publishes the ceremony's root.json and targets.json (which lists
// no release) with a first snapshot and timestamp. The root must be
// signed by its own threshold, use consistent snapshots and trust the
// online keys for snapshot and timestamp.
func (r *Repo) Init(ctx context.Context, rootJSON, targetsJSON []byte, now time.Time) error {
	if _, err := r.st.TUFMetadata(ctx, metadata.ROOT, 0); err == nil {
		return ErrInitialised
	} else if !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("tufrepo: init: %w", err)
	}
	root, err := ParseRoot(rootJSON)
	if err != nil {
		return err
	}
	if err := root.VerifyDelegate(metadata.ROOT, root); err != nil {
		return fmt.Errorf("%w: root.json: %w", ErrRejected, err)
	}
	if !root.Signed.ConsistentSnapshot {
		return fmt.Errorf("%w: root.json: consistent snapshots are off", ErrRejected)
	}
	if root.Signed.IsExpired(now) {
		return fmt.Errorf("%w: root.json expired at %s", ErrRejected, root.Signed.Expires)
	}
	if err := checkRoleKey(root, metadata.SNAPSHOT, r.keys.Snapshot); err != nil {
		return err
	}
	if err := checkRoleKey(root, metadata.TIMESTAMP, r.keys.Timestamp); err != nil {
		return err
	}
	targets, err := r.verifyTargets(ctx, root, targetsJSON, nil, now)
	if err != nil {
		return err
	}
	metas, err := r.signSnapshot(targets.Signed.Version, 1, 1, now)
	if err != nil {
		return err
	}
	at := now.UTC()
	metas = append([]store.TUFMetadata{
		{Role: metadata.ROOT, Version: root.Signed.Version, Body: rootJSON, AddedAt: at},
		{Role: metadata.TARGETS, Version: targets.Signed.Version, Body: targetsJSON, AddedAt: at},
	}, metas...)
	if err := r.st.PublishTUF(ctx, metas, nil); err != nil {
		return fmt.Errorf("tufrepo: init: %w", err)
	}
	return nil
}

// Added is what AddTarget published.
type Added struct {
	Target                   string // the artifact's target name
	Targets, Snapshot, Stamp int64  // the new versions
}

// AddTarget publishes a targets.json signed offline (SignTargets) with the
// artifact it adds: the signatures must meet the trusted root's targets
// role and threshold, the version must be above the published one, and
// every target it lists must be either the artifact (same length and
// SHA-256) or an artifact already stored. It then signs a new snapshot
// and timestamp. Nothing is stored when anything is refused.
func (r *Repo) AddTarget(ctx context.Context, artifact, targetsJSON []byte, now time.Time) (Added, error) {
	if len(artifact) > MaxArtifactBytes {
		return Added{}, fmt.Errorf("%w: artifact is larger than %d bytes", ErrRejected, MaxArtifactBytes)
	}
	// Malformed input is refused before the store is read.
	if _, err := ParseTargets(targetsJSON); err != nil {
		return Added{}, err
	}
	for attempt := 0; ; attempt++ {
		a, err := r.addTarget(ctx, artifact, targetsJSON, now)
		// Another process published meanwhile: check again against what
		// it published.
		if errors.Is(err, store.ErrVersionConflict) && attempt < 3 && ctx.Err() == nil {
			continue
		}
		return a, err
	}
}

func (r *Repo) addTarget(ctx context.Context, artifact, targetsJSON []byte, now time.Time) (Added, error) {
	root, err := r.trustedRoot(ctx)
	if err != nil {
		return Added{}, err
	}
	var art *store.TUFTarget
	if artifact != nil {
		sum := sha256.Sum256(artifact)
		art = &store.TUFTarget{TUFTargetInfo: store.TUFTargetInfo{SHA256: hex.EncodeToString(sum[:]), Length: int64(len(artifact)),
			AddedAt: now.UTC()}, Body: artifact}
	}
	targets, err := r.verifyTargets(ctx, root, targetsJSON, art, now)
	if err != nil {
		return Added{}, err
	}
	cur, err := r.st.TUFMetadata(ctx, metadata.TARGETS, 0)
	if err != nil {
		return Added{}, fmt.Errorf("tufrepo: add: %w", err)
	}
	if targets.Signed.Version <= cur.Version {
		return Added{}, fmt.Errorf("%w: targets.json version %d is not above the published %d", ErrRejected, targets.Signed.Version, cur.Version)
	}
	snap, err := r.newest(ctx, metadata.SNAPSHOT)
	if err != nil {
		return Added{}, err
	}
	stamp, err := r.newest(ctx, metadata.TIMESTAMP)
	if err != nil {
		return Added{}, err
	}
	metas, err := r.signSnapshot(targets.Signed.Version, snap+1, stamp+1, now)
	if err != nil {
		return Added{}, err
	}
	metas = append([]store.TUFMetadata{{Role: metadata.TARGETS, Version: targets.Signed.Version, Body: targetsJSON, AddedAt: now.UTC()}}, metas...)
	if err := r.st.PublishTUF(ctx, metas, art); err != nil {
		return Added{}, fmt.Errorf("tufrepo: add: %w", err)
	}
	a := Added{Targets: targets.Signed.Version, Snapshot: snap + 1, Stamp: stamp + 1}
	if art != nil {
		a.Target = art.Name
	}
	return a, nil
}

// targetNameRE: path segments that start with a letter or digit (so no
// "." or ".." and no empty segment), as URLs and file names take them.
var targetNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+~-]*(/[A-Za-z0-9][A-Za-z0-9._+~-]*)*$`)

// verifyTargets checks targetsJSON against root and what is stored, and
// names art after the target it is (art may be nil).
func (r *Repo) verifyTargets(ctx context.Context, root *metadata.Metadata[metadata.RootType], targetsJSON []byte,
	art *store.TUFTarget, now time.Time) (*metadata.Metadata[metadata.TargetsType], error) {
	targets, err := ParseTargets(targetsJSON)
	if err != nil {
		return nil, err
	}
	if err := root.VerifyDelegate(metadata.TARGETS, targets); err != nil {
		return nil, fmt.Errorf("%w: targets.json is not signed by the root's targets keys: %w", ErrRejected, err)
	}
	if targets.Signed.IsExpired(now) {
		return nil, fmt.Errorf("%w: targets.json expired at %s", ErrRejected, targets.Signed.Expires)
	}
	if targets.Signed.Delegations != nil {
		return nil, fmt.Errorf("%w: targets.json delegates, which this repository does not serve", ErrRejected)
	}
	if len(targets.Signed.Targets) > maxTargets {
		return nil, fmt.Errorf("%w: targets.json lists more than %d targets", ErrRejected, maxTargets)
	}
	for name, tf := range targets.Signed.Targets {
		if len(name) > 255 || !targetNameRE.MatchString(name) {
			return nil, fmt.Errorf("%w: target name %q", ErrRejected, name)
		}
		sum := hex.EncodeToString(tf.Hashes["sha256"])
		if len(tf.Hashes["sha256"]) != sha256.Size || tf.Length <= 0 || tf.Length > MaxArtifactBytes {
			return nil, fmt.Errorf("%w: target %s: want a sha256 and a length from 1 to %d bytes", ErrRejected, name, MaxArtifactBytes)
		}
		stored, err := r.st.TUFTarget(ctx, name)
		switch {
		case err == nil && (stored.SHA256 != sum || stored.Length != tf.Length):
			return nil, fmt.Errorf("%w: target %s differs from the artifact stored under that name", ErrRejected, name)
		case err == nil:
		case !errors.Is(err, store.ErrNotFound):
			return nil, fmt.Errorf("tufrepo: target %s: %w", name, err)
		case art != nil && art.Name == "" && art.SHA256 == sum && art.Length == tf.Length:
			art.Name = name
		default:
			return nil, fmt.Errorf("%w: target %s is neither the artifact given nor stored", ErrRejected, name)
		}
	}
	if art != nil && art.Name == "" {
		return nil, fmt.Errorf("%w: the artifact (sha256 %s, %d bytes) is not a new target of targets.json", ErrRejected, art.SHA256, art.Length)
	}
	return targets, nil
}

// RefreshTimestamp re-signs the timestamp when less than half its
// lifetime is left at now, and the snapshot too when less than half of
// its lifetime is left; the hub runs it hourly. It reports whether it
// published. Another process having just done it is not an error.
func (r *Repo) RefreshTimestamp(ctx context.Context, now time.Time) (bool, error) {
	stampMeta, err := r.st.TUFMetadata(ctx, metadata.TIMESTAMP, 0)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil // nothing published yet: nothing to keep fresh
	} else if err != nil {
		return false, fmt.Errorf("tufrepo: refresh: %w", err)
	}
	stamp, err := parse[metadata.TimestampType]("timestamp.json", stampMeta.Body)
	if err != nil {
		return false, err
	}
	snapMeta, err := r.st.TUFMetadata(ctx, metadata.SNAPSHOT, 0)
	if err != nil {
		return false, fmt.Errorf("tufrepo: refresh: %w", err)
	}
	snap, err := parse[metadata.SnapshotType]("snapshot.json", snapMeta.Body)
	if err != nil {
		return false, err
	}
	snapDue := snap.Signed.Expires.Sub(now) < SnapshotLifetime/2
	if !snapDue && stamp.Signed.Expires.Sub(now) >= TimestampLifetime/2 {
		return false, nil
	}
	var metas []store.TUFMetadata
	if snapDue {
		metas, err = r.signSnapshot(snap.Signed.Meta["targets.json"].Version, snapMeta.Version+1, stampMeta.Version+1, now)
	} else {
		var ts store.TUFMetadata
		ts, err = r.signTimestamp(snapMeta, stampMeta.Version+1, now)
		metas = []store.TUFMetadata{ts}
	}
	if err != nil {
		return false, err
	}
	if err := r.st.PublishTUF(ctx, metas, nil); errors.Is(err, store.ErrVersionConflict) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("tufrepo: refresh: %w", err)
	}
	return true, nil
}

// trustedRoot is the newest stored root.
func (r *Repo) trustedRoot(ctx context.Context) (*metadata.Metadata[metadata.RootType], error) {
	m, err := r.st.TUFMetadata(ctx, metadata.ROOT, 0)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotInitialised
	} else if err != nil {
		return nil, fmt.Errorf("tufrepo: root: %w", err)
	}
	return ParseRoot(m.Body)
}

func (r *Repo) newest(ctx context.Context, role string) (int64, error) {
	m, err := r.st.TUFMetadata(ctx, role, 0)
	if errors.Is(err, store.ErrNotFound) {
		return 0, ErrNotInitialised
	} else if err != nil {
		return 0, fmt.Errorf("tufrepo: %s: %w", role, err)
	}
	return m.Version, nil
}

// signSnapshot signs snapshot version snapVersion naming targets version
// targetsVersion, and the timestamp stampVersion naming it.
func (r *Repo) signSnapshot(targetsVersion, snapVersion, stampVersion int64, now time.Time) ([]store.TUFMetadata, error) {
	snap := metadata.Snapshot(expiry(now, SnapshotLifetime))
	snap.Signed.Version = snapVersion
	snap.Signed.Meta = map[string]*metadata.MetaFiles{"targets.json": {Version: targetsVersion}}
	if err := signWith(snap, r.keys.Snapshot); err != nil {
		return nil, err
	}
	body, err := snap.ToBytes(false)
	if err != nil {
		return nil, fmt.Errorf("tufrepo: snapshot: %w", err)
	}
	sm := store.TUFMetadata{Role: metadata.SNAPSHOT, Version: snapVersion, Body: body, AddedAt: now.UTC()}
	ts, err := r.signTimestamp(sm, stampVersion, now)
	if err != nil {
		return nil, err
	}
	return []store.TUFMetadata{sm, ts}, nil
}

// signTimestamp signs timestamp version v naming the snapshot snap with
// its length and SHA-256, so a client detects a swapped snapshot early.
func (r *Repo) signTimestamp(snap store.TUFMetadata, v int64, now time.Time) (store.TUFMetadata, error) {
	sum := sha256.Sum256(snap.Body)
	stamp := metadata.Timestamp(expiry(now, TimestampLifetime))
	stamp.Signed.Version = v
	stamp.Signed.Meta = map[string]*metadata.MetaFiles{"snapshot.json": {Version: snap.Version, Length: int64(len(snap.Body)),
		Hashes: metadata.Hashes{"sha256": sum[:]}}}
	if err := signWith(stamp, r.keys.Timestamp); err != nil {
		return store.TUFMetadata{}, err
	}
	body, err := stamp.ToBytes(false)
	if err != nil {
		return store.TUFMetadata{}, fmt.Errorf("tufrepo: timestamp: %w", err)
	}
	return store.TUFMetadata{Role: metadata.TIMESTAMP, Version: v, Body: body, AddedAt: now.UTC()}, nil
}

// expiry is now plus d in whole seconds, as TUF's date format has them.
func expiry(now time.Time, d time.Duration) time.Time { return now.UTC().Truncate(time.Second).Add(d) }
