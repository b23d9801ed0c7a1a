package console

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// langCookie remembers the language a visitor picked with the switch
// (or a user chose on the Account page) for pages without a login.
const langCookie = "qh_lang"

// langCookieAge: a year; it holds nothing but "de" or "en".
const langCookieAge = 365 * 24 * 3600

// requestLang is the language of a page for r: the switch's ?lang=, the
// logged-in user's choice (userLang), the visitor's cookie (cookieLang,
// the value of Console.cookie), the browser's Accept-Language, else def.
func requestLang(r *http.Request, userLang, cookieLang, def string) string {
	if l := r.URL.Query().Get("lang"); knownLang(l) {
		return l
	}
	if knownLang(userLang) {
		return userLang
	}
	if knownLang(cookieLang) {
		return cookieLang
	}
	if l := acceptLang(r.Header.Get("Accept-Language")); l != "" {
		return l
	}
	return def
}

// acceptLang returns the known language the Accept-Language header
// prefers most (by q, then by order), or "" when it names none.
func acceptLang(h string) string {
	type pref struct {
		lang string
		q    float64
		i    int
	}
	var ps []pref
	for i, part := range strings.Split(h, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		primary, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
		if !knownLang(primary) {
			continue
		}
		q := 1.0
		for _, p := range strings.Split(params, ";") {
			if k, v, ok := strings.Cut(strings.TrimSpace(p), "="); ok && strings.TrimSpace(k) == "q" {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					q = f
				}
			}
		}
		if q > 0 {
			ps = append(ps, pref{primary, q, i})
		}
	}
	if len(ps) == 0 {
		return ""
	}
	sort.SliceStable(ps, func(a, b int) bool { return ps[a].q > ps[b].q })
	return ps[0].lang
}

// langLink is one entry of the language switch.
type langLink struct {
	Code, Name, URL string
	Current         bool
}

// langLinks are the switch's links: the page's own address with ?lang=.
func langLinks(r *http.Request, current string) []langLink {
	var out []langLink
	for _, l := range Langs {
		q := r.URL.Query()
		q.Set("lang", l)
		q.Del("done")
		u := url.URL{Path: r.URL.Path, RawQuery: q.Encode()}
		out = append(out, langLink{Code: l, Name: catalog.Name(l), URL: u.String(), Current: l == current})
	}
	return out
}

// hereWithoutLang is the request's address without ?lang= and ?done=,
// where the logged-in switch returns to.
func hereWithoutLang(r *http.Request) string {
	q := r.URL.Query()
	q.Del("lang")
	q.Del("done")
	u := url.URL{Path: r.URL.Path, RawQuery: q.Encode()}
	return u.String()
}
