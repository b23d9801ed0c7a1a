package console

import (
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/quartierhub/quartierhub/internal/workshop"
)

var fuzzSecret = []byte("0123456789abcdef0123456789abcdef")

// FuzzPhoneGuestCookie reads arbitrary cookie values as the phone page
// does: never a panic, and a value it accepts is exactly one this hub
// signed (encoding what was read gives the same value back).
func FuzzPhoneGuestCookie(f *testing.F) {
	good := encodeGuest(fuzzSecret, guest{Key: "AAAAAAAAAAAAAAAAAAAAAA"})
	f.Add(good)
	f.Add(encodeGuest(fuzzSecret, guest{Key: "AAAAAAAAAAAAAAAAAAAAAB"}))
	f.Add(good + ".x")
	f.Add(strings.Replace(good, "g1.", "g2.", 1))
	f.Add("g1..")
	f.Add("")
	f.Add(strings.Repeat("A", 200))
	f.Fuzz(func(t *testing.T, v string) {
		g, ok := parseGuest(fuzzSecret, v)
		if !ok {
			return
		}
		if back := encodeGuest(fuzzSecret, g); back != v {
			t.Fatalf("accepted %q, which encodes back as %q", v, back)
		}
		if _, ok := parseGuest([]byte("another secret, another hub....."), v); ok {
			t.Fatal("a cookie signed with one secret passed with another")
		}
	})
}

// FuzzPhoneIdeaForm reads arbitrary form bodies as the idea form: an
// accepted idea is valid UTF-8, not blank, within the workshop's length.
func FuzzPhoneIdeaForm(f *testing.F) {
	f.Add("text=Mehr+B%C3%A4nke+am+Elbufer&csrf=x", 280)
	f.Add("text=%20%20", 10)
	f.Add("text=%FF%FE", 280)
	f.Add("text="+strings.Repeat("%C3%A4", 300), 280)
	f.Add("text=a&text=b", 0)
	f.Fuzz(func(t *testing.T, body string, maxChars int) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		text, refused := ideaText(form, maxChars)
		if refused != "" {
			if text != "" {
				t.Fatalf("refused (%s) but returned %q", refused, text)
			}
			return
		}
		limit := maxChars
		if limit <= 0 || limit > workshop.MaxIdeaText {
			limit = workshop.MaxIdeaText
		}
		if !utf8.ValidString(text) || strings.TrimSpace(text) == "" || utf8.RuneCountInString(text) > limit {
			t.Fatalf("accepted %q (limit %d)", text, limit)
		}
	})
}
