package fleet

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// Digest is a short hash of the part of a heartbeat whose change is worth
// a history row: software and config version, device states and paper,
// maintenance and screen, the updater's state. Counters (uptime, backlog, disk) are left out;
// periodic samples record them.
func Digest(h *api.Heartbeat) string {
	var b strings.Builder
	fmt.Fprintf(&b, "v=%s|c=%s|m=%t|s=%s", h.SoftwareVersion, h.ConfigVersion, h.Maintenance, h.Screen)
	for _, d := range h.Devices {
		fmt.Fprintf(&b, "|%s:%s:%s", d.Name, d.State, d.Paper)
	}
	if u := h.Updater; u != nil {
		// Each step of an update is worth a history row; its progress is not.
		fmt.Fprintf(&b, "|u=%s:%s:%s", u.State, u.Version, u.Target)
	}
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:8])
}

// Online reports whether a terminal last seen at lastSeen counts as
// online at now: seen within threshold.
func Online(lastSeen, now time.Time, threshold time.Duration) bool {
	return !lastSeen.IsZero() && now.Sub(lastSeen) <= threshold
}

// HeartbeatStore is what the batcher needs of the store.
type HeartbeatStore interface {
	SaveHeartbeats(ctx context.Context, ws []store.HeartbeatWrite, sampleEvery time.Duration) ([]bool, error)
}

// BatcherOpts configures a Batcher. Zero values are the defaults.
type BatcherOpts struct {
	// SampleEvery is how often an unchanged state is still written to the
	// history. Default 15 minutes.
	SampleEvery time.Duration
	// MaxBatch bounds the heartbeats of one transaction. Default 512.
	MaxBatch int
	Logger   *slog.Logger
}

// Batcher writes heartbeats through the store's single writer in groups:
// while one transaction commits, the next heartbeats queue and go into
// the following one, so a busy hub pays one commit (one fsync) per group
// rather than per heartbeat. Save waits for its group's commit.
type Batcher struct {
	st HeartbeatStore
	o  BatcherOpts
	in chan hbReq
}

type hbReq struct {
	w     store.HeartbeatWrite
	reply chan error
}

// NewBatcher returns a batcher on st; Run must run for Save to return.
func NewBatcher(st HeartbeatStore, o BatcherOpts) *Batcher {
	if o.SampleEvery <= 0 {
		o.SampleEvery = 15 * time.Minute
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 512
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Batcher{st: st, o: o, in: make(chan hbReq, o.MaxBatch)}
}

// SampleEvery is the history sample interval in use.
func (b *Batcher) SampleEvery() time.Duration { return b.o.SampleEvery }

// Save queues w and returns once it is committed (or ctx ends).
func (b *Batcher) Save(ctx context.Context, w store.HeartbeatWrite) error {
	r := hbReq{w: w, reply: make(chan error, 1)}
	select {
	case b.in <- r:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-r.reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Run writes queued heartbeats until ctx ends.
func (b *Batcher) Run(ctx context.Context) error {
	batch := make([]hbReq, 0, b.o.MaxBatch)
	ws := make([]store.HeartbeatWrite, 0, b.o.MaxBatch)
	for {
		batch, ws = batch[:0], ws[:0]
		select {
		case <-ctx.Done():
			return nil
		case r := <-b.in:
			batch = append(batch, r)
		}
	drain:
		for len(batch) < b.o.MaxBatch {
			select {
			case r := <-b.in:
				batch = append(batch, r)
			default:
				break drain
			}
		}
		for _, r := range batch {
			ws = append(ws, r.w)
		}
		// The write must not die with one request's context: it carries
		// the others.
		_, err := b.st.SaveHeartbeats(context.WithoutCancel(ctx), ws, b.o.SampleEvery)
		if err != nil {
			b.o.Logger.Error("fleet: heartbeats not stored", "count", len(ws), "err", err)
			err = fmt.Errorf("fleet: save heartbeats: %w", err)
		}
		for _, r := range batch {
			r.reply <- err
		}
	}
}

// DirectSaver writes each heartbeat in its own transaction: for tools and
// tests that run no Batcher.
type DirectSaver struct {
	Store       HeartbeatStore
	SampleEvery time.Duration // default 15 minutes
}

// Save implements what the terminal API needs.
func (d DirectSaver) Save(ctx context.Context, w store.HeartbeatWrite) error {
	every := d.SampleEvery
	if every <= 0 {
		every = 15 * time.Minute
	}
	_, err := d.Store.SaveHeartbeats(ctx, []store.HeartbeatWrite{w}, every)
	return err
}
