package release

import (
	"bytes"
	"crypto/sha256"
	"os"
	"path/filepath"
	"testing"

	"github.com/quartierhub/quartierhub/kiosk/updater"
)

// TestUpdaterExtractsRelease: what Write makes is what the terminal's
// updater unpacks, with the version and the executable kiosk, and the same
// binary gives the same bytes.
func TestUpdaterExtractsRelease(t *testing.T) {
	dir := t.TempDir()
	kiosk := filepath.Join(dir, "kiosk")
	body := []byte("#!/bin/sh\necho kiosk 1.4.0\n")
	if err := os.WriteFile(kiosk, body, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := WriteFile(dir, "1.4.0", "amd64", kiosk, File{Name: "share/quartierhub/notice.txt", Data: []byte("notice")})
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(out) != "quartierhub-kiosk_1.4.0_amd64.tar.gz" {
		t.Fatalf("file name %s", filepath.Base(out))
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dest := filepath.Join(dir, "releases", "1.4.0")
	os.MkdirAll(filepath.Dir(dest), 0o755)
	man, err := updater.Extract(f, dest, updater.DefaultLimits)
	if err != nil || man.Version != "1.4.0" {
		t.Fatalf("extract: %+v, %v", man, err)
	}
	got, err := os.ReadFile(filepath.Join(dest, "bin", "kiosk"))
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("bin/kiosk: %q, %v", got, err)
	}
	if got, err := os.ReadFile(filepath.Join(dest, "share", "quartierhub", "notice.txt")); err != nil || string(got) != "notice" {
		t.Fatalf("extra file: %q, %v", got, err)
	}
	var a, b bytes.Buffer
	if err := Write(&a, "1.4.0", kiosk); err != nil {
		t.Fatal(err)
	}
	if err := Write(&b, "1.4.0", kiosk); err != nil {
		t.Fatal(err)
	}
	if sha256.Sum256(a.Bytes()) != sha256.Sum256(b.Bytes()) {
		t.Fatal("two artifacts of the same binary differ")
	}
}

func TestRefusals(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "kiosk"), []byte("kiosk"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := WriteFile(dir, "1.4", "amd64", filepath.Join(dir, "kiosk")); err == nil {
		t.Fatal("a version that is no release was written")
	}
	if _, err := WriteFile(dir, "1.4.0", "amd64", filepath.Join(dir, "missing")); err == nil {
		t.Fatal("a missing kiosk binary was written")
	}
	if err := Write(&bytes.Buffer{}, "1.4.0", dir); err == nil {
		t.Fatal("a directory was written as the kiosk binary")
	}
	for _, bad := range []string{"manifest.json", "bin/kiosk", "bin/other", "../x", "/etc/x", "a//b", ""} {
		if _, err := WriteFile(dir, "1.4.0", "amd64", filepath.Join(dir, "kiosk"), File{Name: bad}); err == nil {
			t.Errorf("extra file %q accepted", bad)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "quartierhub-kiosk*")); len(left) > 0 {
		t.Fatalf("refused releases left files: %v", left)
	}
}

func TestVersion(t *testing.T) {
	for in, want := range map[string]string{"1.4.0": "1.4.0", "1.3.0~rc1": "1.3.0-rc1", "1.2.3+git20261207.abc": "1.2.3", "0.0~git20261207.abc": ""} {
		got, err := Version(in)
		if got != want || (want == "") != (err != nil) {
			t.Errorf("Version(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}
