package packaging

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// DebianVersion turns the output of `git describe --tags --always --dirty`
// and the commit's time into a Debian version that sorts like the
// history:
//
//	v1.2.3                      → 1.2.3
//	v1.2.3-dirty                → 1.2.3+dirty
//	v1.2.3-4-gabc1234           → 1.2.3+git20261207053318.abc1234
//	v1.3.0-rc1                  → 1.3.0~rc1      (before 1.3.0)
//	a7ea3f9 (no tag yet)        → 0.0~git20261207053318.a7ea3f9
//	a7ea3f9-dirty               → 0.0~git20261207053318.a7ea3f9+dirty
//
// A leading "v" is dropped, a tag's "-" becomes "~" (a pre-release sorts
// before its release). Commits after a tag, or without one, get the
// commit's UTC time to the second and its abbreviated hash: "+git…"
// after a tag sorts above the tag, "0.0~git…" below any release, and
// the time orders two commits of one day. "+dirty" marks uncommitted
// changes and sorts above the same commit's clean build.
func DebianVersion(describe string, commit time.Time) (string, error) {
	d := strings.TrimSpace(describe)
	dirty := strings.HasSuffix(d, "-dirty")
	d = strings.TrimSuffix(d, "-dirty")
	stamp := "git" + commit.UTC().Format("20060102150405")

	var v string
	switch {
	case d == "":
		return "", fmt.Errorf("version: empty git describe output")
	case bareHash.MatchString(d):
		v = "0.0~" + stamp + "." + d
	default:
		tag, hash := d, ""
		if m := afterTag.FindStringSubmatch(d); m != nil {
			tag, hash = m[1], m[2]
		}
		tag = strings.TrimPrefix(tag, "v")
		tag = strings.ReplaceAll(tag, "-", "~")
		tag = strings.ReplaceAll(tag, "_", ".")
		v = tag
		if hash != "" {
			v += "+" + stamp + "." + hash
		}
	}
	if dirty {
		v += "+dirty"
	}
	if err := ValidVersion(v); err != nil {
		return "", fmt.Errorf("version from %q: %w", describe, err)
	}
	return v, nil
}

var (
	bareHash = regexp.MustCompile(`^[0-9a-f]{7,40}$`)
	afterTag = regexp.MustCompile(`^(.+)-[0-9]+-g([0-9a-f]{4,40})$`)
	// A Debian version without epoch: starts with a digit, then
	// alphanumerics and . + ~ - (a "-" only before the Debian revision).
	debVersion = regexp.MustCompile(`^[0-9][A-Za-z0-9.+~]*(-[A-Za-z0-9.+~]+)?$`)
)

// ValidVersion reports whether v is a Debian version (without epoch).
func ValidVersion(v string) error {
	if !debVersion.MatchString(v) {
		return fmt.Errorf("%q is not a Debian version (a digit first, then letters, digits and . + ~)", v)
	}
	return nil
}
