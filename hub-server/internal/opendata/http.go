package opendata

import (
	"bytes"
	"context"
	"errors"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/netlimit"
)

// Prefix is where Handler is mounted.
const Prefix = "/open-data/"

// Limits of the public handler, per client network (netlimit): a
// harvester fetching the catalogue's 33 files at once passes; a loop does
// not.
const (
	requestBurst = 120
	requestEvery = 250 * time.Millisecond
	// generationTimeout bounds a request that waits for a day's file.
	generationTimeout = 2 * time.Minute
)

// immutable is the Cache-Control of a finished day's file: it never
// changes once made.
const immutable = "public, max-age=31536000, immutable"

// Handler serves the files under Prefix.
type Handler struct {
	f     *Files
	limit *netlimit.Limiter
}

// Handler returns the HTTP handler of the files (mount it at Prefix).
func (f *Files) Handler() *Handler {
	return &Handler{f: f, limit: netlimit.New(netlimit.Limits{Every: requestEvery, Burst: requestBurst})}
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		textError(w, http.StatusMethodNotAllowed, "only GET and HEAD")
		return
	}
	if ok, wait := h.limit.Allow(netlimit.ClientNetwork(r.RemoteAddr), h.f.o.Now()); !ok {
		w.Header().Set("Retry-After", netlimit.RetryAfter(wait))
		textError(w, http.StatusTooManyRequests, "too many requests from your network; try again later")
		return
	}
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	name, ok := strings.CutPrefix(r.URL.Path, Prefix)
	if !ok {
		http.NotFound(w, r)
		return
	}
	switch {
	case name == "":
		h.index(w, r)
	case name == "catalog.jsonld":
		h.generated(w, r, "application/ld+json", func(ctx context.Context, b *bytes.Buffer, base string) error {
			return h.f.WriteCatalog(ctx, b, base, h.f.cache.size)
		})
	case name == "stations.geojson":
		h.generated(w, r, "application/geo+json", func(ctx context.Context, b *bytes.Buffer, base string) error {
			return h.f.WriteStations(ctx, b, base)
		})
	case strings.HasPrefix(name, "air/"):
		h.day(w, r, strings.TrimPrefix(name, "air/"))
	default:
		textError(w, http.StatusNotFound, "no such file; the index is at "+Prefix)
	}
}

func textError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(msg + "\n"))
}

// base is the hub's public URL: configured, else from the request (a
// trusted proxy's X-Forwarded-Proto survives the hub's server only when
// it came from one).
func (h *Handler) base(r *http.Request) (string, bool) {
	if u := h.f.o.Catalog.PublicURL; u != "" {
		return u, true
	}
	host := r.Host
	if host == "" || len(host) > 255 || strings.ContainsFunc(host, func(c rune) bool {
		return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune(".-:[]", c))
	}) {
		return "", false
	}
	scheme := "http"
	if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		scheme = "https"
	}
	return scheme + "://" + host, true
}

// generated serves a small document made per request (the catalogue,
// the stations), which follow the sites and so are never cached long.
func (h *Handler) generated(w http.ResponseWriter, r *http.Request, ctype string, write func(context.Context, *bytes.Buffer, string) error) {
	base, ok := h.base(r)
	if !ok {
		textError(w, http.StatusBadRequest, "bad Host header")
		return
	}
	var b bytes.Buffer
	if err := write(r.Context(), &b, base); err != nil {
		h.f.log.Error("open data: making a document", "path", r.URL.Path, "err", err)
		textError(w, http.StatusInternalServerError, "the file could not be made; try again later")
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Cache-Control", "public, max-age=300")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(b.Bytes()))
}

func (h *Handler) day(w http.ResponseWriter, r *http.Request, name string) {
	day, err := ParseDayFile(name)
	if err != nil {
		textError(w, http.StatusNotFound, "no such file: day files are named air/YYYY-MM-DD.csv.gz (a UTC date)")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), generationTimeout)
	defer cancel()
	e, err := h.f.Day(ctx, day)
	switch {
	case errors.Is(err, ErrNotFinished):
		ready := day.AddDate(0, 0, 1).Add(h.f.o.Settle)
		textError(w, http.StatusNotFound, "the file of "+day.Format(time.DateOnly)+" is made after the day ends: from "+
			ready.Format(time.RFC3339)+"; until then its values are in the SensorThings API at "+STAPath)
		return
	case errors.Is(err, ErrBeforeData):
		textError(w, http.StatusNotFound, "no data is published for "+day.Format(time.DateOnly))
		return
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
		w.Header().Set("Retry-After", "60")
		textError(w, http.StatusServiceUnavailable, "the file is being made; try again in a minute")
		return
	case err != nil:
		h.f.log.Error("open data: day file", "day", day.Format(time.DateOnly), "err", err)
		textError(w, http.StatusInternalServerError, "the file could not be made; try again later")
		return
	}
	defer e.Close()
	w.Header().Set("Content-Type", "application/gzip")
	w.Header().Set("Content-Disposition", `attachment; filename="air-`+day.Format(time.DateOnly)+`.csv.gz"`)
	w.Header().Set("ETag", e.etag)
	w.Header().Set("Cache-Control", immutable)
	http.ServeContent(w, r, "", e.modTime, e.content)
}

// indexText are the index page's words in each language.
var indexText = map[string]map[string]string{
	"de": {
		"title":    "Offene Umweltdaten",
		"intro":    "Luftqualität in den Quartieren: Feinstaub (PM2.5, PM10) und Kohlendioxid, gemessen von den Quartiersterminals. Jede Minute ein Wert (CO2 in Innenräumen in der Regel als Stundenmittel), mit Qualitätskennzeichen. Rohwerte werden nie verändert.",
		"licence":  "Lizenz",
		"files":    "Dateien",
		"catalog":  "Katalogeintrag (DCAT-AP.de, JSON-LD)",
		"stations": "Messstationen (GeoJSON)",
		"sta":      "Alle Werte bis zur aktuellen Minute: OGC SensorThings API",
		"days":     "Tagesdateien (gzip-komprimiertes CSV, UTC-Tage; eine Datei entsteht eine Stunde nach Tagesende und ändert sich danach nicht mehr)",
		"pattern":  "Jeder Tag seit Beginn der Messungen:",
		"notyet":   "wird beim ersten Abruf erzeugt",
		"none":     "Noch keine veröffentlichten Messwerte.",
		"columns":  "Spalten",
		"column":   "Spalte",
		"meaning":  "Bedeutung",
		"flags":    "Qualitätskennzeichen (qc_reasons)",
		"privacy":  "Veröffentlicht werden nur Terminals mit eingetragenem Standort und nur die dafür freigegebenen Größen. CO2 in Innenräumen in der Regel nur als Stundenmittel. Nie veröffentlicht: Meldungen, Umfragen, Karten, Adressen oder sonst etwas über Personen.",
		"other":    "English",
	},
	"en": {
		"title":    "Open environmental data",
		"intro":    "Air quality in the quarters: particulate matter (PM2.5, PM10) and carbon dioxide, measured by the quarters' terminals. One value per minute (indoor CO2 as hourly means by default), with quality flags. Raw values are never changed.",
		"licence":  "Licence",
		"files":    "Files",
		"catalog":  "Catalogue record (DCAT-AP.de, JSON-LD)",
		"stations": "Stations (GeoJSON)",
		"sta":      "Every value up to the current minute: OGC SensorThings API",
		"days":     "Day files (gzipped CSV, UTC days; a file is made an hour after the day ends and never changes after)",
		"pattern":  "Every day since the measurements began:",
		"notyet":   "made when first fetched",
		"none":     "No published values yet.",
		"columns":  "Columns",
		"column":   "Column",
		"meaning":  "Meaning",
		"flags":    "Quality flags (qc_reasons)",
		"privacy":  "Only terminals with a site are published, and only the quantities released for them. Indoor CO2 as hourly means by default. Never published: reports, surveys, cards, addresses or anything else about people.",
		"other":    "Deutsch",
	},
}

// ColumnDocs describe the day file's columns, per language.
var ColumnDocs = map[string][]string{
	"de": {"Name des Terminals", "SensorThings-Thing-ID des Terminals", "SensorThings-Datastream-ID (Terminal × Sensor × Größe)",
		"Quartier", "Größe: pm25, pm10 oder co2", "Einheit (UCUM): ug/m3 oder [ppm]",
		"Beginn des Intervalls (RFC 3339, UTC)", "Ende des Intervalls (Minute oder Stunde)",
		"Mittelwert", "kleinster Einzelwert", "größter Einzelwert", "Zahl der Einzelwerte im Mittel",
		"Zahl der erwarteten Einzelwerte (leer: unbekannt)", "Urteil: ok, suspect, incomplete, warmup oder invalid",
		"gesetzte Kennzeichen, mit | getrennt (leer: keine)", "Breite (WGS 84)", "Länge (WGS 84)"},
	"en": {"the terminal's name", "the terminal's SensorThings Thing ID", "SensorThings Datastream ID (terminal × sensor × quantity)",
		"quarter", "quantity: pm25, pm10 or co2", "unit (UCUM): ug/m3 or [ppm]",
		"interval start (RFC 3339, UTC)", "interval end (a minute or an hour later)",
		"mean", "smallest sample", "largest sample", "number of samples in the mean",
		"number of samples expected (empty: unknown)", "verdict: ok, suspect, incomplete, warmup or invalid",
		"the flags set, separated by | (empty: none)", "latitude (WGS 84)", "longitude (WGS 84)"},
}

// FlagDocs describe the quality flags, per language, in air.Flags' order.
var FlagDocs = map[string][][2]string{
	"de": {
		{"warmup", "der Sensor wärmte sich auf; diese Einzelwerte sind nicht im Mittel"},
		{"incomplete", "weniger als 75 % der erwarteten Einzelwerte, oder das Terminal hielt mitten in der Minute an"},
		{"out_of_range", "Mittel, Minimum oder Maximum außerhalb des Messbereichs (Urteil invalid)"},
		{"pm25_above_pm10", "PM2.5 größer als PM10 desselben Sensors: physikalisch unmöglich"},
		{"flat_line", "15 Minuten lang nur gleiche Einzelwerte: Sensor hängt"},
		{"high_humidity", "relative Luftfeuchte über 70 %: optische Feinstaubsensoren messen zu viel"},
	},
	"en": {
		{"warmup", "the sensor was warming up; those samples are not in the mean"},
		{"incomplete", "fewer than 75 % of the expected samples, or the terminal stopped within the minute"},
		{"out_of_range", "mean, minimum or maximum outside the measuring range (verdict invalid)"},
		{"pm25_above_pm10", "PM2.5 above PM10 of the same sensor: physically impossible"},
		{"flat_line", "identical samples for 15 minutes: a stuck sensor"},
		{"high_humidity", "relative humidity above 70 %: optical PM sensors over-read"},
	},
}

var indexPage = template.Must(template.New("index").Parse(`<!doctype html>
<html lang="{{.Lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.T.title}}</title>
</head>
<body>
<main>
<h1>{{.T.title}}</h1>
<p><a href="?lang={{.Other}}" hreflang="{{.Other}}" lang="{{.Other}}">{{.T.other}}</a></p>
<p>{{.T.intro}}</p>
<p>{{.T.licence}}: <a href="{{.Licence.Page}}">{{.Licence.Name}}</a>{{if .Licence.Attribution}} ({{.Publisher}}){{end}}</p>
<h2>{{.T.files}}</h2>
<ul>
<li><a href="catalog.jsonld">catalog.jsonld</a> – {{.T.catalog}}</li>
<li><a href="stations.geojson">stations.geojson</a> – {{.T.stations}}</li>
<li><a href="{{.STA}}">{{.STA}}</a> – {{.T.sta}}</li>
</ul>
<h3>{{.T.days}}</h3>
{{if .Days}}<p>{{.T.pattern}} <code>air/YYYY-MM-DD.csv.gz</code></p>
<ul>
{{range .Days}}<li><a href="{{.Href}}">{{.Name}}</a> – {{if .Size}}{{.Size}}{{else}}{{$.T.notyet}}{{end}}</li>
{{end}}</ul>{{else}}<p>{{.T.none}}</p>{{end}}
<h2>{{.T.columns}}</h2>
<table>
<thead><tr><th scope="col">{{.T.column}}</th><th scope="col">{{.T.meaning}}</th></tr></thead>
<tbody>
{{range .Columns}}<tr><td><code>{{index . 0}}</code></td><td>{{index . 1}}</td></tr>
{{end}}</tbody>
</table>
<h2>{{.T.flags}}</h2>
<dl>
{{range .Flags}}<dt><code>{{index . 0}}</code></dt><dd>{{index . 1}}</dd>
{{end}}</dl>
<p>{{.T.privacy}}</p>
</main>
</body>
</html>
`))

type indexDay struct{ Name, Href, Size string }

// pageLang picks the page's language: ?lang=, else the first of de and en
// the browser accepts, else German.
func pageLang(r *http.Request) string {
	if l := r.URL.Query().Get("lang"); l == "de" || l == "en" {
		return l
	}
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		tag = strings.ToLower(tag)
		switch {
		case tag == "de" || strings.HasPrefix(tag, "de-"):
			return "de"
		case tag == "en" || strings.HasPrefix(tag, "en-"):
			return "en"
		}
	}
	return "de"
}

func humanSize(n int64) string {
	switch {
	case n >= 1<<20:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB"
	case n >= 1<<10:
		return strconv.FormatFloat(float64(n)/(1<<10), 'f', 1, 64) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " B"
}

func (h *Handler) index(w http.ResponseWriter, r *http.Request) {
	l := pageLang(r)
	cov, _, err := h.f.coverage(r.Context())
	if err != nil {
		h.f.log.Error("open data: index", "err", err)
		textError(w, http.StatusInternalServerError, "the page could not be made; try again later")
		return
	}
	days := h.f.Days(cov, h.f.o.Now())
	list := make([]indexDay, 0, len(days))
	for i := len(days) - 1; i >= 0; i-- {
		d := days[i]
		id := indexDay{Name: d.Format(time.DateOnly) + ".csv.gz", Href: DayFileName(d)}
		if n, ok := h.f.cache.size(d); ok {
			id.Size = humanSize(n)
		}
		list = append(list, id)
	}
	cols := make([][2]string, len(Columns))
	for i, c := range Columns {
		cols[i] = [2]string{c, ColumnDocs[l][i]}
	}
	other := map[string]string{"de": "en", "en": "de"}[l]
	var b bytes.Buffer
	err = indexPage.Execute(&b, map[string]any{"Lang": l, "Other": other, "T": indexText[l], "Licence": h.f.licence,
		"Publisher": h.f.o.Catalog.Publisher, "STA": STAPath, "Days": list, "Columns": cols, "Flags": FlagDocs[l]})
	if err != nil {
		h.f.log.Error("open data: index", "err", err)
		textError(w, http.StatusInternalServerError, "the page could not be made; try again later")
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	w.Header().Set("Content-Language", l)
	w.Header().Set("Vary", "Accept-Language")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(b.Bytes())
}
