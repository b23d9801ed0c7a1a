package localapi_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/quartierhub/quartierhub/kiosk/localapi"
)

// enroller is an agent that records what reaches it.
type enroller struct {
	localapi.Backend
	got []localapi.EnrolRequest
}

func (e *enroller) Enrol(_ context.Context, req localapi.EnrolRequest) (localapi.EnrolResponse, error) {
	e.got = append(e.got, req)
	return localapi.EnrolResponse{TerminalID: "T9", Name: "kiosk-9", Source: "typed"}, nil
}

// The endpoint takes one bounded JSON object with exactly one source;
// anything else is answered 400 enrol_invalid before the agent sees it.
func TestEnrolRequestsAreBounded(t *testing.T) {
	e := &enroller{}
	srv := httptest.NewServer(localapi.NewServer(t.TempDir(), e, slog.New(slog.DiscardHandler)).Handler())
	defer srv.Close()
	post := func(body string) (int, localapi.Error) {
		t.Helper()
		resp, err := http.Post(srv.URL+"/v1/enrol", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var ae localapi.Error
		_ = json.Unmarshal(b, &ae)
		return resp.StatusCode, ae
	}
	for _, body := range []string{
		`{"uri": "` + strings.Repeat("x", localapi.MaxEnrolBody) + `"}`,
		`{"uri": "` + strings.Repeat("x", 3000) + `"}`,
		`{"token": "` + strings.Repeat("t", 300) + `"}`,
		`{"uri": "a", "from_media": true}`,
		`{}`,
		`{"uri": "a", "admin": true}`,
		`{"uri": "a"} {"uri": "b"}`,
		`[1]`,
		``,
	} {
		if code, ae := post(body); code != http.StatusBadRequest || ae.Code != localapi.EnrolInvalid || ae.Error == "" {
			t.Errorf("%.60s: %d %+v", body, code, ae)
		}
	}
	if len(e.got) != 0 {
		t.Fatalf("refused requests reached the agent: %+v", e.got)
	}
	if code, _ := post(`{"hub": "https://hub.example", "token": "abc"}`); code != http.StatusOK || len(e.got) != 1 {
		t.Fatalf("a good request: %d, %+v", code, e.got)
	}
}

// FuzzDecodeEnrolRequest: any body is a request with exactly one source
// within the bounds, or an error.
func FuzzDecodeEnrolRequest(f *testing.F) {
	for _, s := range []string{`{"uri": "quartierhub-enrol:?hub=https%3A%2F%2Fhub.example&token=abc"}`,
		`{"hub": "https://hub.example", "token": "abc"}`, `{"from_media": true}`, `{"from_media": false}`,
		`{"uri": "a", "hub": "b"}`, `{"token": "\u0000"}`, `{"uri": "a"} x`, `null`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := localapi.DecodeEnrolRequest(body)
		if err != nil {
			return
		}
		n := 0
		for _, given := range []bool{req.URI != "", req.Hub != "" || req.Token != "", req.FromMedia} {
			if given {
				n++
			}
		}
		if n != 1 || len(req.URI) > 2048 || len(req.Hub) > 512 || len(req.Token) > 256 {
			t.Fatalf("accepted %+v", req)
		}
	})
}
