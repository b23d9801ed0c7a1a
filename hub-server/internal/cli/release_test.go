package cli_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/theupdateframework/go-tuf/v2/metadata/config"
	"github.com/theupdateframework/go-tuf/v2/metadata/updater"

	"github.com/quartierhub/quartierhub/hub-server/internal/hub"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/teststores"
	"github.com/quartierhub/quartierhub/hub-server/internal/tufrepo"
	"github.com/quartierhub/quartierhub/hub-server/internal/tufrepo/tufhttp"
)

// mustRun runs a command that must succeed and returns its output.
func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, errs, code := runIn(t, "", args...)
	if code != 0 {
		t.Fatalf("%s: exit %d: %s%s", strings.Join(args[:2], " "), code, out, errs)
	}
	return out
}

// mustFail runs a command that must fail with a message containing want.
func mustFail(t *testing.T, want string, args ...string) {
	t.Helper()
	out, errs, code := runIn(t, "", args...)
	if code == 0 || !strings.Contains(errs, want) {
		t.Errorf("%s: exit %d %q %q, want a failure saying %q", strings.Join(args, " "), code, out, errs, want)
	}
}

func writeFile(t *testing.T, path string, b []byte) string {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// A release's whole path as an IT person walks it: the ceremony offline,
// release init on the hub, release sign offline (first from the
// ceremony's targets.json, then fetching the published one from the
// running hub), release add on the hub, release list; a real go-tuf
// client with the pinned root then downloads the release from the hub.
// Mixed-up files are refused with a message that names the mix-up, and
// nothing is published then.
func TestReleaseFromCeremonyToClient(t *testing.T) {
	teststores.EachKind(t, func(t *testing.T, kind string) { testRelease(t, kind) })
}

func testRelease(t *testing.T, kind string) {
	ctx := context.Background()
	keys := filepath.Join(t.TempDir(), "ceremony")
	out := mustRun(t, "release", "keys", "--out", keys)
	for _, f := range []string{tufrepo.RootKeyFile(1), tufrepo.RootKeyFile(2), tufrepo.RootKeyFile(3), tufrepo.TargetsKeyFile,
		tufrepo.SnapshotKeyFile, tufrepo.TimestampKeyFile, tufrepo.RootFile, tufrepo.FirstTargetsFile} {
		if !strings.Contains(out, filepath.Join(keys, f)) {
			t.Errorf("release keys does not say what to do with %s:\n%s", f, out)
		}
	}
	mustFail(t, "exists already", "release", "keys", "--out", keys)
	k := func(f string) string { return filepath.Join(keys, f) }

	data := filepath.Join(t.TempDir(), "hub")
	if err := mkHub(data); err != nil {
		t.Fatal(err)
	}
	loc := []string{"--data", data}
	if kind == teststores.Postgres {
		loc = append(loc, teststores.Location(t, kind)...) // --db URL; the keys stay in --data
	}
	mustFail(t, "no TUF repository", with(loc, "release", "list")...)
	mustFail(t, "--data HUBDIR is required", "release", "init", "--db", "postgres://x@localhost/hub", "--root", k(tufrepo.RootFile),
		"--targets", k(tufrepo.FirstTargetsFile), "--snapshot-key", k(tufrepo.SnapshotKeyFile), "--timestamp-key", k(tufrepo.TimestampKeyFile))
	// The targets key is not an online key: init refuses it.
	mustFail(t, "not trusted", with(loc, "release", "init", "--root", k(tufrepo.RootFile), "--targets", k(tufrepo.FirstTargetsFile),
		"--snapshot-key", k(tufrepo.TargetsKeyFile), "--timestamp-key", k(tufrepo.TimestampKeyFile))...)
	initArgs := with(loc, "release", "init", "--root", k(tufrepo.RootFile), "--targets", k(tufrepo.FirstTargetsFile),
		"--snapshot-key", k(tufrepo.SnapshotKeyFile), "--timestamp-key", k(tufrepo.TimestampKeyFile))
	mustRun(t, initArgs...)
	mustRun(t, initArgs...) // again: the same root, nothing changes
	for _, f := range []string{tufrepo.SnapshotKeyFile, tufrepo.TimestampKeyFile} {
		if fi, err := os.Stat(filepath.Join(tufrepo.KeyDir(data), f)); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("installed %s: %v %v, want mode 0600", f, fi, err)
		}
	}

	dir := t.TempDir()
	art1 := writeFile(t, filepath.Join(dir, "quartierhub-kiosk_1.0.0_amd64.tar.gz"), bytes.Repeat([]byte("release one "), 5000))
	t2 := filepath.Join(dir, "targets-2.json")
	signArgs := []string{"release", "sign", "--root", k(tufrepo.RootFile), "--targets-key", k(tufrepo.TargetsKeyFile),
		"--previous", k(tufrepo.FirstTargetsFile), "--file", art1, "--version", "1.0.0", "--out", t2}
	// The hub's online key cannot sign a release.
	mustFail(t, "not trusted", append(signArgs[:5:5], append([]string{k(tufrepo.SnapshotKeyFile)}, signArgs[6:]...)...)...)
	if out := mustRun(t, signArgs...); !strings.Contains(out, "release add") {
		t.Errorf("release sign does not say what is next:\n%s", out)
	}
	mustFail(t, "file exists", signArgs...)

	other := writeFile(t, filepath.Join(dir, "other.tar.gz"), []byte("not the signed artifact"))
	mustFail(t, "does not list version 1.0.1", with(loc, "release", "add", "--file", art1, "--targets", t2, "--version", "1.0.1")...)
	mustFail(t, "is not the one targets.json signs", with(loc, "release", "add", "--file", other, "--targets", t2, "--version", "1.0.0")...)
	mustFail(t, "sign targets.json offline", with(loc, "release", "add", "--file", art1, "--version", "1.0.0")...)
	addArgs := with(loc, "release", "add", "--file", art1, "--targets", t2, "--version", "1.0.0")
	if out := mustRun(t, addArgs...); !strings.Contains(out, "release 1.0.0 published") {
		t.Errorf("release add: %s", out)
	}
	if out := mustRun(t, addArgs...); !strings.Contains(out, "was published already") {
		t.Errorf("release add again: %s", out)
	}

	// The signer fetches the published targets.json from the running hub.
	hub := startServe(t, loc...)
	art2 := writeFile(t, filepath.Join(dir, "quartierhub-kiosk_1.1.0_amd64.tar.gz"), bytes.Repeat([]byte("release two "), 7000))
	t3 := filepath.Join(dir, "targets-3.json")
	if out := mustRun(t, "release", "sign", "--root", k(tufrepo.RootFile), "--targets-key", k(tufrepo.TargetsKeyFile), "--hub", hub.base,
		"--file", art2, "--version", "1.1.0", "--min-version", "1.0.0", "--out", t3); !strings.Contains(out, "version 3") {
		t.Errorf("release sign --hub: %s", out)
	}
	mustRun(t, with(loc, "release", "add", "--file", art2, "--targets", t3, "--version", "1.1.0")...)
	// Before targets.json expires, the signer renews it: the same releases.
	t4 := filepath.Join(dir, "targets-4.json")
	mustFail(t, "--renew takes no", "release", "sign", "--root", k(tufrepo.RootFile), "--targets-key", k(tufrepo.TargetsKeyFile),
		"--previous", t3, "--renew", "--file", art2, "--version", "1.2.0", "--out", t4)
	if out := mustRun(t, "release", "sign", "--root", k(tufrepo.RootFile), "--targets-key", k(tufrepo.TargetsKeyFile), "--hub", hub.base,
		"--renew", "--out", t4); !strings.Contains(out, "version 4") || !strings.Contains(out, "the same 2 releases") {
		t.Errorf("release sign --renew: %s", out)
	}
	if out := mustRun(t, with(loc, "release", "add", "--targets", t4)...); !strings.Contains(out, "version 4 published") {
		t.Errorf("release add of the renewed targets.json: %s", out)
	}
	// Before the root expires, two root key holders renew it.
	r2 := filepath.Join(dir, "root-2.json")
	mustFail(t, "the root needs 2", "release", "root", "--previous", k(tufrepo.RootFile), "--root-key", k(tufrepo.RootKeyFile(3)), "--out", r2)
	if out := mustRun(t, "release", "root", "--previous", k(tufrepo.RootFile), "--root-key", k(tufrepo.RootKeyFile(1)),
		"--root-key", k(tufrepo.RootKeyFile(3)), "--out", r2); !strings.Contains(out, "root.json version 2") {
		t.Errorf("release root: %s", out)
	}
	mustFail(t, "--root goes alone", with(loc, "release", "add", "--root", r2, "--targets", t4)...)
	if out := mustRun(t, with(loc, "release", "add", "--root", r2)...); !strings.Contains(out, "root.json version 2 published") {
		t.Errorf("release add --root: %s", out)
	}
	list := mustRun(t, with(loc, "release", "list")...)
	for _, want := range []string{"1.0.0", "1.1.0", "quartierhub-kiosk/1.1.0/quartierhub-kiosk_1.1.0_amd64.tar.gz", "84000", "yes"} {
		if !strings.Contains(list, want) {
			t.Errorf("release list lacks %q:\n%s", want, list)
		}
	}

	st := openStoreAt(t, loc)
	rels, err := st.Releases(ctx)
	if err != nil || len(rels) != 2 || rels[0].AddedBy != "root" {
		t.Errorf("releases a rollout may name: %+v %v", rels, err)
	}
	audit, err := st.AuditEntries(ctx, store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, a := range audit {
		actions = append(actions, a.Action+" "+a.Subject)
	}
	for _, want := range []string{"release.init tuf:root", "release.add release:1.0.0", "release.add release:1.1.0", "release.renew tuf:targets",
		"release.root tuf:root"} {
		if !strings.Contains(strings.Join(actions, "\n"), want) {
			t.Errorf("audit lacks %q: %q", want, actions)
		}
	}

	// A conforming TUF client with the pinned root installs from the hub.
	root, err := os.ReadFile(k(tufrepo.RootFile))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.New(hub.base+tufhttp.Prefix+"metadata", root)
	if err != nil {
		t.Fatal(err)
	}
	cdir := t.TempDir()
	cfg.RemoteTargetsURL = hub.base + tufhttp.Prefix + "targets"
	cfg.LocalMetadataDir, cfg.LocalTargetsDir = filepath.Join(cdir, "metadata"), filepath.Join(cdir, "targets")
	if err := cfg.EnsurePathsExist(); err != nil {
		t.Fatal(err)
	}
	u, err := updater.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := u.Refresh(); err != nil {
		t.Fatalf("client refresh: %v", err)
	}
	if v := u.GetTrustedMetadataSet().Root.Signed.Version; v != 2 {
		t.Errorf("the client, pinned to root version 1, trusts version %d, want 2", v)
	}
	name, _ := tufrepo.TargetName("1.1.0")
	tf, err := u.GetTargetInfo(name)
	if err != nil {
		t.Fatal(err)
	}
	_, got, err := u.DownloadTarget(tf, "", "")
	want, _ := os.ReadFile(art2)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("client download: %d bytes, %v", len(got), err)
	}
}

// openStoreAt opens the store the flags name, closed when t ends.
func openStoreAt(t *testing.T, loc []string) store.Store {
	t.Helper()
	var l hub.Location
	for i := 0; i+1 < len(loc); i += 2 {
		switch loc[i] {
		case "--db":
			l.DB = loc[i+1]
		case "--data":
			l.DataDir = loc[i+1]
		}
	}
	st, err := l.Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
