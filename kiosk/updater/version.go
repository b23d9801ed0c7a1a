package updater

import (
	"regexp"

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
