// Package fynelocale keeps Fyne's locale detection quiet on terminals
// whose locale is C or POSIX with a codeset (LANG=C.UTF-8, Debian's and
// systemd's default): Fyne's lang package reads LC_ALL, LC_MESSAGES or
// LANG in its package init, takes "C" of "C.UTF-8" for a language and
// logs "Error parsing user locale C" at every start of the kiosk binary,
// CLI commands included (the window is linked into the same binary, so
// Fyne's package inits run for them too, though nothing else of Fyne
// does).
//
// The kiosk's own language comes from its content, not from the
// environment, so Fyne need only find a valid one: where the locale
// in force is C or POSIX and LANGUAGE is empty, this package sets
// LANGUAGE=en (read by Fyne's locale lookup in that case; glibc ignores
// LANGUAGE while the locale is C, and LC_CTYPE stays as it was).
//
// It must run before Fyne's lang package initialises: Go initialises
// packages in import path order as far as their imports allow, and
// fyne.io/fyne/v2/lang imports golang.org/x/text, whose path sorts after
// this package's, so this package (importing only the standard library)
// is initialised first. Package ui imports it, so the kiosk binary and
// every test binary with the window get it. TestNoLocaleErrorFromCLI and
// TestWindowedStartsBeforeTheAgent in tests/e2e check the built binary.
package fynelocale

import (
	"os"
	"strings"
)

func init() {
	if Quiet(os.Getenv) {
		_ = os.Setenv("LANGUAGE", "en")
	}
}

// Quiet says whether LANGUAGE must be set for Fyne to find a language:
// the first of LC_ALL, LC_MESSAGES and LANG that is set is C or POSIX
// with a codeset or modifier (plain C, POSIX or nothing Fyne handles
// itself), and LANGUAGE is empty.
func Quiet(getenv func(string) string) bool {
	if getenv("LANGUAGE") != "" {
		return false
	}
	var loc string
	for _, v := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		if loc = getenv(v); loc != "" {
			break
		}
	}
	if loc == "" || loc == "C" || loc == "POSIX" {
		return false
	}
	base, _, _ := strings.Cut(loc, "@")
	base, _, _ = strings.Cut(base, ".")
	return base == "C" || base == "POSIX"
}
