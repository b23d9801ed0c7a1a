// Package identity keeps the terminal's own identity: the ed25519 key pair
// it generated at enrolment and what the hub told it about itself. The
// private key never leaves the terminal; the hub holds only the public key.
package identity

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/quartierhub/quartierhub/internal/atomicfile"
)

// FileName is the identity file inside the terminal's data directory.
const FileName = "identity.json"

// ErrNotEnrolled means the terminal has no identity yet.
var ErrNotEnrolled = errors.New("identity: terminal is not enrolled")

// Identity is who this terminal is to its hub.
type Identity struct {
	TerminalID string
	Name       string
	Quarter    string
	HubURL     string
	EnrolledAt time.Time
	Key        ed25519.PrivateKey
}

func (id Identity) String() string {
	return fmt.Sprintf("terminal %s (%s, %s) at %s", id.Name, id.TerminalID, id.Quarter, id.HubURL)
}

// Public returns the public half of the key.
func (id Identity) Public() ed25519.PublicKey { return id.Key.Public().(ed25519.PublicKey) }

type fileFormat struct {
	TerminalID string    `json:"terminal_id"`
	Name       string    `json:"name"`
	Quarter    string    `json:"quarter"`
	HubURL     string    `json:"hub_url"`
	EnrolledAt time.Time `json:"enrolled_at"`
	KeySeed    string    `json:"ed25519_seed"`
}

// NewKey generates a key pair from rnd (crypto/rand when nil).
func NewKey(rnd io.Reader) (ed25519.PrivateKey, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	_, priv, err := ed25519.GenerateKey(rnd)
	if err != nil {
		return nil, fmt.Errorf("identity: generate key: %w", err)
	}
	return priv, nil
}

// Save writes id into dir atomically, readable only by its owner.
func Save(dir string, id Identity) error {
	b, err := json.MarshalIndent(fileFormat{
		TerminalID: id.TerminalID, Name: id.Name, Quarter: id.Quarter, HubURL: id.HubURL,
		EnrolledAt: id.EnrolledAt.UTC(),
		KeySeed:    base64.StdEncoding.EncodeToString(id.Key.Seed()),
	}, "", "  ")
	if err != nil {
		return fmt.Errorf("identity: %w", err)
	}
	// Mode 0600 whatever the umask or an older file's mode: the file holds
	// the private key.
	if err := atomicfile.WriteFile(filepath.Join(dir, FileName), append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("identity: save: %w", err)
	}
	return nil
}

// Load reads the identity in dir; ErrNotEnrolled if there is none.
func Load(dir string) (Identity, error) {
	b, err := os.ReadFile(filepath.Join(dir, FileName))
	if errors.Is(err, os.ErrNotExist) {
		return Identity{}, ErrNotEnrolled
	}
	if err != nil {
		return Identity{}, fmt.Errorf("identity: load: %w", err)
	}
	var f fileFormat
	if err := json.Unmarshal(b, &f); err != nil {
		return Identity{}, fmt.Errorf("identity: %s is damaged: %w", FileName, err)
	}
	seed, err := base64.StdEncoding.DecodeString(f.KeySeed)
	if err != nil || len(seed) != ed25519.SeedSize {
		return Identity{}, fmt.Errorf("identity: %s holds no valid key", FileName)
	}
	if f.TerminalID == "" || f.HubURL == "" {
		return Identity{}, fmt.Errorf("identity: %s lacks terminal id or hub URL", FileName)
	}
	return Identity{
		TerminalID: f.TerminalID, Name: f.Name, Quarter: f.Quarter, HubURL: f.HubURL,
		EnrolledAt: f.EnrolledAt, Key: ed25519.NewKeyFromSeed(seed),
	}, nil
}

// Source gives the current identity and notices when enrolment changes it
// on disk (the CLI may enrol while the agent runs).
type Source struct {
	dir string

	mu    sync.Mutex
	mtime time.Time
	size  int64
	id    Identity
	err   error
}

// NewSource returns a Source reading from dir.
func NewSource(dir string) *Source { return &Source{dir: dir} }

// Get returns the identity, re-reading the file only when it changed.
func (s *Source) Get() (Identity, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fi, err := os.Stat(filepath.Join(s.dir, FileName))
	if errors.Is(err, os.ErrNotExist) {
		s.mtime, s.id, s.err = time.Time{}, Identity{}, ErrNotEnrolled
		return s.id, s.err
	}
	if err != nil {
		return Identity{}, fmt.Errorf("identity: %w", err)
	}
	if fi.ModTime().Equal(s.mtime) && fi.Size() == s.size {
		return s.id, s.err
	}
	s.mtime, s.size = fi.ModTime(), fi.Size()
	s.id, s.err = Load(s.dir)
	return s.id, s.err
}
