package identity_test

import (
	"crypto/ed25519"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/quartierhub/quartierhub/kiosk/identity"
)

// The file with the private key is readable by its owner only, however
// permissive the umask and whatever mode an older file had (re-enrolment
// with --force replaces it).
func TestKeyFileStaysPrivate(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	dir := t.TempDir()
	path := filepath.Join(dir, identity.FileName)
	_, key, _ := ed25519.GenerateKey(nil)
	id := identity.Identity{TerminalID: "T1", Name: "t", Quarter: "Q", HubURL: "http://hub", Key: key}
	if err := identity.Save(dir, id); err != nil {
		t.Fatal(err)
	}
	mode := func() os.FileMode {
		t.Helper()
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Mode().Perm()
	}
	if m := mode(); m != 0o600 {
		t.Fatalf("new identity file has mode %v, want 0600", m)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := identity.Save(dir, id); err != nil {
		t.Fatal(err)
	}
	if m := mode(); m != 0o600 {
		t.Fatalf("replaced identity file has mode %v, want 0600", m)
	}
	got, err := identity.Load(dir)
	if err != nil || !got.Key.Equal(key) || got.TerminalID != "T1" {
		t.Fatalf("Load = %v, %v", got, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("data directory holds %v, want only the identity", entries)
	}
}
