package cli_test

import (
	"regexp"
	"strings"
	"testing"
)

// TestHelpListsPromisedFlags runs "COMMAND -h" for every command of the
// usage text and checks that it lists each --flag the command's usage
// lines name, and for serve also the alert thresholds the usage only
// sums up.
func TestHelpListsPromisedFlags(t *testing.T) {
	_, usage, _ := run(t, "help")
	flagRe := regexp.MustCompile(`--([a-z][a-z0-9-]*)`)
	promised := map[string][]string{} // command → flags
	var order []string
	cmd := ""
	for _, l := range strings.Split(usage, "\n") {
		switch {
		case strings.HasPrefix(l, "  hub-server "):
			var words []string
			for _, w := range strings.Fields(l)[1:] {
				if strings.ContainsAny(w[:1], "-[(") {
					break
				}
				words = append(words, w)
			}
			cmd = strings.Join(words, " ")
			order = append(order, cmd)
		case !strings.HasPrefix(l, "      "):
			cmd = ""
		}
		if cmd == "" {
			continue
		}
		for _, m := range flagRe.FindAllStringSubmatch(l, -1) {
			promised[cmd] = append(promised[cmd], m[1])
		}
	}
	if len(order) < 20 || len(promised["serve"]) < 8 {
		t.Fatalf("usage not understood: commands %q, serve flags %q", order, promised["serve"])
	}
	promised["serve"] = append(promised["serve"], "sensor-silent-after", "backlog-max-age", "disk-low-percent")
	for _, c := range order {
		if len(promised[c]) == 0 {
			continue // takes no flags (config example)
		}
		_, help, code := run(t, append(strings.Fields(c), "-h")...)
		if code != 0 {
			t.Errorf("%s -h: exit %d, want 0", c, code)
		}
		if !strings.Contains(help, "hub-server "+c) {
			t.Errorf("%s -h does not show its usage line:\n%s", c, help)
		}
		for _, f := range promised[c] {
			if !regexp.MustCompile(`(?m)^  -` + regexp.QuoteMeta(f) + `\b`).MatchString(help) {
				t.Errorf("%s -h does not list --%s:\n%s", c, f, help)
			}
		}
	}
}
