package agent

import (
	"time"

	"github.com/quartierhub/quartierhub/kiosk/devices"
	"github.com/quartierhub/quartierhub/kiosk/session"
)

// cardHasher turns a card at the reader into what the window may learn
// of it: the keyed hash of its UID with the deployment's card key. The
// UID goes no further.
type cardHasher struct {
	key []byte // nil until loaded: cards are not passed on
}

// loadCardHasher reads the card key (session.LoadCardKey: the config's
// card_hash_key, else DIR/card_hash_key, else a new one written there).
func loadCardHasher(dir, configHex string) (cardHasher, error) {
	k, err := session.LoadCardKey(dir, configHex)
	if err != nil {
		return cardHasher{}, err
	}
	return cardHasher{key: k}, nil
}

// cardSeen is a card presented or removed, by its keyed hash.
type cardSeen struct {
	Presented bool
	Hash      string
	Time      time.Time
}

// seen hashes c; ok is false while there is no key.
func (h cardHasher) seen(c devices.Card) (s cardSeen, ok bool) {
	if h.key == nil {
		return cardSeen{}, false
	}
	return cardSeen{Presented: c.Presented, Hash: session.HashCard(h.key, c.UID), Time: c.Time}, true
}
