package ops

import (
	"context"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// InstrumentStore returns st with ingest and heartbeat writes counted in p's
// metrics. Type assertions for optional interfaces (a PostgreSQL store's
// Lead, fleet.TrendStore) must be made on st, not on the result.
func (p *Ops) InstrumentStore(st store.Store) store.Store { return &counted{Store: st, p: p} }

type counted struct {
	store.Store
	p *Ops
}

func (c *counted) IngestBatch(ctx context.Context, terminalID string, recs []api.Record, receivedAt time.Time) (api.BatchAck, error) {
	ack, err := c.Store.IngestBatch(ctx, terminalID, recs, receivedAt)
	if err == nil {
		c.p.batches.Inc()
		c.p.records.WithLabelValues("stored").Add(float64(ack.Stored))
		c.p.records.WithLabelValues("duplicate").Add(float64(ack.Duplicates))
	}
	return ack, err
}

func (c *counted) SaveHeartbeats(ctx context.Context, ws []store.HeartbeatWrite, sampleEvery time.Duration) ([]bool, error) {
	h, err := c.Store.SaveHeartbeats(ctx, ws, sampleEvery)
	if err == nil {
		c.p.beats.Add(float64(len(ws)))
	}
	return h, err
}

// Unwrap returns the store InstrumentStore wrapped.
func (c *counted) Unwrap() store.Store { return c.Store }

// Unwrap returns the store under any InstrumentStore wrappers of st.
func Unwrap(st store.Store) store.Store {
	for {
		u, ok := st.(interface{ Unwrap() store.Store })
		if !ok {
			return st
		}
		st = u.Unwrap()
	}
}
