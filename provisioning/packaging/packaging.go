// Package packaging builds Quartierhub's Debian packages (quartierhub-kiosk,
// quartierhub-kiosk-session, quartierhub-hub) with nfpm's deb packager:
// the manifest of what each installs (manifest.go), maintainer scripts in
// the style of debhelper (users created once, units enabled and started
// with deb-systemd-helper and deb-systemd-invoke, data and users removed
// only on purge), a copyright file and a compressed changelog.
// provisioning/cmd/mkpackages is its command; version.go turns
// `git describe` into a Debian version.
package packaging

import (
	"bytes"
	"compress/gzip"
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/template"
	"time"

	"github.com/goreleaser/nfpm/v2"
	"github.com/goreleaser/nfpm/v2/deb"
	"github.com/goreleaser/nfpm/v2/files"
)

// Maintainer is the Maintainer field of every package and the signature
// of its changelog entry.
const Maintainer = "Quartierhub maintainers <maintainers@users.noreply.r-seed-28db208d.example>"

// Homepage is the project's address.
const Homepage = "https://github.com/quartierhub/quartierhub"

// Package is one .deb.
type Package struct {
	Name     string
	Section  string
	Synopsis string
	// Description is the extended description: paragraphs of lines,
	// "." alone between paragraphs.
	Description string
	Depends     []string
	Files       []File
	// User is the package's system user, created once by postinst and
	// removed on purge with its home (the state directory).
	User *SystemUser
	// ExtraGroups adds existing users (another package's) to groups.
	ExtraGroups map[string][]string
	// Units are enabled and started on install, restarted on upgrade,
	// stopped on removal.
	Units []string
	// PurgeDirs are state directories of the package's units (systemd's
	// StateDirectory=) removed on purge, like the user's home.
	PurgeDirs []string
	// UdevSubsystems: the package ships udev rules for devices of these
	// subsystems; postinst reloads the rules and applies them to the
	// devices already there, postrm reloads them.
	UdevSubsystems []string
	// LintianOverrides are lines of the package's lintian overrides
	// (tags without the package name; "#" lines give the reason).
	LintianOverrides []string
}

// File is one installed file: from the repository (Src), from the
// built binaries (Bin), or from a file given to this build (Input, a
// key of Options.Inputs; left out of the package when not given).
type File struct {
	Src      string
	Bin      string
	Input    string
	Dest     string
	Mode     os.FileMode
	Conffile bool
	// Gzip compresses the source into the package (manual pages).
	Gzip bool
}

// SystemUser is a system user with its own group and a home that is the
// package's state directory.
type SystemUser struct {
	Name  string
	Gecos string
	Home  string
	// Mode of the home directory, octal.
	Mode string
	// Groups the user joins besides its own (those that exist).
	Groups []string
}

// Options say where the sources are and what to build.
type Options struct {
	// Root is the repository's root directory.
	Root string
	// BinDir holds the built binaries (kiosk, hub-server).
	BinDir string
	// OutDir receives the .deb files.
	OutDir string
	// Version is the Debian version (see DebianVersion).
	Version string
	// Arch is the Debian architecture; default amd64.
	Arch string
	// Time stamps every file and the changelog entry (the commit's time,
	// so that two builds of one commit are identical).
	Time time.Time
	// Change is the changelog entry's text, e.g. "Built from git a7ea3f9.".
	Change string
	// Inputs are files of this build from outside the repository, by the
	// name File.Input gives them (InputTUFRoot).
	Inputs map[string]string
}

// InputTUFRoot names the pinned TUF root in Options.Inputs: the
// root.json of the key ceremony (`hub-server release keys`), which the
// updater trusts; without it the updater's unit does not start.
const InputTUFRoot = "tuf-root"

//go:embed scripts/*.tmpl copyright
var embedded embed.FS

var scripts = template.Must(template.New("").Funcs(template.FuncMap{
	"join":   strings.Join,
	"sorted": sortedKeys,
}).ParseFS(embedded, "scripts/*.tmpl"))

// ErrMissingSource is wrapped by Build when a file the manifest names
// does not exist.
var ErrMissingSource = errors.New("missing source file")

// Build builds the packages of the manifest into opt.OutDir and returns
// their paths.
func Build(ctx context.Context, pkgs []Package, opt Options) ([]string, error) {
	if err := ValidVersion(opt.Version); err != nil {
		return nil, fmt.Errorf("packaging: %w", err)
	}
	if opt.Arch == "" {
		opt.Arch = "amd64"
	}
	if opt.Time.IsZero() {
		return nil, errors.New("packaging: no time stamp (Options.Time)")
	}
	// Every missing source at once, so one run shows all that is absent.
	var missing []string
	for _, p := range pkgs {
		for _, f := range p.Files {
			if f.Input != "" && opt.Inputs[f.Input] == "" {
				continue
			}
			if _, err := os.Stat(sourceOf(f, opt)); err != nil {
				missing = append(missing, fmt.Sprintf("%s needs %s: %v", p.Name, sourceName(f, opt), err))
			}
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("packaging: %w:\n  %s", ErrMissingSource, strings.Join(missing, "\n  "))
	}
	if err := os.MkdirAll(opt.OutDir, 0o755); err != nil {
		return nil, fmt.Errorf("packaging: %w", err)
	}
	work, err := os.MkdirTemp("", "quartierhub-packaging-")
	if err != nil {
		return nil, fmt.Errorf("packaging: %w", err)
	}
	defer os.RemoveAll(work)

	var built []string
	for _, p := range pkgs {
		if err := ctx.Err(); err != nil {
			return built, fmt.Errorf("packaging: %w", err)
		}
		path, err := buildOne(p, opt, filepath.Join(work, p.Name))
		if err != nil {
			return built, fmt.Errorf("packaging: %s: %w", p.Name, err)
		}
		built = append(built, path)
	}
	return built, nil
}

func sourceOf(f File, opt Options) string {
	if f.Input != "" {
		return opt.Inputs[f.Input]
	}
	if f.Bin != "" {
		return filepath.Join(opt.BinDir, f.Bin)
	}
	return filepath.Join(opt.Root, filepath.FromSlash(f.Src))
}

func sourceName(f File, opt Options) string {
	if f.Input != "" {
		return "the " + f.Input + " file " + opt.Inputs[f.Input]
	}
	if f.Bin != "" {
		return "the binary " + filepath.Join(opt.BinDir, f.Bin)
	}
	return f.Src
}

func buildOne(p Package, opt Options, work string) (string, error) {
	if err := os.MkdirAll(work, 0o755); err != nil {
		return "", err
	}
	mtime := opt.Time.UTC().Truncate(time.Second)
	info := &nfpm.Info{
		Name:          p.Name,
		Arch:          opt.Arch,
		Platform:      "linux",
		Version:       opt.Version,
		VersionSchema: "none",
		Section:       p.Section,
		Priority:      "optional",
		Maintainer:    Maintainer,
		Homepage:      Homepage,
		Description:   p.Synopsis + "\n" + p.Description,
		MTime:         mtime,
		Overridables: nfpm.Overridables{
			Depends: p.Depends,
			Umask:   0o022,
		},
	}
	for i, f := range p.Files {
		if f.Input != "" && opt.Inputs[f.Input] == "" {
			continue
		}
		typ := files.TypeFile
		if f.Conffile {
			typ = files.TypeConfig
		}
		src := sourceOf(f, opt)
		if f.Gzip {
			body, err := os.ReadFile(src)
			if err != nil {
				return "", err
			}
			if body, err = gzipped(body); err != nil {
				return "", err
			}
			src = filepath.Join(work, fmt.Sprintf("%d-%s.gz", i, filepath.Base(src)))
			if err := os.WriteFile(src, body, 0o644); err != nil {
				return "", err
			}
		}
		info.Contents = append(info.Contents, &files.Content{
			Source:      src,
			Destination: f.Dest,
			Type:        typ,
			FileInfo:    &files.ContentFileInfo{Mode: f.Mode, MTime: mtime, Owner: "root", Group: "root"},
		})
	}

	// Documentation every package carries: copyright and changelog.
	doc := "/usr/share/doc/" + p.Name
	copyright, err := fs.ReadFile(embedded, "copyright")
	if err != nil {
		return "", err
	}
	changelog, err := changelogOf(p.Name, opt)
	if err != nil {
		return "", err
	}
	extra := map[string][]byte{doc + "/copyright": copyright, doc + "/changelog.gz": changelog}
	if len(p.LintianOverrides) > 0 {
		var o strings.Builder
		for _, l := range p.LintianOverrides {
			if !strings.HasPrefix(l, "#") {
				l = p.Name + ": " + l
			}
			o.WriteString(l + "\n")
		}
		extra["/usr/share/lintian/overrides/"+p.Name] = []byte(o.String())
	}
	for dest, body := range extra {
		src := filepath.Join(work, strings.ReplaceAll(strings.TrimPrefix(dest, "/"), "/", "_"))
		if err := os.WriteFile(src, body, 0o644); err != nil {
			return "", err
		}
		info.Contents = append(info.Contents, &files.Content{
			Source: src, Destination: dest,
			FileInfo: &files.ContentFileInfo{Mode: 0o644, MTime: mtime, Owner: "root", Group: "root"},
		})
	}

	// Maintainer scripts.
	for _, s := range []struct {
		name string
		dest *string
	}{
		{"postinst", &info.Scripts.PostInstall},
		{"prerm", &info.Scripts.PreRemove},
		{"postrm", &info.Scripts.PostRemove},
	} {
		var body bytes.Buffer
		if err := scripts.ExecuteTemplate(&body, s.name+".tmpl", p); err != nil {
			return "", fmt.Errorf("%s: %w", s.name, err)
		}
		path := filepath.Join(work, s.name)
		if err := os.WriteFile(path, body.Bytes(), 0o755); err != nil {
			return "", err
		}
		*s.dest = path
	}

	packager := deb.Default
	out := filepath.Join(opt.OutDir, packager.ConventionalFileName(info))
	tmp := out + ".part"
	f, err := os.Create(tmp)
	if err != nil {
		return "", err
	}
	if err := packager.Package(info, f); err != nil {
		f.Close()
		os.Remove(tmp)
		return "", err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return "", err
	}
	return out, os.Rename(tmp, out)
}

// changelogOf is the package's Debian changelog with one entry, gzipped
// without a name or time in the header (as gzip -9n does).
func changelogOf(name string, opt Options) ([]byte, error) {
	change := opt.Change
	if change == "" {
		change = "Built from the Quartierhub repository."
	}
	text := fmt.Sprintf("%s (%s) unstable; urgency=medium\n\n  * %s\n\n -- %s  %s\n",
		name, opt.Version, change, Maintainer, opt.Time.UTC().Format("Mon, 02 Jan 2006 15:04:05 -0700"))
	return gzipped([]byte(text))
}

// gzipped compresses like gzip -9n: no name or time in the header, so
// the same input always gives the same bytes.
func gzipped(body []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(body); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func sortedKeys(m map[string][]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
