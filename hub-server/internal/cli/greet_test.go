package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A new IT person starts from `config example`: what it prints is a
// layer the hub accepts as the global one, and a terminal's effective
// configuration then holds the demo content.
func TestConfigExampleIsAcceptedAsGlobalLayer(t *testing.T) {
	data := filepath.Join(t.TempDir(), "hub")
	if err := mkHub(data); err != nil {
		t.Fatal(err)
	}
	out, errs, code := run(t, "config", "example")
	if code != 0 || !strings.Contains(out, `"services"`) {
		t.Fatalf("config example: %d %q", code, errs)
	}
	file := filepath.Join(t.TempDir(), "global.json")
	if err := os.WriteFile(file, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, errs, code := run(t, "config", "set", "--data", data, "--scope", "global", "--file", file); code != 0 || !strings.Contains(out, "version 1") {
		t.Fatalf("config set: %d %q %q", code, out, errs)
	}
	if out, _, code := run(t, "config", "show", "--data", data, "--scope", "global"); code != 0 || !strings.Contains(out, `"problem_categories"`) {
		t.Fatalf("config show: %d %q", code, out)
	}
}
