package store

import (
	"context"
	"time"
)

// Operable is what the hub's operations endpoints (/readyz, /metrics) ask
// of a store. Both implementations provide it.
type Operable interface {
	// Ready reports whether the database answers and every migration this
	// binary knows is applied.
	Ready(ctx context.Context) error
	// PoolStats describes the store's connection pools by name.
	PoolStats() map[string]PoolStats
}

// PoolStats describe one pool of database connections.
type PoolStats struct {
	Open, InUse, Idle, MaxOpen int
	// WaitCount and WaitDuration: acquisitions that had to wait for a
	// connection, and how long they waited in all.
	WaitCount    int64
	WaitDuration time.Duration
}
