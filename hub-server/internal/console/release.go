package console

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/hub-server/internal/tufrepo"
)

// TargetPublisher is the hub's TUF repository as the releases page uses
// it (tufrepo.Repo): it publishes a targets.json signed offline with the
// artifact it adds, and refuses anything the root's targets keys did not
// sign (tufrepo.ErrRejected) or a repository not set up yet
// (tufrepo.ErrNotInitialised).
type TargetPublisher interface {
	AddTarget(ctx context.Context, artifact, targetsJSON []byte, now time.Time) (tufrepo.Added, error)
}

// maxReleaseUpload bounds the publish form's body: the artifact, the
// targets.json and room for the version, the token and part headers.
const maxReleaseUpload = tufrepo.MaxArtifactBytes + tufrepo.MaxMetadataBytes + 64<<10

type releaseListData struct {
	Releases []store.Release
	Error    *Message
	Version  string
	// Ready: the hub has a repository to publish into.
	Ready bool
	// MaxArtifact is the largest artifact the form takes, for its hint.
	MaxArtifact int64
}

func (c *Console) releaseList(w http.ResponseWriter, r *http.Request) {
	c.showReleases(w, r, http.StatusOK, releaseListData{})
}

func (c *Console) showReleases(w http.ResponseWriter, r *http.Request, status int, d releaseListData) {
	var err error
	if d.Releases, err = c.st.Releases(r.Context()); err != nil {
		c.serverError(w, r, "releases", err)
		return
	}
	d.Ready, d.MaxArtifact = c.o.Releases != nil, tufrepo.MaxArtifactBytes
	c.render(w, r, status, "releases", msg("releases.title"), "updates", d)
}

// releaseAdd publishes a release: the artifact and the targets.json its
// signer signed offline (hub-server release sign) go into the hub's TUF
// repository, then the version becomes known to rollouts. Only one
// release is read at a time, so two uploads cannot hold two artifacts
// in memory.
func (c *Console) releaseAdd(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	bad := func(status int, problem *Message, version string) {
		c.showReleases(w, r, status, releaseListData{Error: problem, Version: version})
	}
	if c.o.Releases == nil {
		bad(http.StatusConflict, msg("releases.error.not_initialised"), "")
		return
	}
	select {
	case c.publishing <- struct{}{}:
		defer func() { <-c.publishing }()
	default:
		bad(http.StatusTooManyRequests, msg("releases.error.busy"), "")
		return
	}
	f, problem, err := c.readReleaseForm(uploadFrom(r))
	if f.artifact != nil {
		defer os.Remove(f.artifact.path)
	}
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		bad(http.StatusRequestEntityTooLarge, msg("releases.error.too_large", "max", sizeText(maxReleaseUpload)), f.version)
		return
	case err != nil:
		c.serverError(w, r, "release upload", err)
		return
	case problem != nil:
		bad(http.StatusBadRequest, problem, f.version)
		return
	}
	name, problem := checkReleaseForm(f)
	if problem != nil {
		bad(http.StatusBadRequest, problem, f.version)
		return
	}
	artifact, err := os.ReadFile(f.artifact.path)
	if err != nil {
		c.serverError(w, r, "release artifact", err)
		return
	}
	// The repository cannot audit, so the attempt is audited first: a
	// publication that cannot be audited does not happen. The entry
	// stays when the repository refuses; release.add follows on success.
	subject := "release:" + f.version
	if err := c.audit(ctx, "release.publish", subject, fmt.Sprintf("target %s, %d bytes, sha256 %x", name, f.artifact.size, f.artifact.sha256)); err != nil {
		c.serverError(w, r, "release audit", err)
		return
	}
	added, err := c.publish(ctx, name, artifact, f.targets)
	switch {
	case errors.Is(err, tufrepo.ErrNotInitialised):
		bad(http.StatusConflict, msg("releases.error.not_initialised"), f.version)
		return
	case errors.Is(err, tufrepo.ErrRejected):
		c.o.Logger.Info("console: release refused", "version", f.version, "err", err)
		if aerr := c.audit(ctx, "release.refused", subject, err.Error()); aerr != nil {
			c.o.Logger.Warn("console: audit a refused release", "err", aerr)
		}
		bad(http.StatusBadRequest, msg("releases.error.rejected", "reason", err.Error()), f.version)
		return
	case err != nil:
		c.serverError(w, r, "release publish", err)
		return
	}
	if added.Target != name {
		// checkReleaseForm matched the artifact to name; another target
		// of the same bytes would be a second release of one artifact.
		c.serverError(w, r, "release publish", fmt.Errorf("published as %q, want %q", added.Target, name))
		return
	}
	rel := store.Release{Version: f.version, Target: added.Target, AddedAt: c.o.Now(), AddedBy: actor(ctx)}
	detail := fmt.Sprintf("target %s, %d bytes, targets.json version %d", added.Target, f.artifact.size, added.Targets)
	if err := c.st.AddRelease(ctx, rel, c.auditEntry(ctx, "release.add", subject, detail)); err != nil {
		if errors.Is(err, store.ErrVersionConflict) {
			bad(http.StatusConflict, msg("releases.error.version_known", "version", f.version), f.version)
			return
		}
		c.serverError(w, r, "release add", err)
		return
	}
	c.o.Logger.Info("console: release published", "version", f.version, "bytes", f.artifact.size)
	c.redirect(w, r, "/console/releases", "release")
}

// releaseForm is the publish form as read.
type releaseForm struct {
	version  string
	targets  []byte
	artifact *spooled
}

// readReleaseForm reads the parts after the CSRF token: version,
// targets (targets.json) and artifact, each once, in any order. A
// problem is the person's to fix; an error is the hub's (or, as an
// *http.MaxBytesError, a body over maxReleaseUpload).
func (c *Console) readReleaseForm(mr *multipart.Reader) (releaseForm, *Message, error) {
	var f releaseForm
	if mr == nil {
		return f, nil, errors.New("console: release form: no upload")
	}
	seen := map[string]bool{}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				return f, nil, err
			}
			return f, msg("releases.error.form"), nil
		}
		name := part.FormName()
		if seen[name] {
			return f, msg("releases.error.form"), nil
		}
		seen[name] = true
		switch name {
		case "version":
			b, err := readSmallPart(part, 64)
			if err != nil {
				return f, msg("releases.error.version_invalid"), nil
			}
			f.version = string(bytes.TrimSpace(b))
		case "targets":
			b, err := readSmallPart(part, tufrepo.MaxMetadataBytes)
			if errors.Is(err, errPartTooLarge) {
				return f, msg("releases.error.targets_too_large", "max", sizeText(tufrepo.MaxMetadataBytes)), nil
			} else if err != nil {
				return f, nil, err
			}
			f.targets = b
		case "artifact":
			s, err := spoolPart(part, c.o.TempDir, tufrepo.MaxArtifactBytes)
			if errors.Is(err, errPartTooLarge) {
				return f, msg("releases.error.artifact_too_large", "max", sizeText(tufrepo.MaxArtifactBytes)), nil
			} else if err != nil {
				return f, nil, err
			}
			f.artifact = s
		default:
			return f, msg("releases.error.form"), nil
		}
	}
	switch {
	case f.version == "":
		return f, msg("releases.error.version_missing"), nil
	case len(f.targets) == 0:
		return f, msg("releases.error.targets_missing"), nil
	case f.artifact == nil || f.artifact.size == 0:
		return f, msg("releases.error.artifact_missing"), nil
	}
	return f, nil, nil
}

// checkReleaseForm says before the repository is asked, in words a
// person can act on, when the targets.json does not list the version or
// lists another artifact under it (the repository checks again, with
// the signatures). It returns the version's target name.
func checkReleaseForm(f releaseForm) (string, *Message) {
	name, err := tufrepo.TargetName(f.version)
	if err != nil {
		return "", msg("releases.error.version_invalid")
	}
	targets, err := tufrepo.ParseTargets(f.targets)
	if err != nil {
		return "", msg("releases.error.rejected", "reason", err.Error())
	}
	t, ok := targets.Signed.Targets[name]
	if !ok {
		return "", msg("releases.error.version_not_listed", "version", f.version)
	}
	if t.Length != f.artifact.size || !bytes.Equal(t.Hashes["sha256"], f.artifact.sha256) {
		return "", msg("releases.error.artifact_differs", "version", f.version)
	}
	return name, nil
}

// publish adds the target to the repository, unless the very targets.json
// is published already with the artifact stored (a publication whose
// release record failed, tried again): then only the release is recorded,
// as hub-server release add does.
func (c *Console) publish(ctx context.Context, name string, artifact, targetsJSON []byte) (tufrepo.Added, error) {
	cur, err := c.st.TUFMetadata(ctx, metadata.TARGETS, 0)
	if err == nil && bytes.Equal(cur.Body, targetsJSON) {
		if _, err := c.st.TUFTarget(ctx, name); err == nil {
			return tufrepo.Added{Target: name, Targets: cur.Version}, nil
		}
	}
	return c.o.Releases.AddTarget(ctx, artifact, targetsJSON, c.o.Now())
}
