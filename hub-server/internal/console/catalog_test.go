package console

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/fleet"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

var (
	// {{T "key" …}} and (T "key" …) in templates.
	templateKeyRe = regexp.MustCompile(`(?:\{\{-?|\()\s*T\s+("(?:[^"\\]|\\.)*")`)
	// msg("key", …) in Go sources.
	goKeyRe = regexp.MustCompile(`\bmsg\(\s*("(?:[^"\\]|\\.)*")`)
	// httpStatuses are the statuses the console answers with an error
	// page, whose title is the key http.STATUS.
	httpStatuses = []int{400, 401, 403, 404, 409, 413, 422, 429, 500}
)

// labelCodes are the codes the console names with label(): every value
// of the lists that define them, so a new kind or state without a
// translation fails TestCatalogComplete.
func labelCodes() []string {
	codes := []string{"online", "offline", "never", "revoked"} // Console.status
	codes = append(codes, api.CommandKinds...)
	codes = append(codes, api.ResultReasons...) // a command's result (render.go: result)
	codes = append(codes, api.CommandQueued, api.CommandDelivered, api.CommandDone, api.CommandFailed, api.CommandExpired)
	codes = append(codes, alertKinds...)
	codes = append(codes, fleet.AlertRolloutHalted) // raised by the rollout engine
	codes = append(codes, store.AlertOpen, store.AlertResolved)
	codes = append(codes, ReportStatuses...)
	codes = append(codes, Roles...)
	codes = append(codes, "first", "change", "sample")                         // store.HealthSample.Reason
	codes = append(codes, "closed", "connected", "lost", "recovered", "fault") // api.DeviceHealth.State
	codes = append(codes, "ok", "near_end", "out")                             // api.DeviceHealth.Paper
	codes = append(codes, api.ClassResident, api.ClassEvent, api.ClassSensor)  // outbox classes
	codes = append(codes, api.Weekdays...)                                     // maintenance windows' days
	codes = append(codes, memberStates...)                                     // a terminal's state in a rollout
	codes = append(codes, api.UpdaterStates...)                                // the updater's state in a heartbeat
	codes = append(codes, rolloutStates...)
	codes = append(codes, workshopLabelCodes...)
	slices.Sort(codes)
	return slices.Compact(codes)
}

// usedKeys walks the templates and the package's Go sources and returns
// every catalog key they use, with where it was found.
func usedKeys(t *testing.T) map[string]string {
	t.Helper()
	keys := map[string]string{}
	add := func(where, quoted string) {
		s, err := strconv.Unquote(quoted)
		if err != nil {
			t.Fatalf("%s: cannot read %s: %v", where, quoted, err)
		}
		if strings.HasSuffix(s, ".") {
			return // a prefix a key is made of (msg("language." + code)): its keys are added below
		}
		if _, ok := keys[s]; !ok {
			keys[s] = where
		}
	}
	err := fs.WalkDir(assets, "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(assets, p)
		if err != nil {
			return err
		}
		for _, m := range templateKeyRe.FindAllStringSubmatch(string(b), -1) {
			add(p, m[1])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	gos, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range gos {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range goKeyRe.FindAllStringSubmatch(string(b), -1) {
			add(p, m[1])
		}
	}
	for _, code := range labelCodes() {
		add("label code", strconv.Quote(labelKeyPrefix+code))
	}
	for _, code := range httpStatuses {
		add("http status", strconv.Quote("http."+strconv.Itoa(code)))
	}
	for _, l := range Langs {
		add("language name", strconv.Quote("language."+l))
	}
	add("language switch", strconv.Quote("language.name"))
	return keys
}

// TestCatalogComplete fails when a language lacks a key another has, when
// a key's placeholders differ between languages, when a text is empty,
// when a template or handler uses a key no language has, and when a key
// is used nowhere.
func TestCatalogComplete(t *testing.T) {
	if got := catalog.Languages(); !slices.Equal(got, []string{"de", "en"}) {
		t.Fatalf("catalog languages %v, want de and en", got)
	}
	for lang, keys := range catalog.Missing() {
		t.Errorf("i18n/%s.json lacks %d keys: %s", lang, len(keys), strings.Join(keys, ", "))
	}
	all := catalog.Keys(fallbackLang)
	for _, k := range all {
		want := catalog.Placeholders(fallbackLang, k)
		for _, l := range Langs {
			if strings.TrimSpace(catalog.T(l, k)) == "" {
				t.Errorf("%s: %s is empty", l, k)
			}
			if got := catalog.Placeholders(l, k); !slices.Equal(got, want) {
				t.Errorf("%s: %s has placeholders %v, %s has %v", k, l, got, fallbackLang, want)
			}
		}
	}
	used := usedKeys(t)
	if len(used) < 300 {
		t.Fatalf("found only %d keys; the walk of templates and sources is broken", len(used))
	}
	var missing []string
	for k, where := range used {
		if !catalog.HasKey(k) {
			missing = append(missing, strconv.Quote(k)+" ("+where+")")
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("%d keys are used but not in the catalog (i18n/*.json):\n%s", len(missing), strings.Join(missing, "\n"))
	}
	for _, k := range all {
		if _, ok := used[k]; !ok {
			t.Errorf("%s is in the catalog but used nowhere", k)
		}
	}
}

// The walk itself must find keys in every place it looks: a template
// call, a call in parentheses, a Go call, a label code.
func TestCatalogWalkFindsKeys(t *testing.T) {
	keys := usedKeys(t)
	for _, k := range []string{
		"layout.skip_content",                    // layout.html {{T …}}
		"announcements.error.title_missing",      // msg(…) in Go
		"label.paper_out",                        // a label code
		"error.no_such_page",                     // c.fail(…, msg(…))
		"account.title",                          // c.render's title
		"announcements.error.title_too_long",     // msg with arguments
		"http.404",                               // an error page's title
		"flash.alert_unmute",                     // a flash message
		"status.unknown_ref_before",              // status.html
		"fleet.with_unacknowledged_alerts",       // (T …) in an expression
		"users.error.password_too_short",         // password.go
		"terminal.mute_until_label",              // terminal.html
		"config.error.fields_not_owned",          // config.go
		"report.error.transition",                // report_update.go
		"language.de",                            // a language's name
		"label." + api.CommandCollectDiagnostics, // a command kind
	} {
		if _, ok := keys[k]; !ok {
			t.Errorf("the catalog walk misses %q", k)
		}
	}
	for src, want := range map[string]string{
		`{{printf (T "a.b") .Q}}`:                "a.b",
		`{{- T "x.y" "n" 3 -}}`:                  "x.y",
		`{{T .Error}}`:                           "",
		`{{with .Error}}{{T .}}{{end}}`:          "",
		`<p>{{T "c.d"}} <b>{{.X}}</b></p>`:       "c.d",
		`{{if .Y}}{{T "e.f" "who" .Who}}{{end}}`: "e.f",
	} {
		got := ""
		if m := templateKeyRe.FindStringSubmatch(src); m != nil {
			got, _ = strconv.Unquote(m[1])
		}
		if got != want {
			t.Errorf("templateKeyRe on %s: %q, want %q", src, got, want)
		}
	}
	if m := goKeyRe.FindStringSubmatch(`c.fail(w, r, 400, msg("a.b", "n", 3))`); m == nil || m[1] != `"a.b"` {
		t.Errorf("goKeyRe: %v", m)
	}
}

// TestTranslate: a Message in each language, with named arguments, a
// label as an argument translated with it, a text shown as it is, and a
// code without a label shown as the code.
func TestTranslate(t *testing.T) {
	for _, tc := range []struct {
		m    *Message
		lang string
		want string
	}{
		{msg("common.fleet"), "de", "Flotte"},
		{msg("common.fleet"), "en", "Fleet"},
		{msg("report.error.transition", "from", label(store.ReportResolved), "to", label(store.ReportNew)), "de", "Eine Meldung kann nicht von „Behoben“ zu „Neu“ wechseln."},
		{msg("report.error.transition", "from", label(store.ReportResolved), "to", label(store.ReportNew)), "en", "A report cannot go from Resolved to New."},
		{msg("login.error.throttled", "seconds", 8), "de", "Zu viele Fehlversuche. Bitte warten Sie 8 Sekunden und versuchen Sie es dann erneut."},
		{msg("time.minutes_ago", "n", 5), "de", "vor 5 min"},
		{msg("fleet.problem.paper", "device", "printer", "paper", label("near_end")), "de", "printer – Papier: Fast leer"},
		{msg("error.role_forbids", "role", label(store.RoleViewer)), "de", "Ihre Rolle (Lesezugriff) erlaubt das nicht."},
		{verbatim("config: not well-formed JSON"), "de", "config: not well-formed JSON"},
		{label("from_a_newer_terminal"), "de", "from_a_newer_terminal"},
		{langName("de"), "en", "German"},
		{langName("tr"), "de", "tr"},
		{nil, "de", ""},
	} {
		if got := tc.m.In(tc.lang); got != tc.want {
			t.Errorf("%+v in %s = %q, want %q", tc.m, tc.lang, got, tc.want)
		}
	}
	// As an error (for the CLI) a Message is English.
	if err := CheckPasswordRules("short"); err == nil || err.Error() != "a password needs at least 12 characters (it has 5)" {
		t.Errorf("CheckPasswordRules: %v", err)
	}
}

func TestAcceptLang(t *testing.T) {
	for h, want := range map[string]string{
		"":                              "",
		"de-DE,de;q=0.9,en-US;q=0.8":    "de",
		"en-US,en;q=0.9":                "en",
		"fr-FR, fr;q=0.9":               "",
		"fr, en;q=0.5, de;q=0.7":        "de",
		"de;q=0, en;q=0.1":              "en",
		"EN-gb":                         "en",
		"tr, de-AT;q=0.8, en;q=0.8":     "de",
		"en;q=bogus, de;q=0.5":          "en",
		"*;q=0.5, de-CH":                "de",
		"en-US,en;q=0.9,de-DE;q=0.95":   "en",
		"en-US;q=0.8,de-DE;q=0.95":      "de",
		"x-klingon, es-419, en-IN;q=.3": "en",
	} {
		if got := acceptLang(h); got != want {
			t.Errorf("acceptLang(%q) = %q, want %q", h, got, want)
		}
	}
}
