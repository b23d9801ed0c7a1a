package hub_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/hub"
	"github.com/quartierhub/quartierhub/hub-server/internal/tufrepo"
	"github.com/quartierhub/quartierhub/hub-server/internal/tufrepo/tufhttp"
)

// A hub without a TUF repository starts and answers its files 404; once
// release init has run (keys in the data directory, metadata in the
// store) it serves them, and its refresher, finding the keys without a
// restart, re-signs the timestamp when due and exports its expiry.
func TestHubServesTUF(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	now := time.Now().UTC().Truncate(time.Second)
	var clock atomic.Int64
	clock.Store(now.UnixNano())
	addrc := make(chan net.Addr, 1)
	h, err := hub.New(ctx, hub.Config{Store: hub.Location{DataDir: data}, Listen: "127.0.0.1:0", Now: func() time.Time { return time.Unix(0, clock.Load()) },
		Logger: slog.New(slog.NewTextHandler(&logBuffer{}, nil)), OnListening: func(a net.Addr) { addrc <- a }})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- h.Run(runCtx) }()
	defer func() { cancel(); <-done }()
	base := "http://" + (<-addrc).String()

	meta := base + tufhttp.Prefix + "metadata/"
	if code, _ := get(t, meta+"timestamp.json"); code != 404 {
		t.Fatalf("uninitialised timestamp.json: %d, want 404", code)
	}
	if p, err := h.TUFRefresher.Check(ctx); p || err != nil {
		t.Fatalf("refresher, uninitialised: %v %v", p, err)
	}

	keys := filepath.Join(t.TempDir(), "ceremony")
	if err := tufrepo.Ceremony(keys, now, nil); err != nil {
		t.Fatal(err)
	}
	if err := tufrepo.InstallOnlineKeys(data, filepath.Join(keys, tufrepo.SnapshotKeyFile), filepath.Join(keys, tufrepo.TimestampKeyFile)); err != nil {
		t.Fatal(err)
	}
	online, err := tufrepo.LoadOnlineKeys(data)
	if err != nil {
		t.Fatal(err)
	}
	root, _ := os.ReadFile(filepath.Join(keys, tufrepo.RootFile))
	first, _ := os.ReadFile(filepath.Join(keys, tufrepo.FirstTargetsFile))
	if err := tufrepo.New(h.Store, online).Init(ctx, root, first, now); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"timestamp.json", "1.root.json", "1.snapshot.json", "1.targets.json"} {
		if code, body := get(t, meta+f); code != 200 || !strings.Contains(body, `"signed"`) {
			t.Errorf("%s: %d %.80s", f, code, body)
		}
	}

	clock.Store(now.Add(13 * time.Hour).UnixNano()) // past half the timestamp's life
	if p, err := h.TUFRefresher.Check(ctx); !p || err != nil {
		t.Fatalf("refresher at +13h: %v %v, want a re-signed timestamp", p, err)
	}
	_, metrics := get(t, base+"/metrics")
	for _, want := range []string{
		fmt.Sprintf("quartierhub_tuf_timestamp_expiry_timestamp_seconds %g", float64(now.Add(13*time.Hour+tufrepo.TimestampLifetime).Unix())),
		"quartierhub_tuf_timestamp_signed_total 1",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
