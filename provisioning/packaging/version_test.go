package packaging

import (
	"os/exec"
	"testing"
	"time"
)

var commitTime = time.Date(2026, 12, 7, 5, 33, 18, 0, time.FixedZone("CET", 3600))

func TestDebianVersion(t *testing.T) {
	for _, c := range []struct{ describe, want string }{
		{"a7ea3f9", "0.0~git20261207043318.a7ea3f9"},
		{"a7ea3f9-dirty", "0.0~git20261207043318.a7ea3f9+dirty"},
		{"v1.2.3", "1.2.3"},
		{"1.2.3\n", "1.2.3"},
		{"v1.2.3-dirty", "1.2.3+dirty"},
		{"v1.2.3-4-gabc1234", "1.2.3+git20261207043318.abc1234"},
		{"v1.2.3-4-gabc1234-dirty", "1.2.3+git20261207043318.abc1234+dirty"},
		{"v1.3.0-rc1", "1.3.0~rc1"},
		{"v1.3.0-rc1-2-gabc1234", "1.3.0~rc1+git20261207043318.abc1234"},
	} {
		got, err := DebianVersion(c.describe, commitTime)
		if err != nil || got != c.want {
			t.Errorf("DebianVersion(%q) = %q, %v; want %q", c.describe, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "release-one", "v", "vfoo", "-dirty"} {
		if got, err := DebianVersion(bad, commitTime); err == nil {
			t.Errorf("DebianVersion(%q) = %q, want an error", bad, got)
		}
	}
}

// TestDebianVersionOrder checks with dpkg itself that versions sort as
// the history does.
func TestDebianVersionOrder(t *testing.T) {
	dpkg, err := exec.LookPath("dpkg")
	if err != nil {
		t.Skip("dpkg is not installed (not a Debian machine)")
	}
	v := func(describe string, at time.Time) string {
		s, err := DebianVersion(describe, at)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	later := commitTime.Add(time.Hour)
	// Each sorts strictly below the next.
	order := []string{
		v("a7ea3f9", commitTime),
		v("a7ea3f9-dirty", commitTime),
		v("0123456", later), // a later commit of the same day, any hash
		v("v1.0.0-rc1", later),
		v("v1.0.0-rc1-3-gfedcba9", later),
		v("v1.0.0", later),
		v("v1.0.0-dirty", later),
		v("v1.0.0-1-g0000000", later),
		v("v1.0.0-2-g0000001", later.Add(time.Second)),
		v("v1.0.1", later),
	}
	for i := 1; i < len(order); i++ {
		if err := exec.Command(dpkg, "--compare-versions", order[i-1], "lt", order[i]).Run(); err != nil {
			t.Errorf("dpkg: %s is not below %s", order[i-1], order[i])
		}
	}
}
