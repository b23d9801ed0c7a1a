package opendata_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/opendata"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/teststores"
)

func get(t *testing.T, method, url string, header ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(b)
}

// The handler serves the files at their stable URLs: a finished day with
// a content ETag, a long Cache-Control and 304 to a revalidation, made
// once and served from the cache directory after; 404 with a reason for
// an unfinished day, a day before the data and anything not a date.
func TestHandlerURLs(t *testing.T) {
	st := teststores.Open(t, teststores.SQLite)
	ts, wants := fleet()
	seed(t, st, ts)
	cacheDir := t.TempDir()
	clock := now
	f := newFiles(t, st, opendata.Opts{CacheDir: cacheDir, Now: func() time.Time { return clock }})
	mux := http.NewServeMux()
	mux.Handle(opendata.Prefix, f.Handler())
	srv := httptest.NewServer(mux)
	defer srv.Close()

	url := srv.URL + "/open-data/air/2025-06-02.csv.gz"
	res, body := get(t, http.MethodGet, url)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, res.StatusCode, body)
	}
	etag := res.Header.Get("ETag")
	if !strings.HasPrefix(etag, `"`) || len(etag) < 10 {
		t.Errorf("ETag %q", etag)
	}
	if cc := res.Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") || !strings.Contains(cc, "max-age=31536000") {
		t.Errorf("Cache-Control %q", cc)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/gzip" {
		t.Errorf("Content-Type %q", ct)
	}
	if res.Header.Get("Last-Modified") == "" {
		t.Error("no Last-Modified")
	}
	if rows := readCSV(t, []byte(body)); len(rows) != len(wants)+1 {
		t.Errorf("served file has %d rows, want %d and the header", len(rows)-1, len(wants))
	}
	res, _ = get(t, http.MethodGet, url, "If-None-Match", etag)
	if res.StatusCode != http.StatusNotModified {
		t.Errorf("revalidation with the ETag: %d, want 304", res.StatusCode)
	}
	res, _ = get(t, http.MethodGet, url, "If-None-Match", `"something else"`)
	if res.StatusCode != http.StatusOK {
		t.Errorf("other ETag: %d, want 200", res.StatusCode)
	}
	res, body = get(t, http.MethodHead, url)
	if res.StatusCode != http.StatusOK || body != "" || res.Header.Get("ETag") != etag {
		t.Errorf("HEAD: %d, %d bytes, ETag %q", res.StatusCode, len(body), res.Header.Get("ETag"))
	}
	// A later process (or a restart) serves the file in the cache
	// directory unchanged, even after more data for that day arrived.
	seed(t, st, []terminal{{name: "Nachzügler", quarter: "Striesen", site: ts[0].site, minutes: []minute{pm("pm25", at(12, 0), 1, 1, 1, 60, 60, 0)}}})
	g := newFiles(t, st, opendata.Opts{CacheDir: cacheDir, Now: func() time.Time { return clock }})
	srv2 := httptest.NewServer(g.Handler())
	defer srv2.Close()
	res, _ = get(t, http.MethodGet, srv2.URL+"/open-data/air/2025-06-02.csv.gz")
	if res.StatusCode != http.StatusOK || res.Header.Get("ETag") != etag {
		t.Errorf("from the cache directory: %d, ETag %q, want %q", res.StatusCode, res.Header.Get("ETag"), etag)
	}

	for _, tc := range []struct {
		path   string
		status int
		says   string
	}{
		{"/open-data/air/2025-06-03.csv.gz", 404, "made after the day ends: from 2025-06-04T01:00:00Z"},
		{"/open-data/air/2030-01-01.csv.gz", 404, "made after the day ends"},
		{"/open-data/air/2025-05-30.csv.gz", 404, "no data is published for 2025-05-30"},
		{"/open-data/air/2025-02-30.csv.gz", 404, "YYYY-MM-DD"},
		{"/open-data/air/2025-6-02.csv.gz", 404, "YYYY-MM-DD"},
		{"/open-data/air/2025-06-02.csv", 404, "YYYY-MM-DD"},
		{"/open-data/air/../catalog.jsonld", 200, ""}, // cleaned by the mux
		{"/open-data/nothing", 404, "no such file"},
	} {
		res, body := get(t, http.MethodGet, srv.URL+tc.path)
		if res.StatusCode != tc.status || !strings.Contains(body, tc.says) {
			t.Errorf("GET %s: %d %q, want %d saying %q", tc.path, res.StatusCode, body, tc.status, tc.says)
		}
	}
	if res, _ := get(t, http.MethodPost, url); res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", res.StatusCode)
	}

	// The day after, once settled, is served.
	clock = now.Add(24 * time.Hour)
	if res, body := get(t, http.MethodGet, srv.URL+"/open-data/air/2025-06-03.csv.gz"); res.StatusCode != http.StatusOK {
		t.Errorf("the next day once finished: %d %s", res.StatusCode, body)
	}

	res, body = get(t, http.MethodGet, srv.URL+"/open-data/stations.geojson")
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/geo+json" || !strings.Contains(body, `"Pohlandplatz"`) {
		t.Errorf("stations: %d %q %s", res.StatusCode, res.Header.Get("Content-Type"), body)
	}
	res, body = get(t, http.MethodGet, srv.URL+"/open-data/catalog.jsonld")
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/ld+json" || !strings.Contains(body, base+"/open-data/air/2025-06-02.csv.gz") {
		t.Errorf("catalogue: %d %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if !strings.Contains(body, `"dcat:byteSize"`) {
		t.Error("the catalogue gives no size of the cached day files")
	}
}

// The index page lists the files with sizes and explains every column
// and flag, in German or English, without scripts.
func TestIndexPage(t *testing.T) {
	st := teststores.Open(t, teststores.SQLite)
	ts, _ := fleet()
	seed(t, st, ts)
	f := newFiles(t, st, opendata.Opts{CacheDir: t.TempDir()})
	if err := f.Warm(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(f.Handler())
	defer srv.Close()
	for _, tc := range []struct{ query, accept, lang, says string }{
		{"", "", "de", "Tagesdateien"},
		{"", "en-GB,en;q=0.8", "en", "Day files"},
		{"?lang=de", "en", "de", "Spalten"},
		{"?lang=en", "de", "en", "Columns"},
	} {
		res, body := get(t, http.MethodGet, srv.URL+"/open-data/"+tc.query, "Accept-Language", tc.accept)
		if res.StatusCode != 200 || !strings.Contains(body, `<html lang="`+tc.lang+`">`) || !strings.Contains(body, tc.says) {
			t.Errorf("index %s (%s): %d, want %s saying %q", tc.query, tc.accept, res.StatusCode, tc.lang, tc.says)
			continue
		}
		if strings.Contains(strings.ToLower(body), "<script") || !strings.Contains(res.Header.Get("Content-Security-Policy"), "default-src 'none'") {
			t.Error("the index page has scripts or allows them")
		}
		for _, c := range opendata.Columns {
			if !strings.Contains(body, "<code>"+c+"</code>") {
				t.Errorf("index (%s) does not explain column %s", tc.lang, c)
			}
		}
		for _, fl := range []string{"warmup", "incomplete", "out_of_range", "pm25_above_pm10", "flat_line", "high_humidity"} {
			if !strings.Contains(body, "<code>"+fl+"</code>") {
				t.Errorf("index (%s) does not explain flag %s", tc.lang, fl)
			}
		}
		if !strings.Contains(body, `href="air/2025-06-02.csv.gz">2025-06-02.csv.gz</a> – `) || !strings.Contains(body, " B</li>") {
			t.Errorf("index (%s) does not list the day with its size:\n%s", tc.lang, body)
		}
		if !strings.Contains(body, "Datenlizenz Deutschland – Zero – Version 2.0") {
			t.Errorf("index (%s) does not name the licence", tc.lang)
		}
	}
}

// FuzzParseDayFile: whatever the name, the parser does not panic, and
// what it accepts is a date whose file has exactly that name.
func FuzzParseDayFile(f *testing.F) {
	for _, s := range []string{"2025-06-02.csv.gz", "2025-02-30.csv.gz", "1999-12-31.csv.gz", "+025-06-02.csv.gz", "2025-06-02.csv", "", "2025-06-0٣.csv.gz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		d, err := opendata.ParseDayFile(name)
		if err != nil {
			return
		}
		if got := opendata.DayFileName(d); got != "air/"+name {
			t.Fatalf("ParseDayFile(%q) = %v, whose file is %q", name, d, got)
		}
		if d.Year() < 2000 || d.Year() > 2099 || d.Location() != time.UTC || d.Hour() != 0 {
			t.Fatalf("ParseDayFile(%q) = %v", name, d)
		}
	})
}

// lockedBuffer is a log the handler's goroutines may write at once.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Harvesters asking for the same new day at once get the same file, made
// once.
func TestConcurrentRequestsMakeTheDayOnce(t *testing.T) {
	st := teststores.Open(t, teststores.SQLite)
	ts, _ := fleet()
	seed(t, st, ts)
	logs := &lockedBuffer{}
	f := newFiles(t, st, opendata.Opts{CacheDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(logs, nil))})
	srv := httptest.NewServer(f.Handler())
	defer srv.Close()
	const n = 8
	etags := make(chan string, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			res, err := http.Get(srv.URL + "/open-data/air/2025-06-02.csv.gz")
			if err != nil {
				t.Error(err)
				etags <- ""
				return
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != 200 {
				t.Errorf("status %d", res.StatusCode)
			}
			etags <- res.Header.Get("ETag")
		})
	}
	wg.Wait()
	close(etags)
	first := <-etags
	for e := range etags {
		if e != first || e == "" {
			t.Errorf("ETags %q and %q", first, e)
		}
	}
	if made := strings.Count(logs.String(), "day file made"); made != 1 {
		t.Errorf("the day was made %d times:\n%s", made, logs)
	}
}

// A hub that publishes nothing yet serves valid, empty documents and says
// so.
func TestNothingPublishedYet(t *testing.T) {
	st := teststores.Open(t, teststores.SQLite)
	f := newFiles(t, st, opendata.Opts{})
	srv := httptest.NewServer(f.Handler())
	defer srv.Close()
	res, body := get(t, http.MethodGet, srv.URL+"/open-data/")
	if res.StatusCode != 200 || !strings.Contains(body, "Noch keine veröffentlichten Messwerte") {
		t.Errorf("index: %d %s", res.StatusCode, body)
	}
	res, body = get(t, http.MethodGet, srv.URL+"/open-data/stations.geojson")
	if res.StatusCode != 200 || !strings.Contains(body, `"features": []`) {
		t.Errorf("stations: %d %s", res.StatusCode, body)
	}
	res, body = get(t, http.MethodGet, srv.URL+"/open-data/catalog.jsonld")
	if res.StatusCode != 200 || strings.Contains(body, "csv.gz\"") || !strings.Contains(body, "dcat:DataService") {
		t.Errorf("catalogue: %d %s", res.StatusCode, body)
	}
	res, body = get(t, http.MethodGet, srv.URL+"/open-data/air/2025-06-02.csv.gz")
	if res.StatusCode != 404 || !strings.Contains(body, "no data is published") {
		t.Errorf("a day: %d %s", res.StatusCode, body)
	}
}

// FuzzHandlerPath: no path or Host header makes the handler fail or
// answer anything but 200, 301, 304, 400, 404, or 429 once the fuzzer
// has used up its network's requests (nothing is published, so no day
// file is made).
func FuzzHandlerPath(f *testing.F) {
	st := teststores.Open(f, teststores.SQLite)
	files, err := opendata.New(st, opendata.Opts{Now: func() time.Time { return now }})
	if err != nil {
		f.Fatal(err)
	}
	h := files.Handler()
	for _, s := range []string{"", "catalog.jsonld", "stations.geojson", "air/2025-06-02.csv.gz", "air/", "air/x", "%00", "air/2025-06-02.csv.gz/.."} {
		f.Add(s, "hub.example.org")
	}
	f.Add("catalog.jsonld", "evil\"host")
	var clients atomic.Uint32 // a network per input, so the rate limit seldom answers first
	f.Fuzz(func(t *testing.T, path, host string) {
		req := httptest.NewRequest(http.MethodGet, "http://hub.example.org/open-data/", nil)
		req.URL.Path = "/open-data/" + path
		req.Host = host
		c := clients.Add(1)
		req.RemoteAddr = fmt.Sprintf("10.%d.%d.%d:1234", byte(c>>16), byte(c>>8), byte(c))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case 200, 301, 304, 400, 404, 429:
		default:
			t.Fatalf("%q (host %q): %d %s", path, host, rec.Code, rec.Body)
		}
		if rec.Code == 200 && strings.HasSuffix(path, ".csv.gz") {
			t.Fatalf("%q made a day file with nothing published", path)
		}
	})
}
