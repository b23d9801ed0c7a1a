package packaging

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// standInBins writes small programs in place of the built binaries.
func standInBins(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"kiosk", "hub-server", "quartierhub-updater"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\necho "+name+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func dpkgDeb(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("dpkg-deb")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("dpkg-deb is not installed (package dpkg)")
		}
		t.Skip("dpkg-deb is not installed (not a Debian machine)")
	}
	return p
}

const testVersion = "1.2.3+git20261207043318.abc1234"

// TestBuildFromRepository builds every package of the manifest from the
// repository's files (stand-in binaries) and reads them back with
// dpkg-deb: fields, files and modes, conffiles and maintainer scripts.
// A file the manifest names but the repository lacks fails it here.
func TestBuildFromRepository(t *testing.T) {
	deb := dpkgDeb(t)
	out := t.TempDir()
	opt := Options{Root: "../..", BinDir: standInBins(t), OutDir: out, Version: testVersion, Time: commitTime, Change: "Test build."}
	debs, err := Build(context.Background(), Manifest(testVersion), opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(debs) != 3 {
		t.Fatalf("built %v, want three packages", debs)
	}
	for _, p := range Manifest(testVersion) {
		path := filepath.Join(out, p.Name+"_"+testVersion+"_amd64.deb")
		info := run(t, deb, "-f", path)
		for _, want := range []string{"Package: " + p.Name, "Version: " + testVersion, "Architecture: amd64", "Maintainer: " + Maintainer, "Depends: " + strings.Join(p.Depends, ", ")} {
			if !strings.Contains(info, want+"\n") {
				t.Errorf("%s: control lacks %q:\n%s", p.Name, want, info)
			}
		}
		list := run(t, deb, "-c", path)
		for _, f := range p.Files {
			if f.Input != "" {
				if strings.Contains(list, "."+f.Dest+"\n") {
					t.Errorf("%s: %s packaged though not given", p.Name, f.Dest)
				}
				continue
			}
			mode := "-rw-r--r--"
			switch f.Mode {
			case 0o755:
				mode = "-rwxr-xr-x"
			case 0o640:
				mode = "-rw-r-----"
			}
			if !strings.Contains(list, mode+" root/root") || !strings.Contains(list, "."+f.Dest+"\n") {
				t.Errorf("%s: no %s %s in\n%s", p.Name, mode, f.Dest, list)
			}
		}
		for _, doc := range []string{"copyright", "changelog.gz"} {
			if !strings.Contains(list, "./usr/share/doc/"+p.Name+"/"+doc+"\n") {
				t.Errorf("%s: no %s", p.Name, doc)
			}
		}

		ctrl := t.TempDir()
		run(t, deb, "-e", path, ctrl)
		conffiles, _ := os.ReadFile(filepath.Join(ctrl, "conffiles"))
		for _, f := range p.Files {
			if f.Input != "" {
				continue
			}
			if f.Conffile != strings.Contains(string(conffiles), f.Dest+"\n") {
				t.Errorf("%s: %s conffile %v, conffiles %q", p.Name, f.Dest, f.Conffile, conffiles)
			}
		}
		for _, s := range []string{"postinst", "prerm", "postrm"} {
			script := filepath.Join(ctrl, s)
			if out, err := exec.Command("sh", "-n", script).CombinedOutput(); err != nil {
				t.Errorf("%s %s: sh -n: %v %s", p.Name, s, err, out)
			}
			body, _ := os.ReadFile(script)
			for _, u := range p.Units {
				if !strings.Contains(string(body), "'"+u+"'") {
					t.Errorf("%s %s does not handle %s", p.Name, s, u)
				}
			}
		}
		postinst, _ := os.ReadFile(filepath.Join(ctrl, "postinst"))
		postrm, _ := os.ReadFile(filepath.Join(ctrl, "postrm"))
		if p.User != nil {
			if !strings.Contains(string(postinst), "if ! getent passwd "+p.User.Name+" >/dev/null; then\n\t\tadduser --system") {
				t.Errorf("%s postinst does not create %s once:\n%s", p.Name, p.User.Name, postinst)
			}
			purge := string(postrm[strings.Index(string(postrm), `if [ "$1" = "purge" ]; then`+"\n\t# The data"):])
			if !strings.Contains(purge, "rm -rf "+p.User.Home) || !strings.Contains(purge, "deluser --system --quiet "+p.User.Name) {
				t.Errorf("%s postrm does not remove data and user on purge:\n%s", p.Name, postrm)
			}
		}
		for _, d := range p.PurgeDirs {
			if !strings.Contains(string(postrm), "rm -rf "+d) {
				t.Errorf("%s postrm does not remove %s on purge", p.Name, d)
			}
		}
	}
}

// TestBuildReproducible builds twice and compares the bytes: the
// commit's time stamps every file, so one commit gives one package.
func TestBuildReproducible(t *testing.T) {
	bins := standInBins(t)
	var hub []Package
	for _, p := range Manifest(testVersion) {
		if p.Name == Hub {
			hub = append(hub, p)
		}
	}
	var got [][]byte
	for range 2 {
		debs, err := Build(context.Background(), hub, Options{Root: "../..", BinDir: bins, OutDir: t.TempDir(), Version: testVersion, Time: commitTime})
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(debs[0])
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, b)
	}
	if !bytes.Equal(got[0], got[1]) {
		t.Error("two builds of one commit differ")
	}
}

// TestMissingSourceNamed: a file the manifest names but the repository
// lacks fails the build with the package and the path, and nothing is
// written.
func TestMissingSourceNamed(t *testing.T) {
	root := t.TempDir()
	pkgs := []Package{{
		Name: "quartierhub-test", Synopsis: "test", Description: "Test.",
		Files: []File{
			{Src: "provisioning/session/present.ini", Dest: "/etc/present.ini", Mode: 0o644},
			{Src: "provisioning/session/weston.ini", Dest: "/etc/weston.ini", Mode: 0o644, Conffile: true},
			{Bin: "kiosk", Dest: "/usr/bin/kiosk", Mode: 0o755},
		},
	}}
	if err := os.MkdirAll(filepath.Join(root, "provisioning/session"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "provisioning/session/present.ini"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "dist")
	bins := t.TempDir()
	_, err := Build(context.Background(), pkgs, Options{Root: root, BinDir: bins, OutDir: out, Version: "1.0", Time: time.Now()})
	if !errors.Is(err, ErrMissingSource) {
		t.Fatalf("Build = %v, want ErrMissingSource", err)
	}
	msg := err.Error()
	for _, want := range []string{"quartierhub-test needs provisioning/session/weston.ini", "quartierhub-test needs the binary " + filepath.Join(bins, "kiosk")} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not name %q", msg, want)
		}
	}
	if strings.Contains(msg, "present.ini") {
		t.Errorf("error names a file that exists: %q", msg)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("the output directory was made despite the error: %v", err)
	}
	// A version that is not Debian's is refused before anything is read.
	if _, err := Build(context.Background(), pkgs, Options{Root: root, OutDir: out, Version: "v1.0", Time: time.Now()}); err == nil || !strings.Contains(err.Error(), "not a Debian version") {
		t.Errorf("Build with version v1.0 = %v", err)
	}
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}

// writeTUFRoot writes a root.json signed by threshold of its n root keys.
func writeTUFRoot(t *testing.T, n, threshold, signers int) string {
	t.Helper()
	root := metadata.Root(commitTime.AddDate(1, 0, 0))
	var keys []ed25519.PrivateKey
	for range n {
		_, priv, err := ed25519.GenerateKey(nil)
		if err != nil {
			t.Fatal(err)
		}
		key, err := metadata.KeyFromPublicKey(priv.Public())
		if err != nil {
			t.Fatal(err)
		}
		if err := root.Signed.AddKey(key, metadata.ROOT); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, priv)
	}
	root.Signed.Roles[metadata.ROOT].Threshold = threshold
	for _, k := range keys[:signers] {
		s, err := signature.LoadSigner(k, crypto.Hash(0))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := root.Sign(s); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "root.json")
	if err := root.ToFile(path, true); err != nil {
		t.Fatal(err)
	}
	return path
}

// The pinned TUF root: checked (a root signed by a threshold of its own
// keys) and installed for the updater when given.
func TestTUFRootPinned(t *testing.T) {
	deb := dpkgDeb(t)
	good := writeTUFRoot(t, 3, 2, 2)
	if err := CheckTUFRoot(good); err != nil {
		t.Fatal(err)
	}
	if err := CheckTUFRoot(writeTUFRoot(t, 3, 2, 1)); err == nil {
		t.Error("a root below its threshold accepted")
	}
	notRoot := filepath.Join(t.TempDir(), "targets.json")
	if err := os.WriteFile(notRoot, []byte(`{"signed":{"_type":"targets"},"signatures":[]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := CheckTUFRoot(notRoot); err == nil {
		t.Error("a targets file accepted as root")
	}
	var kiosk []Package
	for _, p := range Manifest(testVersion) {
		if p.Name == Kiosk {
			kiosk = append(kiosk, p)
		}
	}
	out := t.TempDir()
	debs, err := Build(context.Background(), kiosk, Options{Root: "../..", BinDir: standInBins(t), OutDir: out, Version: testVersion, Time: commitTime,
		Inputs: map[string]string{InputTUFRoot: good}})
	if err != nil {
		t.Fatal(err)
	}
	x := t.TempDir()
	run(t, deb, "-x", debs[0], x)
	got, err := os.ReadFile(filepath.Join(x, "usr/share/quartierhub/tuf-root.json"))
	want, _ := os.ReadFile(good)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("pinned root: %v", err)
	}
}
