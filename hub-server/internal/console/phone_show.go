package console

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/quartierhub/quartierhub/hub-server/internal/netlimit"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/hub-server/internal/workshops"
	"github.com/quartierhub/quartierhub/internal/workshop"
)

// phoneCSP lets the phone page load its own script and open its live
// socket (connect-src 'self' covers ws: and wss: to this host); nothing
// else is loosened from the console's policy.
const phoneCSP = "default-src 'none'; style-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// maxJoinCode bounds a join code read from a path: longer ones are not
// looked up.
const maxJoinCode = 32

// phonePage is what the phone templates get.
type phonePage struct {
	View phoneView
	// Error says why the last action was refused; OK what it did.
	Error *Message
	OK    *Message
	// NotFound: no workshop has this code (or the hub runs none).
	NotFound bool
	Limited  bool
	// Draft is the idea a refused form carried, given back to edit.
	Draft string
}

// phoneOKs are the confirmations a redirect may name (?ok=NAME).
var phoneOKs = map[string]*Message{
	"joined":   msg("phone.ok.joined"),
	"idea":     msg("phone.ok.idea"),
	"done":     msg("phone.ok.done"),
	"dot":      msg("phone.ok.dot"),
	"dot_over": msg("phone.ok.dot_over"),
	"take":     msg("phone.ok.take"),
}

// phoneLang is the language of a phone page: the switch's ?lang=, the
// visitor's language cookie, the browser's, else the workshop's own.
func (c *Console) phoneLang(r *http.Request, spec workshop.Spec) string {
	def := spec.Lang
	if !knownLang(def) {
		def = c.o.PublicLang
	}
	return requestLang(r, "", c.cookie(r, langCookie), def)
}

// phoneRender shows a phone page in lang, in the console's public
// layout, with the guest's CSRF token for the forms.
func (c *Console) phoneRender(w http.ResponseWriter, r *http.Request, status int, page, lang string, title *Message, csrf string, d phonePage) {
	t, ok := c.pages.m[lang][page]
	if !ok {
		c.serverError(w, r, "render", fmt.Errorf("no page %q", page))
		return
	}
	v := &view{Title: title.In(lang), Data: d, Public: true, CSRF: csrf, Lang: lang, Langs: langLinks(r, lang), Here: hereWithoutLang(r)}
	if l := r.URL.Query().Get("lang"); knownLang(l) {
		c.setCookie(w, r, langCookie, l, langCookieAge)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", v); err != nil {
		c.serverError(w, r, "render "+page, err)
		return
	}
	h := w.Header()
	h.Set("Content-Security-Policy", phoneCSP)
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Language", lang)
	h.Set("Vary", "Accept-Language, Cookie")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Robots-Tag", "noindex")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// phoneWorkshop finds the workshop of the path's {code}. Lookups of codes
// that do not exist are limited per client network, so codes cannot be
// guessed quickly. It answers the request itself when it returns false.
func (c *Console) phoneWorkshop(w http.ResponseWriter, r *http.Request) (workshops.View, bool) {
	code := strings.TrimSpace(r.PathValue("code"))
	lang := c.phoneLang(r, workshop.Spec{})
	ps := c.phone.o.Workshops
	if ps == nil || code == "" || len(code) > maxJoinCode {
		c.phoneRender(w, r, http.StatusNotFound, "phone", lang, msg("phone.title"), "", phonePage{NotFound: true})
		return workshops.View{}, false
	}
	done, ok, wait := c.phone.lookups.Begin(c.clientNet(r), c.o.Now())
	if !ok {
		w.Header().Set("Retry-After", netlimit.RetryAfter(wait))
		c.phoneRender(w, r, http.StatusTooManyRequests, "phone", lang, msg("phone.title"), "", phonePage{Limited: true, Error: phoneReason(phoneLimited)})
		return workshops.View{}, false
	}
	v, err := ps.GetByCode(r.Context(), code)
	done(errors.Is(err, store.ErrNotFound), c.o.Now())
	if errors.Is(err, store.ErrNotFound) {
		c.phoneRender(w, r, http.StatusNotFound, "phone", lang, msg("phone.title"), "", phonePage{NotFound: true})
		return v, false
	} else if err != nil {
		c.serverError(w, r, "phone workshop", err)
		return v, false
	}
	if v.State == nil {
		c.serverError(w, r, "phone workshop", errors.New("no state"))
		return v, false
	}
	return v, true
}

// phoneShow is the participant's page: take a number, then the current
// phase with what one can do in it.
func (c *Console) phoneShow(w http.ResponseWriter, r *http.Request) {
	v, ok := c.phoneWorkshop(w, r)
	if !ok {
		return
	}
	g, ok := c.guestFrom(r)
	if !ok {
		// A guest key from the first visit on, so the join form carries
		// a token; it costs the hub nothing until the guest joins.
		var err error
		if g, err = c.newGuest(); err != nil {
			c.serverError(w, r, "guest", err)
			return
		}
		c.setGuest(w, r, g)
	}
	lang := c.phoneLang(r, v.State.Spec)
	d := phonePage{View: buildPhoneView(v, g, lang, c.o.Now()), OK: phoneOKs[r.URL.Query().Get("ok")]}
	// Only fixed texts: a link cannot make the page say anything else.
	if m, known := phoneReasons[workshop.Reason(r.URL.Query().Get("e"))]; known {
		d.Error = m
	}
	c.phoneRender(w, r, http.StatusOK, "phone", lang, verbatim(v.State.Spec.Title), phoneCSRF(c.phone.o.GuestSecret, g.Key), d)
}

// phoneResultsShow is the public results page (the printed summary's QR
// code): the question and the ranked results of the revealed rounds,
// nothing personal.
func (c *Console) phoneResultsShow(w http.ResponseWriter, r *http.Request) {
	v, ok := c.phoneWorkshop(w, r)
	if !ok {
		return
	}
	lang := c.phoneLang(r, v.State.Spec)
	d := phonePage{View: buildPhoneView(v, guest{}, lang, c.o.Now())}
	c.phoneRender(w, r, http.StatusOK, "phone_results", lang, msg("phone.results.title"), "", d)
}

// phonePath is the phone page of code, with a query.
func phonePath(code string, q url.Values) string {
	p := "/w/" + url.PathEscape(code)
	if len(q) > 0 {
		p += "?" + q.Encode()
	}
	return p
}
