package sta_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/netlimit"
	"github.com/quartierhub/quartierhub/hub-server/internal/sta"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/sqlitestore"
)

// FuzzHandler: whatever path and query a client sends, the answer is
// never a 500 (the server's fault) on a seeded store: bad input is 400,
// 404 or 414, and a valid one 200.
func FuzzHandler(f *testing.F) {
	for _, s := range [][2]string{
		{"", ""}, {"/Things", "$expand=Datastreams($expand=Observations($top=2;$orderby=phenomenonTime desc))"},
		{"/Datastreams(1)/Observations", "$filter=phenomenonTime ge 2026-12-06T10:00:00Z and result gt 5&$select=result,phenomenonTime&$orderby=phenomenonTime"},
		{"/Observations", "$resultFormat=dataArray&$count=true&$top=3"},
		{"/Locations", "$filter=st_within(location, geography'POLYGON((13 50, 14 50, 14 52, 13 50))')&$expand=Things"},
		{"/Things(1)/properties/quarter/$value", ""}, {"/Things/$ref", "$skip=1&$top=1"},
		{"/Datastreams", "$filter=ObservedProperty/name eq 'PM10'&$expand=Thing/Locations"},
		{"/Things", "$filter=name eq 'x' or"}, {"/Things(1)/Datastreams", "$top=99999999999999999999"},
	} {
		f.Add(s[0], s[1])
	}
	st, err := sqlitestore.Open(context.Background(), filepath.Join(f.TempDir(), "hub.db"), sqlitestore.Opts{})
	if err != nil {
		f.Fatal(err)
	}
	defer st.Close()
	seed(f, st)
	h := sta.New(st, sta.Opts{Now: func() time.Time { return clock }, Rate: netlimit.Limits{Burst: 1 << 30}, MaxEntities: 2000})
	f.Fuzz(func(t *testing.T, path, rawQuery string) {
		if strings.ContainsAny(path, "?#") {
			return
		}
		r := &http.Request{Method: http.MethodGet, URL: &url.URL{Path: sta.Prefix + path, RawQuery: rawQuery},
			Host: "example.org", Header: http.Header{}, RemoteAddr: "192.0.2.1:1234"}
		r.RequestURI = r.URL.RequestURI()
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r.WithContext(context.Background()))
		switch w.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusNotFound, http.StatusRequestURITooLong:
		default:
			t.Fatalf("GET %s?%s: %d %s", path, rawQuery, w.Code, w.Body)
		}
	})
}
