package e2e

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// localeC is the environment with the locale Debian and systemd default
// to (C with a codeset), which Fyne's locale lookup cannot parse.
func localeC(env []string) []string {
	var out []string
	for _, e := range env {
		if strings.HasPrefix(e, "LC_ALL=") || strings.HasPrefix(e, "LC_MESSAGES=") || strings.HasPrefix(e, "LANG=") || strings.HasPrefix(e, "LANGUAGE=") {
			continue
		}
		out = append(out, e)
	}
	return append(out, "LANG=C.UTF-8")
}

// The kiosk binary with its window linked in says nothing of Fyne or of
// locales for a CLI command under LANG=C.UTF-8 (Fyne's lang package used
// to log "Error parsing user locale C" at every start).
func TestNoLocaleErrorFromCLI(t *testing.T) {
	needDisplay(t) // for the cgo build of TestMain
	cmd := exec.Command(bins.Kiosk, "status", "--data", t.TempDir())
	cmd.Env = localeC(os.Environ())
	out, _ := cmd.CombinedOutput() // no agent: it fails, and says so
	if s := string(out); strings.Contains(s, "Fyne") || strings.Contains(s, "locale") {
		t.Errorf("kiosk status under LANG=C.UTF-8 printed:\n%s", s)
	}
	if !strings.Contains(string(out), "no agent") {
		t.Errorf("kiosk status did not run: %s", out)
	}
}
