package console

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/internal/workshop"
)

//go:embed templates/*.html static/*
var assets embed.FS

// pages holds every page once per language: the same parsed templates,
// cloned at startup with that language's functions (t, label, ago, day),
// so a request only picks its clone.
type pages struct {
	m map[string]map[string]*template.Template // lang → page → template
}

// funcsFor are the template functions in lang.
func funcsFor(lang string) template.FuncMap {
	return template.FuncMap{
		"T":     tmplT(lang),
		"label": func(code string) string { return label(code).In(lang) },
		// wsLabel names a workshop code (status, method, phase kind, reason).
		"wsLabel": func(code string) string { return label("ws_" + code).In(lang) },
		"inc":     func(n int) int { return n + 1 },
		"blank":   blankZero,
		"ideaText": func(s *workshop.State, id string) string {
			if i := s.Idea(id); i != nil {
				return i.Text
			}
			return id
		},
		// langName names a language code (a report's, a preview's) in lang.
		"langName": func(code string) string { return langName(code).In(lang) },
		"when":     when,
		"day":      func(t time.Time) string { return dayIn(lang, t) },
		"ago":      func(now, t time.Time) string { return ago(now, t).In(lang) },
		"bytes": func(n int64) string {
			switch {
			case n >= 1<<30:
				return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
			case n >= 1<<20:
				return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
			default:
				return fmt.Sprintf("%d KiB", n>>10)
			}
		},
		"join": strings.Join,
		// result is a command's result; a reason the terminal gave
		// (api.ReasonText) in lang.
		"result": func(s string) string {
			if r, ok := api.ReasonOf(s); ok {
				return label(r).In(lang)
			}
			return s
		},
		"dict": func(kv ...any) map[string]any {
			m := map[string]any{}
			for i := 0; i+1 < len(kv); i += 2 {
				k, _ := kv[i].(string)
				m[k] = kv[i+1]
			}
			return m
		},
		"list":   func(s ...string) []string { return s },
		"pretty": prettyJSON,
		"pct64": func(a, b int64) int64 {
			if b <= 0 {
				return 0
			}
			return a * 100 / b
		},
		"pct": func(a, b int) int {
			if b == 0 {
				return 0
			}
			return (a*100 + b/2) / b
		},
	}
}

// loadPages parses layout.html and the partials (_*.html) once, then each
// page on a clone of them, then clones each page per language.
func loadPages() (*pages, error) {
	base, err := template.New("layout.html").Funcs(funcsFor(Langs[0])).ParseFS(assets, "templates/layout.html", "templates/_*.html")
	if err != nil {
		return nil, fmt.Errorf("console: templates: %w", err)
	}
	names, err := fs.Glob(assets, "templates/*.html")
	if err != nil {
		return nil, err
	}
	p := &pages{m: map[string]map[string]*template.Template{}}
	for _, l := range Langs {
		p.m[l] = map[string]*template.Template{}
	}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name == "layout" || strings.HasPrefix(name, "_") {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(assets, n)
		if err != nil {
			return nil, fmt.Errorf("console: template %s: %w", name, err)
		}
		for _, l := range Langs {
			c, err := t.Clone()
			if err != nil {
				return nil, fmt.Errorf("console: template %s (%s): %w", name, l, err)
			}
			p.m[l][name] = c.Funcs(funcsFor(l))
		}
	}
	return p, nil
}

// view is what every page template gets.
type view struct {
	Title  string
	Nav    string
	User   *store.User
	CSRF   string
	Flash  string
	Public bool // the public status page: no console navigation
	Data   any
	// Lang is the page's language; Langs the switch (links for visitors,
	// a form for users); Here is where the users' switch returns to.
	Lang  string
	Langs []langLink
	Here  string
}

// Can reports whether the page's user may do action a.
func (v *view) Can(a string) bool { return v.User != nil && Can(v.User.Role, Action(a)) }

// flashes are the messages a redirect may name (?done=NAME): only fixed
// texts, so a link cannot make the console show arbitrary words.
var flashes = map[string]*Message{
	"command":        msg("flash.command"),
	"revoked":        msg("flash.revoked"),
	"tags":           msg("flash.tags"),
	"config":         msg("flash.config"),
	"report":         msg("flash.report"),
	"user":           msg("flash.user"),
	"password":       msg("flash.password"),
	"logout":         msg("flash.logout"),
	"lang":           msg("flash.lang"),
	"alert_ack":      msg("flash.alert_ack"),
	"alert_mute":     msg("flash.alert_mute"),
	"alert_unmute":   msg("flash.alert_unmute"),
	"release":        msg("flash.release"),
	"window":         msg("flash.window"),
	"rollout_start":  msg("flash.rollout_start"),
	"rollout_pause":  msg("flash.rollout_pause"),
	"rollout_resume": msg("flash.rollout_resume"),
	"rollout_stop":   msg("flash.rollout_stop"),
	"workshop_saved": msg("flash.workshop_saved"),
}

// render shows page with its title (in the page's language), nav (the
// menu entry to mark) and data.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, page string, title *Message, nav string, data any) {
	c.renderIn(w, r, status, c.lang(r, principalFrom(r.Context()), publicPage(page)), page, title, nav, data)
}

// publicPage reports whether page is one of the public pages (the status
// page, the air pages): no console navigation, the public's language.
func publicPage(page string) bool { return page == "status" || page == "air" || page == "air_terminal" }

// renderIn is render in lang, for a page whose language is not its
// reader's (the projector speaks the workshop's language to the room).
func (c *Console) renderIn(w http.ResponseWriter, r *http.Request, status int, lang, page string, title *Message, nav string, data any) {
	p := principalFrom(r.Context())
	public := publicPage(page)
	t, ok := c.pages.m[lang][page]
	if !ok {
		c.serverError(w, r, "render", fmt.Errorf("no page %q", page))
		return
	}
	v := &view{Title: title.In(lang), Nav: nav, Data: data, Flash: flashes[r.URL.Query().Get("done")].In(lang), Public: public,
		Lang: lang, Langs: langLinks(r, lang), Here: c.here(r)}
	if p != nil {
		v.User, v.CSRF = &p.user, p.session.CSRF
	}
	if l := r.URL.Query().Get("lang"); knownLang(l) && p == nil {
		// A visitor's pick holds for the next pages (status, login).
		c.setCookie(w, r, langCookie, l, langCookieAge)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", v); err != nil {
		c.serverError(w, r, "render "+page, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Language", lang)
	w.Header().Set("Vary", "Accept-Language, Cookie")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// lang is the language of r's page: the public status page defaults to
// Opts.PublicLang, the console to Opts.Lang; a logged-in user's own
// choice comes before the browser's.
func (c *Console) lang(r *http.Request, p *principal, public bool) string {
	def, user := c.o.Lang, ""
	if public {
		def = c.o.PublicLang
	}
	if p != nil && !public {
		l, err := c.st.UserLang(r.Context(), p.user.ID)
		if err != nil {
			c.o.Logger.Warn("console: user language", "err", err)
		}
		user = l
	}
	return requestLang(r, user, c.cookie(r, langCookie), def)
}

// here is where the logged-in language switch returns to: this page,
// or for a form's answer the console's start page.
func (c *Console) here(r *http.Request) string {
	if r.Method != http.MethodGet {
		return "/console/"
	}
	return safeNext(hereWithoutLang(r))
}

// fail shows the error page with status and what went wrong.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, status int, what *Message) {
	c.render(w, r, status, "error", statusTitle(status), "", what)
}

// statusTitle names an HTTP status for the error page's title.
func statusTitle(status int) *Message {
	key := fmt.Sprintf("http.%d", status)
	if !catalog.HasKey(key) {
		return verbatim(http.StatusText(status))
	}
	return msg(key)
}

func (c *Console) serverError(w http.ResponseWriter, r *http.Request, what string, err error) {
	c.o.Logger.Error("console: "+what, "route", r.Pattern, "err", err)
	c.render(w, r, http.StatusInternalServerError, "error", msg("error.title"), "", msg("error.server"))
}

func (c *Console) redirect(w http.ResponseWriter, r *http.Request, path, done string) {
	if done != "" {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		path += sep + "done=" + done
	}
	http.Redirect(w, r, path, http.StatusSeeOther)
}

func when(t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

var monthsDE = [...]string{"Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November", "Dezember"}

// dayIn is t's date as people write it in lang.
func dayIn(lang string, t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	t = t.Local()
	if lang == "de" {
		return fmt.Sprintf("%d. %s %d", t.Day(), monthsDE[t.Month()-1], t.Year())
	}
	return t.Format("2 January 2006")
}

// ago says how long ago t was, roughly.
func ago(now, t time.Time) *Message {
	if t.IsZero() {
		return msg("time.never")
	}
	d := now.Sub(t)
	switch {
	case d < 0:
		return msg("time.just_now")
	case d < time.Minute:
		return msg("time.seconds_ago", "n", int(d.Seconds()))
	case d < time.Hour:
		return msg("time.minutes_ago", "n", int(d.Minutes()))
	case d < 48*time.Hour:
		return msg("time.hours_ago", "n", int(d.Hours()))
	default:
		return msg("time.days_ago", "n", int(d.Hours()/24))
	}
}

func prettyJSON(b []byte) string {
	var buf bytes.Buffer
	if err := json.Indent(&buf, b, "", "  "); err != nil {
		return string(b)
	}
	return buf.String()
}
