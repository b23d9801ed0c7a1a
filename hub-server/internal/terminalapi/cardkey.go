package terminalapi

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"sync"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// SecretStore keeps the deployment's card key (store.Secrets).
type SecretStore interface {
	Secret(ctx context.Context, name string, ifAbsent []byte) ([]byte, error)
}

// cardKey is the deployment's card key, read from the store once: it
// never changes, and every hub process reads the same row.
type cardKey struct {
	mu  sync.Mutex
	key []byte
	id  string
}

// get returns the key and its api.CardKeyID, making the key on the
// deployment's first call (DeploymentCardKey).
func (c *cardKey) get(ctx context.Context, st SecretStore, rnd io.Reader) ([]byte, string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.key != nil {
		return c.key, c.id, nil
	}
	k, err := DeploymentCardKey(ctx, st, rnd)
	if err != nil {
		return nil, "", err
	}
	c.key, c.id = k, api.CardKeyID(k)
	return c.key, c.id, nil
}

// DeploymentCardKey returns the deployment's card key from st, storing a
// fresh random key from rnd if there is none yet. The terminal API and
// the hub's own commands (card hash) both get it here, so a key made by
// either is the one terminals are sent.
func DeploymentCardKey(ctx context.Context, st SecretStore, rnd io.Reader) ([]byte, error) {
	fresh := make([]byte, api.CardKeyLen)
	if _, err := io.ReadFull(rnd, fresh); err != nil {
		return nil, fmt.Errorf("card key: %w", err)
	}
	k, err := st.Secret(ctx, store.SecretCardKey, fresh)
	if err != nil {
		return nil, fmt.Errorf("card key: %w", err)
	}
	if len(k) != api.CardKeyLen {
		return nil, fmt.Errorf("card key: the stored key has %d bytes, want %d", len(k), api.CardKeyLen)
	}
	return k, nil
}

// answerCardKey puts the deployment's key into resp when the terminal
// named another (an agent that names none is older: it is sent nothing).
// A store that cannot give the key fails no heartbeat: the next one asks
// again.
func (h *Handler) answerCardKey(ctx context.Context, terminalID, named string, resp *api.HeartbeatResponse) {
	if named == "" {
		return
	}
	key, id, err := h.cardKey.get(ctx, h.st, h.o.Rand)
	if err != nil {
		h.o.Logger.Error("terminal api: heartbeat: card key", "terminal", terminalID, "err", err)
		return
	}
	if id != named {
		resp.CardKey = hex.EncodeToString(key)
	}
}
