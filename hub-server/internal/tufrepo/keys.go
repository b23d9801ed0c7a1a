package tufrepo

import (
	"crypto"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// Lifetimes of the roles' metadata (issue 13's decisions).
const (
	RootLifetime      = 365 * 24 * time.Hour
	TargetsLifetime   = 90 * 24 * time.Hour // default; the signer chooses
	SnapshotLifetime  = 7 * 24 * time.Hour
	TimestampLifetime = 24 * time.Hour
)

// Key file names written by the ceremony (Ceremony).
const (
	SnapshotKeyFile  = "snapshot.key"
	TimestampKeyFile = "timestamp.key"
	TargetsKeyFile   = "targets.key"
	RootFile         = "root.json"
	FirstTargetsFile = "targets.json"
)

// RootKeyFile is the file of root key i (1 to 3).
func RootKeyFile(i int) string { return fmt.Sprintf("root-%d.key", i) }

// maxKeyFile bounds a key file read: a PEM ed25519 key is about 120 bytes.
const maxKeyFile = 4096

// WriteKey writes k as a PKCS#8 PEM file only its owner may read; it
// refuses to overwrite a file, so a ceremony never replaces a key in use.
func WriteKey(path string, k ed25519.PrivateKey) error {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return fmt.Errorf("tufrepo: key %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("tufrepo: key: %w", err)
	}
	if err := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		f.Close()
		return fmt.Errorf("tufrepo: key %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("tufrepo: key %s: %w", path, err)
	}
	return f.Close()
}

// ReadKey reads an ed25519 key written by WriteKey.
func ReadKey(path string) (ed25519.PrivateKey, error) {
	b, err := readBounded(path, maxKeyFile)
	if err != nil {
		return nil, fmt.Errorf("tufrepo: key: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("tufrepo: key %s: not a PEM private key", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("tufrepo: key %s: %w", path, err)
	}
	ek, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("tufrepo: key %s: %T is not ed25519", path, k)
	}
	return ek, nil
}

// readBounded reads a file of at most limit bytes.
func readBounded(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, limit)
	}
	return b, nil
}

func signer(k ed25519.PrivateKey) (signature.Signer, error) {
	s, err := signature.LoadSigner(k, crypto.Hash(0))
	if err != nil {
		return nil, fmt.Errorf("tufrepo: signer: %w", err)
	}
	return s, nil
}

func tufKey(k ed25519.PrivateKey) (*metadata.Key, string, error) {
	key, err := metadata.KeyFromPublicKey(k.Public())
	if err != nil {
		return nil, "", fmt.Errorf("tufrepo: key: %w", err)
	}
	id, err := key.ID()
	if err != nil {
		return nil, "", fmt.Errorf("tufrepo: key id: %w", err)
	}
	return key, id, nil
}

// Ceremony is the offline key ceremony (hub-server release keys). On a
// machine that is not the hub, it writes into the new directory out:
//
//   - root-1.key, root-2.key, root-3.key: the root keys, threshold 2. Each
//     goes to its own holder (a USB stick in a safe); any two of them sign
//     a new root.
//   - targets.key: the release signer's key (hub-server release sign),
//     kept offline by the signer.
//   - snapshot.key, timestamp.key: the online keys, copied to the hub
//     (hub-server release init) and then deleted here.
//   - root.json: root version 1 signed by root keys 1 and 2 (two of three),
//     trusting those keys; shipped in the kiosk package as the pinned root.
//   - targets.json: targets version 1 with no releases, signed by the
//     targets key, which release init publishes with root.json.
//
// Key files are 0600 and never overwritten; out must not exist yet.
func Ceremony(out string, now time.Time, rand io.Reader) error {
	if err := os.Mkdir(out, 0o700); err != nil {
		return fmt.Errorf("tufrepo: ceremony: %w", err)
	}
	gen := func() (ed25519.PrivateKey, error) {
		_, k, err := ed25519.GenerateKey(rand)
		return k, err
	}
	now = now.UTC().Truncate(time.Second)
	root := metadata.Root(now.Add(RootLifetime))
	root.Signed.ConsistentSnapshot = true
	keys := map[string]ed25519.PrivateKey{}
	var rootKeys []ed25519.PrivateKey
	for i := 1; i <= 3; i++ {
		k, err := gen()
		if err != nil {
			return fmt.Errorf("tufrepo: ceremony: %w", err)
		}
		rootKeys = append(rootKeys, k)
		keys[RootKeyFile(i)] = k
	}
	for _, f := range []string{TargetsKeyFile, SnapshotKeyFile, TimestampKeyFile} {
		k, err := gen()
		if err != nil {
			return fmt.Errorf("tufrepo: ceremony: %w", err)
		}
		keys[f] = k
	}
	roleKeys := map[string][]ed25519.PrivateKey{
		metadata.ROOT: rootKeys, metadata.TARGETS: {keys[TargetsKeyFile]},
		metadata.SNAPSHOT: {keys[SnapshotKeyFile]}, metadata.TIMESTAMP: {keys[TimestampKeyFile]},
	}
	for role, ks := range roleKeys {
		for _, k := range ks {
			key, _, err := tufKey(k)
			if err != nil {
				return err
			}
			if err := root.Signed.AddKey(key, role); err != nil {
				return fmt.Errorf("tufrepo: ceremony: %w", err)
			}
		}
	}
	root.Signed.Roles[metadata.ROOT].Threshold = 2
	for _, k := range rootKeys[:2] {
		if err := signWith(root, k); err != nil {
			return err
		}
	}
	targets := metadata.Targets(now.Add(TargetsLifetime))
	if err := signWith(targets, keys[TargetsKeyFile]); err != nil {
		return err
	}
	for f, k := range keys {
		if err := WriteKey(filepath.Join(out, f), k); err != nil {
			return err
		}
	}
	for f, m := range map[string]interface{ ToBytes(bool) ([]byte, error) }{RootFile: root, FirstTargetsFile: targets} {
		b, err := m.ToBytes(true)
		if err != nil {
			return fmt.Errorf("tufrepo: ceremony: %w", err)
		}
		if err := os.WriteFile(filepath.Join(out, f), b, 0o644); err != nil {
			return fmt.Errorf("tufrepo: ceremony: %w", err)
		}
	}
	return nil
}

// signWith adds k's signature to m.
func signWith[T metadata.Roles](m *metadata.Metadata[T], k ed25519.PrivateKey) error {
	s, err := signer(k)
	if err != nil {
		return err
	}
	if _, err := m.Sign(s); err != nil {
		return fmt.Errorf("tufrepo: sign: %w", err)
	}
	return nil
}

// ErrNoKey: the key given is not one the trusted root names for the role.
var ErrNoKey = errors.New("tufrepo: key not trusted by root for this role")

// checkRoleKey reports whether root trusts k for role.
func checkRoleKey(root *metadata.Metadata[metadata.RootType], role string, k ed25519.PrivateKey) error {
	_, id, err := tufKey(k)
	if err != nil {
		return err
	}
	r := root.Signed.Roles[role]
	if r == nil {
		return fmt.Errorf("%w: root has no %s role", ErrNoKey, role)
	}
	for _, kid := range r.KeyIDs {
		if kid == id {
			return nil
		}
	}
	return fmt.Errorf("%w (%s)", ErrNoKey, role)
}
