package updater

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/quartierhub/quartierhub/internal/atomicfile"
)

// Release layout inside the tarball (and so inside releases/VERSION):
//
//	manifest.json   {"version": "1.4.0"}
//	bin/kiosk       the kiosk binary the units start through current/bin/kiosk
//
// Other regular files and directories may accompany them.
const (
	ManifestName = "manifest.json"
	BinaryName   = "bin/kiosk"
)

// Limits bound what an archive may unpack to. Even a signed archive is
// bounded: a mistake on the signer's side must not fill the terminal's disk.
type Limits struct {
	MaxBytes int64 // total of the regular files' sizes
	MaxFiles int   // entries of any kind
}

// DefaultLimits fit a kiosk release (about 30 MB) with room to grow.
var DefaultLimits = Limits{MaxBytes: 512 << 20, MaxFiles: 2000}

// Manifest describes a release.
type Manifest struct {
	Version string `json:"version"`
}

// ErrUnsafeArchive marks an archive refused by the extractor's checks.
var ErrUnsafeArchive = errors.New("updater: unsafe archive")

// CheckEntryName returns the cleaned, slash-separated name of an archive
// entry, or an error if it is absolute, climbs with "..", or is empty.
func CheckEntryName(name string) (string, error) {
	if name == "" || strings.ContainsRune(name, 0) || strings.Contains(name, `\`) {
		return "", fmt.Errorf("%w: bad name %q", ErrUnsafeArchive, name)
	}
	if strings.HasPrefix(name, "/") {
		return "", fmt.Errorf("%w: absolute name %q", ErrUnsafeArchive, name)
	}
	for _, el := range strings.Split(name, "/") {
		if el == ".." {
			return "", fmt.Errorf("%w: %q climbs out", ErrUnsafeArchive, name)
		}
	}
	clean := path.Clean(name)
	if clean == "." || !filepath.IsLocal(clean) {
		return "", fmt.Errorf("%w: bad name %q", ErrUnsafeArchive, name)
	}
	return clean, nil
}

// Extract unpacks the gzip-compressed tarball r into dest, which must not
// exist. Only regular files and directories are accepted: links of any
// kind are refused, so nothing written can point outside dest, and no
// later entry can be written through one. Modes keep only the permission
// bits (no setuid). Every file and directory is fsynced before Extract
// returns, so that a rename of dest afterwards publishes complete content.
func Extract(r io.Reader, dest string, lim Limits) (Manifest, error) {
	var man Manifest
	zr, err := gzip.NewReader(r)
	if err != nil {
		return man, fmt.Errorf("%w: %w", ErrUnsafeArchive, err)
	}
	zr.Multistream(false)
	if err := os.Mkdir(dest, 0o755); err != nil {
		return man, fmt.Errorf("updater: extract: %w", err)
	}
	tr := tar.NewReader(zr)
	var total int64
	var files int
	dirs := map[string]bool{".": true}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return man, fmt.Errorf("%w: %w", ErrUnsafeArchive, err)
		}
		files++
		if files > lim.MaxFiles {
			return man, fmt.Errorf("%w: more than %d entries", ErrUnsafeArchive, lim.MaxFiles)
		}
		name, err := CheckEntryName(hdr.Name)
		if err != nil {
			return man, err
		}
		target := filepath.Join(dest, filepath.FromSlash(name))
		perm := fs.FileMode(hdr.Mode) & 0o755
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := mkdirs(dest, name, dirs); err != nil {
				return man, err
			}
		case tar.TypeReg:
			if hdr.Size < 0 || hdr.Size > lim.MaxBytes-total {
				return man, fmt.Errorf("%w: more than %d bytes", ErrUnsafeArchive, lim.MaxBytes)
			}
			total += hdr.Size
			if err := mkdirs(dest, path.Dir(name), dirs); err != nil {
				return man, err
			}
			if err := writeEntry(target, tr, hdr.Size, perm|0o400); err != nil {
				return man, err
			}
		default:
			return man, fmt.Errorf("%w: %q is not a regular file or directory (type %q)", ErrUnsafeArchive, hdr.Name, hdr.Typeflag)
		}
	}
	for d := range dirs {
		if err := atomicfile.SyncDir(filepath.Join(dest, filepath.FromSlash(d))); err != nil {
			return man, fmt.Errorf("updater: extract: %w", err)
		}
	}
	data, err := os.ReadFile(filepath.Join(dest, ManifestName))
	if err != nil {
		return man, fmt.Errorf("%w: no %s", ErrUnsafeArchive, ManifestName)
	}
	if len(data) > 64<<10 || json.Unmarshal(data, &man) != nil || !ValidVersion(man.Version) {
		return Manifest{}, fmt.Errorf("%w: bad %s", ErrUnsafeArchive, ManifestName)
	}
	st, err := os.Stat(filepath.Join(dest, filepath.FromSlash(BinaryName)))
	if err != nil || !st.Mode().IsRegular() || st.Mode().Perm()&0o100 == 0 {
		return Manifest{}, fmt.Errorf("%w: no executable %s", ErrUnsafeArchive, BinaryName)
	}
	return man, nil
}

// mkdirs creates name and its parents under dest. No entry can be a link,
// so every path component is a directory the extractor made itself.
func mkdirs(dest, name string, made map[string]bool) error {
	if made[name] {
		return nil
	}
	if err := mkdirs(dest, path.Dir(name), made); err != nil {
		return err
	}
	p := filepath.Join(dest, filepath.FromSlash(name))
	if err := os.Mkdir(p, 0o755); err != nil {
		return fmt.Errorf("%w: directory %q: %w", ErrUnsafeArchive, name, err)
	}
	made[name] = true
	return nil
}

func writeEntry(target string, r io.Reader, size int64, perm fs.FileMode) error {
	// O_EXCL: a duplicate entry must not replace an earlier one.
	f, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnsafeArchive, err)
	}
	n, err := io.Copy(f, io.LimitReader(r, size))
	if err == nil && n != size {
		err = io.ErrUnexpectedEOF
	}
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("updater: extract %s: %w", filepath.Base(target), err)
	}
	return nil
}
