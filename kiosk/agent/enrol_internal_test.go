package agent

import (
	"strings"
	"testing"
)

// FuzzParseEnrolmentFile: a USB stick's enrolment file gives a hub and a
// token, both present, or an error.
func FuzzParseEnrolmentFile(f *testing.F) {
	for _, s := range []string{
		"quartierhub-enrol:?hub=https%3A%2F%2Fhub.example&token=abc\n",
		"\xef\xbb\xbf\r\nquartierhub-enrol:?hub=http%3A%2F%2F127.0.0.1%3A8080&token=t-1\r\n",
		"\n\n\n", "quartierhub-enrol:?hub=&token=x", "https://hub.example/?token=abc", "\x00\xff",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		hub, token, err := parseEnrolmentFile(b)
		if err != nil {
			return
		}
		if hub == "" || token == "" || strings.ContainsAny(hub+token, "\n") && !strings.Contains(string(b), "%0A") {
			t.Fatalf("%q gave hub %q token %q", b, hub, token)
		}
	})
}
