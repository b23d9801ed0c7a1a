package cli

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/hub"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/sqlitestore"
	"github.com/quartierhub/quartierhub/hub-server/internal/tufrepo"
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

// A hub without a release repository says how to make one.
func TestGreetNamesTheReleaseCeremony(t *testing.T) {
	st, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "hub.db"), sqlitestore.Opts{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	data := &storeLoc{hub.Location{DataDir: t.TempDir()}}
	var out bytes.Buffer
	greet(context.Background(), st, ":8480", "", false, data, slog.New(slog.NewTextHandler(&out, nil)))
	if !strings.Contains(out.String(), "hub-server release init") {
		t.Errorf("greet on a hub without a release repository: %q", out.String())
	}
	dir := filepath.Join(t.TempDir(), "keys")
	if err := tufrepo.Ceremony(dir, time.Now(), nil); err != nil {
		t.Fatal(err)
	}
	if err := tufrepo.InstallOnlineKeys(data.DataDir, filepath.Join(dir, tufrepo.SnapshotKeyFile), filepath.Join(dir, tufrepo.TimestampKeyFile)); err != nil {
		t.Fatal(err)
	}
	keys, err := tufrepo.LoadOnlineKeys(data.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	root, _ := os.ReadFile(filepath.Join(dir, tufrepo.RootFile))
	targets, _ := os.ReadFile(filepath.Join(dir, tufrepo.FirstTargetsFile))
	if err := tufrepo.New(st, keys).Init(context.Background(), root, targets, time.Now()); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	greet(context.Background(), st, ":8480", "", false, data, slog.New(slog.NewTextHandler(&out, nil)))
	if strings.Contains(out.String(), "release init") {
		t.Errorf("greet after release init still asks for it: %q", out.String())
	}
}
