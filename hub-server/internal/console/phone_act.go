package console

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/quartierhub/quartierhub/hub-server/internal/netlimit"
	"github.com/quartierhub/quartierhub/hub-server/internal/workshops"
	"github.com/quartierhub/quartierhub/internal/workshop"
)

// maxPhoneForm bounds a phone form's body: an idea of MaxIdeaText
// characters of four bytes each, percent-encoded, and a few fields.
const maxPhoneForm = 8 << 10

// phoneRefuse shows the phone page with why an action was refused,
// without a redirect: the request itself was not acceptable (stale
// form, too many requests).
func (c *Console) phoneRefuse(w http.ResponseWriter, r *http.Request, v workshops.View, g guest, status int, reason workshop.Reason) {
	lang := c.phoneLang(r, v.State.Spec)
	csrf := ""
	if g.Key != "" {
		csrf = phoneCSRF(c.phone.o.GuestSecret, g.Key)
	}
	d := phonePage{View: buildPhoneView(v, g, lang, c.o.Now()), Error: phoneReason(reason), Limited: reason == phoneLimited}
	if r.PostForm != nil {
		d.Draft = r.PostForm.Get("text")
	}
	c.phoneRender(w, r, status, "phone", lang, verbatim(v.State.Spec.Title), csrf, d)
}

// phoneRedirect answers a form with the phone page (post, redirect,
// get): ?ok= what was done, or ?e= why it was refused; anchor keeps the
// participant's place on the page.
func phoneRedirect(w http.ResponseWriter, r *http.Request, code, key, value, anchor string) {
	p := phonePath(code, url.Values{key: {value}})
	if anchor != "" {
		p += "#" + anchor
	}
	http.Redirect(w, r, p, http.StatusSeeOther)
}

// phoneForm reads a phone form: at most maxPhoneForm bytes, from this
// site, with a valid guest cookie and its CSRF token. It answers the
// request itself when it returns false.
func (c *Console) phoneForm(w http.ResponseWriter, r *http.Request, v workshops.View) (guest, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, maxPhoneForm)
	if err := r.ParseForm(); err != nil {
		status := http.StatusBadRequest
		if tooBig := new(http.MaxBytesError); errors.As(err, &tooBig) {
			status = http.StatusRequestEntityTooLarge
		}
		c.phoneRefuse(w, r, v, guest{}, status, workshop.ReasonInvalid)
		return guest{}, false
	}
	g, ok := c.guestFrom(r)
	if !ok || !sameOrigin(r) || !phoneCSRFOK(c.phone.o.GuestSecret, g, r.PostFormValue(csrfField)) {
		c.o.Logger.Info("console: phone form refused", "route", r.Pattern)
		if !ok {
			g = guest{}
		}
		c.phoneRefuse(w, r, v, g, http.StatusForbidden, phoneStale)
		return guest{}, false
	}
	return g, true
}

// phoneJoin takes a guest number: the guest becomes a voter of the
// workshop, the same one whenever this browser's guest key asks again.
func (c *Console) phoneJoin(w http.ResponseWriter, r *http.Request) {
	v, ok := c.phoneWorkshop(w, r)
	if !ok {
		return
	}
	g, ok := c.phoneForm(w, r, v)
	if !ok {
		return
	}
	if _, joined := phoneVoter(v, g); joined {
		phoneRedirect(w, r, v.Workshop.JoinCode, "ok", "joined", "")
		return
	}
	if ok, wait := c.phone.joins.Allow(c.clientNet(r), c.o.Now()); !ok {
		w.Header().Set("Retry-After", netlimit.RetryAfter(wait))
		c.phoneRefuse(w, r, v, g, http.StatusTooManyRequests, phoneLimited)
		return
	}
	if !v.State.Spec.Phones {
		phoneRedirect(w, r, v.Workshop.JoinCode, "e", string(workshop.ReasonNoPhones), "")
		return
	}
	_, _, err := c.phone.o.Workshops.JoinPhone(r.Context(), v.Workshop.JoinCode, g.Key)
	if reason := workshops.Reason(err); reason != "" {
		phoneRedirect(w, r, v.Workshop.JoinCode, "e", string(reason), "")
		return
	} else if err != nil {
		c.serverError(w, r, "phone join", err)
		return
	}
	phoneRedirect(w, r, v.Workshop.JoinCode, "ok", "joined", "")
}

// phoneAction is one participant action: what the form asks for as an
// event, or a refusal code of the page's own.
type phoneAction func(v workshops.View, form url.Values) (t workshop.Type, data any, refused workshop.Reason)

// phoneAct runs a participant action for the guest's voter: checked
// form, limits per guest and per network, then the workshop service,
// which authors the event for the voter (and the fold refuses what does
// not fit: a dot too many counts as over the limit, a removed voter
// acts no more).
func (c *Console) phoneAct(w http.ResponseWriter, r *http.Request, ok string, anchor string, act phoneAction) {
	v, found := c.phoneWorkshop(w, r)
	if !found {
		return
	}
	g, valid := c.phoneForm(w, r, v)
	if !valid {
		return
	}
	voter, joined := phoneVoter(v, g)
	if !joined {
		phoneRedirect(w, r, v.Workshop.JoinCode, "e", string(workshop.ReasonNotCheckedIn), "")
		return
	}
	now := c.o.Now()
	if allowed, wait := c.phone.netActs.Allow(c.clientNet(r), now); !allowed {
		w.Header().Set("Retry-After", netlimit.RetryAfter(wait))
		c.phoneRefuse(w, r, v, g, http.StatusTooManyRequests, phoneLimited)
		return
	}
	if allowed, wait := c.phone.acts.Allow(g.Key, now); !allowed {
		w.Header().Set("Retry-After", netlimit.RetryAfter(wait))
		c.phoneRefuse(w, r, v, g, http.StatusTooManyRequests, phoneLimited)
		return
	}
	if anchor == anchorItem {
		anchor = anchorOf(r.PostForm.Get("item"))
	}
	t, data, refused := act(v, r.PostForm)
	if refused != "" {
		phoneRedirect(w, r, v.Workshop.JoinCode, "e", string(refused), anchor)
		return
	}
	if t == workshop.TypeIdea {
		if allowed, wait := c.phone.ideas.Allow(g.Key, now); !allowed {
			w.Header().Set("Retry-After", netlimit.RetryAfter(wait))
			c.phoneRefuse(w, r, v, g, http.StatusTooManyRequests, phoneLimited)
			return
		}
	}
	ev, err := c.phone.o.Workshops.Act(r.Context(), v.Workshop.ID, voter, t, data)
	if reason := workshops.Reason(err); reason != "" {
		phoneRedirect(w, r, v.Workshop.JoinCode, "e", string(reason), anchor)
		return
	} else if err != nil {
		c.serverError(w, r, "phone "+string(t), err)
		return
	}
	if t == workshop.TypeDot {
		// The fold keeps a dot beyond the voter's dots (a second tab, a
		// script) but does not count it: say so rather than "placed".
		if nv, err := c.phone.o.Workshops.Get(r.Context(), v.Workshop.ID); err == nil {
			if d := nv.State.Dot(ev.ID); d != nil && d.Status == workshop.DotOverLimit {
				ok = "dot_over"
			}
		}
	}
	phoneRedirect(w, r, v.Workshop.JoinCode, "ok", ok, anchor)
}

// ideaText reads an idea from a form: trimmed, one line breaks kept,
// within the workshop's length.
func ideaText(form url.Values, maxChars int) (string, workshop.Reason) {
	text := strings.TrimSpace(strings.ReplaceAll(form.Get("text"), "\r\n", "\n"))
	if maxChars <= 0 || maxChars > workshop.MaxIdeaText {
		maxChars = workshop.MaxIdeaText
	}
	switch {
	case !utf8.ValidString(text):
		return "", workshop.ReasonInvalid
	case text == "":
		return "", phoneEmpty
	case utf8.RuneCountInString(text) > maxChars:
		return "", phoneTooLong
	}
	return text, ""
}

func (c *Console) phoneIdea(w http.ResponseWriter, r *http.Request) {
	c.phoneAct(w, r, "idea", "idea-form", func(v workshops.View, form url.Values) (workshop.Type, any, workshop.Reason) {
		text, refused := ideaText(form, v.State.Spec.MaxIdeaChars)
		if refused != "" {
			return "", nil, refused
		}
		idea := workshop.Idea{Text: text, Phase: v.State.PhaseIndex}
		if v.State.Spec.Named {
			author := strings.TrimSpace(form.Get("author"))
			if utf8.RuneCountInString(author) > workshop.MaxAuthorName {
				return "", nil, phoneTooLong
			}
			idea.Author = author
		}
		return workshop.TypeIdea, idea, ""
	})
}

func (c *Console) phoneDone(w http.ResponseWriter, r *http.Request) {
	c.phoneAct(w, r, "done", "", func(v workshops.View, form url.Values) (workshop.Type, any, workshop.Reason) {
		return workshop.TypeDone, workshop.Done{Phase: v.State.PhaseIndex}, ""
	})
}

func (c *Console) phoneDot(w http.ResponseWriter, r *http.Request) {
	c.phoneAct(w, r, "dot", anchorItem, func(v workshops.View, form url.Values) (workshop.Type, any, workshop.Reason) {
		round, err := strconv.Atoi(form.Get("round"))
		item := form.Get("item")
		if err != nil || round < 1 || item == "" || len(item) > workshop.MaxIDLen {
			return "", nil, workshop.ReasonInvalid
		}
		return workshop.TypeDot, workshop.Dot{Round: round, Item: item}, ""
	})
}

func (c *Console) phoneDotTake(w http.ResponseWriter, r *http.Request) {
	c.phoneAct(w, r, "take", anchorItem, func(v workshops.View, form url.Values) (workshop.Type, any, workshop.Reason) {
		dot := form.Get("dot")
		if dot == "" || len(dot) > workshop.MaxIDLen {
			return "", nil, workshop.ReasonInvalid
		}
		return workshop.TypeDotTake, workshop.DotTake{Dot: dot}, ""
	})
}

// anchorItem as phoneAct's anchor: the vote item the form names.
const anchorItem = "\x00item"

// anchorOf is the page anchor of a vote item, "" for anything that is
// not an ID (it goes into a Location header).
func anchorOf(item string) string {
	if item == "" || len(item) > workshop.MaxIDLen {
		return ""
	}
	for _, ch := range item {
		if !(ch >= '0' && ch <= '9' || ch >= 'A' && ch <= 'Z' || ch >= 'a' && ch <= 'z' || ch == '-' || ch == '_') {
			return ""
		}
	}
	return "item-" + item
}
