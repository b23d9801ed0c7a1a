package hub_test

import (
	"context"
	"errors"
	"html"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quartierhub/quartierhub/hub-server/internal/hub"
	"github.com/quartierhub/quartierhub/internal/workshop"
)

// TestPhoneKeepsItsNumberAcrossRestart: the hub keeps the phone pages'
// guest secret in its data directory, so a phone that took a number
// keeps it when the hub is started again on the same data.
func TestPhoneKeepsItsNumberAcrossRestart(t *testing.T) {
	data := t.TempDir()
	jar, _ := cookiejar.New(nil)
	phone := &http.Client{Jar: jar}
	get := func(u string) string {
		t.Helper()
		res, err := phone.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s", u, res.StatusCode, b)
		}
		return string(b)
	}
	run := func(each func(h *hub.Hub, base string)) {
		t.Helper()
		addrc := make(chan net.Addr, 1)
		ctx, cancel := context.WithCancel(context.Background())
		h, err := hub.New(ctx, hub.Config{Store: hub.Location{DataDir: data}, Listen: "127.0.0.1:0",
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), OnListening: func(a net.Addr) { addrc <- a }})
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- h.Run(ctx) }()
		defer func() { cancel(); <-done; h.Close() }()
		each(h, "http://"+(<-addrc).String())
	}

	var code string
	run(func(h *hub.Hub, base string) {
		ctx := context.Background()
		w, err := h.Workshops.Create(ctx, workshop.Spec{Title: "Spielplatz", Question: "Was fehlt?", Lang: "de", Phones: true}, "anna")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.Workshops.GoToPhase(ctx, w.ID, "m:anna", 0); err != nil {
			t.Fatal(err)
		}
		code = w.JoinCode
		page := get(base + "/w/" + code)
		i := strings.Index(page, `name="csrf" value="`)
		if i < 0 {
			t.Fatalf("no join form: %s", page)
		}
		token, _, _ := strings.Cut(page[i+len(`name="csrf" value="`):], `"`)
		res, err := phone.PostForm(base+"/w/"+code+"/join", url.Values{"csrf": {html.UnescapeString(token)}})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if !strings.Contains(string(b), "Sie machen mit als") {
			t.Fatalf("after joining: %d %s", res.StatusCode, b)
		}
	})
	// The secret is in the store, not a file beside it.
	if _, err := os.Stat(filepath.Join(data, "phone-guest.key")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a guest secret file: %v", err)
	}
	run(func(h *hub.Hub, base string) {
		if page := get(base + "/w/" + code); !strings.Contains(page, "Sie machen mit als <strong>Handy 1</strong>") {
			t.Fatalf("after the restart the phone is a stranger: %s", page)
		}
	})
}
