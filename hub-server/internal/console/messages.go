package console

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Every text the console shows is translated per request, gettext
// style: the English text is the key, and a language is one map from
// those keys to its own texts (German: messages_de.go). Templates call
// t on literal texts ({{t "Fleet"}}) and on texts made in Go
// ({{t .Error}}); Go code marks its texts with T so that the catalog
// test finds them. A Go text made with fmt.Sprintf(T(format), args…)
// is translated as well: the catalog's formats are matched against it
// and it is formatted again in the page's language (formatted below).
// TestCatalogComplete fails when a key lacks a German text.

// Langs are the languages the console speaks, in the order of the
// language switch; English, the language of the keys, first.
var Langs = []string{"en", "de"}

// langNames are the languages' names in themselves (for the switch).
var langNames = map[string]string{"en": "English", "de": "Deutsch"}

var catalog = map[string]map[string]string{
	"de": messagesDE,
}

// T marks s as a text to translate and returns it unchanged: the page
// translates it when it renders, in the request's language.
func T(s string) string { return s }

// tr translates s into lang: the catalog's text for s, else s
// formatted with a catalog format (see formatted), else s.
func tr(lang, s string) string {
	m := catalog[lang]
	if m == nil || s == "" {
		return s
	}
	if t, ok := m[s]; ok {
		return t
	}
	if t, ok := formatted(lang, s); ok {
		return t
	}
	return s
}

// format is a catalog key with fmt verbs, as a pattern that recognises
// the texts Sprintf made of it.
type format struct {
	key  string
	re   *regexp.Regexp
	verb int // number of arguments
}

var (
	verbRe = regexp.MustCompile(`%(\[\d+\])?[-+# 0]*\d*(\.\d+)?[dsvqf]`)
	// formats[lang] holds the formats with a translation, most specific
	// (longest fixed text) first.
	formats = map[string][]format{}
)

func init() {
	for lang, m := range catalog {
		var fs []format
		for k := range m {
			if !verbRe.MatchString(k) || strings.Contains(k, "%[") {
				continue
			}
			var pat strings.Builder
			pat.WriteString("^")
			last, n := 0, 0
			for _, loc := range verbRe.FindAllStringIndex(k, -1) {
				pat.WriteString(regexp.QuoteMeta(k[last:loc[0]]))
				switch k[loc[1]-1] {
				case 'd':
					pat.WriteString(`(-?\d+)`)
				case 'f':
					pat.WriteString(`(-?[\d.]+)`)
				default:
					pat.WriteString(`(.+?)`)
				}
				last, n = loc[1], n+1
			}
			pat.WriteString(regexp.QuoteMeta(k[last:]))
			pat.WriteString("$")
			fs = append(fs, format{key: k, re: regexp.MustCompile("(?s)" + pat.String()), verb: n})
		}
		sort.Slice(fs, func(i, j int) bool {
			li, lj := len(fs[i].key)-2*fs[i].verb, len(fs[j].key)-2*fs[j].verb
			if li != lj {
				return li > lj
			}
			return fs[i].key < fs[j].key
		})
		formats[lang] = fs
	}
}

// formatted translates a text Sprintf made of a catalog format: the
// arguments are taken from s, translated themselves when they are
// catalog keys (labels such as "Resolved"), and put into the format's
// translation, whose verbs may be reordered with %[n]s.
func formatted(lang, s string) (string, bool) {
	for _, f := range formats[lang] {
		m := f.re.FindStringSubmatch(s)
		if m == nil {
			continue
		}
		args := make([]any, len(m)-1)
		for i, a := range m[1:] {
			if t, ok := catalog[lang][a]; ok {
				a = t
			}
			args[i] = a
		}
		// The captured arguments are text now: every verb prints a string.
		out := verbRe.ReplaceAllStringFunc(catalog[lang][f.key], func(v string) string {
			if i := strings.Index(v, "]"); i > 0 {
				return v[:i+1] + "s"
			}
			return "%s"
		})
		return fmt.Sprintf(out, args...), true
	}
	return "", false
}

// labels are plain-language names for codes shown in tables; their
// values are catalog keys.
var labels = map[string]string{
	// terminal states
	"online": "Online", "offline": "Offline", "revoked": "Revoked", "never": "Never seen",
	// commands
	"maintenance_on": "Show out-of-order screen", "maintenance_off": "End out-of-order screen", "restart": "Restart the terminal app",
	"sync_now": "Send data now", "test_print": "Print a test receipt", "collect_diagnostics": "Collect diagnostics",
	"queued": "Waiting for the terminal", "delivered": "Delivered", "done": "Done", "failed": "Failed", "expired": "Expired",
	// alerts
	"paper_near_end": "Paper nearly empty", "paper_out": "Paper empty", "sensor_fault": "Sensor fault",
	"sensor_silent": "Sensor silent", "device_fault": "Device fault", "backlog_growing": "Unsent data growing",
	"backlog_old": "Data not sent for long", "disk_low": "Disk nearly full", "revoked_calling": "Revoked terminal still calling",
	"open": "Open", "resolved": "Resolved",
	// health history: why a sample was kept
	"first": "First contact", "change": "State changed", "sample": "Sample",
	// reports
	"new": "New", "in_progress": "In progress", "rejected": "Rejected",
	// devices
	"connected": "Working", "recovered": "Working again", "lost": "Disconnected", "fault": "Fault", "closed": "Off",
	"ok": "OK", "near_end": "Nearly empty", "out": "Empty",
	// roles
	"admin": "Admin", "moderator": "Moderator", "viewer": "Viewer",
}

// label returns the plain-language label of a code (a catalog key, in
// English), or the code.
func label(code string) string {
	if l, ok := labels[code]; ok {
		return l
	}
	return code
}
