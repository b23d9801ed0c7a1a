package updater

import (
	"regexp"
	"strings"

	"golang.org/x/mod/semver"
)

// versionPattern keeps versions to what is safe as a directory name and
// a target path element: semver without build metadata.
var versionPattern = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]{1,40})?$`)

// ValidVersion reports whether v is a release version the updater accepts.
func ValidVersion(v string) bool {
	return len(v) <= 64 && versionPattern.MatchString(v) && semver.IsValid("v"+v)
}

// compareVersions orders two valid versions like semver; "" is below all.
func compareVersions(a, b string) int {
	switch {
	case a == "" && b == "":
		return 0
	case a == "":
		return -1
	case b == "":
		return 1
	}
	return semver.Compare("v"+a, "v"+b)
}

// PackageVersion is the release version of a Debian package version
// (provisioning/packaging.DebianVersion): "1.2.3" as is, "1.3.0~rc1" as
// "1.3.0-rc1", and a build after a tag ("1.2.3+git…") as its tag, which
// an offer of that tag's release does not exceed. A version that is no
// release (an untagged "0.0~git…" build) gives "": any release is newer.
func PackageVersion(deb string) string {
	v, _, _ := strings.Cut(deb, "+")
	v = strings.ReplaceAll(v, "~", "-")
	if !ValidVersion(v) {
		return ""
	}
	return v
}
