package agent

import (
	"strings"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/kiosk/devices"
	"github.com/quartierhub/quartierhub/kiosk/session"
)

// A card leaves the hasher as its keyed hash, never its UID; without a
// key it does not leave at all.
func TestCardHasher(t *testing.T) {
	at := time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC)
	card := devices.Card{Presented: true, UID: "01004CA53B", Time: at}
	if _, ok := (cardHasher{}).seen(card); ok {
		t.Fatal("a card passed before the key was loaded")
	}
	h, err := loadCardHasher(t.TempDir(), "00112233445566778899aabbccddeeff")
	if err != nil {
		t.Fatal(err)
	}
	s, ok := h.seen(card)
	if !ok || !s.Presented || !s.Time.Equal(at) || s.Hash != session.HashCard(h.key, "01004ca53b") {
		t.Fatalf("seen %+v %v", s, ok)
	}
	if strings.Contains(strings.ToUpper(s.Hash), card.UID) {
		t.Fatalf("the UID is in %q", s.Hash)
	}
	other, _ := loadCardHasher(t.TempDir(), "")
	if s2, _ := other.seen(card); s2.Hash == s.Hash {
		t.Fatal("two card keys gave the same hash")
	}
}
