package console

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/internal/workshop"
)

// TestWorkshopLiveSocket: the staff socket needs a session with the
// role, refuses another site's page, sends the run page's view at once
// and again when a participant acts.
func TestWorkshopLiveSocket(t *testing.T) {
	h, svc := workshopHub(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	h.addUser("mia", store.RoleModerator)
	h.addUser("vic", store.RoleViewer)
	b := h.browser()
	b.mustLogin("mia")
	id := prepare(t, b, workshopFormValues("Elbufer"))
	act(t, b, id, url.Values{"op": {"open"}})
	wsURL := "ws" + strings.TrimPrefix(h.srv.URL, "http") + "/console/workshops/" + id + "/live?page=run"
	dial := func(b *browser, origin string) (*websocket.Conn, *http.Response, error) {
		hdr := http.Header{}
		if origin != "" {
			hdr.Set("Origin", origin)
		}
		return websocket.Dial(ctx, wsURL, &websocket.DialOptions{HTTPClient: b.c, HTTPHeader: hdr})
	}

	if _, res, err := dial(h.browser(), ""); err == nil || res == nil || res.StatusCode != http.StatusSeeOther {
		t.Fatalf("without a session: %v %v", res, err)
	}
	v := h.browser()
	v.mustLogin("vic")
	if _, res, err := dial(v, ""); err == nil || res == nil || res.StatusCode != http.StatusForbidden {
		t.Fatalf("as a viewer: %v %v", res, err)
	}
	if _, res, err := dial(b, "https://evil.example"); err == nil || res == nil || res.StatusCode != http.StatusForbidden {
		t.Fatalf("from another site: %v %v", res, err)
	}

	conn, _, err := dial(b, h.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	read := func() liveMessage {
		t.Helper()
		_, data, err := conn.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var m liveMessage
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	first := read()
	if first.Type != "view" || first.Phase != 0 || first.HTML["ws-inbox"] == "" || first.Counts.Ideas != 0 {
		t.Fatalf("first message: %+v", first)
	}
	wv, _ := svc.Get(ctx, id)
	voter, _, err := svc.JoinPhone(ctx, wv.Workshop.JoinCode, strings.Repeat("p", 32))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Act(ctx, id, voter, workshop.TypeIdea, workshop.Idea{Text: "Ein Trinkbrunnen <b>bitte</b>", Phase: 0}); err != nil {
		t.Fatal(err)
	}
	// Notifications coalesce: read until the idea is in.
	for {
		m := read()
		if m.Cursor <= first.Cursor {
			continue
		}
		if m.Counts.Ideas == 1 {
			if !strings.Contains(m.HTML["ws-inbox"], "Ein Trinkbrunnen &lt;b&gt;bitte&lt;/b&gt;") {
				t.Fatalf("inbox fragment, the text escaped: %s", m.HTML["ws-inbox"])
			}
			break
		}
	}
	conn.Close(websocket.StatusNormalClosure, "")
}
