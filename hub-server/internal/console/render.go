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

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

//go:embed templates/*.html static/*
var assets embed.FS

type pages struct{ m map[string]*template.Template }

var funcs = template.FuncMap{
	"t":    T,
	"when": when,
	"day":  func(t time.Time) string { return dayOf(t) },
	"ago":  ago,
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
	"join":   strings.Join,
	"list":   func(s ...string) []string { return s },
	"label":  label,
	"pretty": prettyJSON,
	"pct": func(a, b int) int {
		if b == 0 {
			return 0
		}
		return (a*100 + b/2) / b
	},
}

// loadPages parses layout.html and the partials (_*.html) once, then each
// page on a clone of them.
func loadPages() (*pages, error) {
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(assets, "templates/layout.html", "templates/_*.html")
	if err != nil {
		return nil, fmt.Errorf("console: templates: %w", err)
	}
	names, err := fs.Glob(assets, "templates/*.html")
	if err != nil {
		return nil, err
	}
	p := &pages{m: map[string]*template.Template{}}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name == "layout" || strings.HasPrefix(name, "_") {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(assets, n)
		if err != nil {
			return nil, fmt.Errorf("console: template %s: %w", name, err)
		}
		p.m[name] = t
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
}

// Can reports whether the page's user may do action a.
func (v *view) Can(a string) bool { return v.User != nil && Can(v.User.Role, Action(a)) }

// flashes are the messages a redirect may name (?done=KEY): only fixed
// texts, so a link cannot make the console show arbitrary words.
var flashes = map[string]string{
	"command":  "Command queued. It is delivered when the terminal next calls the hub.",
	"revoked":  "Terminal revoked. It can no longer talk to the hub.",
	"tags":     "Tags saved.",
	"config":   "Configuration saved. Terminals pick it up with their next heartbeat.",
	"report":   "Report updated.",
	"user":     "User saved.",
	"password": "Password changed.",
	"logout":   "You have logged out.",
}

func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, page, title, nav string, data any) {
	t, ok := c.pages.m[page]
	if !ok {
		c.serverError(w, r, "render", fmt.Errorf("no page %q", page))
		return
	}
	v := &view{Title: T(title), Nav: nav, Data: data, Flash: T(flashes[r.URL.Query().Get("done")]), Public: page == "status"}
	if p := principalFrom(r.Context()); p != nil {
		v.User, v.CSRF = &p.user, p.session.CSRF
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", v); err != nil {
		c.serverError(w, r, "render "+page, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// fail shows a page with msg (already plain language) and status.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, status int, msg string) {
	c.render(w, r, status, "error", http.StatusText(status), "", T(msg))
}

func (c *Console) serverError(w http.ResponseWriter, r *http.Request, what string, err error) {
	c.o.Logger.Error("console: "+what, "route", r.Pattern, "err", err)
	c.render(w, r, http.StatusInternalServerError, "error", "Something went wrong", "", T("The hub could not do this. Please try again; if it keeps failing, tell IT (the hub log has the details)."))
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

func dayOf(t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	return t.Local().Format("2 January 2006")
}

func ago(now, t time.Time) string {
	if t.IsZero() {
		return T("never")
	}
	d := now.Sub(t)
	switch {
	case d < 0:
		return T("just now")
	case d < time.Minute:
		return fmt.Sprintf(T("%d s ago"), int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf(T("%d min ago"), int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf(T("%d h ago"), int(d.Hours()))
	default:
		return fmt.Sprintf(T("%d days ago"), int(d.Hours()/24))
	}
}

func prettyJSON(b []byte) string {
	var buf bytes.Buffer
	if err := json.Indent(&buf, b, "", "  "); err != nil {
		return string(b)
	}
	return buf.String()
}
