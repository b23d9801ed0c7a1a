package httpmw_test

import (
	"bytes"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/quartierhub/quartierhub/hub-server/internal/httpmw"
)

func mux() *http.ServeMux {
	m := http.NewServeMux()
	m.HandleFunc("GET /quiet", func(w http.ResponseWriter, r *http.Request) {})
	m.HandleFunc("GET /teapot/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
		w.WriteHeader(http.StatusInternalServerError) // ignored by net/http: the first status stands
		io.WriteString(w, "short and stout")
	})
	m.HandleFunc("GET /flush", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "a")
		if err := http.NewResponseController(w).Flush(); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	return m
}

// start serves h; net/http's complaint about /teapot's second
// WriteHeader goes nowhere.
func start(h http.Handler) *httptest.Server {
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.Start()
	return srv
}

func get(t *testing.T, url string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
}

func TestObserve(t *testing.T) {
	var mu sync.Mutex
	var got []httpmw.Served
	srv := start(httpmw.Observe(mux(), func(r *http.Request, s httpmw.Served) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, s)
	}))
	defer srv.Close()
	for _, p := range []string{"/teapot/T-1?q=x", "/quiet", "/nowhere", "/flush"} {
		get(t, srv.URL+p)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []struct {
		route         string
		status        int
		responseBytes int64
	}{
		{"GET /teapot/{id}", http.StatusTeapot, int64(len("short and stout"))},
		{"GET /quiet", http.StatusOK, 0}, // nothing written: 200, as net/http answers
		{"unmatched", http.StatusNotFound, int64(len("404 page not found\n"))},
		{"GET /flush", http.StatusOK, 1}, // Flush reached the writer below through Unwrap
	}
	if len(got) != len(want) {
		t.Fatalf("observed %d requests, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g.Method != "GET" || g.Route != w.route || g.Status != w.status || g.ResponseBytes != w.responseBytes || g.Took <= 0 {
			t.Errorf("request %d: %+v, want route %q status %d response bytes %d", i, g, w.route, w.status, w.responseBytes)
		}
	}
}

func TestLogRequestsWithoutRequestData(t *testing.T) {
	var logs bytes.Buffer
	srv := start(httpmw.LogRequests(slog.New(slog.NewTextHandler(&logs, nil)), mux()))
	get(t, srv.URL+"/teapot/secret-id?name=personal")
	srv.Close() // the handler has returned: the line is written
	l := logs.String()
	for _, want := range []string{`msg="http request"`, "method=GET", `route="GET /teapot/{id}"`, "status=418", "req_bytes=0", "resp_bytes=15", "took="} {
		if !strings.Contains(l, want) {
			t.Errorf("log lacks %s:\n%s", want, l)
		}
	}
	for _, leak := range []string{"secret-id", "personal", "127.0.0.1"} {
		if strings.Contains(l, leak) {
			t.Errorf("log holds %q:\n%s", leak, l)
		}
	}
}
