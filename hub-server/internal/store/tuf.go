package store

import (
	"context"
	"time"
)

// TUFMetadata is one signed metadata file of the hub's TUF repository
// (hub-server/internal/tufrepo), stored as signed, byte for byte.
type TUFMetadata struct {
	Role    string // root, targets, snapshot or timestamp
	Version int64
	Body    []byte
	AddedAt time.Time
}

// TUFTargetInfo describes a stored release artifact without its bytes.
type TUFTargetInfo struct {
	Name    string // the TUF target path
	SHA256  string // hex
	Length  int64
	AddedAt time.Time
}

// TUFTarget is a stored release artifact.
type TUFTarget struct {
	TUFTargetInfo
	Body []byte
}

// TUFTimestampsKept is how many timestamp versions PublishTUF keeps; a
// client only ever asks for the newest, the rest help an operator look back.
const TUFTimestampsKept = 48

// TUF stores the hub's TUF repository. It lives in the store, not in the
// data directory, so every hub process on one PostgreSQL database serves
// the same repository and a publication is one transaction.
type TUF interface {
	// PublishTUF stores metadata files and, if target is not nil, an
	// artifact, all or nothing. A (role, version) already stored, or a
	// version not above the role's newest, is ErrVersionConflict and stores
	// nothing: two hub processes re-signing at once publish once. Timestamp
	// versions beyond TUFTimestampsKept are pruned.
	PublishTUF(ctx context.Context, metas []TUFMetadata, target *TUFTarget) error
	// TUFMetadata returns the role's metadata of that version, or its
	// newest for version 0; ErrNotFound.
	TUFMetadata(ctx context.Context, role string, version int64) (TUFMetadata, error)
	// TUFTarget returns the artifact stored under name; ErrNotFound.
	TUFTarget(ctx context.Context, name string) (TUFTarget, error)
	// TUFTargets lists the stored artifacts by name.
	TUFTargets(ctx context.Context) ([]TUFTargetInfo, error)
}
