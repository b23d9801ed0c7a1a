package api

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// AuthScheme is the scheme of the Authorization header.
const AuthScheme = "QH-Ed25519"

// Auth is a parsed Authorization header.
type Auth struct {
	TerminalID string
	// Timestamp is the signed time, whole seconds.
	Timestamp time.Time
	Signature []byte
}

// SignedMessage returns the bytes a request's signature covers:
// METHOD "\n" PATH "\n" TS "\n" hex(sha256(body)).
func SignedMessage(method, path string, ts int64, body []byte) []byte {
	return signedMessage(method, path, ts, sha256.Sum256(body))
}

func signedMessage(method, path string, ts int64, sum [sha256.Size]byte) []byte {
	msg := make([]byte, 0, len(method)+len(path)+24+3+2*sha256.Size)
	msg = append(msg, method...)
	msg = append(msg, '\n')
	msg = append(msg, path...)
	msg = append(msg, '\n')
	msg = strconv.AppendInt(msg, ts, 10)
	msg = append(msg, '\n')
	return hex.AppendEncode(msg, sum[:])
}

// Sign returns the Authorization header value for a request by terminalID
// with the given method, path (request target as sent, see the package
// doc), time and body bytes as sent.
func Sign(priv ed25519.PrivateKey, terminalID, method, path string, ts time.Time, body []byte) string {
	sec := ts.Unix()
	sig := ed25519.Sign(priv, SignedMessage(method, path, sec, body))
	return AuthScheme + " terminal=" + terminalID + ",ts=" + strconv.FormatInt(sec, 10) +
		",sig=" + base64.StdEncoding.EncodeToString(sig)
}

// SignRequest sets req's Authorization header and, for a request with a
// body, its Content-Digest. body must be the exact bytes req will send
// (nil for none); req.URL.RequestURI() is the signed path.
func SignRequest(req *http.Request, priv ed25519.PrivateKey, terminalID string, now time.Time, body []byte) {
	req.Header.Set("Authorization", Sign(priv, terminalID, req.Method, req.URL.RequestURI(), now, body))
	if len(body) > 0 {
		req.Header.Set(DigestHeader, ContentDigest(body))
	}
}

// DigestHeader carries the SHA-256 of the body as sent (RFC 9530
// Content-Digest). The signature covers that hash, so with this header
// the hub checks the signature before it reads the body: strangers
// cannot make it spend memory or wait for their bodies at all.
const DigestHeader = "Content-Digest"

// ContentDigest returns the Content-Digest value of body: sha-256=:BASE64:.
func ContentDigest(body []byte) string {
	sum := sha256.Sum256(body)
	return "sha-256=:" + base64.StdEncoding.EncodeToString(sum[:]) + ":"
}

// Errors of ParseContentDigest.
var (
	ErrNoSHA256Digest  = errors.New("api: Content-Digest has no sha-256 member")
	ErrMalformedDigest = errors.New("api: malformed Content-Digest header")
)

// maxDigestHeader bounds what ParseContentDigest reads: a few digests.
const maxDigestHeader = 1024

// ParseContentDigest returns the SHA-256 a Content-Digest header value
// names (RFC 9530: a dictionary of algorithm=:base64:, parameters
// ignored). It returns ErrNoSHA256Digest if the value names other
// algorithms only, ErrMalformedDigest if it cannot be read.
func ParseContentDigest(v string) (sum [sha256.Size]byte, err error) {
	if len(v) > maxDigestHeader {
		return sum, ErrMalformedDigest
	}
	for member := range strings.SplitSeq(v, ",") {
		member, _, _ = strings.Cut(member, ";")
		k, val, ok := strings.Cut(strings.TrimSpace(member), "=")
		if !ok {
			return sum, ErrMalformedDigest
		}
		if k != "sha-256" {
			continue
		}
		b64, opened := strings.CutPrefix(val, ":")
		b64, closed := strings.CutSuffix(b64, ":")
		if !opened || !closed {
			return sum, ErrMalformedDigest
		}
		raw, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || len(raw) != sha256.Size {
			return sum, ErrMalformedDigest
		}
		return [sha256.Size]byte(raw), nil
	}
	return sum, ErrNoSHA256Digest
}

// ErrMalformedAuth is returned by ParseAuth for a header that is not a
// well-formed QH-Ed25519 header.
var ErrMalformedAuth = errors.New("api: malformed QH-Ed25519 authorization header")

// maxTerminalID bounds the terminal ID a header may name before the hub
// looks it up; the hub's IDs are ULIDs of 26 characters.
const maxTerminalID = 64

// ParseAuth parses an Authorization header value built by Sign.
func ParseAuth(header string) (Auth, error) {
	var a Auth
	rest, ok := strings.CutPrefix(header, AuthScheme+" ")
	if !ok {
		return a, ErrMalformedAuth
	}
	var haveTS bool
	for part := range strings.SplitSeq(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return a, ErrMalformedAuth
		}
		switch k {
		case "terminal":
			a.TerminalID = v
		case "ts":
			sec, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return a, ErrMalformedAuth
			}
			a.Timestamp, haveTS = time.Unix(sec, 0), true
		case "sig":
			// Base64 std contains '=' padding: v is everything after the first '='.
			sig, err := base64.StdEncoding.DecodeString(v)
			if err != nil || len(sig) != ed25519.SignatureSize {
				return a, ErrMalformedAuth
			}
			a.Signature = sig
		default:
			return a, ErrMalformedAuth
		}
	}
	if a.TerminalID == "" || len(a.TerminalID) > maxTerminalID || !haveTS || a.Signature == nil {
		return a, ErrMalformedAuth
	}
	return a, nil
}

// VerifySignature reports whether a's signature is pub's signature of the
// request with the given method, path and body bytes as received. It does
// not check the timestamp; see FreshTimestamp.
func VerifySignature(pub ed25519.PublicKey, a Auth, method, path string, body []byte) bool {
	if len(pub) != ed25519.PublicKeySize {
		return false
	}
	return ed25519.Verify(pub, SignedMessage(method, path, a.Timestamp.Unix(), body), a.Signature)
}

// VerifySignatureDigest reports whether a's signature is pub's signature
// of the request with the given method and path and a body whose SHA-256
// is sum (from Content-Digest): the signature can be checked before the
// body is read; the body must then be checked against sum.
func VerifySignatureDigest(pub ed25519.PublicKey, a Auth, method, path string, sum [sha256.Size]byte) bool {
	if len(pub) != ed25519.PublicKeySize {
		return false
	}
	return ed25519.Verify(pub, signedMessage(method, path, a.Timestamp.Unix(), sum), a.Signature)
}

// FreshTimestamp reports whether ts is within MaxClockSkew of now.
func FreshTimestamp(ts, now time.Time) bool {
	d := now.Sub(ts)
	return d <= MaxClockSkew && d >= -MaxClockSkew
}

// EncodePublicKey returns pub in the EnrollRequest.PublicKey encoding.
func EncodePublicKey(pub ed25519.PublicKey) string {
	return base64.StdEncoding.EncodeToString(pub)
}

// DecodePublicKey parses an EnrollRequest.PublicKey.
func DecodePublicKey(s string) (ed25519.PublicKey, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, errors.New("api: public key must be 32 bytes of base64 (std) ed25519 key")
	}
	return ed25519.PublicKey(b), nil
}
