// Package release writes a kiosk release artifact, the file an IT person
// signs (hub-server release sign) and publishes (hub-server release add)
// and a terminal's updater unpacks beside the running kiosk: a gzipped
// tarball in the layout kiosk/updater.Extract accepts (manifest.json with
// the version, bin/kiosk executable). The kiosk binary inside must report
// the same version (kiosk/cli.Version), because the updater's health gate
// asks the restarted agent which version it runs.
package release

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/renameio/v2"

	"github.com/quartierhub/quartierhub/kiosk/updater"
)

// FileName is the artifact's file name for version v and arch, the last
// element of its TUF target name.
func FileName(v, arch string) string { return path.Base(updater.TargetName(v, arch)) }

// Version is the release version for v, which may be a release version
// already or a Debian package version (make packages' --print-version):
// "" and an error for a build that is no release (an untagged one).
func Version(v string) (string, error) {
	if updater.ValidVersion(v) {
		return v, nil
	}
	if r := updater.PackageVersion(v); r != "" {
		return r, nil
	}
	return "", fmt.Errorf("release: %q is no release version (an untagged build? tag it, or set the version)", v)
}

// File is another file a release carries (read-only data beside the
// binary).
type File struct {
	Name string // slash-separated, relative, not under bin/
	Data []byte
}

// Write writes the release of version v with the kiosk binary at kiosk
// and the extra files to w. Entries carry a fixed time and owner so that
// the same input gives the same artifact.
func Write(w io.Writer, v, kiosk string, extra ...File) error {
	if !updater.ValidVersion(v) {
		return fmt.Errorf("release: %q is not a release version", v)
	}
	bin, err := os.Open(kiosk)
	if err != nil {
		return fmt.Errorf("release: kiosk binary: %w", err)
	}
	defer bin.Close()
	st, err := bin.Stat()
	if err != nil {
		return fmt.Errorf("release: kiosk binary: %w", err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("release: kiosk binary %s is not a regular file", kiosk)
	}
	man, err := json.Marshal(updater.Manifest{Version: v})
	if err != nil {
		return fmt.Errorf("release: %w", err)
	}
	zw := gzip.NewWriter(w)
	tw := tar.NewWriter(zw)
	mtime := time.Unix(0, 0).UTC()
	hdr := func(name string, typ byte, mode, size int64) *tar.Header {
		return &tar.Header{Name: name, Typeflag: typ, Mode: mode, Size: size, ModTime: mtime, Format: tar.FormatPAX}
	}
	if err := tw.WriteHeader(hdr(updater.ManifestName, tar.TypeReg, 0o644, int64(len(man)))); err != nil {
		return fmt.Errorf("release: %w", err)
	}
	if _, err := tw.Write(man); err != nil {
		return fmt.Errorf("release: %w", err)
	}
	if err := tw.WriteHeader(hdr(path.Dir(updater.BinaryName)+"/", tar.TypeDir, 0o755, 0)); err != nil {
		return fmt.Errorf("release: %w", err)
	}
	if err := tw.WriteHeader(hdr(updater.BinaryName, tar.TypeReg, 0o755, st.Size())); err != nil {
		return fmt.Errorf("release: %w", err)
	}
	if n, err := io.Copy(tw, bin); err != nil || n != st.Size() {
		return fmt.Errorf("release: kiosk binary changed while read: %w", errors.Join(err, io.ErrUnexpectedEOF))
	}
	for _, f := range extra {
		// The updater creates parent directories itself; a name it would
		// refuse, or one that replaces the manifest or the binary, is
		// refused here, before anything is signed.
		name, err := updater.CheckEntryName(f.Name)
		if err != nil || name != f.Name || name == updater.ManifestName || strings.HasPrefix(name, "bin/") {
			return fmt.Errorf("release: extra file %q: want a clean relative name outside bin/, not the manifest", f.Name)
		}
		if err := tw.WriteHeader(hdr(name, tar.TypeReg, 0o644, int64(len(f.Data)))); err != nil {
			return fmt.Errorf("release: %w", err)
		}
		if _, err := tw.Write(f.Data); err != nil {
			return fmt.Errorf("release: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("release: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("release: %w", err)
	}
	return nil
}

// WriteFile writes the release into dir as FileName(v, arch), atomically,
// and returns its path.
func WriteFile(dir, v, arch, kiosk string, extra ...File) (string, error) {
	out := filepath.Join(dir, FileName(v, arch))
	f, err := renameio.NewPendingFile(out, renameio.WithPermissions(0o644))
	if err != nil {
		return "", fmt.Errorf("release: %w", err)
	}
	defer f.Cleanup()
	if err := Write(f, v, kiosk, extra...); err != nil {
		return "", err
	}
	if err := f.CloseAtomicallyReplace(); err != nil {
		return "", fmt.Errorf("release: %w", err)
	}
	return out, nil
}
