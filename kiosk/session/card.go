package session

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/quartierhub/quartierhub/internal/atomicfile"
)

// CardKeyFile is where a generated card key is kept in the data directory.
const CardKeyFile = "card_hash_key"

// CardKeyLen is the length of a card key in bytes.
const CardKeyLen = 32

// LoadCardKey returns the deployment's card key: configHex if set (the
// kiosk config's card_hash_key, hex, ≥ 16 bytes), else the key in
// DIR/card_hash_key, else a new random key written there (0600). The
// agent replaces a generated key with the hub's deployment key (see
// kiosk/localapi's "Card key"), so all terminals of a deployment hash a
// card alike; a card_hash_key in the config is kept instead.
func LoadCardKey(dir, configHex string) ([]byte, error) {
	if configHex != "" {
		k, err := hex.DecodeString(strings.TrimSpace(configHex))
		if err != nil || len(k) < 16 {
			return nil, errors.New("session: card_hash_key must be at least 16 bytes in hex")
		}
		return k, nil
	}
	path := filepath.Join(dir, CardKeyFile)
	if b, err := os.ReadFile(path); err == nil {
		k, err := hex.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(k) < 16 {
			return nil, fmt.Errorf("session: %s is not a hex key", path)
		}
		return k, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("session: card key: %w", err)
	}
	k := make([]byte, CardKeyLen)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("session: card key: %w", err)
	}
	// Created only if still absent: of two processes starting at once,
	// both must end up with the one key on disk.
	created, err := atomicfile.Create(path, []byte(hex.EncodeToString(k)+"\n"), 0o600)
	if err != nil {
		return nil, fmt.Errorf("session: card key: %w", err)
	}
	if !created {
		return LoadCardKey(dir, "")
	}
	return k, nil
}

// HashCard is the keyed hash of a card UID: hex HMAC-SHA256(key, UID in
// upper case). Without the key it cannot be linked to the card.
func HashCard(key []byte, uid string) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(strings.ToUpper(strings.TrimSpace(uid))))
	return hex.EncodeToString(mac.Sum(nil))
}

// IsServiceCard reports whether hash is one of the service cards.
func IsServiceCard(hash string, cards []string) bool {
	for _, c := range cards {
		if hmac.Equal([]byte(strings.ToLower(c)), []byte(hash)) {
			return true
		}
	}
	return false
}
