package tufrepo

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"regexp"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// Custom is the custom metadata of a release target, read by the
// terminal's updater (kiosk/updater).
type Custom struct {
	Version    string `json:"version"`
	MinVersion string `json:"min_version,omitempty"` // oldest running version that may update to this one
}

var versionRE = regexp.MustCompile(`^[0-9][0-9A-Za-z.+~-]{0,63}$`)

// TargetName is the TUF target path of the kiosk release version.
func TargetName(version string) (string, error) {
	if !versionRE.MatchString(version) {
		return "", fmt.Errorf("tufrepo: version %q: want a digit, then up to 63 of 0-9 A-Z a-z . + ~ -", version)
	}
	return "quartierhub-kiosk/" + version + "/quartierhub-kiosk_" + version + "_amd64.tar.gz", nil
}

// SignRequest is what the release signer signs offline (SignTargets).
type SignRequest struct {
	Root       []byte             // the trusted root.json
	Previous   []byte             // the targets.json now published; nil for the first release
	TargetsKey ed25519.PrivateKey // the offline targets key
	Artifact   []byte             // the release tarball
	Custom     Custom
	Expires    time.Time
}

// SignTargets returns a new targets.json that lists every release of
// Previous and the artifact under TargetName(Custom.Version), one version
// above Previous (2 without it: the ceremony's targets.json is version 1),
// signed by the targets key. It refuses a key root does not trust for
// targets and a Previous that root's targets role did not sign.
func SignTargets(r SignRequest) ([]byte, error) {
	root, err := ParseRoot(r.Root)
	if err != nil {
		return nil, err
	}
	if err := root.VerifyDelegate(metadata.ROOT, root); err != nil {
		return nil, fmt.Errorf("tufrepo: root.json: %w", err)
	}
	if err := checkRoleKey(root, metadata.TARGETS, r.TargetsKey); err != nil {
		return nil, err
	}
	name, err := TargetName(r.Custom.Version)
	if err != nil {
		return nil, err
	}
	if r.Custom.MinVersion != "" && !versionRE.MatchString(r.Custom.MinVersion) {
		return nil, fmt.Errorf("tufrepo: min version %q is not a version", r.Custom.MinVersion)
	}
	targets := metadata.Targets(r.Expires.UTC().Truncate(time.Second))
	targets.Signed.Version = 2
	if r.Previous != nil {
		prev, err := ParseTargets(r.Previous)
		if err != nil {
			return nil, err
		}
		if err := root.VerifyDelegate(metadata.TARGETS, prev); err != nil {
			return nil, fmt.Errorf("tufrepo: previous targets.json: %w", err)
		}
		targets.Signed.Targets = prev.Signed.Targets
		targets.Signed.Version = prev.Signed.Version + 1
	}
	if _, ok := targets.Signed.Targets[name]; ok {
		return nil, fmt.Errorf("tufrepo: %s is already released", name)
	}
	custom, err := json.Marshal(r.Custom)
	if err != nil {
		return nil, fmt.Errorf("tufrepo: custom: %w", err)
	}
	raw := json.RawMessage(custom)
	sum := sha256.Sum256(r.Artifact)
	targets.Signed.Targets[name] = &metadata.TargetFiles{Length: int64(len(r.Artifact)),
		Hashes: metadata.Hashes{"sha256": sum[:]}, Custom: &raw, Path: name}
	if err := signWith(targets, r.TargetsKey); err != nil {
		return nil, err
	}
	b, err := targets.ToBytes(true)
	if err != nil {
		return nil, fmt.Errorf("tufrepo: targets.json: %w", err)
	}
	return b, nil
}

// RenewTargets returns previous re-signed as the next version with a new
// expiry and the same releases, for when targets.json nears its expiry
// and no release is due: terminals refuse an expired targets.json. The
// checks are SignTargets'.
func RenewTargets(rootJSON, previous []byte, targetsKey ed25519.PrivateKey, expires time.Time) ([]byte, error) {
	root, err := ParseRoot(rootJSON)
	if err != nil {
		return nil, err
	}
	if err := root.VerifyDelegate(metadata.ROOT, root); err != nil {
		return nil, fmt.Errorf("tufrepo: root.json: %w", err)
	}
	if err := checkRoleKey(root, metadata.TARGETS, targetsKey); err != nil {
		return nil, err
	}
	prev, err := ParseTargets(previous)
	if err != nil {
		return nil, err
	}
	if err := root.VerifyDelegate(metadata.TARGETS, prev); err != nil {
		return nil, fmt.Errorf("tufrepo: previous targets.json: %w", err)
	}
	targets := metadata.Targets(expires.UTC().Truncate(time.Second))
	targets.Signed.Targets = prev.Signed.Targets
	targets.Signed.Version = prev.Signed.Version + 1
	if err := signWith(targets, targetsKey); err != nil {
		return nil, err
	}
	b, err := targets.ToBytes(true)
	if err != nil {
		return nil, fmt.Errorf("tufrepo: targets.json: %w", err)
	}
	return b, nil
}
