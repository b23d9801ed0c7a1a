package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id parameters. They are stored in every hash (PHC
// string format), so raising them later only affects new hashes.
type Params struct {
	MemoryKiB uint32
	Time      uint32
	Threads   uint8
}

// DefaultParams are OWASP's recommended minimum for argon2id (m=19 MiB,
// t=2, p=1): about 30–60 ms per login on a small server core, and 19 MiB
// per attempt for anyone guessing offline. The login throttle bounds how
// many hashes strangers can make the hub compute.
var DefaultParams = Params{MemoryKiB: 19 * 1024, Time: 2, Threads: 1}

// Password rules.
const (
	MinPasswordLen = 12
	MaxPasswordLen = 256
)

// CheckPasswordRules returns an error a person can read if pw is too
// short or too long: a *Message, in English as an error.
func CheckPasswordRules(pw string) error {
	if n := len([]rune(pw)); n < MinPasswordLen {
		return msg("users.error.password_too_short", "min", MinPasswordLen, "n", n)
	}
	if len(pw) > MaxPasswordLen {
		return msg("users.error.password_too_long", "max", MaxPasswordLen)
	}
	return nil
}

// HashPassword returns pw's argon2id hash as
// $argon2id$v=19$m=MEM,t=TIME,p=THREADS$SALT$KEY (unpadded std base64).
func HashPassword(pw string, p Params) (string, error) {
	if p.MemoryKiB == 0 {
		p = DefaultParams
	}
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("console: salt: %w", err)
	}
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.MemoryKiB, p.Threads, 32)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Time, p.Threads,
		enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

var errBadHash = errors.New("console: not an argon2id hash")

// CheckPassword reports whether pw matches hash (made by HashPassword).
func CheckPassword(hash, pw string) bool {
	p, salt, key, err := parseHash(hash)
	if err != nil || len(pw) > MaxPasswordLen {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.MemoryKiB, p.Threads, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1
}

func parseHash(hash string) (Params, []byte, []byte, error) {
	var p Params
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return p, nil, nil, errBadHash
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return p, nil, nil, errBadHash
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Time, &p.Threads); err != nil {
		return p, nil, nil, errBadHash
	}
	// Bounds keep a tampered hash from making the hub allocate gigabytes.
	if p.MemoryKiB < 8 || p.MemoryKiB > 1<<20 || p.Time < 1 || p.Time > 20 || p.Threads < 1 {
		return p, nil, nil, errBadHash
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	key, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(key) < 16 {
		return p, nil, nil, errBadHash
	}
	return p, salt, key, nil
}
