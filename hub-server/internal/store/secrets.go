package store

import "context"

// Secrets keeps the hub's own secrets: made once per deployment, shared
// by every hub process, never shown in the console nor logged.
type Secrets interface {
	// Secret returns the secret stored under name. When there is none
	// yet it stores ifAbsent first; of processes racing to store one,
	// all get the first stored.
	Secret(ctx context.Context, name string, ifAbsent []byte) ([]byte, error)
}

// SecretCardKey names the deployment's card key (api.CardKeyLen random
// bytes): terminals hash card UIDs with it, so that one card is one voter
// and one survey respondent on every terminal.
const SecretCardKey = "card_key"

// SecretPhoneGuest names the phone pages' guest secret (32 random bytes):
// it signs guests' cookies, so every hub process must have the same.
const SecretPhoneGuest = "phone_guest"
