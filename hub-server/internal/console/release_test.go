package console

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/teststores"
	"github.com/quartierhub/quartierhub/hub-server/internal/tufrepo"
)

// part is one part of a multipart upload: a field, or a file when file
// is set.
type part struct {
	name, file string
	body       []byte
}

// upload sends parts as multipart/form-data, the CSRF token first as the
// form on the page sends it, unless parts have their own "csrf".
func (b *browser) upload(path string, parts ...part) page {
	b.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if !slices.ContainsFunc(parts, func(p part) bool { return p.name == "csrf" }) {
		parts = append([]part{{name: "csrf", body: []byte(b.csrf)}}, parts...)
	}
	for _, p := range parts {
		var err error
		if p.file != "" {
			w, e := mw.CreateFormFile(p.name, p.file)
			if e == nil {
				_, e = w.Write(p.body)
			}
			err = e
		} else {
			err = mw.WriteField(p.name, string(p.body))
		}
		if err != nil {
			b.t.Fatal(err)
		}
	}
	if err := mw.Close(); err != nil {
		b.t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, b.h.srv.URL+path, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return b.do(req)
}

// signer is the offline side of a release: the ceremony's keys and
// metadata, as the release signer holds them.
type signer struct {
	t          *testing.T
	root       []byte
	targetsKey ed25519.PrivateKey
	previous   []byte // the targets.json published last
}

// newRepo runs the key ceremony and returns the hub's repository on st,
// initialised with the ceremony's root and targets unless bare.
func newRepo(t *testing.T, st store.Store, now time.Time, bare bool) (*tufrepo.Repo, *signer) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "keys")
	if err := tufrepo.Ceremony(dir, now, nil); err != nil {
		t.Fatal(err)
	}
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	key := func(name string) ed25519.PrivateKey {
		k, err := tufrepo.ReadKey(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	repo := tufrepo.New(st, tufrepo.OnlineKeys{Snapshot: key(tufrepo.SnapshotKeyFile), Timestamp: key(tufrepo.TimestampKeyFile)})
	s := &signer{t: t, root: read(tufrepo.RootFile), targetsKey: key(tufrepo.TargetsKeyFile), previous: read(tufrepo.FirstTargetsFile)}
	if !bare {
		if err := repo.Init(context.Background(), s.root, s.previous, now); err != nil {
			t.Fatal(err)
		}
	}
	return repo, s
}

// sign is the targets.json for artifact as version, as hub-server
// release sign makes it; it becomes the previous one for the next.
func (s *signer) sign(version string, artifact []byte) []byte {
	s.t.Helper()
	tj, err := tufrepo.SignTargets(tufrepo.SignRequest{Root: s.root, Previous: s.previous, TargetsKey: s.targetsKey, Artifact: artifact,
		Custom: tufrepo.Custom{Version: version}, Expires: time.Now().Add(30 * 24 * time.Hour)})
	if err != nil {
		s.t.Fatal(err)
	}
	s.previous = tj
	return tj
}

// releaseHub is a hub whose console publishes into a real TUF
// repository on its store.
func releaseHub(t *testing.T, kind string) (*hub, *signer) {
	t.Helper()
	st := teststores.Open(t, kind)
	repo, s := newRepo(t, st, time.Now(), false)
	h := newHubWith(t, st, func(o *Opts) { o.Releases = repo; o.TempDir = t.TempDir() })
	h.addUser("anna", store.RoleAdmin)
	h.addUser("vera", store.RoleViewer)
	return h, s
}

func releaseParts(version string, targets, artifact []byte) []part {
	return []part{{name: "version", body: []byte(version)}, {name: "targets", file: "targets.json", body: targets},
		{name: "artifact", file: "quartierhub-kiosk_" + version + "_amd64.tar.gz", body: artifact}}
}

// TestReleasePublish: an admin uploads a release and the targets.json
// signed for it offline; the repository serves it, rollouts know it, the
// audit log names it, and the releases page lists it.
func TestReleasePublish(t *testing.T) { teststores.EachKind(t, testReleasePublish) }

func testReleasePublish(t *testing.T, kind string) {
	h, s := releaseHub(t, kind)
	b := h.browser()
	b.mustLogin("anna")
	if p := b.get("/console/releases"); p.status != 200 || !strings.Contains(p.body, `enctype="multipart/form-data"`) {
		t.Fatalf("releases page: %d, no upload form", p.status)
	}
	artifact := bytes.Repeat([]byte("kiosk 1.4.0 "), 5000)
	p := b.upload("/console/releases", releaseParts("1.4.0", s.sign("1.4.0", artifact), artifact)...)
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/console/releases?done=release" {
		t.Fatalf("publish: %d %s\n%s", p.status, p.header.Get("Location"), p.body)
	}
	ctx := context.Background()
	rels, err := h.st.Releases(ctx)
	if err != nil {
		t.Fatal(err)
	}
	name, _ := tufrepo.TargetName("1.4.0")
	if len(rels) != 1 || rels[0].Version != "1.4.0" || rels[0].Target != name || rels[0].AddedBy != "anna" {
		t.Fatalf("releases: %+v", rels)
	}
	stored, err := h.st.TUFTarget(ctx, name)
	if err != nil || !bytes.Equal(stored.Body, artifact) {
		t.Fatalf("the repository does not hold the artifact: %v", err)
	}
	entries, err := h.st.AuditEntries(ctx, store.AuditFilter{Subject: "release:1.4.0"})
	if err != nil || len(entries) != 2 || entries[0].Action != "release.add" || entries[1].Action != "release.publish" || entries[0].Actor != "anna" {
		t.Fatalf("audit: %+v, %v", entries, err)
	}
	page := b.get("/console/releases?done=release")
	if !strings.Contains(page.body, "Release published") || !strings.Contains(page.body, name) {
		t.Errorf("releases page after publishing lacks the flash or the release:\n%s", page.body)
	}
	// The same upload again (as after a release record that failed):
	// nothing new is published, the release stays recorded once.
	targetsBefore, _ := h.st.TUFMetadata(ctx, "targets", 0)
	if p := b.upload("/console/releases", releaseParts("1.4.0", s.previous, artifact)...); p.status != http.StatusSeeOther {
		t.Fatalf("publish again: %d\n%s", p.status, p.body)
	}
	if after, _ := h.st.TUFMetadata(ctx, "targets", 0); after.Version != targetsBefore.Version {
		t.Errorf("publishing the same targets.json again made version %d", after.Version)
	}
	if rels, _ := h.st.Releases(ctx); len(rels) != 1 {
		t.Errorf("releases after publishing again: %+v", rels)
	}
	// A second release on top of the first.
	second := []byte("kiosk 1.5.0")
	if p := b.upload("/console/releases", releaseParts("1.5.0", s.sign("1.5.0", second), second)...); p.status != http.StatusSeeOther {
		t.Fatalf("second publish: %d\n%s", p.status, p.body)
	}
	if rels, _ := h.st.Releases(ctx); len(rels) != 2 || rels[0].Version != "1.5.0" {
		t.Errorf("releases after the second: %+v", rels)
	}
}

// TestReleaseRefusals: what the signer did not sign, or did not sign for
// this file, is refused with a clear message, and nothing is stored.
func TestReleaseRefusals(t *testing.T) {
	h, s := releaseHub(t, teststores.SQLite)
	b := h.browser()
	b.mustLogin("anna")
	artifact := []byte("kiosk 2.0.0 build")
	signed := s.sign("2.0.0", artifact)
	s.previous = nil // nothing was published; the next signing starts again
	// The same targets.json with its signatures removed: an unsigned one.
	var doc map[string]any
	if err := json.Unmarshal(signed, &doc); err != nil {
		t.Fatal(err)
	}
	doc["signatures"] = []any{}
	unsigned, _ := json.Marshal(doc)
	// Signed by a key the root does not trust (a stolen hub's own key).
	_, rogue, _ := ed25519.GenerateKey(nil)
	forged := s.signWith(rogue, "2.0.0", artifact)
	for _, tc := range []struct {
		name    string
		parts   []part
		status  int
		message string
	}{
		{"unsigned", releaseParts("2.0.0", unsigned, artifact), http.StatusBadRequest, "The hub refused the targets.json"},
		{"foreign key", releaseParts("2.0.0", forged, artifact), http.StatusBadRequest, "The hub refused the targets.json"},
		{"other artifact", releaseParts("2.0.0", signed, []byte("kiosk 2.0.0 tampered")), http.StatusBadRequest, "is not the one the targets.json lists"},
		{"version not listed", releaseParts("2.0.1", signed, artifact), http.StatusBadRequest, "does not list version 2.0.1"},
		{"bad version", releaseParts("../x", signed, artifact), http.StatusBadRequest, "The version must start with a digit"},
		{"no artifact", releaseParts("2.0.0", signed, nil), http.StatusBadRequest, "Choose the release file"},
		{"not json", releaseParts("2.0.0", []byte("hello"), artifact), http.StatusBadRequest, "The hub refused the targets.json"},
		{"targets too large", releaseParts("2.0.0", bytes.Repeat([]byte(" "), tufrepo.MaxMetadataBytes+1), artifact), http.StatusBadRequest, "is larger than 1.0 MiB"},
		{"unknown field", append(releaseParts("2.0.0", signed, artifact), part{name: "extra", body: []byte("x")}), http.StatusBadRequest, "unknown fields"},
	} {
		p := b.upload("/console/releases", tc.parts...)
		if p.status != tc.status || !strings.Contains(p.body, tc.message) {
			t.Errorf("%s: %d, want %d with %q\n%s", tc.name, p.status, tc.status, tc.message, between(p.body, `role="alert"`, "</p>"))
		}
	}
	ctx := context.Background()
	if rels, _ := h.st.Releases(ctx); len(rels) != 0 {
		t.Errorf("refused uploads stored releases: %+v", rels)
	}
	if entries, _ := h.st.AuditEntries(ctx, store.AuditFilter{Action: "release.add"}); len(entries) != 0 {
		t.Errorf("refused uploads were audited as releases: %+v", entries)
	}
	// The two the repository refused (their signatures) are on record.
	if entries, _ := h.st.AuditEntries(ctx, store.AuditFilter{Action: "release.refused"}); len(entries) != 2 {
		t.Errorf("refused signatures audited %d times, want 2 (unsigned, foreign key): %+v", len(entries), entries)
	}
	name, _ := tufrepo.TargetName("2.0.0")
	if _, err := h.st.TUFTarget(ctx, name); err == nil {
		t.Error("a refused artifact is in the repository")
	}
	// The German page says it in German.
	b.post("/console/account", map[string][]string{"op": {"lang"}, "lang": {"de"}, "next": {"/console/releases"}})
	if p := b.upload("/console/releases", releaseParts("2.0.0", unsigned, artifact)...); !strings.Contains(p.body, "Der Hub hat die targets.json abgelehnt") {
		t.Errorf("German refusal missing:\n%s", between(p.body, `role="alert"`, "</p>"))
	}
}

// signWith is a targets.json for artifact signed by key, whichever key
// that is (an attacker's), bypassing SignTargets' check of the key.
func (s *signer) signWith(key ed25519.PrivateKey, version string, artifact []byte) []byte {
	s.t.Helper()
	// Sign properly, then replace the signature by key's over the same
	// signed part: a well-formed targets.json whose only signature is
	// from a key the root does not trust.
	good := s.sign(version, artifact)
	s.previous = nil
	m, err := tufrepo.ParseTargets(good)
	if err != nil {
		s.t.Fatal(err)
	}
	m.ClearSignatures()
	sv, err := signature.LoadSigner(key, crypto.Hash(0))
	if err != nil {
		s.t.Fatal(err)
	}
	if _, err := m.Sign(sv); err != nil {
		s.t.Fatal(err)
	}
	b, err := m.ToBytes(true)
	if err != nil {
		s.t.Fatal(err)
	}
	return b
}

// TestReleaseNotInitialised: a hub without a repository, or with one not
// yet set up, says what to do instead of failing.
func TestReleaseNotInitialised(t *testing.T) {
	for _, tc := range []struct {
		name   string
		repo   func(t *testing.T, st store.Store) TargetPublisher
		status int
	}{
		{"no repository", func(*testing.T, store.Store) TargetPublisher { return nil }, http.StatusConflict},
		{"not initialised", func(t *testing.T, st store.Store) TargetPublisher {
			r, _ := newRepo(t, st, time.Now(), true)
			return r
		}, http.StatusConflict},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := teststores.Open(t, teststores.SQLite)
			repo := tc.repo(t, st)
			h := newHubWith(t, st, func(o *Opts) { o.Releases = repo })
			h.addUser("anna", store.RoleAdmin)
			b := h.browser()
			b.mustLogin("anna")
			want := "no update repository yet"
			if p := b.get("/console/releases"); repo == nil && !strings.Contains(p.body, want) {
				t.Errorf("releases page does not say the repository is missing")
			}
			p := b.upload("/console/releases", releaseParts("1.0.0", []byte(`{}`), []byte("x"))...)
			if repo != nil {
				// A well-formed upload for an uninitialised repository.
				_, s := newRepo(t, teststores.Open(t, teststores.SQLite), time.Now(), true)
				art := []byte("kiosk 1.0.0")
				p = b.upload("/console/releases", releaseParts("1.0.0", s.sign("1.0.0", art), art)...)
			}
			if p.status != tc.status || !strings.Contains(p.body, want) {
				t.Errorf("publish: %d, want %d with %q\n%s", p.status, tc.status, want, p.body)
			}
		})
	}
}

// TestReleaseUploadGuard: the upload is refused before its body is read
// for a viewer and without the session's token first, and a viewer sees
// the releases but no form.
func TestReleaseUploadGuard(t *testing.T) {
	h, s := releaseHub(t, teststores.SQLite)
	artifact := []byte("kiosk 3.0.0")
	signed := s.sign("3.0.0", artifact)
	v := h.browser()
	v.mustLogin("vera")
	if p := v.get("/console/releases"); p.status != 200 || strings.Contains(p.body, `action="/console/releases"`) {
		t.Errorf("viewer's releases page: %d, with the form: %t", p.status, strings.Contains(p.body, `action="/console/releases"`))
	}
	if p := v.upload("/console/releases", releaseParts("3.0.0", signed, artifact)...); p.status != http.StatusForbidden {
		t.Errorf("viewer publishes: %d, want 403", p.status)
	}
	a := h.browser()
	a.mustLogin("anna")
	other := h.browser()
	other.mustLogin("anna") // another session: another token
	for name, parts := range map[string][]part{
		"no token":        append([]part{{name: "csrf", body: nil}}, releaseParts("3.0.0", signed, artifact)...),
		"other's token":   append([]part{{name: "csrf", body: []byte(other.csrf)}}, releaseParts("3.0.0", signed, artifact)...),
		"token not first": append(releaseParts("3.0.0", signed, artifact)[:1], append([]part{{name: "csrf", body: []byte(a.csrf)}}, releaseParts("3.0.0", signed, artifact)[1:]...)...),
	} {
		if p := a.upload("/console/releases", parts...); p.status != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", name, p.status)
		}
	}
	// A form post (no multipart) is refused too.
	if p := a.post("/console/releases", nil); p.status != http.StatusForbidden {
		t.Errorf("urlencoded post: %d, want 403", p.status)
	}
	if rels, _ := h.st.Releases(context.Background()); len(rels) != 0 {
		t.Errorf("refused uploads stored: %+v", rels)
	}
	// While another release is being published, an upload waits its turn.
	h.con.publishing <- struct{}{}
	if p := a.upload("/console/releases", releaseParts("3.0.0", signed, artifact)...); p.status != http.StatusTooManyRequests || !strings.Contains(p.body, "Another release is being published") {
		t.Errorf("upload during another: %d", p.status)
	}
	<-h.con.publishing
	// The admin's own upload passes.
	if p := a.upload("/console/releases", releaseParts("3.0.0", signed, artifact)...); p.status != http.StatusSeeOther {
		t.Errorf("admin publishes: %d\n%s", p.status, p.body)
	}
}

// TestReleaseUploadTooLarge: a body over the upload's bound is cut off
// while it streams, answered 413 with the bound named, and leaves no
// spooled file and no release. (The real bound, 512 MiB and more, is
// lowered for the test.)
func TestReleaseUploadTooLarge(t *testing.T) {
	const route = "POST /console/releases"
	saved := uploads[route]
	uploads[route] = 64 << 10
	t.Cleanup(func() { uploads[route] = saved })
	st := teststores.Open(t, teststores.SQLite)
	repo, s := newRepo(t, st, time.Now(), false)
	spool := t.TempDir()
	h := newHubWith(t, st, func(o *Opts) { o.Releases = repo; o.TempDir = spool })
	h.addUser("anna", store.RoleAdmin)
	b := h.browser()
	b.mustLogin("anna")
	artifact := bytes.Repeat([]byte{0x1f}, 100<<10)
	p := b.upload("/console/releases", releaseParts("1.4.0", s.sign("1.4.0", artifact), artifact)...)
	if p.status != http.StatusRequestEntityTooLarge || !strings.Contains(p.body, "The upload is larger than") {
		t.Fatalf("oversized upload: %d\n%s", p.status, between(p.body, `role="alert"`, "</p>"))
	}
	if left, _ := os.ReadDir(spool); len(left) > 0 {
		t.Errorf("spooled files left behind: %v", left)
	}
	if rels, _ := h.st.Releases(context.Background()); len(rels) != 0 {
		t.Errorf("releases: %+v", rels)
	}
}
