package sta_test

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/netlimit"
	"github.com/quartierhub/quartierhub/hub-server/internal/sta"
	"github.com/quartierhub/quartierhub/hub-server/internal/sta/query"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/sqlitestore"
)

// openSeeded returns a seeded SQLite store (the limits are the handler's,
// whatever the store).
func openSeeded(t *testing.T) store.Store {
	t.Helper()
	st, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "hub.db"), sqlitestore.Opts{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	seed(t, st)
	return st
}

// A client network gets its burst, then 429 with Retry-After; another
// network is not slowed by it.
func TestRatePerNetwork(t *testing.T) {
	st := openSeeded(t)
	srv := serve(t, st, sta.Opts{Rate: netlimit.Limits{Every: time.Hour, Burst: 3}})
	for i := 0; i < 3; i++ {
		fetch(t, http.MethodGet, srv.URL+sta.Prefix+"/Things").ok(t, "within the burst")
	}
	r := fetch(t, http.MethodGet, srv.URL+sta.Prefix+"/Things")
	errorOf(t, r, http.StatusTooManyRequests, "slow down")
	if r.header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
}

// blocking is the store whose open data queries wait until released: a
// request held in the middle of its query.
type blocking struct {
	store.Store
	entered chan struct{}
	release chan struct{}
}

func (b *blocking) QueryOpenData(ctx context.Context, timeout time.Duration, q string, args []any, fn func(scan func(dest ...any) error) error) error {
	b.entered <- struct{}{}
	<-b.release
	return b.Store.QueryOpenData(ctx, timeout, q, args, fn)
}

// Beyond MaxConcurrent requests querying at once, 503 with Retry-After
// at once (no queue that a flood could fill).
func TestConcurrencyCap(t *testing.T) {
	st := &blocking{Store: openSeeded(t), entered: make(chan struct{}, 1), release: make(chan struct{})}
	srv := serve(t, st, sta.Opts{MaxConcurrent: 1})
	done := make(chan response, 1)
	go func() {
		res, err := http.Get(srv.URL + sta.Prefix + "/Things")
		if err == nil {
			res.Body.Close()
			done <- response{status: res.StatusCode}
			return
		}
		done <- response{}
	}()
	<-st.entered
	r := fetch(t, http.MethodGet, srv.URL+sta.Prefix+"/Things")
	errorOf(t, r, http.StatusServiceUnavailable, "busy")
	if r.header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	close(st.release)
	go func() {
		for range st.entered {
		}
	}()
	if first := <-done; first.status != http.StatusOK {
		t.Fatalf("the held request ended %d", first.status)
	}
}

// A statement that runs out of time is 503 "query too expensive", not a
// 500 (a timeout of a nanosecond makes every statement too slow).
func TestStatementTimeout(t *testing.T) {
	st := openSeeded(t)
	srv := serve(t, st, sta.Opts{StatementTimeout: time.Nanosecond})
	r := fetch(t, http.MethodGet, srv.URL+sta.Prefix+"/Observations?$filter="+q("result gt 3"))
	errorOf(t, r, http.StatusServiceUnavailable, "query too expensive")
	if r.header.Get("Retry-After") != "" {
		t.Error("a query too expensive is invited to come again")
	}
}

// One answer holds at most MaxEntities entities, expanded ones included.
func TestMaxEntities(t *testing.T) {
	st := openSeeded(t)
	srv := serve(t, st, sta.Opts{MaxEntities: 50})
	fetch(t, http.MethodGet, srv.URL+sta.Prefix+"/Observations?$top=50").ok(t, "50")
	errorOf(t, fetch(t, http.MethodGet, srv.URL+sta.Prefix+"/Observations?$top=51"), http.StatusBadRequest, "more than 50")
	errorOf(t, fetch(t, http.MethodGet, srv.URL+sta.Prefix+"/Datastreams?$expand=Observations($top=20)"), http.StatusBadRequest, "more than 50")
}

// Self and next links follow the configured public URL, or the request
// and, from a trusted proxy, X-Forwarded-Proto.
func TestLinksFollowTheHubsAddress(t *testing.T) {
	st := openSeeded(t)
	srv := serve(t, st, sta.Opts{PublicURL: "https://luft.example.org/"})
	r := fetch(t, http.MethodGet, srv.URL+sta.Prefix+"/Things?$top=1").ok(t, "public URL")
	if self := r.values(t)[0]["@iot.selfLink"].(string); self[:len("https://luft.example.org/sta/v1.1/Things(")] != "https://luft.example.org/sta/v1.1/Things(" {
		t.Errorf("selfLink %s", self)
	}
	// X-Forwarded-Proto only when the hub's server let it through (it
	// removes it unless a trusted proxy sent it: TrustProxy).
	for _, tc := range []struct {
		trust bool
		want  string
	}{{true, "https://"}, {false, "http://"}} {
		srv := serve(t, st, sta.Opts{TrustProxy: tc.trust})
		req, _ := http.NewRequest(http.MethodGet, srv.URL+sta.Prefix, nil)
		req.Header.Set("X-Forwarded-Proto", "https")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var root struct{ Value []struct{ URL string } }
		err = json.NewDecoder(res.Body).Decode(&root)
		res.Body.Close()
		if err != nil || len(root.Value) == 0 || !strings.HasPrefix(root.Value[0].URL, tc.want) {
			t.Errorf("trust proxy %v: %+v, %v; want URLs starting %s", tc.trust, root, err, tc.want)
		}
	}
}

// A $top above Limits.MaxTop is served in pages of MaxTop, and the next
// link says so.
func TestMaxTop(t *testing.T) {
	st := openSeeded(t)
	srv := serve(t, st, sta.Opts{Limits: query.Limits{MaxTop: 50}})
	r := fetch(t, http.MethodGet, srv.URL+sta.Prefix+"/Observations?$top=100000").ok(t, "capped")
	next, _ := r.json["@iot.nextLink"].(string)
	if n := len(r.values(t)); n != 50 || !strings.Contains(next, "$top=50&$skip=50") {
		t.Errorf("$top=100000 with MaxTop 50: %d values, nextLink %q", n, next)
	}
}
