package console

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/hub-server/internal/workshops"
)

// A phone's guest is one pseudonymous participant per browser: the
// guest cookie holds a random guest key (128 bits), signed with the
// console's guest secret (HMAC-SHA256) so that anything else is refused
// before it is looked up. The voter a guest is in a workshop is derived
// from the key by the workshop service (workshops.PhoneVoter), so the
// same browser is the same voter in every tab, after every reload and
// across hub restarts, and nothing needs storing to find it again; a
// browser without the cookie must take a new number, which is limited
// per client network. The cookie is HttpOnly, SameSite=Lax, with the
// __Host- prefix over HTTPS (setCookie).
//
// The forms' CSRF token is derived from the key (phoneCSRF), so it needs
// no server state: a page of another site cannot read the cookie nor the
// token, and a token from one browser is worthless with another's cookie.
const (
	guestCookie = "qh_guest"
	// guestCookieAge: a workshop lasts hours; a week keeps a guest's
	// number through a day's breaks and a second session.
	guestCookieAge = 7 * 24 * 3600
	// guestKeyBytes of randomness in a guest key.
	guestKeyBytes = 16
	// maxGuestCookie bounds the cookie read (a real one is 49 bytes):
	// longer values are refused unparsed.
	maxGuestCookie = 128
	guestVersion   = "g1"
)

// guest is a parsed, verified guest cookie.
type guest struct {
	Key string // base64url of guestKeyBytes random bytes
}

// guestMAC signs a guest key.
func guestMAC(secret []byte, key string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("qh guest\x00" + key))
	return m.Sum(nil)[:16]
}

var b64 = base64.RawURLEncoding.Strict()

// encodeGuest is the cookie value of g.
func encodeGuest(secret []byte, g guest) string {
	return guestVersion + "." + g.Key + "." + b64.EncodeToString(guestMAC(secret, g.Key))
}

// parseGuest reads and verifies a guest cookie value; ok is false for
// anything that is not one this hub signed.
func parseGuest(secret []byte, v string) (guest, bool) {
	if len(v) > maxGuestCookie {
		return guest{}, false
	}
	parts := strings.Split(v, ".")
	if len(parts) != 3 || parts[0] != guestVersion {
		return guest{}, false
	}
	key, err := b64.DecodeString(parts[1])
	if err != nil || len(key) != guestKeyBytes {
		return guest{}, false
	}
	mac, err := b64.DecodeString(parts[2])
	if err != nil || !hmac.Equal(mac, guestMAC(secret, parts[1])) {
		return guest{}, false
	}
	return guest{Key: parts[1]}, true
}

// guestFrom is r's verified guest, if it has one.
func (c *Console) guestFrom(r *http.Request) (guest, bool) {
	return parseGuest(c.phone.o.GuestSecret, c.cookie(r, guestCookie))
}

// newGuest is a guest with a fresh random key.
func (c *Console) newGuest() (guest, error) {
	k, err := c.randToken(guestKeyBytes)
	if err != nil {
		return guest{}, err
	}
	return guest{Key: k}, nil
}

// setGuest sets g's cookie on the answer.
func (c *Console) setGuest(w http.ResponseWriter, r *http.Request, g guest) {
	c.setCookie(w, r, guestCookie, encodeGuest(c.phone.o.GuestSecret, g), guestCookieAge)
}

// phoneCSRF is the forms' token for a guest key.
func phoneCSRF(secret []byte, key string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("qh phone csrf\x00" + key))
	return b64.EncodeToString(m.Sum(nil)[:16])
}

// phoneCSRFOK reports whether token is g's.
func phoneCSRFOK(secret []byte, g guest, token string) bool {
	return subtle.ConstantTimeCompare([]byte(token), []byte(phoneCSRF(secret, g.Key))) == 1
}

// phoneVoter is the voter guest g is in workshop v, and whether it has
// checked in there.
func phoneVoter(v workshops.View, g guest) (voter string, joined bool) {
	if g.Key == "" {
		return "", false
	}
	voter = workshops.PhoneVoter(v.Workshop.ID, g.Key)
	return voter, v.State.Voter(voter) != nil
}

// guestSecretBytes is the length of a guest secret.
const guestSecretBytes = 32

// GuestSecret returns the phone pages' guest secret, one of the store's
// secrets (store.SecretPhoneGuest), making it from rnd (nil:
// crypto/rand) on first use. Every hub process on one store gets the
// same, so a guest keeps their cookie and number across restarts and
// processes.
func GuestSecret(ctx context.Context, st store.Secrets, rnd io.Reader) ([]byte, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	fresh := make([]byte, guestSecretBytes)
	if _, err := io.ReadFull(rnd, fresh); err != nil {
		return nil, fmt.Errorf("console: guest secret: %w", err)
	}
	b, err := st.Secret(ctx, store.SecretPhoneGuest, fresh)
	if err != nil {
		return nil, fmt.Errorf("console: guest secret: %w", err)
	}
	if len(b) != guestSecretBytes {
		return nil, fmt.Errorf("console: guest secret: %d bytes stored, want %d", len(b), guestSecretBytes)
	}
	return b, nil
}
