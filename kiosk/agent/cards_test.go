package agent

import (
	"bytes"
	"encoding/hex"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/kiosk/devices"
	"github.com/quartierhub/quartierhub/kiosk/session"
)

// A card leaves the hasher as its keyed hash, never its UID; without a
// key it does not leave at all.
func TestCardHasher(t *testing.T) {
	at := time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC)
	card := devices.Card{Presented: true, UID: "01004CA53B", Time: at}
	if _, ok := new(cardHasher).seen(card); ok {
		t.Fatal("a card passed before the key was loaded")
	}
	var h cardHasher
	if err := h.load(t.TempDir(), "00112233445566778899aabbccddeeff"); err != nil {
		t.Fatal(err)
	}
	s, ok := h.seen(card)
	if !ok || !s.Presented || !s.Time.Equal(at) || s.Hash != session.HashCard(h.Key(), "01004ca53b") {
		t.Fatalf("seen %+v %v", s, ok)
	}
	if strings.Contains(strings.ToUpper(s.Hash), card.UID) {
		t.Fatalf("the UID is in %q", s.Hash)
	}
	var other cardHasher
	if err := other.load(t.TempDir(), ""); err != nil {
		t.Fatal(err)
	}
	if s2, _ := other.seen(card); s2.Hash == s.Hash {
		t.Fatal("two card keys gave the same hash")
	}
}

// The hub's key replaces a generated one, on disk (0600) and for the
// cards hashed from then on; the same key again changes nothing, a
// malformed one nothing at all. The key is never logged.
func TestCardHasherAdoptsTheHubsKey(t *testing.T) {
	dir := t.TempDir()
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	var h cardHasher
	if err := h.load(dir, ""); err != nil {
		t.Fatal(err)
	}
	own := h.Key()
	if h.keyID() != api.CardKeyID(own) {
		t.Fatalf("keyID %q names another key", h.keyID())
	}
	hubKey := bytes.Repeat([]byte{0x5a}, api.CardKeyLen)
	card := devices.Card{Presented: true, UID: "01004CA53B"}
	for _, bad := range []string{"", "zz", strings.Repeat("A", 64), hex.EncodeToString(hubKey[:16])} {
		if changed, err := h.adopt(bad, log); err == nil || changed || !bytes.Equal(h.Key(), own) {
			t.Fatalf("malformed key %q: changed %v, %v", bad, changed, err)
		}
	}
	if changed, err := h.adopt(hex.EncodeToString(hubKey), log); err != nil || !changed {
		t.Fatalf("adopt: %v %v", changed, err)
	}
	if s, _ := h.seen(card); s.Hash != session.HashCard(hubKey, card.UID) || h.keyID() != api.CardKeyID(hubKey) {
		t.Fatalf("after adopting, cards are hashed with another key (id %q)", h.keyID())
	}
	path := filepath.Join(dir, session.CardKeyFile)
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("card key file: %v %v", fi, err)
	}
	if k, err := session.LoadCardKey(dir, ""); err != nil || !bytes.Equal(k, hubKey) {
		t.Fatalf("a restart would load %x, %v", k, err)
	}
	if changed, err := h.adopt(hex.EncodeToString(hubKey), log); err != nil || changed {
		t.Fatalf("the same key again: %v %v", changed, err)
	}
	for _, k := range [][]byte{hubKey, own} {
		if strings.Contains(strings.ToLower(logs.String()), hex.EncodeToString(k)) {
			t.Fatalf("a card key is in the log: %s", logs.String())
		}
	}
}

// A key set in the configuration wins: the hub's is ignored (said once),
// nothing is written, and the heartbeat stops naming a key so the hub
// stops sending its own.
func TestCardHasherConfigKeyWins(t *testing.T) {
	dir := t.TempDir()
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	var h cardHasher
	if err := h.load(dir, "00112233445566778899aabbccddeeff"); err != nil {
		t.Fatal(err)
	}
	cfgKey := h.Key()
	if h.keyID() == "" {
		t.Fatal("a configured key is not named before the hub sent its own")
	}
	hubKey := hex.EncodeToString(bytes.Repeat([]byte{0x5a}, api.CardKeyLen))
	for range 3 {
		if changed, err := h.adopt(hubKey, log); err != nil || changed {
			t.Fatalf("adopt over a configured key: %v %v", changed, err)
		}
	}
	if !bytes.Equal(h.Key(), cfgKey) || h.keyID() != "" {
		t.Fatalf("after the hub's key: key %x, id %q", h.Key(), h.keyID())
	}
	if _, err := os.Stat(filepath.Join(dir, session.CardKeyFile)); !os.IsNotExist(err) {
		t.Fatalf("the hub's key was written: %v", err)
	}
	if n := strings.Count(logs.String(), "card key is ignored"); n != 1 {
		t.Fatalf("said %d times that the hub's key is ignored: %s", n, logs.String())
	}
	if strings.Contains(logs.String(), hubKey) {
		t.Fatal("the hub's key is in the log")
	}
}
