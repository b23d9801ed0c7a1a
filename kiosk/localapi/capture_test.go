package localapi_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/quartierhub/quartierhub/kiosk/localapi"
)

func FuzzDecodeCaptureRefusal(f *testing.F) {
	for _, s := range []string{`{"reason":"resident_session","screen":"home"}`, `{"reason":"screen"}`, `{"reason":"bored"}`,
		`{"reason":"screen","screen":"` + strings.Repeat("x", 65) + `"}`, `{"reason":"screen"} {}`, `{"reason":"screen","x":1}`, `[]`, ``} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := localapi.DecodeCaptureRefusal(bytes.NewReader(b))
		if err != nil {
			return
		}
		if r.Reason != localapi.RefusedResidentSession && r.Reason != localapi.RefusedScreen || len(r.Screen) > 64 {
			t.Fatalf("accepted %+v", r)
		}
	})
}
