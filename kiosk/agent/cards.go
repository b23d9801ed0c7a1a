package agent

import (
	"encoding/hex"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/internal/atomicfile"
	"github.com/quartierhub/quartierhub/kiosk/devices"
	"github.com/quartierhub/quartierhub/kiosk/session"
)

// cardHasher turns a card at the reader into what the window may learn
// of it: the keyed hash of its UID with the deployment's card key. The
// UID goes no further.
//
// The key may change while the agent runs: the hub hands out one key per
// deployment (adopt), replacing a key this terminal generated. Readers
// take the key in one atomic load, so a hash is made with one key or the
// other, never a mix.
type cardHasher struct {
	key atomic.Pointer[[]byte] // nil until loaded: cards are not passed on
	// explicit: the configuration sets card_hash_key; it wins over the hub's.
	explicit bool
	path     string // DATA/card_hash_key

	mu      sync.Mutex // serialises adopt
	ignored bool       // the hub's key was ignored (explicit) and said so
}

// load reads the card key (session.LoadCardKey: the config's
// card_hash_key, else DIR/card_hash_key, else a new one written there).
func (h *cardHasher) load(dir, configHex string) error {
	k, err := session.LoadCardKey(dir, configHex)
	if err != nil {
		return err
	}
	h.explicit, h.path = configHex != "", filepath.Join(dir, session.CardKeyFile)
	h.key.Store(&k)
	return nil
}

// Key is the card key cards are hashed with now; nil before load.
func (h *cardHasher) Key() []byte {
	if k := h.key.Load(); k != nil {
		return *k
	}
	return nil
}

// keyID names the key for the heartbeat (api.CardKeyID); "" once the
// hub's key was ignored for the configuration's, so the hub stops
// sending it, and while there is no key.
func (h *cardHasher) keyID() string {
	h.mu.Lock()
	ignored := h.ignored
	h.mu.Unlock()
	k := h.Key()
	if ignored || k == nil {
		return ""
	}
	return api.CardKeyID(k)
}

// adopt takes the hub's deployment key (hex, from a heartbeat answer):
// written to DATA/card_hash_key (atomically, 0600) before cards are
// hashed with it, so a restart keeps it. It reports whether the key
// changed. A key set in the configuration wins: the hub's is then
// ignored, said once at info. The key itself is never logged.
func (h *cardHasher) adopt(hexKey string, log *slog.Logger) (bool, error) {
	k, err := api.ParseCardKey(hexKey)
	if err != nil {
		return false, fmt.Errorf("agent: card key from the hub: %w", err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.explicit {
		if !h.ignored {
			h.ignored = true
			log.Info("the hub's card key is ignored: the kiosk configuration sets card_hash_key")
		}
		return false, nil
	}
	if cur := h.Key(); cur != nil && api.CardKeyID(cur) == api.CardKeyID(k) {
		return false, nil
	}
	if err := atomicfile.WriteFile(h.path, []byte(hex.EncodeToString(k)+"\n"), 0o600); err != nil {
		return false, fmt.Errorf("agent: card key: %w", err)
	}
	h.key.Store(&k)
	log.Info("card key replaced by the deployment's from the hub", "key_id", api.CardKeyID(k))
	return true, nil
}

// cardSeen is a card presented or removed, by its keyed hash.
type cardSeen struct {
	Presented bool
	Hash      string
	Time      time.Time
}

// seen hashes c; ok is false while there is no key.
func (h *cardHasher) seen(c devices.Card) (s cardSeen, ok bool) {
	k := h.Key()
	if k == nil {
		return cardSeen{}, false
	}
	return cardSeen{Presented: c.Presented, Hash: session.HashCard(k, c.UID), Time: c.Time}, true
}
