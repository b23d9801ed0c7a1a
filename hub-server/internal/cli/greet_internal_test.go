package cli

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quartierhub/quartierhub/hub-server/internal/hub"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/sqlitestore"
)

// The start-up line names the console where people reach it: the public
// address behind a reverse proxy, else the listen address with its scheme.
func TestGreetNamesTheConsoleAddress(t *testing.T) {
	st, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "hub.db"), sqlitestore.Opts{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	data := &storeLoc{hub.Location{DataDir: "/var/lib/quartierhub-hub"}}
	for _, tc := range []struct {
		listen, public string
		tls            bool
		want           string
	}{
		{"127.0.0.1:8480", "https://hub.example.org/", false, "url=https://hub.example.org/console/"},
		{"127.0.0.1:8480", "", false, "url=http://127.0.0.1:8480/console/"},
		{":443", "", true, "url=https://localhost:443/console/"},
	} {
		var out bytes.Buffer
		greet(context.Background(), st, tc.listen, tc.public, tc.tls, data, slog.New(slog.NewTextHandler(&out, nil)))
		if !strings.Contains(out.String(), tc.want) {
			t.Errorf("greet(%q, %q, tls %v) logged %q, want %s", tc.listen, tc.public, tc.tls, out.String(), tc.want)
		}
	}
}
