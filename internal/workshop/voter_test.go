package workshop

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

func TestCardVoter(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	a := CardVoter(key, "ws1", "cardhash")
	m := hmac.New(sha256.New, key)
	m.Write([]byte("ws1\x00cardhash"))
	if want := "v:" + hex.EncodeToString(m.Sum(nil))[:20]; a != want {
		t.Fatalf("CardVoter = %s, want %s", a, want)
	}
	if !ValidActor(a) {
		t.Errorf("%s is not a valid actor", a)
	}
	if a != CardVoter(key, "ws1", "cardhash") {
		t.Error("not stable")
	}
	if a == CardVoter(key, "ws2", "cardhash") {
		t.Error("linkable across workshops")
	}
	if a == CardVoter(key, "ws1", "cardhasi") || a == CardVoter([]byte("other"), "ws1", "cardhash") {
		t.Error("different card or key gave the same voter")
	}
	// The separator keeps "ws1"+"2card" apart from "ws12"+"card".
	if CardVoter(key, "ws1", "2card") == CardVoter(key, "ws12", "card") {
		t.Error("workshop and card hash run together")
	}
}
