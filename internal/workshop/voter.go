package workshop

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
)

// CardVoter is the voter ID of a card in a workshop: "v:" and the first
// 20 hex digits of HMAC-SHA256(key, workshop NUL cardHash). The same card
// is the same voter on every terminal of one workshop, and its IDs in two
// workshops cannot be linked without the key.
func CardVoter(key []byte, workshop, cardHash string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(workshop))
	m.Write([]byte{0})
	m.Write([]byte(cardHash))
	return ActorVoterPrefix + hex.EncodeToString(m.Sum(nil))[:20]
}
