package ops_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/ops"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/teststores"
)

func TestMain(m *testing.M) { teststores.Main(m) }

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func serve(t *testing.T, st store.Store) (*ops.Ops, *httptest.Server) {
	op := ops.New(ops.Opts{Store: st.(store.Operable), Alerts: st, ProbeTimeout: time.Second})
	mux := http.NewServeMux()
	op.Register(mux)
	mux.HandleFunc("GET /hello/{name}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	srv := httptest.NewServer(op.Instrument(mux))
	t.Cleanup(srv.Close)
	return op, srv
}

// /readyz follows the store: ready while it answers, 503 once it is
// closed; /healthz stays 200 (the process is alive).
func TestReadyFollowsTheStore(t *testing.T) {
	teststores.Each(t, func(t *testing.T, st store.Store) {
		_, srv := serve(t, st)
		if code, body := get(t, srv.URL+ops.PathReady); code != 200 {
			t.Fatalf("readyz with an open store: %d %s", code, body)
		}
		st.Close()
		if code, body := get(t, srv.URL+ops.PathReady); code != 503 {
			t.Errorf("readyz with a closed store: %d %s", code, body)
		}
		if code, _ := get(t, srv.URL+ops.PathHealth); code != 200 {
			t.Errorf("healthz: %d", code)
		}
		if _, body := get(t, srv.URL+ops.PathMetrics); !strings.Contains(body, "quartierhub_store_ready 0") {
			t.Errorf("metrics do not say the store is down")
		}
	})
}

// Requests are counted by route pattern, not raw path; store metrics are
// exported.
func TestMetricsAfterTraffic(t *testing.T) {
	teststores.Each(t, func(t *testing.T, st store.Store) {
		_, srv := serve(t, st)
		if _, err := st.OpenAlert(context.Background(), store.Alert{ID: "A", TerminalID: "T", Kind: "paper_out", FirstSeen: time.Now(), LastSeen: time.Now()}); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"anna", "bert", "carla"} {
			get(t, srv.URL+"/hello/"+name)
		}
		get(t, srv.URL+"/nowhere")
		_, body := get(t, srv.URL+ops.PathMetrics)
		for _, want := range []string{
			`quartierhub_http_requests_total{code="418",method="GET",route="GET /hello/{name}"} 3`,
			`quartierhub_http_requests_total{code="404",method="GET",route="unmatched"} 1`,
			`quartierhub_http_request_duration_seconds_count{method="GET",route="GET /hello/{name}"} 3`,
			`quartierhub_alerts_open{kind="paper_out"} 1`,
			`quartierhub_alerts_open{kind="offline"} 0`,
			`quartierhub_store_ready 1`,
			`quartierhub_db_connections{pool=`,
			`go_goroutines `,
			`process_resident_memory_bytes `,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("metrics lack %s", want)
			}
		}
		if strings.Contains(body, "anna") {
			t.Error("a raw path became a label")
		}
	})
}
